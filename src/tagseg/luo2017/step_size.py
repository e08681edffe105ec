"""Choose DIS's inference step size on the validation split, by a rule written down before any result.

luo2017 gives no step size for its inference of u1 and v1. The rule (REPRODUCTION.md L5), fixed
before the first selection was run and not to be moved after: each step size of a grid set in
advance (config ``dis.step_size_grid``) is tried on every seed's stage-1 model, on the validation
split only, and scored by the model's val mIoU after ``--steps`` test-time inference steps (the
largest t_ts, 30 as in the paper). The step size with the highest mean over seeds is chosen; a tie
goes to the smaller step. The test split is never read. The same step size serves inference in
training (t_tr) and in test (t_ts), as the paper's one inference does.

    python -m tagseg.luo2017.step_size --model runs/dis1_seed0/model.pt --model runs/dis1_seed1/model.pt \\
        --val-cache data/synthetic/cache/val --grid 0.01 0.1 0.5 --steps 30 --out step_size.json

Writes the grid, each seed's val mIoU at every step size (and with no steps, for reference), and
the choice. Train and evaluation commands read it with ``--step-size-from``.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from tagseg.core import io, runtime
from tagseg.core.cli import add_precision_argument, command
from tagseg.core.precision import resolve
from tagseg.data.loading import eval_loader
from tagseg.data.voc import CachedSplit
from tagseg.luo2017 import INFERENCE_ROUTES

CRITERION = (
    "mean over seeds of the stage-1 model's val mIoU after `steps` test-time inference steps; ties to the smaller step"
)


def choose(mean_miou: dict[float, float]) -> float:
    """The rule: the step size of highest mean val mIoU, the smaller of a tie."""
    best = max(mean_miou.values())
    return min(step for step, value in mean_miou.items() if value == best)


def select(models: list[str], val_cache, grid: list[float], steps: int, *, batch_size: int, device, route: str,
           precision: str) -> dict:  # fmt: skip
    """Every model's val mIoU at each step size of ``grid`` after ``steps`` steps, and the step size chosen."""
    from tagseg.luo2017.evaluate_dis import evaluate_counts
    from tagseg.luo2017.network import dis_family, load_dis

    split = CachedSplit(val_cache).require_masks("the step size is chosen by val mIoU")
    grid = sorted(set(grid))
    by_step: dict[float, list[float]] = {step: [] for step in grid}
    no_steps: list[float] = []
    for path in models:
        net, model_run = load_dis(path, device)
        split.require_classes(net.config.n_classes, f"the model {path}")
        arithmetic = resolve(precision, device, dis_family(model_run))
        for step in grid:
            runtime.seed_everything(0)
            matrices, _, _ = evaluate_counts(
                net, eval_loader(split, batch_size), [0, steps], step, device, route, arithmetic
            )
            by_step[step].append(matrices[steps].scores()["mIoU"])
        no_steps.append(matrices[0].scores()["mIoU"])
    mean = {step: float(np.mean(values)) for step, values in by_step.items()}
    return {
        "step_size": choose(mean),
        "criterion": CRITERION,
        "steps": steps,
        "grid": grid,
        "val_mIoU": {f"{step:g}": values for step, values in by_step.items()},
        "val_mIoU_mean": {f"{step:g}": value for step, value in mean.items()},
        "val_mIoU_no_steps": no_steps,
        "models": [str(path) for path in models],
        "split": str(val_cache),
        "run": runtime.run_record({"batch_size": batch_size, "route": route, "precision": precision}, device),
    }


@command
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tagseg.luo2017.step_size", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", action="append", required=True, help="a stage-1 model.pt (repeat, one per seed)")
    parser.add_argument("--val-cache", required=True, help="the cached validation split (never the test split)")
    parser.add_argument("--grid", type=float, nargs="+", required=True, help="step sizes to try, fixed in advance")
    parser.add_argument("--steps", type=int, default=30, help="test-time inference steps the criterion reads")
    parser.add_argument("--out", required=True, help="JSON to write")
    parser.add_argument("--inference", choices=INFERENCE_ROUTES, default="literal", help="how the steps are taken")
    parser.add_argument("--batch-size", type=int, default=16, help="images per pass (the scores do not depend on it)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    add_precision_argument(parser)
    args = parser.parse_args(argv)
    if min(args.grid) <= 0 or args.steps < 1:
        parser.error(f"--grid must hold positive step sizes and --steps be >= 1, got {args.grid} and {args.steps}")
    CachedSplit(args.val_cache)  # a wrong path is named before any model is read
    device = runtime.setup(0, args.threads, args.device)
    result = select(args.model, args.val_cache, args.grid, args.steps, batch_size=args.batch_size, device=device,
                    route=args.inference, precision=args.precision)  # fmt: skip
    io.write_json(args.out, result)
    means = "  ".join(f"{step}: {value:.4f}" for step, value in result["val_mIoU_mean"].items())
    print(f"val mIoU after {args.steps} steps by step size: {means}; chosen {result['step_size']:g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
