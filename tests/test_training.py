import csv
import json
from pathlib import Path

import pytest
import torch

from tagseg.core import checkpoint
from tagseg.reporting import tables
from tagseg.sun2018 import evaluate_fcn as evaluate, train_fcn
from tagseg.core.cli import to_flags
from tagseg.sun2018.evaluate_fcn import EvalConfig
from tagseg.sun2018.network import load_fcn
from tagseg.sun2018.train_fcn import TrainConfig

FAST = dict(iterations=6, batch_size=2, crop_size=32, checkpoint_every=4, optimizer="adam", lr=1e-3)


def test_train_writes_model_curve_and_record(tiny_caches, tmp_path):
    path = train_fcn.train(TrainConfig(arch="fcn8s", **FAST), tiny_caches["train"], tmp_path)
    rows = list(csv.DictReader(open(tmp_path / "train_log.csv")))
    assert [int(r["iteration"]) for r in rows] == list(range(1, 7))
    record = json.loads((tmp_path / "run.json").read_text())
    assert record["settings"]["arch"] == "fcn8s" and record["git_commit"]
    assert not (tmp_path / "checkpoint.pt").exists()
    model, run = load_fcn(path, torch.device("cpu"))
    assert (
        model.fcn.config.arch == "fcn8s"
        and model.variant_name == "base"
        and not model.training
        and run["git_commit"] == record["git_commit"]
    )


def test_same_seed_same_weights(tiny_caches, tmp_path):
    for run in ("a", "b"):
        train_fcn.train(TrainConfig(**FAST), tiny_caches["train"], tmp_path / run)
    a = checkpoint.load(tmp_path / "a" / "model.pt", "fcn").state
    b = checkpoint.load(tmp_path / "b" / "model.pt", "fcn").state
    assert all(torch.equal(a[k], b[k]) for k in a)


def _crash_after(n: int, real_step):
    """``real_step`` for ``n`` calls, then a crash, as a killed job would stop."""
    calls = {"n": 0}

    def step(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] > n:
            raise KeyboardInterrupt
        return real_step(*args, **kwargs)

    return step


def _same_run(a: Path, b: Path, kind: str = "fcn") -> None:
    """Same weights bit for bit, and the same loss curve (wall-clock seconds aside)."""
    weights_a = checkpoint.load(a / "model.pt", kind).state
    weights_b = checkpoint.load(b / "model.pt", kind).state
    assert all(torch.equal(weights_a[k], weights_b[k]) for k in weights_a)
    curve = [[{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(open(d / "train_log.csv"))]
             for d in (a, b)]  # fmt: skip
    assert curve[0] == curve[1]


# 12 training images in batches of 2: six batches a pass. A checkpoint every 2 iterations; a crash
# after 5 resumes mid-pass (at 4), after 7 at a pass's end (6); with workers, which reseed per pass.
@pytest.mark.parametrize("variant, num_workers, crash_after", [("base", 0, 5), ("label_gen", 0, 7), ("base", 2, 5)])
def test_resume_from_checkpoint_matches_an_unbroken_run(tiny_caches, tmp_path, monkeypatch, variant, num_workers,
                                                        crash_after):  # fmt: skip
    config = TrainConfig(variant=variant, num_workers=num_workers, **{**FAST, "iterations": 9, "checkpoint_every": 2})
    train_fcn.train(config, tiny_caches["train"], tmp_path / "unbroken")

    real_step = train_fcn.train_iteration
    monkeypatch.setattr(train_fcn, "train_iteration", _crash_after(crash_after, real_step))
    with pytest.raises(KeyboardInterrupt):
        train_fcn.train(config, tiny_caches["train"], tmp_path / "resumed")
    assert (tmp_path / "resumed" / "checkpoint.pt").exists() and not (tmp_path / "resumed" / "model.pt").exists()
    monkeypatch.setattr(train_fcn, "train_iteration", real_step)
    train_fcn.train(config, tiny_caches["train"], tmp_path / "resumed")
    _same_run(tmp_path / "unbroken", tmp_path / "resumed")


def test_a_checkpoint_of_other_settings_is_not_resumed(tiny_caches, tmp_path, monkeypatch, capsys):
    config = TrainConfig(**{**FAST, "checkpoint_every": 2})
    monkeypatch.setattr(train_fcn, "train_iteration", _crash_after(3, train_fcn.train_iteration))
    with pytest.raises(KeyboardInterrupt):
        train_fcn.train(config, tiny_caches["train"], tmp_path / "run")
    monkeypatch.undo()
    train_fcn.train(TrainConfig(**{**FAST, "checkpoint_every": 2, "lr": 2e-3}), tiny_caches["train"], tmp_path / "run")
    assert "ignoring" in capsys.readouterr().err
    rows = list(csv.DictReader(open(tmp_path / "run" / "train_log.csv")))
    assert [int(row["iteration"]) for row in rows] == list(range(1, 7)) and float(rows[0]["lr"]) == 2e-3


def test_batch_stream_restored_mid_pass_continues_the_same_batches(tiny_caches):
    """A stream restored from its state (and the RNGs) gives the batches the unbroken one gives next."""
    import random

    from tagseg.data.loading import SegmentationDataset
    from tagseg.data.transforms import train_preset
    from tagseg.data.voc import CachedSplit
    from tagseg.core.training import BatchStream, rng_states, set_rng_states, shuffled_loader

    def stream() -> BatchStream:
        dataset = SegmentationDataset(CachedSplit(tiny_caches["train"]), train_preset(32, (0.75, 1.25)))
        return BatchStream(shuffled_loader(dataset, 5, seed=7, num_workers=0, device=torch.device("cpu")))

    random.seed(0)
    unbroken = stream()
    batches = iter(unbroken)
    taken = random.Random().randint(1, 6)  # two batches a pass (12 images, 5 a batch, the rest dropped)
    for _ in range(taken):
        next(batches)
    state, rngs = unbroken.state_dict(), rng_states(torch.device("cpu"))
    expected = [next(batches) for _ in range(4)]

    restored = stream()
    restored.load_state_dict(state)
    set_rng_states(rngs, torch.device("cpu"))
    batches = iter(restored)
    got = [next(batches) for _ in range(4)]
    assert all(torch.equal(a, b) for x, y in zip(expected, got) for a, b in zip(x, y)), f"after {taken} batches"


def test_training_reduces_the_loss_on_a_fixed_batch(tiny_caches, tmp_path):
    config = TrainConfig(arch="fcn8s", iterations=40, batch_size=4, crop_size=40, scale_range=(1.0, 1.0),
                         optimizer="adam", lr=2e-3, checkpoint_every=100)  # fmt: skip
    train_fcn.train(config, tiny_caches["train"], tmp_path)
    losses = [float(r["loss_seg"]) for r in csv.DictReader(open(tmp_path / "train_log.csv"))]
    assert sum(losses[-5:]) / 5 < 0.8 * sum(losses[:5]) / 5


def test_evaluate_and_table(tiny_caches, tmp_path):
    path = train_fcn.train(TrainConfig(**FAST), tiny_caches["train"], tmp_path / "model")
    metrics = evaluate.evaluate(EvalConfig(batch_size=4), path, tiny_caches["val"])
    assert 0 <= metrics["scores"]["mIoU"] <= 1 and metrics["n_images"] == 6
    assert sum(map(sum, metrics["confusion"])) > 0
    for seed in (0, 1):
        (tmp_path / f"val{seed}.json").write_text(json.dumps(metrics))
    frame = tables.build_table("sun2018_table1", [tmp_path / "val0.json", tmp_path / "val1.json"])
    assert list(frame["Method"]) == ["FCN-32s", "FCN-32s+image label", "FCN-32s+generator", "FCN-32s+label+gen",
                                     "FCN-32s, 2x updates (control)", "FCN-32s+image label, 2x updates (control)"]  # fmt: skip
    assert frame.loc[0, "seeds"] == 2 and frame.loc[0, "mIoU_paper"] == 59.4
    assert frame.loc[0, "mIoU"] == pytest.approx(100 * metrics["scores"]["mIoU"], abs=0.01)
    assert frame.loc[0, "mIoU_sd"] == 0 and frame.loc[1, "seeds"] == 0


def test_cli_help_and_bad_values(capsys):
    with pytest.raises(SystemExit) as exit_info:
        train_fcn.main(["--help"])
    assert exit_info.value.code == 0 and "--lr-policy" in capsys.readouterr().out
    assert train_fcn.main(["--train-cache", "x", "--out-dir", "y", "--iterations", "0"]) == 1
    assert "train.iterations" in capsys.readouterr().err


def test_to_flags_round_trips_through_the_parser(tmp_path):
    import argparse

    from tagseg.core.cli import add_dataclass_arguments, dataclass_from_arguments

    settings = {"iterations": 7, "scale_range": [0.5, 2.0], "pretrained": False, "optimizer": "sgd"}
    parser = argparse.ArgumentParser()
    add_dataclass_arguments(parser, TrainConfig)
    config = dataclass_from_arguments(TrainConfig, parser.parse_args(to_flags(settings).split()))
    assert (config.iterations, config.scale_range, config.pretrained, config.optimizer) == (7, (0.5, 2.0), False, "sgd")
