"""Torch datasets over a cached split, a collate that pads images of different sizes, and the
evaluation loader, whose batches hold images of one size only (so nothing is padded)."""

from __future__ import annotations

import math

import torch
from torch.utils.data import DataLoader, Dataset

from tagseg.data.transforms import Compose, eval_preset, to_tensors
from tagseg.core.classes import IGNORE_INDEX
from tagseg.data.voc import CachedSplit


class SegmentationDataset(Dataset):
    """Items ``(image (3, H, W), mask (H, W), tags (20,))`` from a cached split, transformed jointly."""

    def __init__(self, split: CachedSplit, transform: Compose):
        self.split = split
        self.transform = transform

    def __len__(self) -> int:
        return len(self.split)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        sample = self.split[i]
        image, mask = self.transform(*to_tensors(sample.image, sample.mask))
        return image, mask, torch.from_numpy(sample.tags.astype("float32"))


def pad_collate(batch: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, ...]:
    """Stack a batch, padding each image with zeros and each mask with void to the largest size.

    Padded pixels are void, so they are never scored; VOC images differ in size, the synthetic
    ones do not (then this is a plain stack).
    """
    height = max(image.shape[1] for image, _, _ in batch)
    width = max(image.shape[2] for image, _, _ in batch)
    images = torch.zeros(len(batch), 3, height, width)
    masks = torch.full((len(batch), height, width), IGNORE_INDEX, dtype=torch.int64)
    for k, (image, mask, _) in enumerate(batch):
        images[k, :, : image.shape[1], : image.shape[2]] = image
        masks[k, : mask.shape[0], : mask.shape[1]] = mask
    return images, masks, torch.stack([tags for _, _, tags in batch])


# The pixels ``eval.batch_size`` is sized for, per image: a VOC image's most (sides <= 500). A batch of larger
# images holds fewer of them, so that no batch holds more pixels than batch_size VOC images would
# (a memory limit per batch; an image too large alone is shrunk on import: folder.max_side).
PIXELS_PER_IMAGE = 500 * 500


def same_size_batches(shapes, batch_size: int, max_pixels: int | None = None) -> list[list[int]]:
    """Indices 0..n-1 in order, cut into runs of at most ``batch_size`` consecutive images of one size,
    and of at most ``max_pixels`` pixels in all (one image at least, however large).

    A padded batch changes the predictions of real pixels near the padding (a convolution's
    receptive field, a global pool reaches into it), so an image's scores would depend on which
    images share its batch. Batches of one size need no padding: each image is predicted as it
    would be alone, as Long et al.'s evaluation scores one image at a time. The synthetic images
    are all one size, so there the batches are the plain ``batch_size`` cuts.
    """
    if batch_size < 1:
        raise ValueError(f"eval.batch_size: expected >= 1, got {batch_size}")
    batches: list[list[int]] = []
    previous = None
    for i, shape in enumerate(shapes):
        shape = tuple(int(side) for side in shape)
        room = batch_size if max_pixels is None else max(1, min(batch_size, max_pixels // max(1, math.prod(shape))))
        if not batches or shape != previous or len(batches[-1]) >= room:
            batches.append([])
        batches[-1].append(i)
        previous = shape
    return batches


def eval_loader(split: CachedSplit, batch_size: int) -> DataLoader:
    """The split's images in order, normalised only, at most ``batch_size`` at a time, every batch of
    one image size (:func:`same_size_batches`): an image's prediction does not depend on its batch. Images
    larger than VOC's come fewer to a batch (at most ``batch_size`` x :data:`PIXELS_PER_IMAGE` pixels)."""
    batches = same_size_batches(split.shapes, batch_size, batch_size * PIXELS_PER_IMAGE)
    return DataLoader(SegmentationDataset(split, eval_preset()), batch_sampler=batches, collate_fn=pad_collate)
