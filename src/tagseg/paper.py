"""The papers' reported numbers, row by row, with the (arch, variant) that reproduces each row.

Values are in percent, as printed. A row's ``key`` names the runs our pipeline makes for it;
a table CSV puts our mean over seeds beside each of these.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PaperRow:
    label: str  # the paper's row label, verbatim
    key: str  # "<arch>/<variant>": the runs that reproduce this row
    values: tuple[float, ...]  # the paper's numbers, in the table's column order


@dataclass(frozen=True)
class PaperTable:
    title: str  # the paper's caption
    split: str  # which of our splits the numbers are measured on
    columns: tuple[str, ...]  # metric names, in the paper's order (keys of tagseg.metrics.scores)
    rows: tuple[PaperRow, ...]


FOUR_METRICS = ("PA", "MPA", "FWAA", "mIoU")

TABLES = {
    "sun2018_table1": PaperTable(
        title="Ablation study on PASCAL VOC 2011 validation set.",
        split="val",
        columns=FOUR_METRICS,
        rows=(
            PaperRow("FCN-32s", "fcn32s/base", (89.1, 73.3, 81.4, 59.4)),
            PaperRow("FCN-32s+image label", "fcn32s/label", (93.6, 87.4, 88.5, 74.9)),
            PaperRow("FCN-32s+generator", "fcn32s/gen", (90.7, 75.5, 83.8, 63.8)),
            PaperRow("FCN-32s+label+gen", "fcn32s/label_gen", (93.9, 87.5, 89.1, 75.7)),
        ),
    ),
}
