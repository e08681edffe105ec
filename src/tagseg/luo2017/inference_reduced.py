"""luo2017's inference through u3 and v3: the iterates of :func:`tagseg.luo2017.inference.infer_latents`
without stepping the C-channel features themselves (``dis.inference: reduced``).

The paper steps u1 (C x h x w) and v1 (C) by autograd through subnets 1 and 3. :class:`ReducedLatents`
holds only what those subnets make of them, u3 and v3, and steps those by the linear map a step on
(u1, v1) induces (derived in its docstring): a 21-channel convolution per step instead of two
C-channel ones, equal to the literal steps to rounding (1e-12 in float64; tests/test_dis.py).
bench/dis_latents.py measures where it pays: level at resnet_tiny's 128 channels, 8-9x faster
at ResNet-101's 2048.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from tagseg.luo2017.network import DualNet, DualOutputs

Objective = Callable[[DualOutputs], torch.Tensor]
Latents = Callable[[], tuple[torch.Tensor, torch.Tensor]]  # u1 and v1 at a read-out, made when first asked for


def reduced_steps(
    net: DualNet,
    u1: torch.Tensor,
    v1: torch.Tensor,
    objective: Objective,
    *,
    steps: int,
    step_size: float,
    readouts: list[int],
) -> dict[int, tuple[DualOutputs, Latents]]:
    """``steps`` steps of size ``step_size`` on ``objective``, read out at ``readouts``: per step count,
    the outputs and (on demand) u1 and v1; the parameters are the caller's to freeze."""
    latents = ReducedLatents(net, u1, v1)
    results = {}
    for step in range(steps):
        snapshot = latents.snapshot() if step in readouts else None
        before = latents.descend(objective, step_size)
        if snapshot is not None:  # read out from the outputs this step differentiated
            results[step] = (before, snapshot)
    if steps in readouts:
        results[steps] = (latents.outputs, latents.snapshot())
    return results


def _gradients(
    objective: Objective, forward: Callable[..., DualOutputs], x: torch.Tensor, y: torch.Tensor
) -> tuple[DualOutputs, torch.Tensor, torch.Tensor]:
    """``forward(x, y)`` (detached), and dL/dx and dL/dy of ``objective`` on it (zeros where L does
    not depend on one), the parameters untouched: the one backward pass of a step."""
    with torch.enable_grad():
        x, y = x.detach().requires_grad_(True), y.detach().requires_grad_(True)
        outputs = forward(x, y)
        grad_x, grad_y = torch.autograd.grad(objective(outputs), [x, y], materialize_grads=True)
    return DualOutputs(outputs.u3.detach(), outputs.z3.detach(), outputs.v3.detach()), grad_x, grad_y


class ReducedLatents:
    """u1 and v1 held through their images u3 and v3: the same steps, in 21 channels instead of C.

    Subnets 1 and 3 are linear in (u1, v1): u3 = conv_W(u1 + up(v1)) + b and v3 = W_t (avgpool(u1) + v1)
    + b_t, and the objective reads u1 and v1 only through u3 and v3. With a = dL/du3 and c = dL/dv3,
    the gradients are dL/du1 = conv_W^T(a) + up(W_t^T c) / hw and dL/dv1 = sum_p conv_W^T(a) + W_t^T c,
    so a step on (u1, v1) moves u3 and v3 by

        du3 = -eta * (conv_W(conv_W^T(a)) + conv_W(up(e + (1 + 1/hw) W_t^T c)))
        dv3 = -eta * (1 + 1/hw) * (W_t e + W_t W_t^T c),      e = sum_p conv_W^T(a)(p)

    Each term is computed from W's products with itself and with W_t (21 x 21 matrices): conv_W after
    conv_W^T is one 5x5 convolution of a, except at the border pixels, where zero padding cuts the
    composition and the cut terms are taken back out (:meth:`_normal_operator`); a convolution of a
    constant field is W's taps summed over those that fall inside the image. Per step this is a
    21-channel convolution instead of two C-channel ones (C = 2048 in the paper's ResNet-101). The
    sums of a and c over the steps give u1 and v1 at any read-out, by the same linearity.
    """

    def __init__(self, net: DualNet, u1: torch.Tensor, v1: torch.Tensor):
        self.net = net
        self.u1, self.v1 = u1.detach(), v1.detach()
        weight, tag_weight = net.labelmap.weight.detach(), net.tags.weight.detach()  # (21, C, 3, 3), (21, C)
        h, w = u1.shape[2:]
        self.weight, self.tag_weight, self.area = weight, tag_weight, h * w
        taps = weight.permute(2, 3, 0, 1).reshape(9, *weight.shape[:2])  # W_j (21, C), j = 3 * (dy + 1) + (dx + 1)
        self.gram = torch.einsum("jac,kbc->jkab", taps, taps)  # W_j W_k^T (9, 9, 21, 21)
        self.cross = torch.einsum("jac,bc->jab", taps, tag_weight)  # W_j W_t^T (9, 21, 21)
        self.tag_gram = tag_weight @ tag_weight.T  # W_t W_t^T (21, 21)
        self.kernel = weight.new_zeros(
            weight.shape[0], weight.shape[0], 5, 5
        )  # conv_W(conv_W^T(.)) away from the border
        for j in range(9):
            for k in range(9):
                self.kernel[:, :, j // 3 - k // 3 + 2, j % 3 - k % 3 + 2] += self.gram[j, k]
        # the taps that reach past each edge, composed along it (see _normal_operator)
        edges = {"top": [0, 1, 2], "bottom": [6, 7, 8], "left": [0, 3, 6], "right": [2, 5, 8]}
        self.edge_kernels = {}
        for edge, taps_along in edges.items():
            kernel = weight.new_zeros(weight.shape[0], weight.shape[0], 5)
            for i, j in enumerate(taps_along):
                for m, k in enumerate(taps_along):
                    kernel[:, :, i - m + 2] += self.gram[j, k]
            self.edge_kernels[edge] = kernel
        inside = torch.ones(h + 2, w + 2, dtype=weight.dtype, device=weight.device)
        inside[0], inside[-1], inside[:, 0], inside[:, -1] = 0, 0, 0, 0
        # inside[j](p) = 1 where p + offset_j lies in the image (the taps of a 3x3 convolution that see data)
        self.inside = torch.stack([inside[dy : dy + h, dx : dx + w] for dy in range(3) for dx in range(3)])
        with torch.no_grad():
            start = net.heads(self.u1, self.v1)
        self.u3, self.v3 = start.u3, start.v3
        self.sum_a = torch.zeros_like(self.u3)  # sum over the steps of step_size * dL/du3
        self.sum_c = torch.zeros_like(self.v3)  # and of step_size * dL/dv3

    @property
    def outputs(self) -> DualOutputs:
        with torch.no_grad():
            return self.net.reconstruct(self.u3, self.v3)

    def descend(self, objective: Objective, step_size: float) -> DualOutputs:
        before, a, c = _gradients(objective, self.net.reconstruct, self.u3, self.v3)
        with torch.no_grad():
            window = torch.einsum("nahw,khw->nka", a, self.inside)  # sum of a over p with p + offset_k inside
            e_taps = torch.einsum("jkab,nkb->nja", self.gram, window)  # W_j e
            tag_back = (1 + 1 / self.area) * c  # (1 + 1/hw) c, what W_t^T carries into u2 and v2
            constant = torch.einsum(
                "nja,jhw->nahw", e_taps + torch.einsum("jab,nb->nja", self.cross, tag_back), self.inside
            )
            du3 = self._normal_operator(a) + constant
            dv3 = torch.einsum("kab,nka->nb", self.cross, window) * (1 + 1 / self.area) + tag_back @ self.tag_gram
            self.u3, self.v3 = self.u3 - step_size * du3, self.v3 - step_size * dv3
            self.sum_a, self.sum_c = self.sum_a + step_size * a, self.sum_c + step_size * c
        return before

    def _normal_operator(self, a: torch.Tensor) -> torch.Tensor:
        """conv_W(conv_W^T(a)), each with zero padding 1: the 5x5 kernel, less the terms that pass
        through the ring just outside the image, where conv_W^T's values are dropped by its padding.

        Those terms reach only the border pixels: the ring's top row reaches row 0 through W's top
        taps, a 1-D convolution along a's row 0 (likewise the bottom row, and the left and right
        columns, whose corners are already the rows' and are taken back out of them).
        """
        h, w = a.shape[2:]
        cut = torch.zeros_like(a)
        cut[:, :, 0] += F.conv1d(a[:, :, 0], self.edge_kernels["top"], padding=2)
        cut[:, :, h - 1] += F.conv1d(a[:, :, h - 1], self.edge_kernels["bottom"], padding=2)
        cut[:, :, :, 0] += F.conv1d(a[:, :, :, 0], self.edge_kernels["left"], padding=2)
        cut[:, :, :, w - 1] += F.conv1d(a[:, :, :, w - 1], self.edge_kernels["right"], padding=2)
        for (y, x), tap in (((0, 0), 0), ((h - 1, 0), 6), ((0, w - 1), 2), ((h - 1, w - 1), 8)):
            cut[:, :, y, x] -= a[:, :, y, x] @ self.gram[tap, tap].T  # a corner of the ring, counted twice
        return F.conv2d(a, self.kernel, padding=2) - cut

    def snapshot(self) -> Latents:
        """u1 and v1 now, made only if asked for: u1 - conv_W^T(sum a) - up(W_t^T sum c) / hw, and v1 likewise."""
        sum_a, sum_c = self.sum_a, self.sum_c

        def latents() -> tuple[torch.Tensor, torch.Tensor]:
            with torch.no_grad():
                back = F.conv_transpose2d(sum_a, self.weight, padding=1)  # (B, C, h, w)
                tag_back = sum_c @ self.tag_weight  # (B, C)
                return self.u1 - back - tag_back[:, :, None, None] / self.area, self.v1 - back.sum(
                    dim=(2, 3)
                ) - tag_back

        return latents
