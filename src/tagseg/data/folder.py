"""A dataset of the user's own (``data.source: folder``): checked, then imported into the VOC layout.

What a folder holds (``folder.layout: folder``; the paths are the defaults, each a config key)::

    classes.txt               one class name a line, background first (2 to 255 classes)
    images/<id>.<ext>         the images: JPEG, PNG, BMP, TIFF or WebP; RGB or grayscale, any size
    masks/<id>.png            their labels: a palette or single-channel PNG of class indices, void 255
                              (folder.void names another value)
    splits/train.txt          ids one a line; with val.txt and test.txt, or none of the three: then a
    splits/val.txt            seeded split of the masked images is made (folder.split_seed,
    splits/test.txt           folder.split_fractions) and recorded in the imported copy
    <tags file>               a weak pool (folder.weak_clean, folder.weak_noisy): images with
                              image-level tags only, one line an image: "<id> <class> <class> ...",
                              the object classes it shows (none: background only); '#' starts a comment

``folder.layout: voc`` reads a VOC-style tree instead: ``JPEGImages``, ``SegmentationClass`` and
``ImageSets/Segmentation`` in place of ``images``, ``masks`` and ``splits``. ``folder.withhold``
moves a seeded share of train into a clean-tag weak pool whose masks are kept aside (so that
inference on the weak pool can be measured, as on VOC's), for a dataset that has no pool of its own.

``check`` reads everything and prints what it found (counts per split and class, image sizes) and
every problem, one line each, before any training; ``build`` (the workflow's first job) checks the
same, then writes the VOC layout tagseg reads into ``data.root``: JPEG images copied as they are,
others (and any image ``folder.max_side`` shrinks) as lossless PNG, masks re-indexed with the void
as 255, the class names and colour map in ``dataset.json``. The user's folder is only read.

    python -m tagseg.data.folder check configs/folder.yaml
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import shutil
import sys
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from tagseg.core.classes import IGNORE_INDEX, voc_palette
from tagseg.core.cli import command
from tagseg.data.roles import FOLDER_LAYOUTS
from tagseg.data.voc import VOC_SUBDIR, check_id, read_id_list, read_text_file, write_ids, write_tag_files

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
LAYOUTS = FOLDER_LAYOUTS
SPLITS = ("train", "val", "test")
POOLS = ("weak_clean", "weak_noisy")
CLASS_NAME = re.compile(r"^[A-Za-z0-9][\w.+-]*$")  # a name that can stand in a file name (VOC's tag files)
MAX_CLASSES = 255  # class indices 0-254 beside the void, 255
MAX_PROBLEMS_SHOWN = 50


@dataclass(frozen=True)
class FolderConfig:
    path: str  # the dataset's folder (only read)
    layout: str = "folder"  # folder (classes.txt, images/, masks/, splits/) or voc (JPEGImages, SegmentationClass, ImageSets/Segmentation)
    classes: str | list = "classes.txt"  # a file under path, one name a line, background first; or the names as a list
    images: str | None = None  # folder of images under path (None: the layout's)
    masks: str | None = None  # folder of masks under path (None: the layout's)
    splits: str | None = (
        None  # folder of train.txt, val.txt, test.txt under path (None: the layout's); none there: a seeded split
    )
    void: int = IGNORE_INDEX  # the mask value of unlabelled pixels
    split_seed: int = 0  # seeds the split made when the dataset has none, and folder.withhold's draw
    split_fractions: tuple = (0.6, 0.2, 0.2)  # train, val, test shares of that split
    weak_clean: str | None = None  # tags file of a weak pool with clean tags (under path, or absolute)
    weak_noisy: str | None = None  # tags file of a weak pool with noisy tags
    withhold: float = 0.0  # share of train moved to a clean-tag weak pool, its masks kept aside
    max_side: int = 0  # images whose longer side exceeds this are shrunk on import (0: never)

    def __post_init__(self) -> None:
        if self.layout not in LAYOUTS:
            raise ValueError(f"folder.layout: expected one of {', '.join(LAYOUTS)}, got {self.layout!r}")
        if not 0 <= self.void <= 255:
            raise ValueError(f"folder.void: expected a mask value 0-255, got {self.void}")
        fractions = tuple(float(f) for f in self.split_fractions)
        if len(fractions) != 3 or min(fractions) <= 0 or abs(sum(fractions) - 1) > 1e-6:
            raise ValueError(f"folder.split_fractions: expected three positive shares (train, val, test) summing to 1, "
                             f"got {list(self.split_fractions)}")  # fmt: skip
        if not 0 <= self.withhold < 1:
            raise ValueError(f"folder.withhold: expected a share in [0, 1), got {self.withhold}")
        if self.withhold and self.weak_clean:
            raise ValueError("folder.withhold, folder.weak_clean: both make the clean-tag weak pool; give one")
        if self.max_side < 0:
            raise ValueError(
                f"folder.max_side: expected 0 (keep sizes) or a positive number of pixels, got {self.max_side}"
            )

    def place(self, key: str) -> Path:
        """The folder a layout key (images, masks, splits) names, under ``path``."""
        return Path(self.path) / (getattr(self, key) or LAYOUTS[self.layout][key])

    def pool_file(self, pool: str) -> Path | None:
        name = getattr(self, pool)
        return None if not name else Path(self.path) / name  # an absolute name stays itself

    @property
    def pools(self) -> tuple[str, ...]:
        """The weak pools the dataset will have."""
        return tuple(p for p in POOLS if self.pool_file(p) is not None or (p == "weak_clean" and self.withhold > 0))


@dataclass
class Found:
    """What a pass over the folder found: the splits' ids, the pools' tags, counts, and problems."""

    classes: tuple[str, ...] = ()
    splits: dict[str, list[str]] = field(default_factory=dict)
    pools: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)  # pool -> id -> (objects,) tags
    withheld: list[str] = field(default_factory=list)  # train ids moved to weak_clean (folder.withhold)
    seeded: bool = False
    images: dict[str, Path] = field(default_factory=dict)  # id -> image file
    unused: list[str] = field(default_factory=list)  # images in no split and no pool
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    palette: list[int] | None = None
    # per split: image count, (h, w) sizes, grayscale count, per class images holding it and pixels
    sizes: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    grayscale: Counter = field(default_factory=Counter)
    class_images: dict[str, np.ndarray] = field(default_factory=dict)
    class_pixels: dict[str, np.ndarray] = field(default_factory=dict)

    def problem(self, text: str) -> None:
        self.problems.append(text)


def read_classes(config: FolderConfig, found: Found) -> tuple[str, ...]:
    if isinstance(config.classes, (list, tuple)):
        names, where = [str(n).strip() for n in config.classes], "folder.classes"
    else:
        path = Path(config.path) / config.classes
        if not path.is_file():
            found.problem(f"{path}: class list missing (one class name a line, background first; folder.classes)")
            return ()
        try:
            text = read_text_file(path)
        except ValueError as error:
            found.problem(str(error))
            return ()
        names = [line.split("#")[0].strip() for line in text.splitlines()]
        names, where = [n for n in names if n], str(path)
    bad = [n for n in names if not CLASS_NAME.match(n)]
    twice = sorted({n for n in names if names.count(n) > 1})
    if bad:
        found.problem(f"{where}: class name {bad[0]!r} is not a plain name (letters, digits, '_', '.', '+', '-'; "
                      f"no spaces)")  # fmt: skip
    elif twice:
        found.problem(f"{where}: class {twice[0]!r} is listed twice")
    elif not 2 <= len(names) <= MAX_CLASSES:
        found.problem(f"{where}: {len(names)} classes; expected 2 to {MAX_CLASSES}, background first")
    else:
        return tuple(names)
    return ()


def index_images(folder: Path, found: Found) -> dict[str, Path]:
    """id -> image file of every image in ``folder`` (an id with two image files is a problem)."""
    images: dict[str, Path] = {}
    if not folder.is_dir():
        found.problem(f"{folder}: image folder missing (folder.images)")
        return images
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in IMAGE_SUFFIXES or path.name.startswith("."):
            continue
        if path.stem in images:
            found.problem(f"{path}: a second image for id {path.stem!r} (also {images[path.stem].name}); keep one")
            continue
        images[path.stem] = path
    if not images:
        found.problem(f"{folder}: holds no image ({', '.join(IMAGE_SUFFIXES)})")
    return images


def read_splits(config: FolderConfig, masked: set[str], taken: set[str], found: Found) -> dict[str, list[str]]:
    """The train, val and test ids: the split lists, or a seeded split of the masked images not in a pool."""
    folder = config.place("splits")
    lists = {s: folder / f"{s}.txt" for s in SPLITS}
    present = [s for s, path in lists.items() if path.is_file()]
    if present and len(present) < len(SPLITS):
        absent = [str(lists[s]) for s in SPLITS if s not in present]
        found.problem(f"{absent[0]}: missing; give train.txt, val.txt and test.txt, or none of them for a seeded split")
        return {}
    if present:
        splits = {}
        for split, path in lists.items():
            try:
                splits[split] = read_id_list(path)
            except ValueError as error:
                found.problem(f"{error}; every split needs at least one image" if "empty" in str(error) else str(error))
                splits[split] = []
        return splits
    found.seeded = True
    ids = sorted(masked - taken)
    order = np.random.default_rng([config.split_seed, 0]).permutation(len(ids))
    counts = np.floor(np.asarray(config.split_fractions, dtype=float) * len(ids)).astype(int)
    counts[0] += len(ids) - counts.sum()
    cuts = np.cumsum(counts)[:-1]
    splits = {s: sorted(ids[i] for i in part) for s, part in zip(SPLITS, np.split(order, cuts))}
    for split, split_ids in splits.items():
        if not split_ids:
            found.problem(f"{folder}: a seeded split of {len(ids)} masked images leaves {split} empty; "
                          f"add images or change folder.split_fractions")  # fmt: skip
    return splits


def read_pool(path: Path, classes: tuple[str, ...], images: dict[str, Path], found: Found) -> dict[str, np.ndarray]:
    """id -> (objects,) uint8 tags of a weak pool's tags file, "<id> <class> ..." a line."""
    if not path.is_file():
        found.problem(f"{path}: tags file missing")
        return {}
    try:
        text = read_text_file(path)
    except ValueError as error:
        found.problem(str(error))
        return {}
    column = {name: c for c, name in enumerate(classes[1:])}
    tags: dict[str, np.ndarray] = {}
    for n, line in enumerate(text.splitlines(), start=1):
        fields = line.split("#")[0].split()
        if not fields:
            continue
        image_id, names = fields[0], fields[1:]
        where = f"{path}:{n}"
        try:
            check_id(image_id, where)
        except ValueError as error:
            found.problem(str(error))
            continue
        if image_id in tags:
            found.problem(f"{where}: {image_id} is listed again")
            continue
        if image_id not in images:
            found.problem(f"{where}: {image_id} has no image in {found_images_folder(images)}")
            continue
        row = np.zeros(len(classes) - 1, dtype=np.uint8)
        for name in names:
            if name == classes[0]:
                continue  # background: present in every image anyway
            if name not in column:
                close = difflib.get_close_matches(name, classes, n=1, cutoff=0.75)
                hint = f" (did you mean {close[0]}?)" if close else f" (the classes: {' '.join(classes)})"
                found.problem(f"{where}: {name!r} is not a class{hint}")
                continue
            row[column[name]] = 1
        tags[image_id] = row
    if not tags:
        found.problem(f"{path}: lists no image; a weak pool needs at least one")
    return tags


def found_images_folder(images: dict[str, Path]) -> str:
    return str(next(iter(images.values())).parent) if images else "the image folder"


def mask_file(config: FolderConfig, image_id: str) -> Path:
    return config.place("masks") / f"{image_id}.png"


def read_user_mask(path: Path, n_classes: int, void: int) -> tuple[np.ndarray, list[int] | None]:
    """(H, W) uint8 class indices with the void as 255, and the PNG's palette if it has one; a ValueError
    (one line, naming the file) for what is not a mask of these classes."""
    try:
        with Image.open(path) as image:
            mode = image.mode
            palette = image.getpalette() if mode == "P" else None
            if mode in ("RGB", "RGBA"):
                raise ValueError(f"{path}: a colour image ({mode}); expected class indices, as a palette PNG or a "
                                 f"single-channel one (0, 1, 2, ... in the class list's order)")  # fmt: skip
            if mode not in ("P", "L", "1", "I", "I;16", "I;16B", "I;16L"):
                raise ValueError(f"{path}: mode {mode}; expected a palette or single-channel PNG of class indices")
            values = np.asarray(image)
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise ValueError(f"{path}: cannot be decoded ({type(error).__name__}: {error})") from None
    values = values.astype(np.int64)
    labels = np.unique(values)
    bad = labels[(labels >= n_classes) & (labels != void)]
    if bad.size:
        shown = ", ".join(map(str, bad[:5].tolist())) + (", ..." if bad.size > 5 else "")
        raise ValueError(f"{path}: values {shown} are neither classes 0-{n_classes - 1} nor the void {void}")
    mask = np.where(values == void, IGNORE_INDEX, values).astype(np.uint8)
    if palette is not None:
        palette = (palette + [0] * 768)[:768]
    return mask, palette


def open_image(path: Path) -> Image.Image:
    """The image, decoded, as RGB or L (16-bit images scaled to 8 bits, alpha dropped)."""
    try:
        with Image.open(path) as image:
            image.load()
            if image.mode in ("I;16", "I;16B", "I;16L", "I"):
                data = np.asarray(image).astype(np.float64)
                top = 65535.0 if image.mode.startswith("I;16") or data.max() > 255 else 255.0
                return Image.fromarray(np.round(data * (255.0 / top)).astype(np.uint8), mode="L")
            if image.mode in ("L", "RGB"):
                return image.copy()
            if image.mode in ("LA", "1"):
                return image.convert("L")
            return image.convert("RGB")
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise ValueError(f"{path}: cannot be decoded ({type(error).__name__}: {error})") from None


def shrunk_size(size: tuple[int, int], max_side: int) -> tuple[int, int] | None:
    """(width, height) an image of ``size`` (width, height) is shrunk to, or None to keep it."""
    if not max_side or max(size) <= max_side:
        return None
    scale = max_side / max(size)
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def scan(config: FolderConfig, voc: Path | None = None) -> Found:
    """Read the whole folder: what :func:`report` prints; with ``voc``, also write the VOC layout there."""
    found = Found()
    root = Path(config.path)
    if not root.is_dir():
        found.problem(f"{root}: no such folder (folder.path)")
        return found
    found.classes = classes = read_classes(config, found)
    images = found.images = index_images(config.place("images"), found)
    masks_folder = config.place("masks")
    if not masks_folder.is_dir():
        found.problem(f"{masks_folder}: mask folder missing (folder.masks)")
    if not classes or not images or not masks_folder.is_dir():
        return found
    masked = {i for i in images if mask_file(config, i).is_file()}
    for pool in config.pools:
        path = config.pool_file(pool)
        if path is not None:
            found.pools[pool] = read_pool(path, classes, images, found)
    taken = {i for tags in found.pools.values() for i in tags}
    found.splits = splits = read_splits(config, masked, taken, found)
    if found.problems:
        return found
    if config.withhold:
        train = splits["train"]
        n = int(round(config.withhold * len(train)))
        if n < 1 or n >= len(train):
            found.problem(f"folder.withhold: {config.withhold:g} of {len(train)} training images is {n}; "
                          f"it must leave at least one in each of train and the pool")  # fmt: skip
            return found
        chosen = np.random.default_rng([config.split_seed, 1]).choice(len(train), n, replace=False)
        found.withheld = sorted(train[i] for i in chosen)
        splits["train"] = [i for i in train if i not in set(found.withheld)]
    seen: dict[str, str] = {}
    for name, ids in [*splits.items(), *((p, list(t)) for p, t in found.pools.items()), ("weak_clean", found.withheld)]:
        for image_id in ids:
            if image_id in seen and seen[image_id] != name:
                found.problem(f"{image_id}: in both {seen[image_id]} and {name}; an image may be in one split or pool "
                              f"only (a test image trained on is no test)")  # fmt: skip
            seen[image_id] = name
    found.unused = sorted(set(images) - set(seen))
    if found.problems:
        return found
    _read_images(config, found, voc)
    return found


def _read_images(config: FolderConfig, found: Found, voc: Path | None) -> None:
    """Decode every image and mask in use: sizes, class counts, problems; write them into ``voc`` if given."""
    n_classes = len(found.classes)
    if voc is not None:
        for sub in ("JPEGImages", "SegmentationClass", "SegmentationClassWithheld"):
            (voc / sub).mkdir(parents=True, exist_ok=True)
    groups = {**found.splits, **{p: list(t) for p, t in found.pools.items()}}
    if found.withheld:
        groups["weak_clean"] = found.withheld
    for group, ids in groups.items():
        with_masks = group in SPLITS or (group == "weak_clean" and bool(found.withheld))
        found.sizes[group] = []
        found.class_images[group] = np.zeros(n_classes, dtype=np.int64)
        found.class_pixels[group] = np.zeros(n_classes, dtype=np.int64)
        for image_id in ids:
            image_path = found.images.get(image_id)
            if image_path is None:
                found.problem(f"{group}: id {image_id!r} has no image in {config.place('images')}")
                continue
            try:
                image = open_image(image_path)
            except ValueError as error:
                found.problem(str(error))
                continue
            mask = None
            if with_masks:
                path = mask_file(config, image_id)
                if not path.is_file():
                    found.problem(f"{group}: id {image_id!r} has no mask {path}")
                    continue
                try:
                    mask, palette = read_user_mask(path, n_classes, config.void)
                except ValueError as error:
                    found.problem(str(error))
                    continue
                if found.palette is None and palette is not None:
                    found.palette = palette
                if mask.shape != (image.height, image.width):
                    found.problem(f"{path}: {mask.shape[1]}x{mask.shape[0]} pixels, its image {image_path.name} is "
                                  f"{image.width}x{image.height}")  # fmt: skip
                    continue
                counts = np.bincount(mask.reshape(-1), minlength=256)[:n_classes]
                found.class_pixels[group] += counts
                found.class_images[group] += counts > 0
            found.sizes[group].append((image.height, image.width))
            found.grayscale[group] += image.mode == "L"
            if voc is not None and not found.problems:
                _write(voc, config, image_id, image_path, image, mask, group)


def _write(voc: Path, config: FolderConfig, image_id: str, source: Path, image: Image.Image, mask: np.ndarray | None,
           group: str) -> None:  # fmt: skip
    """One image (and mask) in the VOC layout: a JPEG copied as it is unless shrunk, anything else a PNG."""
    size = shrunk_size(image.size, config.max_side)
    if size is not None:
        image = image.resize(size, Image.Resampling.BILINEAR, reducing_gap=3.0)
    if size is None and source.suffix.lower() in (".jpg", ".jpeg") and _is_jpeg(source):
        shutil.copyfile(source, voc / "JPEGImages" / f"{image_id}.jpg")
    else:
        image.save(voc / "JPEGImages" / f"{image_id}.png")
    if mask is not None:
        if size is not None:
            mask = np.asarray(Image.fromarray(mask).resize(size, Image.Resampling.NEAREST))
        folder = "SegmentationClassWithheld" if group.startswith("weak") else "SegmentationClass"
        out = Image.fromarray(mask, mode="P")
        out.putpalette(voc_palette())
        out.save(voc / folder / f"{image_id}.png")


def _is_jpeg(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(3) == b"\xff\xd8\xff"


def report(config: FolderConfig, found: Found) -> list[str]:
    """What ``check`` prints: one line per finding, problems last."""
    lines = [f"dataset {config.path} (layout {config.layout})"]
    if found.classes:
        lines.append(f"classes: {len(found.classes)} ({', '.join(found.classes)}); void {config.void}")
    if found.seeded and found.splits:
        fractions = "/".join(f"{f:g}" for f in config.split_fractions)
        lines.append(f"splits: none given; seeded split of the masked images (seed {config.split_seed}, {fractions})")
    for group, sizes in found.sizes.items():
        if not sizes:
            continue
        heights, widths = [s[0] for s in sizes], [s[1] for s in sizes]
        kind = (
            "pixel-labelled"
            if group in SPLITS
            else (
                "tags only"
                if group not in ("weak_clean",) or not found.withheld
                else "tags from masks kept aside (folder.withhold)"
            )
        )
        lines.append(
            f"{group}: {len(sizes)} images, {kind}; sizes {min(widths)}x{min(heights)} to "
            f"{max(widths)}x{max(heights)} ({len(set(sizes))} distinct); {found.grayscale[group]} grayscale"
        )
    for group in found.sizes:
        if found.class_pixels[group].sum():
            share = 100.0 * found.class_pixels[group] / found.class_pixels[group].sum()
            cells = [
                f"{name} {int(n)} ({p:.1f}%)" for name, n, p in zip(found.classes, found.class_images[group], share)
            ]
            lines.append(f"{group} classes (images holding it, share of labelled pixels): {'; '.join(cells)}")
        elif group in found.pools:
            counts = np.sum(list(found.pools[group].values()), axis=0)
            cells = [f"{name} {int(n)}" for name, n in zip(found.classes[1:], counts)]
            lines.append(f"{group} tags (images tagged with it): {'; '.join(cells)}")
    if "train" in found.class_images and found.class_pixels["train"].sum():
        absent = [n for n, k in zip(found.classes, found.class_images["train"]) if k == 0]
        if absent:
            lines.append(f"warning: class {', '.join(absent)} has no pixel in train: no model can learn it")
    for split in ("val", "test"):
        if split in found.class_images and found.class_pixels[split].sum():
            absent = [n for n, k in zip(found.classes, found.class_images[split]) if k == 0]
            if absent:
                lines.append(f"warning: class {', '.join(absent)} has no pixel in {split}: its IoU there is 0 for a model "
                             f"that predicts it, else undefined and left out of the mean, so two models' mIoU may "
                             f"average different classes; give {split} an image of it")  # fmt: skip
    if found.classes and found.splits and not found.pools and not found.withheld:
        lines.append("note: no weak pool (folder.weak_clean, folder.weak_noisy or folder.withhold): luo2017's "
                     "semi-supervised stage 2 is left out, and its tables say so")  # fmt: skip
    if found.unused:
        lines.append(f"unused: {len(found.unused)} images in no split and no pool (e.g. {found.unused[0]})")
    for problem in found.problems[:MAX_PROBLEMS_SHOWN]:
        lines.append(f"problem: {problem}")
    if len(found.problems) > MAX_PROBLEMS_SHOWN:
        lines.append(f"problem: ... and {len(found.problems) - MAX_PROBLEMS_SHOWN} more")
    lines.append(f"{len(found.problems)} problem(s)" if found.problems else "no problems")
    return lines


def build(config: FolderConfig, root: str | Path) -> Found:
    """Check the folder and write its VOC-layout copy under ``root``; on any problem nothing is written."""
    root = Path(root)
    marker = root / "dataset.json"
    if (root / "VOCdevkit").exists() and not (marker.exists() and "tagseg.data.folder" in marker.read_text()):
        raise FileExistsError(f"{root}/VOCdevkit exists and was not imported by tagseg.data.folder; refusing to "
                              f"replace it (data.root must be a folder of tagseg's own)")  # fmt: skip
    dataset = Path(config.path).resolve()
    if dataset == root.resolve() or dataset in root.resolve().parents:
        raise ValueError(f"data.root {root}: is the dataset's folder {config.path} or inside it; tagseg writes its copy "
                         f"elsewhere (the dataset is only read)")  # fmt: skip
    staging = root / ".staging"
    shutil.rmtree(staging, ignore_errors=True)
    voc = staging / VOC_SUBDIR
    try:
        found = scan(config, voc)
        if found.problems:
            more = f" (and {len(found.problems) - 1} more; python -m tagseg.data.folder check lists them)"
            raise ValueError(found.problems[0] + (more if len(found.problems) > 1 else ""))
        _write_lists(voc, found)
        record = {
            "generator": "tagseg.data.folder", "config": asdict(config), "classes": list(found.classes),
            "palette": found.palette or voc_palette(),
            "splits": {name: len(sizes) for name, sizes in found.sizes.items()},
            "seeded_split": found.seeded, "withheld": len(found.withheld), "unused_images": len(found.unused),
        }  # fmt: skip
        (staging / "dataset.json").write_text(json.dumps(record, indent=2))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    marker.unlink(missing_ok=True)  # the marker never stands beside a tree being replaced
    shutil.rmtree(root / "VOCdevkit", ignore_errors=True)
    (staging / "VOCdevkit").rename(root / "VOCdevkit")
    (staging / "dataset.json").replace(marker)
    staging.rmdir()
    return found


def _write_lists(voc: Path, found: Found) -> None:
    objects = found.classes[1:]
    for split, ids in found.splits.items():
        write_ids(voc / "ImageSets" / "Segmentation" / f"{split}.txt", ids)
    write_ids(voc / "ImageSets" / "Segmentation" / "trainval.txt", found.splits["train"] + found.splits["val"])
    for pool, tags in found.pools.items():
        ids = list(tags)
        write_ids(voc / "ImageSets" / "Main" / f"{pool}.txt", ids)
        write_tag_files(voc, pool, ids, np.stack([tags[i] for i in ids]), objects)
    if found.withheld:  # tags from the masks kept aside: the cache reads them from the withheld masks' folder
        ids = found.withheld
        write_ids(voc / "ImageSets" / "Main" / "weak_clean.txt", ids)
        tags = np.zeros((len(ids), len(objects)), dtype=np.uint8)
        for r, image_id in enumerate(ids):
            with Image.open(voc / "SegmentationClassWithheld" / f"{image_id}.png") as image:
                present = np.unique(np.asarray(image))
            present = present[(present > 0) & (present < len(found.classes))]
            tags[r, present - 1] = 1
        write_tag_files(voc, "weak_clean", ids, tags, objects)


def config_from_file(path: str | Path) -> FolderConfig:
    """The ``folder`` section of a workflow config file, its defaults filled in from the schema."""
    import yaml

    from tagseg.core.config import prepare_config

    try:
        config = yaml.safe_load(read_text_file(path)) or {}
    except yaml.YAMLError as error:
        raise ValueError(f"{path}: not YAML ({str(error).splitlines()[0]})") from None
    schema = Path(__file__).resolve().parents[3] / "workflow" / "schemas" / "config.schema.yaml"
    prepare_config(config, schema)
    if config["data"]["source"] != "folder" or not config.get("folder"):
        raise ValueError(f"{path}: data.source is {config['data']['source']!r}; the checker reads a config whose "
                         f"data.source is folder, with a folder section")  # fmt: skip
    from tagseg.core.config import expand_paths

    expand_paths(config)
    return settings(config["folder"])


def settings(section: dict) -> FolderConfig:
    values = dict(section)
    values["split_fractions"] = tuple(values.get("split_fractions", (0.6, 0.2, 0.2)))
    return FolderConfig(**values)


@command
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tagseg.data.folder", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="read a dataset folder and print what it holds and every problem")
    check.add_argument("configfile", help="the workflow config that names it (data.source: folder)")
    make = commands.add_parser("build", help="check, then write the VOC-layout copy the workflow reads")
    make.add_argument("--settings", required=True, help="the config's folder section, as JSON")
    make.add_argument("--out", required=True, help="data.root: the copy goes into <out>/VOCdevkit/VOC2012")
    args = parser.parse_args(argv)
    if args.command == "check":
        config = config_from_file(args.configfile)
        found = scan(config)
        print("\n".join(report(config, found)))
        return 1 if found.problems else 0
    config = settings(json.loads(args.settings))
    found = build(config, args.out)
    print("\n".join(report(config, found)))
    print(f"imported into {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
