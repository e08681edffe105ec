"""Every experimental claim of the two papers, as the comparisons that test it: what is measured, and how.

A claim is one or more comparisons ``a - b`` of per-seed numbers (mIoU or a tag F1, in points),
tested for ``greater`` or ``equivalent`` (tagseg.reporting.stats has the rules). A :class:`Measure`
names the result it reads by a source name (:attr:`Measure.source`); the workflow, which owns the
results' paths, passes each source's files (tagseg.reporting.claims, ``--source``). Plain Python
(numpy only inside the functions that resample): the Snakefile reads the catalogue to learn the
claims rule's inputs.

Rows are of two kinds. A *claim* is evidence about a paper's method. A *sanity check* holds by
construction (tau = 0 keeps every label; no label leaves nothing to fuse) or compares with a
degenerate reference; it tests the code, not the method, and is reported apart. A claim may have
*preconditions*: what its mechanism needs of a component or of the data, measured on val (never
test) by a rule fixed here before the runs that judge it; where one fails, the claim is "not
testable here" and the measured value is shown beside the required one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Collection, Literal

if TYPE_CHECKING:
    import numpy

from tagseg.reporting.papers import CONTROL, LUO_TABLES, TABLES


@dataclass(frozen=True)
class Measure:
    """One number per seed. ``kind`` says which result file and which entry:

    ``fcn``: a sun2018 model's mIoU on ``split`` (``labels``: truth or classifier at the configured tau);
    ``sweep``: Figure 4's network at threshold ``tau`` (None: its baseline without labels);
    ``interior_gain``: Figure 4's best interior threshold over the better end point (0 or 1);
    ``best_interior``: Figure 4's best interior threshold (0 < tau < 1);
    ``dis``: a DIS run's mIoU on ``split`` read out after ``t`` test steps;
    ``weak``: stage-1 inference on a weak pool after ``t`` steps: ``entry`` labelmap_mIoU, tags_f1,
    or weak_tags_f1 (the pool's own tags);
    ``zero``: the constant 0 (for claims about one quantity's sign);
    and, for preconditions (on val): ``classifier_map`` (the image-labelling network's mAP),
    ``tag_head_f1`` (a DIS model's tag head read out at t = 0, F1 against the split's tags),
    ``visible_errors`` (the share of a model's errors its reconstruction target can see,
    tagseg.core.metrics.ReconstructionVisibility; a sun2018 model by ``arch``/``variant``, a DIS one by ``run``).
    """

    kind: Literal["fcn", "sweep", "interior_gain", "best_interior", "dis", "weak", "zero", "classifier_map",
                  "tag_head_f1", "visible_errors"]  # fmt: skip
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

    @property
    def source(self) -> str | None:
        """Which result the measure is read from, one file per seed; the workflow maps the name to the files:

        ``fcn/<arch>/<variant>/<split>`` (``+classifier`` with the classifier's labels at the configured
        tau), ``sweep`` (Figure 4's network), ``dis/<run>/<split>``, ``weak/<pool>``,
        ``classifier/<split>`` (the image-labelling network's report); None for ``zero``.
        """
        if self.kind == "fcn" or (self.kind == "visible_errors" and self.arch):
            return f"fcn/{self.arch}/{self.variant}/{self.split}" + (
                "+classifier" if self.labels == "classifier" else ""
            )
        if self.kind in ("sweep", "interior_gain", "best_interior"):
            return "sweep"
        if self.kind in ("dis", "tag_head_f1", "visible_errors"):
            return f"dis/{self.run}/{self.split}"
        if self.kind == "weak":
            return f"weak/{self.split}"
        if self.kind == "classifier_map":
            return f"classifier/{self.split}"
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
            return 100.0 * payload["rows"][self._tau_row(payload)]["mIoU"]
        if self.kind in ("interior_gain", "best_interior"):
            import numpy as np

            miou = np.array([[r["mIoU"] for r in payload["rows"]]]).T  # (taus, 1)
            return 100.0 * float(self._interior(payload, miou)[0])
        if self.kind == "dis":
            return 100.0 * payload["by_t_ts"][str(self.t)]["scores"]["mIoU"]
        if self.kind == "weak":
            if self.entry == "weak_tags_f1":
                return 100.0 * f1(payload["weak_tags"]["precision"], payload["weak_tags"]["recall"])
            step = payload["by_step"][str(self.t)]
            if self.entry == "labelmap_mIoU":
                return 100.0 * step["labelmap_scores"]["mIoU"]
            return 100.0 * f1(step["tags_precision"], step["tags_recall"])
        if self.kind == "classifier_map":
            return 100.0 * payload["mAP"]
        if self.kind == "tag_head_f1":
            tags = payload["by_t_ts"]["0"].get("tags")
            if tags is None:
                raise ValueError(f"{payload.get('split')}: no tags to score the tag head against")
            return 100.0 * f1(tags["precision"], tags["recall"])
        if self.kind == "visible_errors":
            share = payload.get("reconstruction_visible_errors")
            return math.nan if share is None else 100.0 * share
        raise ValueError(f"measure kind: {self.kind!r}")

    def resample(self, payload: dict | None, weights: "numpy.ndarray") -> "numpy.ndarray":
        """The measure (points) on each of ``B`` resamples of the file's images, ``weights`` (B, n_images)
        counting how often each image is drawn (a row of ones gives :meth:`read`'s value)."""
        import numpy as np

        if self.kind == "zero":
            return np.zeros(len(weights))
        if self.kind == "fcn":
            return _miou(_per_image(payload, "per_image"), weights)
        if self.kind == "sweep":
            if self.tau is None:
                return _miou(_per_image(payload, "baseline_per_image"), weights)
            return _miou(_per_image(payload, "per_image")[self._tau_row(payload)], weights)
        if self.kind in ("interior_gain", "best_interior"):
            miou = np.stack(
                [_miou(counts, weights) / 100.0 for counts in _per_image(payload, "per_image")]
            )  # (taus, B)
            return 100.0 * self._interior(payload, miou)
        if self.kind == "dis":
            return _miou(_per_image(payload["by_t_ts"][str(self.t)], "per_image"), weights)
        if self.kind == "weak":
            if self.entry == "weak_tags_f1":
                return _f1(_per_image(payload["weak_tags"], "per_image"), weights)
            step = payload["by_step"][str(self.t)]
            if self.entry == "labelmap_mIoU":
                return _miou(_per_image(step, "labelmap_per_image"), weights)
            return _f1(_per_image(step, "tags_per_image"), weights)
        raise ValueError(f"measure kind {self.kind!r}: no per-image results")

    def _tau_row(self, payload: dict) -> int:
        taus = [row["tau"] for row in payload["rows"]]
        row = min(range(len(taus)), key=lambda i: abs(taus[i] - self.tau))
        if abs(taus[row] - self.tau) > 1e-6:
            raise ValueError(f"sweep has no threshold {self.tau}")
        return row

    def _interior(self, payload: dict, miou: "numpy.ndarray") -> "numpy.ndarray":
        """Per column of ``miou`` (taus, B): the best interior threshold's mIoU, less the better end's for
        ``interior_gain``."""
        import numpy as np

        taus = np.array([round(row["tau"], 6) for row in payload["rows"]])
        interior = miou[(taus > 0) & (taus < 1)].max(0)
        if self.kind == "best_interior":
            return interior
        return interior - np.maximum(miou[taus == 0.0][0], miou[taus == 1.0][0])

    def available(self, t_tr: list[int], t_ts: list[int], splits: Collection[str] | None = None) -> bool:
        """Whether the configured grids produce this measure (and the data has its split, when ``splits`` is given)."""
        if splits is not None and self.split and self.split not in splits:
            return False
        if self.kind == "dis":
            return (not self.run.startswith("ttr") or int(self.run[3:]) in t_tr) and self.t in t_ts
        if self.kind == "weak":
            return self.t in t_tr
        return True


def _per_image(payload: dict, key: str):
    counts = payload.get(key)
    if counts is None:
        raise ValueError(f"{payload.get('split', 'a result file')}: no per-image results ({key!r}); written by an "
                         "older version of its evaluation, which must be run again")  # fmt: skip
    return counts


def _miou(counts: dict, weights: "numpy.ndarray") -> "numpy.ndarray":
    """mIoU (points) of each resample from per-image intersections and unions (n_images, n_classes), as
    tagseg.core.metrics.scores computes it from the summed confusion matrix: per class the ratio of the
    sums, classes with no union left out of the mean."""
    import numpy as np

    inter = weights @ np.asarray(counts["intersection"], dtype=np.float64)  # (B, n_classes)
    union = weights @ np.asarray(counts["union"], dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return 100.0 * np.nanmean(np.where(union > 0, inter / union, np.nan), axis=1)


def _f1(counts: dict, weights: "numpy.ndarray") -> "numpy.ndarray":
    """F1 (points) of the pooled tag counts of each resample, as tag_agreement's precision and recall give it."""
    import numpy as np

    hits, predicted, truth = (
        weights @ np.asarray(counts[key], dtype=np.float64) for key in ("hits", "predicted", "truth")
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        # precision and recall as tag_agreement computes them (an empty denominator counts as 1)
        precision, recall = hits / np.maximum(predicted, 1.0), hits / np.maximum(truth, 1.0)
        return 100.0 * np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)


def f1(precision: float, recall: float) -> float:
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


@dataclass(frozen=True)
class Precondition:
    """What a claim's mechanism needs, measured on val: the mean over seeds of ``measure`` must reach
    ``required`` (points)."""

    name: str
    measure: Measure
    required: float
    why: str

    def text(self) -> str:
        return f"{self.name} >= {self.required:g}"


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
    # the same claim judged against compute-matched controls where the paper's baseline had less training
    # (sun2018's one segmentation update per iteration to the auxiliary variants' two; luo2017's stage 2
    # beyond stage 1): each a - control, a verdict of its own beside the paper's comparison's
    controls: tuple[tuple[Measure, Measure], ...] = ()
    kind: Literal["claim", "sanity"] = "claim"
    precondition: Precondition | None = None

    @property
    def comparison_text(self) -> str:
        return self._text(self.comparisons)

    @property
    def control_text(self) -> str:
        return self._text(self.controls) if self.controls else ""

    def _text(self, comparisons: tuple[tuple[Measure, Measure], ...]) -> str:
        sign = " > " if self.test == "greater" else " ≈ "
        text = "; ".join(f"{a.name}{sign}{b.name}" for a, b in comparisons)
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
    name = {"stage1": "baseline", "continued": "baseline continued (control)"}.get(run, f"({run[3:]}, {t})")
    return Measure("dis", f"{name} {LUO_TABLES[table].split}", split=LUO_TABLES[table].split, run=run, t=t, paper=paper)


def _weak(pool: str, entry: str, t: int = 0) -> Measure:
    name = {"labelmap_mIoU": f"L^w mIoU t={t}", "tags_f1": f"inferred tags F1 t={t}", "weak_tags_f1": "weak tags F1"}
    return Measure("weak", f"{name[entry]} ({pool})", split=pool, t=t, entry=entry)


ZERO = Measure("zero", "0", paper=0.0)


def _sweep(tau: float | None) -> Measure:
    return Measure("sweep", "no labels" if tau is None else f"tau={tau:g}", tau=tau)


# For 0/1 labels a labelled class's P + 1 >= 1 >= any unlabelled class's P, so argmax(P + L) is argmax(P . L):
# at test the two fusions predict the same classes from the same scores.
ADDITION_NOTE = (
    "at test, addition and dot product give the same argmax for 0/1 labels: the comparison is of what "
    "training with each made of the network"
)


# --- the preconditions (fixed before the runs that judge them; REPRODUCTION.md C5) --------------


def classifier_regime() -> Precondition:
    """sun2018's image-labelling network reached "about 90%" mAP on VOC12 test; the tau claims are about
    fusing labels of that quality, so they need a classifier within 5 points of it."""
    return Precondition("image-labelling network's val mAP", Measure("classifier_map", "classifier val mAP", split="val"),
                        85.0, "sun2018's labels come from a classifier at about 90% mAP; a far weaker one tests "
                        "that classifier, not the fusion")  # fmt: skip


def tag_head_predicts() -> Precondition:
    """Tag cleaning needs a tag head that predicts tags: F1 at least 50 (most tags right) on val's clean tags."""
    return Precondition("DIS tag head's val F1 at t = 0",
                        Measure("tag_head_f1", "stage-1 tag head val F1", run="stage1", split="val"), 50.0,
                        "inference can clean tags only through a tag head that predicts them")  # fmt: skip


def reconstruction_sees_errors(arch: str = "", variant: str = "", run: str = "") -> Precondition:
    """A reconstruction loss can correct only the errors the reconstruction target shows: most (half or
    more) of the reference model's val errors must lie between classes the target tells apart."""
    model = f"{arch}/{variant}" if arch else f"DIS {run}"
    return Precondition(f"share of {model}'s val errors its reconstruction target can see",
                        Measure("visible_errors", f"visible errors ({model}, val)", arch=arch, variant=variant, run=run,
                                split="val"), 50.0,
                        "a reconstruction corrects only the errors that change what it reconstructs")  # fmt: skip


# S1's effect is as large as the data makes it: the paired classes were built to be resolvable from image labels
BY_DESIGN_NOTE = ("on the built-in synthetic data the effect's size is the data's design: it pairs classes that only "
                  "the whole image tells apart (docs/synthetic-data.md)")  # fmt: skip


def known_claims(t_tr: list[int], t_ts: list[int], tau: float = 0.25, margin: float = 1.0) -> list[Claim]:
    """Every claim the code knows; ``t_tr``/``t_ts`` are the configured grids (the largest is the paper's 30),
    ``tau`` the configured threshold of the classifier's labels (the paper's 0.25)."""
    hi_tr = max(t_tr)
    hi_ts = max(t_ts)
    mid_tr = sorted(t for t in t_tr if 0 < t < hi_tr)
    lo_tr = min((t for t in t_tr if t > 0), default=hi_tr)  # the least inference in training beyond none
    grid = [(tr, ts) for tr in t_tr if tr > 0 for ts in t_ts]
    t1, t2, t3, t4 = "sun2018_table1", "sun2018_table2", "sun2018_table3", "sun2018_table4"
    # Figure 4's baseline: the same architecture trained without labels, run without them (its reference line)
    no_labels32 = replace(_fcn(t4, "FCN-32s+generator"), name="FCN-32s+generator (trained without labels)", paper=None)
    base32 = _fcn(t1, "FCN-32s")
    sees32, classifier = reconstruction_sees_errors("fcn32s", "base"), classifier_regime()
    control32, label_control32 = _fcn(t1, CONTROL.format("FCN-32s")), _fcn(t1, CONTROL.format("FCN-32s+image label"))
    claims = [
        Claim(
            "S1",
            "sun2018",
            "Table 1",
            "Fusing ground-truth image labels beats FCN-32s.",
            "greater",
            ((_fcn(t1, "FCN-32s+image label"), base32),),
            note=BY_DESIGN_NOTE,
        ),
        Claim(
            "S2",
            "sun2018",
            "Table 1",
            "The generator's reconstruction loss improves FCN-32s.",
            "greater",
            ((_fcn(t1, "FCN-32s+generator"), base32),),
            controls=((_fcn(t1, "FCN-32s+generator"), control32),),
            precondition=sees32,
        ),
        Claim(
            "S3",
            "sun2018",
            "Table 1",
            "The generator also helps when labels are fused.",
            "greater",
            ((_fcn(t1, "FCN-32s+label+gen"), _fcn(t1, "FCN-32s+image label")),),
            controls=((_fcn(t1, "FCN-32s+label+gen"), label_control32),),
            precondition=reconstruction_sees_errors("fcn32s", "label"),
        ),
        Claim(
            "S4",
            "sun2018",
            "Table 1",
            "Labels plus generator is the best of the four.",
            "greater",
            tuple(
                (_fcn(t1, "FCN-32s+label+gen"), _fcn(t1, other))
                for other in ("FCN-32s", "FCN-32s+image label", "FCN-32s+generator")
            ),
            controls=tuple(
                (_fcn(t1, "FCN-32s+label+gen"), other)
                for other in (control32, label_control32, _fcn(t1, "FCN-32s+generator"))
            ),
            precondition=sees32,
        ),
        Claim(
            "S5",
            "sun2018",
            "Table 2",
            "A generator (reconstruction) beats a discriminator as the auxiliary loss.",
            "greater",
            ((_fcn(t2, "FCN-32s+gen"), _fcn(t2, "FCN-32s+dis")),),
            precondition=sees32,
        ),
        Claim(
            "S6",
            "sun2018",
            "Table 2",
            "The discriminator's auxiliary loss improves FCN-32s.",
            "greater",
            ((_fcn(t2, "FCN-32s+dis"), base32),),
            controls=((_fcn(t2, "FCN-32s+dis"), control32),),
        ),
        Claim(
            "S7",
            "sun2018",
            "Table 3",
            "Fusion by dot product beats fusion by addition.",
            "greater",
            ((_fcn(t3, "FCN-32s+image label (dot product)"), _fcn(t3, "FCN-32s+image label (addition)")),),
            note=ADDITION_NOTE,
        ),
        Claim(
            "S8",
            "sun2018",
            "Table 3",
            "Fusion by addition still beats FCN-32s.",
            "greater",
            ((_fcn(t3, "FCN-32s+image label (addition)"), base32),),
            note=ADDITION_NOTE,
        ),
        Claim(
            "S9",
            "sun2018",
            "Figure 4",
            "At tau = 0 (every label kept) the fused network equals its baseline.",
            "equivalent",
            ((_sweep(0.0), _sweep(None)),),
            margin=margin,
            kind="sanity",
            note="by construction: every label kept leaves nothing fused away",
        ),
        Claim(
            "S10",
            "sun2018",
            "Figure 4",
            f"Classifier labels at a middle threshold (tau = {tau:g}) beat the baseline.",
            "greater",
            ((_sweep(tau), no_labels32),),
            precondition=classifier,
        ),
        Claim(
            "S11",
            "sun2018",
            "Figure 4",
            "As tau approaches 1 the fused network falls below its baseline.",
            "greater",
            ((_sweep(None), _sweep(1.0)),),
            kind="sanity",
            note="by construction: with no label kept the dot product fuses every class away",
        ),
        Claim(
            "S12",
            "sun2018",
            "Figure 4",
            "The best threshold is interior (0 < tau < 1) and beats the baseline.",
            "greater",
            ((Measure("best_interior", "best interior tau"), no_labels32),),
            precondition=classifier,
            note="the best interior threshold is chosen on the test split itself, as the paper's figure reads it",
        ),
        Claim(
            "S13",
            "sun2018",
            "Table 4",
            "FCN-8s beats FCN-32s.",
            "greater",
            ((_fcn(t4, "FCN-8s"), _fcn(t4, "FCN-32s")),),
        ),
    ]
    for n, arch in ((14, "FCN-32s"), (17, "FCN-8s")):
        sees = reconstruction_sees_errors(arch.lower().replace("-", ""), "base")
        claims += [
            Claim(
                f"S{n}",
                "sun2018",
                "Table 4",
                f"{arch} gains from the classifier's labels.",
                "greater",
                ((_fcn(t4, f"{arch}+image label"), _fcn(t4, arch)),),
                precondition=classifier,
            ),
            Claim(
                f"S{n + 1}",
                "sun2018",
                "Table 4",
                f"{arch} gains from the generator.",
                "greater",
                ((_fcn(t4, f"{arch}+generator"), _fcn(t4, arch)),),
                controls=((_fcn(t4, f"{arch}+generator"), _fcn(t4, CONTROL.format(arch))),),
                precondition=sees,
            ),
            Claim(
                f"S{n + 2}",
                "sun2018",
                "Table 4",
                f"{arch} with generator gains further from the classifier's labels.",
                "greater",
                ((_fcn(t4, f"{arch}+image label+generator"), _fcn(t4, f"{arch}+generator")),),
                precondition=classifier,
            ),
        ]
    # the comparisons S10 and S12 made before: against the label-trained network run without labels, which
    # never learnt to segment alone (sanity: they test that fusing labels into it does what it was trained for)
    claims += [
        Claim(
            "S10s",
            "sun2018",
            "Figure 4",
            f"Labels at tau = {tau:g} beat the label-trained network run without labels.",
            "greater",
            ((_sweep(tau), _sweep(None)),),
            kind="sanity",
            note="the reference was trained to rely on labels: without them it is not a baseline",
        ),
        Claim(
            "S12s",
            "sun2018",
            "Figure 4",
            "The best interior threshold beats both end points (tau = 0 and 1).",
            "greater",
            ((Measure("interior_gain", "best interior tau over max(tau=0, tau=1)"), ZERO),),
            kind="sanity",
            note="both end points are the label-trained network without effective labels",
        ),
    ]
    t3l, t5l = "luo2017_table3", "luo2017_table5"
    sees_dis, tag_head = reconstruction_sees_errors(run="stage1"), tag_head_predicts()
    claims += [
        Claim(
            "L1",
            "luo2017",
            "Table 3",
            "Semi-supervised training with t_tr = 0 beats the ResNet101 baseline.",
            "greater",
            ((_dis(t3l, "ttr0", 0), _dis(t3l, "stage1", 0)),),
            controls=((_dis(t3l, "ttr0", 0), _dis(t3l, "continued", 0)),),
        ),
        *[
            Claim(
                f"L2.{tr}",
                "luo2017",
                "Table 3",
                f"Inference in training helps: t_tr = {tr} beats t_tr = 0 (t_ts = 0).",
                "greater",
                ((_dis(t3l, f"ttr{tr}", 0), _dis(t3l, "ttr0", 0)),),
            )
            for tr in t_tr
            if tr > 0
        ],
        *[
            Claim(
                f"L3.{tr}",
                "luo2017",
                "Table 3",
                f"More inference in test helps at t_tr = {tr}: t_ts = {hi_ts} beats t_ts = 0.",
                "greater",
                ((_dis(t3l, f"ttr{tr}", hi_ts), _dis(t3l, f"ttr{tr}", 0)),),
                precondition=sees_dis,
            )
            for tr in t_tr
            if tr > 0
        ],
        *[
            Claim(
                f"L4.{ts}",
                "luo2017",
                "Table 3",
                f"More inference in training helps at t_ts = {ts}: t_tr = {hi_tr} beats t_tr = {lo_tr}.",
                "greater",
                ((_dis(t3l, f"ttr{hi_tr}", ts), _dis(t3l, f"ttr{lo_tr}", ts)),),
            )
            for ts in t_ts
            if hi_tr > lo_tr
        ],
        Claim(
            "L5",
            "luo2017",
            "Table 3",
            f"({hi_tr}, {hi_ts}) is the best setup of the grid.",
            "greater",
            tuple(
                (_dis(t3l, f"ttr{hi_tr}", hi_ts), _dis(t3l, f"ttr{tr}", ts))
                for tr, ts in [(0, 0), *grid]
                if (tr, ts) != (hi_tr, hi_ts)
            ),
        ),
        Claim(
            "L6",
            "luo2017",
            "Table 3",
            f"Inference in training can replace inference in test: ({hi_tr}, 0) matches "
            + ", ".join(f"({tr}, {hi_ts})" for tr in mid_tr)
            + ".",
            "equivalent",
            tuple((_dis(t3l, f"ttr{hi_tr}", 0), _dis(t3l, f"ttr{tr}", hi_ts)) for tr in mid_tr),
            margin=margin,
            precondition=sees_dis,
        ),
        Claim(
            "L7",
            "luo2017",
            "Section 3.1",
            "Inference cleans noisy tags: the inferred tags match the clean ones better than the noisy tags do (F1).",
            "greater",
            ((_weak("weak_noisy", "tags_f1", hi_tr), _weak("weak_noisy", "weak_tags_f1")),),
            metric="tag F1",
            precondition=tag_head,
        ),
        Claim(
            "L8",
            "luo2017",
            "Section 3.1",
            f"Inference improves the inferred tags: t = {hi_tr} over t = 0 (F1, noisy pool).",
            "greater",
            ((_weak("weak_noisy", "tags_f1", hi_tr), _weak("weak_noisy", "tags_f1", 0)),),
            metric="tag F1",
            precondition=tag_head,
        ),
        *[
            Claim(
                f"L9.{pool}",
                "luo2017",
                "Figure 4",
                f"The inferred labelmaps L^w improve with t ({pool} pool, withheld masks).",
                "greater",
                ((_weak(pool, "labelmap_mIoU", hi_tr), _weak(pool, "labelmap_mIoU", 0)),),
                precondition=sees_dis,
            )
            for pool in ("weak_clean", "weak_noisy")
        ],
        Claim(
            "L10",
            "luo2017",
            "Table 5",
            "Noisy-tag test: t_tr = 0 beats the ResNet101 baseline.",
            "greater",
            ((_dis(t5l, "ttr0", 0), _dis(t5l, "stage1", 0)),),
            controls=((_dis(t5l, "ttr0", 0), _dis(t5l, "continued", 0)),),
        ),
        Claim(
            "L11",
            "luo2017",
            "Table 5",
            f"Noisy-tag test: inference in training helps (t_tr = {hi_tr} over 0, t_ts = 0).",
            "greater",
            ((_dis(t5l, f"ttr{hi_tr}", 0), _dis(t5l, "ttr0", 0)),),
        ),
        Claim(
            "L12",
            "luo2017",
            "Table 5",
            f"Noisy-tag test: more inference in test helps at t_tr = {hi_tr}.",
            "greater",
            ((_dis(t5l, f"ttr{hi_tr}", hi_ts), _dis(t5l, f"ttr{hi_tr}", 0)),),
            precondition=sees_dis,
        ),
        Claim(
            "L13",
            "luo2017",
            "Table 5",
            f"Noisy-tag test: ({hi_tr}, {hi_ts}) is the best setup.",
            "greater",
            tuple(
                (_dis(t5l, f"ttr{hi_tr}", hi_ts), _dis(t5l, f"ttr{tr}", ts))
                for tr, ts in [(0, 0), *grid]
                if (tr, ts) != (hi_tr, hi_ts)
            ),
        ),
    ]
    # a grid too small for a claim (one t_tr, one t_ts) leaves it comparing a setup with itself: not made
    claims = [replace(claim, comparisons=tuple((a, b) for a, b in claim.comparisons if a != b),
                      controls=tuple((a, b) for a, b in claim.controls if a != b)) for claim in claims]  # fmt: skip
    return [claim for claim in claims if claim.comparisons]
