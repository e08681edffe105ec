"""The two papers' data roles built from VOC2012 + SBD (+ IDW when supplied), as one VOC-layout dataset.

Sources (downloaded and extracted by the workflow's download rules, or placed by the user)::

    VOCdevkit/VOC2012                    JPEGImages, SegmentationClass, ImageSets/Segmentation/{train,val}.txt
    benchmark_RELEASE/dataset            SBD: img/, cls/*.mat, train.txt, val.txt (tagseg.data.sbd)
    seg11valid.txt                       the FCN authors' 736 VOC2011 val ids not in SBD train
    <idw>                                optional, tagseg.data.idw's format

trainaug = (VOC12 train ∪ SBD train ∪ SBD val) − VOC12 val, 10,582 images on the real data (checked
whenever the VOC12 lists have their real sizes). The splits written, under the names the workflow's
rules read (``ImageSets/Segmentation`` for pixel-labelled ones, ``ImageSets/Main`` for tag-only pools):

    trainaug     sun2018 train: trainaug − seg11valid (seg11valid lies in VOC12 val, so all 10,582)
    val          sun2018 val: seg11valid (736)
    test         both papers' test: VOC12 val (1,449), a labelled stand-in for VOC12 test
    train        luo2017 pixel-labelled: VOC12 train (1,464)
    weak_clean   luo2017 clean-tag pool: trainaug − VOC12 train (9,118), tags only; its masks in
                 SegmentationClassWithheld for analysis, as the synthetic generator writes weak pools
    weak_noisy   luo2017 noisy-tag pool: IDW's images and tags (only with IDW)
    noisy_test   luo2017 Table 5: IDW's labelled test set (only with IDW's test/)

Masks: VOC12's own wherever it has one (with its void borders), else SBD's labelmap converted to a
P-mode PNG. Images and VOC12 masks are hard links into the sources (copies across file systems).
Every split gets VOC tag files (``Main/<class>_<split>.txt``) derived from its masks, except
weak_noisy, whose tags are IDW's. ``dataset.json`` is written last.

    python -m tagseg.data.splits --voc2012 data/resources/VOCdevkit/VOC2012 \\
        --sbd data/resources/benchmark_RELEASE/dataset --seg11valid data/resources/seg11valid.txt --out data/voc
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image, UnidentifiedImageError

from tagseg.data.idw import ID_PREFIX, IDW, read_idw
from tagseg.data.sbd import SBD_SPLITS, read_sbd_labelmap, read_sbd_ids
from tagseg.data.voc import VOC_SUBDIR, read_id_list, read_mask, tags_from_mask, write_ids, write_mask, write_tag_files
from tagseg.core.cli import command

# Sizes on the real data: VOC2012 train and val, seg11valid, and the trainaug they give with SBD.
REAL_SIZES = {"voc12_train": 1464, "voc12_val": 1449, "seg11valid": 736, "trainaug": 10582}
GENERATOR = "tagseg.data.splits"


@dataclass(frozen=True)
class Sources:
    """Where the raw data lies: VOC2012's devkit folder, SBD's dataset folder, seg11valid, IDW (optional)."""

    voc2012: Path
    sbd: Path
    seg11valid: Path
    idw: Path | None = None


@dataclass(frozen=True)
class Roles:
    """Every split's ids, and which masks come from SBD (id -> .mat) rather than VOC2012."""

    splits: dict[str, list[str]]
    sbd_masks: dict[str, Path]
    real_data: bool


def _require(list_path: Path, ids: list[str], files: dict[str, Callable[[str], list[Path]]]) -> None:
    """Every id of a list has each kind of file; else an error naming the list, the id and the file."""
    for image_id in ids:
        for kind, where in files.items():
            candidates = where(image_id)
            if not any(path.is_file() for path in candidates):
                raise FileNotFoundError(f"{list_path}: id '{image_id}' has no {kind} ({candidates[0]})")


def plan_roles(sources: Sources, idw: IDW | None = None) -> Roles:
    """Read and check the lists, and work out every split's ids (no file is written)."""
    voc, sbd = Path(sources.voc2012), Path(sources.sbd)
    segmentation = voc / "ImageSets" / "Segmentation"

    def image(i: str) -> list[Path]:  # VOC2012 holds every SBD image; SBD's own copy will do
        return [voc / "JPEGImages" / f"{i}.jpg", sbd / "img" / f"{i}.jpg"]

    def voc_mask(i: str) -> list[Path]:
        return [voc / "SegmentationClass" / f"{i}.png"]

    def labelmap(i: str) -> list[Path]:
        return [sbd / "cls" / f"{i}.mat"]

    lists = {"train": segmentation / "train.txt", "val": segmentation / "val.txt"}
    voc_ids = {name: read_id_list(path) for name, path in lists.items()}
    for name, path in lists.items():
        _require(path, voc_ids[name], {"image": image, "mask": voc_mask})
    sbd_ids = {name: read_sbd_ids(sbd, name) for name in SBD_SPLITS}
    for name in SBD_SPLITS:
        _require(sbd / f"{name}.txt", sbd_ids[name], {"image": image, "labelmap": labelmap})
    seg11valid = read_id_list(Path(sources.seg11valid))
    _require(Path(sources.seg11valid), seg11valid, {"image": image, "mask": voc_mask})

    voc_val = set(voc_ids["val"])
    trainaug = sorted((set(voc_ids["train"]) | set(sbd_ids["train"]) | set(sbd_ids["val"])) - voc_val)
    sizes = {"voc12_train": len(voc_ids["train"]), "voc12_val": len(voc_val), "seg11valid": len(seg11valid),
             "trainaug": len(trainaug)}  # fmt: skip
    # the real lists are recognised by VOC12 val's size and held to the papers' counts; other lists
    # (a subset, a test tree) are used as they are, and the log says that no count was checked
    wrong = ", ".join(f"{k} {v} (expected {REAL_SIZES[k]})" for k, v in sizes.items() if v != REAL_SIZES[k])
    if sizes["voc12_val"] == REAL_SIZES["voc12_val"] and wrong:
        raise ValueError(
            f"{segmentation}: VOC2012 + SBD give {wrong}; are the lists from VOC2012 and SBD's benchmark.tgz?"
        )
    if wrong:
        print(f"warning: {segmentation}: not the full VOC2012 + SBD lists ({wrong}); the splits are built from them as "
              f"they are, and the papers' counts are not checked", file=sys.stderr)  # fmt: skip
    else:
        print(f"VOC2012 + SBD give the papers' counts: trainaug {sizes['trainaug']}, seg11valid {sizes['seg11valid']}")
    sun2018_train = sorted(set(trainaug) - set(seg11valid))
    splits = {
        "trainaug": sun2018_train,
        "val": seg11valid,
        "test": voc_ids["val"],
        "train": voc_ids["train"],
        "weak_clean": sorted(set(trainaug) - set(voc_ids["train"])),
    }
    if idw is not None:
        splits["weak_noisy"] = [ID_PREFIX + i for i in idw.ids]
        if idw.test_ids:
            splits["noisy_test"] = [ID_PREFIX + i for i in idw.test_ids]
    for name, ids in splits.items():
        if not ids:
            raise ValueError(f"{segmentation}: split '{name}' would be empty with these lists")
    labelled = {i for name in ("trainaug", "val", "test", "train") for i in splits[name]}
    sbd_masks = {i: sbd / "cls" / f"{i}.mat" for i in sorted(labelled) if not voc_mask(i)[0].is_file()}
    return Roles(splits=splits, sbd_masks=sbd_masks, real_data=not wrong)


def _link(source: Path, target: Path) -> None:
    """A hard link (no copy of VOC's 2 GB), or a copy where the two lie on different file systems."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _image_size(path: Path) -> tuple[int, int]:
    """(height, width) from an image file's header, or an error naming the file."""
    try:
        with Image.open(path) as image:
            return image.height, image.width
    except (UnidentifiedImageError, OSError) as error:
        raise ValueError(f"{path}: not a readable JPEG image ({error})") from None


def build(sources: Sources, out_root: str | os.PathLike) -> dict:
    """Write the VOC-layout dataset under ``<out_root>/VOCdevkit/VOC2012`` and ``dataset.json``; returns the summary.

    Everything is written in ``<out_root>/.staging`` and moved into place only on success, so a
    failed build leaves no tree that looks complete.
    """
    out_root = Path(out_root)
    marker = out_root / "dataset.json"
    if (out_root / "VOCdevkit").exists() and not (marker.exists() and GENERATOR in marker.read_text()):
        raise FileExistsError(f"{out_root}/VOCdevkit exists and was not made by {GENERATOR}; refusing to replace it")
    idw = read_idw(sources.idw) if sources.idw else None
    roles = plan_roles(sources, idw)
    voc12, sbd = Path(sources.voc2012), Path(sources.sbd)
    staging = out_root / ".staging"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        summary = _write(roles, voc12, sbd, idw, staging / VOC_SUBDIR)
        summary["sources"] = {k: str(v) if v else None for k, v in vars(sources).items()}
        (staging / "dataset.json").write_text(json.dumps(summary, indent=2))
        marker.unlink(missing_ok=True)  # the marker never stands beside a tree being replaced
        shutil.rmtree(out_root / "VOCdevkit", ignore_errors=True)
        (staging / "VOCdevkit").rename(out_root / "VOCdevkit")
        (staging / "dataset.json").replace(marker)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return summary


def _write(roles: Roles, voc12: Path, sbd: Path, idw: IDW | None, voc: Path) -> dict:
    for sub in (
        "JPEGImages",
        "SegmentationClass",
        "SegmentationClassWithheld",
        "ImageSets/Segmentation",
        "ImageSets/Main",
    ):
        (voc / sub).mkdir(parents=True)
    idw_images = {ID_PREFIX + i: idw.image(i) for i in idw.ids} if idw else {}
    idw_test = {ID_PREFIX + i: i for i in idw.test_ids} if idw else {}
    tags: dict[str, np.ndarray] = {}  # image id -> (20,) tags from its mask
    placed: set[str] = set()
    for name, ids in roles.splits.items():
        for image_id in ids:
            if image_id in placed:
                continue
            placed.add(image_id)
            if image_id in idw_images:  # a noisy-tag web image: no mask
                _link(idw_images[image_id], voc / "JPEGImages" / f"{image_id}.jpg")
                continue
            if image_id in idw_test:
                source, mask_path = idw.test_image(idw_test[image_id]), idw.test_mask(idw_test[image_id])
                mask = read_mask(mask_path.parent.parent, idw_test[image_id], folder="masks")
            else:
                source = voc12 / "JPEGImages" / f"{image_id}.jpg"
                source = source if source.is_file() else sbd / "img" / f"{image_id}.jpg"
                if image_id in roles.sbd_masks:
                    mask_path, mask = roles.sbd_masks[image_id], read_sbd_labelmap(roles.sbd_masks[image_id])
                else:
                    mask_path, mask = voc12 / "SegmentationClass" / f"{image_id}.png", read_mask(voc12, image_id)
            size = _image_size(source)
            if mask.shape != size:
                raise ValueError(f"{mask_path}: mask size {mask.shape} != image {source} {size}")
            _link(source, voc / "JPEGImages" / f"{image_id}.jpg")
            target = voc / "SegmentationClass" / f"{image_id}.png"
            if mask_path.suffix == ".mat":
                write_mask(target, mask)
            else:
                _link(mask_path, target)
            tags[image_id] = tags_from_mask(mask)
    for image_id in roles.splits["weak_clean"]:  # withheld from training, kept for analysis
        _link(voc / "SegmentationClass" / f"{image_id}.png", voc / "SegmentationClassWithheld" / f"{image_id}.png")
    weak_noisy_tags = dict(zip((ID_PREFIX + i for i in idw.ids), idw.tags)) if idw else {}
    for name, ids in roles.splits.items():
        kind = "Main" if name.startswith("weak") else "Segmentation"
        write_ids(voc / "ImageSets" / kind / f"{name}.txt", ids)
        split_tags = weak_noisy_tags if name == "weak_noisy" else tags
        write_tag_files(voc, name, ids, np.stack([split_tags[i] for i in ids]))
    return {
        "generator": GENERATOR,
        "splits": {name: len(ids) for name, ids in roles.splits.items()},
        "real_data": roles.real_data,
        "sbd_masks": len(roles.sbd_masks),
        "idw": idw is not None,
    }


@command
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tagseg.data.splits",
        description="Build sun2018's and luo2017's splits from VOC2012 + SBD (+ IDW) into one VOC-layout dataset.",
    )
    parser.add_argument("--voc2012", required=True, type=Path, help="VOCdevkit/VOC2012 of the VOC2012 trainval tar")
    parser.add_argument("--sbd", required=True, type=Path, help="benchmark_RELEASE/dataset of SBD's benchmark.tgz")
    parser.add_argument("--seg11valid", required=True, type=Path, help="the FCN authors' seg11valid.txt")
    parser.add_argument("--idw", type=Path, help="an IDW folder in tagseg.data.idw's format (optional)")
    parser.add_argument("--out", required=True, help="root to write VOCdevkit/VOC2012 and dataset.json into")
    args = parser.parse_args(argv)
    summary = build(Sources(args.voc2012, args.sbd, args.seg11valid, args.idw), args.out)
    print(f"wrote {args.out}: " + ", ".join(f"{name} {count}" for name, count in summary["splits"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
