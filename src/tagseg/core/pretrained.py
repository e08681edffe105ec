"""ImageNet weights through torchvision's weights API, with a clear error when offline.

The workflow fetches every weights file its config needs once, on the submit host (cluster nodes
often have no internet), into ``<downloads.data_dir>/torch`` (a ``TORCH_HOME``), and the training jobs
read them from there:

    TORCH_HOME=data/resources/torch python -m tagseg.core.pretrained fetch VGG16_Weights.IMAGENET1K_V1
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import sys
import urllib.error
from pathlib import Path

import torch
import torchvision.models

from tagseg.core.checkpoint import UnreadableFile, read_tensors
from tagseg.core.cli import command


def weights_path(enum_name: str, member: str) -> tuple[str, Path]:
    """The download URL of a torchvision weights entry and where torch's hub cache keeps it."""
    weights = getattr(torchvision.models, enum_name)[member]
    return weights.url, Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name


def load_torchvision_state(enum_name: str, member: str) -> dict[str, torch.Tensor]:
    """State dict of e.g. ``VGG16_Weights.IMAGENET1K_V1``: from the hub cache, else downloaded into it.

    Offline, place the file named in the error (from any machine that can download it) there;
    ``TORCH_HOME`` moves the cache.
    """
    url, path = weights_path(enum_name, member)
    if path.exists():
        try:
            return read_tensors(path)
        except UnreadableFile as error:
            raise RuntimeError(
                f"model.pretrained: {path}: not readable weights ({error.reason}); {_hash_advice(path, url)}"
            ) from None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:  # TORCH_HOME at a file, or a folder this user may not write
        raise RuntimeError(f"model.pretrained: {path.parent}: cannot hold the weights ({error.strerror or error}); "
                           f"set TORCH_HOME to a folder you can write, or put the file at {path}") from None  # fmt: skip
    try:
        return torch.hub.load_state_dict_from_url(url, map_location="cpu", progress=True, check_hash=True)
    except (urllib.error.URLError, OSError) as error:
        raise RuntimeError(
            f"model.pretrained: cannot download {enum_name}.{member} from {url} ({error}); "
            f"offline, put that file at {path}"
        ) from error


def _hash_advice(path: Path, url: str) -> str:
    """What to do about a weights file that does not load: torchvision's names carry the first hex
    digits of the file's sha256 (``vgg16-397923af.pth``), so say whether the file is the one named."""
    named = re.search(r"-([0-9a-f]{6,})\.", path.name)
    if named is None:
        return f"replace it with a fresh download of {url}"
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    actual = digest.hexdigest()[: len(named.group(1))]
    if actual == named.group(1):
        return "its sha256 matches its name, so this torch cannot read it: upgrade torch"
    return (
        f"its sha256 begins {actual}, not {named.group(1)} as its name says: replace it with a fresh download of {url}"
    )


def fetch(enum_name: str, member: str, elsewhere: list[Path]) -> Path:
    """Put the weights into this ``TORCH_HOME``'s hub cache, verified: copied from a hub cache in ``elsewhere``
    that has them (the user's own, filled by hand offline), else downloaded; then read once."""
    url, path = weights_path(enum_name, member)
    if not path.exists():
        for folder in elsewhere:
            placed = folder / "checkpoints" / path.name
            if placed.is_file() and placed.resolve() != path.resolve():
                path.parent.mkdir(parents=True, exist_ok=True)
                partial = path.with_name(path.name + ".part")
                shutil.copyfile(placed, partial)
                partial.replace(path)
                print(f"{path}: copied from {placed}")
                break
    load_torchvision_state(enum_name, member)  # downloads what is still missing; refuses what does not load
    print(f"{path}: {enum_name}.{member}, readable")
    return path


@command
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tagseg.core.pretrained", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    get = sub.add_parser("fetch", help="put weights into $TORCH_HOME/hub/checkpoints (copied or downloaded)")
    get.add_argument("weights", nargs="+", metavar="ENUM.MEMBER", help="e.g. VGG16_Weights.IMAGENET1K_V1")
    get.add_argument("--from-hub", type=Path, action="append", default=[], metavar="DIR",
                     help="a torch hub folder to copy from first (repeat); default: ~/.cache/torch/hub")  # fmt: skip
    args = parser.parse_args(argv)
    elsewhere = args.from_hub or [Path(os.path.expanduser("~/.cache/torch/hub"))]
    for name in args.weights:
        enum_name, _, member = name.partition(".")
        if (
            not hasattr(torchvision.models, enum_name)
            or member not in getattr(torchvision.models, enum_name).__members__
        ):
            raise ValueError(f"{name}: not a torchvision weights entry (e.g. VGG16_Weights.IMAGENET1K_V1)")
        fetch(enum_name, member, elsewhere)
    return 0


if __name__ == "__main__":
    sys.exit(main())
