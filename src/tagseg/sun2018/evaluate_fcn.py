"""Score a trained network on a cached split: one confusion matrix over the split, then PA, MPA, FWAA, mIoU.

Image labels come from one of two sources. By default, the split's ground-truth tags, used only by
variants that fuse labels (sun2018 Tables 1-3). With ``--probabilities`` and ``--tau``, a
classifier's probabilities thresholded at tau, fused with any model's scores: by dot product unless
the variant was trained with another fusion (Table 4, where labels joined only at test).

    python -m tagseg.sun2018.evaluate_fcn --model runs/fcn32s/model.pt --cache data/synthetic/cache/val --out val.json
    python -m tagseg.sun2018.evaluate_fcn --model runs/fcn32s/model.pt --cache data/synthetic/cache/test \\
        --probabilities results/classifier/seed0/test.npz --tau 0.25 --out test_tau0.25.json

One command can run every evaluation of a model, and its tau sweeps (tagseg.sun2018.tau_sweep),
loading the model (and starting torch) once; the workflow runs a model's evaluations so:

    python -m tagseg.sun2018.evaluate_fcn --model runs/fcn32s/model.pt \\
        --evaluate data/synthetic/cache/val val.json \\
        --evaluate-at-tau data/synthetic/cache/test results/classifier/seed0/test.npz 0.25 test.tau0.25.json \\
        --sweep data/synthetic/cache/test results/classifier/seed0/test.npz sweep.json --taus 21

Every result is computed before any is written: a failure leaves none of them behind.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import DataLoader

from tagseg.core import io, runtime
from tagseg.core.cli import add_dataclass_arguments, check_outputs, command, dataclass_from_arguments
from tagseg.core.metrics import ConfusionMatrix, ReconstructionVisibility, class_argmax, iou_counts, scores
from tagseg.core.precision import FP32, Precision
from tagseg.data.loading import eval_loader
from tagseg.data.voc import CachedSplit
from tagseg.sun2018.fusion import label_vector
from tagseg.sun2018.network import LoadedModel, Sun2018Net
from tagseg.sun2018.classifier import read_predictions
from tagseg.sun2018.tau_sweep import sweep_model, tau_sweep
from tagseg.sun2018.variants import tau_grid


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
def split_results(model: Sun2018Net, loader: DataLoader, device: torch.device,
                  precision: Precision = FP32) -> tuple[ConfusionMatrix, ReconstructionVisibility]:  # fmt: skip
    """A model's argmax predictions over a split, fused with the split's ground-truth labels where the
    variant fuses: the confusion matrix (each image's kept), and what the generator's target, the image
    itself, shows of the classes (tagseg.core.metrics.ReconstructionVisibility)."""
    n_classes = model.fcn.config.n_classes
    matrix = ConfusionMatrix(n_classes, per_image=True)
    visibility = ReconstructionVisibility(n_classes)
    for images, masks, tags in loader:
        with precision.autocast():
            pred = class_argmax(model.segment(images.to(device), label_vector(tags.to(device))))  # (B, H, W)
        matrix.update(masks, pred.cpu())
        visibility.update(images, masks, pred)
    return matrix, visibility


def split_confusion(
    model: Sun2018Net, loader: DataLoader, device: torch.device, precision: Precision = FP32
) -> np.ndarray:
    """The (N, N) confusion matrix of :func:`split_results`."""
    return split_results(model, loader, device, precision)[0].hist


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
    model = LoadedModel.read(model_path, device, config.precision)
    return evaluate_model(config, model, cache, probabilities, tau)


def evaluate_model(
    config: EvalConfig,
    model: LoadedModel,
    cache: str | os.PathLike,
    probabilities: str | os.PathLike | None = None,
    tau: float | None = None,
) -> dict:
    """:func:`evaluate` of a model already loaded."""
    net, device, arithmetic = model.net, model.device, model.arithmetic
    split = CachedSplit(cache).require_masks("nothing to score against")
    split.require_classes(net.fcn.config.n_classes, f"the model {model.path}")
    loader = eval_loader(split, config.batch_size)
    extra = {}
    if probabilities is None:
        matrix, visibility = split_results(net, loader, device, arithmetic)
        hist, per_image = matrix.hist, matrix.per_image()
        labels = {"source": "truth" if net.variant.fusion else "none"}
        extra["reconstruction_visible_errors"] = visibility.share()
    else:
        sweep = tau_sweep(net, loader, read_predictions(probabilities, split.ids), [tau], device, arithmetic)
        hist, per_image = sweep.labelled[0], iou_counts(sweep.labelled_images[0], split.n_classes)
        labels = {"source": "classifier", "tau": tau, "fusion": net.variant.fusion or "dot",
                  "probabilities": str(probabilities)}  # fmt: skip
    return {
        "labels": labels,
        "scores": scores(hist),
        "classes": list(split.classes),
        "n_images": len(split),
        "confusion": hist.tolist(),
        # the split's images in order, each one's intersection and union per class (intervals over test images)
        "image_ids": list(split.ids),
        "per_image": per_image,
        **extra,
        "model": model.path,
        "split": str(cache),
        "model_run": model.run,
        "run": runtime.run_record(config, device, arithmetic),
    }


def _summary(result: dict) -> str:
    if "rows" in result:  # a sweep
        best = max(result["rows"], key=lambda row: row["mIoU"])
        return f"baseline mIoU {result['baseline']['mIoU']:.3f}; best tau {best['tau']:.2f}: mIoU {best['mIoU']:.3f}"
    s = result["scores"]
    return f"PA {s['PA']:.3f}  MPA {s['MPA']:.3f}  FWAA {s['FWAA']:.3f}  mIoU {s['mIoU']:.3f}"


@command
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tagseg.sun2018.evaluate_fcn", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="model.pt written by tagseg.sun2018.train_fcn")
    parser.add_argument("--cache", help="cached pixel-labelled split (tagseg.data.voc)")
    parser.add_argument("--out", help="metrics JSON to write")
    parser.add_argument(
        "--probabilities", help="classifier probabilities for the split (tagseg.sun2018.train_classifier predict)"
    )
    parser.add_argument("--tau", type=float, help="threshold on --probabilities: classes with p >= tau are labelled")
    several = parser.add_argument_group("several results from one load of the model (each flag may repeat)")
    several.add_argument(
        "--evaluate", nargs=2, action="append", default=[], metavar=("CACHE", "OUT"), help="as --cache CACHE --out OUT"
    )
    several.add_argument(
        "--evaluate-at-tau",
        nargs=4,
        action="append",
        default=[],
        metavar=("CACHE", "PROBABILITIES", "TAU", "OUT"),
        help="as --cache ... --probabilities ... --tau ... --out ...",
    )
    several.add_argument(
        "--sweep",
        nargs=3,
        action="append",
        default=[],
        metavar=("CACHE", "PROBABILITIES", "OUT"),
        help="the tau sweep of tagseg.sun2018.tau_sweep over --taus thresholds",
    )
    several.add_argument(
        "--taus", type=int, default=21, help="number of evenly spaced thresholds in [0, 1] of each --sweep"
    )
    add_dataclass_arguments(parser, EvalConfig)
    args = parser.parse_args(argv)
    config = dataclass_from_arguments(EvalConfig, args)
    tasks = _tasks(parser, args)
    for cache in [args.cache] + [task[0] for task in args.evaluate + args.evaluate_at_tau + args.sweep]:
        if cache is not None:  # a wrong path is named before the model is read
            CachedSplit(cache)
    device = runtime.setup(0, config.threads, config.device)
    model = LoadedModel.read(args.model, device, config.precision)
    results = {}
    for out, run in tasks:
        runtime.seed_everything(0)  # each result as a job of its own would compute it
        results[out] = run(config, model)
        print(f"{out}: {_summary(results[out])}")
    for out, result in results.items():
        io.write_json(out, result)
    return 0


def _tasks(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list:
    """(output path, function of (config, model) giving its result) for each result asked for."""
    if (args.cache is None) != (args.out is None):
        parser.error("--cache and --out go together")
    if (args.probabilities is None) != (args.tau is None):
        parser.error("--probabilities and --tau go together")
    if args.probabilities is not None and args.cache is None:
        parser.error("--probabilities and --tau need --cache and --out")
    if args.taus < 2:
        parser.error(f"--taus: expected at least 2 thresholds, got {args.taus}")
    tasks = []
    if args.cache is not None:
        tasks.append((args.out, lambda c, m: evaluate_model(c, m, args.cache, args.probabilities, args.tau)))
    for cache, out in args.evaluate:
        tasks.append((out, lambda c, m, cache=cache: evaluate_model(c, m, cache)))
    for cache, probabilities, tau, out in args.evaluate_at_tau:
        try:
            value = float(tau)
        except ValueError:
            parser.error(f"--evaluate-at-tau: TAU expected a number, got {tau!r}")
        tasks.append((out, lambda c, m, cache=cache, p=probabilities, t=value: evaluate_model(c, m, cache, p, t)))
    for cache, probabilities, out in args.sweep:
        tasks.append((out, lambda c, m, cache=cache, p=probabilities: sweep_model(
            m, cache, p, tau_grid(args.taus), batch_size=c.batch_size, precision=c.precision)))  # fmt: skip
    check_outputs(parser, [out for out, _ in tasks], "--cache and --out, or --evaluate, --evaluate-at-tau or --sweep")
    return tasks


if __name__ == "__main__":
    sys.exit(main())
