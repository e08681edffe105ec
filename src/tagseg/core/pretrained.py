"""ImageNet weights through torchvision's weights API, with a clear error when offline."""

from __future__ import annotations

import hashlib
import re
import urllib.error
from pathlib import Path

import torch
import torchvision.models

from tagseg.core.checkpoint import UnreadableFile, read_tensors


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
