"""sun2018's image-labelling network: a multi-label classifier over the object classes (VOC's 20).

The paper takes Wei et al.'s (2014) HCP network: VGG16 scoring many hypotheses of an image and
max-pooling the class scores across them. Here the hypotheses are the positions of the FCN trunk's
fc7 map: a 1x1 convolution scores every class at every position, and each class keeps its best
position. The trunk is the FCN's own (tagseg.sun2018.fcn), so ImageNet VGG16 loads the same way.
"""

from __future__ import annotations

import os

import numpy as np
import torch
import torch.nn as nn

from tagseg.core import checkpoint
from tagseg.core.runtime import CHANNELS_LAST
from tagseg.sun2018.fcn import BACKBONES, VGGTrunk, load_imagenet_vgg16


class ImageClassifier(nn.Module):
    """(B, 3, H, W) image -> (B, objects) class logits (background is not a class here: it is always present)."""

    def __init__(self, *, backbone: str = "vgg_tiny", n_classes: int = 20, pretrained: bool = False):
        super().__init__()
        if backbone not in BACKBONES:
            raise ValueError(f"model.backbone: expected one of {', '.join(BACKBONES)}, got {backbone!r}")
        self.backbone = backbone
        self.trunk = VGGTrunk(BACKBONES[backbone])
        if pretrained:
            load_imagenet_vgg16(self.trunk, backbone)
        self.score = nn.Conv2d(BACKBONES[backbone].fc_channels, n_classes, 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        scores = self.score(self.trunk(images)["fc7"])  # (B, objects, h, w): one hypothesis per position
        return scores.amax(dim=(2, 3))  # cross-hypothesis max pooling


def load_classifier(path: str | os.PathLike, device: torch.device) -> tuple[ImageClassifier, dict]:
    """A trained classifier (tagseg.sun2018.train_classifier's model.pt) in eval mode on ``device``, and its run record."""
    saved = checkpoint.load(path, "classifier", device)
    # a classifier from before class counts were kept is VOC's (20 object classes)
    model = ImageClassifier(backbone=saved.config["backbone"], n_classes=saved.config.get("n_classes", 20))
    model = model.to(device, memory_format=CHANNELS_LAST)
    model.load_state_dict(saved.state)
    return model.eval(), saved.run


def read_predictions(path: str | os.PathLike, ids: list[str]) -> torch.Tensor:
    """The (n, objects) probabilities a ``predict`` run wrote, checked to be for these image ids, in this order."""
    with np.load(path) as saved:
        saved_ids, probabilities = [str(i) for i in saved["ids"]], saved["probabilities"]
    if saved_ids != list(ids):
        raise ValueError(f"{path}: probabilities are for {len(saved_ids)} other images than the split's {len(ids)}")
    return torch.from_numpy(probabilities).float()
