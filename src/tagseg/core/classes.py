"""The PASCAL VOC classes both papers segment, the void label, and VOC's colour map.

Plain Python, no image library: models, metrics and the workflow read these without the data layer.
"""

from __future__ import annotations

CLASSES = (
    "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair",
    "cow", "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa",
    "train", "tvmonitor",
)  # fmt: skip
OBJECT_CLASSES = CLASSES[1:]
NUM_CLASSES = len(CLASSES)  # 21, background included
IGNORE_INDEX = 255  # VOC's void label: object borders and "difficult" regions


def voc_palette() -> list[int]:
    """The 256-entry VOC colour map as a flat [r, g, b, ...] list (class c's colour from c's bits)."""
    palette = []
    for label in range(256):
        r = g = b = 0
        c = label
        for bit in range(8):
            r |= ((c >> 0) & 1) << (7 - bit)
            g |= ((c >> 1) & 1) << (7 - bit)
            b |= ((c >> 2) & 1) << (7 - bit)
            c >>= 3
        palette += [r, g, b]
    return palette


def with_background(tags):  # (..., 20) tensor -> (..., 21) tensor; torch is imported by the caller's tensors
    """Object tags (..., 20) -> (..., 21) class tags with background always present (VOC's class order)."""
    import torch

    return torch.cat([torch.ones_like(tags[..., :1]), tags], dim=-1)
