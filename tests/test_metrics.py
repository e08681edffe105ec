import doctest

import numpy as np
import pytest
import torch

import tagseg.core.metrics
from tagseg.core.metrics import class_argmax, confusion_matrix, per_class_iou, scores


def test_doctest_worked_example():
    assert doctest.testmod(tagseg.core.metrics).failed == 0


def test_confusion_matrix_by_hand_ignores_void():
    truth = np.array([[0, 0, 1], [2, 255, 1]])
    pred = np.array([[0, 1, 1], [2, 0, 0]])
    hist = confusion_matrix(truth, pred, 3)
    expected = np.array([[1, 1, 0], [1, 1, 0], [0, 0, 1]])  # rows = truth
    np.testing.assert_array_equal(hist, expected)


def test_scores_by_hand_three_classes():
    # truth: 4 bg, 2 cat, 0 dog; pred: bg->bg x3, bg->dog x1, cat->cat x1, cat->bg x1
    hist = np.array([[3, 0, 1], [1, 1, 0], [0, 0, 0]])
    s = scores(hist)
    assert s["PA"] == pytest.approx(4 / 6)
    assert s["MPA"] == pytest.approx((3 / 4 + 1 / 2) / 2)  # dog absent from truth: left out
    iou_bg, iou_cat, iou_dog = 3 / (4 + 4 - 3), 1 / (2 + 1 - 1), 0 / 1
    assert s["mIoU"] == pytest.approx((iou_bg + iou_cat + iou_dog) / 3)  # dog predicted: counted as 0
    assert s["FWAA"] == pytest.approx(4 / 6 * iou_bg + 2 / 6 * iou_cat)


def test_class_absent_from_prediction_and_truth_is_excluded():
    hist = np.zeros((4, 4), dtype=np.int64)
    hist[0, 0], hist[1, 1] = 5, 5
    s = scores(hist)
    assert s["mIoU"] == pytest.approx(1.0)
    assert s["IoU"][2] is None and s["IoU"][3] is None


def _reference_scores(truth, pred, n):
    """An independent per-class loop over pixels, no confusion matrix."""
    keep = truth != 255
    t, p = truth[keep], pred[keep]
    ious, recalls, weights = [], [], []
    for c in range(n):
        tp = np.sum((t == c) & (p == c))
        union = np.sum((t == c) | (p == c))
        if union:
            ious.append(tp / union)
        if np.sum(t == c):
            recalls.append(tp / np.sum(t == c))
            weights.append((np.sum(t == c) / t.size, tp / union))
    return {
        "PA": np.mean(t == p),
        "MPA": np.mean(recalls),
        "mIoU": np.mean(ious),
        "FWAA": sum(w * iou for w, iou in weights),
    }


@pytest.mark.parametrize("seed", range(5))
def test_scores_match_an_independent_computation(seed):
    rng = np.random.default_rng(seed)
    n = 6
    truth = rng.integers(0, n, size=(3, 17, 13))
    truth[rng.uniform(size=truth.shape) < 0.1] = 255
    truth[truth == 4] = 5  # class 4 absent from the truth
    pred = np.where(rng.uniform(size=truth.shape) < 0.6, truth, rng.integers(0, n, size=truth.shape))
    pred[pred == 255] = 0
    ours = scores(confusion_matrix(truth, pred, n))
    reference = _reference_scores(truth, pred, n)
    for key, value in reference.items():
        assert ours[key] == pytest.approx(value), key


def test_labels_outside_the_classes_are_an_error():
    with pytest.raises(ValueError, match="outside"):
        confusion_matrix(np.array([7]), np.array([0]), 3)


def test_per_class_iou_nan_only_when_union_empty():
    iou = per_class_iou(np.array([[2, 0], [0, 0]]))
    assert iou[0] == 1.0 and np.isnan(iou[1])


def test_class_argmax_is_argmax_with_ties_nan_and_either_layout():
    torch.manual_seed(0)
    ties = torch.randint(0, 3, (4, 21, 9, 7)).float()  # many tied maxima per pixel
    ties[0, 4, 2, 3] = float("nan")  # NaN counts as the largest, as in argmax
    for logits in (ties, ties.contiguous(memory_format=torch.channels_last), torch.randn(2, 21, 5, 6)):
        assert torch.equal(class_argmax(logits), logits.argmax(1))
    last = ties.permute(0, 2, 3, 1).contiguous()  # (B, H, W, 21), as the tau sweep stores scores
    assert torch.equal(class_argmax(last, dim=-1), last.argmax(-1))
    assert class_argmax(ties)[0, 2, 3] == 4


def test_per_image_counts_rebuild_the_splits_scores():
    """Each image's intersections and unions, summed, give the split's per-class IoU and mIoU exactly; a
    resample counts an image as often as it is drawn."""
    from tagseg.core.metrics import ConfusionMatrix
    from tagseg.reporting.claims_catalogue import _miou

    rng = np.random.default_rng(3)
    truth = torch.from_numpy(rng.integers(0, 4, size=(6, 5, 5)))
    truth[0, 0, :] = 255  # void is skipped
    pred = torch.from_numpy(rng.integers(0, 4, size=(6, 5, 5)))
    matrix = ConfusionMatrix(4, per_image=True)
    matrix.update(truth[:4], pred[:4])
    matrix.update(truth[4:], pred[4:])
    np.testing.assert_array_equal(matrix.hist, confusion_matrix(truth, pred, 4))
    counts = matrix.per_image()
    assert len(counts["intersection"]) == 6
    assert _miou(counts, np.ones((1, 6)))[0] == pytest.approx(100 * scores(matrix.hist)["mIoU"])
    twice_first = np.array([[2, 0, 1, 1, 1, 1]], dtype=float)
    by_hand = confusion_matrix(
        torch.cat([truth[:1], truth[:1], truth[2:]]), torch.cat([pred[:1], pred[:1], pred[2:]]), 4
    )
    assert _miou(counts, twice_first)[0] == pytest.approx(100 * scores(by_hand)["mIoU"])
    with pytest.raises(ValueError, match="outside 0..3"):
        matrix.update(torch.full((1, 2, 2), 7), torch.zeros(1, 2, 2, dtype=torch.long))


def test_reconstruction_visibility_by_hand():
    """Four quadrants of classes 0 (grey), 1 and 2 (one red) and 3 (blue). Of the errors 1->2 (2 px),
    1->3 (1 px) and 3->0 (1 px), the target tells apart 1/3 and 3/0, not 1/2: share 2 / 4."""
    from tagseg.core.metrics import ReconstructionVisibility

    masks = torch.tensor([[[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3], [2, 2, 3, 3]]])
    colour = {0: (0.5, 0.5, 0.5), 1: (1.0, 0.0, 0.0), 2: (1.0, 0.0, 0.0), 3: (0.0, 0.0, 1.0)}
    image = torch.zeros(1, 3, 4, 4)
    for label, rgb in colour.items():
        image[0, :, masks[0] == label] = torch.tensor(rgb)[:, None]
    image = image * torch.tensor([0.8, 1.0, 0.8, 1.0])  # one texture for all: stripes, column by column
    pred = masks.clone()
    pred[0, 0, 2], pred[0, 0, 3], pred[0, 1, 2], pred[0, 3, 3] = 2, 2, 3, 0
    full = ReconstructionVisibility(4)
    full.update(image, masks, pred)  # the generator's target: the image itself
    separable = full.separable()
    assert not separable[1, 2] and separable[1, 3] and separable[3, 0] and not separable[0, 0]
    assert full.share() == pytest.approx(0.5)
    # 2 x 2 cells, one per quadrant: every pixel's cell is its own class, the same share
    quadrants = ReconstructionVisibility(4)
    quadrants.update(torch.nn.functional.adaptive_avg_pool2d(image, 2), masks, pred)
    assert quadrants.share() == pytest.approx(0.5)
    # one cell for the whole image: no class covers half of it, none is represented, no error is visible
    coarse = ReconstructionVisibility(4)
    coarse.update(torch.nn.functional.adaptive_avg_pool2d(image, 1), masks, pred)
    assert coarse.share() == 0.0
    right = ReconstructionVisibility(4)
    right.update(image, masks, masks)
    assert right.share() is None  # no error, nothing to see
