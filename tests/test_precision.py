"""resources.precision: which arithmetic each model family runs in, and that bf16 keeps the losses,
weights, gradients and optimizer states in fp32 (what the autocast covers is the network's body)."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest
import torch

from tagseg.core import precision
from tagseg.core.precision import FAMILIES, Precision, native_bf16, resolve
from tagseg.luo2017.inference import infer_latents
from tagseg.luo2017.network import DISConfig, DualNet
from tagseg.luo2017.stages import stage1_iteration
from tagseg.sun2018 import train_fcn
from tagseg.sun2018.fcn import FCNConfig, build_fcn
from tagseg.sun2018.network import Optimizers, Sun2018Net, train_iteration
from tagseg.sun2018.train_fcn import TrainConfig

from tests.test_sun2018 import _batch
from tests.test_training import FAST

CPU = torch.device("cpu")
NATIVE = {"avx512_bf16": True, "amx_bf16": False}
EMULATED = {"avx512_bf16": False, "amx_bf16": False}


def test_native_bf16_reads_the_cpu_flags_torch_reports():
    assert native_bf16(NATIVE) and native_bf16({"amx_bf16": True}) and not native_bf16(EMULATED)


@pytest.mark.skipif(not Path("/proc/cpuinfo").exists(), reason="the kernel's CPU flags are read from /proc/cpuinfo")
def test_this_machines_answer_agrees_with_the_kernels_cpu_flags():
    flags = set(
        next(line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags")).split()
    )
    if "avx512_bf16" not in flags and "amx_bf16" not in flags and not {"avx512f", "amx_tile"} & flags:
        pytest.skip("not an x86 CPU torch reports these flags for")
    assert native_bf16() == bool({"avx512_bf16", "amx_bf16"} & flags)


@pytest.mark.parametrize("family", FAMILIES)
def test_auto_takes_bf16_only_for_a_shown_family_on_a_cpu_with_native_bf16(monkeypatch, family):
    monkeypatch.setattr(precision, "BF16_FAMILIES", frozenset({family}))
    assert resolve("auto", CPU, family, NATIVE).name == "bf16"
    assert resolve("auto", CPU, family, EMULATED).name == "fp32"  # emulated bf16 is slower than fp32
    others = [f for f in FAMILIES if f != family]
    assert all(resolve("auto", CPU, other, NATIVE).name == "fp32" for other in others)
    assert resolve("auto", torch.device("cuda"), family, EMULATED).name == "fp16"  # AMP, as before
    assert resolve("fp32", CPU, family, NATIVE).name == "fp32"
    assert resolve("bf16", CPU, family, EMULATED).name == "bf16"  # asked for: given, even emulated
    assert not resolve("bf16", torch.device("cuda"), family).scales_gradients


def test_only_float16_scales_gradients_and_bad_names_are_refused():
    assert Precision("cuda", torch.float16).scales_gradients
    assert not Precision("cuda", torch.bfloat16).scales_gradients and not Precision("cpu", None).scales_gradients
    assert Precision("cpu", None).grad_scaler().is_enabled() is False
    with pytest.raises(ValueError, match=r"resources\.precision: expected one of auto, fp32, bf16, got 'fp16'"):
        resolve("fp16", CPU, "fcn")
    with pytest.raises(ValueError, match="unknown model family 'vgg'"):
        resolve("auto", CPU, "vgg")
    with pytest.raises(ValueError, match=r"resources\.precision"):
        TrainConfig(precision="half")


def _dtypes_seen(module: torch.nn.Module) -> set[torch.dtype]:
    seen: set[torch.dtype] = set()
    for layer in module.modules():
        if isinstance(layer, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
            layer.register_forward_hook(lambda m, i, o: seen.add(o.dtype))
    return seen


@pytest.mark.parametrize("variant", ["base", "label_gen"])
def test_a_bf16_fcn_step_runs_its_convolutions_in_bf16_and_keeps_fp32_state(variant):
    torch.manual_seed(0)
    net = Sun2018Net(build_fcn(FCNConfig(arch="fcn32s", backbone="vgg_tiny")), variant)
    optimizers = Optimizers(torch.optim.Adam(net.fcn.parameters(), lr=1e-3),
                            torch.optim.Adam(net.auxiliary.parameters(), lr=1e-3) if net.auxiliary else None)  # fmt: skip
    seen = _dtypes_seen(net)
    bf16 = Precision("cpu", torch.bfloat16)
    losses = train_iteration(net, *_batch(), optimizers, bf16.grad_scaler(), precision=bf16)
    assert seen == {torch.bfloat16} and all(torch.isfinite(torch.tensor(v)) for v in losses.values())
    assert {p.dtype for p in net.parameters()} == {torch.float32}
    assert {p.grad.dtype for p in net.fcn.parameters() if p.grad is not None} == {torch.float32}
    states = [t for opt in (optimizers.segmentation, optimizers.auxiliary) if opt for s in opt.state.values()
              for t in s.values() if torch.is_tensor(t) and t.is_floating_point()]  # fmt: skip
    assert states and {t.dtype for t in states} == {torch.float32}


def test_a_bf16_dis_step_and_inference_keep_the_latents_in_fp32():
    torch.manual_seed(0)
    net = DualNet(DISConfig(backbone="resnet_tiny"))
    images, masks, tags = _batch()
    tags = torch.cat([torch.ones(2, 1), tags], dim=1)
    bf16 = Precision("cpu", torch.bfloat16)
    seen = _dtypes_seen(net)
    losses = stage1_iteration(
        net, images, masks, tags, torch.optim.SGD(net.parameters(), lr=0.01), "joint", precision=bf16
    )
    assert torch.bfloat16 in seen and all(math.isfinite(v) for v in losses.values())
    net.eval()
    with torch.no_grad(), bf16.autocast():
        u1, v1 = net.features(images)
    reads = infer_latents(net, u1.float(), v1.float(), images, steps=2, step_size=0.5, readouts=[0, 2], precision=bf16)
    assert reads[2].labelmap.dtype == torch.float32 and {t.dtype for t in reads[2].latents()} == {torch.float32}
    assert not torch.equal(reads[0].labelmap, reads[2].labelmap)  # the steps moved the latents


@pytest.mark.parametrize("asked", ["fp32", "bf16"])
def test_the_run_record_says_what_the_run_ran_in(tiny_caches, tmp_path, asked):
    train_fcn.train(TrainConfig(**FAST, precision=asked), tiny_caches["train"], tmp_path)
    record = json.loads((tmp_path / "run.json").read_text())
    assert record["precision"] == asked and record["settings"]["precision"] == asked


def test_the_fixed_bilinear_upsampling_stays_in_fp32_under_autocast():
    """CPU autocast would run it in bf16 by a slow kernel; it has no weights, so it runs in fp32."""
    from tagseg.sun2018.fcn import FixedUpsample

    up = FixedUpsample(21, 8)
    x = torch.randn(2, 21, 6, 6)
    with Precision("cpu", torch.bfloat16).autocast():
        inside = up(x.to(torch.bfloat16))
    assert inside.dtype == torch.float32
    assert torch.equal(inside, up(x.to(torch.bfloat16).float()))


def test_two_bf16_runs_of_one_seed_are_equal_to_the_bit(tiny_caches, tmp_path):
    """Reruns reproduce in bf16 as in fp32 (same machine): the tables of two runs are byte-identical."""
    from tagseg.core import checkpoint

    for run in ("a", "b"):
        train_fcn.train(TrainConfig(**FAST, precision="bf16"), tiny_caches["train"], tmp_path / run)
    a, b = (checkpoint.load(tmp_path / run / "model.pt", "fcn").state for run in ("a", "b"))
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_the_precision_rule_judges_both_bounds():
    """bench/precision_quality.py's rule, fixed before its runs: mean loss <= 1 point and <= the fp32 seed sd."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from precision_quality import verdict

    assert verdict([40.0, 42.0, 44.0], [39.5, 41.5, 43.5])["passes"]  # -0.5: within both bounds
    assert not verdict([40.0, 42.0, 44.0], [38.8, 40.8, 42.8])["passes"]  # -1.2: more than a point
    assert not verdict([42.0, 42.2, 42.4], [41.6, 41.8, 42.0])["passes"]  # -0.4 against a spread of 0.2
    result = verdict([40.0, 42.0, 44.0], [41.0, 42.0, 46.0])
    assert result["mean_diff"] == pytest.approx(1.0) and result["ci_low"] < 1.0 < result["ci_high"]
