"""Every experimental claim of the two papers, tested on our runs: effect, intervals, verdicts, power.

A claim is one or more comparisons ``a - b`` of per-seed numbers (mIoU or a tag F1, in points).
Each comparison's effect is the mean over seeds of the paired difference ``a_s - b_s`` (both runs
of a seed share its data order and initialisation). Its 95% interval counts two sources of
variance, the seeds and the choice of test images (a bootstrap over the test images, shared by
every seed and both arms, added to the seeds' variance: tagseg.reporting.stats); the seed-only
interval is reported beside it. The verdicts (tagseg.reporting.stats has the rules):

- raw: supported, contradicted or inconclusive from the claim's own test (each direction at
  0.025); a claim of several comparisons is an intersection-union test (supported when all are),
  contradicted only with a Bonferroni correction over its comparisons;
- Holm: the same, with Holm's step-down over each paper's family of tested claims and controls;
- "not testable here" where a claim's precondition (claims_catalogue: measured on val) fails: the
  measured value is shown beside the required one, and the claim leaves the family.

Sanity checks (true by construction) are judged by the same rules, outside the families. Where the
paper's baseline had less training than the method (sun2018's auxiliary variants update the FCN
twice per iteration; luo2017's stage 2 trains on after stage 1), the claim is judged a second time
against a compute-matched control (the ``control_*`` columns). For every judged claim,
``detectable_effect`` is the smallest effect it would have found with 80% power, and
``seeds_needed`` the seeds that would bring that to the margin (equivalence) or to the paper's
effect (greater).

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
from tagseg.reporting import stats
from tagseg.reporting.claims_catalogue import BY_DESIGN_NOTE, Claim, Measure, Precondition, known_claims
from tagseg.reporting.readme import RESULTS_END, RESULTS_START, replace_sections, results_section, seeds_named

NOT_TESTABLE = "not testable here"
VERDICTS = ("supported", "contradicted", "inconclusive", NOT_TESTABLE, "not run")
BOOTSTRAP_DRAWS = 2000
BOOTSTRAP_SEED = 0


@dataclass
class Judgement:
    """A set of comparisons judged together: each one's estimate, the claim's p-values and verdicts."""

    estimates: list[stats.Estimate]
    reported: int  # the weakest comparison, whose effect and intervals the row shows
    p_support: float
    p_contradict: float
    verdict: str
    detectable: float
    seeds_needed: int | None
    p_holm: float = math.nan
    verdict_holm: str = ""

    @property
    def p_value(self) -> float:
        return stats.two_sided(self.p_support, self.p_contradict)


@dataclass
class Evaluation:
    claim: Claim
    seeds: int = 0
    main: Judgement | None = None
    control: Judgement | None = None  # the claim judged against its compute-matched controls
    precondition_measured: float = math.nan
    testable: bool = True
    notes: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        if self.main is None:
            return "not run"
        return self.main.verdict if self.testable else NOT_TESTABLE

    @property
    def verdict_holm(self) -> str:
        if self.main is None:
            return "not run"
        return (self.main.verdict_holm or self.main.verdict) if self.testable else NOT_TESTABLE

    @property
    def effect(self) -> float:
        return math.nan if self.main is None else self.main.estimates[self.main.reported].effect


Sources = dict[str, list[Path]]  # a measure's source name -> its result files, one per seed, in seed order


class Reader:
    """Result files, each read once, and the bootstrap's draws of each test set, made once per set of
    images (every claim on a split resamples it the same way)."""

    def __init__(self, sources: Sources, seeds: list[int], draws: int = BOOTSTRAP_DRAWS, seed: int = BOOTSTRAP_SEED):
        self.sources, self.seeds, self.draws, self.seed = sources, seeds, draws, seed
        self.cache: dict[Path, dict] = {}
        self.weights: dict[tuple[str, ...], np.ndarray] = {}

    def payloads(self, measure: Measure, claim: Claim) -> list[dict | None]:
        if measure.source is None:
            return [None for _ in self.seeds]
        files = self.sources.get(measure.source)
        if files is None:
            raise ValueError(f"claim {claim.id}: no --source {measure.source} given")
        if len(files) != len(self.seeds):
            raise ValueError(f"--source {measure.source}: {len(files)} files for {len(self.seeds)} seeds")
        out = []
        for path in files:
            if path not in self.cache:
                try:
                    self.cache[path] = json.loads(path.read_text())
                except FileNotFoundError:
                    raise FileNotFoundError(f"{path}: missing, needed by claim {claim.id}") from None
                except json.JSONDecodeError as error:
                    raise ValueError(f"{path}: not JSON ({error})") from None
            out.append(self.cache[path])
        return out

    def draw(self, ids: tuple[str, ...]) -> np.ndarray:
        """(draws, n) counts: how often each of the test set's n images is drawn in each resample."""
        if ids not in self.weights:
            n = len(ids)
            rng = np.random.default_rng([self.seed, n])
            self.weights[ids] = rng.multinomial(n, np.full(n, 1.0 / n), size=self.draws).astype(np.float64)
        return self.weights[ids]


def evaluate(claim: Claim, sources: Sources | Reader, seeds: list[int], t_tr: list[int], t_ts: list[int],
             splits: Collection[str] | None = None) -> Evaluation:  # fmt: skip
    """A claim's comparisons, controls and precondition from its measures' result files; "not run" when
    the configured grids or the data's splits do not produce one of its measures. Holm's adjustment
    needs the whole family: :func:`adjust`."""
    reader = sources if isinstance(sources, Reader) else Reader(sources, seeds)
    out = Evaluation(claim)
    out.main = _judge(claim, claim.comparisons, reader, t_tr, t_ts, splits)
    if out.main is None:
        return out
    out.seeds = len(seeds)
    if claim.controls:
        out.control = _judge(claim, claim.controls, reader, t_tr, t_ts, splits)
    if claim.precondition is not None:
        out.precondition_measured = _precondition(claim, claim.precondition, reader, splits)
        out.testable = out.precondition_measured >= claim.precondition.required  # NaN: not measured, not met
    return out


def _precondition(claim: Claim, precondition: Precondition, reader: Reader, splits: Collection[str] | None) -> float:
    """The precondition's measure, mean over seeds (NaN where it cannot be measured)."""
    if not precondition.measure.available([], [], splits):
        return math.nan
    values = [precondition.measure.read(payload) for payload in reader.payloads(precondition.measure, claim)]
    return float(np.mean(values))


def _judge(claim: Claim, comparisons, reader: Reader, t_tr: list[int], t_ts: list[int],
           splits: Collection[str] | None) -> Judgement | None:  # fmt: skip
    if not all(m.available(t_tr, t_ts, splits) for pair in comparisons for m in pair):
        return None
    estimates = []
    for a, b in comparisons:
        pa, pb = reader.payloads(a, claim), reader.payloads(b, claim)
        per_seed = np.array([a.read(x) - b.read(y) for x, y in zip(pa, pb)])
        resampled = []
        for x, y in zip(pa, pb):
            ids = _images(claim, a, x, b, y)
            weights = reader.draw(ids)
            resampled.append(a.resample(x, weights) - b.resample(y, weights))
        estimates.append(stats.estimate(per_seed, np.stack(resampled, axis=1)))
    if claim.test == "greater":
        reported = min(range(len(estimates)), key=lambda i: _low_or_effect(estimates[i]))
    else:
        reported = max(range(len(estimates)), key=lambda i: _distance(estimates[i]))
    p_support, p_contradict = stats.p_values(estimates, claim.test, claim.margin)
    detectable = max(stats.detectable_effect(e, claim.test) for e in estimates)
    return Judgement(estimates, reported, p_support, p_contradict, stats.verdict(p_support, p_contradict),
                     detectable, _seeds_needed(claim, comparisons, estimates))  # fmt: skip


def _images(claim: Claim, a: Measure, x: dict | None, b: Measure, y: dict | None) -> tuple[str, ...]:
    """The test images both arms were scored on (the same, in the same order, or the comparison is unpaired)."""
    ids = [tuple(_image_ids(p)) for p in (x, y) if p is not None]
    if not ids:
        raise ValueError(f"claim {claim.id}: compares two constants")
    if len(ids) == 2 and ids[0] != ids[1]:
        raise ValueError(f"claim {claim.id}: {a.name} and {b.name} were scored on different images")
    return ids[0]


def _image_ids(payload: dict) -> list[str]:
    ids = payload.get("image_ids")
    if ids is None:
        raise ValueError(f"{payload.get('split', 'a result file')}: no image_ids; written by an older version of its "
                         "evaluation, which must be run again")  # fmt: skip
    return ids


def _low_or_effect(est: stats.Estimate) -> float:
    low, _ = est.interval()
    return est.effect if math.isnan(low) else low


def _distance(est: stats.Estimate) -> float:
    low, high = est.interval()
    return max(abs(est.effect), 0 if math.isnan(low) else abs(low), 0 if math.isnan(high) else abs(high))


def _seeds_needed(claim: Claim, comparisons, estimates: list[stats.Estimate]) -> int | None:
    """Seeds for every comparison's detectable effect to reach the margin (equivalence) or the paper's
    effect (greater); None where the paper gives no positive effect or no number of seeds would do."""
    needed = []
    for (a, b), est in zip(comparisons, estimates):
        if claim.test == "equivalent":
            target = claim.margin
        elif a.paper is not None and b.paper is not None:
            target = a.paper - b.paper
        else:
            return None
        seeds = stats.seeds_needed(est, target, claim.test)
        if seeds is None:
            return None
        needed.append(seeds)
    return max(needed)


def adjust(evaluations: list[Evaluation]) -> None:
    """Holm's step-down within each paper's family: its testable claims' comparisons and controls
    (sanity checks and claims not testable here stay out)."""
    for paper in sorted({ev.claim.paper for ev in evaluations}):
        family = [judgement for ev in evaluations if ev.claim.paper == paper and ev.claim.kind == "claim" and ev.testable
                  for judgement in (ev.main, ev.control) if judgement is not None]  # fmt: skip
        for judgement, p in zip(family, stats.holm([j.p_value for j in family])):
            judgement.p_holm = p
            judgement.verdict_holm = stats.adjusted_verdict(judgement.verdict, p)


def as_question(statement: str) -> str:
    """A claim's statement as a question about the data at hand: "Does it hold here that fusing ... beats FCN-32s?"
    (a first word that is a name, such as FCN-8s or ResNet101, keeps its capitals)."""
    where, test, body = statement.rstrip(".").rpartition(" test: ") if " test: " in statement else ("", "", statement)
    first, _, rest = body.rstrip(".").partition(" ")
    if not any(c.isupper() for c in first[1:]) and not any(c.isdigit() for c in first):
        first = first[:1].lower() + first[1:]
    question = f"does it hold here that {' '.join(filter(None, (first, rest)))}?"
    return f"On the {where.lower()} test, {question}" if test else question[:1].upper() + question[1:]


def claims_table(evaluations: list[Evaluation], own_data: bool = False) -> pd.DataFrame:
    """One row per claim; with ``own_data`` (a dataset of the user's) each statement is asked as a question about
    it, and the paper's effect and the notes about the built-in synthetic data are left out."""
    records = []
    for ev in evaluations:
        claim = ev.claim
        paper_effect = claim.paper_effect()
        precondition = claim.precondition
        note = None if own_data and claim.note == BY_DESIGN_NOTE else claim.note
        records.append({
            "id": claim.id, "paper": claim.paper, "kind": claim.kind, "where": claim.where,
            "statement": as_question(claim.statement) if own_data else claim.statement,
            "comparison": claim.comparison_text, "metric": claim.metric, "test": claim.test,
            "margin": claim.margin if claim.test == "equivalent" else None,
            "paper_effect": None if paper_effect is None else round(paper_effect, 2),
            **_judgement_columns("", ev.main), "seeds": ev.seeds, "verdict": ev.verdict, "verdict_holm": ev.verdict_holm,
            "precondition": precondition.text() if precondition else None,
            "precondition_required": precondition.required if precondition else None,
            "precondition_measured": _round(ev.precondition_measured) if precondition else None,
            "control_comparison": claim.control_text or None,
            **_judgement_columns("control_", ev.control),
            "control_verdict": _verdict(ev, ev.control, holm=False), "control_verdict_holm": _verdict(ev, ev.control, holm=True),
            "note": note or None,
        })  # fmt: skip
    frame = pd.DataFrame.from_records(records)
    return frame.drop(columns=["paper_effect"]) if own_data else frame


def _judgement_columns(prefix: str, judgement: Judgement | None) -> dict:
    names = ("effect", "ci_low", "ci_high", "seed_ci_low", "seed_ci_high", "p_value", "p_holm")
    if prefix:
        names = names[:3] + names[5:]
    if judgement is None:
        values = {name: None for name in names}
    else:
        est = judgement.estimates[judgement.reported]
        low, high = est.interval()
        seed_low, seed_high = est.seed_interval()
        values = {"effect": _round(est.effect), "ci_low": _round(low), "ci_high": _round(high),
                  "seed_ci_low": _round(seed_low), "seed_ci_high": _round(seed_high),
                  "p_value": _round(judgement.p_value, 4), "p_holm": _round(judgement.p_holm, 4)}  # fmt: skip
    out = {f"{prefix}{name}": values[name] for name in names}
    if not prefix:
        out["detectable_effect"] = None if judgement is None else _round(judgement.detectable)
        out["seeds_needed"] = None if judgement is None else judgement.seeds_needed
    return out


def _verdict(ev: Evaluation, judgement: Judgement | None, holm: bool) -> str | None:
    if judgement is None:
        return None
    if not ev.testable:
        return NOT_TESTABLE
    return (judgement.verdict_holm or judgement.verdict) if holm else judgement.verdict


def _round(value: float, places: int = 2) -> float | None:
    return None if value is None or math.isnan(value) else round(value, places)


COLOURS = {"supported": "tab:green", "contradicted": "tab:red", "inconclusive": "tab:gray",
           NOT_TESTABLE: "tab:orange", "not run": "white"}  # fmt: skip


def plot_claims(table: pd.DataFrame, out: Path) -> list[tuple[str, str]]:
    """Per row, the paper's effect (x), ours (dot) with the interval over seeds and test images (thick)
    and over seeds only (thin), coloured by the Holm-adjusted verdict; one panel per paper (each on its
    own scale: sun2018's effects span tens of points, luo2017's tenths), sanity checks below a rule."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = list(dict.fromkeys(zip(table["paper"], table["metric"])))
    panels = []
    for paper, metric in groups:
        rows = table[(table["paper"] == paper) & (table["metric"] == metric)]
        panels.append(pd.concat([rows[rows["kind"] == "claim"], rows[rows["kind"] == "sanity"]]).iloc[::-1])
    heights = [max(len(rows), 1) for rows in panels]
    fig, axes = plt.subplots(len(panels), 1, figsize=(8.5, 0.28 * sum(heights) + 1.6 * len(panels)), squeeze=False,
                             gridspec_kw={"height_ratios": heights})  # fmt: skip
    for ax, (paper, metric), rows in zip(axes[:, 0], groups, panels):
        rows = rows.reset_index(drop=True)
        for y, row in rows.iterrows():
            colour = COLOURS[row["verdict_holm"]]
            if pd.notna(row["seed_ci_low"]):
                ax.plot([row["seed_ci_low"], row["seed_ci_high"]], [y, y], color=colour, lw=0.8)
            if pd.notna(row["ci_low"]):
                ax.plot([row["ci_low"], row["ci_high"]], [y, y], color=colour, lw=3, alpha=0.6)
            if pd.notna(row["effect"]):
                ax.plot(row["effect"], y, "o", color=colour, ms=5)
            if pd.notna(row.get("paper_effect")):  # none on a dataset of the user's
                ax.plot(row["paper_effect"], y, "x", color="black", ms=5)
        n_sanity = int((rows["kind"] == "sanity").sum())
        if n_sanity:
            ax.axhline(n_sanity - 0.5, color="black", lw=0.6, ls="--")
            ax.text(1.0, n_sanity - 0.4, "sanity checks below ", transform=ax.get_yaxis_transform(), ha="right",
                    va="bottom", fontsize=7)  # fmt: skip
        ax.axvline(0, color="black", lw=0.8)
        ax.set_yticks(range(len(rows)), [f"{r.id} {r.where}" for r in rows.itertuples()], fontsize=7)
        ax.set_title(f"{paper}, {metric}", fontsize=9, loc="left")
    paper_mark = "; x: paper" if "paper_effect" in table else ""
    axes[-1, 0].set_xlabel("effect, points (ours: dot; thick: 95% over seeds and test images; thin: seeds only"
                           f"{paper_mark})")  # fmt: skip
    for ax in axes[:-1, 0]:
        ax.set_xlabel("effect, points")
    handles = [plt.Line2D([], [], color=c, marker="o", lw=2, label=v) for v, c in COLOURS.items() if v != "not run"]
    if "paper_effect" in table:
        handles.append(plt.Line2D([], [], color="black", marker="x", lw=0, label="paper"))
    axes[0, 0].legend(handles=handles, fontsize=7, loc="lower right", title="verdict (Holm)", title_fontsize=7)
    fig.tight_layout()
    io.save_figure(out, fig, dpi=120, metadata={"Software": None})
    return groups


README_START = "<!-- claims:start (generated by python -m tagseg.reporting.claims readme; do not edit by hand) -->"
README_END = "<!-- claims:end -->"

HOW_TO_READ = (
    "How to read it: *ours* is the mean over seeds of the paired difference, in points, with a 95% interval "
    "over seeds and test images (a bootstrap over the test images added to the seeds' variance). *Raw* is the "
    "claim's own test; *Holm* adjusts it for the number of claims each paper makes (family-wise error 5%), and is "
    'the verdict to quote. A claim of several comparisons ("best of the grid") is supported only when every '
    "comparison is, and contradicted only when one is after a correction for their number. *Detectable* is the "
    'smallest effect the runs would have found with 80% power: an inconclusive claim reads "smaller than that, '
    "if any\". Where the paper's baseline had less training, *against the control* repeats the test against a "
    "run given as much. A claim whose precondition, measured on val, fails is *not testable here*; sanity checks "
    "hold by construction and test the code, not the papers."
)


def _signed(value) -> str:
    return "" if pd.isna(value) else f"{value:+.1f}"


def _with_interval(effect, low, high) -> str:
    text = _signed(effect)
    if pd.notna(low):
        text += f" [{low:+.1f}, {high:+.1f}]"
    return text


def _markdown_rows(rows) -> list[str]:
    return ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]


SUMMARY_START = "<!-- verdicts:start (generated by python -m tagseg.reporting.claims readme; do not edit by hand) -->"
SUMMARY_END = "<!-- verdicts:end -->"


def readme_summary(table: pd.DataFrame) -> str:
    """The README's first-screen summary, from claims.csv: per paper, how its claims came out after Holm's
    adjustment, and the claims that were decided either way."""
    claims = table[table["kind"] == "claim"]
    seeds = int(table["seeds"].max()) if len(table) else 0
    lines = [SUMMARY_START, "", "| paper | claims | " + " | ".join(VERDICTS[:4]) + " | decided (Holm) |",
             "|---|---|" + "---|" * 5]  # fmt: skip
    for paper, rows in claims.groupby("paper", sort=True):
        counts = rows["verdict_holm"].value_counts()
        decided = rows[rows["verdict_holm"].isin(["supported", "contradicted"])]
        named = ", ".join(f"{row.id} {row.verdict_holm}" for row in decided.itertuples()) or "none"
        cells = [str(int(counts.get(v, 0))) for v in VERDICTS[:4]]
        lines.append(f"| {paper} | {len(rows)} | " + " | ".join(cells) + f" | {named} |")
    lines += ["", f"On the built-in synthetic data, {seeds_named(seeds)}, the default scale; each claim, its effect and "
              "interval are under \"What reproduces\" below.", SUMMARY_END]  # fmt: skip
    return "\n".join(lines)


def readme_section(table: pd.DataFrame) -> str:
    """The README's "What reproduces" body, from claims.csv: the claims, the ones not testable here,
    the sanity checks, each in a block of its own."""
    claims = table[table["kind"] == "claim"]
    tested = claims[claims["verdict"] != NOT_TESTABLE]
    untestable = claims[claims["verdict"] == NOT_TESTABLE]
    sanity = table[table["kind"] == "sanity"]
    seeds = int(table["seeds"].max()) if len(table) else 0
    counts = claims["verdict_holm"].value_counts()
    raw = claims["verdict"].value_counts()
    lines = [
        README_START,
        f"From `results/tables/claims.csv` ({seeds} seeds; effects in points). Of {len(claims)} claims, after "
        "Holm's adjustment: "
        + ", ".join(f"{int(counts.get(v, 0))} {v}" for v in VERDICTS if counts.get(v, 0))
        + " (raw: "
        + ", ".join(f"{int(raw.get(v, 0))} {v}" for v in VERDICTS[:3] if raw.get(v, 0))
        + f"); {len(sanity)} sanity checks apart.",
        "",
        HOW_TO_READ,
        "",
        "**Claims**",
        "",
        "| id | where | claim | paper | ours (95% CI) | verdict: raw / Holm | detectable | against the control (95% CI): raw / Holm |",
        "|---|---|---|---|---|---|---|---|",
    ]
    rows = []
    for row in tested.itertuples():
        control = ""
        if pd.notna(row.control_verdict):
            control = (
                f"{_with_interval(row.control_effect, row.control_ci_low, row.control_ci_high)} "
                f"{row.control_verdict} / {row.control_verdict_holm}".strip()
            )
        detectable = "" if pd.isna(row.detectable_effect) else f"{row.detectable_effect:.1f}"
        rows.append((row.id, f"{row.paper} {row.where}", row.statement, _signed(row.paper_effect),
                     _with_interval(row.effect, row.ci_low, row.ci_high), f"{row.verdict} / {row.verdict_holm}",
                     detectable, control))  # fmt: skip
    lines += _markdown_rows(rows)
    if len(untestable):
        lines += [
            "",
            "**Not testable here** (the precondition, measured on val, fails; ours shown for information)",
            "",
            "| id | where | claim | precondition | measured | ours (95% CI) |",
            "|---|---|---|---|---|---|",
        ]
        lines += _markdown_rows((row.id, f"{row.paper} {row.where}", row.statement, row.precondition,
                                 f"{row.precondition_measured:.1f}", _with_interval(row.effect, row.ci_low, row.ci_high))
                                for row in untestable.itertuples())  # fmt: skip
    if len(sanity):
        lines += [
            "",
            "**Sanity checks** (true by construction: they test the code)",
            "",
            "| id | where | check | ours (95% CI) | verdict |",
            "|---|---|---|---|---|",
        ]
        lines += _markdown_rows((row.id, f"{row.paper} {row.where}", row.statement,
                                 _with_interval(row.effect, row.ci_low, row.ci_high), row.verdict)
                                for row in sanity.itertuples())  # fmt: skip
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
    table.add_argument("--trained-t-tr", type=int, nargs="*",
                       help="the t_tr whose stage-2 runs exist (default: every --t-tr; none where the data has no "
                            "weak pool): claims on the others are 'not run'")  # fmt: skip
    table.add_argument("--margin", type=float, default=1.0, help="equivalence margin, points")
    table.add_argument("--bootstrap", type=int, default=BOOTSTRAP_DRAWS, help="resamples of the test images")
    table.add_argument(
        "--splits", nargs="+", help="the splits the data has (default: all); claims on others are 'not run'"
    )
    table.add_argument("--own-data", action="store_true",
                       help="a dataset of the user's: each claim asked as a question about it, no paper effect")  # fmt: skip
    table.add_argument("--csv", type=Path, required=True)
    table.add_argument("--png", type=Path)
    readme = sub.add_parser(
        "readme", help="rewrite the README's generated sections: the verdicts, the results, 'What reproduces'"
    )
    readme.add_argument("--csv", type=Path, required=True)
    readme.add_argument("--readme", type=Path, default=Path("README.md"))
    readme.add_argument("--tables", type=Path,
                        help="the run's tables, for the results summary (default: the folder of --csv)")  # fmt: skip
    args = parser.parse_args(argv)
    if args.command == "readme":
        table = pd.read_csv(args.csv)
        sections = [(readme_summary(table), SUMMARY_START, SUMMARY_END),
                    (results_section(args.tables or args.csv.parent), RESULTS_START, RESULTS_END),
                    (readme_section(table), README_START, README_END)]  # fmt: skip
        replace_sections(args.readme, sections)
        return 0
    if args.bootstrap < 2:
        parser.error(f"--bootstrap: expected at least 2 resamples, got {args.bootstrap}")
    sources = {name: [Path(f) for f in files] for name, *files in args.source}
    reader = Reader(sources, args.seeds, draws=args.bootstrap)
    claims = known_claims(args.t_tr, args.t_ts, args.tau, args.margin)
    trained = args.t_tr if args.trained_t_tr is None else args.trained_t_tr
    evaluations = [evaluate(c, reader, args.seeds, trained, args.t_ts, args.splits) for c in claims]
    adjust(evaluations)
    frame = claims_table(evaluations, own_data=args.own_data)
    io.write_csv(args.csv, frame)
    if args.png:
        plot_claims(frame, args.png)
    print(frame.groupby("kind")["verdict_holm"].value_counts().to_string(), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
