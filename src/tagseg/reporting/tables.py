"""Write one of the papers' tables as CSV: the paper's rows and columns, ours (mean, sd, seeds) beside theirs.

Each metrics JSON (from tagseg.sun2018.evaluate_fcn) names the model it scored and the labels it was given;
the model's run record gives the arch and variant. Rows whose runs are not among the inputs are
written with our cells empty; metrics that match no row are an error.

    python -m tagseg.reporting.tables --table sun2018_table1 --out sun2018_table1.csv results/metrics/*/*/*/val.json
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd

from tagseg.core import io
from tagseg.core.classes import CLASSES as VOC_CLASSES
from tagseg.core.cli import command
from tagseg.reporting.papers import LUO_CLASS_COLUMNS, LUO_TABLES, TABLES, PaperRow
from tagseg.sun2018.variants import VARIANTS  # not tagseg.sun2018.network: a table job need not start torch


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


def build_table(name: str, metrics_files: list[Path], paper: bool = True) -> pd.DataFrame:
    """One row per paper row; for each metric: ours (mean over seeds, %), its sd, the paper's value (not
    with ``paper`` false: a dataset of the user's, which the paper's numbers are not about)."""
    table = TABLES[name]
    by_key: dict[str, list[dict]] = defaultdict(list)
    by_tau: dict[str, list[float]] = defaultdict(list)
    for path in metrics_files:
        metrics = _read_json(path)
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
            if paper:
                record[f"{column}_paper"] = paper_value
        record["seeds"] = len(runs)
        records.append(record)
    return pd.DataFrame.from_records(records)


def dis_run_key(metrics: dict) -> str:
    """``stage1``, ``continued`` or ``ttr<N>``: which DIS training run a tagseg.luo2017.evaluate_dis file scored."""
    settings = metrics["model_run"]["settings"]
    return f"ttr{settings['t_tr']}" if settings["stage"] == "stage2" else settings["stage"]


def build_dis_table(name: str, metrics_files: list[Path], paper: bool = True) -> pd.DataFrame:
    """luo2017 Tables 3 and 5: per row (run, t_ts), per-class IoU and mIoU (%), mean and sd over seeds.

    The class columns are the paper's (VOC's object classes) with its values beside ours; with ``paper``
    false, the dataset's own object classes, as its metrics name them, and no paper column.
    """
    table = LUO_TABLES[name]
    by_run: dict[str, list[dict]] = defaultdict(list)
    classes: list[str] | None = None
    for path in metrics_files:
        metrics = _read_json(path)
        by_run[dis_run_key(metrics)].append(metrics["by_t_ts"])
        scored = list(metrics.get("classes", VOC_CLASSES))  # a file from before class names were kept: VOC's
        if classes is not None and scored != classes:
            raise ValueError(f"{path}: scored classes {scored}, the other files {classes}")
        classes = scored
    if paper:
        columns = (*LUO_CLASS_COLUMNS, "mIoU")
    else:
        columns = (*(classes or [None])[1:], "mIoU")
    records = []
    for row in table.rows:
        runs = [read[str(row.t_ts)]["scores"] for read in by_run.get(row.run, []) if str(row.t_ts) in read]
        record: dict[str, object] = {"Method": row.label}
        for c, column in enumerate(columns):
            key = "mIoU" if column == "mIoU" else None
            values = 100.0 * np.array([run["mIoU"] if key else run["IoU"][c + 1] for run in runs], dtype=float)
            record[column] = round(float(np.nanmean(values)), 2) if runs else None
            record[f"{column}_sd"] = round(float(np.nanstd(values, ddof=1)), 2) if len(runs) > 1 else None
            if paper:
                record[f"{column}_paper"] = row.values[c]
        record["seeds"] = len(runs)
        records.append(record)
    return pd.DataFrame.from_records(records)


def build_dis_cost_table(metrics_files: list[Path], paper: bool = True) -> pd.DataFrame:
    """luo2017 Table 4's DIS row: parameters and milliseconds per image at t_ts = 0 and at the largest t_ts."""
    rows = [_read_json(path) for path in metrics_files]
    if not rows:
        raise ValueError("luo2017_table4: no evaluation files given")
    backbone = np.mean([r["ms_per_image"]["backbone"] for r in rows])
    steps_key = next(k for k in rows[0]["ms_per_image"] if k.startswith("inference_"))
    steps = int(steps_key.split("_")[1])
    inference = np.mean([r["ms_per_image"][steps_key] for r in rows])
    run = rows[0]["run"]
    frame = pd.DataFrame.from_records([{
        "Method": "DIS (ours)",
        "params_M": round(rows[0]["parameters"] / 1e6, 2), "params_M_paper": 45.5,
        "ms_t_ts0": round(float(backbone), 2), f"ms_t_ts{steps}": round(float(backbone + inference), 2),
        "speed_ms_paper": 140,
        "device": run.get("cuda_device") or f"cpu, {run.get('cpu_threads', '?')} thread(s) on {run.get('hostname')}",
        "backbone": rows[0]["model_run"]["settings"]["backbone"],
        "runs": len(rows),
    }])  # fmt: skip
    return frame if paper else frame.drop(columns=["params_M_paper", "speed_ms_paper"])


def build_dis_weak_table(metrics_files: list[Path]) -> pd.DataFrame:
    """Inference in training, measured on the weak pools: per pool and step count, the inferred labelmaps'
    mIoU against the withheld masks and the inferred tags' precision and recall against the clean tags (%,
    mean and sd over seeds), beside the weak tags' own precision and recall."""
    records = []
    for path in metrics_files:
        result = _read_json(path)
        pool = Path(result["split"]).name
        for step, read in result["by_step"].items():
            records.append({"pool": pool, "t": int(step), "labelmap_mIoU": 100 * read["labelmap_scores"]["mIoU"],
                            "tags_precision": 100 * read["tags_precision"], "tags_recall": 100 * read["tags_recall"],
                            "weak_tags_precision": 100 * result["weak_tags"]["precision"],
                            "weak_tags_recall": 100 * result["weak_tags"]["recall"]})  # fmt: skip
    if not records:
        raise ValueError("luo2017_weak: no weak-pool evaluations given")
    grouped = pd.DataFrame(records).groupby(["pool", "t"])
    table = grouped.mean().round(2)
    spread = grouped.std(ddof=1).round(2).add_suffix("_sd")
    return table.join(spread).join(grouped.size().rename("seeds")).reset_index()


def _read_json(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not JSON ({error})") from None


@command
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tagseg.reporting.tables", description=__doc__.split("\n\n")[0])
    parser.add_argument("--table", required=True, choices=sorted([*TABLES, *LUO_TABLES, "luo2017_table4", "luo2017_weak"]),
                        help="which paper table")  # fmt: skip
    parser.add_argument("--out", required=True, help="CSV to write")
    parser.add_argument("--not-run", metavar="REASON",
                        help="write the paper's rows with our cells empty and this reason in a note column"
                             " (a table whose data is not supplied, e.g. 'IDW not supplied')")  # fmt: skip
    parser.add_argument("--no-stage2", metavar="REASON",
                        help="luo2017's tables: the stage-2 rows left empty with this reason in a note column (the "
                             "dataset has no weak pool to learn from)")  # fmt: skip
    parser.add_argument("--own-data", action="store_true",
                        help="a dataset of the user's: the paper's rows, the dataset's classes, no paper values")  # fmt: skip
    parser.add_argument("metrics", nargs="*", type=Path, help="metrics JSON files from tagseg.sun2018.evaluate_fcn")
    args = parser.parse_args(argv)
    if args.not_run and args.metrics:
        raise ValueError(f"{args.table}: --not-run takes no metrics files")
    if not args.not_run and not args.metrics:
        raise ValueError(f"{args.table}: no metrics files given")
    paper = not args.own_data
    if args.not_run:
        if args.table in LUO_TABLES:
            frame = build_dis_table(args.table, [], paper)
        elif args.table in TABLES:
            frame = build_table(args.table, [], paper)
        else:  # the weak-pool and cost tables have no paper rows: one line says why there is nothing
            frame = pd.DataFrame({"table": [args.table]})
        frame["note"] = f"not run: {args.not_run}"
    elif args.table in TABLES:
        frame = build_table(args.table, args.metrics, paper)
    elif args.table in LUO_TABLES:
        frame = build_dis_table(args.table, args.metrics, paper)
        if args.no_stage2:
            runs = [row.run or "" for row in LUO_TABLES[args.table].rows]
            frame["note"] = [f"not run: {args.no_stage2}" if run.startswith("ttr") else None for run in runs]
    elif args.table == "luo2017_weak":
        frame = build_dis_weak_table(args.metrics)
    else:
        frame = build_dis_cost_table(args.metrics, paper)
    io.write_csv(args.out, frame)
    print(frame.to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
