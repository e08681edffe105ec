"""sun2018's variants and the three-step iteration of Section 2.3."""

import copy
import typing

import pytest
import torch

from tagseg.sun2018.fcn import FCN, FCNConfig
from tagseg.sun2018.network import VARIANTS, Optimizers, Sun2018Net, train_iteration
from tagseg.sun2018.train_fcn import TrainConfig, train


def _batch():
    torch.manual_seed(0)
    images = torch.randn(2, 3, 24, 24)
    masks = torch.randint(0, 21, (2, 24, 24))
    masks[:, :2] = 255
    tags = torch.zeros(2, 20)
    for b in range(2):
        present = masks[b][masks[b] < 21].unique()
        tags[b, present[present > 0] - 1] = 1
    return images, masks, tags


def _net(variant):
    torch.manual_seed(1)
    net = Sun2018Net(FCN(FCNConfig(arch="fcn8s")), variant, discriminator_width=4)
    optimizers = Optimizers(
        segmentation=torch.optim.SGD(net.fcn.parameters(), lr=0.1),
        auxiliary=torch.optim.Adam(net.auxiliary.parameters(), lr=0.01) if net.auxiliary else None,
    )
    return net, optimizers


def _changed(before, after):
    """Whether any parameter or buffer (batch-norm statistics too) differs."""
    a, b = before.state_dict(), after.state_dict()
    return any(not torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("auxiliary_variant", ["gen", "label_gen", "discriminator"])
def test_step_two_leaves_segmentation_fixed_and_step_three_changes_both(auxiliary_variant, monkeypatch):
    import tagseg.sun2018.network as sun

    net, optimizers = _net(auxiliary_variant)
    snapshots = []
    real_step = sun._step

    def recording_step(loss, opts, scaler):
        real_step(loss, opts, scaler)
        snapshots.append((copy.deepcopy(net.fcn), copy.deepcopy(net.auxiliary)))

    monkeypatch.setattr(sun, "_step", recording_step)
    before = (copy.deepcopy(net.fcn), copy.deepcopy(net.auxiliary))
    losses = train_iteration(net, *_batch(), optimizers, torch.amp.GradScaler("cpu", enabled=False))
    assert len(snapshots) == 3 and set(losses) == {"loss_seg", "loss_aux"}
    (fcn1, aux1), (fcn2, aux2), (fcn3, aux3) = snapshots
    assert _changed(before[0], fcn1) and not _changed(before[1], aux1)  # (1) segmentation only
    assert not _changed(fcn1, fcn2) and _changed(aux1, aux2)  # (2) auxiliary only
    assert _changed(fcn2, fcn3)  # (3) segmentation ...
    assert _changed(aux2, aux3) == (
        auxiliary_variant != "discriminator"
    )  # ... and the generator (not the discriminator)


@pytest.mark.parametrize("variant", ["base", "label", "label_add", "label_add_scores"])
def test_variants_without_auxiliary_take_one_step(variant, monkeypatch):
    import tagseg.sun2018.network as sun

    steps = []
    real_step = sun._step
    monkeypatch.setattr(sun, "_step", lambda *args: steps.append(1) or real_step(*args))
    net, optimizers = _net(variant)
    losses = train_iteration(net, *_batch(), optimizers, torch.amp.GradScaler("cpu", enabled=False))
    assert set(losses) == {"loss_seg"} and len(steps) == 1


@pytest.mark.parametrize("control, plain", [("base_2x", "base"), ("label_2x", "label")])
def test_a_control_is_its_variant_stepped_twice_on_the_same_batch(control, plain):
    """As many segmentation updates per iteration as the generator variants' steps 1 and 3, nothing else."""
    net, optimizers = _net(control)
    twice, twice_optimizers = _net(plain)
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    train_iteration(net, *_batch(), optimizers, scaler)
    for _ in range(2):
        train_iteration(twice, *_batch(), twice_optimizers, scaler)
    assert not _changed(net, twice)
    assert VARIANTS[control].segmentation_updates == VARIANTS["gen"].segmentation_updates == 2
    assert VARIANTS[control].fusion == VARIANTS[plain].fusion


def test_every_variant_is_a_choice_of_the_training_command():
    assert set(typing.get_args(typing.get_type_hints(TrainConfig)["variant"])) == set(VARIANTS)


def test_fusing_variants_exclude_unlabelled_classes_at_prediction():
    net, _ = _net("label")
    images, _, _ = _batch()
    labels = torch.zeros(2, 21)
    labels[:, [0, 7]] = 1
    predicted = net.eval().segment(images, labels).argmax(1)
    assert set(predicted.unique().tolist()) <= {0, 7}
    with pytest.raises(ValueError, match="fuses image labels"):
        net.segment(images, None)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_variant_trains_a_few_steps_at_smoke_scale(variant, tiny_caches, tmp_path):
    config = TrainConfig(
        variant=variant, iterations=3, batch_size=2, crop_size=32, checkpoint_every=10, discriminator_width=4
    )
    train(config, tiny_caches["train"], tmp_path)
    header = (tmp_path / "train_log.csv").read_text().splitlines()[0]
    assert ("loss_aux" in header) == (VARIANTS[variant].auxiliary is not None)


def test_unknown_variant_names_the_allowed_ones():
    with pytest.raises(ValueError, match="base, label, gen, label_gen, discriminator, label_add"):
        Sun2018Net(FCN(FCNConfig()), "labels")
