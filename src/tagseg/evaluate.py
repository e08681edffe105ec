"""Score a trained network on a cached split: one confusion matrix over the split, then PA, MPA, FWAA, mIoU.

Image labels come from one of two sources. By default, the split's ground-truth tags, used only by
variants that fuse labels (sun2018 Tables 1-3). With ``--probabilities`` and ``--tau``, a
classifier's probabilities thresholded at tau, fused with any model's scores: by dot product unless
the variant was trained with another fusion (Table 4, where labels joined only at test).

    python -m tagseg.evaluate --model runs/fcn32s/model.pt --cache data/synthetic/cache/val --out val.json
    python -m tagseg.evaluate --model runs/fcn32s/model.pt --cache data/synthetic/cache/test \
        --probabilities results/classifier/seed0/test.npz --tau 0.25 --out test_tau0.25.json
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from tagseg import runtime
from tagseg.cli import add_dataclass_arguments, dataclass_from_arguments
from tagseg.data.loading import SegmentationDataset, pad_collate
from tagseg.data.transforms import eval_preset
from tagseg.data.voc import CLASSES, NUM_CLASSES, CachedSplit
from tagseg.metrics import class_argmax, confusion_matrix, scores
from tagseg.fusion import label_vector
from tagseg.sun2018 import Sun2018Net
from tagseg.tau_sweep import tau_sweep
from tagseg.train_classifier import read_predictions
from tagseg.train_fcn import load_model


@dataclass(frozen=True)
class EvalConfig:
    batch_size: int = 16  # images per forward pass (padded to a common size)
    threads: int = 1  # torch CPU threads
    device: str = "auto"  # auto, cpu, cuda or cuda:N

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.threads < 1:
            raise ValueError("eval.batch_size and threads: expected positive integers")


@torch.inference_mode()
def split_confusion(model: Sun2018Net, loader: DataLoader, device: torch.device) -> np.ndarray:
    """Accumulate the (21, 21) confusion matrix of a model's argmax predictions over a split."""
    hist = np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=np.int64)
    for images, masks, tags in loader:
        with torch.autocast(device.type, enabled=device.type == "cuda"):
            pred = class_argmax(model.segment(images.to(device), label_vector(tags.to(device))))  # (B, H, W)
        hist += confusion_matrix(masks, pred.cpu(), NUM_CLASSES)
    return hist


def evaluate(
    config: EvalConfig,
    model_path: str | os.PathLike,
    cache: str | os.PathLike,
    probabilities: str | os.PathLike | None = None,
    tau: float | None = None,
) -> dict:
    """Scores of a model on a split, with ground-truth labels, or a classifier's (``probabilities``) at ``tau``."""
    if (probabilities is None) != (tau is None):
        raise ValueError("evaluate: --probabilities and --tau go together")
    device = runtime.setup(0, config.threads, config.device)
    split = CachedSplit(cache)
    if not split.has_masks:
        raise ValueError(f"{cache}: split has no masks to score against")
    model, model_run = load_model(model_path, device)
    loader = DataLoader(SegmentationDataset(split, eval_preset()), batch_size=config.batch_size, collate_fn=pad_collate)
    if probabilities is None:
        hist = split_confusion(model, loader, device)
        labels = {"source": "truth" if model.variant.fusion else "none"}
    else:
        hist = tau_sweep(model, loader, read_predictions(probabilities, split.ids), [tau], device)[0]
        labels = {"source": "classifier", "tau": tau, "fusion": model.variant.fusion or "dot",
                  "probabilities": str(probabilities)}  # fmt: skip
    return {
        "labels": labels,
        "scores": scores(hist),
        "classes": list(CLASSES),
        "n_images": len(split),
        "confusion": hist.tolist(),
        "model": str(model_path),
        "split": str(cache),
        "model_run": model_run,
        "run": runtime.run_record(config, device),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tagseg.evaluate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="model.pt written by tagseg.train_fcn")
    parser.add_argument("--cache", required=True, help="cached pixel-labelled split (tagseg.data.voc)")
    parser.add_argument("--out", required=True, help="metrics JSON to write")
    parser.add_argument("--probabilities", help="classifier probabilities for the split (tagseg.train_classifier predict)")
    parser.add_argument("--tau", type=float, help="threshold on --probabilities: classes with p >= tau are labelled")
    add_dataclass_arguments(parser, EvalConfig)
    args = parser.parse_args(argv)
    try:
        config = dataclass_from_arguments(EvalConfig, args)
        result = evaluate(config, args.model, args.cache, args.probabilities, args.tau)
    except (ValueError, FileNotFoundError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    runtime.write_json_atomic(args.out, result)
    s = result["scores"]
    print(f"{Path(args.cache).name}: PA {s['PA']:.3f}  MPA {s['MPA']:.3f}  FWAA {s['FWAA']:.3f}  mIoU {s['mIoU']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
