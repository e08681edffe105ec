"""sun2018 Figure 4's sweep over the classifier threshold tau, from one pass of the segmentation network.

Each image's FCN scores are computed once; for every tau the classifier's probabilities are
thresholded into a label vector, fused with those scores (Eq. 1) and scored. The sweep therefore
costs about one evaluation, not one per tau. The same pass scores the network without labels
(the baseline that tau = 0 equals by construction), and, from the probabilities alone, measures
Section 3's quantities (n, m, k, nats) at every tau.

    python -m tagseg.tau_sweep --model results/models/fcn32s/label_gen/seed0/model.pt \
        --cache data/synthetic/cache/test --probabilities results/classifier/seed0/test.npz --taus 21 --out sweep.json
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader

from tagseg import runtime
from tagseg.data.loading import SegmentationDataset, pad_collate
from tagseg.data.transforms import eval_preset
from tagseg.data.voc import CLASSES, NUM_CLASSES, CachedSplit
from tagseg.fusion import FUSIONS, threshold_labels
from tagseg.information import label_information
from tagseg.metrics import class_argmax, scores
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
    of ``probabilities`` (n_images, 20), the classifier's output for the same split.

    Labels are fused as the model was trained to fuse them, by dot product when it was trained without.
    """
    if len(loader.dataset) != len(probabilities):
        raise ValueError(f"tau_sweep: {len(probabilities)} probability rows for {len(loader.dataset)} images")
    hists = torch.zeros(len(taus), NUM_CLASSES * NUM_CLASSES, dtype=torch.int64)
    seen = 0
    for images, masks, _ in loader:
        batch = probabilities[seen : seen + len(images)]
        seen += len(images)
        with torch.autocast(device.type, enabled=device.type == "cuda"):
            scores = model.fcn(images.to(device)).float()  # (B, 21, H, W), once per image
        scores = scores.permute(0, 2, 3, 1).contiguous()  # (B, H, W, 21): argmax over the innermost dim is fast
        # An image's labels change only where tau passes one of its probabilities: from one tau to
        # the next, only the images whose labels changed are fused and scored again.
        per_image = torch.zeros(len(images), NUM_CLASSES * NUM_CLASSES, dtype=torch.int64)
        previous = None
        for t, tau in enumerate(taus):
            labels = threshold_labels(batch, tau)  # (B, 21)
            changed = torch.ones(len(images), dtype=torch.bool) if previous is None else (labels != previous).any(1)
            previous = labels
            if changed.all():
                per_image = _confusions(masks, _fused_argmax(model, scores, labels.to(device)).cpu())
            elif changed.any():
                rows = changed.nonzero().squeeze(1)
                predicted = _fused_argmax(model, scores[rows.to(device)], labels[rows].to(device)).cpu()
                per_image[rows] = _confusions(masks[rows], predicted)
            hists[t] += per_image.sum(0)
    return hists.reshape(len(taus), NUM_CLASSES, NUM_CLASSES).numpy()


def _fused_argmax(model: Sun2018Net, scores: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Argmax class per pixel of scores (B, H, W, 21) fused with labels (B, 21), as the model fuses (dot when
    it does not) -> (B, H, W)."""
    if model.variant.fusion in (None, "dot"):
        # argmax of fuse_dot(scores, labels): renormalising does not move the argmax, so skip it
        return class_argmax(scores.masked_fill(labels[:, None, None, :] == 0, float("-inf")), dim=-1)
    return class_argmax(FUSIONS[model.variant.fusion](scores.permute(0, 3, 1, 2), labels))


def _confusions(masks: torch.Tensor, predicted: torch.Tensor) -> torch.Tensor:
    """(U, 21 * 21) flattened confusion matrices of U predictions (U, H, W) against masks (U, H, W), one bincount."""
    n_cells = NUM_CLASSES * NUM_CLASSES
    row = torch.arange(len(predicted))[:, None, None]
    cells = n_cells * row + NUM_CLASSES * masks.long() + predicted
    # void and padding (mask 255) go to one extra bin that is dropped, instead of a boolean index
    cells = torch.where(masks < NUM_CLASSES, cells, len(predicted) * n_cells)
    counts = torch.bincount(cells.reshape(-1), minlength=len(predicted) * n_cells + 1)
    return counts[:-1].reshape(len(predicted), n_cells)


def sweep_split(model_path, cache, probabilities_path, taus: Sequence[float], *, batch_size=16, threads=1, device="auto") -> dict:
    """The sweep over ``taus`` on one split, the unlabelled baseline, and Section 3's measures per tau."""
    from tagseg.evaluate import split_confusion
    from tagseg.train_classifier import read_predictions
    from tagseg.train_fcn import load_model

    torch_device = runtime.setup(0, threads, device)
    split = CachedSplit(cache)
    if not split.has_masks:
        raise ValueError(f"{cache}: split has no masks to score against")
    probabilities = read_predictions(probabilities_path, split.ids)
    model, model_run = load_model(model_path, torch_device)
    loader = DataLoader(SegmentationDataset(split, eval_preset()), batch_size=batch_size, collate_fn=pad_collate)
    hists = tau_sweep(model, loader, probabilities, taus, torch_device)
    unlabelled = Sun2018Net(model.fcn, "base").eval()  # the same network, its labels left out
    baseline = split_confusion(unlabelled, loader, torch_device)
    rows = []
    for tau, hist in zip(taus, hists):
        labels = threshold_labels(probabilities, tau)[:, 1:].numpy()
        rows.append({"tau": float(tau), **scores(hist), **label_information(split.tags, labels)})
    return {
        "rows": rows,
        "baseline": scores(baseline),
        "classes": list(CLASSES),
        "confusion": hists.tolist(),
        "n_images": len(split),
        "model": str(model_path),
        "probabilities": str(probabilities_path),
        "split": str(cache),
        "model_run": model_run,
        "run": runtime.run_record({"taus": list(map(float, taus)), "batch_size": batch_size}, torch_device),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tagseg.tau_sweep", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="model.pt written by tagseg.train_fcn")
    parser.add_argument("--cache", required=True, help="cached pixel-labelled split (tagseg.data.voc)")
    parser.add_argument("--probabilities", required=True, help="the classifier's npz for the same split")
    parser.add_argument("--taus", type=int, default=21, help="number of evenly spaced thresholds in [0, 1]")
    parser.add_argument("--out", required=True, help="sweep JSON to write")
    parser.add_argument("--batch-size", type=int, default=16, help="images per forward pass")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    args = parser.parse_args(argv)
    if args.taus < 2:
        print(f"error: --taus: expected at least 2 thresholds, got {args.taus}", file=sys.stderr)
        return 1
    try:
        result = sweep_split(
            args.model, args.cache, args.probabilities, np.linspace(0.0, 1.0, args.taus).tolist(),
            batch_size=args.batch_size, threads=args.threads, device=args.device,
        )  # fmt: skip
    except (ValueError, FileNotFoundError, RuntimeError, KeyError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    runtime.write_json_atomic(args.out, result)
    best = max(result["rows"], key=lambda row: row["mIoU"])
    print(f"baseline mIoU {result['baseline']['mIoU']:.3f}; best tau {best['tau']:.2f}: mIoU {best['mIoU']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
