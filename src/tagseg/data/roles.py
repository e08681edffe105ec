"""Which splits a data source has and which plays each of the papers' data roles.

Plain Python: the Snakefile reads it to learn the rules' inputs (tagseg.data.splits builds the voc
scale's splits; tagseg.data.synthetic writes the synthetic ones; tagseg.data.folder imports a user's).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

# The synthetic dataset's splits, in the order of their random streams: append new splits at the end only.
SYNTHETIC_SPLITS = ("train", "val", "test", "weak_clean", "weak_noisy", "noisy_test")


@dataclass(frozen=True)
class DatasetSplits:
    """The splits a data source provides, and which of them plays each role in the workflow's rules."""

    names: tuple[str, ...]  # every split of the dataset (each gets a cache and the classifier's probabilities)
    sun2018_train: str  # the FCNs' and the classifier's training split
    luo2017_train: str  # DIS's pixel-labelled training split
    weak_pools: tuple[str, ...]  # DIS stage 2's tag-only pools
    withheld_pools: tuple[str, ...]  # weak pools whose masks are kept aside, for measuring inference in training
    missing: dict[str, str]  # split the papers use -> why this source has none (luo2017 Table 5 says so)
    validation: str = "val"  # the split settings are chosen on (DIS's inference step size); never the test split


# data.source folder: where each layout keeps its images, masks and split lists (tagseg.data.folder reads them)
FOLDER_LAYOUTS = {
    "folder": {"images": "images", "masks": "masks", "splits": "splits"},
    "voc": {"images": "JPEGImages", "masks": "SegmentationClass", "splits": "ImageSets/Segmentation"},
}

# What a user's dataset lacks that the papers use, and what is left out for it (the tables say so)
NO_NOISY_TEST = "the dataset has no pixel-labelled test set with noisy tags"
NO_WEAK_POOL = (
    "the dataset has no weak pool (images with image-level tags only) for the semi-supervised stage to learn from"
)
NO_WITHHELD_POOL = "no weak pool has masks to measure inference against (folder.withhold sets one aside)"


def dataset_splits(source: str, idw: str | os.PathLike | None = None, folder: dict | None = None) -> DatasetSplits:
    """What the workflow reads from a ``data.source``; ``idw`` is the voc scale's IDW folder, if supplied;
    ``folder`` the config's folder section (source folder: its weak pools are those it names)."""
    if source == "synthetic":
        pools = ("weak_clean", "weak_noisy")
        return DatasetSplits(SYNTHETIC_SPLITS, "train", "train", pools, pools, {})
    if source == "folder":
        folder = folder or {}
        pools = tuple(p for p in ("weak_clean", "weak_noisy")
                      if folder.get(p) or (p == "weak_clean" and folder.get("withhold")))  # fmt: skip
        withheld = ("weak_clean",) if folder.get("withhold") else ()
        missing = {"noisy_test": NO_NOISY_TEST}
        if not withheld:
            missing["weak_withheld"] = NO_WITHHELD_POOL
        if not pools:
            missing["weak_pools"] = NO_WEAK_POOL
        return DatasetSplits(("train", "val", "test", *pools), "train", "train", pools, withheld, missing)
    if source != "voc":
        raise ValueError(f"config key 'data.source': {source!r} is not one of ['synthetic', 'voc', 'folder']")
    names = ["trainaug", "val", "test", "train", "weak_clean"]
    missing = {}
    if idw is None:
        missing = {"weak_noisy": "IDW not supplied", "noisy_test": "IDW not supplied"}
    else:
        names.append("weak_noisy")
        if (Path(idw) / "test" / "masks").is_dir():
            names.append("noisy_test")
        else:
            missing["noisy_test"] = "IDW test set not supplied"
    # IDW's web images have no masks: only the SBD pool can be scored against withheld ones
    return DatasetSplits(tuple(names), "trainaug", "train", tuple(n for n in names if n.startswith("weak")),
                         ("weak_clean",), missing)  # fmt: skip
