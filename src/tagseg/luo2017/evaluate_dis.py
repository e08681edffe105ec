"""Score a DIS model on a cached split at several test-time inference counts t_ts, from one pass.

Per batch the backbone runs once; :func:`tagseg.luo2017.inference.infer_latents` takes max(t_ts) steps on the
reconstruction loss and reads the refined labelmap out at every requested count. Each read-out is
upsampled to the image, its argmax scored into one confusion matrix per t_ts. Also records the
milliseconds per image of the backbone and of the inference steps (luo2017 Table 4's runtime).

    python -m tagseg.luo2017.evaluate_dis --model runs/dis2_t5/model.pt --cache data/synthetic/cache/test \\
        --t-ts 0 10 30 --out test.json

One command can run every evaluation of a model, loading it (and starting torch) once; the workflow
runs a model's evaluations so, the weak pools' (stage-1 models) at the steps of ``--weak-steps``:

    python -m tagseg.luo2017.evaluate_dis --model runs/dis1/model.pt --t-ts 0 10 30 \\
        --evaluate data/synthetic/cache/test test.json --evaluate data/synthetic/cache/noisy_test noisy_test.json \\
        --weak data/synthetic/cache/weak_noisy data/synthetic/cache/weak_noisy_withheld weak_noisy.json --weak-steps 0 5

Every result is computed before any is written: a failure leaves none of them behind.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch
from torch.utils.data import DataLoader

from tagseg.core import io, runtime
from tagseg.core.classes import with_background
from tagseg.core.cli import add_precision_argument, check_outputs, command
from tagseg.core.metrics import ConfusionMatrix, ReconstructionVisibility
from tagseg.core.precision import FP32, Precision, resolve
from tagseg.data.loading import eval_loader
from tagseg.data.voc import CachedSplit
from tagseg.luo2017 import INFERENCE_ROUTES, add_step_size_from, step_size_from_arguments
from tagseg.luo2017.inference import infer_latents, upsampled_argmax
from tagseg.luo2017.network import DualNet, count_parameters, dis_family, downsample_image, load_dis


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def evaluate_counts(
    net: DualNet,
    loader: DataLoader,
    t_ts: list[int],
    step_size: float,
    device: torch.device,
    route: str = "literal",
    precision: Precision = FP32,
    visibility: ReconstructionVisibility | None = None,
) -> tuple[dict[int, ConfusionMatrix], dict[int, np.ndarray], dict[str, float]]:
    """Per t_ts, the confusion matrix (each image's kept) and the tag head's read-out tags (n, objects), at
    sigmoid(v3) >= 0.5; and seconds spent in the backbone and in the inference steps (``route``: how
    :func:`tagseg.luo2017.inference.infer_latents` takes them). ``visibility``, when given, gathers
    what the reconstruction target (the image averaged down to z3's size) shows of the errors at the
    least t_ts."""
    matrices = {t: ConfusionMatrix(net.config.n_classes, per_image=True) for t in t_ts}
    tags: dict[int, list[np.ndarray]] = {t: [] for t in t_ts}
    seconds = {"backbone": 0.0, "inference": 0.0}
    for images, masks, _ in loader:
        images = images.to(device)
        _sync(device)
        start = time.perf_counter()
        with torch.inference_mode(), precision.autocast():
            u1, v1 = net.features(images)
        _sync(device)
        middle = time.perf_counter()
        reads = infer_latents(net, u1.clone().float(), v1.clone().float(), images, steps=max(t_ts), step_size=step_size, readouts=t_ts,
                              route=route, precision=precision)  # fmt: skip
        _sync(device)
        seconds["backbone"] += middle - start
        seconds["inference"] += time.perf_counter() - middle
        for t, readout in reads.items():
            predicted = upsampled_argmax(readout.labelmap, masks.shape[1:]).cpu()
            matrices[t].update(masks, predicted)
            tags[t].append(read_out_tags(readout.outputs))
            if visibility is not None and t == min(t_ts):  # the model's own errors, before any inference step
                visibility.update(downsample_image(images, u1.shape[2:]).cpu(), masks, predicted)
    return matrices, {t: np.concatenate(v) for t, v in tags.items()}, seconds


def read_out_tags(outputs) -> np.ndarray:
    """The tag head's tags (B, objects): sigmoid(v3) >= 0.5 for each object class."""
    return (torch.sigmoid(outputs.v3[:, 1:].float()) >= 0.5).cpu().numpy()


def tag_agreement(predicted: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Precision and recall of (n, objects) binary tags against clean ones, over all (image, class) pairs."""
    predicted, truth = predicted.astype(bool), truth.astype(bool)
    hits = float((predicted & truth).sum())
    return {"precision": hits / max(float(predicted.sum()), 1.0), "recall": hits / max(float(truth.sum()), 1.0)}


def tag_counts(predicted: np.ndarray, truth: np.ndarray) -> dict[str, list[int]]:
    """Per image, the tags right (hits), predicted and true: precision and recall over any resample of the
    images are ratios of their sums. JSON-ready."""
    predicted, truth = predicted.astype(bool), truth.astype(bool)
    return {"hits": (predicted & truth).sum(1).tolist(), "predicted": predicted.sum(1).tolist(),
            "truth": truth.sum(1).tolist()}  # fmt: skip


def weak_inference_quality(
    net: DualNet,
    weak: CachedSplit,
    withheld: CachedSplit,
    steps: list[int],
    step_size: float,
    batch_size: int,
    device: torch.device,
    route: str = "literal",
    precision: Precision = FP32,
) -> dict:
    """Per read-out step: mIoU of the inferred labelmaps against the withheld masks, and the inferred tags'
    precision and recall against the clean tags; also the weak tags' own."""
    if weak.ids != withheld.ids:
        raise ValueError("weak pool and its withheld cache list different images")
    loader = eval_loader(withheld, batch_size)
    noisy = torch.from_numpy(weak.tags.astype("float32"))
    matrices = {t: ConfusionMatrix(net.config.n_classes, per_image=True) for t in steps}
    inferred_tags: dict[int, list[np.ndarray]] = {t: [] for t in steps}
    seen = 0
    for images, masks, _ in loader:
        images = images.to(device)
        tags = with_background(noisy[seen : seen + len(images)]).to(device)
        seen += len(images)
        with torch.inference_mode(), precision.autocast():
            u1, v1 = net.features(images)
        reads = infer_latents(net, u1.clone().float(), v1.clone().float(), images, steps=max(steps), step_size=step_size,
                              tags=tags, readouts=steps, route=route, precision=precision)  # fmt: skip
        for t, readout in reads.items():
            matrices[t].update(masks, upsampled_argmax(readout.labelmap, masks.shape[1:]).cpu())
            inferred_tags[t].append(read_out_tags(readout.outputs))
    by_step = {}
    for t in steps:
        inferred = np.concatenate(inferred_tags[t])
        by_step[str(t)] = {"labelmap_scores": matrices[t].scores(),
                           **{f"tags_{k}": v for k, v in tag_agreement(inferred, withheld.tags).items()},
                           "labelmap_per_image": matrices[t].per_image(),
                           "tags_per_image": tag_counts(inferred, withheld.tags)}  # fmt: skip
    return {
        "by_step": by_step,
        "image_ids": list(weak.ids),
        "weak_tags": {**tag_agreement(weak.tags, withheld.tags), "per_image": tag_counts(weak.tags, withheld.tags)},
    }


def score_split(net: DualNet, model_run: dict, model_path, cache, t_ts: list[int], step_size: float, batch_size: int,
                device: torch.device, route: str, precision: str, arithmetic: Precision) -> dict:  # fmt: skip
    """A split's evaluation at every t_ts, with its timing and run record (``precision``: the setting asked
    for, ``arithmetic`` what it resolved to)."""
    split = CachedSplit(cache).require_masks("nothing to score against")
    split.require_classes(net.config.n_classes, f"the model {model_path}")
    t_ts = sorted(set(t_ts))
    visibility = ReconstructionVisibility(split.n_classes)
    matrices, tags, seconds = evaluate_counts(net, eval_loader(split, batch_size), t_ts, step_size, device, route,
                                              arithmetic, visibility)  # fmt: skip
    per_image = {name: 1000.0 * value / len(split) for name, value in seconds.items()}
    by_t_ts = {}
    for t, matrix in matrices.items():
        by_t_ts[str(t)] = {
            "scores": matrix.scores(),
            "confusion": matrix.hist.tolist(),
            "per_image": matrix.per_image(),
        }
        if split.tags is not None:  # the tag head's read-out against the split's own tags (clean but on noisy_test)
            by_t_ts[str(t)]["tags"] = {
                **tag_agreement(tags[t], split.tags),
                "per_image": tag_counts(tags[t], split.tags),
            }
    return {
        "by_t_ts": by_t_ts,
        "classes": list(split.classes),
        "n_images": len(split),
        "image_ids": list(split.ids),
        # of the model's errors with no inference step, the share its reconstruction target can see
        "reconstruction_visible_errors": visibility.share(),
        "ms_per_image": {"backbone": per_image["backbone"], f"inference_{max(t_ts)}_steps": per_image["inference"]},
        "parameters": count_parameters(net),
        "model": str(model_path),
        "split": str(cache),
        "model_run": model_run,
        "run": runtime.run_record({"t_ts": t_ts, "step_size": step_size, "batch_size": batch_size,
                                   "precision": precision}, device, arithmetic),
    }  # fmt: skip


def score_weak_pool(net: DualNet, model_run: dict, model_path, cache, withheld, steps: list[int], step_size: float,
                    batch_size: int, device: torch.device, route: str, precision: str, arithmetic: Precision) -> dict:  # fmt: skip
    """:func:`weak_inference_quality` on a weak pool, with its run record."""
    split = CachedSplit(cache).require_classes(net.config.n_classes, f"the model {model_path}")
    steps = sorted(set(steps))
    quality = weak_inference_quality(net, split, CachedSplit(withheld), steps, step_size, batch_size, device, route,
                                     arithmetic)  # fmt: skip
    return {
        **quality, "n_images": len(split), "model": str(model_path), "split": str(cache),
        "model_run": model_run,
        "run": runtime.run_record({"steps": steps, "step_size": step_size, "precision": precision}, device, arithmetic),
    }  # fmt: skip


def _summary(result: dict) -> str:
    if "by_step" in result:
        return "  ".join(f"t={t}: L^w mIoU {read['labelmap_scores']['mIoU']:.3f}  tags P {read['tags_precision']:.3f}"
                         f" R {read['tags_recall']:.3f}" for t, read in result["by_step"].items())  # fmt: skip
    return "  ".join(f"t_ts={t}: mIoU {read['scores']['mIoU']:.3f}" for t, read in result["by_t_ts"].items())


@command
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tagseg.luo2017.evaluate_dis", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="model.pt written by tagseg.luo2017.train_dis")
    parser.add_argument("--cache", help="cached pixel-labelled split (tagseg.data.voc)")
    parser.add_argument("--out", help="metrics JSON to write")
    parser.add_argument("--t-ts", type=int, nargs="+", default=[0, 10, 30], help="inference steps to read out")
    parser.add_argument("--step-size", type=float, default=0.5, help="gradient step on u1 and v1")
    add_step_size_from(parser)
    parser.add_argument(
        "--inference", choices=INFERENCE_ROUTES, default="literal", help="how the steps are taken (same iterates)"
    )
    parser.add_argument(
        "--withheld-cache", help="a weak pool's withheld masks and clean tags: measure inference in training"
    )
    several = parser.add_argument_group("several results from one load of the model (each flag may repeat)")
    several.add_argument(
        "--evaluate", nargs=2, action="append", default=[], metavar=("CACHE", "OUT"), help="as --cache CACHE --out OUT"
    )
    several.add_argument(
        "--weak",
        nargs=3,
        action="append",
        default=[],
        metavar=("CACHE", "WITHHELD", "OUT"),
        help="as --cache CACHE --withheld-cache WITHHELD --out OUT, at the steps of --weak-steps",
    )
    several.add_argument(
        "--weak-steps", type=int, nargs="+", help="inference steps to read out on each --weak pool (default: --t-ts)"
    )
    parser.add_argument("--batch-size", type=int, default=16, help="images per pass")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    add_precision_argument(parser)
    args = parser.parse_args(argv)
    args.step_size = step_size_from_arguments(args)
    weak_steps = args.weak_steps if args.weak_steps is not None else args.t_ts
    if min(args.t_ts) < 0 or min(weak_steps) < 0 or args.step_size <= 0:
        raise ValueError(f"--t-ts and --weak-steps must be >= 0 and --step-size > 0, got {args.t_ts}, {weak_steps}"
                         f" and {args.step_size}")  # fmt: skip
    if (args.cache is None) != (args.out is None):
        parser.error("--cache and --out go together")
    if args.withheld_cache is not None and args.cache is None:
        parser.error("--withheld-cache needs --cache and --out")
    evaluations, pools = list(args.evaluate), list(args.weak)
    if args.cache is not None:
        (pools.append((args.cache, args.withheld_cache, args.out)) if args.withheld_cache
         else evaluations.append((args.cache, args.out)))  # fmt: skip
    check_outputs(parser, [task[-1] for task in evaluations + pools], "--cache and --out, or --evaluate or --weak")
    for cache in [task[0] for task in evaluations] + [path for task in pools for path in task[:2]]:
        CachedSplit(cache)  # a wrong path is named before the model is read
    device = runtime.setup(0, args.threads, args.device)
    net, model_run = load_dis(args.model, device)
    arithmetic = resolve(args.precision, device, dis_family(model_run))
    common = {"step_size": args.step_size, "batch_size": args.batch_size, "device": device, "route": args.inference,
              "precision": args.precision, "arithmetic": arithmetic}  # fmt: skip
    results = {}
    for cache, out in evaluations:
        runtime.seed_everything(0)  # each result as a job of its own would compute it
        results[out] = score_split(net, model_run, args.model, cache, args.t_ts, **common)
        print(f"{out}: {_summary(results[out])}")
    for cache, withheld, out in pools:
        runtime.seed_everything(0)
        results[out] = score_weak_pool(net, model_run, args.model, cache, withheld, weak_steps, **common)
        print(f"{out}: {_summary(results[out])}")
    for out, result in results.items():
        io.write_json(out, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
