"""A small dataset of a user's own, as one usually comes: 5 classes (not VOC's), images of odd sizes
and aspect ratios (some grayscale, some PNG, some JPEG), single-channel index masks with a void value
of their own, split lists, and a tags file of images with image-level tags only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

CLASSES = ("background", "cell", "nucleus", "vessel", "debris")
VOID = 250
SIZES = ((53, 37), (45, 61), (64, 48), (41, 41), (70, 50))  # (width, height)
COLOURS = np.array([[40, 40, 40], [200, 60, 60], [60, 200, 60], [60, 60, 200], [200, 200, 60]], dtype=np.float64)
SPLIT_COUNTS = {"train": 16, "val": 6, "test": 6}
N_WEAK = 8


def _sample(rng: np.random.Generator, index: int) -> tuple[np.ndarray, np.ndarray, bool]:
    """(H, W, 3) uint8 image, (H, W) uint8 mask (void at the objects' edges), grayscale or not."""
    width, height = SIZES[index % len(SIZES)]
    mask = np.zeros((height, width), dtype=np.uint8)
    yy, xx = np.mgrid[:height, :width]
    first = 1 + index % (len(CLASSES) - 1)  # every class in every split of four images or more
    others = [c for c in range(1, len(CLASSES)) if c != first]
    for c in [first, *rng.choice(others, size=rng.integers(0, 2), replace=False)]:
        cy, cx = rng.integers(8, height - 8), rng.integers(8, width - 8)
        r = rng.integers(7, 13)
        distance = np.hypot(yy - cy, xx - cx)
        mask[distance < r] = c
        mask[(distance >= r) & (distance < r + 1) & (mask == 0)] = VOID
    image = COLOURS[np.where(mask == VOID, 0, mask)] + rng.normal(0, 12, (height, width, 3))
    return np.clip(image, 0, 255).astype(np.uint8), mask, index % 4 == 3


def make_folder_dataset(root: Path, seed: int = 0) -> Path:
    """The folder layout tagseg.data.folder reads by default, under ``root``; returns ``root``."""
    rng = np.random.default_rng(seed)
    for sub in ("images", "masks", "splits"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "classes.txt").write_text("# background first\n" + "\n".join(CLASSES) + "\n")
    index = 0
    for split, count in SPLIT_COUNTS.items():
        ids = []
        for _ in range(count):
            image_id = f"{split}_{index:03d}"
            image, mask, gray = _sample(rng, index)
            picture = Image.fromarray(image).convert("L") if gray else Image.fromarray(image)
            if index % 2:
                picture.save(root / "images" / f"{image_id}.png")
            else:
                picture.save(root / "images" / f"{image_id}.jpg", quality=92)
            Image.fromarray(mask, mode="L").save(root / "masks" / f"{image_id}.png")
            ids.append(image_id)
            index += 1
        (root / "splits" / f"{split}.txt").write_text("\n".join(ids) + "\n")
    lines = ["# id, then the object classes it shows"]
    for n in range(N_WEAK):
        image_id = f"weak_{n:03d}"
        image, mask, _ = _sample(rng, index)
        Image.fromarray(image).save(root / "images" / f"{image_id}.jpg", quality=92)
        present = [CLASSES[c] for c in np.unique(mask) if 0 < c < len(CLASSES)]
        if n % 3 == 0 and present:  # noisy: a missed tag
            present = present[1:]
        lines.append(" ".join([image_id, *present]))
        index += 1
    (root / "weak_tags.txt").write_text("\n".join(lines) + "\n")
    return root


if __name__ == "__main__":  # python -m tests.folder_data FOLDER: the README's worked example's dataset
    import sys

    if len(sys.argv) != 2:
        sys.exit("usage: python -m tests.folder_data FOLDER (a new folder for the example dataset)")
    if Path(sys.argv[1]).exists():
        sys.exit(f"{sys.argv[1]}: already exists; name a new folder")
    print(f"wrote {make_folder_dataset(Path(sys.argv[1]))}: {len(CLASSES)} classes, void {VOID}, tags in weak_tags.txt")
