"""sun2018's auxiliary networks on labelmaps: the generator (Section 2.2) and the discriminator (Table 2).

* :class:`Generator` reconstructs the input image from the fused probability maps with three 3x3
  convolutions, 21 -> 18 -> 9 -> 3 channels, as the paper gives them; its loss is Euclidean.
* :class:`Discriminator` is the "+dis" alternative: five convolutional layers that tell
  ground-truth labelmaps (one-hot) from predicted ones (probabilities). The paper gives only the
  layer count; the rest follows the labelmap discriminators of Luc et al. (2016), see
  REPRODUCTION.md.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class Generator(nn.Module):
    """(B, 21, H, W) probabilities -> (B, 3, H, W) image, in the same normalised space as the input."""

    def __init__(self, *, n_classes: int = 21):
        super().__init__()
        self.conv1 = nn.Conv2d(n_classes, 18, 3, padding=1)  # 21 x 3 x 3 x 18
        self.conv2 = nn.Conv2d(18, 9, 3, padding=1)  # 18 x 3 x 3 x 9
        self.conv3 = nn.Conv2d(9, 3, 3, padding=1)  # 9 x 3 x 3 x 3

    def forward(self, probabilities: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.conv1(probabilities))
        h = F.relu(self.conv2(h))
        return self.conv3(h)


def euclidean_loss(
    reconstruction: torch.Tensor, image: torch.Tensor, valid: torch.Tensor | None = None
) -> torch.Tensor:
    """sun2018's l_euc: mean squared error per pixel and channel, over valid pixels (padding excluded)."""
    squared = (reconstruction.float() - image.float()).pow(2).sum(dim=1)  # (B, H, W)
    if valid is None:
        return squared.mean() / image.shape[1]
    return (squared * valid).sum() / valid.sum().clamp(min=1) / image.shape[1]


class Discriminator(nn.Module):
    """Five convolutions, stride 2 in the first four; a map of real/fake logits (B, 1, H/16, W/16)."""

    def __init__(self, *, n_classes: int = 21, width: int = 64):
        super().__init__()
        self.width = width
        channels = (n_classes, width, 2 * width, 4 * width, 8 * width)
        self.convs = nn.ModuleList(
            nn.Conv2d(c_in, c_out, 3, stride=2, padding=1) for c_in, c_out in zip(channels, channels[1:])
        )
        self.score = nn.Conv2d(channels[-1], 1, 3, padding=1)

    def forward(self, labelmap: torch.Tensor) -> torch.Tensor:
        h = labelmap
        for conv in self.convs:
            h = F.leaky_relu(conv(h), 0.2)
        return self.score(h)


def discriminator_loss(discriminator: Discriminator, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """The discriminator's loss: ground-truth labelmaps (one-hot) real, predicted ones fake.

    ``fake`` is detached: this loss trains the discriminator only.
    """
    real_logits, fake_logits = discriminator(real), discriminator(fake.detach())
    return F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits)) + (
        F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    )


def fooling_loss(discriminator: Discriminator, fake: torch.Tensor) -> torch.Tensor:
    """The segmentation network's adversarial loss (non-saturating): make predictions look real."""
    logits = discriminator(fake)
    return F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
