"""sun2018 Figure 4's sweep over the classifier threshold tau, from one pass of the segmentation network.

Each image's FCN scores are computed once; for every tau the classifier's probabilities are
thresholded into a label vector, fused with those scores (Eq. 1) and scored. The sweep therefore
costs about one evaluation, not one per tau.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader

from tagseg.data.voc import NUM_CLASSES
from tagseg.fusion import threshold_labels
from tagseg.metrics import confusion_matrix
from tagseg.sun2018 import Sun2018Net


@torch.inference_mode()
def tau_sweep(
    model: Sun2018Net,
    loader: DataLoader,
    probabilities: torch.Tensor,
    taus: Sequence[float],
    device: torch.device,
) -> np.ndarray:
    """(len(taus), 21, 21) confusion matrices. ``loader`` must not shuffle: its i-th image is row i
    of ``probabilities`` (n_images, 20), the classifier's output for the same split."""
    if len(loader.dataset) != len(probabilities):
        raise ValueError(f"tau_sweep: {len(probabilities)} probability rows for {len(loader.dataset)} images")
    hists = np.zeros((len(taus), NUM_CLASSES, NUM_CLASSES), dtype=np.int64)
    seen = 0
    for images, masks, _ in loader:
        batch = probabilities[seen : seen + len(images)].to(device)
        seen += len(images)
        with torch.autocast(device.type, enabled=device.type == "cuda"):
            scores = model.fcn(images.to(device))  # (B, 21, H, W), once per image
        for t, tau in enumerate(taus):
            labelled = threshold_labels(batch, tau) > 0  # (B, 21)
            # argmax of fuse_dot(scores, labels): renormalising does not move the argmax, so skip it
            predicted = scores.masked_fill(~labelled[:, :, None, None], float("-inf")).argmax(1)
            hists[t] += confusion_matrix(masks, predicted.cpu(), NUM_CLASSES)
    return hists
