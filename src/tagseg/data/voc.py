"""The one reader of the PASCAL VOC2012 layout, its tag files, and the decoded-array cache.

Layout (under ``<root>/VOCdevkit/VOC2012``)::

    JPEGImages/<id>.jpg                      RGB images (or <id>.png: a dataset imported from PNG images)
    SegmentationClass/<id>.png               P-mode masks, VOC palette, 255 = void
    ImageSets/Segmentation/<split>.txt       ids of pixel-labelled splits
    ImageSets/Main/<split>.txt               ids of tag-only splits (weak pools)
    ImageSets/Main/<class>_<split>.txt       image-level tags, "<id> 1" or "<id> -1" (VOC's own format)

Images and masks are decoded once by :func:`build_cache` into three files per split
(``images.npy`` and ``masks.npy``, flat uint8 arrays opened memory-mapped, and ``index.npz``
with ids, shapes, offsets, tags and the class names), so training epochs never decode JPEG or PNG again.

The classes are VOC's 21 unless ``<root>/dataset.json`` names others (``"classes"``: background
first), as a dataset imported from a user's folder does (tagseg.data.folder).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from tagseg.core.classes import CLASSES, IGNORE_INDEX, NUM_CLASSES, OBJECT_CLASSES, voc_palette
from tagseg.core.cli import command

VOC_SUBDIR = Path("VOCdevkit") / "VOC2012"
CACHE_FILES = ("images.npy", "masks.npy", "index.npz")


def voc_dir(root: str | os.PathLike) -> Path:
    """``<root>/VOCdevkit/VOC2012``: where torchvision's VOCSegmentation also looks."""
    return Path(root) / VOC_SUBDIR


# --- writing (used by the synthetic generator and by tests that build small datasets) -------------


def write_mask(path: Path, mask: np.ndarray) -> None:
    """Save an (H, W) uint8 label array as a P-mode PNG with the VOC palette."""
    image = Image.fromarray(mask.astype(np.uint8), mode="P")
    image.putpalette(voc_palette())
    image.save(path)


def write_ids(path: Path, ids: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{i}\n" for i in ids))


def write_tag_files(voc: Path, split: str, ids: list[str], tags: np.ndarray,
                    object_classes: tuple[str, ...] = OBJECT_CLASSES) -> None:  # fmt: skip
    """Write (n, objects) binary tags as VOC's ``ImageSets/Main/<class>_<split>.txt`` files."""
    main = voc / "ImageSets" / "Main"
    main.mkdir(parents=True, exist_ok=True)
    for c, name in enumerate(object_classes):
        lines = (f"{i} {1 if t else -1:2d}\n" for i, t in zip(ids, tags[:, c]))
        (main / f"{name}_{split}.txt").write_text("".join(lines))


# --- reading ---------------------------------------------------------------------------------------


def dataset_classes(root: str | os.PathLike) -> tuple[tuple[str, ...], list[int]]:
    """The class names of the dataset under ``root``, background first, and its colour map (a flat
    256-entry [r, g, b, ...] list): ``dataset.json``'s ``"classes"`` and ``"palette"``, else VOC's
    (the synthetic and the voc scales' datasets name neither)."""
    marker = Path(root) / "dataset.json"
    saved = json.loads(read_text_file(marker)) if marker.is_file() else {}
    classes = tuple(str(name) for name in saved.get("classes") or CLASSES)
    return classes, [int(v) for v in saved.get("palette") or voc_palette()]


def split_list(voc: Path, split: str) -> Path:
    """The list file of a split: ImageSets/Segmentation/<split>.txt if it exists, else ImageSets/Main/<split>.txt."""
    for kind in ("Segmentation", "Main"):
        path = voc / "ImageSets" / kind / f"{split}.txt"
        if path.exists():
            return path
    raise FileNotFoundError(
        f"{voc}/ImageSets: no split '{split}' (expected Segmentation/{split}.txt or Main/{split}.txt)"
    )


def check_id(image_id: str, where: str) -> None:
    """An id names files (``JPEGImages/<id>.jpg``): a plain name, never a path that leads elsewhere."""
    if "/" in image_id or "\\" in image_id or image_id.startswith(".") or "\x00" in image_id:
        raise ValueError(f"{where}: id {image_id!r} is not a plain file name (no '/', '\\' or leading '.')")


def read_text_file(path: str | os.PathLike) -> str:
    """A list or tag file a user may have edited: a byte-order mark read through, a file that is not
    UTF-8 text an error naming it."""
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValueError(f"{path}: not a text file (byte {error.start} is not UTF-8)") from None


def read_id_list(path: str | os.PathLike, missing: str = "split list missing") -> list[str]:
    """The ids of a list file, one a line (its first field), as VOC, SBD and the FCN authors write them.

    Windows line ends and a byte-order mark (an editor's) are read through; an id listed twice, a
    file that is not text, or one with no id is an error naming the file (and the line).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: {missing}")
    ids, seen = [], {}
    for n, line in enumerate(read_text_file(path).splitlines(), start=1):
        if not line.strip():
            continue
        image_id = line.split()[0]
        check_id(image_id, f"{path}:{n}")
        if image_id in seen:
            raise ValueError(f"{path}:{n}: {image_id} is listed again (first on line {seen[image_id]})")
        seen[image_id] = n
        ids.append(image_id)
    if not ids:
        raise ValueError(f"{path}: split list is empty")
    return ids


def read_ids(voc: Path, split: str) -> list[str]:
    """Ids of a split, from :func:`split_list`'s file (:func:`read_id_list`)."""
    return read_id_list(split_list(voc, split))


def has_masks(voc: Path, split: str) -> bool:
    """Pixel-labelled splits are listed under ImageSets/Segmentation; weak pools are not."""
    return (voc / "ImageSets" / "Segmentation" / f"{split}.txt").exists()


def read_tags(voc: Path, split: str, ids: list[str],
              object_classes: tuple[str, ...] = OBJECT_CLASSES) -> np.ndarray | None:  # fmt: skip
    """(n, objects) uint8 tags from ``Main/<class>_<split>.txt``; None if the split has no tag files.

    VOC marks "difficult" presence with 0; it counts as present, as in VOC's classification task.
    """
    main = voc / "ImageSets" / "Main"
    if not (main / f"{object_classes[0]}_{split}.txt").exists():
        return None
    row = {image_id: r for r, image_id in enumerate(ids)}
    tags = np.zeros((len(ids), len(object_classes)), dtype=np.uint8)
    for c, name in enumerate(object_classes):
        path = main / f"{name}_{split}.txt"
        if not path.exists():
            raise FileNotFoundError(f"{path}: tag file missing (the other classes of '{split}' have one)")
        listed = np.zeros(len(ids), dtype=bool)
        for n, line in enumerate(read_text_file(path).splitlines(), start=1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != 2 or fields[1] not in ("1", "-1", "0"):
                raise ValueError(f"{path}:{n}: expected '<id> 1|-1|0', got {line!r}")
            if fields[0] in row:
                tags[row[fields[0]], c] = fields[1] != "-1"
                listed[row[fields[0]]] = True
        if not listed.all():  # an unlisted image would silently be tagged as holding no such class
            missing = [ids[r] for r in np.flatnonzero(~listed)]
            more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
            raise ValueError(f"{path}: lists no line for {missing[0]}{more} of split '{split}'; every image of the "
                             f"split needs '<id> 1|-1|0' in every class's file")  # fmt: skip
    return tags


def tags_from_mask(mask: np.ndarray, n_classes: int = NUM_CLASSES) -> np.ndarray:
    """(n_classes - 1,) uint8: the object classes a label mask contains (background and void left out)."""
    present = np.zeros(n_classes, dtype=bool)
    values = np.unique(mask)
    present[values[values < n_classes]] = True
    return present[1:].astype(np.uint8)


def _decode_error(path: Path, error: Exception) -> ValueError:
    """PIL's error on a damaged file (unidentified, truncated, bad data) as one line naming the file."""
    return ValueError(f"{path}: cannot be decoded ({type(error).__name__}: {error})")


def image_path(voc: Path, image_id: str) -> Path:
    """``JPEGImages/<id>.jpg``, or ``<id>.png`` where only that exists (an image imported losslessly)."""
    path = voc / "JPEGImages" / f"{image_id}.jpg"
    if not path.exists() and path.with_suffix(".png").exists():
        return path.with_suffix(".png")
    return path


def read_image(voc: Path, image_id: str) -> np.ndarray:
    path = image_path(voc, image_id)
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"))
    except (UnidentifiedImageError, OSError, SyntaxError) as error:  # PIL raises SyntaxError on a bad header
        if isinstance(error, FileNotFoundError):
            raise
        raise _decode_error(path, error) from None


def read_mask(voc: Path, image_id: str, folder: str = "SegmentationClass", n_classes: int = NUM_CLASSES) -> np.ndarray:
    path = voc / folder / f"{image_id}.png"
    try:
        with Image.open(path) as image:
            if image.mode not in ("P", "L"):
                raise ValueError(f"{path}: expected a PNG of class indices (palette or single-channel), got mode "
                                 f"{image.mode}{_colour_mask_hint(image, n_classes)}")  # fmt: skip
            mask = np.asarray(image)
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        if isinstance(error, FileNotFoundError):
            raise
        raise _decode_error(path, error) from None
    bad = np.setdiff1d(np.unique(mask), [*range(n_classes), IGNORE_INDEX])
    if bad.size:
        raise ValueError(f"{path}: labels {bad.tolist()} are neither classes 0-{n_classes - 1} nor void {IGNORE_INDEX}")
    return mask


def _colour_mask_hint(image: Image.Image, n_classes: int = NUM_CLASSES) -> str:
    """For a colour-coded mask (VOC's colours drawn as RGB): how to turn it into the indices tagseg reads."""
    if image.mode not in ("RGB", "RGBA"):
        return ""
    colours = image.convert("RGB").getcolors(maxcolors=256)
    palette = np.array(voc_palette(), dtype=np.uint8).reshape(256, 3)
    known = {tuple(palette[c]) for c in [*range(n_classes), IGNORE_INDEX]}
    if colours is None or not all(colour in known for _, colour in colours):
        return ""
    return (
        "; it is colour-coded in VOC's colours: save each pixel's class index instead, as a palette PNG "
        "(as VOC's own masks are) or a single-channel one"
    )


# --- the cache -------------------------------------------------------------------------------------


def image_size(voc: Path, image_id: str) -> tuple[int, int]:
    """(height, width) from the image's header, without decoding it."""
    path = image_path(voc, image_id)
    try:
        with Image.open(path) as image:
            return image.height, image.width
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        if isinstance(error, FileNotFoundError):
            raise
        raise _decode_error(path, error) from None


def check_files(voc: Path, split: str, ids: list[str], mask_folder: str | None) -> None:
    """Every id of a split has its image (and mask); else an error naming the list, the id and the file."""
    for image_id in ids:
        paths = [image_path(voc, image_id)]
        if mask_folder:
            paths.append(voc / mask_folder / f"{image_id}.png")
        for path in paths:
            if not path.is_file():
                raise FileNotFoundError(f"{split_list(voc, split)}: id '{image_id}' has no file {path}")


def build_cache(root: str | os.PathLike, split: str, out_dir: str | os.PathLike, *, withheld: bool = False) -> None:
    """Decode every image (and mask, for pixel-labelled splits) of ``split`` once into ``out_dir``.

    The arrays are filled in place on disk (a VOC-sized split never has to fit in memory). Tags
    come from the split's tag files where they exist, else from the masks. Files are written under
    temporary names and renamed last, so a failed run leaves nothing that looks complete.
    ``withheld`` caches a weak pool for analysis only: its withheld masks
    (``SegmentationClassWithheld``) and its clean tags (``<class>_<split>_truth.txt`` where the
    tags are noisy, else the split's own).
    """
    voc, (classes, palette) = voc_dir(root), dataset_classes(root)
    ids = read_ids(voc, split)
    with_masks = withheld or has_masks(voc, split)
    mask_folder = "SegmentationClassWithheld" if withheld else "SegmentationClass"
    tags = read_tags(voc, f"{split}_truth", ids, classes[1:]) if withheld else None
    if tags is None:
        tags = read_tags(voc, split, ids, classes[1:])
    if tags is None and not with_masks:
        raise FileNotFoundError(f"{voc}/ImageSets/Main: split '{split}' has neither masks nor tag files")
    check_files(voc, split, ids, mask_folder if with_masks else None)
    shapes = np.asarray([image_size(voc, image_id) for image_id in ids], dtype=np.int64).reshape(-1, 2)
    offsets = np.concatenate([[0], np.cumsum(shapes[:, 0] * shapes[:, 1])])
    n_pixels = int(offsets[-1])

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tmp = {name: out / f".{name}.tmp" for name in CACHE_FILES}
    try:
        _fill_cache(voc, ids, tags, shapes, offsets, n_pixels, with_masks, mask_folder, tmp, classes, palette)
    except BaseException:
        for path in tmp.values():  # a half-filled cache must not linger, even under a temporary name
            path.unlink(missing_ok=True)
        raise
    (out / "index.npz").unlink(missing_ok=True)  # index.npz comes last: no old index beside new arrays
    for name in CACHE_FILES:
        os.replace(tmp[name], out / name)


def _fill_cache(
    voc: Path,
    ids: list[str],
    tags: np.ndarray | None,
    shapes: np.ndarray,
    offsets: np.ndarray,
    n_pixels: int,
    with_masks: bool,
    mask_folder: str,
    tmp: dict[str, Path],
    classes: tuple[str, ...] = CLASSES,
    palette: list[int] | None = None,
) -> None:
    """Decode every image (and mask) of a split into the temporary cache files ``tmp``."""
    images = np.lib.format.open_memmap(tmp["images.npy"], mode="w+", dtype=np.uint8, shape=(3 * n_pixels,))
    masks = np.lib.format.open_memmap(
        tmp["masks.npy"], mode="w+", dtype=np.uint8, shape=(n_pixels if with_masks else 0,)
    )
    mask_tags = []
    for i, image_id in enumerate(ids):
        images[3 * offsets[i] : 3 * offsets[i + 1]] = read_image(voc, image_id).reshape(-1)
        if with_masks:
            mask = read_mask(voc, image_id, mask_folder, len(classes))
            if mask.shape != tuple(shapes[i]):
                raise ValueError(f"{voc}/{mask_folder}/{image_id}.png: size {mask.shape} != image {tuple(shapes[i])}")
            masks[offsets[i] : offsets[i + 1]] = mask.reshape(-1)
            mask_tags.append(tags_from_mask(mask, len(classes)))
    images.flush()
    masks.flush()
    del images, masks
    with open(tmp["index.npz"], "wb") as f:
        np.savez(
            f,
            ids=np.asarray(ids),
            shapes=shapes,
            offsets=offsets,
            tags=tags if tags is not None else np.stack(mask_tags).reshape(len(ids), len(classes) - 1),
            has_masks=with_masks,
            classes=np.asarray(classes),
            palette=np.asarray(palette if palette is not None else voc_palette(), dtype=np.uint8).reshape(256, 3),
        )


@dataclass(frozen=True)
class Sample:
    """One decoded example: image (H, W, 3) uint8, mask (H, W) uint8 or None, tags (objects,) uint8."""

    image: np.ndarray
    mask: np.ndarray | None
    tags: np.ndarray
    image_id: str


class CachedSplit:
    """A split read from :func:`build_cache`'s files; images and masks are memory-mapped."""

    def __init__(self, cache_dir: str | os.PathLike):
        cache = self.path = Path(cache_dir)
        missing = [name for name in CACHE_FILES if not (cache / name).exists()]
        if missing:
            raise FileNotFoundError(
                f"{cache}: not a split cache (missing {', '.join(missing)}); build it with tagseg.data.voc"
            )
        rebuild = "delete the folder and rerun (snakemake --forcerun cache_split), or build it with tagseg.data.voc"
        try:
            with np.load(cache / "index.npz") as index:
                self.ids = [str(i) for i in index["ids"]]
                self.shapes, self.offsets, self.tags = index["shapes"], index["offsets"], index["tags"]
                self.has_masks = bool(index["has_masks"])
                # background first; a cache from before class names were kept holds VOC's
                self.classes = tuple(str(c) for c in index["classes"]) if "classes" in index else CLASSES
                self.palette = (index["palette"] if "palette" in index  # (256, 3) uint8: class c's colour in figures
                                else np.array(voc_palette(), dtype=np.uint8).reshape(256, 3))  # fmt: skip
        except Exception as error:  # noqa: BLE001 - a damaged npz fails as zip, pickle or key errors
            raise ValueError(
                f"{cache / 'index.npz'}: not a readable cache index ({_first_line(error)}); {rebuild}"
            ) from None
        arrays = {}
        for name in ("images.npy", "masks.npy"):
            try:
                arrays[name] = np.load(cache / name, mmap_mode="r", allow_pickle=False)
            except Exception as error:  # noqa: BLE001 - cut short, empty or not an array
                raise ValueError(
                    f"{cache / name}: not a readable cache array ({_first_line(error)}); {rebuild}"
                ) from None
        self._images, self._masks = arrays["images.npy"], arrays["masks.npy"]
        n, n_pixels = len(self.ids), int(self.offsets[-1]) if len(self.offsets) else 0
        expected = {"images.npy": 3 * n_pixels, "masks.npy": n_pixels if self.has_masks else 0}
        for name, size in expected.items():
            if arrays[name].shape != (size,) or arrays[name].dtype != np.uint8:
                raise ValueError(f"{cache / name}: holds {arrays[name].dtype}{list(arrays[name].shape)}, the index "
                                 f"expects uint8[{size}]; {rebuild}")  # fmt: skip
        if not (len(self.shapes) == len(self.tags) == n and len(self.offsets) == n + 1):
            raise ValueError(f"{cache / 'index.npz'}: its ids, shapes, offsets and tags disagree in length; {rebuild}")
        if self.tags.ndim != 2 or self.tags.shape[1] != len(self.classes) - 1:
            raise ValueError(f"{cache / 'index.npz'}: tags for {self.tags.shape[-1]} object classes, the index names "
                             f"{len(self.classes) - 1}; {rebuild}")  # fmt: skip

    @property
    def n_classes(self) -> int:
        """Classes, background included (the models' output channels)."""
        return len(self.classes)

    def require_classes(self, n_classes: int, what: str) -> CachedSplit:
        """This split, if its dataset has ``n_classes`` classes (``what``'s); else a ValueError naming both."""
        if n_classes != self.n_classes:
            raise ValueError(f"{self.path}: the dataset has {self.n_classes} classes, {what} has {n_classes}; "
                             f"a model segments the classes of the data it was trained on")  # fmt: skip
        return self

    def __len__(self) -> int:
        return len(self.ids)

    def require_masks(self, purpose: str) -> CachedSplit:
        """This split, if it is pixel-labelled; else a ValueError naming it and ``purpose``."""
        if not self.has_masks:
            raise ValueError(f"{self.path}: split has no masks; {purpose}")
        return self

    def __getitem__(self, i: int) -> Sample:
        h, w = self.shapes[i]
        start, stop = self.offsets[i], self.offsets[i + 1]
        image = np.array(self._images[3 * start : 3 * stop]).reshape(h, w, 3)
        mask = np.array(self._masks[start:stop]).reshape(h, w) if self.has_masks else None
        return Sample(image=image, mask=mask, tags=self.tags[i], image_id=self.ids[i])


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


@command
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tagseg.data.voc",
        description="Decode one split of a VOC-layout dataset once into a memory-mappable cache.",
    )
    parser.add_argument("--root", required=True, help="folder holding VOCdevkit/VOC2012")
    parser.add_argument("--split", required=True, help="split name, e.g. train, val, weak_noisy")
    parser.add_argument("--out", required=True, help="cache folder to write images.npy, masks.npy, index.npz into")
    parser.add_argument("--withheld", action="store_true",
                        help="a weak pool for analysis: its withheld masks and clean (_truth) tags")  # fmt: skip
    args = parser.parse_args(argv)
    build_cache(args.root, args.split, args.out, withheld=args.withheld)
    split = CachedSplit(args.out)
    print(f"cached {len(split)} images of '{args.split}' (masks: {split.has_masks}) into {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
