"""luo2017's two training stages (Section 3 and 3.1, Eq. 1): the fully supervised stage in three
steps, and the semi-supervised stage whose weak images' labelmaps and clean tags are inferred.

Both are one update of the network's parameters theta; :mod:`tagseg.luo2017.train_dis` runs them.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch

from tagseg.core.precision import FP32, Precision
from tagseg.luo2017.inference import infer_latents
from tagseg.luo2017.network import DualNet, DualOutputs, image_loss, map_loss, tag_loss

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


def stage1_step_at(stage1_steps: tuple[int, int, int], iteration: int) -> str:
    """Which of stage 1's three steps iteration ``iteration`` (0-based) belongs to, the steps lasting
    ``stage1_steps`` iterations each."""
    for step, end in zip(STAGE1_STEPS, torch.tensor(stage1_steps).cumsum(0).tolist()):
        if iteration < end:
            return step
    return STAGE1_STEPS[-1]


def stage1_iteration(
    net: DualNet,
    images: torch.Tensor,
    masks: torch.Tensor,
    tags: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    step: str,
    image_reduction: str = "mean",
    precision: Precision = FP32,
) -> dict[str, float]:
    """One update of the fully supervised stage; ``optimizer`` holds :func:`stage1_parameters` of ``step``.

    ``image_reduction`` is L_img's form in training (:func:`tagseg.luo2017.network.image_loss`); inference
    has its own, per image (:func:`tagseg.luo2017.inference.inference_objective`).

    In the reconstruction step the backbone and subnet-1 run without gradients (frozen, batch-norm
    statistics included), so only subnet-2 can change. The forward passes and losses run in
    ``precision``'s autocast (the losses on fp32 casts), the backward pass outside it.
    """
    with precision.autocast():
        if step == "reconstruction":
            with torch.no_grad():
                was_training = net.training
                net.eval()
                u3 = net.heads(*net.features(images)).u3
                net.train(was_training)
            losses = {
                "loss_img": image_loss(net.reconstruction(torch.softmax(u3.float(), dim=1)), images, image_reduction)
            }
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


@contextmanager
def running_statistics(net: torch.nn.Module) -> Iterator[None]:
    """Batch norm normalises with its running statistics, and leaves them as they are, for the block.

    Stage 2 finetunes a stage-1 model with the batch-norm statistics fixed, as DeepLab finetunes its
    ResNet-101 (Caffe's ``use_global_stats``): each image's features, and so the inference of its
    labelmap and tags in training, depend on the image and theta alone, not on the batch it came in,
    and are those the weak-pool analysis and evaluation compute (REPRODUCTION.md L7). The affine
    parameters still learn.
    """
    layers = [m for m in net.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    modes = [m.training for m in layers]
    for m in layers:
        m.eval()
    try:
        yield
    finally:
        for m, mode in zip(layers, modes):
            m.train(mode)


def stage2_iteration(
    net: DualNet,
    full: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    weak: tuple[torch.Tensor, torch.Tensor] | None,
    optimizer: torch.optim.Optimizer,
    *,
    t_tr: int,
    step_size: float,
    image_reduction: str = "mean",
    route: str = "literal",
    precision: Precision = FP32,
) -> dict[str, float]:
    """One update of the semi-supervised stage (Section 3.1, Eq. 1), batch norm at its running statistics.

    ``full`` is (images, masks, tags (B, 21)) of fully labelled images, ``weak`` (images, tags (B, 21))
    of weakly labelled ones. For the weak images: (i) with theta frozen, infer L^w and the clean
    tags T^w-hat by ``t_tr`` steps on L_img + L_tag against the weak tags, and take them (softmax
    of the refined labelmap, sigmoid of v3) as targets; (ii) update theta on the three losses of
    both sources: L_map of the weak images against L^w, and their L_tag against both T^w and T^w-hat,
    as Eq. (1)'s T = {T^f, T^w, T^w-hat} lists them. With t_tr = 0 the targets L^w and T^w-hat are
    the network's own predictions (the paper's "degenerate" semi-supervised scheme) and the weak tags
    enter through L_tag(v3, T^w) alone. ``weak=None`` trains on the fully labelled images only: the
    compute-matched control of stage 2, stage 1 continued for as many updates. The forward passes,
    the inference and the losses run in ``precision``'s autocast, the backward pass outside it.
    """
    images, masks, tags = full
    with running_statistics(net), precision.autocast():
        losses = supervised_losses(net(images), images, masks, tags, image_reduction)
        if weak is not None:
            losses.update(_weak_losses(net, *weak, t_tr=t_tr, step_size=step_size, image_reduction=image_reduction,
                                       route=route, precision=precision))  # fmt: skip
    optimizer.zero_grad(set_to_none=True)
    sum(losses.values()).backward()
    optimizer.step()
    return {name: float(value.detach()) for name, value in losses.items()}


def _weak_losses(net: DualNet, weak_images: torch.Tensor, weak_tags: torch.Tensor, *, t_tr: int, step_size: float,
                 image_reduction: str, route: str, precision: Precision) -> dict[str, torch.Tensor]:  # fmt: skip
    """The weak images' three losses for Eq. (1)'s first part, against the targets its second part infers.

    The backbone runs once on them: its features, with their graph, serve the update of theta, and
    detached they start the inference (theta has not moved yet, so they are the same values)."""
    u1, v1 = net.features(weak_images)
    inferred = infer_latents(net, u1.float(), v1.float(), weak_images, steps=t_tr, step_size=step_size,
                             tags=weak_tags, route=route, precision=precision)[t_tr]  # fmt: skip
    pseudo_map = inferred.labelmap.exp().detach()  # (B, 21, h, w): L^w
    pseudo_tags = torch.sigmoid(inferred.outputs.v3.float()).detach()  # (B, 21): clean tags T^w-hat
    out = net.heads(u1, v1)
    return {
        "loss_map_weak": soft_cross_entropy(torch.log_softmax(out.u3.float(), dim=1), pseudo_map),
        "loss_img_weak": image_loss(out.z3, weak_images, image_reduction),
        "loss_tag_weak": tag_loss(out.v3, weak_tags),  # T^w, the tags the images came with
        "loss_tag_inferred": tag_loss(out.v3, pseudo_tags),  # T^w-hat
    }
