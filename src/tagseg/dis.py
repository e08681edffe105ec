"""luo2017's iterative inference (Sections 2.1 and 3.1): refine the features u1, v1 with the network frozen.

In test, t_ts gradient steps on the reconstruction loss alone, ``u1*, v1* = argmin ||z3 - I||^2``;
in training, t_tr steps on reconstruction plus the tag loss against the weak (possibly noisy)
tags. Both call :func:`infer_latents`. The backbone runs once per image, before the first step;
every step runs only the subnets (:meth:`DualNet.heads`), so reading out several step counts
(t_ts = 0, 10, 30) costs one pass of the largest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import torch

from tagseg.models.dis import DualNet, DualOutputs, image_loss, refine, tag_loss


@dataclass
class Readout:
    """The network's outputs after ``step`` inference steps, and the features they came from."""

    step: int
    outputs: DualOutputs
    u1: torch.Tensor
    v1: torch.Tensor

    @property
    def labelmap(self) -> torch.Tensor:
        """Final log-probabilities (B, 21, h, w): u3 refined by v3."""
        return refine(self.outputs.u3, self.outputs.v3)


def inference_objective(outputs: DualOutputs, images: torch.Tensor, tags: torch.Tensor | None) -> torch.Tensor:
    """L_img (test), or L_img + L_tag against the weak tags (training), as Eq. (1)'s second part."""
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
) -> dict[int, Readout]:
    """Take ``steps`` gradient steps on (u1, v1), the network's parameters fixed; return read-outs.

    u1 (B, C, h, w) and v1 (B, C) start from the backbone's features; ``images`` (B, 3, H, W) is
    the input, downsampled inside the loss to the reconstruction's size; ``tags`` (B, 21), when
    given, adds the tag loss (inference in training). ``readouts`` lists the step counts to report
    (default: the last); step 0 is the backbone's features untouched. Gradients are taken with
    respect to u1 and v1 only: no parameter's ``.grad`` is written.
    """
    if steps < 0 or step_size <= 0:
        raise ValueError(f"infer_latents: expected steps >= 0 and step_size > 0, got {steps}, {step_size}")
    wanted = sorted(set(readouts) if readouts is not None else {steps})
    if wanted and (wanted[0] < 0 or wanted[-1] > steps):
        raise ValueError(f"infer_latents: read-outs {wanted} outside 0..{steps}")
    u, v = u1.detach().clone(), v1.detach().clone()
    results: dict[int, Readout] = {}
    for step in range(steps + 1):
        if step > 0:
            with torch.enable_grad():
                u.requires_grad_(True)
                v.requires_grad_(True)
                loss = inference_objective(net.heads(u, v), images, tags)
                grad_u, grad_v = torch.autograd.grad(loss, [u, v])
            with torch.no_grad():
                u = (u - step_size * grad_u).detach()
                v = (v - step_size * grad_v).detach()
        if step in wanted:
            with torch.no_grad():
                results[step] = Readout(step=step, outputs=net.heads(u, v), u1=u, v1=v)
    return results
