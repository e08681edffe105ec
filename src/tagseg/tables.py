"""Write one of the papers' tables as CSV: the paper's rows and columns, ours (mean, sd, seeds) beside theirs.

Each metrics JSON (from tagseg.evaluate) names the model it scored and the labels it was given;
the model's run record gives the arch and variant. Rows whose runs are not among the inputs are
written with our cells empty; metrics that match no row are an error.

    python -m tagseg.tables --table sun2018_table1 --out sun2018_table1.csv results/metrics/*/*/*/val.json
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd

from tagseg.paper import TABLES, PaperRow
from tagseg.sun2018 import VARIANTS


def row_key(metrics: dict) -> str:
    """``<arch>/<variant>`` of the model a metrics file scored, ``+classifier`` if given the classifier's labels."""
    settings = metrics["model_run"]["settings"]
    classifier = metrics.get("labels", {}).get("source") == "classifier"
    return f"{settings['arch']}/{settings['variant']}" + ("+classifier" if classifier else "")


def _labels_cell(row: PaperRow, taus: list[float]) -> str:
    """Which image labels the row's models were given at test, as the CSV's ``labels`` column says it."""
    if row.labels == "classifier":
        if len(set(taus)) > 1:
            raise ValueError(f"{row.key}: metrics at several thresholds {sorted(set(taus))}; expected one")
        return f"classifier, tau={taus[0]:g}" if taus else "classifier"
    return "ground truth" if VARIANTS[row.variant].fusion else "none"


def build_table(name: str, metrics_files: list[Path]) -> pd.DataFrame:
    """One row per paper row; for each metric: ours (mean over seeds, %), its sd, the paper's value."""
    table = TABLES[name]
    by_key: dict[str, list[dict]] = defaultdict(list)
    by_tau: dict[str, list[float]] = defaultdict(list)
    for path in metrics_files:
        try:
            metrics = json.loads(Path(path).read_text())
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}: not JSON ({error})") from None
        by_key[row_key(metrics)].append(metrics["scores"])
        if "tau" in metrics.get("labels", {}):
            by_tau[row_key(metrics)].append(metrics["labels"]["tau"])
    unknown = set(by_key) - {row.key for row in table.rows}
    if unknown:
        raise ValueError(f"{name}: metrics for {sorted(unknown)} match no row of the table")
    records = []
    for row in table.rows:
        runs = by_key.get(row.key, [])
        record: dict[str, object] = {"Method": row.label}
        record["labels"] = _labels_cell(row, by_tau.get(row.key, []))
        for column, paper_value in zip(table.columns, row.values):
            values = 100.0 * np.array([run[column] for run in runs])
            record[column] = round(float(values.mean()), 2) if runs else None
            record[f"{column}_sd"] = round(float(values.std(ddof=1)), 2) if len(runs) > 1 else None
            record[f"{column}_paper"] = paper_value
        record["seeds"] = len(runs)
        records.append(record)
    return pd.DataFrame.from_records(records)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tagseg.tables", description=__doc__.split("\n\n")[0])
    parser.add_argument("--table", required=True, choices=sorted(TABLES), help="which paper table")
    parser.add_argument("--out", required=True, help="CSV to write")
    parser.add_argument("metrics", nargs="+", type=Path, help="metrics JSON files from tagseg.evaluate")
    args = parser.parse_args(argv)
    try:
        frame = build_table(args.table, args.metrics)
    except (ValueError, KeyError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    frame.to_csv(tmp, index=False)
    tmp.replace(out)
    print(frame.to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
