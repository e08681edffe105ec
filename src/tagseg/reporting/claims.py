"""Every experimental claim of the two papers, tested on our runs: effect, 95% interval, verdict.

A claim is one or more comparisons ``a - b`` of per-seed numbers (mIoU or a tag F1, in points).
Each comparison's effect is the mean over seeds of the paired difference ``a_s - b_s`` (both runs
of a seed share its data order and initialisation), with a Student-t 95% interval on ``n - 1``
degrees of freedom. The verdict rules, in :func:`tagseg.reporting.stats.verdict`:

- ``greater`` (a beats b): supported when the interval lies above 0, contradicted when it lies at
  or below 0, inconclusive when it straddles 0.
- ``equivalent`` (a equals b within ``margin`` points): supported when the interval lies inside
  (-margin, margin), contradicted when it lies wholly outside, inconclusive otherwise.

A claim of several comparisons ("(30, 30) is best") is supported when every comparison is,
contradicted when any is, inconclusive otherwise; its row reports the weakest comparison (the
lowest interval bound for ``greater``, the largest distance from 0 for ``equivalent``). One seed
gives no interval: inconclusive. Where the paper's baseline had less training than the method
(sun2018's auxiliary variants update the FCN twice per iteration; luo2017's stage 2 trains on after
stage 1), the claim is judged a second time, by the same rules, against a compute-matched control
(the ``control_*`` columns); both verdicts are shown and neither replaces the other.

    python -m tagseg.reporting.claims table --seeds 0 1 2 --tau 0.25 --t-tr 0 5 10 30 --t-ts 0 10 30 \\
        --source fcn/fcn32s/base/val results/metrics/fcn32s/base/seed{0,1,2}/val.json ... \\
        --csv results/tables/claims.csv --png results/figures/claims.png
    python -m tagseg.reporting.claims readme --csv results/tables/claims.csv --readme README.md
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Collection

import numpy as np
import pandas as pd

from tagseg.core import io
from tagseg.core.cli import command
from tagseg.reporting.claims_catalogue import Claim, Measure, known_claims
from tagseg.reporting.readme import replace_section
from tagseg.reporting.stats import combine, paired_interval, verdict

VERDICTS = ("supported", "contradicted", "inconclusive", "not run")


@dataclass
class Evaluation:
    claim: Claim
    effect: float = math.nan
    low: float = math.nan
    high: float = math.nan
    seeds: int = 0
    verdict: str = "not run"
    per_comparison: list[tuple[float, float, float, str]] = field(default_factory=list)
    control: Evaluation | None = None  # the claim judged against its compute-matched controls


Sources = dict[str, list[Path]]  # a measure's source name -> its result files, one per seed, in seed order


def evaluate(claim: Claim, sources: Sources, seeds: list[int], t_tr: list[int], t_ts: list[int],
             cache: dict[Path, dict] | None = None, splits: Collection[str] | None = None) -> Evaluation:  # fmt: skip
    """Effect, interval and verdict of one claim from its measures' result files, and against its controls
    where it has them; "not run" when the configured grids or the data's splits do not produce one of its
    measures."""
    cache = {} if cache is None else cache
    out = _judge(claim, claim.comparisons, sources, seeds, t_tr, t_ts, cache, splits)
    if claim.controls:
        out.control = _judge(claim, claim.controls, sources, seeds, t_tr, t_ts, cache, splits)
    return out


def _judge(claim: Claim, comparisons, sources: Sources, seeds: list[int], t_tr: list[int], t_ts: list[int],
           cache: dict[Path, dict], splits: Collection[str] | None) -> Evaluation:  # fmt: skip
    out = Evaluation(claim)
    if not all(m.available(t_tr, t_ts, splits) for pair in comparisons for m in pair):
        return out

    def values(measure: Measure) -> np.ndarray:
        if measure.source is None:
            return np.array([measure.read(None) for _ in seeds])
        files = sources.get(measure.source)
        if files is None:
            raise ValueError(f"claim {claim.id}: no --source {measure.source} given")
        if len(files) != len(seeds):
            raise ValueError(f"--source {measure.source}: {len(files)} files for {len(seeds)} seeds")
        per_seed = []
        for path in files:
            if path not in cache:
                try:
                    cache[path] = json.loads(path.read_text())
                except FileNotFoundError:
                    raise FileNotFoundError(f"{path}: missing, needed by claim {claim.id}") from None
                except json.JSONDecodeError as error:
                    raise ValueError(f"{path}: not JSON ({error})") from None
            per_seed.append(measure.read(cache[path]))
        return np.array(per_seed)

    for a, b in comparisons:
        mean, low, high = paired_interval(values(a), values(b))
        out.per_comparison.append((mean, low, high, verdict(low, high, claim.test, claim.margin)))
    if claim.test == "greater":
        weakest = min(out.per_comparison, key=lambda c: (c[1] if not math.isnan(c[1]) else c[0]))
    else:
        weakest = max(out.per_comparison, key=lambda c: max(abs(c[0]), abs(c[1]) if not math.isnan(c[1]) else 0,
                                                            abs(c[2]) if not math.isnan(c[2]) else 0))
    out.effect, out.low, out.high = weakest[:3]
    out.seeds = len(seeds)
    out.verdict = combine([c[3] for c in out.per_comparison])
    return out


def claims_table(evaluations: list[Evaluation]) -> pd.DataFrame:
    records = []
    for ev in evaluations:
        claim = ev.claim
        paper_effect = claim.paper_effect()
        records.append({
            "id": claim.id, "paper": claim.paper, "where": claim.where, "statement": claim.statement,
            "comparison": claim.comparison_text, "metric": claim.metric, "test": claim.test,
            "margin": claim.margin if claim.test == "equivalent" else None,
            "paper_effect": None if paper_effect is None else round(paper_effect, 2),
            "effect": _round(ev.effect), "ci_low": _round(ev.low), "ci_high": _round(ev.high),
            "seeds": ev.seeds, "verdict": ev.verdict,
            "control_comparison": claim.control_text or None,
            "control_effect": _round(ev.control.effect) if ev.control else None,
            "control_ci_low": _round(ev.control.low) if ev.control else None,
            "control_ci_high": _round(ev.control.high) if ev.control else None,
            "control_verdict": ev.control.verdict if ev.control else None,
            "note": claim.note or None,
        })  # fmt: skip
    return pd.DataFrame.from_records(records)


def _round(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 2)


def plot_claims(table: pd.DataFrame, out: Path) -> None:
    """Effect with its 95% interval per claim (points), the paper's effect marked, coloured by verdict."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = {"supported": "tab:green", "contradicted": "tab:red", "inconclusive": "tab:gray", "not run": "white"}
    rows = table.iloc[::-1].reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(8, 0.28 * len(rows) + 1.2))
    for y, row in rows.iterrows():
        colour = colours[row["verdict"]]
        if pd.notna(row["ci_low"]):
            ax.plot([row["ci_low"], row["ci_high"]], [y, y], color=colour, lw=2)
        if pd.notna(row["effect"]):
            ax.plot(row["effect"], y, "o", color=colour, ms=5)
        if pd.notna(row["paper_effect"]):
            ax.plot(row["paper_effect"], y, "x", color="black", ms=5)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(range(len(rows)), [f"{r.id} {r.where}" for r in rows.itertuples()], fontsize=7)
    ax.set_xlabel("effect, points (ours: dot and 95% interval; x: paper)")
    handles = [plt.Line2D([], [], color=c, marker="o", lw=2, label=v) for v, c in colours.items() if v != "not run"]
    handles.append(plt.Line2D([], [], color="black", marker="x", lw=0, label="paper"))
    ax.legend(handles=handles, fontsize=7, loc="lower right")
    fig.tight_layout()
    io.save_figure(out, fig, dpi=120, metadata={"Software": None})


README_START = "<!-- claims:start (generated by python -m tagseg.reporting.claims readme; do not edit by hand) -->"
README_END = "<!-- claims:end -->"


def readme_section(table: pd.DataFrame) -> str:
    """The README's "What reproduces" body, from claims.csv."""
    counts = table["verdict"].value_counts()
    seeds = int(table["seeds"].max()) if len(table) else 0
    lines = [
        README_START,
        f"From `results/tables/claims.csv` ({seeds} seeds; effects in points, ours with a 95% interval): "
        + ", ".join(f"{int(counts.get(v, 0))} {v}" for v in VERDICTS if counts.get(v, 0)) + ".",
        "",
        "| id | where | claim | paper | ours (95% CI) | verdict | against the control (95% CI) |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in table.itertuples():
        paper = "" if pd.isna(row.paper_effect) else f"{row.paper_effect:+.1f}"
        ours = "" if pd.isna(row.effect) else f"{row.effect:+.1f}"
        if pd.notna(row.ci_low):
            ours += f" [{row.ci_low:+.1f}, {row.ci_high:+.1f}]"
        control = ""
        if "control_verdict" in table and pd.notna(row.control_verdict):
            control = "" if pd.isna(row.control_effect) else f"{row.control_effect:+.1f}"
            if pd.notna(row.control_ci_low):
                control += f" [{row.control_ci_low:+.1f}, {row.control_ci_high:+.1f}]"
            control = f"{control} {row.control_verdict}".strip()
        lines.append(f"| {row.id} | {row.paper} {row.where} | {row.statement} | {paper} | {ours} | {row.verdict} | {control} |")
    lines.append(README_END)
    return "\n".join(lines)


@command
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tagseg.reporting.claims", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    table = sub.add_parser("table", help="claims.csv and its figure from the result files")
    table.add_argument("--source", nargs="+", action="append", default=[], metavar=("NAME", "FILE"),
                       help="a measure's source (tagseg.reporting.claims_catalogue.Measure.source) and its result "
                            "files, one per seed in --seeds order (repeat)")  # fmt: skip
    table.add_argument("--seeds", type=int, nargs="+", required=True)
    table.add_argument("--tau", type=float, required=True, help="sun2018.tau: the classifier labels' threshold")
    table.add_argument("--t-tr", type=int, nargs="+", required=True)
    table.add_argument("--t-ts", type=int, nargs="+", required=True)
    table.add_argument("--margin", type=float, default=1.0, help="equivalence margin, points")
    table.add_argument("--splits", nargs="+", help="the splits the data has (default: all); claims on others are 'not run'")
    table.add_argument("--csv", type=Path, required=True)
    table.add_argument("--png", type=Path)
    readme = sub.add_parser("readme", help="rewrite the README's generated 'What reproduces' section")
    readme.add_argument("--csv", type=Path, required=True)
    readme.add_argument("--readme", type=Path, default=Path("README.md"))
    args = parser.parse_args(argv)
    if args.command == "readme":
        replace_section(args.readme, readme_section(pd.read_csv(args.csv)), README_START, README_END)
        return 0
    sources = {name: [Path(f) for f in files] for name, *files in args.source}
    claims = known_claims(args.t_tr, args.t_ts, args.tau, args.margin)
    cache: dict[Path, dict] = {}
    frame = claims_table([evaluate(c, sources, args.seeds, args.t_tr, args.t_ts, cache, args.splits) for c in claims])
    io.write_csv(args.csv, frame)
    if args.png:
        plot_claims(frame, args.png)
    print(frame["verdict"].value_counts().to_string(), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
