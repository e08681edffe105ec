"""ImageNet weights through torchvision's weights API, with a clear error when offline."""

from __future__ import annotations

import urllib.error
from pathlib import Path

import torch
import torchvision.models


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
        return torch.load(path, map_location="cpu", weights_only=True)
    try:
        return torch.hub.load_state_dict_from_url(url, map_location="cpu", progress=True, check_hash=True)
    except (urllib.error.URLError, OSError) as error:
        raise RuntimeError(
            f"model.pretrained: cannot download {enum_name}.{member} from {url} ({error}); "
            f"offline, put that file at {path}"
        ) from error
