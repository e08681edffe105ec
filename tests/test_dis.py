"""luo2017's dual network and its iterative inference: shapes, the frozen network, read-outs, refinement."""

from __future__ import annotations

import copy

import pytest
import torch

from tagseg.luo2017.inference import inference_objective, infer_latents, upsampled_argmax
from tagseg.luo2017.network import DISConfig, DualNet, count_parameters, downsample_image, image_loss, map_loss, refine


@pytest.fixture(scope="module")
def net() -> DualNet:
    """An untrained network whose subnets have PyTorch's default (not near-zero) weights, so that the
    reconstruction depends on the features as a trained one's does."""
    torch.manual_seed(0)
    model = DualNet(DISConfig(backbone="resnet_tiny")).eval()
    for layer in (model.labelmap, model.tags, *model.reconstruction):
        if hasattr(layer, "reset_parameters"):
            layer.reset_parameters()
    return model


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    return torch.randn(2, 3, 40, 40, generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("backbone, channels", [("resnet_tiny", 128), ("resnet101", 2048)])
def test_shapes_at_output_stride_8(backbone, channels):
    model = DualNet(DISConfig(backbone=backbone)).eval()
    with torch.no_grad():
        u1, v1 = model.features(torch.zeros(1, 3, 41, 33))
        out = model.heads(u1, v1)
    assert u1.shape == (1, channels, 6, 5) and v1.shape == (1, channels)
    assert out.u3.shape == (1, 21, 6, 5) and out.z3.shape == (1, 3, 6, 5) and out.v3.shape == (1, 21)


def test_resnet101_parameter_count_is_near_the_papers():
    n = count_parameters(DualNet(DISConfig(backbone="resnet101")))
    assert 42.5e6 < n < 45.5e6  # ResNet-101 without its fc (42.5M) plus the three subnets


def test_every_parameter_learns_from_the_three_losses(images):
    torch.manual_seed(0)
    model = DualNet(DISConfig())
    out = model(images)
    masks = torch.randint(0, 21, (2, 40, 40))
    loss = map_loss(refine(out.u3, out.v3), masks) + inference_objective(out, images, torch.ones(2, 21))
    loss.backward()
    assert torch.isfinite(loss)
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


def test_zero_steps_return_the_backbones_features_exactly(net, images):
    with torch.no_grad():
        u1, v1 = net.features(images)
        plain = net(images)
    readout = infer_latents(net, u1, v1, images, steps=0, step_size=0.1)[0]
    assert torch.equal(readout.u1, u1) and torch.equal(readout.v1, v1)
    assert torch.equal(readout.outputs.u3, plain.u3) and torch.equal(readout.outputs.v3, plain.v3)


@pytest.mark.parametrize("with_tags", [False, True])
def test_inference_leaves_the_network_unchanged_and_lowers_its_loss(net, images, with_tags):
    tags = torch.ones(2, 21) if with_tags else None
    before = {k: v.clone() for k, v in net.state_dict().items()}
    with torch.no_grad():
        u1, v1 = net.features(images)
    reads = infer_latents(net, u1, v1, images, steps=20, step_size=0.5, tags=tags, readouts=[0, 5, 20])
    losses = [float(inference_objective(reads[t].outputs, images, tags)) for t in (0, 5, 20)]
    assert losses[0] > losses[1] > losses[2]
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    assert all(p.grad is None for p in net.parameters())
    assert not torch.equal(reads[20].u1, u1) and not torch.equal(reads[20].v1, v1)


def test_readouts_from_one_pass_equal_separate_runs(net, images):
    with torch.no_grad():
        u1, v1 = net.features(images)
    one_pass = infer_latents(net, u1, v1, images, steps=30, step_size=0.5, readouts=[0, 10, 30])
    assert sorted(one_pass) == [0, 10, 30]
    for t in (0, 10, 30):
        alone = infer_latents(net, u1, v1, images, steps=t, step_size=0.5)[t]
        assert torch.equal(one_pass[t].u1, alone.u1) and torch.equal(one_pass[t].outputs.u3, alone.outputs.u3)


@pytest.mark.parametrize("route, forward, start", [("literal", "heads", 0), ("reduced", "reconstruct", 1)])
def test_readouts_between_steps_take_no_forward_pass_of_their_own(net, images, route, forward, start, monkeypatch):
    """A read-out at step k < t reuses the outputs step k + 1 differentiates; only the last needs one.
    (The 21-channel route starts from the heads' outputs, and the heads end in reconstruct.)"""
    with torch.no_grad():
        u1, v1 = net.features(images)
    calls = []
    original = getattr(net, forward)
    monkeypatch.setattr(net, forward, lambda *args: calls.append(1) or original(*args))
    infer_latents(net, u1, v1, images, steps=30, step_size=0.5, readouts=[0, 10, 30], route=route)
    assert len(calls) == start + 30 + 1


@pytest.mark.parametrize("size", [(40, 40), (41, 57), (8, 30), (17, 3), (8, 8)])  # features 5x5, 6x8, 1x4, 3x1, 1x1
@pytest.mark.parametrize("with_tags", [False, True])
def test_the_21_channel_route_takes_the_steps_on_u1_and_v1(net, size, with_tags):
    """The reduced route (steps through u3 and v3) against the paper's loop (autograd on u1 and v1), in float64:
    the border terms, the constant field of v1 and the tag path must all come out exact."""
    double = copy.deepcopy(net).double()
    generator = torch.Generator().manual_seed(2)
    images = torch.randn(2, 3, *size, dtype=torch.float64, generator=generator)
    tags = torch.rand(2, 21, dtype=torch.float64, generator=generator) if with_tags else None
    with torch.no_grad():
        u1, v1 = double.features(images)
    run = dict(steps=12, step_size=0.5, tags=tags, readouts=[0, 4, 12])
    reduced = infer_latents(double, u1, v1, images, route="reduced", **run)
    direct = infer_latents(double, u1, v1, images, route="literal", **run)
    for t in (0, 4, 12):
        for name in ("u3", "z3", "v3"):
            torch.testing.assert_close(
                getattr(reduced[t].outputs, name), getattr(direct[t].outputs, name), rtol=0, atol=1e-12
            )
        torch.testing.assert_close(reduced[t].u1, direct[t].u1, rtol=0, atol=1e-12)
        torch.testing.assert_close(reduced[t].v1, direct[t].v1, rtol=0, atol=1e-12)
    assert (direct[12].outputs.u3 - direct[0].outputs.u3).abs().max() > 1e-7  # the steps moved it, far past atol


def test_the_literal_loop_is_the_default_and_a_step_is_the_papers_update(net, images):
    """One step by hand, as Eq. (1)'s inference writes it: u1 - eta * dL/du1, v1 - eta * dL/dv1, theta fixed."""
    with torch.no_grad():
        u1, v1 = net.features(images)
    x, y = u1.clone().requires_grad_(True), v1.clone().requires_grad_(True)
    loss = inference_objective(net.heads(x, y), images, None)
    grad_u1, grad_v1 = torch.autograd.grad(loss, [x, y])
    stepped = infer_latents(net, u1, v1, images, steps=1, step_size=0.5)[1]
    assert torch.equal(stepped.u1, u1 - 0.5 * grad_u1) and torch.equal(stepped.v1, v1 - 0.5 * grad_v1)
    with pytest.raises(ValueError, match="dis.inference: expected one of literal, reduced"):
        infer_latents(net, u1, v1, images, steps=1, step_size=0.5, route="fast")


def test_the_objective_on_the_downsampled_target_is_the_objective_on_the_image(net, images):
    """infer_latents downsamples the image once and passes the small target to every step."""
    with torch.no_grad():
        outputs = net(images)
    small = downsample_image(images, outputs.z3.shape[2:])
    for tags in (None, torch.ones(2, 21)):
        assert torch.equal(inference_objective(outputs, small, tags), inference_objective(outputs, images, tags))


def test_bad_step_counts_are_refused(net, images):
    with torch.no_grad():
        u1, v1 = net.features(images)
    with pytest.raises(ValueError, match="read-outs"):
        infer_latents(net, u1, v1, images, steps=5, step_size=0.1, readouts=[10])
    with pytest.raises(ValueError, match="step_size"):
        infer_latents(net, u1, v1, images, steps=5, step_size=0.0)


def test_refinement_removes_classes_the_tags_rule_out():
    u3 = torch.zeros(1, 3, 1, 1)
    u3[0, 2] = 1.0  # class 2 wins on the labelmap alone
    v3 = torch.tensor([[5.0, 5.0, -20.0]])  # but the tags all but rule it out
    log_probabilities = refine(u3, v3)
    assert log_probabilities.exp().sum(1).allclose(torch.ones(1, 1, 1))
    assert log_probabilities.argmax(1).item() != 2


def test_image_loss_forms_differ_only_in_scale():
    """Caffe's summed Euclidean loss is the per-element mean times half the element count per image:
    the two forms give the same direction, only L_img's weight beside L_map and L_tag changes."""
    z3 = torch.randn(2, 3, 4, 4, generator=torch.Generator().manual_seed(3))
    images = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(4))
    target = torch.nn.functional.adaptive_avg_pool2d(images, 4)
    assert image_loss(z3, images, "sum").item() == pytest.approx(0.5 * ((z3 - target) ** 2).sum().item() / 2)
    assert image_loss(z3, images, "sum").item() == pytest.approx(image_loss(z3, images, "mean").item() * 3 * 16 / 2)
    with pytest.raises(ValueError, match="dis.image_loss"):
        image_loss(z3, images, "max")


def _batch():
    g = torch.Generator().manual_seed(2)
    images = torch.randn(2, 3, 32, 32, generator=g)
    masks = torch.randint(0, 21, (2, 32, 32), generator=g)
    tags = torch.zeros(2, 21)
    tags[:, 0] = 1
    tags[0, 5] = 1
    return images, masks, tags


@pytest.mark.parametrize("step, changed", [
    ("map_tag", {"backbone", "labelmap", "tags"}),
    ("reconstruction", {"reconstruction"}),
    ("joint", {"backbone", "labelmap", "tags", "reconstruction"}),
])  # fmt: skip
def test_stage1_steps_change_only_their_components(step, changed):
    from tagseg.luo2017.stages import stage1_iteration, stage1_parameters

    torch.manual_seed(0)
    model = DualNet(DISConfig()).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    optimizer = torch.optim.SGD(stage1_parameters(model, step), lr=0.1)
    losses = stage1_iteration(model, *_batch(), optimizer, step)
    assert all(torch.isfinite(torch.tensor(v)) for v in losses.values())
    moved = {k.split(".")[0] for k, v in model.state_dict().items() if not torch.equal(before[k], v)}
    assert moved == changed  # batch-norm statistics included: a frozen backbone keeps its running means


@pytest.mark.parametrize("t_tr", [0, 3])
def test_stage2_infers_targets_with_theta_fixed_then_updates_theta(t_tr, monkeypatch):
    import tagseg.luo2017.stages as dis

    torch.manual_seed(0)
    model = DualNet(DISConfig()).train()
    calls = []
    real = dis.infer_latents

    def spy(net, u1, v1, images, **kwargs):
        calls.append(kwargs["steps"])
        assert all(p.grad is None for p in net.parameters())  # nothing trained before the targets exist
        return real(net, u1, v1, images, **kwargs)

    monkeypatch.setattr(dis, "infer_latents", spy)
    images, masks, tags = _batch()
    before = [p.clone() for p in model.parameters()]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    losses = dis.stage2_iteration(
        model, (images, masks, tags), (images.flip(0), tags), optimizer, t_tr=t_tr, step_size=0.5
    )
    assert calls == [t_tr]
    assert set(losses) == {"loss_map", "loss_img", "loss_tag", "loss_map_weak", "loss_img_weak", "loss_tag_weak",
                           "loss_tag_inferred"}  # fmt: skip
    assert any(not torch.equal(b, p) for b, p in zip(before, model.parameters()))


def test_stage2_runs_the_backbone_once_on_the_weak_images_and_infers_from_its_features(monkeypatch):
    import copy

    from tagseg.luo2017 import stages as dis

    torch.manual_seed(0)
    model = DualNet(DISConfig()).train()
    reference = copy.deepcopy(model)
    images, masks, tags = _batch()
    weak = images.flip(0)
    with torch.no_grad():
        expected_u1, expected_v1 = reference.eval().features(
            weak
        )  # theta before the update, batch norm's running statistics
    seen = {}
    real = dis.infer_latents

    def spy(net, u1, v1, images, **kwargs):
        seen["u1"], seen["v1"] = u1.detach().clone(), v1.detach().clone()
        return real(net, u1, v1, images, **kwargs)

    monkeypatch.setattr(dis, "infer_latents", spy)
    bn = model.backbone.stem[1]
    tracked = int(bn.num_batches_tracked)
    dis.stage2_iteration(model, (images, masks, tags), (weak, tags), torch.optim.SGD(model.parameters(), lr=0.1),
                         t_tr=3, step_size=0.5)  # fmt: skip
    assert torch.allclose(seen["u1"], expected_u1, atol=1e-6) and torch.allclose(seen["v1"], expected_v1, atol=1e-6)
    assert int(bn.num_batches_tracked) == tracked  # stage 2 leaves the statistics as stage 1 left them
    assert all(p.requires_grad for p in model.parameters())  # inference's freezing was undone


@pytest.mark.parametrize("low, high", [((8, 8), (64, 64)), ((5, 7), (37, 51)), ((41, 41), (321, 321))])
def test_upsampled_argmax_is_the_default_layouts(low, high):
    torch.manual_seed(0)
    labelmap = torch.randn(3, 21, *low).log_softmax(1)
    expected = torch.nn.functional.interpolate(labelmap, size=high, mode="bilinear", align_corners=False).argmax(1)
    assert torch.equal(upsampled_argmax(labelmap, high), expected)
