"""luo2017 training entry point: both stages run a few steps at smoke scale, and stage 1 runs its steps in turn."""

from __future__ import annotations

import copy
import csv
import json

import pytest
import torch

from tagseg.luo2017 import train_dis
from tagseg.luo2017.network import DISConfig, DualNet, load_dis
from tagseg.luo2017.stages import stage1_step_at, stage2_iteration
from tagseg.luo2017.train_dis import DISTrainConfig

FAST = dict(batch_size=2, weak_batch_size=2, crop_size=32, checkpoint_every=100, optimizer="adam", lr=1e-3)


def test_stage1_steps_follow_each_other():
    config = DISTrainConfig(stage1_steps=(2, 1, 3))
    assert [stage1_step_at(config.stage1_steps, i) for i in range(6)] == ["map_tag"] * 2 + ["reconstruction"] + [
        "joint"
    ] * 3
    assert config.total_iterations == 6


@pytest.mark.parametrize("t_tr", [0, 2])
def test_both_stages_train_a_few_steps(tiny_caches, tmp_path, t_tr):
    stage1 = train_dis.train(DISTrainConfig(stage1_steps=(2, 1, 2), **FAST), tiny_caches["train"], tmp_path / "s1")
    rows = list(csv.DictReader(open(tmp_path / "s1" / "train_log.csv")))
    assert len(rows) == 5 and [bool(row["loss_map"]) for row in rows] == [True, True, False, True, True]
    assert all(float(row["loss_img"]) > 0 for row in rows)  # the reconstruction step logs L_img alone
    config = DISTrainConfig(stage="stage2", iterations=3, t_tr=t_tr, **FAST)
    stage2 = train_dis.train(config, tiny_caches["train"], tmp_path / "s2", stage1_model=stage1,
                             weak_caches=[tiny_caches["weak_noisy"]])  # fmt: skip
    first, _ = load_dis(stage1, torch.device("cpu"))
    second, record = load_dis(stage2, torch.device("cpu"))
    assert record["settings"]["t_tr"] == t_tr
    assert any(not torch.equal(a, b) for a, b in zip(first.state_dict().values(), second.state_dict().values()))
    assert "loss_map_weak" in open(tmp_path / "s2" / "train_log.csv").readline()


def _stage2_pieces(seed: int = 0):
    torch.manual_seed(seed)
    net = DualNet(DISConfig())
    generator = torch.Generator().manual_seed(seed)
    full = (torch.randn(2, 3, 32, 32, generator=generator), torch.randint(0, 21, (2, 32, 32), generator=generator),
            torch.ones(2, 21))  # fmt: skip
    weak = (torch.randn(2, 3, 32, 32, generator=generator), (torch.rand(2, 21, generator=generator) < 0.3).float())
    return net, full, weak


def test_stage2_keeps_batch_norm_statistics_and_fits_the_weak_tags_themselves():
    """At t_tr = 0 the inferred tags are the network's own, so L_tag against T^w is the only way the weak
    tags enter: it is a loss of its own beside L_tag against T^w-hat (Eq. 1's T = {T^f, T^w, T^w-hat})."""
    net, full, weak = _stage2_pieces()
    net.train()
    statistics = {k: v.clone() for k, v in net.state_dict().items() if "running" in k or "num_batches" in k}
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01)
    losses = stage2_iteration(net, full, weak, optimizer, t_tr=0, step_size=0.01)
    assert {"loss_tag_weak", "loss_tag_inferred"} <= set(losses)
    assert losses["loss_tag_weak"] != pytest.approx(losses["loss_tag_inferred"])
    assert all(torch.equal(value, net.state_dict()[key]) for key, value in statistics.items())
    assert net.training and all(m.training for m in net.modules())  # the mode is given back


def test_the_control_takes_stage_2s_labelled_updates_without_the_weak_images():
    net, full, weak = _stage2_pieces()
    control = copy.deepcopy(net)
    losses = stage2_iteration(
        control, full, None, torch.optim.SGD(control.parameters(), lr=0.01), t_tr=0, step_size=0.01
    )
    assert set(losses) == {"loss_map", "loss_img", "loss_tag"}
    with_weak = copy.deepcopy(net)
    stage2_iteration(with_weak, full, weak, torch.optim.SGD(with_weak.parameters(), lr=0.01), t_tr=0, step_size=0.01)
    assert any(not torch.equal(a, b) for a, b in zip(control.state_dict().values(), with_weak.state_dict().values()))
    assert any(not torch.equal(a, b) for a, b in zip(control.state_dict().values(), net.state_dict().values()))


def test_the_control_trains_from_stage_1_and_refuses_weak_pools(tiny_caches, tmp_path, capsys):
    stage1 = train_dis.train(DISTrainConfig(stage1_steps=(1, 1, 1), **FAST), tiny_caches["train"], tmp_path / "s1")
    config = DISTrainConfig(stage="continued", iterations=2, **FAST)
    model = train_dis.train(config, tiny_caches["train"], tmp_path / "c", stage1_model=stage1)
    _, record = load_dis(model, torch.device("cpu"))
    assert record["settings"]["stage"] == "continued"
    assert "loss_map_weak" not in open(tmp_path / "c" / "train_log.csv").readline()
    code = train_dis.main(["--stage", "continued", "--stage1-model", str(stage1), "--train-cache", str(tiny_caches["train"]),
                           "--weak-cache", str(tiny_caches["weak_noisy"]), "--out-dir", str(tmp_path / "bad")])  # fmt: skip
    assert code == 1 and "dis.continued" in capsys.readouterr().err and not (tmp_path / "bad" / "model.pt").exists()


def test_stage2_without_a_stage1_model_is_a_one_line_error(tiny_caches, tmp_path, capsys):
    code = train_dis.main(["--stage", "stage2", "--train-cache", str(tiny_caches["train"]), "--out-dir", str(tmp_path)])
    assert code == 1 and "--stage1-model" in capsys.readouterr().err
    assert not (tmp_path / "model.pt").exists()


def test_bad_settings_name_the_key(capsys):
    assert train_dis.main(["--train-cache", "x", "--out-dir", "y", "--backbone", "resnet50"]) == 1
    assert "dis.backbone" in capsys.readouterr().err


def test_evaluation_reads_out_every_t_ts_from_one_pass(tiny_caches, tmp_path):
    import json

    from tagseg.luo2017 import evaluate_dis

    model = train_dis.train(DISTrainConfig(stage1_steps=(2, 1, 2), **FAST), tiny_caches["train"], tmp_path / "s1")
    out = tmp_path / "val.json"
    assert evaluate_dis.main(["--model", str(model), "--cache", str(tiny_caches["val"]), "--out", str(out),
                              "--t-ts", "0", "2", "5", "--batch-size", "4"]) == 0  # fmt: skip
    result = json.loads(out.read_text())
    assert sorted(result["by_t_ts"], key=int) == ["0", "2", "5"]
    assert all(sum(map(sum, r["confusion"])) > 0 for r in result["by_t_ts"].values())
    assert result["parameters"] > 0 and result["ms_per_image"]["backbone"] > 0
    assert evaluate_dis.main(["--model", str(model), "--cache", str(tiny_caches["weak_noisy"]),
                              "--out", str(tmp_path / "weak.json")]) == 1  # fmt: skip
    assert not (tmp_path / "weak.json").exists()


def test_tag_agreement_by_hand():
    import numpy as np

    from tagseg.luo2017.evaluate_dis import tag_agreement

    truth = np.array([[1, 0, 1], [0, 1, 0]])
    predicted = np.array([[1, 1, 0], [0, 1, 0]])
    assert tag_agreement(predicted, truth) == {"precision": 2 / 3, "recall": 2 / 3}
    assert tag_agreement(np.zeros_like(truth), truth) == {"precision": 0.0, "recall": 0.0}


def test_weak_pool_inference_is_scored_against_withheld_masks_and_clean_tags(tiny_root, tiny_caches, tmp_path):
    import json

    from tagseg.luo2017 import evaluate_dis
    from tagseg.data.voc import CachedSplit, build_cache

    build_cache(tiny_root, "weak_noisy", tmp_path / "weak")
    build_cache(tiny_root, "weak_noisy", tmp_path / "withheld", withheld=True)
    weak, withheld = CachedSplit(tmp_path / "weak"), CachedSplit(tmp_path / "withheld")
    assert not weak.has_masks and withheld.has_masks and (weak.tags != withheld.tags).any()
    model = train_dis.train(DISTrainConfig(stage1_steps=(2, 1, 2), **FAST), tiny_caches["train"], tmp_path / "s1")
    out = tmp_path / "weak.json"
    assert evaluate_dis.main(["--model", str(model), "--cache", str(tmp_path / "weak"), "--withheld-cache",
                              str(tmp_path / "withheld"), "--t-ts", "0", "3", "--out", str(out)]) == 0  # fmt: skip
    result = json.loads(out.read_text())
    assert sorted(result["by_step"], key=int) == ["0", "3"]
    assert result["weak_tags"]["precision"] < 1 or result["weak_tags"]["recall"] < 1
    assert 0 <= result["by_step"]["3"]["labelmap_scores"]["mIoU"] <= 1


def test_one_command_for_a_models_results_gives_what_one_command_each_gives(tiny_root, tiny_caches, tmp_path):
    """The workflow's evaluation job (every split and weak pool of a model from one load) against a command each."""
    import json

    from tagseg.luo2017 import evaluate_dis
    from tagseg.data.voc import build_cache

    build_cache(tiny_root, "weak_noisy", tmp_path / "withheld", withheld=True)
    weak, withheld, val = tiny_caches["weak_noisy"], tmp_path / "withheld", tiny_caches["val"]
    model = train_dis.train(DISTrainConfig(stage1_steps=(2, 1, 2), **FAST), tiny_caches["train"], tmp_path / "s1")
    flags = ["--batch-size", "4", "--t-ts", "0", "2"]
    assert evaluate_dis.main(["--model", str(model), "--evaluate", str(val), str(tmp_path / "all_val.json"),
                              "--weak", str(weak), str(withheld), str(tmp_path / "all_weak.json"),
                              "--weak-steps", "0", "3", *flags]) == 0  # fmt: skip
    assert (
        evaluate_dis.main(["--model", str(model), "--cache", str(val), "--out", str(tmp_path / "val.json"), *flags])
        == 0
    )
    assert evaluate_dis.main(["--model", str(model), "--cache", str(weak), "--withheld-cache", str(withheld),
                              "--out", str(tmp_path / "weak.json"), "--batch-size", "4", "--t-ts", "0", "3"]) == 0  # fmt: skip
    for name in ("val", "weak"):
        together, alone = (json.loads((tmp_path / f"{stem}.json").read_text()) for stem in (f"all_{name}", name))
        for result in (together, alone):
            result["run"].pop("finished_at")
            result.pop("ms_per_image", None)  # timings
        assert together == alone, name
    assert sorted(json.loads((tmp_path / "all_weak.json").read_text())["by_step"], key=int) == ["0", "3"]


def test_both_stages_resume_bit_for_bit_after_a_crash(tiny_caches, tmp_path, monkeypatch, capsys):
    """Stage 1 killed inside its second step, stage 2 (two batch streams) mid-run: each resumes from
    its checkpoint to the weights of an unbroken run."""
    from tests.test_training import _crash_after, _same_run

    every = {**FAST, "checkpoint_every": 2}
    stage1 = DISTrainConfig(stage1_steps=(2, 2, 2), **every)
    stage2 = DISTrainConfig(stage="stage2", iterations=5, t_tr=1, **every)
    weak = [tiny_caches["weak_noisy"]]
    model = train_dis.train(stage1, tiny_caches["train"], tmp_path / "unbroken" / "s1")
    train_dis.train(stage2, tiny_caches["train"], tmp_path / "unbroken" / "s2", stage1_model=model, weak_caches=weak)

    def crash_then_resume(config, out, iteration_name, **stage2_inputs):
        real = getattr(train_dis, iteration_name)
        monkeypatch.setattr(train_dis, iteration_name, _crash_after(3, real))
        with pytest.raises(KeyboardInterrupt):
            train_dis.train(config, tiny_caches["train"], out, **stage2_inputs)
        monkeypatch.setattr(train_dis, iteration_name, real)
        path = train_dis.train(config, tiny_caches["train"], out, **stage2_inputs)
        assert f"resuming from {out / 'checkpoint.pt'} at iteration 2" in capsys.readouterr().err
        return path

    model = crash_then_resume(stage1, tmp_path / "resumed" / "s1", "stage1_iteration")
    crash_then_resume(stage2, tmp_path / "resumed" / "s2", "stage2_iteration", stage1_model=model, weak_caches=weak)
    _same_run(tmp_path / "unbroken" / "s1", tmp_path / "resumed" / "s1", "dis")
    _same_run(tmp_path / "unbroken" / "s2", tmp_path / "resumed" / "s2", "dis")


def test_the_step_size_is_chosen_on_val_by_the_rule_and_read_back(tiny_caches, tmp_path):
    from tagseg.luo2017 import read_step_size
    from tagseg.luo2017.step_size import choose, main

    assert choose({0.1: 0.5, 0.01: 0.6, 0.5: 0.6}) == 0.01  # the highest mean; a tie to the smaller step
    stage1 = train_dis.train(DISTrainConfig(stage1_steps=(1, 1, 1), **FAST), tiny_caches["train"], tmp_path / "s1")
    out = tmp_path / "step_size.json"
    assert main(["--model", str(stage1), "--model", str(stage1), "--val-cache", str(tiny_caches["val"]),
                 "--grid", "0.5", "0.01", "--steps", "3", "--out", str(out)]) == 0  # fmt: skip
    chosen = json.loads(out.read_text())
    assert chosen["grid"] == [0.01, 0.5] and len(chosen["val_mIoU"]["0.5"]) == 2 and chosen["split"].endswith("val")
    assert chosen["step_size"] == choose({float(k): v for k, v in chosen["val_mIoU_mean"].items()})
    assert read_step_size(out) == chosen["step_size"]
    out.write_text('{"step_size": -1}')
    with pytest.raises(ValueError, match="'step_size' must be a positive number"):
        read_step_size(out)
    out.write_text("not json")
    with pytest.raises(ValueError, match="not a step-size selection"):
        read_step_size(out)


def test_a_bad_step_size_file_is_a_one_line_error_before_training(tiny_caches, tmp_path, capsys):
    bad = tmp_path / "step_size.json"
    bad.write_text("{}")
    code = train_dis.main(["--stage", "stage2", "--train-cache", str(tiny_caches["train"]), "--out-dir", str(tmp_path / "out"),
                           "--step-size-from", str(bad)])  # fmt: skip
    assert code == 1 and "not a step-size selection" in capsys.readouterr().err and not (tmp_path / "out").exists()
