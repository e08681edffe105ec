"""Score a trained network on a cached split: one confusion matrix over the split, then PA, MPA, FWAA, mIoU.

Image labels come from one of two sources. By default, the split's ground-truth tags, used only by
variants that fuse labels (sun2018 Tables 1-3). With ``--probabilities`` and ``--tau``, a
classifier's probabilities thresholded at tau, fused with any model's scores: by dot product unless
the variant was trained with another fusion (Table 4, where labels joined only at test).

    python -m tagseg.sun2018.evaluate_fcn --model runs/fcn32s/model.pt --cache data/synthetic/cache/val --out val.json
    python -m tagseg.sun2018.evaluate_fcn --model runs/fcn32s/model.pt --cache data/synthetic/cache/test \\
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

from tagseg.core import io, runtime
from tagseg.core.classes import CLASSES, NUM_CLASSES
from tagseg.core.cli import add_dataclass_arguments, command, dataclass_from_arguments
from tagseg.core.metrics import ConfusionMatrix, class_argmax, scores
from tagseg.core.precision import FP32, Precision, resolve
from tagseg.data.loading import eval_loader
from tagseg.data.voc import CachedSplit
from tagseg.sun2018.fusion import label_vector
from tagseg.sun2018.network import Sun2018Net, fcn_family, load_fcn
from tagseg.sun2018.classifier import read_predictions
from tagseg.sun2018.tau_sweep import tau_sweep


@dataclass(frozen=True)
class EvalConfig:
    batch_size: int = 16  # images per forward pass (padded to a common size)
    threads: int = 1  # torch CPU threads
    device: str = "auto"  # auto, cpu, cuda or cuda:N
    precision: str = "auto"  # auto, fp32 or bf16 (resources.precision; tagseg.core.precision)

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.threads < 1:
            raise ValueError("eval.batch_size and threads: expected positive integers")


@torch.inference_mode()
def split_confusion(model: Sun2018Net, loader: DataLoader, device: torch.device, precision: Precision = FP32) -> np.ndarray:
    """The (21, 21) confusion matrix of a model's argmax predictions over a split, fused with the
    split's ground-truth labels where the variant fuses."""
    matrix = ConfusionMatrix(NUM_CLASSES)
    for images, masks, tags in loader:
        with precision.autocast():
            pred = class_argmax(model.segment(images.to(device), label_vector(tags.to(device))))  # (B, H, W)
        matrix.update(masks, pred.cpu())
    return matrix.hist


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
    split = CachedSplit(cache).require_masks("nothing to score against")
    model, model_run = load_fcn(model_path, device)
    arithmetic = resolve(config.precision, device, fcn_family(model.variant_name))
    loader = eval_loader(split, config.batch_size)
    if probabilities is None:
        hist = split_confusion(model, loader, device, arithmetic)
        labels = {"source": "truth" if model.variant.fusion else "none"}
    else:
        hist = tau_sweep(model, loader, read_predictions(probabilities, split.ids), [tau], device, arithmetic).labelled[0]
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
        "run": runtime.run_record(config, device, arithmetic),
    }


@command
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tagseg.sun2018.evaluate_fcn", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="model.pt written by tagseg.sun2018.train_fcn")
    parser.add_argument("--cache", required=True, help="cached pixel-labelled split (tagseg.data.voc)")
    parser.add_argument("--out", required=True, help="metrics JSON to write")
    parser.add_argument("--probabilities", help="classifier probabilities for the split (tagseg.sun2018.train_classifier predict)")
    parser.add_argument("--tau", type=float, help="threshold on --probabilities: classes with p >= tau are labelled")
    add_dataclass_arguments(parser, EvalConfig)
    args = parser.parse_args(argv)
    result = evaluate(dataclass_from_arguments(EvalConfig, args), args.model, args.cache, args.probabilities, args.tau)
    io.write_json(args.out, result)
    s = result["scores"]
    print(f"{Path(args.cache).name}: PA {s['PA']:.3f}  MPA {s['MPA']:.3f}  FWAA {s['FWAA']:.3f}  mIoU {s['mIoU']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
