"""Joint image/mask transforms as tiny callables, and the train and eval presets.

Every transform takes and returns ``(image, mask)`` tensors: image (3, H, W) float, mask (H, W)
int64 with 255 = void. The train preset follows the FCN/DeepLab recipe (random scale, crop with
void padding, horizontal flip); the eval preset only normalises.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from tagseg.core.classes import IGNORE_INDEX

# ImageNet statistics: what torchvision's pretrained VGG16 expects, and harmless from scratch.
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)

Pair = tuple[torch.Tensor, torch.Tensor]


def to_tensors(image: np.ndarray, mask: np.ndarray | None) -> Pair:
    """(H, W, 3) uint8 and (H, W) uint8 arrays -> (3, H, W) float in [0, 1] and (H, W) int64.

    A sample without a mask (weak pools) gets an all-void mask, so it contributes no pixel loss.
    """
    x = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float().div_(255.0)
    if mask is None:
        y = torch.full(image.shape[:2], IGNORE_INDEX, dtype=torch.int64)
    else:
        y = torch.from_numpy(np.ascontiguousarray(mask)).long()
    return x, y


@dataclass(frozen=True)
class RandomScale:
    """Resize by a factor drawn uniformly from [low, high]: bilinear image, nearest mask."""

    low: float
    high: float

    def __call__(self, image: torch.Tensor, mask: torch.Tensor) -> Pair:
        factor = random.uniform(self.low, self.high)
        h, w = mask.shape
        size = (max(1, round(h * factor)), max(1, round(w * factor)))
        image = F.interpolate(image[None], size=size, mode="bilinear", align_corners=False)[0]
        mask = F.interpolate(mask[None, None].float(), size=size, mode="nearest")[0, 0].long()
        return image, mask


@dataclass(frozen=True)
class RandomCrop:
    """Crop a size x size window, first padding the image with the mean colour and the mask with void."""

    size: int

    def __call__(self, image: torch.Tensor, mask: torch.Tensor) -> Pair:
        h, w = mask.shape
        pad_h, pad_w = max(self.size - h, 0), max(self.size - w, 0)
        if pad_h or pad_w:
            mean = torch.tensor(MEAN, dtype=image.dtype).view(3, 1, 1)
            padded = mean.expand(3, h + pad_h, w + pad_w).clone()
            padded[:, :h, :w] = image
            image = padded
            mask = F.pad(mask, (0, pad_w, 0, pad_h), value=IGNORE_INDEX)
        h, w = mask.shape
        top, left = random.randint(0, h - self.size), random.randint(0, w - self.size)
        window = (slice(top, top + self.size), slice(left, left + self.size))
        return image[:, window[0], window[1]], mask[window]


@dataclass(frozen=True)
class RandomHorizontalFlip:
    p: float = 0.5

    def __call__(self, image: torch.Tensor, mask: torch.Tensor) -> Pair:
        if random.random() < self.p:
            return image.flip(-1), mask.flip(-1)
        return image, mask


@dataclass(frozen=True)
class Normalize:
    def __call__(self, image: torch.Tensor, mask: torch.Tensor) -> Pair:
        mean = torch.tensor(MEAN, dtype=image.dtype).view(3, 1, 1)
        std = torch.tensor(STD, dtype=image.dtype).view(3, 1, 1)
        return (image - mean) / std, mask


@dataclass(frozen=True)
class Compose:
    transforms: tuple

    def __call__(self, image: torch.Tensor, mask: torch.Tensor) -> Pair:
        for t in self.transforms:
            image, mask = t(image, mask)
        return image, mask


def train_preset(crop_size: int, scale_range: tuple[float, float]) -> Compose:
    return Compose((RandomScale(*scale_range), RandomCrop(crop_size), RandomHorizontalFlip(0.5), Normalize()))


def eval_preset() -> Compose:
    return Compose((Normalize(),))


def denormalize(image: torch.Tensor) -> torch.Tensor:
    """Undo :class:`Normalize`: (…, 3, H, W) -> values in [0, 1] (for reconstructions and figures)."""
    mean = torch.tensor(MEAN, dtype=image.dtype, device=image.device).view(3, 1, 1)
    std = torch.tensor(STD, dtype=image.dtype, device=image.device).view(3, 1, 1)
    return image * std + mean
