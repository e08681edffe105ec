"""The built-in synthetic dataset, written in the real PASCAL VOC2012 layout.

The design (fixed before any model was trained on it; see docs/synthetic-data.md):

* 21 VOC classes. Each object class has an *appearance* (a base colour and a texture) and a
  *shape* (ellipse, rectangle or triangle). Five pairs of classes share one appearance and differ
  only in shape: cat/dog, cow/sheep, bus/car, bicycle/motorbike, chair/sofa. Inside such an object
  no pixel neighbourhood tells the two apart, but the whole object does, so an image-level label
  carries information a pixel-level classifier struggles to get (the mechanism of sun2018).
* The image is, up to texture, jitter and noise, a colouring of the labelmap, so a reconstruction
  from a labelmap can be informative (the mechanism of luo2017's subnet-2).
* Masks carry a void band (255) along every boundary between two labels, as VOC's do.
* Splits cover every data role both papers use: pixel-labelled train/val/test, a weak pool with clean
  tags, a weak pool with noisy tags (missing and spurious at set rates; the clean tags kept aside as
  ``*_truth`` tag files), and a labelled noisy-tag test set with more classes per image.
  Masks of the weak pools are withheld in ``SegmentationClassWithheld/`` for analysis only.

Every split draws from its own random stream (seed, split), so changing one split's size leaves the
others' images unchanged.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
from PIL import Image

from tagseg.core.cli import add_dataclass_arguments, command, dataclass_from_arguments
from tagseg.core.classes import IGNORE_INDEX, OBJECT_CLASSES
from tagseg.data.roles import SYNTHETIC_SPLITS
from tagseg.data.voc import VOC_SUBDIR, write_ids, write_mask, write_tag_files

# Pairs that look alike pixel by pixel; the first of each pair is an ellipse, the second a rectangle.
AMBIGUOUS_PAIRS = (("cat", "dog"), ("cow", "sheep"), ("bus", "car"), ("bicycle", "motorbike"), ("chair", "sofa"))
SHAPES = ("ellipse", "rectangle", "triangle")
TEXTURES = ("flat", "hstripes", "vstripes", "checker", "dots")


@dataclass(frozen=True)
class SyntheticConfig:
    seed: int = 0  # seeds every split's random stream
    image_size: int = 64  # images are image_size x image_size pixels
    n_train: int = 400  # pixel-labelled training images
    n_val: int = 100  # pixel-labelled validation images (sun2018 Tables 1-3)
    n_test: int = 200  # pixel-labelled test images (labelled stand-in for VOC12 test)
    n_weak_clean: int = 400  # tag-only pool with clean tags (luo2017's VOC-augment role)
    n_weak_noisy: int = 800  # tag-only pool with noisy tags (luo2017's IDW role)
    n_noisy_test: int = 100  # labelled test set with noisy tags and more classes (IDW test role)
    min_objects: int = 1  # objects per image, drawn uniformly in [min_objects, max_objects]
    max_objects: int = 3
    noisy_test_min_objects: int = 2  # the noisy-tag test set has more classes per image
    noisy_test_max_objects: int = 4
    missing_tag_rate: float = 0.2  # P(a present class is left out of a noisy tag list)
    spurious_tag_rate: float = 0.02  # P(an absent class is added to a noisy tag list)
    void_width: int = 1  # half-width in pixels of the 255 band along label boundaries
    jpeg_quality: int = 90

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name.startswith(("n_", "image_size", "min_", "max_", "noisy_test_m")) and value < 1:
                raise ValueError(f"synthetic.{f.name}: expected a positive integer, got {value}")
        for name in ("missing_tag_rate", "spurious_tag_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"synthetic.{name}: expected a rate in [0, 1], got {getattr(self, name)}")
        if self.min_objects > self.max_objects or self.noisy_test_min_objects > self.noisy_test_max_objects:
            raise ValueError("synthetic: min_objects must not exceed max_objects")


def class_appearances() -> dict[int, tuple[int, str]]:
    """Object class index (1-20) -> (appearance id, shape). Pairs share an appearance id."""
    index = {name: i + 1 for i, name in enumerate(OBJECT_CLASSES)}
    table: dict[int, tuple[int, str]] = {}
    appearance = 0
    for first, second in AMBIGUOUS_PAIRS:
        table[index[first]] = (appearance, "ellipse")
        table[index[second]] = (appearance, "rectangle")
        appearance += 1
    paired = {name for pair in AMBIGUOUS_PAIRS for name in pair}
    for k, name in enumerate(n for n in OBJECT_CLASSES if n not in paired):
        table[index[name]] = (appearance, SHAPES[k % len(SHAPES)])
        appearance += 1
    return table


def appearance_colour(appearance: int) -> np.ndarray:
    """A saturated RGB colour per appearance, hues 24 degrees apart (15 appearances)."""
    hue = (appearance * 24.0) % 360.0
    saturation, value = 0.75, 0.85
    c = value * saturation
    x = c * (1 - abs((hue / 60.0) % 2 - 1))
    sector = int(hue // 60)
    rgb = [(c, x, 0), (x, c, 0), (0, c, x), (0, x, c), (x, 0, c), (c, 0, x)][sector]
    return (np.asarray(rgb) + (value - c)) * 255.0


def texture(kind: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """(size, size) brightness modulation in [-1, 1] for a texture kind, at a random phase."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    period = 6.0
    phase = rng.uniform(0, period)
    if kind == "flat":
        return np.zeros((size, size))
    if kind == "hstripes":
        return np.sign(np.sin(2 * np.pi * (yy + phase) / period))
    if kind == "vstripes":
        return np.sign(np.sin(2 * np.pi * (xx + phase) / period))
    if kind == "checker":
        return np.sign(np.sin(np.pi * (xx + phase) / 4) * np.sin(np.pi * (yy + phase) / 4))
    # dots: bright spots on a grid
    d = np.hypot((xx + phase) % period - period / 2, (yy + phase) % period - period / 2)
    return np.where(d < 1.6, 1.0, -0.3)


def shape_mask(shape: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """(size, size) bool region of one object of a given shape, random size, position and angle."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64) + 0.5
    cy, cx = rng.uniform(0.2, 0.8, size=2) * size
    ry, rx = rng.uniform(0.14, 0.32, size=2) * size
    angle = rng.uniform(0, np.pi)
    # object-centred, rotated coordinates
    u = (xx - cx) * np.cos(angle) + (yy - cy) * np.sin(angle)
    v = -(xx - cx) * np.sin(angle) + (yy - cy) * np.cos(angle)
    if shape == "ellipse":
        return (u / rx) ** 2 + (v / ry) ** 2 <= 1.0
    if shape == "rectangle":
        return (np.abs(u) <= rx * 0.85) & (np.abs(v) <= ry * 0.85)
    # triangle: apex up in object coordinates
    return (v <= ry * 0.8) & (v >= -ry) & (np.abs(u) <= rx * (ry * 0.8 - v) / (1.8 * ry))


def void_band(labels: np.ndarray, width: int) -> np.ndarray:
    """Bool mask of pixels within ``width`` of a pixel with another label (VOC's border void)."""
    if width == 0:
        return np.zeros(labels.shape, dtype=bool)
    padded = np.pad(labels, width, mode="edge")
    h, w = labels.shape
    band = np.zeros(labels.shape, dtype=bool)
    for dy in range(2 * width + 1):
        for dx in range(2 * width + 1):
            band |= padded[dy : dy + h, dx : dx + w] != labels
    return band


def smooth_field(size: int, rng: np.random.Generator, cells: int = 4) -> np.ndarray:
    """(size, size) low-frequency noise in about [-1, 1]: a random grid upsampled bilinearly."""
    grid = rng.uniform(-1, 1, size=(cells, cells)).astype(np.float32)
    return np.asarray(Image.fromarray(grid, mode="F").resize((size, size), Image.BILINEAR), dtype=np.float64)


def render_image(n_objects: int, size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One image and its labelmap before the void band: ((H, W, 3) uint8, (H, W) uint8)."""
    table = class_appearances()
    background = rng.uniform(90, 170) + rng.uniform(-25, 25, size=3)  # a greyish, random tint
    image = background + 30.0 * smooth_field(size, rng)[..., None]
    labels = np.zeros((size, size), dtype=np.uint8)
    for cls in rng.integers(1, len(OBJECT_CLASSES) + 1, size=n_objects):
        appearance, shape = table[int(cls)]
        region = shape_mask(shape, size, rng)
        colour = appearance_colour(appearance) * rng.uniform(0.9, 1.1)  # per-instance brightness
        pattern = texture(TEXTURES[appearance % len(TEXTURES)], size, rng)
        image[region] = colour + 35.0 * pattern[region][:, None]
        labels[region] = cls
    image += rng.normal(0, 6.0, size=image.shape)
    return np.clip(image, 0, 255).astype(np.uint8), labels


def corrupt_tags(tags: np.ndarray, missing_rate: float, spurious_rate: float, rng: np.random.Generator) -> np.ndarray:
    """Noisy copy of (n, 20) tags: each present class dropped w.p. missing_rate, each absent added w.p. spurious_rate."""
    flip = rng.uniform(size=tags.shape)
    drop = (tags == 1) & (flip < missing_rate)
    add = (tags == 0) & (flip < spurious_rate)
    return np.where(drop, 0, np.where(add, 1, tags)).astype(np.uint8)


def generate(config: SyntheticConfig, root: str | Path) -> None:
    """Write the dataset under ``<root>/VOCdevkit/VOC2012``, replacing what was there only on success."""
    root = Path(root)
    marker = root / "dataset.json"
    if (root / "VOCdevkit").exists() and not (marker.exists() and "tagseg.data.synthetic" in marker.read_text()):
        raise FileExistsError(f"{root}/VOCdevkit exists and was not made by this generator; refusing to replace it")
    staging = root / ".staging"
    shutil.rmtree(staging, ignore_errors=True)
    voc = staging / VOC_SUBDIR
    for sub in ("JPEGImages", "SegmentationClass", "SegmentationClassWithheld"):
        (voc / sub).mkdir(parents=True)

    sizes = {
        "train": config.n_train, "val": config.n_val, "test": config.n_test,
        "weak_clean": config.n_weak_clean, "weak_noisy": config.n_weak_noisy, "noisy_test": config.n_noisy_test,
    }  # fmt: skip
    split_ids: dict[str, list[str]] = {}
    for stream, split in enumerate(SYNTHETIC_SPLITS):  # the order of their random streams
        rng = np.random.default_rng([config.seed, stream])
        lo, hi = (
            (config.noisy_test_min_objects, config.noisy_test_max_objects)
            if split == "noisy_test"
            else (config.min_objects, config.max_objects)
        )
        weak = split.startswith("weak")
        ids, tags = [], []
        for i in range(sizes[split]):
            image_id = f"syn{stream}_{i:06d}"
            image, labels = render_image(int(rng.integers(lo, hi + 1)), config.image_size, rng)
            mask = np.where(void_band(labels, config.void_width), IGNORE_INDEX, labels).astype(np.uint8)
            Image.fromarray(image).save(voc / "JPEGImages" / f"{image_id}.jpg", quality=config.jpeg_quality)
            write_mask(voc / ("SegmentationClassWithheld" if weak else "SegmentationClass") / f"{image_id}.png", mask)
            present = np.zeros(len(OBJECT_CLASSES) + 1, dtype=np.uint8)
            present[np.unique(labels)] = 1
            ids.append(image_id)
            tags.append(present[1:])
        tags = np.stack(tags)
        split_ids[split] = ids
        write_ids(voc / "ImageSets" / ("Main" if weak else "Segmentation") / f"{split}.txt", ids)
        if split in ("weak_noisy", "noisy_test"):
            write_tag_files(voc, f"{split}_truth", ids, tags)
            tags = corrupt_tags(tags, config.missing_tag_rate, config.spurious_tag_rate, rng)
        write_tag_files(voc, split, ids, tags)
    # trainval, as VOC ships it (torchvision's VOCSegmentation accepts train, val, trainval)
    write_ids(voc / "ImageSets" / "Segmentation" / "trainval.txt", split_ids["train"] + split_ids["val"])

    (staging / "dataset.json").write_text(
        json.dumps({"generator": "tagseg.data.synthetic", "config": asdict(config), "splits": sizes}, indent=2)
    )
    (root / "dataset.json").unlink(missing_ok=True)  # the marker never stands beside a tree being replaced
    shutil.rmtree(root / "VOCdevkit", ignore_errors=True)
    (root / "VOCdevkit").parent.mkdir(parents=True, exist_ok=True)
    (staging / "VOCdevkit").rename(root / "VOCdevkit")
    (staging / "dataset.json").replace(root / "dataset.json")
    staging.rmdir()


@command
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tagseg.data.synthetic",
        description="Generate the synthetic dataset in the PASCAL VOC2012 layout.",
    )
    parser.add_argument("--out", required=True, help="root folder; the data goes into <out>/VOCdevkit/VOC2012")
    add_dataclass_arguments(parser, SyntheticConfig)
    args = parser.parse_args(argv)
    config = dataclass_from_arguments(SyntheticConfig, args)
    generate(config, args.out)
    print(
        f"wrote {sum(getattr(config, f.name) for f in fields(config) if f.name.startswith('n_'))} images to {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
