"""Hariharan et al.'s Semantic Boundaries Dataset (SBD, "VOC augment"): class labelmaps to VOC masks.

Layout (``benchmark_RELEASE/dataset`` of ``benchmark.tgz``)::

    img/<id>.jpg          RGB images (VOC2011 trainval images; VOC2012's JPEGImages holds them too)
    cls/<id>.mat          MATLAB struct GTcls: Segmentation (H, W) uint8 class indices 0-20,
                          Boundaries, CategoriesPresent
    train.txt, val.txt    ids, one a line (8,498 and 2,857)

SBD's labelmaps have no void border: every pixel is a class. They are written as P-mode PNGs with
the VOC palette (:func:`tagseg.data.voc.write_mask`), which the reader takes like any VOC mask.

    python -m tagseg.data.sbd --sbd data/resources/benchmark_RELEASE/dataset --split train --out sbd_png
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import scipy.io

from tagseg.core.classes import IGNORE_INDEX, NUM_CLASSES
from tagseg.data.voc import read_id_list, write_mask
from tagseg.core.cli import command

SBD_SPLITS = ("train", "val")


def read_sbd_ids(sbd: str | os.PathLike, split: str) -> list[str]:
    """Ids of SBD's ``train`` or ``val`` list; an error names the list if it is missing or empty."""
    return read_id_list(
        Path(sbd) / f"{split}.txt", f"SBD split list missing (expected benchmark_RELEASE/dataset/{split}.txt)"
    )


def read_sbd_labelmap(path: str | os.PathLike) -> np.ndarray:
    """The (H, W) uint8 class labelmap ``GTcls.Segmentation`` of one SBD ``cls/*.mat`` file, checked."""
    path = Path(path)
    try:
        # squeeze_me / struct_as_record=False: GTcls comes back as an object with one attribute per field
        mat = scipy.io.loadmat(path, squeeze_me=True, struct_as_record=False)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: SBD labelmap missing") from None
    except Exception as error:  # scipy raises ValueError, TypeError or MatReadError on a damaged file
        raise ValueError(f"{path}: not a readable MATLAB file ({type(error).__name__}: {error})") from None
    if "GTcls" not in mat:
        found = sorted(k for k in mat if not k.startswith("__"))
        raise ValueError(f"{path}: no 'GTcls' struct (SBD's cls/*.mat layout); found {found}")
    labelmap = getattr(mat["GTcls"], "Segmentation", None)
    if labelmap is None:
        raise ValueError(f"{path}: 'GTcls' has no 'Segmentation' field (SBD's cls/*.mat layout)")
    labelmap = np.asarray(labelmap)
    if labelmap.ndim != 2 or not np.issubdtype(labelmap.dtype, np.integer):
        raise ValueError(
            f"{path}: GTcls.Segmentation is {labelmap.dtype} of shape {labelmap.shape}; expected a 2-D integer labelmap"
        )
    bad = np.setdiff1d(np.unique(labelmap), [*range(NUM_CLASSES), IGNORE_INDEX])
    if bad.size:
        raise ValueError(f"{path}: labels {bad.tolist()} are neither classes 0-20 nor void 255")
    return labelmap.astype(np.uint8)


def convert_labelmap(
    mat_path: str | os.PathLike, png_path: str | os.PathLike, image_size: tuple[int, int] | None = None
) -> None:
    """Write one SBD labelmap as a VOC P-mode PNG (temp name, then renamed); ``image_size`` (H, W) is checked."""
    labelmap = read_sbd_labelmap(mat_path)
    if image_size is not None and labelmap.shape != tuple(image_size):
        raise ValueError(f"{mat_path}: labelmap size {labelmap.shape} != its image's {tuple(image_size)}")
    png_path = Path(png_path)
    tmp = png_path.with_name(f".{png_path.stem}.tmp.png")  # PIL picks the format from the suffix
    try:
        write_mask(tmp, labelmap)
        os.replace(tmp, png_path)
    finally:
        tmp.unlink(missing_ok=True)


def convert_split(sbd: str | os.PathLike, split: str, out_dir: str | os.PathLike) -> int:
    """Convert every labelmap of an SBD split into ``out_dir/<id>.png``; returns how many."""
    sbd, out = Path(sbd), Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ids = read_sbd_ids(sbd, split)
    for image_id in ids:
        convert_labelmap(sbd / "cls" / f"{image_id}.mat", out / f"{image_id}.png")
    return len(ids)


@command
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tagseg.data.sbd",
        description="Convert SBD's cls/*.mat labelmaps (GTcls.Segmentation) into VOC P-mode PNG masks.",
    )
    parser.add_argument(
        "--sbd", required=True, help="SBD's benchmark_RELEASE/dataset folder (img/, cls/, train.txt, val.txt)"
    )
    parser.add_argument("--split", required=True, choices=SBD_SPLITS, help="which SBD list to convert")
    parser.add_argument("--out", required=True, help="folder to write <id>.png into")
    args = parser.parse_args(argv)
    count = convert_split(args.sbd, args.split, args.out)
    print(f"converted {count} SBD labelmaps of '{args.split}' into {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
