import json

import numpy as np
import pytest
import torch

from tagseg.sun2018 import train_classifier
from tagseg.core.metrics import average_precision, mean_average_precision
from tagseg.sun2018.classifier import ImageClassifier
from tagseg.sun2018.train_classifier import ClassifierConfig


def test_classifier_shape_finite_and_every_parameter_learns():
    torch.manual_seed(0)
    model = ImageClassifier(backbone="vgg_tiny")
    logits = model(torch.randn(2, 3, 33, 41))
    assert logits.shape == (2, 20) and torch.isfinite(logits).all()
    torch.nn.functional.binary_cross_entropy_with_logits(logits, torch.ones(2, 20)).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_vgg16_classifier_at_tiny_input():
    with torch.no_grad():
        assert ImageClassifier(backbone="vgg16").eval()(torch.randn(1, 3, 8, 8)).shape == (1, 20)


def _voc_ap_brute_force(scores, labels):
    """VOC devkit's VOCap: precision made monotone from the right, summed over recall steps."""
    ranked = labels[np.argsort(-scores)]
    recall = np.concatenate([[0.0], np.cumsum(ranked) / ranked.sum(), [1.0]])
    precision = np.concatenate([[0.0], np.cumsum(ranked) / np.arange(1, len(ranked) + 1), [0.0]])
    for i in range(len(precision) - 2, -1, -1):
        precision[i] = max(precision[i], precision[i + 1])
    steps = np.flatnonzero(recall[1:] != recall[:-1]) + 1
    return float(np.sum((recall[steps] - recall[steps - 1]) * precision[steps]))


@pytest.mark.parametrize("seed", range(3))
def test_average_precision_matches_vocs_definition(seed):
    rng = np.random.default_rng(seed)
    scores, labels = rng.uniform(size=50), rng.integers(0, 2, size=50)
    assert average_precision(scores, labels) == pytest.approx(_voc_ap_brute_force(scores, labels))
    assert average_precision(np.array([0.2, 0.9]), np.array([0, 1])) == 1.0
    mean_ap, per_class = mean_average_precision(np.array([[0.9, 0.1], [0.1, 0.2]]), np.array([[1, 0], [0, 0]]))
    assert mean_ap == 1.0 and per_class == [1.0, None]  # a class with no positive is left out


def test_train_then_predict_every_split_once(tiny_caches, tmp_path):
    config = ClassifierConfig(iterations=4, batch_size=4, crop_size=32, checkpoint_every=10)
    model_path = train_classifier.train(config, tiny_caches["train"], tmp_path / "cls")
    result = train_classifier.predict(model_path, tiny_caches["val"])
    probabilities = result["probabilities"]
    assert probabilities.shape == (6, 20) and ((probabilities >= 0) & (probabilities <= 1)).all()
    train_classifier.write_predictions(result, tmp_path / "val.npz")
    stored = np.load(tmp_path / "val.npz")
    assert list(stored["ids"]) == result["ids"]
    np.testing.assert_array_equal(stored["probabilities"], probabilities)
    report = json.loads((tmp_path / "val.json").read_text())
    assert 0 <= report["mAP"] <= 1 and report["model_run"]["settings"]["iterations"] == 4


def test_predict_command_writes_each_split_from_one_load(tiny_caches, tmp_path, capsys):
    config = ClassifierConfig(iterations=2, batch_size=4, crop_size=32, checkpoint_every=10)
    model_path = train_classifier.train(config, tiny_caches["train"], tmp_path / "cls")
    outs = [tmp_path / "p" / "val.npz", tmp_path / "p" / "weak_noisy.npz"]
    argv = ["predict", "--model", str(model_path), "--cache", str(tiny_caches["val"]), str(tiny_caches["weak_noisy"]),
            "--out", *map(str, outs), "--device", "cpu"]  # fmt: skip
    assert train_classifier.main(argv) == 0
    for split, out in zip(("val", "weak_noisy"), outs):  # each file the single-split predict's, in its split's order
        alone = train_classifier.predict(model_path, tiny_caches[split], device="cpu")
        with np.load(out) as stored:
            assert list(stored["ids"]) == alone["ids"]
            np.testing.assert_array_equal(stored["probabilities"], alone["probabilities"])
    assert train_classifier.main(argv[:-3] + ["--device", "cpu"]) == 1  # two caches, one --out
    assert "expected one --out per --cache, got 1 for 2" in capsys.readouterr().err
