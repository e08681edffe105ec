"""Image Descriptions in the Wild (IDW, luo2017's noisy-tag data): the input format a user who holds it supplies.

IDW has no public download. Point the config at a folder laid out as::

    <idw>/images/<id>.jpg          the web images of the weak pool (luo2017: about 40k)
    <idw>/tags.txt                 one image a line: "<id> <class> <class> ..." with VOC's object class
                                   names (aeroplane ... tvmonitor), space-separated; an image whose
                                   description names no VOC class is a line with its id alone;
                                   blank lines and lines starting with '#' are skipped
    <idw>/test/images/<id>.jpg     optional: the labelled IDW test set (luo2017 Table 5: 1k images)
    <idw>/test/masks/<id>.png      its masks, P-mode PNGs of VOC class indices (0-20, 255 void)

The weak pool becomes the ``weak_noisy`` split (tags only), the test set ``noisy_test`` (tags from
its masks). Without IDW the voc scale trains with the SBD weak pool alone and luo2017 Table 5 says
"not run: IDW not supplied". Ids are prefixed ``idw_`` in the dataset so they never meet VOC's.

    python -m tagseg.data.idw --root /data/idw      # check a folder and count what it holds
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tagseg.core.classes import OBJECT_CLASSES
from tagseg.core.cli import command
from tagseg.data.voc import check_id, read_text_file

ID_PREFIX = "idw_"


@dataclass(frozen=True)
class IDW:
    """What an IDW folder holds: weak-pool ids with their (n, 20) tags, and test ids (empty if none)."""

    root: Path
    ids: list[str]
    tags: np.ndarray
    test_ids: list[str]

    def image(self, image_id: str) -> Path:
        return self.root / "images" / f"{image_id}.jpg"

    def test_image(self, image_id: str) -> Path:
        return self.root / "test" / "images" / f"{image_id}.jpg"

    def test_mask(self, image_id: str) -> Path:
        return self.root / "test" / "masks" / f"{image_id}.png"


def parse_tag_file(path: str | os.PathLike) -> tuple[list[str], np.ndarray]:
    """Ids and (n, 20) uint8 tags of an IDW ``tags.txt``; an error names the file, line and what was expected."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: IDW tag file missing (expected '<id> <class> ...' lines)")
    column = {name: c for c, name in enumerate(OBJECT_CLASSES)}
    ids: list[str] = []
    rows: list[np.ndarray] = []
    seen: dict[str, int] = {}
    for n, line in enumerate(read_text_file(path).splitlines(), start=1):
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        if any(mark in line for mark in ",;:"):  # a CSV or "id: tags" file would otherwise read as odd ids
            raise ValueError(f"{path}:{n}: expected '<id> <class> ...' separated by spaces, got {line.strip()!r}")
        image_id, names = fields[0], fields[1:]
        check_id(image_id, f"{path}:{n}")
        unknown = [name for name in names if name not in column]
        if unknown:
            raise ValueError(f"{path}:{n}: expected '<id> <class> ...' with VOC class names, got {unknown[0]!r} in "
                             f"{line.strip()!r}{_spelling_hint(unknown[0])}")  # fmt: skip
        if image_id in seen:
            raise ValueError(f"{path}:{n}: id {image_id!r} listed again (first on line {seen[image_id]})")
        seen[image_id] = n
        row = np.zeros(len(OBJECT_CLASSES), dtype=np.uint8)
        row[[column[name] for name in names]] = 1
        ids.append(image_id)
        rows.append(row)
    if not ids:
        raise ValueError(f"{path}: no images listed (expected '<id> <class> ...' lines)")
    return ids, np.stack(rows)


# other datasets' names for VOC's classes (COCO's, ImageNet's), which a tag file made with them holds
SYNONYMS = {"airplane": "aeroplane", "plane": "aeroplane", "motorcycle": "motorbike",
            "couch": "sofa", "tv": "tvmonitor", "monitor": "tvmonitor", "television": "tvmonitor",
            "table": "diningtable", "dining_table": "diningtable", "potted_plant": "pottedplant",
            "plant": "pottedplant", "people": "person", "human": "person"}  # fmt: skip


def _spelling_hint(name: str) -> str:
    """``; did you mean 'dog'?`` for a VOC class written another way (case, another dataset's name, a typo)."""
    key = name.lower().replace("-", "_").replace("/", "")
    guess = key if key in OBJECT_CLASSES else SYNONYMS.get(key)
    if guess is None:
        close = difflib.get_close_matches(key, OBJECT_CLASSES, n=1, cutoff=0.75)
        guess = close[0] if close else None
    classes = f"(the classes: {' '.join(OBJECT_CLASSES)})"
    return f"; did you mean {guess!r}? {classes}" if guess else f" {classes}"


def read_idw(root: str | os.PathLike) -> IDW:
    """Check an IDW folder (tag file, an image per id, the optional test set's image per mask) and read it."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: IDW folder missing (config data.idw)")
    ids, tags = parse_tag_file(root / "tags.txt")
    idw = IDW(root=root, ids=ids, tags=tags, test_ids=[])
    missing = [image_id for image_id in ids if not idw.image(image_id).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{root / 'tags.txt'}: id {missing[0]!r} has no image {idw.image(missing[0])} ({len(missing)} ids without one)"
        )
    masks = root / "test" / "masks"
    test_ids = sorted(path.stem for path in masks.glob("*.png")) if masks.is_dir() else []
    if (root / "test").exists() and not test_ids:
        raise ValueError(f"{masks}: IDW test folder has no masks (expected test/masks/<id>.png)")
    missing = [image_id for image_id in test_ids if not idw.test_image(image_id).is_file()]
    if missing:
        raise FileNotFoundError(f"{idw.test_mask(missing[0])}: mask has no image {idw.test_image(missing[0])}")
    return IDW(root=root, ids=ids, tags=tags, test_ids=test_ids)


@command
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tagseg.data.idw", description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", required=True, help="the IDW folder (images/, tags.txt, optional test/)")
    args = parser.parse_args(argv)
    idw = read_idw(args.root)
    per_image = idw.tags.sum(1).mean()
    print(f"{args.root}: {len(idw.ids)} weak images ({per_image:.2f} tags per image), {len(idw.test_ids)} test images")
    return 0


if __name__ == "__main__":
    sys.exit(main())
