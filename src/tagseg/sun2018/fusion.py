"""sun2018 Section 2.1: fusing pixel-wise class probabilities with an image-level label vector.

``P`` is the segmentation network's softmax over N = 21 classes at every pixel, ``L`` in {0, 1}^N
the image's label vector (background always 1). Eq. (1) multiplies them and renormalises per
pixel; Table 3's alternative adds them. Both are computed from the scores (logits): the dot
product renormalised is exactly a softmax over the labelled classes only, so it is done as a
masked log-softmax, which stays finite where the plain product would underflow.

Worked example, one pixel, three classes (background, cat, dog), labels {background, cat}::

    >>> import torch
    >>> scores = torch.log(torch.tensor([0.2, 0.3, 0.5])).view(1, 3, 1, 1)   # P = (0.2, 0.3, 0.5)
    >>> labels = torch.tensor([[1.0, 1.0, 0.0]])
    >>> fuse_dot(scores, labels).exp().flatten()          # (0.2, 0.3, 0) / 0.5
    tensor([0.4000, 0.6000, 0.0000])
    >>> fuse_add(scores, labels).exp().flatten()          # (1.2, 1.3, 0.5) / 3
    tensor([0.4000, 0.4333, 0.1667])
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from tagseg.core.classes import with_background


def label_vector(tags: torch.Tensor) -> torch.Tensor:
    """(..., 20) object tags -> (..., 21) label vector with background always present (sun2018's L)."""
    return with_background(tags)


def threshold_labels(probabilities: torch.Tensor, tau: float | torch.Tensor) -> torch.Tensor:
    """(..., 20) classifier probabilities -> (..., 21) label vector: classes with p >= tau, plus background.

    At tau = 0 every class is kept, so fusion changes nothing (the baseline, by construction).
    """
    return label_vector((probabilities >= tau).to(probabilities.dtype))


def fuse_dot(scores: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Eq. (1): log of P * L renormalised per pixel. scores (B, N, H, W), labels (B, N) -> (B, N, H, W).

    Unlabelled classes get log-probability -inf (probability exactly 0).
    """
    if not bool((labels > 0).any(dim=1).all()):
        raise ValueError("fuse_dot: every image needs at least one labelled class (background is always one)")
    mask = (labels > 0)[:, :, None, None]  # (B, N, 1, 1)
    return F.log_softmax(scores.float().masked_fill(~mask, float("-inf")), dim=1)


def fuse_add(scores: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Table 3's addition: log of (P + L) renormalised per pixel, i.e. (P + L) / (1 + sum(L)).

    Computed in log space, log(P + L) = logaddexp(log P, log L): an unlabelled class whose P
    underflows to 0 then keeps a finite log-probability and a finite gradient (the log of the
    plain sum would send 0 * inf = NaN back through it).
    """
    log_p = F.log_softmax(scores.float(), dim=1)
    log_l = torch.log(labels.float())[:, :, None, None]  # 0 where labelled, -inf where not
    total = torch.log1p(labels.float().sum(dim=1))[:, None, None, None]
    return torch.logaddexp(log_p, log_l.expand_as(log_p)) - total


def fuse_add_scores(scores: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Table 3's addition read the other way: the labels added to the scores before the softmax,
    log softmax(s + L). A sensitivity row, not the paper's reading (REPRODUCTION.md S7).

    For 0/1 labels the addition of :func:`fuse_add` leaves the argmax of :func:`fuse_dot` (a labelled
    class's P + 1 >= 1 >= any unlabelled one's P), so at test the two differ only through what
    training made of the network; this one does not: an unlabelled class can still win a pixel.
    """
    return F.log_softmax(scores.float() + labels.float()[:, :, None, None], dim=1)


FUSIONS = {"dot": fuse_dot, "add": fuse_add, "add_scores": fuse_add_scores}

# Caffe's log floor in its multinomial logistic loss: a pixel whose true class the labels exclude
# costs a constant -log(1e-20) and, as in Caffe, passes no gradient back through the product.
LOG_FLOOR = -46.0517  # log(1e-20)


def fused_nll(log_probabilities: torch.Tensor, target: torch.Tensor, ignore_index: int = 255) -> torch.Tensor:
    """sun2018's l_mce on fused maps: mean negative log-probability of the true class over labelled pixels."""
    return F.nll_loss(log_probabilities.clamp(min=LOG_FLOOR), target, ignore_index=ignore_index)
