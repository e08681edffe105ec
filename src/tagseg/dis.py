"""luo2017's iterative inference (Sections 2.1 and 3.1): refine the features u1, v1 with the network frozen.

In test, t_ts gradient steps on the reconstruction loss alone, ``u1*, v1* = argmin ||z3 - I||^2``;
in training, t_tr steps on reconstruction plus the tag loss against the weak (possibly noisy)
tags. Both call :func:`infer_latents`. The backbone runs once per image, before the first step;
every step runs only the subnets (:meth:`DualNet.heads`), so reading out several step counts
(t_ts = 0, 10, 30) costs one pass of the largest.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import Callable, Iterable, Iterator

import torch
import torch.nn.functional as F

from tagseg.inference_steps import REDUCED_FROM_CHANNELS, DirectLatents, Latents
from tagseg.metrics import class_argmax
from tagseg.models.dis import DualNet, DualOutputs, downsample_image, image_loss, map_loss, refine, tag_loss


@dataclass
class Readout:
    """The network's outputs after ``step`` inference steps, and the features they came from."""

    step: int
    outputs: DualOutputs
    latents: Callable[[], tuple[torch.Tensor, torch.Tensor]]  # u1, v1 at this step, made when first asked for

    @property
    def labelmap(self) -> torch.Tensor:
        """Final log-probabilities (B, 21, h, w): u3 refined by v3."""
        return refine(self.outputs.u3, self.outputs.v3)

    @cached_property
    def features(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.latents()

    @property
    def u1(self) -> torch.Tensor:
        return self.features[0]

    @property
    def v1(self) -> torch.Tensor:
        return self.features[1]


def upsampled_argmax(log_probabilities: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """The class of each pixel (B, H, W) of a (B, 21, h, w) labelmap upsampled bilinearly to ``size``.

    Upsampled in channels-last layout, so that the argmax reduces over contiguous values (in the
    default layout the 21 scores of a pixel lie H x W apart); the same values either way. The one way
    every consumer (evaluation, Figure 5, the test-server export) turns a read-out into classes.
    """
    stored = log_probabilities.contiguous(memory_format=torch.channels_last)
    return class_argmax(F.interpolate(stored, size=size, mode="bilinear", align_corners=False))


def inference_objective(outputs: DualOutputs, images: torch.Tensor, tags: torch.Tensor | None) -> torch.Tensor:
    """L_img (test), or L_img + L_tag against the weak tags (training), as Eq. (1)'s second part.

    ``images`` are the input, or the input already downsampled to z3's size (the same loss)."""
    loss = image_loss(outputs.z3, images)
    if tags is not None:
        loss = loss + tag_loss(outputs.v3, tags)
    return loss


def infer_latents(
    net: DualNet,
    u1: torch.Tensor,
    v1: torch.Tensor,
    images: torch.Tensor,
    *,
    steps: int,
    step_size: float,
    tags: torch.Tensor | None = None,
    readouts: Iterable[int] | None = None,
    direct: bool | None = None,
) -> dict[int, Readout]:
    """Take ``steps`` gradient steps on (u1, v1), the network's parameters fixed; return read-outs.

    u1 (B, C, h, w) and v1 (B, C) start from the backbone's features; ``images`` (B, 3, H, W) is
    the input, downsampled inside the loss to the reconstruction's size; ``tags`` (B, 21), when
    given, adds the tag loss (inference in training). ``readouts`` lists the step counts to report
    (default: the last); step 0 is the backbone's features untouched. Gradients are taken with
    respect to u1 and v1 only: no parameter's ``.grad`` is written.

    Two ways give the same iterates (to rounding; tests/test_dis.py): stepping the C-channel
    features themselves (``direct=True``, the paper's literal form), or stepping what subnets 1 and
    3 make of them (``direct=False``; tagseg.inference_steps has the derivation), which costs a
    21-channel convolution per step instead of two C-channel ones. By default the cheaper one for
    the network: the 21-channel route from ``REDUCED_FROM_CHANNELS`` backbone channels on.
    """
    if steps < 0 or step_size <= 0:
        raise ValueError(f"infer_latents: expected steps >= 0 and step_size > 0, got {steps}, {step_size}")
    wanted = sorted(set(readouts) if readouts is not None else {steps})
    if wanted and (wanted[0] < 0 or wanted[-1] > steps):
        raise ValueError(f"infer_latents: read-outs {wanted} outside 0..{steps}")
    if direct is None:
        direct = u1.shape[1] < REDUCED_FROM_CHANNELS
    target = downsample_image(images, u1.shape[2:])  # L_img's target, made once rather than at every step
    results: dict[int, Readout] = {}
    with frozen(net):
        latents = (DirectLatents if direct else Latents)(net, u1, v1)
        for step in range(steps):  # u1 <- u1 - step_size * dL/du1, v1 <- v1 - step_size * dL/dv1
            snapshot = latents.snapshot() if step in wanted else None
            before = latents.descend(lambda outputs: inference_objective(outputs, target, tags), step_size)
            if snapshot is not None:  # read out from the outputs this step differentiated
                results[step] = Readout(step=step, outputs=before, latents=snapshot)
        if steps in wanted:
            results[steps] = Readout(step=steps, outputs=latents.outputs, latents=latents.snapshot())
    return results


@contextmanager
def frozen(net: torch.nn.Module) -> Iterator[None]:
    """Parameters that do not require gradients for the block's duration, so that the backward passes
    of inference compute gradients for u1 and v1 only, not the weight gradients nobody reads."""
    flags = [(p, p.requires_grad) for p in net.parameters()]
    for p, _ in flags:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)


# --- training (Section 3) ----------------------------------------------------------------------

STAGE1_STEPS = ("map_tag", "reconstruction", "joint")


def stage1_parameters(net: DualNet, step: str) -> list[torch.nn.Parameter]:
    """The parameters each step of the fully supervised stage trains (Section 3).

    ``map_tag``: backbone, subnet-1 and subnet-3 on L_map + L_tag; ``reconstruction``: subnet-2
    alone on L_img, the rest frozen; ``joint``: all four on the three losses.
    """
    if step == "map_tag":
        return [*net.backbone.parameters(), *net.labelmap.parameters(), *net.tags.parameters()]
    if step == "reconstruction":
        return list(net.reconstruction.parameters())
    if step == "joint":
        return list(net.parameters())
    raise ValueError(f"dis.stage1 step: expected one of {', '.join(STAGE1_STEPS)}, got {step!r}")


def supervised_losses(
    outputs: DualOutputs, images: torch.Tensor, masks: torch.Tensor, tags: torch.Tensor, image_reduction: str = "mean"
) -> dict:
    """L_map (u3's softmax, upsampled to the masks), L_img and L_tag of fully labelled images, as Section 3
    names them: each loss on its own subnet's output; the refinement by v3 is for prediction."""
    return {
        "loss_map": map_loss(torch.log_softmax(outputs.u3.float(), dim=1), masks),
        "loss_img": image_loss(outputs.z3, images, image_reduction),
        "loss_tag": tag_loss(outputs.v3, tags),
    }


STAGE1_LOSSES = {
    "map_tag": ("loss_map", "loss_tag"),
    "reconstruction": ("loss_img",),
    "joint": ("loss_map", "loss_img", "loss_tag"),
}


def stage1_iteration(
    net: DualNet,
    images: torch.Tensor,
    masks: torch.Tensor,
    tags: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    step: str,
    image_reduction: str = "mean",
) -> dict[str, float]:
    """One update of the fully supervised stage; ``optimizer`` holds :func:`stage1_parameters` of ``step``.

    ``image_reduction`` is L_img's form in training (:func:`tagseg.models.dis.image_loss`); inference
    always uses the summed form, the scale ``step_size`` is set for.

    In the reconstruction step the backbone and subnet-1 run without gradients (frozen, batch-norm
    statistics included), so only subnet-2 can change.
    """
    if step == "reconstruction":
        with torch.no_grad():
            was_training = net.training
            net.eval()
            u3 = net.heads(*net.features(images)).u3
            net.train(was_training)
        losses = {"loss_img": image_loss(net.reconstruction(torch.softmax(u3, dim=1)), images, image_reduction)}
    else:
        losses = supervised_losses(net(images), images, masks, tags, image_reduction)
    total = sum(losses[name] for name in STAGE1_LOSSES[step])
    optimizer.zero_grad(set_to_none=True)
    total.backward()
    optimizer.step()
    return {name: float(value.detach()) for name, value in losses.items()}


def soft_cross_entropy(log_probabilities: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Cross-entropy against a soft target distribution over dim 1, averaged over pixels and images."""
    return -(target * log_probabilities).sum(dim=1).mean()


def stage2_iteration(
    net: DualNet,
    full: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    weak: tuple[torch.Tensor, torch.Tensor],
    optimizer: torch.optim.Optimizer,
    *,
    t_tr: int,
    step_size: float,
    image_reduction: str = "mean",
) -> dict[str, float]:
    """One update of the semi-supervised stage (Section 3.1, Eq. 1).

    ``full`` is (images, masks, tags (B, 21)) of fully labelled images, ``weak`` (images, tags (B, 21))
    of weakly labelled ones. For the weak images: (i) with theta frozen, infer L^w and the clean
    tags T^w-hat by ``t_tr`` steps on L_img + L_tag against the weak tags, and take them (softmax
    of the refined labelmap, sigmoid of v3) as targets; (ii) update theta on the three losses of
    both sources, the weak images against their inferred targets. With t_tr = 0 the targets are
    the network's own predictions (the paper's "degenerate" semi-supervised scheme).
    """
    images, masks, tags = full
    losses = supervised_losses(net(images), images, masks, tags, image_reduction)

    # The backbone runs once on the weak images: its features, with their graph, serve the update of
    # theta, and detached they start the inference (theta has not moved yet, so they are the same
    # values); batch norm's running statistics see the weak batch once.
    weak_images, weak_tags = weak
    u1, v1 = net.features(weak_images)
    inferred = infer_latents(net, u1, v1, weak_images, steps=t_tr, step_size=step_size, tags=weak_tags)[t_tr]
    pseudo_map = inferred.labelmap.exp().detach()  # (B, 21, h, w): L^w
    pseudo_tags = torch.sigmoid(inferred.outputs.v3).detach()  # (B, 21): clean tags T^w-hat
    weak_out = net.heads(u1, v1)
    losses["loss_map_weak"] = soft_cross_entropy(torch.log_softmax(weak_out.u3.float(), dim=1), pseudo_map)
    losses["loss_img_weak"] = image_loss(weak_out.z3, weak_images, image_reduction)
    losses["loss_tag_weak"] = tag_loss(weak_out.v3, pseudo_tags)
    optimizer.zero_grad(set_to_none=True)
    sum(losses.values()).backward()
    optimizer.step()
    return {name: float(value.detach()) for name, value in losses.items()}
