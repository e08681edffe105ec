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
    variant: str  # a key of tagseg.sun2018.VARIANTS
    values: tuple[float, ...]  # the paper's numbers, in the table's column order
    labels: Literal["truth", "classifier"] = "truth"  # the image labels at test

    @property
    def key(self) -> str:
        """``<arch>/<variant>`` with ``+classifier`` when labels come from the classifier."""
        return f"{self.arch}/{self.variant}" + ("+classifier" if self.labels == "classifier" else "")


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
            PaperRow("FCN-32s", "fcn32s", "base", (89.1, 73.3, 81.4, 59.4)),
            PaperRow("FCN-32s+image label", "fcn32s", "label", (93.6, 87.4, 88.5, 74.9)),
            PaperRow("FCN-32s+generator", "fcn32s", "gen", (90.7, 75.5, 83.8, 63.8)),
            PaperRow("FCN-32s+label+gen", "fcn32s", "label_gen", (93.9, 87.5, 89.1, 75.7)),
        ),
    ),
    "sun2018_table2": PaperTable(
        title="Analysis of auxiliary loss on PASCAL VOC 2011 validation set.",
        split="val",
        columns=FOUR_METRICS,
        rows=(
            PaperRow("FCN-32s", "fcn32s", "base", (89.1, 73.3, 81.4, 59.4)),
            PaperRow("FCN-32s+dis", "fcn32s", "dis", (88.7, 68.9, 80.4, 60.6)),
            PaperRow("FCN-32s+gen", "fcn32s", "gen", (90.7, 75.5, 83.8, 63.8)),
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
        ),
    ),
}

# Figure 4: mIoU on test against tau for FCN-32s+label+gen (labels in training), the same network
# without labels as the baseline line. The paper gives these points in its text only.
FIGURE4 = {"arch": "fcn32s", "variant": "label_gen", "split": "test", "paper_best_tau": 0.25, "paper_gain_below_tau": 0.43}
