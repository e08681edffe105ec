"""The papers' reported numbers, row by row, with the runs that reproduce each row.

Values are in percent, as printed. A row names the trained model (arch, variant) and where its
image labels come from at test: ``truth`` (the split's ground-truth tags, used by variants that
fuse labels; sun2018 Tables 1-3) or ``classifier`` (the image-labelling network's probabilities
thresholded at the configured tau; Table 4). A table CSV puts our mean over seeds beside these.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class PaperRow:
    label: str  # the paper's row label, verbatim
    arch: str  # fcn32s | fcn8s
    variant: str  # a key of tagseg.sun2018.network.VARIANTS
    values: tuple[float | None, ...]  # the paper's numbers, in the table's column order (None: a row of ours)
    labels: Literal["truth", "classifier"] = "truth"  # the image labels at test

    @property
    def key(self) -> str:
        """``<arch>/<variant>`` with ``+classifier`` when labels come from the classifier."""
        return f"{self.arch}/{self.variant}" + ("+classifier" if self.labels == "classifier" else "")


@dataclass(frozen=True)
class PaperTable:
    title: str  # the paper's caption
    split: str  # which of our splits the numbers are measured on
    columns: tuple[str, ...]  # metric names, in the paper's order (keys of tagseg.core.metrics.scores)
    rows: tuple[PaperRow, ...]


FOUR_METRICS = ("PA", "MPA", "FWAA", "mIoU")

# Rows of ours beside the paper's (no paper values): the compute-matched controls, a network trained with
# as many segmentation updates as the generator and discriminator variants make (two per iteration).
CONTROL = "{}, 2x updates (control)"

# fmt: off
TABLES = {
    "sun2018_table1": PaperTable(
        title="Ablation study on PASCAL VOC 2011 validation set.",
        split="val",
        columns=FOUR_METRICS,
        rows=(
            PaperRow("FCN-32s", "fcn32s", "base", (89.1, 73.3, 81.4, 59.4)),
            PaperRow("FCN-32s+image label", "fcn32s", "label", (93.6, 87.4, 88.5, 74.9)),
            PaperRow("FCN-32s+generator", "fcn32s", "gen", (90.7, 75.5, 83.8, 63.8)),
            PaperRow("FCN-32s+label+gen", "fcn32s", "label_gen", (93.9, 87.5, 89.1, 75.7)),
            PaperRow(CONTROL.format("FCN-32s"), "fcn32s", "base_2x", (None,) * 4),
            PaperRow(CONTROL.format("FCN-32s+image label"), "fcn32s", "label_2x", (None,) * 4),
        ),
    ),
    "sun2018_table2": PaperTable(
        title="Analysis of auxiliary loss on PASCAL VOC 2011 validation set.",
        split="val",
        columns=FOUR_METRICS,
        rows=(
            PaperRow("FCN-32s", "fcn32s", "base", (89.1, 73.3, 81.4, 59.4)),
            PaperRow("FCN-32s+dis", "fcn32s", "discriminator", (88.7, 68.9, 80.4, 60.6)),
            PaperRow("FCN-32s+gen", "fcn32s", "gen", (90.7, 75.5, 83.8, 63.8)),
            PaperRow(CONTROL.format("FCN-32s"), "fcn32s", "base_2x", (None,) * 4),
        ),
    ),
    "sun2018_table3": PaperTable(
        title="Analysis of image-level and pixel-wise feature fusion on PASCAL VOC 2011 validation set.",
        split="val",
        columns=FOUR_METRICS,
        rows=(
            PaperRow("FCN-32s", "fcn32s", "base", (89.1, 73.3, 81.4, 59.4)),
            PaperRow("FCN-32s+image label (addition)", "fcn32s", "label_add", (91.2, 77.7, 84.5, 66.3)),
            PaperRow("FCN-32s+image label (dot product)", "fcn32s", "label", (93.6, 87.4, 88.5, 74.9)),
            PaperRow("FCN-32s+image label (addition to the scores, sensitivity)", "fcn32s", "label_add_scores", (None,) * 4),
        ),
    ),
    # "the image label did not participate in training in the experiments of Table 4": its label
    # rows are the models trained without labels, fused at test with the classifier's labels.
    "sun2018_table4": PaperTable(
        title="Comparison on PASCAL VOC 2012 testing set.",
        split="test",
        columns=("mIoU",),
        rows=(
            PaperRow("FCN-32s", "fcn32s", "base", (59.3,)),
            PaperRow("FCN-32s+image label", "fcn32s", "base", (65.1,), labels="classifier"),
            PaperRow("FCN-32s+generator", "fcn32s", "gen", (63.6,)),
            PaperRow("FCN-32s+image label+generator", "fcn32s", "gen", (66.4,), labels="classifier"),
            PaperRow("FCN-8s", "fcn8s", "base", (62.2,)),
            PaperRow("FCN-8s+image label", "fcn8s", "base", (66.7,), labels="classifier"),
            PaperRow("FCN-8s+generator", "fcn8s", "gen", (65.4,)),
            PaperRow("FCN-8s+image label+generator", "fcn8s", "gen", (68.2,), labels="classifier"),
            PaperRow(CONTROL.format("FCN-32s"), "fcn32s", "base_2x", (None,)),
            PaperRow(CONTROL.format("FCN-8s"), "fcn8s", "base_2x", (None,)),
        ),
    ),
}
# fmt: on

# Figure 4: mIoU on test against tau for FCN-32s+label+gen (labels in training), the same network
# without labels as the baseline line. The paper gives these points in its text only.
FIGURE4 = {
    "arch": "fcn32s",
    "variant": "label_gen",
    "split": "test",
    "paper_best_tau": 0.25,
    "paper_gain_below_tau": 0.43,
}


# --- luo2017 -------------------------------------------------------------------------------------

LUO_CLASS_COLUMNS = ("areo", "bike", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow", "table", "dog",
                     "horse", "mbike", "person", "plant", "sheep", "sofa", "train", "tv")  # the paper's headers, VOC order  # fmt: skip


@dataclass(frozen=True)
class DISRow:
    label: str  # the paper's row label (its LaTeX made plain)
    run: (
        str | None
    )  # "stage1" (the baseline), "ttr<N>" (stage 2 with t_tr = N), "continued" (the control), None (not reproduced)
    t_ts: int  # test-time inference steps of the read-out
    values: tuple[float | None, ...]  # 20 per-class IoUs then mIoU, as printed (None: "n/a")


@dataclass(frozen=True)
class DISTable:
    title: str
    split: str  # our split the row is measured on
    rows: tuple[DISRow, ...]


# fmt: off
LUO_TABLES = {
    "luo2017_table3": DISTable(
        title="Comparisons on VOC12 test set (ablation rows: the baseline and the ten t_tr, t_ts setups).",
        split="test",
        rows=(
        DISRow('ResNet101', 'stage1', 0, (None, None, None, None, None, None, None, None, None, None, None, None, None, None, None, None, None, None, None, None, 74.2)),
        DISRow('ResNet101, continued (control)', 'continued', 0, (None,) * 21),
        DISRow('1. t_tr = 0', 'ttr0', 0, (93.3, 58.6, 90.9, 67.9, 76.0, 94.2, 88.6, 91.1, 35.8, 89.7, 70.5, 87.1, 92.2, 87.7, 86.8, 65.3, 88.5, 60.9, 85.9, 74.4, 80.0)),
        DISRow('2. t_tr = 5, t_ts = 0', 'ttr5', 0, (93.1, 68.2, 92.2, 73.9, 82.1, 94.7, 87.9, 92.9, 47.4, 93.2, 77.0, 90.7, 92.2, 91.1, 87.8, 75.5, 91.9, 75.5, 92.6, 79.8, 84.6)),
        DISRow('3. t_tr = 5, t_ts = 10', 'ttr5', 10, (94.0, 69.6, 93.1, 73.3, 83.8, 95.2, 89.1, 93.4, 48.8, 93.8, 77.6, 92.0, 94.6, 91.1, 88.3, 75.7, 93.1, 75.8, 93.3, 81.1, 85.4)),
        DISRow('4. t_tr = 5, t_ts = 30', 'ttr5', 30, (93.9, 70.7, 93.1, 77.6, 83.4, 95.2, 89.2, 93.3, 53.3, 94.1, 78.7, 92.8, 94.8, 91.4, 88.8, 77.0, 93.0, 78.6, 93.7, 81.1, 86.2)),
        DISRow('5. t_tr = 10, t_ts = 0', 'ttr10', 0, (94.2, 67.6, 93.5, 75.9, 82.8, 95.1, 89.5, 94.1, 48.2, 94.5, 76.8, 93.4, 95.2, 91.7, 88.6, 75.3, 93.5, 76.3, 94.1, 78.3, 85.5)),
        DISRow('6. t_tr = 10, t_ts = 10', 'ttr10', 10, (94.2, 67.9, 93.6, 74.8, 84.3, 95.7, 89.1, 93.3, 52.4, 94.9, 77.9, 92.1, 95.2, 90.5, 88.2, 76.9, 93.7, 78.7, 93.1, 80.3, 85.9)),
        DISRow('7. t_tr = 10, t_ts = 30', 'ttr10', 30, (94.7, 68.7, 93.8, 75.7, 84.9, 95.8, 89.7, 94.3, 51.7, 95.2, 78.5, 93.2, 95.6, 91.9, 88.8, 77.9, 93.9, 78.6, 94.3, 80.0, 86.4)),
        DISRow('8. t_tr = 30, t_ts = 0', 'ttr30', 0, (93.6, 69.6, 93.8, 76.1, 84.4, 95.6, 89.6, 94.4, 49.7, 95.0, 78.1, 93.5, 96.0, 92.2, 89.0, 77.5, 93.8, 78.6, 93.9, 80.9, 86.3)),
        DISRow('9. t_tr = 30, t_ts = 10', 'ttr30', 10, (93.3, 73.0, 93.2, 79.1, 84.1, 95.3, 89.5, 93.4, 53.9, 94.3, 79.0, 92.8, 94.9, 91.4, 89.1, 77.5, 93.5, 79.2, 93.6, 80.5, 86.5)),
        DISRow('10. t_tr = 30, t_ts = 30', 'ttr30', 30, (94.6, 73.3, 93.3, 79.6, 84.5, 95.2, 89.5, 93.5, 54.0, 94.8, 79.1, 93.2, 95.4, 91.6, 89.3, 77.8, 93.6, 79.2, 93.9, 80.9, 86.8)),
        ),
    ),
    "luo2017_table5": DISTable(
        title="Comparisons on IDW test set.",
        split="noisy_test",
        rows=(
        DISRow('1. t_tr = 0', 'ttr0', 0, (48.0, 39.7, 64.3, 23.4, 43.2, 57.6, 55.8, 60.8, 27.9, 61.3, 43.6, 69.2, 74.5, 59.2, 75.8, 31.8, 52.4, 29.1, 30.5, 62.6, 51.6)),
        DISRow('2. t_tr = 10, t_ts = 0', 'ttr10', 0, (58.5, 43.2, 67.1, 22.4, 52.3, 63.9, 59.7, 71.0, 38.0, 74.1, 45.6, 74.9, 74.4, 67.1, 80.4, 36.2, 47.9, 26.7, 38.8, 64.8, 56.6)),
        DISRow('3. t_tr = 10, t_ts = 10', 'ttr10', 10, (63.7, 47.0, 72.5, 23.7, 51.5, 66.4, 58.4, 70.3, 35.5, 80.0, 47.9, 73.1, 71.4, 67.7, 82.1, 33.2, 55.1, 31.2, 33.0, 66.8, 58.0)),
        DISRow('4. t_tr = 10, t_ts = 30', 'ttr10', 30, (66.8, 39.6, 72.3, 21.4, 57.1, 68.8, 62.5, 72.2, 33.6, 75.6, 50.7, 75.6, 78.0, 68.4, 79.9, 32.5, 57.3, 33.4, 39.0, 70.7, 59.0)),
        DISRow('5. t_tr = 30, t_ts = 0', 'ttr30', 0, (62.7, 44.4, 72.5, 26.8, 54.3, 65.7, 60.7, 71.8, 38.3, 62.6, 48.2, 75.4, 74.7, 68.4, 80.5, 34.4, 49.2, 26.1, 39.1, 68.9, 57.5)),
        DISRow('6. t_tr = 30, t_ts = 10', 'ttr30', 10, (61.9, 49.6, 68.2, 29.6, 48.8, 66.4, 63.8, 73.7, 35.6, 72.1, 48.8, 76.8, 76.7, 68.9, 81.6, 44.8, 44.8, 33.6, 33.6, 66.4, 58.8)),
        DISRow('7. t_tr = 30, t_ts = 30', 'ttr30', 30, (61.7, 47.0, 68.6, 31.9, 54.2, 72.5, 66.5, 71.3, 39.1, 66.0, 54.1, 78.9, 80.6, 69.2, 84.7, 43.0, 44.9, 32.4, 40.2, 59.1, 59.8)),
        DISRow('ResNet101', 'stage1', 0, (50.9, 42.0, 67.9, 17.4, 46.4, 65.4, 59.6, 64.8, 32.5, 21.1, 45.8, 69.7, 74.3, 61.2, 79.7, 25.2, 40.0, 23.8, 34.6, 57.6, 50.6)),
        DISRow('ResNet101, continued (control)', 'continued', 0, (None,) * 21),
        DISRow('WSSL+IDW', None, 0, (51.4, 42.5, 61.6, 17.0, 48.4, 62.4, 58.3, 65.8, 34.2, 30.8, 47.3, 70.5, 75.1, 60.5, 80.4, 34.8, 43.6, 24.6, 33.4, 65.9, 52.0)),
        ),
    ),
}
# fmt: on

# luo2017 Figure 5's columns, (t_tr, t_ts): the models the figure shows where the t_tr grid has them
FIGURE5_SETUPS = ((0, 0), (5, 0), (10, 10), (30, 30))


def figure5_setups(t_tr: list[int], t_ts: list[int]) -> list[tuple[int, int]]:
    """The (t_tr, t_ts) Figure 5 shows for a configured grid: the paper's setups whose t_tr was trained,
    else (a grid that trains none of them) up to four of the grid's t_tr, each at the largest t_ts."""
    setups = [(tr, ts) for tr, ts in FIGURE5_SETUPS if tr in t_tr]
    return setups or [(tr, max(t_ts)) for tr in sorted(t_tr)[:4]]


# Every paper table the workflow writes (results/tables/<name>.csv): sun2018's Tables 1-4, luo2017's
# Tables 3 and 5, its Table 4 (cost) and the weak-pool analysis of Section 3.1
PAPER_TABLES = (*TABLES, *LUO_TABLES, "luo2017_table4", "luo2017_weak")
