"""sun2018 Figure 4's sweep over the classifier threshold tau, from one pass of the segmentation network.

Each image's FCN scores are computed once; for every tau the classifier's probabilities are
thresholded into a label vector, fused with those scores (Eq. 1) and scored. The sweep therefore
costs about one evaluation, not one per tau. The same pass scores the network without labels
(the baseline that tau = 0 equals by construction), and, from the probabilities alone, measures
Section 3's quantities (n, m, k, nats) at every tau.

    python -m tagseg.sun2018.tau_sweep --model results/models/fcn32s/label_gen/seed0/model.pt \\
        --cache data/synthetic/cache/test --probabilities results/classifier/seed0/test.npz --taus 21 --out sweep.json
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from tagseg.core import io, runtime
from tagseg.core.cli import add_precision_argument, command
from tagseg.core.precision import FP32, Precision
from tagseg.sun2018.variants import tau_grid
from tagseg.core.metrics import class_argmax, image_confusions, iou_counts, scores
from tagseg.data.loading import eval_loader
from tagseg.data.voc import CachedSplit
from tagseg.sun2018.classifier import read_predictions
from tagseg.sun2018.fusion import FUSIONS, threshold_labels
from tagseg.sun2018.information import label_information
from tagseg.sun2018.network import LoadedModel, Sun2018Net


@dataclass
class Sweep:
    labelled_images: np.ndarray  # (len(taus), n_images, N * N): each image's confusion matrix at each tau (N classes)
    unlabelled_images: np.ndarray  # (n_images, N * N): the same network's own argmax, no labels

    @property
    def n_classes(self) -> int:
        return round(self.unlabelled_images.shape[-1] ** 0.5)

    @property
    def labelled(self) -> np.ndarray:
        """(len(taus), N, N): the split's confusion matrix with the labels at each tau."""
        return self.labelled_images.sum(1).reshape(len(self.labelled_images), self.n_classes, self.n_classes)

    @property
    def unlabelled(self) -> np.ndarray:
        """(N, N): the split's confusion matrix without labels."""
        return self.unlabelled_images.sum(0).reshape(self.n_classes, self.n_classes)


@torch.inference_mode()
def tau_sweep(
    model: Sun2018Net,
    loader: DataLoader,
    probabilities: torch.Tensor,
    taus: Sequence[float],
    device: torch.device,
    precision: Precision = FP32,
) -> Sweep:
    """Confusion matrices at every tau and without labels. ``loader`` must not shuffle: its i-th image
    is row i of ``probabilities`` (n_images, 20), the classifier's output for the same split.

    Labels are fused as the model was trained to fuse them, by dot product when it was trained without.
    """
    if len(loader.dataset) != len(probabilities):
        raise ValueError(f"tau_sweep: {len(probabilities)} probability rows for {len(loader.dataset)} images")
    n = model.fcn.config.n_classes
    labelled_images: list[list[torch.Tensor]] = [[] for _ in taus]
    unlabelled_images: list[torch.Tensor] = []
    seen = 0
    for images, masks, _ in loader:
        batch = probabilities[seen : seen + len(images)]
        seen += len(images)
        with precision.autocast():
            scores = model.fcn(images.to(device)).float()  # (B, 21, H, W), once per image
        # the network without labels, as Sun2018Net.segment computes it for an unfused variant
        unlabelled_images.append(image_confusions(masks, class_argmax(F.log_softmax(scores, dim=1)).cpu(), n))
        scores = scores.permute(0, 2, 3, 1).contiguous()  # (B, H, W, 21): argmax over the innermost dim is fast
        # An image's labels change only where tau passes one of its probabilities: from one tau to
        # the next, only the images whose labels changed are fused and scored again.
        per_image = torch.zeros(len(images), n * n, dtype=torch.int64)
        previous = None
        for t, tau in enumerate(taus):
            labels = threshold_labels(batch, tau)  # (B, 21)
            changed = torch.ones(len(images), dtype=torch.bool) if previous is None else (labels != previous).any(1)
            previous = labels
            if changed.all():
                per_image = image_confusions(masks, _fused_argmax(model, scores, labels.to(device)).cpu(), n)
            elif changed.any():
                rows = changed.nonzero().squeeze(1)
                predicted = _fused_argmax(model, scores[rows.to(device)], labels[rows].to(device)).cpu()
                per_image[rows] = image_confusions(masks[rows], predicted, n)
            labelled_images[t].append(per_image.clone())  # per_image is updated in place at the next tau
    empty = torch.zeros(0, n * n, dtype=torch.int64)
    return Sweep(labelled_images=torch.stack([torch.cat(images or [empty]) for images in labelled_images]).numpy(),
                 unlabelled_images=torch.cat(unlabelled_images or [empty]).numpy())  # fmt: skip


def _fused_argmax(model: Sun2018Net, scores: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Argmax class per pixel of scores (B, H, W, 21) fused with labels (B, 21), as the model fuses (dot when
    it does not) -> (B, H, W)."""
    if model.variant.fusion in (None, "dot"):
        # argmax of fuse_dot(scores, labels): renormalising does not move the argmax, so skip it
        return class_argmax(scores.masked_fill(labels[:, None, None, :] == 0, float("-inf")), dim=-1)
    return class_argmax(FUSIONS[model.variant.fusion](scores.permute(0, 3, 1, 2), labels))


def sweep_split(model_path, cache, probabilities_path, taus: Sequence[float], *, batch_size=16, threads=1, device="auto",
                precision="auto") -> dict:  # fmt: skip
    """The sweep over ``taus`` on one split, the unlabelled baseline, and Section 3's measures per tau."""
    model = LoadedModel.read(model_path, runtime.setup(0, threads, device), precision)
    return sweep_model(model, cache, probabilities_path, taus, batch_size=batch_size, precision=precision)


def sweep_model(model: LoadedModel, cache, probabilities_path, taus: Sequence[float], *, batch_size=16,
                precision="auto") -> dict:  # fmt: skip
    """:func:`sweep_split` of a model already loaded (``precision``: the setting asked for, recorded)."""
    split = CachedSplit(cache).require_masks("nothing to score against")
    split.require_classes(model.net.fcn.config.n_classes, f"the model {model.path}")
    probabilities = read_predictions(probabilities_path, split.ids)
    sweep = tau_sweep(model.net, eval_loader(split, batch_size), probabilities, taus, model.device, model.arithmetic)
    rows = []
    for tau, hist in zip(taus, sweep.labelled):
        labels = threshold_labels(probabilities, tau)[:, 1:].numpy()
        rows.append({"tau": float(tau), **scores(hist), **label_information(split.tags, labels, split.n_classes)})
    return {
        "rows": rows,
        "baseline": scores(sweep.unlabelled),
        "classes": list(split.classes),
        "confusion": sweep.labelled.tolist(),
        "n_images": len(split),
        # the split's images in order, each one's intersection and union per class at each tau (rows' order)
        # and without labels: intervals over test images
        "image_ids": list(split.ids),
        "per_image": [iou_counts(images, split.n_classes) for images in sweep.labelled_images],
        "baseline_per_image": iou_counts(sweep.unlabelled_images, split.n_classes),
        "model": model.path,
        "probabilities": str(probabilities_path),
        "split": str(cache),
        "model_run": model.run,
        "run": runtime.run_record(
            {"taus": list(map(float, taus)), "batch_size": batch_size, "precision": precision},
            model.device,
            model.arithmetic,
        ),
    }


@command
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tagseg.sun2018.tau_sweep", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="model.pt written by tagseg.sun2018.train_fcn")
    parser.add_argument("--cache", required=True, help="cached pixel-labelled split (tagseg.data.voc)")
    parser.add_argument("--probabilities", required=True, help="the classifier's npz for the same split")
    parser.add_argument("--taus", type=int, default=21, help="number of evenly spaced thresholds in [0, 1]")
    parser.add_argument("--out", required=True, help="sweep JSON to write")
    parser.add_argument("--batch-size", type=int, default=16, help="images per forward pass")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    add_precision_argument(parser)
    args = parser.parse_args(argv)
    if args.taus < 2:
        raise ValueError(f"--taus: expected at least 2 thresholds, got {args.taus}")
    result = sweep_split(args.model, args.cache, args.probabilities, tau_grid(args.taus),
                         batch_size=args.batch_size, threads=args.threads, device=args.device,
                         precision=args.precision)  # fmt: skip
    io.write_json(args.out, result)
    best = max(result["rows"], key=lambda row: row["mIoU"])
    print(f"baseline mIoU {result['baseline']['mIoU']:.3f}; best tau {best['tau']:.2f}: mIoU {best['mIoU']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
