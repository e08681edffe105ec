"""sun2018's figures from the pipeline's outputs: Figure 4 (mIoU vs tau), Section 3 (nats vs tau), Figure 3 (examples), training curves.

    python -m tagseg.reporting.figures_sun2018 figure4 --sweeps results/sweeps/fcn32s/label_gen/seed*/test.json \\
        --reference results/metrics/fcn32s/gen/seed*/test.json --csv figure4.csv --png figure4.png
    python -m tagseg.reporting.figures_sun2018 section3 --sweeps results/sweeps/fcn32s/label_gen/seed*/test.json \\
        --csv section3.csv --png section3.png
    python -m tagseg.reporting.figures_sun2018 figure3 --cache data/synthetic/cache/test --baseline fcn8s_base.pt \\
        --ours fcn8s_gen.pt --probabilities results/classifier/seed0/test.npz --tau 0.25 --png figure3.png
    python -m tagseg.reporting.figures_sun2018 curves --logs results/models/*/*/seed*/train_log.csv --png curves.png

Sweeps are tagseg.sun2018.tau_sweep outputs, one per seed; every number plotted is the mean over them,
with the sd across seeds as a band.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from tagseg.core import io
from tagseg.core.cli import add_precision_argument, command
from tagseg.reporting.papers import FIGURE4
from tagseg.reporting.plotting import plt, read_results, save

NATS = ("removable_nats", "removed_nats", "invalid_nats", "lost_nats")


def _seed_frame(sweeps: list[dict], columns: tuple[str, ...]) -> pd.DataFrame:
    """Long frame: one row per (seed, tau), the sweep's ``columns``."""
    frames = []
    for seed, sweep in enumerate(sweeps):
        frame = pd.DataFrame(sweep["rows"])[["tau", *columns]]
        frames.append(frame.assign(run=seed, tau=frame["tau"].round(6)))
    taus = {tuple(frame["tau"]) for frame in frames}
    if len(taus) != 1:
        raise ValueError("sweeps: the runs were swept over different thresholds")
    return pd.concat(frames, ignore_index=True)


def _summarise(long: pd.DataFrame, columns: tuple[str, ...], scale: float = 1.0) -> pd.DataFrame:
    """Mean and sd over runs per tau (sd empty with one run), columns scaled by ``scale``."""
    grouped = long.groupby("tau")
    out = pd.DataFrame({"tau": sorted(long["tau"].unique())})
    for column in columns:
        out[column] = (scale * grouped[column].mean()).round(4).to_numpy()
        out[f"{column}_sd"] = (scale * grouped[column].std(ddof=1)).round(4).to_numpy()
    out["seeds"] = grouped.size().to_numpy()
    return out


def figure4_table(sweeps: list[dict], reference: list[dict]) -> pd.DataFrame:
    """Per tau: mIoU (%) of the labelled network, its baseline without labels, and Table 4's FCN-32s+generator."""
    table = _summarise(_seed_frame(sweeps, ("PA", "MPA", "FWAA", "mIoU")), ("PA", "MPA", "FWAA", "mIoU"), 100.0)
    baseline = 100.0 * np.array([sweep["baseline"]["mIoU"] for sweep in sweeps])
    table["baseline_mIoU"] = round(float(baseline.mean()), 4)
    table["baseline_mIoU_sd"] = round(float(baseline.std(ddof=1)), 4) if len(baseline) > 1 else np.nan
    if reference:
        trained_without = 100.0 * np.array([metrics["scores"]["mIoU"] for metrics in reference])
        table["generator_no_labels_mIoU"] = round(float(trained_without.mean()), 4)
    return table


def plot_figure4(table: pd.DataFrame, out: Path) -> None:
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    ax.plot(table["tau"], table["mIoU"], "o-", ms=3, label="FCN-32s+label+gen, classifier labels at τ")
    if table["seeds"].iloc[0] > 1:
        ax.fill_between(table["tau"], table["mIoU"] - table["mIoU_sd"], table["mIoU"] + table["mIoU_sd"], alpha=0.2)
    ax.axhline(table["baseline_mIoU"].iloc[0], color="k", ls="--", lw=1, label="the same network, no labels")
    if "generator_no_labels_mIoU" in table:
        ax.axhline(table["generator_no_labels_mIoU"].iloc[0], color="0.5", ls=":", lw=1,
                   label="FCN-32s+generator trained without labels")  # fmt: skip
    ax.axvline(FIGURE4["paper_best_tau"], color="tab:red", lw=0.8, alpha=0.6, label="paper's τ = 0.25")
    ax.set(xlabel="threshold τ", ylabel="mIoU (%) on test", xlim=(0, 1))
    ax.legend(fontsize=7, loc="lower left")
    ax.set_title(f"sun2018 Figure 4 (mean over {table['seeds'].iloc[0]} seeds)", fontsize=9)
    save(fig, out)


def section3_table(sweeps: list[dict]) -> pd.DataFrame:
    """Per tau: mean n, m, k and nats (Section 3), beside the measured mIoU gain over no labels (points)."""
    long = _seed_frame(sweeps, ("n", "m", "k", *NATS, "mIoU"))
    baselines = np.array([sweep["baseline"]["mIoU"] for sweep in sweeps])
    long["mIoU_gain"] = 100.0 * (long["mIoU"] - baselines[long["run"]])  # each seed against its own baseline
    return _summarise(long, ("n", "m", "k", *NATS, "mIoU_gain"))


def plot_section3(table: pd.DataFrame, out: Path) -> None:
    fig, (theory, measured) = plt.subplots(1, 2, figsize=(9, 3.4), sharex=True)
    for column, label in zip(NATS, ("removable, log(N/n)", "removed, log(N/(m+k))", "invalid, log((m+k)/k)",
                                      "lost, log(n/k)")):  # fmt: skip
        theory.plot(table["tau"], table[column], label=label)
    theory.set(xlabel="threshold τ", ylabel="nats per image (mean)", title="Section 3: information in the labels")
    theory.legend(fontsize=7)
    measured.plot(table["tau"], table["mIoU_gain"], "o-", ms=3, color="tab:green")
    measured.axhline(0, color="k", lw=0.8)
    measured.set(xlabel="threshold τ", ylabel="mIoU gain over no labels (points)", title="measured on test")
    save(fig, out)


def figure3(cache, baseline_path, ours_path, probabilities_path, tau: float, n_images: int, out: Path,
            precision: str = "auto", device: str = "cpu", threads: int = 1) -> None:  # fmt: skip
    """Rows: input, FCN-8s, ours (FCN-8s+generator with the classifier's labels at tau), ground truth;
    each network run on ``device`` (``resources.device``: a GPU job of its own in the workflow) in the
    precision its evaluation runs in (``resources.precision``)."""
    import torch

    from tagseg.core.runtime import setup

    from tagseg.data.voc import CachedSplit
    from tagseg.data.transforms import eval_preset, to_tensors
    from tagseg.sun2018.fusion import FUSIONS, threshold_labels
    from tagseg.core.metrics import class_argmax
    from tagseg.sun2018.classifier import read_predictions
    from tagseg.core.precision import resolve
    from tagseg.sun2018.network import fcn_family, load_fcn

    split = CachedSplit(cache)
    probabilities = read_predictions(probabilities_path, split.ids)
    device = setup(0, threads, device)
    baseline, _ = load_fcn(baseline_path, device)
    ours, _ = load_fcn(ours_path, device)
    base_precision = resolve(precision, device, fcn_family(baseline.variant_name))
    ours_precision = resolve(precision, device, fcn_family(ours.variant_name))
    palette = split.palette
    preset = eval_preset()
    indices = range(min(n_images, len(split)))
    fig, axes = plt.subplots(4, len(indices), figsize=(1.4 * len(indices), 5.8), squeeze=False)
    with torch.inference_mode():
        for column, i in enumerate(indices):
            sample = split[i]
            image, _ = preset(*to_tensors(sample.image, sample.mask))
            with base_precision.autocast():
                scores_base = baseline.fcn(image[None].to(device)).float().cpu()
            with ours_precision.autocast():
                scores_ours = ours.fcn(image[None].to(device)).float().cpu()
            labels = threshold_labels(probabilities[i : i + 1], tau)
            fused = FUSIONS[ours.variant.fusion or "dot"](scores_ours, labels)
            rows = (sample.image, palette[class_argmax(scores_base)[0].numpy()], palette[class_argmax(fused)[0].numpy()],
                    palette[sample.mask])  # fmt: skip
            for row, picture in enumerate(rows):
                axes[row, column].imshow(picture)
                axes[row, column].set_xticks([])
                axes[row, column].set_yticks([])
            axes[0, column].set_title(sample.image_id, fontsize=6)
    for row, name in enumerate(("input", "FCN-8s", f"ours (τ={tau:g})", "ground truth")):
        axes[row, 0].set_ylabel(name, fontsize=8)
    save(fig, out)


def plot_curves(logs: list[Path], out: Path, window: int = 10) -> None:
    """Segmentation loss against iteration, one line per model (mean over its seeds, smoothed).

    Logs are ``<arch>/<variant>/seed<k>/train_log.csv`` as the workflow writes them.
    """
    by_model: dict[str, list[pd.Series]] = {}
    for path in logs:
        frame = pd.read_csv(path)
        name = f"{path.parent.parent.parent.name}/{path.parent.parent.name}"
        by_model.setdefault(name, []).append(frame.set_index("iteration")["loss_seg"])
    if not by_model:
        raise ValueError("curves: no training logs given")
    fig, ax = plt.subplots(figsize=(6, 3.8))
    for name, runs in sorted(by_model.items()):
        mean = pd.concat(runs, axis=1).mean(axis=1).rolling(window, min_periods=1).mean()
        ax.plot(mean.index, mean.to_numpy(), lw=1, label=f"{name} ({len(runs)} seeds)")
    ax.set(xlabel="iteration", ylabel="L_seg (fused maps where the variant fuses)", yscale="log")
    ax.legend(fontsize=6, ncol=2)
    save(fig, out)


@command
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tagseg.reporting.figures_sun2018", description=__doc__.split("\n\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    fig4 = commands.add_parser("figure4", help="mIoU vs tau, baseline lines; CSV and PNG")
    fig4.add_argument(
        "--sweeps", nargs="+", type=Path, required=True, help="tagseg.sun2018.tau_sweep JSON, one per seed"
    )
    fig4.add_argument("--reference", nargs="*", type=Path, default=[], help="metrics JSON of FCN-32s+generator")
    fig4.add_argument("--csv", type=Path, required=True, help="CSV to write")
    fig4.add_argument("--png", type=Path, required=True, help="figure to write")
    sec3 = commands.add_parser("section3", help="n, m, k and nats vs tau beside the measured gain; CSV and PNG")
    sec3.add_argument(
        "--sweeps", nargs="+", type=Path, required=True, help="tagseg.sun2018.tau_sweep JSON, one per seed"
    )
    sec3.add_argument("--csv", type=Path, required=True, help="CSV to write")
    sec3.add_argument("--png", type=Path, required=True, help="figure to write")
    fig3 = commands.add_parser("figure3", help="example grid: input, FCN-8s, ours, ground truth")
    fig3.add_argument("--cache", required=True, help="cached pixel-labelled split")
    fig3.add_argument("--baseline", required=True, help="FCN-8s model.pt")
    fig3.add_argument("--ours", required=True, help="FCN-8s+generator model.pt")
    fig3.add_argument("--probabilities", required=True, help="classifier npz for the split")
    fig3.add_argument("--tau", type=float, required=True, help="threshold on the probabilities")
    fig3.add_argument("--images", type=int, default=6, help="the split's first N images")
    fig3.add_argument("--png", type=Path, required=True, help="figure to write")
    add_precision_argument(fig3)
    fig3.add_argument("--device", default="cpu", help="auto, cpu or cuda (resources.device)")
    fig3.add_argument("--threads", type=int, default=1, help="torch threads")
    curves = commands.add_parser("curves", help="training loss curves of the FCN models")
    curves.add_argument("--logs", nargs="+", type=Path, required=True, help="train_log.csv files")
    curves.add_argument("--png", type=Path, required=True, help="figure to write")
    args = parser.parse_args(argv)
    if args.command == "figure3":
        figure3(
            args.cache,
            args.baseline,
            args.ours,
            args.probabilities,
            args.tau,
            args.images,
            args.png,
            args.precision,
            args.device,
            args.threads,
        )
        return 0
    if args.command == "curves":
        plot_curves(args.logs, args.png)
        return 0
    if args.command == "figure4":
        table = figure4_table(read_results(args.sweeps), read_results(args.reference))
        io.write_csv(args.csv, table)
        plot_figure4(table, args.png)
    else:
        table = section3_table(read_results(args.sweeps))
        io.write_csv(args.csv, table)
        plot_section3(table, args.png)
    print(table.to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
