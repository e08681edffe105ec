"""FCN-32s and FCN-8s (Long, Shelhamer and Darrell, CVPR 2015), laid out as in their Caffe nets.

One VGG trunk (conv1_1 ... pool5, then fc6 and fc7 as convolutions) serves both; the two differ
only in the head. Layer names follow the FCN prototxt (``score_fr``, ``upscore2``,
``score_pool4`` ...). The input is padded by 100 pixels in conv1_1, as FCN does, so that any
image size survives the 7x7 fc6; :func:`crop_offsets` derives the crops that undo that padding.

Two trunk sizes share this code: ``vgg16`` (the papers', 134M parameters in FCN-32s) and
``vgg_tiny`` (the same layers at 1/8 width and stride 8, with batch norm, for CPU scales).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn as nn
import torch.nn.functional as F

CONVS_PER_BLOCK = (2, 2, 3, 3, 3)  # VGG16: conv1_1..conv1_2, ..., conv5_1..conv5_3


@dataclass(frozen=True)
class Backbone:
    widths: tuple[int, ...]  # output channels of the five conv blocks
    pooled: tuple[bool, ...]  # whether each block ends in a 2x2 stride-2 pool
    fc_channels: int  # fc6 / fc7 channels
    fc6_kernel: int  # fc6's kernel (VGG16's 7x7 classifier window)
    input_padding: int  # conv1_1's padding: takes any image, down to 1 pixel, through fc6
    batch_norm: bool  # BatchNorm after every convolution of the five blocks
    dropout: float  # after fc6 and fc7
    # pool4's and pool3's features are scaled by these before their skip scores: FCN's "at-once" FCN-8s
    # (voc-fcn8s-atonce) uses 0.01 and 0.0001, so that the skips of unnormalised VGG16 features start
    # small beside the fc7 path; with batch norm after every convolution there is nothing to even out
    skip_scales: tuple[float, float] = (1.0, 1.0)

    @property
    def strides(self) -> tuple[int, int, int]:
        """Strides of pool3, pool4 and pool5 (the fc7 map) relative to the input."""
        total, out = 1, []
        for pooled in self.pooled:
            total *= 2 if pooled else 1
            out.append(total)
        return out[2], out[3], out[4]


BACKBONES = {
    "vgg16": Backbone(
        widths=(64, 128, 256, 512, 512),
        pooled=(True,) * 5,
        fc_channels=4096,
        fc6_kernel=7,
        input_padding=100,
        batch_norm=False,
        dropout=0.5,
        skip_scales=(0.01, 0.0001),
    ),  # fmt: skip
    # VGG16's layers at 1/8 width, with pool2 and pool3 left out, so that pool3, pool4 and fc7 sit
    # at 1/2, 1/4 and 1/8 instead of 1/8, 1/16 and 1/32. On 64-pixel synthetic images its maps then
    # have about as many cells per object as VGG16's have on 500-pixel VOC images (at stride 32, a
    # 64-pixel image is 2x2 cells and FCN-32s cannot learn to segment it). 5x5 fc6 with 17 pixels
    # of input padding, the least that takes a 1-pixel image through it (a 3x3 fc6 would leave
    # FCN-8s's skip crops no slack: half of all image sizes would not fit), 128-channel fc layers.
    # Trained from scratch, it needs batch norm and no dropout to learn within a CPU budget
    # (REPRODUCTION.md F2 and F8 have the measurements).
    "vgg_tiny": Backbone(
        widths=(8, 16, 32, 64, 64),
        pooled=(True, False, False, True, True),
        fc_channels=128,
        fc6_kernel=5,
        input_padding=17,
        batch_norm=True,
        dropout=0.0,
    ),  # fmt: skip
}


@dataclass(frozen=True)
class CropOffsets:
    upscore: int  # FCN-32s: upscore (full size) vs the input
    score_pool4: int  # FCN-8s: score_pool4 vs upscore2
    score_pool3: int  # FCN-8s: score_pool3 vs upscore_pool4
    upscore8: int  # FCN-8s: upscore8 (full size) vs the input


def crop_offsets(backbone: Backbone) -> CropOffsets:
    """Where each upsampled map must be cropped to line up with its target, as Caffe's Crop layer finds.

    Each map's cell o is centred on input coordinate ``scale * o + shift``. A k x k convolution with
    padding p adds (k - 1) / 2 - p at its input's scale, a 2x2 stride-2 pool adds 1/2, and a stride-f
    deconvolution with a 2f kernel, the inverse, subtracts (2f - 1) / 2 at its output's scale. A map
    is cropped by the difference of two shifts over their common scale. With VGG16 (100-pixel
    padding, 7x7 fc6) this gives FCN's offsets: 19 for 32s; 5, 9 and 31 for 8s.
    """
    shift, scale, maps = 1.0 - backbone.input_padding, 1, []  # after conv1_1; other 3x3 convs add 0
    for pooled in backbone.pooled:
        if pooled:
            shift, scale = shift + 0.5 * scale, 2 * scale
        maps.append((scale, shift))
    pool3, pool4, pool5 = maps[2], maps[3], maps[4]
    fc7 = (pool5[0], pool5[1] + pool5[0] * (backbone.fc6_kernel - 1) / 2)

    def upsample(feature: tuple[int, float], factor: int) -> tuple[int, float]:
        scale, shift = feature
        return scale // factor, shift - (scale // factor) * (2 * factor - 1) / 2

    def crop(reference: tuple[int, float], cropped: tuple[int, float]) -> int:
        offset = (reference[1] - cropped[1]) / cropped[0]
        assert offset == int(offset) and offset >= 0, f"crop offset {offset} is not a non-negative integer"
        return int(offset)

    image = (1, 0.0)
    up2 = upsample(fc7, fc7[0] // pool4[0])
    up4 = upsample(up2, pool4[0] // pool3[0])
    return CropOffsets(
        upscore=crop(image, upsample(fc7, fc7[0])),
        score_pool4=crop(up2, pool4),
        score_pool3=crop(up4, pool3),
        upscore8=crop(image, upsample(up4, pool3[0])),
    )


@dataclass(frozen=True)
class FCNConfig:
    arch: Literal["fcn32s", "fcn8s"] = "fcn32s"  # head: one stride-32 upsampling, or the pool3/pool4 skips
    backbone: str = "vgg_tiny"  # trunk size, a key of BACKBONES
    n_classes: int = 21  # VOC: 20 objects + background

    def __post_init__(self) -> None:
        if self.arch not in ("fcn32s", "fcn8s"):
            raise ValueError(f"model.arch: expected one of fcn32s, fcn8s, got {self.arch!r}")
        if self.backbone not in BACKBONES:
            raise ValueError(f"model.backbone: expected one of {', '.join(BACKBONES)}, got {self.backbone!r}")


def bilinear_kernel(channels: int, kernel_size: int) -> torch.Tensor:
    """(channels, 1, k, k) bilinear interpolation weights, as FCN's ``upsample_filt``."""
    factor = (kernel_size + 1) // 2
    center = factor - 1 if kernel_size % 2 == 1 else factor - 0.5
    og = torch.arange(kernel_size, dtype=torch.float32)
    filt = 1 - (og - center).abs() / factor
    return (filt[:, None] * filt[None, :]).expand(channels, 1, kernel_size, kernel_size).clone()


class FixedUpsample(nn.Module):
    """Per-class transposed convolution with frozen bilinear weights (Caffe's lr_mult: 0 deconv)."""

    def __init__(self, channels: int, factor: int):
        super().__init__()
        self.factor = factor
        self.register_buffer("weight", bilinear_kernel(channels, 2 * factor), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # output size (in - 1) * factor + 2 * factor, as Caffe's Deconvolution without padding. Always
        # in fp32, outside any autocast: CPU autocast would run this grouped deconvolution in bfloat16,
        # by a kernel about 30 times slower than fp32's (torch.profiler: 31 ms of a 95 ms bf16 FCN-32s
        # step), and it has no weights to learn.
        with torch.autocast(x.device.type, enabled=False):
            return F.conv_transpose2d(x.float(), self.weight.float(), stride=self.factor, groups=x.shape[1])


class VGGTrunk(nn.Module):
    """conv1_1 ... conv5_3 with pools, then fc6 (7x7) and fc7 (1x1) as convolutions."""

    def __init__(self, backbone: Backbone):
        super().__init__()
        self.blocks = nn.ModuleList()
        in_channels = 3
        for b, (n_convs, width) in enumerate(zip(CONVS_PER_BLOCK, backbone.widths), start=1):
            block = nn.Sequential()
            for c in range(1, n_convs + 1):
                padding = backbone.input_padding if (b, c) == (1, 1) else 1
                block.add_module(f"conv{b}_{c}", nn.Conv2d(in_channels, width, 3, padding=padding))
                if backbone.batch_norm:
                    block.add_module(f"bn{b}_{c}", nn.BatchNorm2d(width))
                block.add_module(f"relu{b}_{c}", nn.ReLU(inplace=True))
                in_channels = width
            if backbone.pooled[b - 1]:
                block.add_module(f"pool{b}", nn.MaxPool2d(2, stride=2, ceil_mode=True))
            self.blocks.append(block)
        self.fc6 = nn.Conv2d(in_channels, backbone.fc_channels, backbone.fc6_kernel)
        self.fc7 = nn.Conv2d(backbone.fc_channels, backbone.fc_channels, 1)
        self.drop = nn.Dropout(backbone.dropout)  # element-wise, as Caffe's Dropout layer
        self.pool_channels = (backbone.widths[2], backbone.widths[3])
        # He initialisation, as torchvision's VGG: from scratch, PyTorch's default init leaves this
        # 15-layer ReLU stack without batch norm predicting background only for hundreds of steps.
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        pools = []
        for block in self.blocks:
            x = block(x)
            pools.append(x)
        h = self.drop(F.relu(self.fc6(pools[4]), inplace=True))
        h = self.drop(F.relu(self.fc7(h), inplace=True))
        return {"pool3": pools[2], "pool4": pools[3], "fc7": h}  # VGG16: 1/8, 1/16, 1/32 (+ padding)


class FCN(nn.Module):
    """FCN-32s or FCN-8s. ``forward`` returns class scores (B, n_classes, H, W) at the input size."""

    def __init__(self, config: FCNConfig):
        super().__init__()
        self.config = config
        backbone = BACKBONES[config.backbone]
        n = config.n_classes
        self.crop = crop_offsets(backbone)
        self.skip_scales = backbone.skip_scales
        pool3_stride, pool4_stride, fc7_stride = backbone.strides  # VGG16: 8, 16, 32
        self.trunk = VGGTrunk(backbone)
        self.score_fr = nn.Conv2d(backbone.fc_channels, n, 1)
        if config.arch == "fcn32s":
            self.upscore = FixedUpsample(n, fc7_stride)
        else:
            pool3_channels, pool4_channels = self.trunk.pool_channels
            self.score_pool4 = nn.Conv2d(pool4_channels, n, 1)
            self.score_pool3 = nn.Conv2d(pool3_channels, n, 1)
            self.upscore2 = FixedUpsample(n, fc7_stride // pool4_stride)
            self.upscore_pool4 = FixedUpsample(n, pool4_stride // pool3_stride)
            self.upscore8 = FixedUpsample(n, pool3_stride)  # named as in FCN; x8 for VGG16
            # FCN initialises the skip scores at zero, so training starts from the 32s prediction
            for layer in (self.score_pool4, self.score_pool3):
                nn.init.zeros_(layer.weight)
                nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[2:]
        feats = self.trunk(x)
        score = self.score_fr(feats["fc7"])  # 1/32 (VGG16's scales)
        if self.config.arch == "fcn32s":
            up = self.upscore(score)  # 1/1
            return _crop(up, self.crop.upscore, h, w)
        up2 = self.upscore2(score)  # 1/16
        scale_pool4, scale_pool3 = self.skip_scales
        pool4 = self.score_pool4(feats["pool4"] * scale_pool4 if scale_pool4 != 1 else feats["pool4"])
        up2 = up2 + _crop(pool4, self.crop.score_pool4, *up2.shape[2:])
        up4 = self.upscore_pool4(up2)  # 1/8
        pool3 = self.score_pool3(feats["pool3"] * scale_pool3 if scale_pool3 != 1 else feats["pool3"])
        up4 = up4 + _crop(pool3, self.crop.score_pool3, *up4.shape[2:])
        up8 = self.upscore8(up4)  # 1/1
        return _crop(up8, self.crop.upscore8, h, w)


def _crop(x: torch.Tensor, offset: int, h: int, w: int) -> torch.Tensor:
    return x[:, :, offset : offset + h, offset : offset + w]


# --- ImageNet initialisation -------------------------------------------------------------------------

VGG16_FEATURE_CONVS = (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28)  # conv layers in torchvision's vgg16.features


def fcn_state_from_vgg16(vgg_state: dict[str, torch.Tensor], trunk: VGGTrunk) -> dict[str, torch.Tensor]:
    """Map torchvision's VGG16 weights onto the trunk: 13 convs, then classifier.0/.3 reshaped to fc6/fc7."""
    convs = [m for m in trunk.blocks.modules() if isinstance(m, nn.Conv2d)]
    trunk_names = {id(m): name for name, m in trunk.named_modules()}
    state = {}
    for conv, index in zip(convs, VGG16_FEATURE_CONVS):
        name = trunk_names[id(conv)]
        state[f"{name}.weight"] = vgg_state[f"features.{index}.weight"]
        state[f"{name}.bias"] = vgg_state[f"features.{index}.bias"]
    state["fc6.weight"] = vgg_state["classifier.0.weight"].view(trunk.fc6.weight.shape)
    state["fc6.bias"] = vgg_state["classifier.0.bias"]
    state["fc7.weight"] = vgg_state["classifier.3.weight"].view(trunk.fc7.weight.shape)
    state["fc7.bias"] = vgg_state["classifier.3.bias"]
    return state


def load_imagenet_vgg16(trunk: VGGTrunk, backbone: str) -> None:
    """Initialise a trunk from torchvision's ImageNet VGG16 (downloaded once into torch's hub cache)."""
    from tagseg.core.pretrained import load_torchvision_state

    if backbone != "vgg16":
        raise ValueError(f"model.pretrained: ImageNet weights exist for backbone vgg16 only, not {backbone!r}")
    vgg_state = load_torchvision_state("VGG16_Weights", "IMAGENET1K_V1")
    trunk.load_state_dict(fcn_state_from_vgg16(vgg_state, trunk))


def build_fcn(config: FCNConfig, pretrained: bool = False) -> FCN:
    model = FCN(config)
    if pretrained:
        load_imagenet_vgg16(model.trunk, config.backbone)
    return model
