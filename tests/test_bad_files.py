"""Damaged and crafted files where the pipeline reads its own outputs back: training checkpoints,
model files, caches and pretrained weights. Nothing in them runs; a damaged one is named in one
line and, where it is only an intermediate (the training checkpoint), moved aside so the job can
still succeed on its rerun."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tagseg.core import checkpoint
from tagseg.sun2018 import train_fcn
from tagseg.sun2018.train_fcn import TrainConfig

from tests.test_training import FAST, _same_run

ROOT = Path(__file__).resolve().parents[1]


class _Payload:
    """Pickles as a call to os.system: what a crafted checkpoint would hold."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def _crafted(path: Path, marker: Path) -> None:
    torch.save({"format": 4, "settings": {}, "payload": _Payload(marker)}, path)


def test_no_load_anywhere_allows_code():
    """No torch.load in the project, tests included, may run code from the file it reads."""
    needle = "weights_only=" + "False"
    found = [str(path.relative_to(ROOT)) for folder in ("src", "tests", "bench", "workflow")
             for path in (ROOT / folder).rglob("*") if path.is_file() and path.suffix in (".py", ".smk")
             and needle in path.read_text()]  # fmt: skip
    assert found == []


def test_a_crafted_training_checkpoint_runs_nothing_and_is_moved_aside(tiny_caches, tmp_path, capsys):
    run, marker = tmp_path / "run", tmp_path / "ran"
    run.mkdir()
    _crafted(run / "checkpoint.pt", marker)
    train_fcn.train(TrainConfig(**FAST), tiny_caches["train"], run)
    assert not marker.exists()
    assert (run / "checkpoint.unreadable.pt").is_file() and (run / "model.pt").is_file()
    err = capsys.readouterr().err
    assert f"{run / 'checkpoint.pt'}: not a readable training checkpoint" in err and "training starts afresh" in err
    train_fcn.train(TrainConfig(**FAST), tiny_caches["train"], tmp_path / "clean")
    _same_run(tmp_path / "clean", run)


@pytest.mark.parametrize("damage", ["truncated", "empty", "text"])
def test_a_damaged_training_checkpoint_does_not_block_the_run(tiny_caches, tmp_path, monkeypatch, capsys, damage):
    from tests.test_training import _crash_after

    config = TrainConfig(**{**FAST, "checkpoint_every": 2})
    run = tmp_path / "run"
    monkeypatch.setattr(train_fcn, "train_iteration", _crash_after(3, train_fcn.train_iteration))
    with pytest.raises(KeyboardInterrupt):
        train_fcn.train(config, tiny_caches["train"], run)
    monkeypatch.undo()
    data = (run / "checkpoint.pt").read_bytes()
    (run / "checkpoint.pt").write_bytes({"truncated": data[: len(data) // 2], "empty": b"", "text": b"hello\n"}[damage])
    (run / "checkpoint.unreadable.pt").write_bytes(b"an earlier one, kept")
    train_fcn.train(config, tiny_caches["train"], run)
    assert "training starts afresh" in capsys.readouterr().err
    assert (run / "checkpoint.unreadable.pt").read_bytes() == b"an earlier one, kept"
    assert (run / "checkpoint.unreadable.1.pt").is_file() and not (run / "checkpoint.pt").exists()
    train_fcn.train(config, tiny_caches["train"], tmp_path / "clean")
    _same_run(tmp_path / "clean", run)


def _killed_run(config: TrainConfig, cache: Path, run: Path, monkeypatch) -> None:
    """A run of ``config`` killed after its first checkpoint (at iteration 2)."""
    from tests.test_training import _crash_after

    with monkeypatch.context() as patch:
        patch.setattr(train_fcn, "train_iteration", _crash_after(3, train_fcn.train_iteration))
        with pytest.raises(KeyboardInterrupt):
            train_fcn.train(config, cache, run)
    assert (run / "checkpoint.pt").is_file()


def test_a_checkpoint_is_not_resumed_on_data_rebuilt_since(tiny_caches, tmp_path, monkeypatch, capsys):
    """A killed run, then its training cache rebuilt (the user fixed the data): the rerun starts afresh."""
    import shutil

    config = TrainConfig(**{**FAST, "checkpoint_every": 2})
    cache = tmp_path / "cache"
    shutil.copytree(tiny_caches["train"], cache)
    _killed_run(config, cache, tmp_path / "run", monkeypatch)
    index = cache / "index.npz"
    index.write_bytes(index.read_bytes())  # rewritten: what rebuilding the cache does to its files
    os.utime(index, ns=(index.stat().st_atime_ns, index.stat().st_mtime_ns + 10**9))
    train_fcn.train(config, cache, tmp_path / "run")
    assert (
        f"ignoring {tmp_path / 'run' / 'checkpoint.pt'}: {index} changed since it was written"
        in capsys.readouterr().err
    )
    train_fcn.train(config, cache, tmp_path / "clean")
    _same_run(tmp_path / "clean", tmp_path / "run")  # trained from the first iteration, as an unbroken run


@pytest.mark.parametrize("change", ["a weight of another shape", "a state missing"])
def test_a_checkpoint_whose_states_do_not_fit_is_moved_aside(tiny_caches, tmp_path, monkeypatch, capsys, change):
    config = TrainConfig(**{**FAST, "checkpoint_every": 2})
    run = tmp_path / "run"
    _killed_run(config, tiny_caches["train"], run, monkeypatch)
    state = torch.load(run / "checkpoint.pt", weights_only=True)
    if change == "a state missing":
        del state["optimizer"]
    else:
        name = next(iter(state["model"]))
        state["model"][name] = torch.zeros(3, 1, 1, 1)
    torch.save(state, run / "checkpoint.pt")
    train_fcn.train(config, tiny_caches["train"], run)
    err = capsys.readouterr().err
    assert f"{run / 'checkpoint.pt'}: its states do not fit this run (" in err and "training starts afresh" in err
    assert (run / "checkpoint.unreadable.pt").is_file()
    train_fcn.train(config, tiny_caches["train"], tmp_path / "clean")
    _same_run(tmp_path / "clean", run)  # nothing of the misfit checkpoint got into the run


def test_a_crafted_model_file_runs_nothing(tmp_path):
    marker = tmp_path / "ran"
    _crafted(tmp_path / "model.pt", marker)
    with pytest.raises(ValueError, match=r"model\.pt: not a tagseg model file"):
        checkpoint.load(tmp_path / "model.pt", "fcn")
    assert not marker.exists()


@pytest.mark.parametrize("content", [b"", b"not a zip", None])
def test_a_damaged_model_file_is_named_in_one_line(tiny_caches, tmp_path, content):
    model = train_fcn.train(TrainConfig(**FAST), tiny_caches["train"], tmp_path / "run")
    data = model.read_bytes()
    model.write_bytes(data[: len(data) // 3] if content is None else content)
    result = subprocess.run([sys.executable, "-m", "tagseg.sun2018.evaluate_fcn", "--model", str(model),
                             "--cache", str(tiny_caches["val"]), "--out", str(tmp_path / "m.json")],
                            capture_output=True, text=True, cwd=ROOT)  # fmt: skip
    assert result.returncode == 1 and not (tmp_path / "m.json").exists()
    assert result.stderr.strip().count("\n") == 0 and f"{model}: not a readable model file" in result.stderr


def test_damaged_pretrained_weights_say_to_check_the_hash(tmp_path, monkeypatch):
    from tagseg.core import pretrained
    from tagseg.sun2018.fcn import FCNConfig, build_fcn

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    url, path = pretrained.weights_path("VGG16_Weights", "IMAGENET1K_V1")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x00" * 1000)  # an interrupted copy
    with pytest.raises(RuntimeError) as error:
        build_fcn(FCNConfig(backbone="vgg16"), pretrained=True)
    message = str(error.value)
    assert f"{path}: not readable weights" in message and "not 397923af as its name says" in message
    assert url in message and "weights_only" not in message and "\n" not in message


@pytest.mark.parametrize("name, damage", [("index.npz", "truncate"), ("index.npz", "empty"), ("images.npy", "truncate"),
                                          ("images.npy", "empty"), ("masks.npy", "truncate")])  # fmt: skip
def test_a_damaged_cache_is_named_with_what_to_do(tiny_caches, tmp_path, name, damage):
    import shutil

    from tagseg.data.voc import CachedSplit

    cache = tmp_path / "cache"
    shutil.copytree(tiny_caches["train"], cache)
    data = (cache / name).read_bytes()
    (cache / name).write_bytes(b"" if damage == "empty" else data[: len(data) - 500])
    with pytest.raises(ValueError) as error:
        CachedSplit(cache)
    message = str(error.value)
    assert message.startswith(f"{cache / name}: ") and "--forcerun cache_split" in message and "\n" not in message


def test_a_crop_larger_than_the_images_pads_them(tiny_caches, tmp_path):
    """The tiny caches' images are 40 px; a 56 px crop pads them (mean colour, void mask) and trains."""
    from tagseg.data.loading import SegmentationDataset
    from tagseg.data.transforms import train_preset
    from tagseg.data.voc import CachedSplit

    image, mask = SegmentationDataset(CachedSplit(tiny_caches["train"]), train_preset(56, (1.0, 1.0)))[0][:2]
    assert image.shape[-2:] == mask.shape[-2:] == (56, 56) and (mask == 255).any()
    train_fcn.train(TrainConfig(**{**FAST, "crop_size": 56}), tiny_caches["train"], tmp_path)
    assert (tmp_path / "model.pt").is_file()


def test_a_model_of_another_kind_or_version_is_named(tiny_caches, tmp_path):
    """A classifier's model.pt where an FCN's belongs, or a model.pt of an older layout: one line, exit 1."""
    model = train_fcn.train(TrainConfig(**FAST), tiny_caches["train"], tmp_path / "run")
    with pytest.raises(ValueError, match=r"model\.pt: a fcn model, expected a dis model"):
        checkpoint.load(model, "dis")
    torch.save({"format": 0, "kind": "fcn", "state": {}}, tmp_path / "old.pt")
    with pytest.raises(
        ValueError, match=r"old\.pt: not a model file of this version of tagseg; rerun the job that writes it"
    ):
        checkpoint.load(tmp_path / "old.pt", "fcn")


def test_every_row_of_the_bad_input_table_names_a_test_that_exists():
    import re

    text = (ROOT / "docs" / "bad-input.md").read_text()
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| case")]
    named = re.findall(r"`(test_\w+\.py)::(test_\w+)`", text)
    assert len(rows) >= 60 and len(named) >= len(rows) - 10  # rows saying "same" name the test above them
    for file, test in named:
        assert re.search(rf"^def {test}\(", (ROOT / "tests" / file).read_text(), re.M), f"{file}::{test}"
