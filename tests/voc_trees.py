"""Tiny source trees in the real formats (VOC2012 devkit, SBD's benchmark_RELEASE, seg11valid, IDW) for tests.

The lists mirror the real relations at a small size: SBD overlaps VOC12 train and VOC12 val, seg11valid
lies in VOC12 val, one SBD image exists only in SBD's img/ folder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.io
import scipy.sparse
from PIL import Image

from tagseg.data.splits import Sources
from tagseg.data.voc import write_ids, write_mask

VOC_TRAIN = ["2007_000001", "2007_000002", "2007_000003", "2007_000004"]
VOC_VAL = ["2007_000101", "2007_000102", "2007_000103", "2007_000104"]
SBD_TRAIN = ["2007_000001", "2007_000002", "2008_000001", "2008_000002", "2008_000003", "2008_000004", "2007_000101"]
SBD_VAL = ["2008_000005", "2008_000006", "2007_000003"]
SEG11VALID = ["2007_000101", "2007_000102"]
SBD_ONLY_IMAGE = "2008_000006"  # in SBD's img/ but not VOC2012's JPEGImages
# trainaug = (VOC12 train | SBD train | SBD val) - VOC12 val
TRAINAUG = sorted((set(VOC_TRAIN) | set(SBD_TRAIN) | set(SBD_VAL)) - set(VOC_VAL))


def image_shape(image_id: str) -> tuple[int, int]:
    """Images differ in size, as VOC's do."""
    return 12 + int(image_id[-1]) % 3 * 2, 16


def object_class(image_id: str, source: str) -> int:
    """The class of the one object in an image's labelmap; SBD's differs from VOC12's for the same image."""
    return 1 + (int(image_id[-3:]) * 3 + (7 if source == "sbd" else 0)) % 20


def labelmap(image_id: str, source: str) -> np.ndarray:
    h, w = image_shape(image_id)
    mask = np.zeros((h, w), dtype=np.uint8)
    mask[3:9, 4:12] = object_class(image_id, source)
    if source == "voc":  # VOC's void border; SBD has none
        mask[3, 4:12] = 255
    return mask


def write_jpeg(path: Path, shape: tuple[int, int], seed: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 256, size=(*shape, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, quality=90)


def write_sbd_mat(path: Path, segmentation: np.ndarray, *, variable: str = "GTcls") -> None:
    """A ``cls/*.mat`` in SBD's struct layout: GTcls with Segmentation, Boundaries (sparse, per class), CategoriesPresent."""
    path.parent.mkdir(parents=True, exist_ok=True)
    boundaries = np.empty((20, 1), dtype=object)
    for c in range(20):
        boundaries[c, 0] = scipy.sparse.csc_matrix(segmentation.shape, dtype=bool)
    present = np.unique(segmentation[(segmentation > 0) & (segmentation < 255)]).astype(np.uint8)
    scipy.io.savemat(
        path, {variable: {"Segmentation": segmentation, "Boundaries": boundaries, "CategoriesPresent": present}}
    )


def make_sources(root: Path) -> Sources:
    """VOCdevkit/VOC2012, benchmark_RELEASE/dataset and seg11valid.txt under ``root``, as the download rules leave them."""
    voc = root / "VOCdevkit" / "VOC2012"
    sbd = root / "benchmark_RELEASE" / "dataset"
    everything = sorted(set(VOC_TRAIN) | set(VOC_VAL) | set(SBD_TRAIN) | set(SBD_VAL))
    for n, image_id in enumerate(everything):
        if image_id != SBD_ONLY_IMAGE:
            write_jpeg(voc / "JPEGImages" / f"{image_id}.jpg", image_shape(image_id), n)
        if image_id in SBD_TRAIN or image_id in SBD_VAL:
            write_jpeg(sbd / "img" / f"{image_id}.jpg", image_shape(image_id), n)
            write_sbd_mat(sbd / "cls" / f"{image_id}.mat", labelmap(image_id, "sbd"))
    (voc / "SegmentationClass").mkdir(parents=True)
    for image_id in VOC_TRAIN + VOC_VAL:
        write_mask(voc / "SegmentationClass" / f"{image_id}.png", labelmap(image_id, "voc"))
    write_ids(voc / "ImageSets" / "Segmentation" / "train.txt", VOC_TRAIN)
    write_ids(voc / "ImageSets" / "Segmentation" / "val.txt", VOC_VAL)
    write_ids(voc / "ImageSets" / "Segmentation" / "trainval.txt", VOC_TRAIN + VOC_VAL)
    write_ids(sbd / "train.txt", SBD_TRAIN)
    write_ids(sbd / "val.txt", SBD_VAL)
    write_ids(root / "archives" / "seg11valid.txt", SEG11VALID)
    return Sources(voc2012=voc, sbd=sbd, seg11valid=root / "archives" / "seg11valid.txt")


IDW_TAGS = {"web_001": ["person", "horse"], "web_002": ["dog"], "web_003": []}
IDW_TEST = ["t01", "t02"]


def make_idw(root: Path, *, test: bool = True) -> Path:
    """An IDW folder in tagseg.data.idw's format: images/, tags.txt, and optionally test/{images,masks}."""
    for n, image_id in enumerate(IDW_TAGS):
        write_jpeg(root / "images" / f"{image_id}.jpg", (10, 14), 100 + n)
    lines = ["# IDW tags: <id> <class> ..."] + [" ".join([i, *names]) for i, names in IDW_TAGS.items()]
    (root / "tags.txt").write_text("\n".join(lines) + "\n")
    if test:
        (root / "test" / "masks").mkdir(parents=True)
        for n, image_id in enumerate(IDW_TEST):
            write_jpeg(root / "test" / "images" / f"{image_id}.jpg", (10, 14), 200 + n)
            mask = np.zeros((10, 14), dtype=np.uint8)
            mask[2:6, 2:6], mask[6:9, 8:12] = 15, 12  # person and dog: several classes per image
            write_mask(root / "test" / "masks" / f"{image_id}.png", mask)
    return root
