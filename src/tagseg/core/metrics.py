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
    slower of the two on (B, 21, H, W) scores in either layout (README, Performance, row 2, has the
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

    >>> matrix = ConfusionMatrix(2)
    >>> matrix.update(np.array([[0, 0, 1, 255]]), np.array([[0, 1, 1, 0]]))
    >>> matrix.hist.tolist(), round(matrix.scores()["mIoU"], 4)
    ([[1, 1], [0, 1]], 0.5)
    """

    def __init__(self, n_classes: int):
        self.n_classes = n_classes
        self.hist = np.zeros((n_classes, n_classes), dtype=np.int64)  # rows: truth, columns: prediction

    def update(self, truth: np.ndarray | torch.Tensor, pred: np.ndarray | torch.Tensor) -> None:
        """Count a batch's pixels (any shape, truth and prediction alike); void truth is skipped."""
        self.hist += confusion_matrix(truth, pred, self.n_classes)

    def scores(self) -> dict[str, float | list[float]]:
        return scores(self.hist)


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
