"""An image's prediction and its DIS iterates do not depend on which images share its batch, nor on the
batch's size: the evaluation loader never pads, and inference's objective is a sum of per-image terms."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from tagseg.data.loading import PIXELS_PER_IMAGE, eval_loader, pad_collate, same_size_batches
from tagseg.data.voc import Sample
from tagseg.luo2017.evaluate_dis import evaluate_counts
from tagseg.luo2017.inference import infer_latents
from tagseg.luo2017.network import DISConfig, DualNet
from tagseg.sun2018.evaluate_fcn import split_confusion
from tagseg.sun2018.fcn import FCNConfig, build_fcn
from tagseg.sun2018.network import Sun2018Net

SHAPES = [(40, 40), (40, 40), (28, 40), (40, 40), (40, 28), (40, 28), (40, 40), (33, 21)]


class MixedSizes:
    """A split's interface (``shapes``, ``len``, items) over random images of several sizes."""

    def __init__(self, shapes=SHAPES, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.shapes = np.array(shapes)
        self.samples = []
        for i, (h, w) in enumerate(shapes):
            image = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
            mask = rng.integers(0, 21, (h, w), dtype=np.uint8)
            tags = np.zeros(20, np.uint8)
            tags[rng.choice(20, 2, replace=False)] = 1
            self.samples.append(Sample(image=image, mask=mask, tags=tags, image_id=str(i)))

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> Sample:
        return self.samples[i]


def test_evaluation_batches_hold_one_image_size_in_order():
    assert same_size_batches(SHAPES, 16) == [[0, 1], [2], [3], [4, 5], [6], [7]]
    assert same_size_batches([(64, 64)] * 5, 2) == [[0, 1], [2, 3], [4]]  # one size: plain cuts
    batches = list(eval_loader(MixedSizes(), 16))
    assert [len(images) for images, _, _ in batches] == [2, 1, 1, 2, 1, 1]
    assert all((masks != 255).all() for _, masks, _ in batches)  # no padding anywhere
    with pytest.raises(ValueError, match="eval.batch_size"):
        same_size_batches(SHAPES, 0)


def test_a_batch_of_large_images_holds_no_more_pixels_than_its_budget():
    # 4 images of 1000 x 1000 (4 VOC-size images' pixels each) under a budget of 2 VOC images: one a batch
    assert same_size_batches([(1000, 1000)] * 4, 8, 2 * PIXELS_PER_IMAGE) == [[0], [1], [2], [3]]
    assert same_size_batches([(700, 700)] * 5, 8, 4 * PIXELS_PER_IMAGE) == [[0, 1], [2, 3], [4]]
    assert same_size_batches([(500, 500)] * 5, 2, 2 * PIXELS_PER_IMAGE) == [[0, 1], [2, 3], [4]]  # VOC sizes: as before


def _classes_per_image(predict, loader) -> list[torch.Tensor]:
    return [classes for images, masks, tags in loader for classes in predict(images, tags)]


@pytest.fixture(scope="module")
def fcn() -> Sun2018Net:
    """An untrained FCN-8s whose every layer has random weights (the skips and scores are zero at
    initialisation), so that its classes vary from pixel to pixel as a trained one's do."""
    torch.manual_seed(0)
    net = Sun2018Net(build_fcn(FCNConfig(backbone="vgg_tiny", arch="fcn8s")), "base").eval()
    with torch.no_grad():
        for name, parameter in net.named_parameters():
            if "upsample" not in name:
                parameter.normal_(0, 0.3 if parameter.ndim > 1 else 0.1)
    return net


def _log_probabilities(fcn: Sun2018Net, loader) -> list[torch.Tensor]:
    with torch.inference_mode():
        return [scores for images, _, _ in loader for scores in fcn.segment(images, None)]


def test_an_fcns_prediction_of_an_image_is_the_same_alone_and_in_a_batch(fcn):
    split = MixedSizes()
    alone, together = _log_probabilities(fcn, eval_loader(split, 1)), _log_probabilities(fcn, eval_loader(split, 16))
    for single, batched in zip(alone, together, strict=True):
        torch.testing.assert_close(batched, single, rtol=0, atol=1e-4)
        assert torch.equal(batched.argmax(0), single.argmax(0))
    assert len(torch.cat([scores.argmax(0).flatten() for scores in alone]).unique()) > 3  # not one class everywhere
    np.testing.assert_array_equal(split_confusion(fcn, eval_loader(split, 1), torch.device("cpu")),
                                  split_confusion(fcn, eval_loader(split, 16), torch.device("cpu")))  # fmt: skip
    # what the evaluation loader avoids: the smaller images padded into a batch with larger ones score
    # differently near the padding
    dataset = eval_loader(split, 1).dataset
    images, _, _ = pad_collate([dataset[k] for k in range(len(split))])
    with torch.inference_mode():
        padded = fcn.segment(images, None)
    moved = [
        (padded[k, :, :h, :w] - alone[k]).abs().max() > 1e-3 for k, (h, w) in enumerate(SHAPES) if (h, w) != (40, 40)
    ]
    assert any(moved)


@pytest.fixture(scope="module")
def dis() -> DualNet:
    """An untrained network with PyTorch's default subnet weights, so that inference moves the features."""
    torch.manual_seed(0)
    model = DualNet(DISConfig(backbone="resnet_tiny")).eval()
    for layer in (model.labelmap, model.tags, *model.reconstruction):
        if hasattr(layer, "reset_parameters"):
            layer.reset_parameters()
    return model


@pytest.mark.parametrize("route", ["literal", "reduced"])
@pytest.mark.parametrize("with_tags", [False, True])
def test_one_images_iterates_alone_equal_its_iterates_in_a_mixed_batch_of_16(dis, route, with_tags):
    net = copy.deepcopy(dis).double()
    generator = torch.Generator().manual_seed(4)
    images = torch.randn(16, 3, 40, 40, dtype=torch.float64, generator=generator)
    images[1:] = images[1:] * torch.linspace(0.2, 3.0, 15, dtype=torch.float64)[:, None, None, None]  # unlike image 0
    tags = (torch.rand(16, 21, generator=generator) < 0.3).double() if with_tags else None
    with torch.no_grad():
        u1, v1 = net.features(images)
    run = dict(steps=10, step_size=0.05, readouts=[0, 3, 10], route=route)
    batch = infer_latents(net, u1, v1, images, tags=tags, **run)
    alone = infer_latents(net, u1[:1], v1[:1], images[:1], tags=None if tags is None else tags[:1], **run)
    for t in (0, 3, 10):
        torch.testing.assert_close(batch[t].u1[:1], alone[t].u1, rtol=1e-8, atol=1e-9)
        torch.testing.assert_close(batch[t].v1[:1], alone[t].v1, rtol=1e-8, atol=1e-9)
        for name in ("u3", "z3", "v3"):
            torch.testing.assert_close(getattr(batch[t].outputs, name)[:1], getattr(alone[t].outputs, name),
                                       rtol=1e-8, atol=1e-9)  # fmt: skip
    assert (alone[10].outputs.u3 - alone[0].outputs.u3).abs().max() > 1e-6  # the steps moved it, far past the tolerance


def test_dis_scores_of_a_split_are_the_same_at_batch_1_and_16(dis):
    split = MixedSizes()
    run = dict(t_ts=[0, 5], step_size=0.05, device=torch.device("cpu"))
    alone, alone_tags, _ = evaluate_counts(dis, eval_loader(split, 1), **run)
    together, together_tags, _ = evaluate_counts(dis, eval_loader(split, 16), **run)
    for t in (0, 5):
        np.testing.assert_array_equal(alone[t].hist, together[t].hist)
        assert alone[t].per_image() == together[t].per_image()  # each image's own counts, whatever its batch
        np.testing.assert_array_equal(alone_tags[t], together_tags[t])
