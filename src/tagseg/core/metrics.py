"""Segmentation scores from one confusion matrix over a whole split, as FCN's ``score.py`` computes them.

``hist[i, j]`` counts pixels of true class i predicted as j (rows = ground truth); void (255) pixels
are never counted. From it:

* PA   pixel accuracy: correct pixels / labelled pixels.
* MPA  mean pixel accuracy: the mean over classes present in the ground truth of per-class recall.
* FWAA frequency-weighted IoU, FCN's ``fwavacc``: per-class IoU weighted by the class's share of
  ground-truth pixels. sun2018 calls it "frequency weighted average accuracy"; we follow FCN's
  definition, as the FCN baselines they report do (see REPRODUCTION.md).
* mIoU mean over classes of TP / (TP + FP + FN); a class absent from both prediction and truth
  (union 0) is left out of the mean, as FCN's score does.

Worked example (2 classes)::

    >>> import numpy as np
    >>> hist = np.array([[3, 1], [0, 2]])   # 3 bg right, 1 bg called fg, 2 fg right
    >>> s = scores(hist)
    >>> round(s["PA"], 4), round(s["MPA"], 4), round(s["mIoU"], 4)
    (0.8333, 0.875, 0.7083)
"""

from __future__ import annotations

import numpy as np
import torch

from tagseg.core.classes import IGNORE_INDEX


def class_argmax(scores: torch.Tensor, dim: int = 1) -> torch.Tensor:
    """The predicted class of each pixel: the index of the largest score along ``dim``.

    Equal to ``scores.argmax(dim)`` (the first of tied maxima, NaN counted as the largest; tested in
    tests/test_metrics.py), through ``max``'s indices, because torch's CPU argmax kernel was the
    slower of the two on (B, 21, H, W) scores in either layout (docs/performance.md, row 2, has the
    timings and the torch version they were taken with).
    """
    return scores.max(dim).indices


def confusion_matrix(truth: np.ndarray | torch.Tensor, pred: np.ndarray | torch.Tensor, n_classes: int) -> np.ndarray:
    """(n_classes, n_classes) int64 counts; pixels whose truth is ``IGNORE_INDEX`` are skipped."""
    truth = torch.as_tensor(truth).reshape(-1).long()
    pred = torch.as_tensor(pred).reshape(-1).long()
    keep = (truth >= 0) & (truth < n_classes)
    if truth.numel() and bool(((truth != IGNORE_INDEX) & ~keep).any()):
        raise ValueError(f"ground truth holds labels outside 0..{n_classes - 1} and {IGNORE_INDEX}")
    # skipped pixels go to one extra bin, dropped after counting (cheaper than selecting the kept ones)
    cells = torch.where(keep, n_classes * truth + pred, n_classes**2)
    counts = torch.bincount(cells, minlength=n_classes**2 + 1)[: n_classes**2]
    return counts.reshape(n_classes, n_classes).cpu().numpy()


def image_confusions(truth: torch.Tensor, pred: torch.Tensor, n_classes: int) -> torch.Tensor:
    """(U, n_classes * n_classes) flattened confusion matrices of U predictions (U, H, W) against their
    masks (U, H, W), in one bincount; pixels whose truth is not a class (void, padding) are skipped."""
    n_cells = n_classes * n_classes
    row = torch.arange(len(pred))[:, None, None]
    cells = n_cells * row + n_classes * truth.long() + pred
    # void and padding (mask 255) go to one extra bin that is dropped, instead of a boolean index
    cells = torch.where(truth < n_classes, cells, len(pred) * n_cells)
    counts = torch.bincount(cells.reshape(-1), minlength=len(pred) * n_cells + 1)
    return counts[:-1].reshape(len(pred), n_cells)


class ConfusionMatrix:
    """A split's confusion matrix, accumulated batch by batch; every evaluation scores through one.
    With ``per_image``, each image's own is kept too (:meth:`per_image`), for intervals over test images.

    >>> matrix = ConfusionMatrix(2)
    >>> matrix.update(np.array([[0, 0, 1, 255]]), np.array([[0, 1, 1, 0]]))
    >>> matrix.hist.tolist(), round(matrix.scores()["mIoU"], 4)
    ([[1, 1], [0, 1]], 0.5)
    """

    def __init__(self, n_classes: int, per_image: bool = False):
        self.n_classes = n_classes
        self.hist = np.zeros((n_classes, n_classes), dtype=np.int64)  # rows: truth, columns: prediction
        self.images: list[np.ndarray] | None = [] if per_image else None  # (B, n * n) per update

    def update(self, truth: np.ndarray | torch.Tensor, pred: np.ndarray | torch.Tensor) -> None:
        """Count a batch's pixels (any shape, truth and prediction alike; (B, H, W) with ``per_image``);
        void truth is skipped."""
        if self.images is None:
            self.hist += confusion_matrix(truth, pred, self.n_classes)
            return
        truth, pred = torch.as_tensor(truth).long(), torch.as_tensor(pred).long()
        if truth.ndim != 3 or truth.shape != pred.shape:
            raise ValueError(f"per-image confusion: expected (B, H, W) truth and prediction, got {tuple(truth.shape)}, "
                             f"{tuple(pred.shape)}")  # fmt: skip
        if bool(((truth != IGNORE_INDEX) & ((truth < 0) | (truth >= self.n_classes))).any()):
            raise ValueError(f"ground truth holds labels outside 0..{self.n_classes - 1} and {IGNORE_INDEX}")
        per = image_confusions(truth, pred, self.n_classes).numpy()
        self.images.append(per)
        self.hist += per.sum(0).reshape(self.n_classes, self.n_classes)

    def scores(self) -> dict[str, float | list[float]]:
        return scores(self.hist)

    def per_image(self) -> dict[str, list[list[int]]]:
        """:func:`iou_counts` of every image seen, in order."""
        if self.images is None:
            raise ValueError("ConfusionMatrix: made without per_image")
        per = np.concatenate(self.images) if self.images else np.zeros((0, self.n_classes**2), dtype=np.int64)
        return iou_counts(per, self.n_classes)


def iou_counts(confusions: np.ndarray, n_classes: int) -> dict[str, list[list[int]]]:
    """Per image and class, the pixels of intersection (TP) and union (TP + FP + FN), from per-image
    confusion matrices (N, n * n) or (N, n, n); JSON-ready. A split's per-class IoU is the ratio of their
    sums over the images, so a resample of the images rescores from them
    (tagseg.reporting.claims_catalogue.Measure.resample).

    >>> counts = iou_counts(np.array([[3, 1, 0, 2]]), 2)
    >>> counts["intersection"], counts["union"]
    ([[3, 2]], [[4, 3]])
    """
    per = np.asarray(confusions, dtype=np.int64).reshape(-1, n_classes, n_classes)
    tp = np.diagonal(per, axis1=1, axis2=2)
    union = per.sum(1) + per.sum(2) - tp
    return {"intersection": tp.tolist(), "union": union.tolist()}


class ReconstructionVisibility:
    """How much of a model's errors its reconstruction target can see: the share of its misclassified
    pixels that the target would show wrong.

    The target is the image averaged down to the reconstruction's size (the image itself at full
    size): each of its cells averages a block of pixels. Per class, the cells that one class covers
    at least half of give the class's mean colour and its spread (the variance summed over channels);
    a pair of classes is told apart when their mean colours lie further apart than the root of their
    mean variance, and a class no cell represents is told apart from none. A misclassified pixel
    (true class c, predicted p) is visible when its cell is mostly c and the target tells c from p: a
    reconstruction from the wrong labelmap would then colour that cell wrongly. Errors between
    classes of one appearance, and on objects too small or boundaries too fine for the target's
    cells, are not.
    """

    def __init__(self, n_classes: int):
        self.n_classes = n_classes
        self.count = np.zeros(n_classes)
        self.total = np.zeros((n_classes, 3))
        self.squares = np.zeros((n_classes, 3))
        self.errors = np.zeros((n_classes, n_classes), dtype=np.int64)  # every misclassified pixel, truth x prediction
        self.resolved = np.zeros((n_classes, n_classes), dtype=np.int64)  # those whose cell is mostly their class

    def update(self, target: torch.Tensor, masks: torch.Tensor, pred: torch.Tensor) -> None:
        """``target`` (B, 3, h, w): the reconstruction target of images whose masks and predicted labels are (B, H, W)."""
        masks, pred = torch.as_tensor(masks).long(), torch.as_tensor(pred).long().cpu()
        n = self.n_classes
        valid = masks < n
        one_hot = torch.zeros(masks.shape[0], n, *masks.shape[1:], dtype=torch.float32)
        one_hot.scatter_(1, torch.where(valid, masks, 0)[:, None], valid[:, None].float())
        cover = torch.nn.functional.adaptive_avg_pool2d(one_hot, target.shape[2:])  # (B, n, h, w)
        share, label = cover.max(1)
        keep = share >= 0.5
        colours = target.detach().float().cpu().permute(0, 2, 3, 1)[keep]  # (K, 3)
        labels = label[keep]
        self.count += np.bincount(labels.numpy(), minlength=n)
        for channel in range(3):
            values = colours[:, channel].double()
            self.total[:, channel] += torch.bincount(labels, values, minlength=n).numpy()
            self.squares[:, channel] += torch.bincount(labels, values**2, minlength=n).numpy()
        # each pixel's cell, by nearest-neighbour upsampling of the cells' majority class (-1: no majority)
        majority = torch.where(keep, label, -1)[:, None].float()
        cell = torch.nn.functional.interpolate(majority, size=masks.shape[1:], mode="nearest")[:, 0].long()
        wrong = valid & (pred != masks)
        pairs = n * masks[wrong] + pred[wrong]
        self.errors += np.bincount(pairs.numpy(), minlength=n * n).reshape(n, n)
        resolved = wrong & (cell == masks)
        pairs = n * masks[resolved] + pred[resolved]
        self.resolved += np.bincount(pairs.numpy(), minlength=n * n).reshape(n, n)

    def separable(self) -> np.ndarray:
        """(n, n) bool: which pairs of classes the target tells apart."""
        seen = self.count > 0
        mean = np.divide(self.total, self.count[:, None], out=np.zeros_like(self.total), where=seen[:, None])
        variance = np.divide(self.squares, self.count[:, None], out=np.zeros_like(self.total), where=seen[:, None])
        variance = np.clip(variance - mean**2, 0, None).sum(1)
        distance = np.linalg.norm(mean[:, None] - mean[None], axis=2)
        spread = np.sqrt((variance[:, None] + variance[None]) / 2)
        return (distance > spread) & seen[:, None] & seen[None]

    def share(self) -> float | None:
        """The visible share of the misclassified pixels seen (None when the model made no error)."""
        errors = self.errors.sum()
        if errors == 0:
            return None
        return float((self.resolved * self.separable()).sum() / errors)


def per_class_iou(hist: np.ndarray) -> np.ndarray:
    """IoU per class; NaN where the class is absent from both prediction and truth."""
    tp = np.diag(hist).astype(np.float64)
    union = hist.sum(0) + hist.sum(1) - tp
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, tp / union, np.nan)


def scores(hist: np.ndarray) -> dict[str, float | list[float]]:
    """PA, MPA, FWAA and mIoU (fractions in [0, 1]) plus per-class IoU, from a confusion matrix."""
    hist = np.asarray(hist, dtype=np.float64)
    total = hist.sum()
    if total == 0:
        raise ValueError("confusion matrix is empty: no labelled pixel was scored")
    tp = np.diag(hist)
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = np.where(hist.sum(1) > 0, tp / hist.sum(1), np.nan)
    iou = per_class_iou(hist)
    freq = hist.sum(1) / total
    seen = freq > 0
    return {
        "PA": float(tp.sum() / total),
        "MPA": float(np.nanmean(recall)),
        "FWAA": float((freq[seen] * iou[seen]).sum()),
        "mIoU": float(np.nanmean(iou)),
        "IoU": [None if np.isnan(v) else float(v) for v in iou],  # JSON-friendly
    }


def average_precision(scores: np.ndarray, labels: np.ndarray) -> float:
    """Average precision of one class as VOC 2010+ computes it: the area under the precision-recall
    curve after each precision is raised to the best precision at any higher recall.

    >>> average_precision(np.array([0.9, 0.8, 0.7, 0.6]), np.array([1, 0, 1, 0]))  # 0.5 * 1 + 0.5 * 2/3
    0.8333333333333333
    """
    order = np.argsort(-np.asarray(scores), kind="stable")
    hits = np.asarray(labels)[order] > 0
    if not hits.any():
        return float("nan")
    true_positives = np.cumsum(hits)
    precision = true_positives / np.arange(1, len(hits) + 1)
    envelope = np.maximum.accumulate(precision[::-1])[::-1]  # best precision at this recall or higher
    return float((envelope[hits] / hits.sum()).sum())  # each positive adds 1/n_pos of recall


def mean_average_precision(scores: np.ndarray, labels: np.ndarray) -> tuple[float, list[float | None]]:
    """mAP over the classes (columns) with at least one positive, and the per-class APs (None where undefined)."""
    aps = [average_precision(scores[:, c], labels[:, c]) for c in range(scores.shape[1])]
    return float(np.nanmean(aps)), [None if np.isnan(ap) else ap for ap in aps]
