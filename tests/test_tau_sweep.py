import doctest

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

import tagseg.sun2018.information
from tagseg.data.loading import SegmentationDataset, pad_collate
from tagseg.data.transforms import eval_preset
from tagseg.data.voc import CachedSplit
from tagseg.sun2018.evaluate_fcn import split_confusion
from tagseg.sun2018.fusion import FUSIONS, threshold_labels
from tagseg.sun2018.information import label_information
from tagseg.core.metrics import confusion_matrix
from tagseg.sun2018.fcn import FCN, FCNConfig
from tagseg.sun2018.network import Sun2018Net
from tagseg.sun2018.tau_sweep import tau_sweep


def test_information_worked_example():
    assert doctest.testmod(tagseg.sun2018.information).failed == 0


def test_information_edge_cases():
    truth = np.zeros((2, 20), int)
    truth[:, 3] = 1
    accurate = label_information(truth, truth)
    assert accurate["removed_nats"] == pytest.approx(np.log(21 / 2)) and accurate["lost_nats"] == 0
    everything = label_information(truth, np.ones((2, 20), int))  # tau = 0: every class labelled
    assert everything["removed_nats"] == pytest.approx(0) and everything["m"] == 19
    nothing = label_information(truth, np.zeros((2, 20), int))  # tau above every probability
    assert nothing["k"] == 1 and nothing["lost_nats"] == pytest.approx(np.log(2))


@pytest.fixture()
def model_and_loader(tiny_caches):
    torch.manual_seed(0)
    model = Sun2018Net(FCN(FCNConfig(arch="fcn8s")), "label").eval()
    split = CachedSplit(tiny_caches["val"])
    loader = DataLoader(SegmentationDataset(split, eval_preset()), batch_size=4, collate_fn=pad_collate)
    return model, loader, len(split)


def test_tau_zero_is_the_unfused_prediction_and_above_one_is_background(model_and_loader):
    model, loader, n = model_and_loader
    probabilities = torch.rand(n, 20)
    sweep = tau_sweep(model, loader, probabilities, [0.0, 0.5, 1.01], torch.device("cpu"))
    hists = sweep.labelled
    unfused = Sun2018Net(model.fcn, "base").eval()
    # the baseline the sweep scores in its own pass is the network evaluated without labels, to the pixel
    np.testing.assert_array_equal(sweep.unlabelled, split_confusion(unfused, loader, torch.device("cpu")))
    np.testing.assert_array_equal(hists[0], sweep.unlabelled)
    assert hists[2][:, 1:].sum() == 0  # every pixel predicted background
    assert hists.sum(axis=(1, 2)).tolist() == [hists[0].sum()] * 3


def test_sweep_at_ground_truth_labels_matches_evaluation(model_and_loader, tiny_caches):
    model, loader, _ = model_and_loader
    tags = torch.from_numpy(CachedSplit(tiny_caches["val"]).tags).float()
    hists = tau_sweep(model, loader, tags, [0.5], torch.device("cpu")).labelled
    np.testing.assert_array_equal(hists[0], split_confusion(model, loader, torch.device("cpu")))


def test_probability_rows_must_match_the_images(model_and_loader):
    model, loader, n = model_and_loader
    with pytest.raises(ValueError, match="probability rows"):
        tau_sweep(model, loader, torch.rand(n + 1, 20), [0.5], torch.device("cpu"))


@pytest.mark.parametrize("variant", ["base", "label", "label_add"])
def test_sweep_equals_fusing_and_scoring_at_every_tau_separately(model_and_loader, variant):
    model, loader, n = model_and_loader
    model = Sun2018Net(model.fcn, variant).eval()
    probabilities = torch.rand(n, 20, generator=torch.Generator().manual_seed(1))
    taus = [0.0, 0.3, 0.3001, 0.7, 1.0]
    naive = np.zeros((len(taus), 21, 21), dtype=np.int64)
    with torch.inference_mode():
        for t, tau in enumerate(taus):
            seen = 0
            for images, masks, _ in loader:
                labels = threshold_labels(probabilities[seen : seen + len(images)], tau)
                seen += len(images)
                fusion = FUSIONS[model.variant.fusion or "dot"]
                naive[t] += confusion_matrix(masks, fusion(model.fcn(images), labels).argmax(1), 21)
    np.testing.assert_array_equal(tau_sweep(model, loader, probabilities, taus, torch.device("cpu")).labelled, naive)


def test_the_tau_grid_is_numpys_linspace_to_the_bit():
    """One grid for the sweep and the config check, without numpy, equal to what the sweep scored before."""
    import numpy as np

    from tagseg.sun2018.variants import tau_grid

    for taus in range(2, 202):
        assert tau_grid(taus) == np.linspace(0.0, 1.0, taus).tolist()
