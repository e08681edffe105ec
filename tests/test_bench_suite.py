"""The performance suite's bookkeeping (ratios, goals, growth exponents, the CSV and the README section)
and one tiny run of it end to end. Behaviour only: no test reads a time."""

from __future__ import annotations

import csv
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def suite():
    spec = importlib.util.spec_from_file_location("bench_suite", ROOT / "bench" / "suite.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_suite"] = module
    spec.loader.exec_module(module)
    return module


def test_goals_are_judged_in_their_direction(suite):
    assert suite.Row("1", "x", 1.4, goal="<= 1.5").met == "yes"
    assert suite.Row("1", "x", 1.6, goal="<= 1.5").met == "no"
    assert suite.Row("4", "x", 1.1, goal=">= 1.2").met == "no"
    assert suite.Row("4", "x", 1.3, goal=">= 1.2").met == "yes"
    assert suite.Row("4i", "x", 50.0, unit="images/s").met == ""  # reported, no goal


def test_ratio_is_of_medians_with_the_per_round_spread(suite):
    times = {"a": [2.0, 3.0, 10.0], "b": [1.0, 1.0, 2.0]}
    value, spread = suite.ratio(times, "a", "b")
    assert value == pytest.approx(3.0)  # median 3 over median 1, not the mean of the rounds
    assert spread == "2.00-5.00"


def test_growth_exponent_is_one_for_linear_and_two_for_quadratic(suite):
    sizes = [10, 20, 40]
    assert suite.exponent(sizes, [0.5 * s for s in sizes]) == pytest.approx(1.0)
    assert suite.exponent(sizes, [0.1 * s**2 for s in sizes]) == pytest.approx(2.0)
    assert suite.exponent(sizes, [3.0, 3.0, 3.0]) == pytest.approx(0.0, abs=1e-9)


def test_csv_merges_by_id_and_the_readme_section_is_rewritten_between_markers(suite, tmp_path):
    path = tmp_path / "performance.csv"
    suite.write_rows([suite.Row("1", "first", 1.4, goal="<= 1.5", machine="m"), suite.Row("3", "third", 2.0,
                      goal="<= 1.3", machine="m")], path)  # fmt: skip
    suite.write_rows([suite.Row("3", "third again", 1.2, goal="<= 1.3", machine="m")], path)
    with open(path, newline="") as f:
        rows = {row["id"]: row for row in csv.DictReader(f)}
    assert set(rows) == {"1", "3"} and rows["3"]["measure"] == "third again" and rows["3"]["met"] == "yes"
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{suite.README_START}\nold\n{suite.README_END}\n\nafter\n")
    suite.update_readme(path, readme)
    text = readme.read_text()
    assert "old" not in text and "| 3 | third again | 1.2 x | <= 1.3 | yes |" in text
    assert "2 of 2 goals met" in text and text.endswith("after\n")
    readme.write_text("no markers\n")
    with pytest.raises(ValueError, match="markers"):
        suite.update_readme(path, readme)


def test_dag_wall_time_is_read_from_the_newest_completed_log(suite, tmp_path):
    logs = tmp_path / ".snakemake" / "log"
    logs.mkdir(parents=True)
    (logs / "2026-01-01T000000.000000.snakemake.log").write_text(
        "[Thu Jan  1 00:00:00 2026]\nrule a:\n[Thu Jan  1 00:10:30 2026]\n3 of 3 steps (100%) done\n"
    )
    (logs / "2026-01-02T000000.000000.snakemake.log").write_text("[Fri Jan  2 00:00:00 2026]\nrule a:\n")  # interrupted
    assert suite.dag_wall_seconds(tmp_path) == pytest.approx(630.0)


def test_the_suite_runs_and_writes_its_rows(tmp_path):
    out = tmp_path / "perf.csv"
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "suite.py"), "--repeats", "1", "--tau-images", "16", "--dis-images", "4",
         "--train-iterations", "2", "--train-images", "16", "--paper-size", "0", "--csv", str(out),
         "--data-root", str(tmp_path / "none")],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    with open(out, newline="") as f:
        rows = {row["id"]: row for row in csv.DictReader(f)}
    flops = {f"{kind}{step}" for kind in ("5", "5b", "5s") for step in ("", "g", "d", "e")} | {"5p"}
    assert set(rows) == {
        "1",
        "1f",
        "1n",
        "2",
        "1b",
        "2b",
        "1bs",
        "3",
        "3n",
        "4",
        "4i",
        "4w",
        "4r",
        *flops,
        "7a",
        "7b",
        "7c",
        "7d",
    }
    assert rows["5b"]["goal"] == ">= 40" and "bf16 matmul peak" in rows["5b"]["setting"]
    assert float(rows["1f"]["value"]) > 1  # the 30 steps add FLOPs to the backbone's
    assert all(
        float(rows[key]["value"]) > 0 for key in ("1", "1n", "2", "1b", "2b", "1bs", "3", "3n", "4", "4i", "5p", *flops)
    )
    assert rows["3"]["goal"] == "<= 1.3" and rows["3"]["met"] in ("yes", "no")
    assert all(row["machine"] for row in rows.values())


def test_output_hashes_leave_out_the_timings_and_name_what_differs(tmp_path):
    """bench/output_hashes.py: a table that differs only in its timing columns compares equal; any other
    byte does not; runtime.csv is never compared."""
    spec = importlib.util.spec_from_file_location(
        "output_hashes", Path(__file__).resolve().parents[1] / "bench" / "output_hashes.py"
    )
    hashes = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hashes)

    def run(root, ms, value, runtime):
        (root / "tables").mkdir(parents=True)
        (root / "figures").mkdir()
        (root / "tables" / "luo2017_table4.csv").write_text(f"Method,ms_t_ts0,params_M\nDIS,{ms},{value}\n")
        (root / "tables" / "runtime.csv").write_text(runtime)
        (root / "figures" / "a.png").write_bytes(b"png")
        return hashes.hashes(root)

    before = run(tmp_path / "a", 12.5, 1.2, "1")
    assert hashes.compare(before, run(tmp_path / "b", 99.0, 1.2, "2")) == []
    assert hashes.compare(before, run(tmp_path / "c", 12.5, 1.3, "1")) == ["differs: tables/luo2017_table4.csv"]
    assert "tables/runtime.csv" not in before
