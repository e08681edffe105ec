"""luo2017's dual image segmentation network (DIS, Section 2.1, Fig. 3).

A backbone gives pixel features u1 (B, C, h, w) and an image feature vector v1 (B, C); three
subnets read them:

    subnet-1 (labelmap)        u2 = u1 + up(v1)            u3 = conv3x3(C -> 21)(u2)
    subnet-2 (reconstruction)  z3 = conv3x3(16 -> 3)(relu(conv3x3(21 -> 16)(relu(conv5x5(21 -> 21)(softmax(u3))))))
    subnet-3 (tags)            v2 = avgpool(u1) + v1       v3 = linear(C -> 21)(v2)

and the final labelmap is u3 refined by the tags v3 (:func:`refine`). The backbone is the paper's
dilated ResNet-101 (2048 x 45 x 45 at 321 px, output stride 8, as DeepLab) or, at the CPU scales,
``resnet_tiny``: a stem and four stages of torchvision's ``BasicBlock`` at 16..128 channels, also
at output stride 8. Everything after the backbone (:meth:`DualNet.heads`) is a function of
(u1, v1) alone, which is what lets inference refine u1 and v1 without re-running the backbone.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from torchvision.models.resnet import BasicBlock

from tagseg.core import checkpoint
from tagseg.core.classes import IGNORE_INDEX
from tagseg.core.runtime import CHANNELS_LAST

BACKBONES = ("resnet101", "resnet_tiny")


@dataclass(frozen=True)
class DISConfig:
    backbone: str = "resnet_tiny"  # resnet101 (the paper's, dilated) or resnet_tiny (CPU scales)
    n_classes: int = 21  # VOC: 20 objects + background

    def __post_init__(self) -> None:
        if self.backbone not in BACKBONES:
            raise ValueError(f"dis.backbone: expected one of {', '.join(BACKBONES)}, got {self.backbone!r}")


@dataclass
class DualOutputs:
    u3: torch.Tensor  # (B, 21, h, w) labelmap scores
    z3: torch.Tensor  # (B, 3, h, w) the image reconstructed at the features' resolution
    v3: torch.Tensor  # (B, 21) tag scores

    def detach(self) -> DualOutputs:
        return DualOutputs(self.u3.detach(), self.z3.detach(), self.v3.detach())


class ResNet101Trunk(nn.Module):
    """torchvision's ResNet-101 up to layer4, with layer3 and layer4 dilated (output stride 8, 2048 channels)."""

    channels = 2048

    def __init__(self, *, pretrained: bool = False):
        super().__init__()
        net = torchvision.models.resnet101(weights=None, replace_stride_with_dilation=[False, True, True])
        if pretrained:
            from tagseg.core.pretrained import load_torchvision_state

            net.load_state_dict(load_torchvision_state("ResNet101_Weights", "IMAGENET1K_V1"))
        self.body = nn.Sequential(
            net.conv1, net.bn1, net.relu, net.maxpool, net.layer1, net.layer2, net.layer3, net.layer4
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.body(images)  # (B, 2048, H/8, W/8)


class TinyResNetTrunk(nn.Module):
    """A 3x3 stem and four single-BasicBlock stages (16, 32, 64, 128 channels; strides 1, 2, 2, 2)."""

    channels = 128

    def __init__(self, *, pretrained: bool = False):
        super().__init__()
        if pretrained:
            raise ValueError("model.pretrained: ImageNet weights exist for resnet101 only")
        widths, layers, in_channels = (16, 32, 64, 128), [], 16
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(inplace=True))
        for i, width in enumerate(widths):
            stride = 1 if i == 0 else 2
            downsample = None
            if stride != 1 or in_channels != width:
                downsample = nn.Sequential(
                    nn.Conv2d(in_channels, width, 1, stride=stride, bias=False), nn.BatchNorm2d(width)
                )
            layers.append(BasicBlock(in_channels, width, stride=stride, downsample=downsample))
            in_channels = width
        self.layers = nn.Sequential(*layers)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.layers(self.stem(images))  # (B, 128, ceil(H/8), ceil(W/8))


class DualNet(nn.Module):
    """Backbone + subnets 1-3 of DIS."""

    def __init__(self, config: DISConfig = DISConfig(), *, pretrained: bool = False):
        super().__init__()
        self.config = config
        trunk_class = ResNet101Trunk if config.backbone == "resnet101" else TinyResNetTrunk
        self.backbone = trunk_class(pretrained=pretrained)
        c, n = trunk_class.channels, config.n_classes
        self.labelmap = nn.Conv2d(c, n, 3, padding=1)  # subnet-1: C x 3 x 3 x 21
        self.reconstruction = nn.Sequential(  # subnet-2
            nn.Conv2d(n, n, 5, padding=2),  # 21 x 5 x 5 x 21 (N x 5 x 5 x N for N classes)
            nn.ReLU(inplace=True),
            nn.Conv2d(n, 16, 3, padding=1),  # 21 x 3 x 3 x 16
            nn.ReLU(inplace=True),
            nn.Conv2d(16, 3, 3, padding=1),  # 16 x 3 x 3 x 3
        )
        self.tags = nn.Linear(c, n)  # subnet-3: C -> 21
        # "the parameters of three subnets are initialized by sampling from a normal distribution"
        for layer in (self.labelmap, self.tags, *self.reconstruction):
            if isinstance(layer, (nn.Conv2d, nn.Linear)):
                nn.init.normal_(layer.weight, std=0.01)
                nn.init.zeros_(layer.bias)

    def features(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """u1 (B, C, h, w), the backbone's map, and v1 (B, C), its global average pool (ResNet's feature vector)."""
        u1 = self.backbone(images)
        return u1, u1.mean(dim=(2, 3))

    def heads(self, u1: torch.Tensor, v1: torch.Tensor) -> DualOutputs:
        """The three subnets on given features; the backbone is not run."""
        u2 = u1 + v1[:, :, None, None]  # u1 + up(v1)
        u3 = self.labelmap(u2)  # (B, 21, h, w)
        v2 = u1.mean(dim=(2, 3)) + v1  # avgpool(u1) + v1
        return self.reconstruct(u3, self.tags(v2))

    def reconstruct(self, u3: torch.Tensor, v3: torch.Tensor) -> DualOutputs:
        """Subnet-2 on the labelmap scores u3: the outputs given u3 and v3."""
        z3 = self.reconstruction(F.softmax(u3, dim=1))  # (B, 3, h, w)
        return DualOutputs(u3=u3, z3=z3, v3=v3)

    def forward(self, images: torch.Tensor) -> DualOutputs:
        return self.heads(*self.features(images))


def refine(u3: torch.Tensor, v3: torch.Tensor) -> torch.Tensor:
    """The final labelmap: u3 refined by the tags v3 (the paper's "v3 as a convolution kernel on u3").

    Read as a 1x1 depthwise convolution: each class's probability map is weighted by that class's
    tag probability, then renormalised per pixel. Returns log-probabilities (B, 21, h, w).
    """
    weighted = F.log_softmax(u3.float(), dim=1) + F.logsigmoid(v3.float())[:, :, None, None]
    return F.log_softmax(weighted, dim=1)


def downsample_image(images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """The reconstruction target: the input averaged down to the features' resolution (45 x 45 in the paper)."""
    return F.adaptive_avg_pool2d(images, size)


def image_loss(z3: torch.Tensor, images: torch.Tensor, reduction: str = "sum") -> torch.Tensor:
    """L_img, Euclidean, against the image area-averaged to z3's size.

    ``sum``: half the squared error summed over pixels and channels, averaged over images (Caffe's
    EuclideanLoss; its scale grows with the feature map, 3 x 45 x 45 terms at 321 px). ``mean``: the
    squared error averaged over every element, on the scale of L_map and L_tag (REPRODUCTION.md L4).
    """
    target = downsample_image(images, z3.shape[2:])
    if reduction == "mean":
        return F.mse_loss(z3.float(), target.float())
    if reduction == "sum":
        return 0.5 * (z3.float() - target.float()).pow(2).sum() / len(z3)
    raise ValueError(f"dis.image_loss: expected 'mean' or 'sum', got {reduction!r}")


def tag_loss(v3: torch.Tensor, tags: torch.Tensor) -> torch.Tensor:
    """L_tag on (B, 21) scores against (B, 21) targets in [0, 1]: multi-label, one sigmoid per class."""
    return F.binary_cross_entropy_with_logits(v3.float(), tags.float())


def map_loss(log_probabilities: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """L_map: cross-entropy of the labelmap, upsampled bilinearly to the masks' size, over labelled pixels."""
    if log_probabilities.shape[2:] != masks.shape[1:]:
        log_probabilities = F.interpolate(log_probabilities, size=masks.shape[1:], mode="bilinear", align_corners=False)
        log_probabilities = F.log_softmax(log_probabilities, dim=1)
    return F.nll_loss(log_probabilities, masks.long(), ignore_index=IGNORE_INDEX)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def stage_family(stage: str) -> str:
    """The precision family (tagseg.core.precision) of a DIS training stage: stage 2's control, stage 1
    continued by stage 2's updates without the weak images, is stage 2's."""
    return "dis_stage1" if stage == "stage1" else "dis_stage2"


def dis_family(model_run: dict) -> str:
    """The precision family of a DIS model, from its run record: its stage's."""
    return stage_family(model_run["settings"]["stage"])


def load_dis(path: str | os.PathLike, device: torch.device) -> tuple[DualNet, dict]:
    """A trained DualNet (tagseg.luo2017.train_dis's model.pt) in eval mode on ``device``, and its run record."""
    saved = checkpoint.load(path, "dis", device)
    net = DualNet(DISConfig(**saved.config)).to(device, memory_format=CHANNELS_LAST)
    net.load_state_dict(saved.state)
    return net.eval(), saved.run
