"""luo2017's iterative inference (Sections 2.1 and 3.1): refine the features u1, v1 with the network frozen.

In test, t_ts gradient steps on the reconstruction loss alone, ``u1*, v1* = argmin ||z3 - I||^2``;
in training, t_tr steps on reconstruction plus the tag loss against the weak (possibly noisy)
tags: the second part of Eq. (1). Both call :func:`infer_latents`, a loop that reads as the
paper: theta frozen, u1 and v1 the variables, ``steps`` gradient steps, read-outs of u3, z3, v3.
The backbone runs once per image, before the first step; every step runs only the subnets
(:meth:`DualNet.heads`), so reading out several step counts (t_ts = 0, 10, 30) costs one pass of
the largest.

:mod:`tagseg.luo2017.inference_reduced` takes the same steps through u3 and v3 instead of the
C-channel features (``route="reduced"``): the same iterates to rounding (tests/test_dis.py), a
21-channel convolution per step instead of two C-channel ones, which pays from a few hundred
channels on (the paper's ResNet-101 has 2048).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import Callable, Iterable, Iterator, Literal

import torch
import torch.nn.functional as F

from tagseg.core.metrics import class_argmax
from tagseg.core.precision import FP32, Precision
from tagseg.luo2017 import INFERENCE_ROUTES
from tagseg.luo2017.inference_reduced import reduced_steps
from tagseg.luo2017.network import DualNet, DualOutputs, downsample_image, refine


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
    """Eq. (1)'s second part, per image and summed over the batch: L_img (test), plus L_tag against the
    weak tags (training).

    Image i's term is 0.5 * ||z3_i - I_i||^2 (Caffe's EuclideanLoss of one image) plus, with tags, the
    mean over the 21 classes of the binary cross-entropy of v3_i. Summed over images (not averaged),
    each image's gradient is its own term's, so its iterates do not depend on the batch it is in or
    on the batch's size; one image alone takes the same steps. ``images`` are the input, or the
    input already downsampled to z3's size (the same loss).
    """
    target = downsample_image(images, outputs.z3.shape[2:])
    loss = 0.5 * (outputs.z3.float() - target.float()).pow(2).sum()
    if tags is not None:
        per_class = F.binary_cross_entropy_with_logits(outputs.v3.float(), tags.float(), reduction="sum")
        loss = loss + per_class / tags.shape[1]
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
    route: Literal["literal", "reduced"] = "literal",
    precision: Precision = FP32,
) -> dict[int, Readout]:
    """Take ``steps`` gradient steps on (u1, v1), the network's parameters fixed; return read-outs.

    u1 (B, C, h, w) and v1 (B, C) start from the backbone's features; ``images`` (B, 3, H, W) is
    the input, downsampled once to the reconstruction's size for L_img's target; ``tags`` (B, 21),
    when given, adds the tag loss (inference in training). ``readouts`` lists the step counts to
    report (default: the last); step 0 is the backbone's features untouched. Gradients are taken
    with respect to u1 and v1 only: no parameter's ``.grad`` is written. ``route="reduced"`` takes
    the same steps through u3 and v3 (:mod:`tagseg.luo2017.inference_reduced`). The subnets run in
    ``precision``'s autocast; u1, v1 and their gradients stay fp32.
    """
    if steps < 0 or step_size <= 0:
        raise ValueError(f"infer_latents: expected steps >= 0 and step_size > 0, got {steps}, {step_size}")
    if route not in INFERENCE_ROUTES:
        raise ValueError(f"dis.inference: expected one of {', '.join(INFERENCE_ROUTES)}, got {route!r}")
    wanted = sorted(set(readouts) if readouts is not None else {steps})
    if wanted and (wanted[0] < 0 or wanted[-1] > steps):
        raise ValueError(f"infer_latents: read-outs {wanted} outside 0..{steps}")
    target = downsample_image(images, u1.shape[2:])  # L_img's target, made once rather than at every step

    def objective(outputs: DualOutputs) -> torch.Tensor:
        return inference_objective(outputs, target, tags)

    with frozen(net), precision.autocast():  # theta fixed
        if route == "reduced":
            reads = reduced_steps(net, u1, v1, objective, steps=steps, step_size=step_size, readouts=wanted)
            return {
                step: Readout(step=step, outputs=outputs, latents=latents) for step, (outputs, latents) in reads.items()
            }
        results: dict[int, Readout] = {}
        u1, v1 = u1.detach().clone(), v1.detach().clone()  # our own copies (an inference-mode tensor may come in)
        for step in range(steps):
            with torch.enable_grad():  # dL/du1 and dL/dv1 through subnets 1-3
                u1, v1 = u1.requires_grad_(True), v1.requires_grad_(True)
                outputs = net.heads(u1, v1)
                grad_u1, grad_v1 = torch.autograd.grad(objective(outputs), [u1, v1], materialize_grads=True)
            u1, v1 = u1.detach(), v1.detach()
            if step in wanted:  # the read-out at this step: the outputs this step differentiated
                results[step] = Readout(step=step, outputs=outputs.detach(), latents=_fixed(u1, v1))
            with torch.no_grad():  # u1 <- u1 - step_size * dL/du1, v1 <- v1 - step_size * dL/dv1
                u1, v1 = u1 - step_size * grad_u1, v1 - step_size * grad_v1
        if steps in wanted:
            with torch.no_grad():
                results[steps] = Readout(step=steps, outputs=net.heads(u1, v1), latents=_fixed(u1, v1))
    return results


def _fixed(u1: torch.Tensor, v1: torch.Tensor) -> Callable[[], tuple[torch.Tensor, torch.Tensor]]:
    return lambda: (u1, v1)


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
