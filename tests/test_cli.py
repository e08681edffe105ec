"""Every module a rule calls is a command-line tool: --help works and bad input exits non-zero with one line."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

RULES = Path(__file__).resolve().parents[1] / "workflow" / "rules"


def rule_modules() -> set[str]:
    text = "".join(path.read_text() for path in RULES.glob("*.smk"))
    return set(re.findall(r"python -m (tagseg(?:\.\w+)+)", text))


def test_rules_call_the_modules_we_expect():
    assert rule_modules() == {
        "tagseg.data.synthetic", "tagseg.data.voc", "tagseg.sun2018.train_fcn", "tagseg.sun2018.evaluate_fcn", "tagseg.reporting.tables",
        "tagseg.sun2018.train_classifier", "tagseg.reporting.figures_sun2018", "tagseg.luo2017.train_dis", "tagseg.luo2017.evaluate_dis",
        "tagseg.luo2017.step_size",
        "tagseg.data.download", "tagseg.data.extract", "tagseg.reporting.claims", "tagseg.data.splits", "tagseg.sun2018.export",
        "tagseg.luo2017.export", "tagseg.reporting.figures_luo2017", "tagseg.reporting.runtime_table", "tagseg.data.folder", "tagseg.core.pretrained",
    }  # fmt: skip


@pytest.mark.parametrize("module", sorted(rule_modules() | {"tagseg.sun2018.tau_sweep"}))
def test_help(module):
    result = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "usage:" in result.stdout


def test_missing_cache_is_one_clear_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "tagseg.sun2018.evaluate_fcn", "--model", str(tmp_path / "m.pt"), "--cache", str(tmp_path / "nope"),
         "--out", str(tmp_path / "out.json")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and "not a split cache" in result.stderr
    assert not (tmp_path / "out.json").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["tagseg.sun2018.tau_sweep", "--model", "m.pt", "--cache", "c", "--probabilities", "p.npz", "--taus", "1"],
            "--taus",
        ),
        (["tagseg.reporting.figures_sun2018", "figure4", "--sweeps", "missing.json"], "missing.json"),
        (["tagseg.reporting.figures_sun2018", "section3", "--sweeps", "bad.json"], "bad.json"),
    ],
)
def test_sweep_and_figure_errors_are_one_line_and_leave_nothing(tmp_path, args, message):
    (tmp_path / "bad.json").write_text("{not json")
    outs = ["--out", "out.json"] if args[0] == "tagseg.sun2018.tau_sweep" else ["--csv", "out.csv", "--png", "out.png"]
    result = subprocess.run(
        [sys.executable, "-m", *args, *outs], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().count("\n") == 0 and message in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.json"]
