import doctest
import math

import pytest
import torch
import torch.nn.functional as F

import tagseg.sun2018.fusion
from tagseg.sun2018.fusion import FUSIONS, LOG_FLOOR, fuse_add, fuse_dot, fused_nll, label_vector, threshold_labels


def test_worked_examples():
    assert doctest.testmod(tagseg.sun2018.fusion).failed == 0


def test_dot_by_hand_three_classes_two_pixels():
    probabilities = torch.tensor([[0.1, 0.6, 0.3], [0.5, 0.25, 0.25]]).T.reshape(1, 3, 1, 2)
    labels = torch.tensor([[1.0, 0.0, 1.0]])
    fused = fuse_dot(probabilities.log(), labels).exp()
    expected = torch.tensor([[0.1 / 0.4, 0.0, 0.3 / 0.4], [0.5 / 0.75, 0.0, 0.25 / 0.75]]).T.reshape(1, 3, 1, 2)
    assert torch.allclose(fused, expected)
    assert torch.allclose(fused.sum(1), torch.ones(1, 1, 2))


def test_add_by_hand_and_normalised():
    probabilities = torch.tensor([0.1, 0.6, 0.3]).view(1, 3, 1, 1)
    fused = fuse_add(probabilities.log(), torch.tensor([[1.0, 0.0, 1.0]])).exp().flatten()
    assert torch.allclose(fused, torch.tensor([1.1, 0.6, 1.3]) / 3.0)


def test_dot_is_stable_where_the_product_underflows():
    scores = torch.tensor([0.0, 200.0, -200.0]).view(1, 3, 1, 1)  # softmax(bg) ~ e^-200 underflows in float32
    fused = fuse_dot(scores, torch.tensor([[1.0, 0.0, 1.0]])).exp().flatten()
    assert torch.isfinite(fused).all() and fused[0] == pytest.approx(1.0)


def test_tau_zero_is_the_baseline_and_tau_above_all_is_background_only():
    torch.manual_seed(0)
    scores = torch.randn(2, 21, 4, 5)
    probabilities = torch.rand(2, 20)
    everything = threshold_labels(probabilities, 0.0)
    assert everything.eq(1).all()
    assert torch.allclose(fuse_dot(scores, everything), F.log_softmax(scores, 1))
    nothing = threshold_labels(probabilities, 1.01)
    assert nothing[:, 0].eq(1).all() and nothing[:, 1:].eq(0).all()
    assert fuse_dot(scores, nothing).argmax(1).eq(0).all()


def test_label_vector_puts_background_first():
    assert label_vector(torch.zeros(1, 20)).tolist()[0] == [1.0] + [0.0] * 20


def test_fused_loss_ignores_void_and_floors_excluded_classes():
    scores = torch.zeros(1, 3, 1, 3, requires_grad=True)
    labels = torch.tensor([[1.0, 1.0, 0.0]])
    target = torch.tensor([[[1, 2, 255]]])
    loss = fused_nll(fuse_dot(scores, labels), target)
    assert loss.item() == pytest.approx((math.log(2) - LOG_FLOOR) / 2)  # two labelled pixels
    loss.backward()
    assert torch.isfinite(scores.grad).all()
    assert scores.grad[0, :, 0, 1].abs().sum() == 0  # the excluded class's pixel passes no gradient
    assert scores.grad[0, :, 0, 2].abs().sum() == 0  # void


def test_dot_needs_a_label():
    with pytest.raises(ValueError, match="at least one"):
        fuse_dot(torch.zeros(1, 3, 1, 1), torch.zeros(1, 3))


@pytest.mark.parametrize("fusion", ["dot", "add"])
def test_fusion_gradients_stay_finite_when_a_probability_underflows(fusion):
    # class 2's softmax probability is exactly 0 in float32; class 2 is unlabelled
    scores = torch.tensor([0.0, 10.0, -200.0]).view(1, 3, 1, 1).requires_grad_()
    labels = torch.tensor([[1.0, 1.0, 0.0]])
    log_probabilities = FUSIONS[fusion](scores, labels)
    F.nll_loss(log_probabilities, torch.tensor([[[1]]])).backward()
    assert torch.isfinite(scores.grad).all()
    assert torch.isfinite(log_probabilities[:, :2]).all()


def test_addition_keeps_the_dot_products_argmax_and_addition_to_the_scores_does_not():
    """For 0/1 labels argmax(P + L) = argmax(P . L); the sensitivity reading log softmax(s + L) can still
    give a pixel to an unlabelled class."""
    from tagseg.sun2018.fusion import fuse_add, fuse_add_scores, fuse_dot

    scores = torch.randn(4, 21, 6, 6, generator=torch.Generator().manual_seed(0)) * 4
    labels = (torch.rand(4, 21, generator=torch.Generator().manual_seed(1)) < 0.3).float()
    labels[:, 0] = 1
    assert torch.equal(fuse_add(scores, labels).argmax(1), fuse_dot(scores, labels).argmax(1))
    on_scores = fuse_add_scores(scores, labels)
    torch.testing.assert_close(on_scores.exp().sum(1), torch.ones(4, 6, 6))
    assert (labels.gather(1, on_scores.argmax(1).flatten(1)) == 0).any()  # an unlabelled class wins somewhere
