"""The runtime table: Snakemake's benchmark files summed per stage, by hand on a tiny example."""

from __future__ import annotations

import pytest

from tagseg.reporting import runtime_table

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def _benchmark(path, *rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + "".join(f"{s}\t0:00:00\t{rss}\t1\t1\t1\t0\t0\t0\t{cpu}\n" for s, rss, cpu in rows))


def test_per_stage_sums_the_slowest_first_then_all(tmp_path):
    _benchmark(tmp_path / "b" / "train_fcn" / "fcn32s_base_seed0.tsv", (10.0, 500, 9.0))
    _benchmark(tmp_path / "b" / "train_fcn" / "fcn8s_base_seed0.tsv", (30.0, 700, 28.0))
    _benchmark(tmp_path / "b" / "data" / "cache_train.tsv", (1.0, 50, 0.5), (3.0, 60, 1.5))  # repeat(): mean
    _benchmark(tmp_path / "b" / "tables" / "t.tsv", (0.5, "-", "-"))  # no memory measured: left empty
    out = tmp_path / "runtime.csv"
    assert runtime_table.main(["--benchmarks", str(tmp_path / "b"), "--out", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert lines == [
        "stage,jobs,total_s,mean_s,max_s,cpu_s,max_rss_mb,total_h",
        "train_fcn,2,40.0,20.0,30.0,37.0,700.0,0.011",
        "data,1,2.0,2.0,2.0,1.0,55.0,0.001",
        "tables,1,0.5,0.5,0.5,,,0.0",
        "all,4,42.5,10.62,30.0,38.0,700.0,0.012",
    ]


@pytest.mark.parametrize("content", ["", "seconds\n1.0\n", HEADER])
def test_a_file_that_is_not_a_benchmark_is_named(tmp_path, content, capsys):
    (tmp_path / "b" / "x").mkdir(parents=True)
    (tmp_path / "b" / "x" / "job.tsv").write_text(content)
    assert runtime_table.main(["--benchmarks", str(tmp_path / "b"), "--out", str(tmp_path / "r.csv")]) == 1
    error = capsys.readouterr().err
    assert error.startswith(f"error: {tmp_path / 'b' / 'x' / 'job.tsv'}") and error.count("\n") == 1
    assert not (tmp_path / "r.csv").exists()


def test_no_benchmarks_is_an_error(tmp_path, capsys):
    assert runtime_table.main(["--benchmarks", str(tmp_path), "--out", str(tmp_path / "r.csv")]) == 1
    assert "no benchmark files" in capsys.readouterr().err
