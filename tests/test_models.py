import urllib.error

import pytest
import torch
import torchvision

from tagseg.core import pretrained
from tagseg.sun2018.fcn import BACKBONES, FCN, FCNConfig, build_fcn, crop_offsets


def test_crop_offsets_are_fcns_for_vgg16_geometry():
    offsets = crop_offsets(BACKBONES["vgg16"])
    assert (offsets.upscore, offsets.score_pool4, offsets.score_pool3, offsets.upscore8) == (19, 5, 9, 31)


@pytest.mark.parametrize("arch", ["fcn32s", "fcn8s"])
def test_tiny_fcn_shape_finite_and_every_parameter_learns(arch):
    torch.manual_seed(0)
    model = FCN(FCNConfig(arch=arch, backbone="vgg_tiny"))
    if arch == "fcn8s":  # FCN zero-initialises the skip scores; perturb them so their inputs get gradient too
        for layer in (model.score_pool4, model.score_pool3):
            torch.nn.init.normal_(layer.weight, std=0.01)
    x = torch.randn(2, 3, 37, 45)
    scores = model(x)
    assert scores.shape == (2, 21, 37, 45) and torch.isfinite(scores).all()
    scores.logsumexp(1).mean().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


@pytest.mark.parametrize("arch", ["fcn32s", "fcn8s"])
@pytest.mark.parametrize("size", [(1, 1), (7, 30), (64, 64), (65, 33)])
def test_any_input_size_comes_back_at_that_size(arch, size):
    model = FCN(FCNConfig(arch=arch)).eval()
    with torch.no_grad():
        assert model(torch.zeros(1, 3, *size)).shape[2:] == size


@pytest.mark.parametrize("arch", ["fcn32s", "fcn8s"])
def test_vgg16_fcn_at_tiny_input(arch):
    model = FCN(FCNConfig(arch=arch, backbone="vgg16")).eval()
    n_params = sum(p.numel() for p in model.parameters())
    assert 133e6 < n_params < 136e6  # luo2017 Table 4 lists FCN at 134M
    with torch.no_grad():
        out = model(torch.randn(1, 3, 16, 20))
    assert out.shape == (1, 21, 16, 20) and torch.isfinite(out).all()


def test_vgg16_fcn8s_scales_its_skips_as_fcns_at_once_net(monkeypatch):
    """voc-fcn8s-atonce multiplies pool4 by 0.01 and pool3 by 0.0001 before their score layers; the
    batch-normed small trunk does not."""
    assert BACKBONES["vgg16"].skip_scales == (0.01, 0.0001) and BACKBONES["vgg_tiny"].skip_scales == (1.0, 1.0)
    model = FCN(FCNConfig(arch="fcn8s", backbone="vgg16")).eval()
    seen = {}
    for name in ("score_pool4", "score_pool3"):
        layer = getattr(model, name)
        layer.register_forward_hook(lambda module, inputs, output, name=name: seen.__setitem__(name, inputs[0]))
    features = {}
    model.trunk.register_forward_hook(lambda module, inputs, output: features.update(output))
    with torch.no_grad():
        model(torch.randn(1, 3, 16, 20))
    torch.testing.assert_close(seen["score_pool4"], features["pool4"] * 0.01)
    torch.testing.assert_close(seen["score_pool3"], features["pool3"] * 0.0001)


def test_upsampling_is_fixed_bilinear():
    model = FCN(FCNConfig(arch="fcn32s"))
    assert not any("upscore" in name for name, _ in model.named_parameters())
    constant = torch.ones(1, 21, 4, 4)
    up = model.upscore(constant)
    inner = up[:, :, 32:-32, 32:-32]  # away from the borders, bilinear upsampling of a constant is constant
    assert torch.allclose(inner, torch.ones_like(inner))


def test_imagenet_weights_land_in_the_trunk(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    url, path = pretrained.weights_path("VGG16_Weights", "IMAGENET1K_V1")
    assert path.is_relative_to(tmp_path) and path.name == url.rsplit("/", 1)[1]
    torch.manual_seed(1)
    vgg = torchvision.models.vgg16()
    path.parent.mkdir(parents=True)
    torch.save(vgg.state_dict(), path)
    model = build_fcn(FCNConfig(arch="fcn8s", backbone="vgg16"), pretrained=True)
    assert torch.equal(model.trunk.blocks[0].conv1_1.weight, vgg.features[0].weight)
    assert torch.equal(model.trunk.blocks[4].conv5_3.bias, vgg.features[28].bias)
    assert torch.equal(model.trunk.fc6.weight.flatten(1), vgg.classifier[0].weight)
    assert torch.equal(model.trunk.fc7.weight.flatten(1), vgg.classifier[3].weight)


def test_offline_without_weights_says_where_to_put_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))

    def offline(*args, **kwargs):
        raise urllib.error.URLError("network is unreachable")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    with pytest.raises(RuntimeError, match=r"put that file at .*vgg16-397923af\.pth"):
        build_fcn(FCNConfig(backbone="vgg16"), pretrained=True)


def test_a_torch_home_that_cannot_hold_the_weights_says_so(tmp_path, monkeypatch):
    (tmp_path / "a file").write_text("")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "a file"))
    with pytest.raises(RuntimeError, match=r"model\.pretrained: .*a file/hub/checkpoints: cannot hold the weights "
                                           r"\(.*\); set TORCH_HOME to a folder you can write, or put the file at"):  # fmt: skip
        build_fcn(FCNConfig(backbone="vgg16"), pretrained=True)


def test_pretrained_needs_vgg16():
    with pytest.raises(ValueError, match="vgg16 only"):
        build_fcn(FCNConfig(backbone="vgg_tiny"), pretrained=True)


def test_bad_model_names_are_rejected_with_allowed_values():
    with pytest.raises(ValueError, match="fcn32s, fcn8s"):
        FCNConfig(arch="fcn16s")
    with pytest.raises(ValueError, match=", ".join(BACKBONES)):
        FCNConfig(backbone="resnet")


def test_the_workflows_weights_table_names_torchvisions_files():
    from tagseg.core.weights import BACKBONE_WEIGHTS

    for enum_name, member, filename in BACKBONE_WEIGHTS.values():
        assert pretrained.weights_path(enum_name, member)[1].name == filename


def test_fetch_copies_the_users_weights_into_the_workflows_torch_home(tmp_path, monkeypatch):
    user_hub = tmp_path / "home" / ".cache" / "torch" / "hub"
    (user_hub / "checkpoints").mkdir(parents=True)
    torch.manual_seed(2)
    vgg = torchvision.models.vgg16()
    torch.save(vgg.state_dict(), user_hub / "checkpoints" / "vgg16-397923af.pth")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "workflow torch"))

    def offline(*args, **kwargs):
        raise urllib.error.URLError("network is unreachable")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)  # copied, never downloaded
    assert pretrained.main(["fetch", "VGG16_Weights.IMAGENET1K_V1", "--from-hub", str(user_hub)]) == 0
    assert (tmp_path / "workflow torch" / "hub" / "checkpoints" / "vgg16-397923af.pth").is_file()
    model = build_fcn(FCNConfig(backbone="vgg16"), pretrained=True)  # as a training job reads it, offline
    assert torch.equal(model.trunk.blocks[0].conv1_1.weight, vgg.features[0].weight)
    assert pretrained.main(["fetch", "VGG17_Weights.IMAGENET1K_V1"]) == 1  # not a weights entry: one line
