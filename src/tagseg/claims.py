"""Every experimental claim of the two papers, tested on our runs: effect, 95% interval, verdict.

A claim is one or more comparisons ``a - b`` of per-seed numbers (mIoU or a tag F1, in points).
Each comparison's effect is the mean over seeds of the paired difference ``a_s - b_s`` (both runs
of a seed share its data order and initialisation), with a Student-t 95% interval on ``n - 1``
degrees of freedom. The verdict rules, in :func:`verdict`:

- ``greater`` (a beats b): supported when the interval lies above 0, contradicted when it lies at
  or below 0, inconclusive when it straddles 0.
- ``equivalent`` (a equals b within ``margin`` points): supported when the interval lies inside
  (-margin, margin), contradicted when it lies wholly outside, inconclusive otherwise.

A claim of several comparisons ("(30, 30) is best") is supported when every comparison is,
contradicted when any is, inconclusive otherwise; its row reports the weakest comparison (the
lowest interval bound for ``greater``, the largest distance from 0 for ``equivalent``). One seed
gives no interval: inconclusive.

    python -m tagseg.claims table --results results --seeds 0 1 2 --tau 0.25 --t-tr 0 5 10 30 \\
        --t-ts 0 10 30 --csv results/tables/claims.csv --png results/figures/claims.png
    python -m tagseg.claims readme --csv results/tables/claims.csv --readme README.md
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Collection, Literal

import numpy as np
import pandas as pd

from tagseg.paper import FIGURE4, LUO_TABLES, TABLES

# Student t 0.975 quantiles, 1-30 degrees of freedom (seeds - 1); beyond, a Cornish-Fisher expansion.
_T975 = (
    12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281,
    2.2010, 2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860,
    2.0796, 2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423,
)  # fmt: skip
VERDICTS = ("supported", "contradicted", "inconclusive", "not run")


def t_quantile_975(df: int) -> float:
    """The 0.975 quantile of Student's t with ``df`` degrees of freedom."""
    if df < 1:
        raise ValueError(f"degrees of freedom: expected >= 1, got {df}")
    if df <= len(_T975):
        return _T975[df - 1]
    z = 1.959964
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


def paired_interval(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """Mean of ``a - b`` over paired seeds and its 95% t interval (NaN bounds with one seed)."""
    diff = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if diff.ndim != 1 or len(diff) == 0:
        raise ValueError(f"paired_interval: expected two equal-length 1-d arrays, got {np.shape(a)}, {np.shape(b)}")
    mean = float(diff.mean())
    if len(diff) < 2:
        return mean, math.nan, math.nan
    half = t_quantile_975(len(diff) - 1) * float(diff.std(ddof=1)) / math.sqrt(len(diff))
    return mean, mean - half, mean + half


def verdict(low: float, high: float, test: str, margin: float = 0.0) -> str:
    """The verdict on one comparison from its interval (module docstring)."""
    if math.isnan(low) or math.isnan(high):
        return "inconclusive"
    if test == "greater":
        return "supported" if low > 0 else "contradicted" if high <= 0 else "inconclusive"
    if test == "equivalent":
        if -margin < low and high < margin:
            return "supported"
        return "contradicted" if low >= margin or high <= -margin else "inconclusive"
    raise ValueError(f"claim test: expected 'greater' or 'equivalent', got {test!r}")


def combine(verdicts: list[str]) -> str:
    """A claim of several comparisons: all supported, or any contradicted, else inconclusive."""
    if all(v == "supported" for v in verdicts):
        return "supported"
    return "contradicted" if "contradicted" in verdicts else "inconclusive"


# --- what is measured: one number per seed, read from a result file -----------------------------


@dataclass(frozen=True)
class Measure:
    """One number per seed. ``kind`` says which result file and which entry:

    ``fcn``: a sun2018 model's mIoU on ``split`` (``labels``: truth or classifier at the configured tau);
    ``sweep``: Figure 4's network at threshold ``tau`` (None: its baseline without labels);
    ``interior_gain``: Figure 4's best interior threshold over the better end point (0 or 1);
    ``dis``: a DIS run's mIoU on ``split`` read out after ``t`` test steps;
    ``weak``: stage-1 inference on a weak pool after ``t`` steps: ``entry`` labelmap_mIoU, tags_f1,
    or weak_tags_f1 (the pool's own tags);
    ``zero``: the constant 0 (for claims about one quantity's sign).
    """

    kind: Literal["fcn", "sweep", "interior_gain", "dis", "weak", "zero"]
    name: str  # how the CSV names it
    arch: str = ""
    variant: str = ""
    split: str = ""
    labels: str = "truth"
    tau: float | None = None
    run: str = ""
    t: int = 0
    entry: str = ""
    paper: float | None = None  # the paper's value, points

    def path(self, results: Path, seed: int, tau: float) -> Path | None:
        if self.kind == "fcn":
            name = self.split if self.labels == "truth" else f"{self.split}.tau{tau:g}"
            return results / "metrics" / self.arch / self.variant / f"seed{seed}" / f"{name}.json"
        if self.kind in ("sweep", "interior_gain"):
            arch, variant, split = FIGURE4["arch"], FIGURE4["variant"], FIGURE4["split"]
            return results / "sweeps" / arch / variant / f"seed{seed}" / f"{split}.json"
        if self.kind == "dis":
            return results / "dis_metrics" / self.run / f"seed{seed}" / f"{self.split}.json"
        if self.kind == "weak":
            return results / "dis_weak" / "stage1" / f"seed{seed}" / f"{self.split}.json"
        return None

    def read(self, payload: dict | None) -> float:
        """The measure's value (points) from its file's JSON."""
        if self.kind == "zero":
            return 0.0
        if self.kind == "fcn":
            return 100.0 * payload["scores"]["mIoU"]
        if self.kind == "sweep":
            if self.tau is None:
                return 100.0 * payload["baseline"]["mIoU"]
            row = min(payload["rows"], key=lambda r: abs(r["tau"] - self.tau))
            if abs(row["tau"] - self.tau) > 1e-6:
                raise ValueError(f"sweep has no threshold {self.tau}")
            return 100.0 * row["mIoU"]
        if self.kind == "interior_gain":
            miou = {round(r["tau"], 6): r["mIoU"] for r in payload["rows"]}
            interior = [v for tau, v in miou.items() if 0 < tau < 1]
            return 100.0 * (max(interior) - max(miou[0.0], miou[1.0]))
        if self.kind == "dis":
            return 100.0 * payload["by_t_ts"][str(self.t)]["scores"]["mIoU"]
        if self.kind == "weak":
            if self.entry == "weak_tags_f1":
                return 100.0 * f1(payload["weak_tags"]["precision"], payload["weak_tags"]["recall"])
            step = payload["by_step"][str(self.t)]
            if self.entry == "labelmap_mIoU":
                return 100.0 * step["labelmap_scores"]["mIoU"]
            return 100.0 * f1(step["tags_precision"], step["tags_recall"])
        raise ValueError(f"measure kind: {self.kind!r}")

    def available(self, t_tr: list[int], t_ts: list[int], splits: Collection[str] | None = None) -> bool:
        """Whether the configured grids produce this measure (and the data has its split, when ``splits`` is given)."""
        if splits is not None and self.split and self.split not in splits:
            return False
        if self.kind == "dis":
            return (self.run == "stage1" or int(self.run[3:]) in t_tr) and self.t in t_ts
        if self.kind == "weak":
            return self.t in t_tr
        return True


def f1(precision: float, recall: float) -> float:
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


@dataclass(frozen=True)
class Claim:
    id: str
    paper: str  # sun2018 | luo2017
    where: str  # table, figure or section
    statement: str
    test: Literal["greater", "equivalent"]
    comparisons: tuple[tuple[Measure, Measure], ...]  # each a - b
    margin: float = 0.0  # equivalence margin, points
    metric: str = "mIoU"
    note: str = ""

    @property
    def comparison_text(self) -> str:
        sign = " > " if self.test == "greater" else " ≈ "
        text = "; ".join(f"{a.name}{sign}{b.name}" for a, b in self.comparisons)
        return text + (f" (within ±{self.margin:g})" if self.test == "equivalent" else "")

    def paper_effect(self) -> float | None:
        effects = [a.paper - b.paper for a, b in self.comparisons if a.paper is not None and b.paper is not None]
        if len(effects) != len(self.comparisons):
            return None
        return min(effects) if self.test == "greater" else max(effects, key=abs)


# --- the claims ---------------------------------------------------------------------------------


def _sun(table: str, label: str) -> float:
    row = next(row for row in TABLES[table].rows if row.label == label)
    return row.values[TABLES[table].columns.index("mIoU")]


def _fcn(table: str, label: str, split: str | None = None) -> Measure:
    row = next(row for row in TABLES[table].rows if row.label == label)
    return Measure("fcn", label + (" (classifier labels)" if row.labels == "classifier" else ""),
                   arch=row.arch, variant=row.variant, split=split or TABLES[table].split, labels=row.labels,
                   paper=_sun(table, label))  # fmt: skip


def _dis(table: str, run: str, t: int) -> Measure:
    rows = [row for row in LUO_TABLES[table].rows if row.run == run and row.t_ts == t]
    paper = rows[0].values[-1] if rows else None
    name = "baseline" if run == "stage1" else f"({run[3:]}, {t})"
    return Measure("dis", f"{name} {LUO_TABLES[table].split}", split=LUO_TABLES[table].split, run=run, t=t, paper=paper)


def _weak(pool: str, entry: str, t: int = 0) -> Measure:
    name = {"labelmap_mIoU": f"L^w mIoU t={t}", "tags_f1": f"inferred tags F1 t={t}", "weak_tags_f1": "weak tags F1"}
    return Measure("weak", f"{name[entry]} ({pool})", split=pool, t=t, entry=entry)


ZERO = Measure("zero", "0", paper=0.0)


def _sweep(tau: float | None) -> Measure:
    return Measure("sweep", "no labels" if tau is None else f"tau={tau:g}", tau=tau)


def known_claims(t_tr: list[int], t_ts: list[int], tau: float = 0.25, margin: float = 1.0) -> list[Claim]:
    """Every claim the code knows; ``t_tr``/``t_ts`` are the configured grids (the largest is the paper's 30),
    ``tau`` the configured threshold of the classifier's labels (the paper's 0.25)."""
    hi_tr = max(t_tr)
    hi_ts = max(t_ts)
    mid_tr = sorted(t for t in t_tr if 0 < t < hi_tr)
    grid = [(tr, ts) for tr in t_tr if tr > 0 for ts in t_ts]
    t1, t2, t3, t4 = "sun2018_table1", "sun2018_table2", "sun2018_table3", "sun2018_table4"
    base32 = _fcn(t1, "FCN-32s")
    claims = [
        Claim("S1", "sun2018", "Table 1", "Fusing ground-truth image labels beats FCN-32s.", "greater",
              ((_fcn(t1, "FCN-32s+image label"), base32),)),
        Claim("S2", "sun2018", "Table 1", "The generator's reconstruction loss improves FCN-32s.", "greater",
              ((_fcn(t1, "FCN-32s+generator"), base32),)),
        Claim("S3", "sun2018", "Table 1", "The generator also helps when labels are fused.", "greater",
              ((_fcn(t1, "FCN-32s+label+gen"), _fcn(t1, "FCN-32s+image label")),)),
        Claim("S4", "sun2018", "Table 1", "Labels plus generator is the best of the four.", "greater",
              tuple((_fcn(t1, "FCN-32s+label+gen"), _fcn(t1, other))
                    for other in ("FCN-32s", "FCN-32s+image label", "FCN-32s+generator"))),
        Claim("S5", "sun2018", "Table 2", "A generator (reconstruction) beats a discriminator as the auxiliary loss.",
              "greater", ((_fcn(t2, "FCN-32s+gen"), _fcn(t2, "FCN-32s+dis")),)),
        Claim("S6", "sun2018", "Table 2", "The discriminator's auxiliary loss improves FCN-32s.", "greater",
              ((_fcn(t2, "FCN-32s+dis"), base32),)),
        Claim("S7", "sun2018", "Table 3", "Fusion by dot product beats fusion by addition.", "greater",
              ((_fcn(t3, "FCN-32s+image label (dot product)"), _fcn(t3, "FCN-32s+image label (addition)")),)),
        Claim("S8", "sun2018", "Table 3", "Fusion by addition still beats FCN-32s.", "greater",
              ((_fcn(t3, "FCN-32s+image label (addition)"), base32),)),
        Claim("S9", "sun2018", "Figure 4", "At tau = 0 (every label kept) the fused network equals its baseline.",
              "equivalent", ((_sweep(0.0), _sweep(None)),), margin=margin),
        Claim("S10", "sun2018", "Figure 4", f"Classifier labels at a middle threshold (tau = {tau:g}) beat the baseline.",
              "greater", ((_sweep(tau), _sweep(None)),)),
        Claim("S11", "sun2018", "Figure 4", "As tau approaches 1 the fused network falls below its baseline.",
              "greater", ((_sweep(None), _sweep(1.0)),)),
        Claim("S12", "sun2018", "Figure 4", "The best threshold is interior (0 < tau < 1).", "greater",
              ((Measure("interior_gain", "best interior tau over max(tau=0, tau=1)"), ZERO),)),
        Claim("S13", "sun2018", "Table 4", "FCN-8s beats FCN-32s.", "greater",
              ((_fcn(t4, "FCN-8s"), _fcn(t4, "FCN-32s")),)),
    ]
    for arch in ("FCN-32s", "FCN-8s"):
        n = len(claims) + 1
        claims += [
            Claim(f"S{n}", "sun2018", "Table 4", f"{arch} gains from the classifier's labels.", "greater",
                  ((_fcn(t4, f"{arch}+image label"), _fcn(t4, arch)),)),
            Claim(f"S{n + 1}", "sun2018", "Table 4", f"{arch} gains from the generator.", "greater",
                  ((_fcn(t4, f"{arch}+generator"), _fcn(t4, arch)),)),
            Claim(f"S{n + 2}", "sun2018", "Table 4", f"{arch} with generator gains further from the classifier's labels.",
                  "greater", ((_fcn(t4, f"{arch}+image label+generator"), _fcn(t4, f"{arch}+generator")),)),
        ]
    t3l, t5l = "luo2017_table3", "luo2017_table5"
    claims += [
        Claim("L1", "luo2017", "Table 3", "Semi-supervised training with t_tr = 0 beats the ResNet101 baseline.", "greater",
              ((_dis(t3l, "ttr0", 0), _dis(t3l, "stage1", 0)),)),
        *[Claim(f"L2.{tr}", "luo2017", "Table 3", f"Inference in training helps: t_tr = {tr} beats t_tr = 0 (t_ts = 0).",
                "greater", ((_dis(t3l, f"ttr{tr}", 0), _dis(t3l, "ttr0", 0)),)) for tr in t_tr if tr > 0],
        *[Claim(f"L3.{tr}", "luo2017", "Table 3", f"More inference in test helps at t_tr = {tr}: t_ts = {hi_ts} beats t_ts = 0.",
                "greater", ((_dis(t3l, f"ttr{tr}", hi_ts), _dis(t3l, f"ttr{tr}", 0)),)) for tr in t_tr if tr > 0],
        *[Claim(f"L4.{ts}", "luo2017", "Table 3",
                f"More inference in training helps at t_ts = {ts}: t_tr = {hi_tr} beats t_tr = {min(t for t in t_tr if t > 0)}.",
                "greater", ((_dis(t3l, f"ttr{hi_tr}", ts), _dis(t3l, f"ttr{min(t for t in t_tr if t > 0)}", ts)),))
          for ts in t_ts if hi_tr > min(t for t in t_tr if t > 0)],
        Claim("L5", "luo2017", "Table 3", f"({hi_tr}, {hi_ts}) is the best setup of the grid.", "greater",
              tuple((_dis(t3l, f"ttr{hi_tr}", hi_ts), _dis(t3l, f"ttr{tr}", ts))
                    for tr, ts in [(0, 0), *grid] if (tr, ts) != (hi_tr, hi_ts))),
        Claim("L6", "luo2017", "Table 3",
              f"Inference in training can replace inference in test: ({hi_tr}, 0) matches "
              + ", ".join(f"({tr}, {hi_ts})" for tr in mid_tr) + ".", "equivalent",
              tuple((_dis(t3l, f"ttr{hi_tr}", 0), _dis(t3l, f"ttr{tr}", hi_ts)) for tr in mid_tr), margin=margin),
        Claim("L7", "luo2017", "Section 3.1", "Inference cleans noisy tags: the inferred tags match the clean ones better "
              "than the noisy tags do (F1).", "greater",
              ((_weak("weak_noisy", "tags_f1", hi_tr), _weak("weak_noisy", "weak_tags_f1")),), metric="tag F1"),
        Claim("L8", "luo2017", "Section 3.1", f"Inference improves the inferred tags: t = {hi_tr} over t = 0 (F1, noisy pool).",
              "greater", ((_weak("weak_noisy", "tags_f1", hi_tr), _weak("weak_noisy", "tags_f1", 0)),), metric="tag F1"),
        *[Claim(f"L9.{pool}", "luo2017", "Figure 4", f"The inferred labelmaps L^w improve with t ({pool} pool, withheld masks).",
                "greater", ((_weak(pool, "labelmap_mIoU", hi_tr), _weak(pool, "labelmap_mIoU", 0)),))
          for pool in ("weak_clean", "weak_noisy")],
        Claim("L10", "luo2017", "Table 5", "Noisy-tag test: t_tr = 0 beats the ResNet101 baseline.", "greater",
              ((_dis(t5l, "ttr0", 0), _dis(t5l, "stage1", 0)),)),
        Claim("L11", "luo2017", "Table 5", f"Noisy-tag test: inference in training helps (t_tr = {hi_tr} over 0, t_ts = 0).",
              "greater", ((_dis(t5l, f"ttr{hi_tr}", 0), _dis(t5l, "ttr0", 0)),)),
        Claim("L12", "luo2017", "Table 5", f"Noisy-tag test: more inference in test helps at t_tr = {hi_tr}.", "greater",
              ((_dis(t5l, f"ttr{hi_tr}", hi_ts), _dis(t5l, f"ttr{hi_tr}", 0)),)),
        Claim("L13", "luo2017", "Table 5", f"Noisy-tag test: ({hi_tr}, {hi_ts}) is the best setup.", "greater",
              tuple((_dis(t5l, f"ttr{hi_tr}", hi_ts), _dis(t5l, f"ttr{tr}", ts))
                    for tr, ts in [(0, 0), *grid] if (tr, ts) != (hi_tr, hi_ts))),
    ]
    return [claim for claim in claims if claim.comparisons]


# --- evaluation ---------------------------------------------------------------------------------


@dataclass
class Evaluation:
    claim: Claim
    effect: float = math.nan
    low: float = math.nan
    high: float = math.nan
    seeds: int = 0
    verdict: str = "not run"
    per_comparison: list[tuple[float, float, float, str]] = field(default_factory=list)


def required_files(claims: list[Claim], results: Path, seeds: list[int], tau: float,
                   t_tr: list[int], t_ts: list[int], splits: Collection[str] | None = None) -> list[Path]:  # fmt: skip
    """The result files the claims read (for the rule's input), those of runs the grids do not produce left out."""
    paths = []
    for claim in claims:
        for measure in {m for pair in claim.comparisons for m in pair}:
            if measure.available(t_tr, t_ts, splits):
                paths += [p for seed in seeds if (p := measure.path(results, seed, tau)) is not None]
    return sorted(set(paths))


def evaluate(claim: Claim, results: Path, seeds: list[int], tau: float, t_tr: list[int], t_ts: list[int],
             cache: dict[Path, dict] | None = None, splits: Collection[str] | None = None) -> Evaluation:  # fmt: skip
    """Effect, interval and verdict of one claim from the result files."""
    out = Evaluation(claim)
    if not all(m.available(t_tr, t_ts, splits) for pair in claim.comparisons for m in pair):
        return out
    cache = {} if cache is None else cache

    def values(measure: Measure) -> np.ndarray:
        per_seed = []
        for seed in seeds:
            path = measure.path(results, seed, tau)
            if path is not None and path not in cache:
                try:
                    cache[path] = json.loads(path.read_text())
                except FileNotFoundError:
                    raise FileNotFoundError(f"{path}: missing, needed by claim {claim.id}") from None
                except json.JSONDecodeError as error:
                    raise ValueError(f"{path}: not JSON ({error})") from None
            per_seed.append(measure.read(cache.get(path)))
        return np.array(per_seed)

    for a, b in claim.comparisons:
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
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp.png")
    fig.savefig(tmp, dpi=120, metadata={"Software": None})
    plt.close(fig)
    tmp.replace(out)


# --- README section ----------------------------------------------------------------------------

README_START = "<!-- claims:start (generated by python -m tagseg.claims readme; do not edit by hand) -->"
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
        "| id | where | claim | paper | ours (95% CI) | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for row in table.itertuples():
        paper = "" if pd.isna(row.paper_effect) else f"{row.paper_effect:+.1f}"
        ours = "" if pd.isna(row.effect) else f"{row.effect:+.1f}"
        if pd.notna(row.ci_low):
            ours += f" [{row.ci_low:+.1f}, {row.ci_high:+.1f}]"
        lines.append(f"| {row.id} | {row.paper} {row.where} | {row.statement} | {paper} | {ours} | {row.verdict} |")
    lines.append(README_END)
    return "\n".join(lines)


def update_readme(readme: Path, section: str, start: str = README_START, end: str = README_END) -> None:
    """Replace what lies between the ``start`` and ``end`` markers (``section`` holds them both)."""
    text = readme.read_text()
    if start not in text or end not in text:
        raise ValueError(f"{readme}: no '{start}' ... '{end}' markers to replace")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    tmp = readme.with_name(f".{readme.name}.tmp")
    tmp.write_text(head + section + tail)
    tmp.replace(readme)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tagseg.claims", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    table = sub.add_parser("table", help="claims.csv and its figure from the result files")
    table.add_argument("--results", type=Path, default=Path("results"))
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
    try:
        if args.command == "table":
            claims = known_claims(args.t_tr, args.t_ts, args.tau, args.margin)
            cache: dict[Path, dict] = {}
            frame = claims_table([evaluate(c, args.results, args.seeds, args.tau, args.t_tr, args.t_ts, cache,
                                           args.splits) for c in claims])  # fmt: skip
            args.csv.parent.mkdir(parents=True, exist_ok=True)
            tmp = args.csv.with_name(f".{args.csv.name}.tmp")
            frame.to_csv(tmp, index=False)
            tmp.replace(args.csv)
            if args.png:
                plot_claims(frame, args.png)
            print(frame["verdict"].value_counts().to_string(), file=sys.stderr)
        else:
            update_readme(args.readme, readme_section(pd.read_csv(args.csv)))
    except (OSError, ValueError, KeyError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
