"""sun2018's segmentation architecture and its three-step training iteration (Sections 2.1-2.3).

A variant is a fusion (none, dot product, addition) and an auxiliary network (none, generator,
discriminator); the rows of the paper's Tables 1-4 are these variants of one FCN:

    base       FCN alone                       label      FCN, dot-product fusion with labels
    gen        FCN + generator                 label_gen  FCN, dot fusion + generator
    discriminator  FCN + discriminator         label_add  FCN, additive fusion with labels
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from tagseg.core import checkpoint
from tagseg.core.classes import IGNORE_INDEX
from tagseg.core.precision import FP32, Precision, resolve
from tagseg.core.runtime import CHANNELS_LAST
from tagseg.sun2018.fusion import FUSIONS, fused_nll, label_vector
from tagseg.sun2018.fcn import FCN, FCNConfig
from tagseg.sun2018.auxiliary import Discriminator, Generator, discriminator_loss, euclidean_loss, fooling_loss
from tagseg.sun2018.variants import VARIANTS  # defined without torch, for the Snakefile


class Sun2018Net(nn.Module):
    """The FCN s, the image-label fusion, and the generator g or discriminator of a variant."""

    def __init__(self, fcn: FCN, variant: str, *, discriminator_width: int = 64):
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"train.variant: expected one of {', '.join(VARIANTS)}, got {variant!r}")
        self.variant_name = variant
        self.variant = VARIANTS[variant]
        self.fcn = fcn
        self.auxiliary: nn.Module | None = None
        if self.variant.auxiliary == "generator":
            self.auxiliary = Generator(n_classes=fcn.config.n_classes)
        elif self.variant.auxiliary == "discriminator":
            self.auxiliary = Discriminator(n_classes=fcn.config.n_classes, width=discriminator_width)

    def segment(self, images: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """s(u): log-probabilities (B, 21, H, W), fused with the (B, 21) label vector if the variant fuses."""
        scores = self.fcn(images)
        if self.variant.fusion is None:
            return F.log_softmax(scores.float(), dim=1)
        if labels is None:
            raise ValueError(f"variant {self.variant_name!r} fuses image labels; none were given")
        return FUSIONS[self.variant.fusion](scores, labels)


def fcn_family(variant: str) -> str:
    """The precision family of a variant (tagseg.core.precision): the three-step variants apart, with the
    compute-matched controls, which run in the arithmetic of the variants they control."""
    return "fcn_3step" if VARIANTS[variant].segmentation_updates > 1 else "fcn"


def fcn_checkpoint_config(net: Sun2018Net) -> dict:
    """What :func:`load_fcn` rebuilds a network from: the FCN's config, the variant, the discriminator's width."""
    width = net.auxiliary.width if net.variant.auxiliary == "discriminator" else None
    return {"fcn": asdict(net.fcn.config), "variant": net.variant_name, "discriminator_width": width}


def load_fcn(path: str | os.PathLike, device: torch.device) -> tuple[Sun2018Net, dict]:
    """A trained network (tagseg.sun2018.train_fcn's model.pt) in eval mode on ``device``, and its run record."""
    saved = checkpoint.load(path, "fcn", device)
    width = saved.config["discriminator_width"]
    net = Sun2018Net(FCN(FCNConfig(**saved.config["fcn"])), saved.config["variant"],
                     **({} if width is None else {"discriminator_width": width}))  # fmt: skip
    net = net.to(device, memory_format=CHANNELS_LAST)
    net.load_state_dict(saved.state)
    return net.eval(), saved.run


@dataclass(frozen=True)
class LoadedModel:
    """A trained network on its device, with what its results record: where it came from, its run
    record, and the arithmetic it is evaluated in (``resources.precision`` resolved for its family)."""

    net: Sun2018Net
    path: str
    run: dict
    device: torch.device
    arithmetic: Precision

    @classmethod
    def read(cls, path: str | os.PathLike, device: torch.device, precision: str) -> LoadedModel:
        net, model_run = load_fcn(path, device)
        return cls(net, str(path), model_run, device, resolve(precision, device, fcn_family(net.variant_name)))


@dataclass
class Optimizers:
    segmentation: torch.optim.Optimizer  # SGD on the FCN (theta_s)
    auxiliary: torch.optim.Optimizer | None  # Adam on the generator (theta_g) or discriminator


def _step(loss: torch.Tensor, optimizers: list[torch.optim.Optimizer], scaler: torch.amp.GradScaler) -> None:
    for optimizer in optimizers:
        optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    for optimizer in optimizers:
        scaler.step(optimizer)
    scaler.update()


def train_iteration(
    net: Sun2018Net,
    images: torch.Tensor,
    masks: torch.Tensor,
    tags: torch.Tensor,
    optimizers: Optimizers,
    scaler: torch.amp.GradScaler,
    *,
    adversarial_weight: float = 1.0,
    precision: Precision = FP32,
) -> dict[str, float]:
    """One iteration of Section 2.3; returns the losses it measured.

    Without an auxiliary network this is one step on L_seg (the controls: ``updates`` steps on the
    same batch). With one, three steps: (1) the segmentation network alone on L_seg, (2) the
    auxiliary network alone with the segmentation network fixed, (3) both together on L_seg + L_aux. The forward passes and losses run in
    ``precision``'s autocast (the losses on fp32 casts), the backward passes and steps outside it.
    """
    labels = label_vector(tags)
    seg_opt, aux_opt = optimizers.segmentation, optimizers.auxiliary

    # (1) segmentation network on L_seg (Eq. 2), on the fused maps when the variant fuses
    for _ in range(1 if net.auxiliary is not None else net.variant.updates):
        with precision.autocast():
            log_probabilities = net.segment(images, labels)
            seg_loss = fused_nll(log_probabilities, masks)
        _step(seg_loss, [seg_opt], scaler)
    if net.auxiliary is None:
        return {"loss_seg": float(seg_loss.detach())}

    # (2) auxiliary network alone, on step (1)'s maps as a fixed input: no second forward pass,
    # and the segmentation network is left entirely untouched (batch-norm statistics included)
    fixed = log_probabilities.detach().exp()
    with precision.autocast():
        if net.variant.auxiliary == "generator":
            aux_loss = euclidean_loss(net.auxiliary(fixed), images)  # L_gen (Eq. 3)
        else:
            aux_loss = discriminator_loss(net.auxiliary, _real_labelmap(masks, fixed), fixed)
    _step(aux_loss, [aux_opt], scaler)

    # (3) both on L_seg + L_aux; the discriminator is not trained to be fooled
    with precision.autocast():
        log_probabilities = net.segment(images, labels)
        seg_loss = fused_nll(log_probabilities, masks)
        probabilities = log_probabilities.exp()
        if net.variant.auxiliary == "generator":
            aux_loss = euclidean_loss(net.auxiliary(probabilities), images)
            joint = [seg_opt, aux_opt]
        else:
            aux_loss = adversarial_weight * fooling_loss(net.auxiliary, probabilities)
            joint = [seg_opt]
    _step(seg_loss + aux_loss, joint, scaler)
    return {"loss_seg": float(seg_loss.detach()), "loss_aux": float(aux_loss.detach())}


def _real_labelmap(masks: torch.Tensor, predicted: torch.Tensor) -> torch.Tensor:
    """One-hot ground truth (B, N, H, W); void pixels copy the prediction, so they tell nothing apart."""
    void = masks == IGNORE_INDEX
    one_hot = F.one_hot(masks.masked_fill(void, 0), predicted.shape[1]).permute(0, 3, 1, 2).to(predicted.dtype)
    return torch.where(void[:, None], predicted, one_hot)
