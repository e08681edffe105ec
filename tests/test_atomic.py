"""Every kind of output (json, csv, png, npz, pt, array cache) is written under a temporary name and
renamed: a writer stopped before its rename leaves nothing at the output's path."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from tagseg.core import io, training
from tagseg.core.checkpoint import Checkpoint
from tagseg.reporting import tables
from tagseg.data.voc import CACHE_FILES, build_cache
from tagseg.sun2018.train_classifier import write_predictions


class Stopped(Exception):
    """Stands for a kill between a writer's last byte and its rename."""


@pytest.fixture
def renames_fail(monkeypatch):
    def fail(source, target):
        raise Stopped(f"{source} -> {target}")

    monkeypatch.setattr(os, "replace", fail)  # pathlib's Path.replace goes through os.replace too


def _png(out):
    from tagseg.reporting.plotting import plt, save

    fig, ax = plt.subplots()
    ax.plot([0, 1])
    save(fig, out)


WRITERS = {
    "json": (lambda d: io.write_json(d / "out.json", {"a": 1}), ["out.json"]),
    "pt": (lambda d: training.save_atomic({"w": torch.ones(2)}, d / "checkpoint.pt"), ["checkpoint.pt"]),
    "run": (
        lambda d: training.write_run(
            d, Checkpoint("fcn", {}, {"w": torch.ones(2)}, {"r": 1}), [{"iteration": 1, "loss": 0.5}]
        ),
        ["model.pt", "train_log.csv", "run.json"],
    ),  # fmt: skip
    "png": (lambda d: _png(d / "figure.png"), ["figure.png"]),
    "npz": (
        lambda d: write_predictions({"ids": ["a"], "probabilities": np.zeros((1, 20)), "mAP": 0.0}, d / "p.npz"),
        ["p.npz", "p.json"],
    ),  # fmt: skip
}


@pytest.mark.parametrize("kind", WRITERS)
def test_a_writer_stopped_before_its_rename_leaves_no_output(kind, tmp_path, renames_fail):
    write, outputs = WRITERS[kind]
    with pytest.raises(Stopped):
        write(tmp_path)
    assert not any((tmp_path / name).exists() for name in outputs)
    assert not any(path.name.startswith(".") for path in tmp_path.iterdir())  # nor a temporary file


def test_a_failed_write_keeps_the_previous_file_and_no_temporary(tmp_path):
    out = tmp_path / "scores.json"
    io.write_json(out, {"mIoU": 0.5})
    with pytest.raises(TypeError):
        io.write_json(out, {"mIoU": object()})  # not serialisable: fails after the temporary file is opened
    assert out.read_text() == '{\n  "mIoU": 0.5\n}\n'
    assert sorted(path.name for path in tmp_path.iterdir()) == ["scores.json"]


def test_a_cache_stopped_before_its_rename_leaves_no_index(tiny_root, tmp_path, renames_fail):
    with pytest.raises(Stopped):
        build_cache(tiny_root, "val", tmp_path)
    assert not any((tmp_path / name).exists() for name in CACHE_FILES)


def test_a_table_stopped_before_its_rename_leaves_no_csv(tmp_path, renames_fail):
    argv = ["--table", "luo2017_table5", "--not-run", "IDW not supplied", "--out", str(tmp_path / "t.csv")]
    with pytest.raises(Stopped):
        tables.main(argv)
    assert not (tmp_path / "t.csv").exists()


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs Linux's /dev/full")
@pytest.mark.parametrize("kind", ["json", "pt", "npz"])
def test_a_full_disk_is_one_line_naming_the_file_and_leaves_nothing(kind, tmp_path):
    """The temporary file is a link to /dev/full, where every write fails as on a full disk."""
    write, outputs = WRITERS[kind]
    os.symlink("/dev/full", io.temporary_path(tmp_path / outputs[0]))
    with pytest.raises(OSError) as error:
        write(tmp_path)
    message = str(error.value)
    assert message.startswith(f"{tmp_path / outputs[0]}: not written (") and "\n" not in message
    assert message.endswith("check that its disk has room and its folder is writable")
    assert list(tmp_path.iterdir()) == []


WRITER = """
import sys, time
from pathlib import Path
from tagseg.core.cli import command
from tagseg.core.io import atomic_path

@command
def main(argv):
    with atomic_path(Path(argv[0])) as tmp:
        tmp.write_text("half of it")
        print("writing", flush=True)
        time.sleep(120)

sys.exit(main(sys.argv[1:]))
"""


def test_sigterm_mid_write_leaves_no_temporary_file(tmp_path):
    """SLURM's time limit and a stopped snakemake send SIGTERM: the write under way is cleaned up."""
    import signal
    import subprocess
    import sys

    out = tmp_path / "scores.json"
    process = subprocess.Popen([sys.executable, "-c", WRITER, str(out)], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline() == "writing\n" and io.temporary_path(out).exists()
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 128 + signal.SIGTERM
    assert list(tmp_path.iterdir()) == []


def test_a_training_job_stopped_by_sigterm_resumes(tiny_caches, tmp_path):
    import signal
    import subprocess
    import sys
    import time

    run = tmp_path / "run"
    command = [sys.executable, "-m", "tagseg.sun2018.train_fcn", "--train-cache", str(tiny_caches["train"]),
               "--out-dir", str(run), "--iterations", "60", "--batch-size", "2", "--crop-size", "32",
               "--checkpoint-every", "2"]  # fmt: skip
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    while not (run / "checkpoint.pt").exists() and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 128 + signal.SIGTERM
    assert sorted(p.name for p in run.iterdir()) == ["checkpoint.pt"]  # no temporary file, no model.pt
    resumed = subprocess.run(command, capture_output=True, text=True)
    assert resumed.returncode == 0 and "resuming from" in resumed.stderr and (run / "model.pt").is_file()
