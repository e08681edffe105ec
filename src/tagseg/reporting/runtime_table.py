"""Summarise Snakemake's benchmark files (``benchmarks/<stage>/<job>.tsv``) into one runtime table.

One row per benchmark folder (a stage of the DAG: data, train_fcn, evaluate_dis, ...; a folder
may hold several rules' jobs), the slowest first: how many jobs ran, their wall-clock seconds in total, on
average and at most, their CPU seconds and their largest resident memory; a last row ``all``
sums every job. A job benchmarked with ``repeat()`` counts with the mean of its repeats.

    python -m tagseg.reporting.runtime_table --benchmarks benchmarks --out results/tables/runtime.csv
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from tagseg.core import io
from tagseg.core.cli import command

# Snakemake's benchmark columns this table reads: wall-clock seconds, peak resident MiB, CPU seconds
COLUMNS = {"s": "seconds", "max_rss": "max_rss_mb", "cpu_time": "cpu_seconds"}


def read_benchmarks(root: str | os.PathLike) -> pd.DataFrame:
    """Every ``<root>/<stage>/<job>.tsv`` as one row: stage, job, seconds, max_rss_mb, cpu_seconds."""
    root = Path(root)
    paths = sorted(root.rglob("*.tsv"))
    if not paths:
        raise ValueError(f"{root}: no benchmark files (<stage>/<job>.tsv) found")
    records = []
    for path in paths:
        try:
            frame = pd.read_csv(path, sep="\t", na_values=["-", "NA"])
        except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError):
            frame = pd.DataFrame()
        missing = sorted(set(COLUMNS) - set(frame.columns))
        if missing or frame.empty:
            raise ValueError(f"{path}: not a Snakemake benchmark file (expected a row with columns {sorted(COLUMNS)})")
        means = frame[list(COLUMNS)].apply(pd.to_numeric, errors="coerce").mean()
        records.append({"stage": path.parent.relative_to(root).as_posix(), "job": path.stem,
                        **{name: means[column] for column, name in COLUMNS.items()}})  # fmt: skip
    return pd.DataFrame.from_records(records)


def runtime_table(jobs: pd.DataFrame) -> pd.DataFrame:
    """Per stage (the slowest first), then ``all``: jobs, total/mean/max seconds, CPU seconds, peak MiB."""

    def summary(group: pd.DataFrame) -> dict:
        return {
            "jobs": len(group),
            "total_s": group["seconds"].sum(),
            "mean_s": group["seconds"].mean(),
            "max_s": group["seconds"].max(),
            "cpu_s": group["cpu_seconds"].sum(min_count=1),
            "max_rss_mb": group["max_rss_mb"].max(),
        }

    rows = [{"stage": stage, **summary(group)} for stage, group in jobs.groupby("stage", sort=True)]
    rows.sort(key=lambda row: -row["total_s"])
    rows.append({"stage": "all", **summary(jobs)})
    table = pd.DataFrame.from_records(rows)
    table["total_h"] = table["total_s"] / 3600
    return table.round({"total_s": 1, "mean_s": 2, "max_s": 2, "cpu_s": 1, "max_rss_mb": 1, "total_h": 3}).replace(
        {np.nan: None}
    )


@command
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tagseg.reporting.runtime_table", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--benchmarks", default="benchmarks", help="folder of <stage>/<job>.tsv files")
    parser.add_argument("--out", required=True, type=Path, help="CSV to write")
    args = parser.parse_args(argv)
    table = runtime_table(read_benchmarks(args.benchmarks))
    io.write_csv(args.out, table)
    print(table.to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
