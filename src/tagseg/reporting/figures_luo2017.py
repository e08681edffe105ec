"""luo2017's figures from the pipeline's outputs: the t_tr x t_ts grid behind Table 3, and Figure 5's examples.

    python -m tagseg.reporting.figures_luo2017 dis_grid --evaluations results/dis_metrics/ttr*/seed*/test.json \\
        --csv luo2017_grid.csv --png luo2017_grid.png
    python -m tagseg.reporting.figures_luo2017 dis_examples --cache data/synthetic/cache/test \\
        --model 0 results/dis/ttr0/seed0/model.pt --model 30 results/dis/ttr30/seed0/model.pt --png figure5.png
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from tagseg.core import io
from tagseg.core.cli import add_precision_argument, command
from tagseg.luo2017 import INFERENCE_ROUTES, add_step_size_from, step_size_from_arguments
from tagseg.reporting.plotting import plt, read_results, save


def dis_grid_table(evaluations: list[dict]) -> pd.DataFrame:
    """luo2017: mIoU (%) per (t_tr, t_ts), mean and sd over seeds, from tagseg.luo2017.evaluate_dis files of stage-2 runs."""
    records = []
    for evaluation in evaluations:
        settings = evaluation["model_run"]["settings"]
        if settings["stage"] != "stage2":
            raise ValueError(f"{evaluation['model']}: a stage-1 model has no t_tr; give stage-2 evaluations")
        for t_ts, read in evaluation["by_t_ts"].items():
            records.append({"t_tr": settings["t_tr"], "t_ts": int(t_ts), "mIoU": 100.0 * read["scores"]["mIoU"]})
    if not records:
        raise ValueError("dis_grid: no evaluations given")
    grouped = pd.DataFrame(records).groupby(["t_tr", "t_ts"])["mIoU"]
    table = grouped.agg(["mean", "std", "size"]).reset_index()
    return table.rename(columns={"mean": "mIoU", "std": "mIoU_sd", "size": "seeds"}).round(4)


def plot_dis_grid(table: pd.DataFrame, out: Path) -> None:
    grid = table.pivot(index="t_tr", columns="t_ts", values="mIoU")
    fig, ax = plt.subplots(figsize=(1.2 + 1.1 * grid.shape[1], 1.0 + 0.7 * grid.shape[0]))
    image = ax.imshow(grid.to_numpy(), cmap="viridis", aspect="auto")
    for (i, j), value in np.ndenumerate(grid.to_numpy()):
        ax.text(j, i, f"{value:.1f}", ha="center", va="center", color="w", fontsize=8)
    ax.set_xticks(range(grid.shape[1]), [str(c) for c in grid.columns])
    ax.set_yticks(range(grid.shape[0]), [str(r) for r in grid.index])
    ax.set(xlabel="t_ts (inference steps in test)", ylabel="t_tr (in training)",
           title=f"luo2017: test mIoU (%), mean of {int(table['seeds'].min())} seeds")  # fmt: skip
    fig.colorbar(image, ax=ax)
    save(fig, out)


def dis_examples(
    cache,
    setups: list[tuple[int, int, Path]],
    step_size: float,
    n_images: int,
    out: Path,
    route: str = "literal",
    precision: str = "auto",
    device: str = "cpu",
    threads: int = 1,
) -> None:
    """luo2017 Figure 5: input, the downsampled image DIS reconstructs, the predictions of each
    ``(t_tr, t_ts, model.pt)`` setup (the paper's: (0, 0), (5, 0), (10, 10), (30, 30);
    tagseg.reporting.papers.figure5_setups), ground truth; one row per image. The networks run on
    ``device`` (``resources.device``: a GPU job of its own in the workflow)."""
    import torch

    from tagseg.core.runtime import setup

    from tagseg.data.transforms import denormalize, eval_preset, to_tensors
    from tagseg.data.voc import CachedSplit
    from tagseg.luo2017.inference import infer_latents, upsampled_argmax
    from tagseg.core.precision import resolve
    from tagseg.luo2017.network import dis_family, downsample_image, load_dis

    split = CachedSplit(cache)
    if not setups:
        raise ValueError("dis_examples: no --model setup given")
    device = setup(0, threads, device)
    loaded = {t_tr: load_dis(path, device) for t_tr, _, path in setups}
    nets = {t_tr: net for t_tr, (net, _) in loaded.items()}
    arithmetic = {t_tr: resolve(precision, device, dis_family(run)) for t_tr, (_, run) in loaded.items()}
    palette = split.palette
    rows = range(min(n_images, len(split)))
    columns = ["input", "downsampled", *[f"t_tr={a}, t_ts={b}" for a, b, _ in setups], "ground truth"]
    fig, axes = plt.subplots(len(rows), len(columns), figsize=(1.3 * len(columns), 1.4 * len(rows)), squeeze=False)
    for r, i in enumerate(rows):
        sample = split[i]
        image, _ = eval_preset()(*to_tensors(sample.image, sample.mask))
        image = image.to(device)
        pictures = [sample.image]
        for t_tr, t_ts, _ in setups:
            net = nets[t_tr]
            with torch.no_grad(), arithmetic[t_tr].autocast():
                u1, v1 = net.features(image[None])
            u1, v1 = u1.float(), v1.float()
            if len(pictures) == 1:
                small = downsample_image(image[None], u1.shape[2:])[0]
                pictures.append(denormalize(small.cpu()).clamp(0, 1).permute(1, 2, 0).numpy())
            readout = infer_latents(net, u1, v1, image[None], steps=t_ts, step_size=step_size, route=route,
                                    precision=arithmetic[t_tr])[t_ts]  # fmt: skip
            pictures.append(palette[upsampled_argmax(readout.labelmap, sample.mask.shape)[0].cpu().numpy()])
        pictures.append(palette[sample.mask])
        for c, picture in enumerate(pictures):
            axes[r, c].imshow(picture, interpolation="nearest")
            axes[r, c].set_xticks([])
            axes[r, c].set_yticks([])
    for c, name in enumerate(columns):
        axes[0, c].set_title(name, fontsize=6)
    save(fig, out)


@command
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tagseg.reporting.figures_luo2017", description=__doc__.split("\n\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    grid = commands.add_parser("dis_grid", help="mIoU over t_tr x t_ts; CSV and heat map")
    grid.add_argument(
        "--evaluations", nargs="+", type=Path, required=True, help="tagseg.luo2017.evaluate_dis JSON files"
    )
    grid.add_argument("--csv", type=Path, required=True, help="CSV to write")
    grid.add_argument("--png", type=Path, required=True, help="figure to write")
    examples = commands.add_parser("dis_examples", help="Figure 5: predictions at several (t_tr, t_ts)")
    examples.add_argument("--cache", required=True, help="cached pixel-labelled split")
    examples.add_argument("--model", nargs=3, action="append", metavar=("T_TR", "T_TS", "MODEL"), required=True,
                          help="a stage-2 model.pt, its t_tr and the t_ts to show it at (repeat, in order)")  # fmt: skip
    examples.add_argument("--step-size", type=float, default=0.5, help="inference step on u1 and v1")
    add_step_size_from(examples)
    examples.add_argument(
        "--inference", choices=INFERENCE_ROUTES, default="literal", help="how the steps are taken (same iterates)"
    )
    examples.add_argument("--images", type=int, default=6, help="the split's first N images")
    examples.add_argument("--png", type=Path, required=True, help="figure to write")
    add_precision_argument(examples)
    examples.add_argument("--device", default="cpu", help="auto, cpu or cuda (resources.device)")
    examples.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args(argv)
    if args.command == "dis_examples":
        setups = [(int(t_tr), int(t_ts), Path(path)) for t_tr, t_ts, path in args.model]
        dis_examples(
            args.cache,
            setups,
            step_size_from_arguments(args),
            args.images,
            args.png,
            args.inference,
            args.precision,
            args.device,
            args.threads,
        )
        return 0
    table = dis_grid_table(read_results(args.evaluations))
    io.write_csv(args.csv, table)
    plot_dis_grid(table, args.png)
    print(table.to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
