"""bfloat16 against fp32: the metric each paper table reports, per seed, from two finished default DAGs.

Run the default DAG twice from scratch, in two folders, the same seeds, on one machine, one with
``--config 'resources={precision: fp32}'`` and one with ``'resources={precision: bf16}'``; then

    python bench/precision_quality.py --fp32 RUN_FP32 --bf16 RUN_BF16 --out bench/results/precision_quality.csv

writes every row (each table row's model, each seed: the fp32 and bf16 metric and their paired
difference) and prints the summary per model family with the verdict of the rule below.

The rule, fixed before either run was looked at (and never moved after): a family's **primary row**
(:data:`PRIMARY`) is judged on the paired differences d_s = bf16_s - fp32_s over the seeds, in
points (mIoU or mAP x 100). The family passes, and ``resources.precision: auto`` runs it in bf16 on a
CPU with native bf16, when both hold:

  - the mean difference is no loss of more than 1 point: mean(d) >= -1.0, and
  - it is no loss beyond the seed-to-seed spread: mean(d) >= -sd, sd the standard deviation (n - 1)
    over the seeds of the fp32 metric.

Every other row is reported, not judged. The 95% interval of mean(d) (Student's t, n - 1 degrees of
freedom) is printed beside it; with 3 seeds it is wide, and the rule does not ask it to exclude 0.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from tagseg.reporting.papers import LUO_TABLES, TABLES  # noqa: E402
from tagseg.reporting.stats import paired_interval  # noqa: E402

MARGIN_POINTS = 1.0  # the largest mean loss a family may show

# family -> (its primary row's name, as in the rows below); chosen for being each family's first
# row in the papers' tables (Table 1's baseline and generator, Table 3's stage-1 row and its first
# stage-2 row with inference at test), and the classifier's mAP on test, which Table 4 rests on
PRIMARY = {
    "fcn": "sun2018_table1: FCN-32s (val mIoU)",
    "fcn_3step": "sun2018_table1: FCN-32s+generator (val mIoU)",
    "classifier": "classifier (test mAP)",
    "dis_stage1": "luo2017_table3: ResNet101 (test mIoU, t_ts=0)",
    "dis_stage2": "luo2017_table3: 4. t_tr = 5, t_ts = 30 (test mIoU)",
}


def _read(path: Path) -> dict:
    return json.loads(path.read_text())


def rows_of(run: Path, seeds: list[int], tau: str) -> list[dict]:
    """Every (row, seed) metric of one finished run, in points."""
    rows = []
    for table_name, table in TABLES.items():
        for row in table.rows:
            family = "fcn_3step" if row.variant in ("gen", "label_gen", "discriminator") else "fcn"
            labels = f".tau{tau}" if row.labels == "classifier" else ""
            for seed in seeds:
                path = run / f"results/metrics/{row.arch}/{row.variant}/seed{seed}/{table.split}{labels}.json"
                rows.append({"family": family, "row": f"{table_name}: {row.label} ({table.split} mIoU)", "seed": seed,
                             "value": 100 * _read(path)["scores"]["mIoU"]})  # fmt: skip
    for seed in seeds:
        rows.append({"family": "classifier", "row": "classifier (test mAP)", "seed": seed,
                     "value": 100 * _read(run / f"results/classifier/seed{seed}/test.json")["mAP"]})  # fmt: skip
    for table_name, table in LUO_TABLES.items():
        for row in table.rows:
            if row.run is None:
                continue
            family = "dis_stage1" if row.run == "stage1" else "dis_stage2"
            for seed in seeds:
                path = run / f"results/dis_metrics/{row.run}/seed{seed}/{table.split}.json"
                if not path.exists():  # a table the data source lacks (Table 5 without IDW)
                    continue
                name = f"{table_name}: {row.label} ({table.split} mIoU" + (
                    f", t_ts={row.t_ts})" if row.run == "stage1" else ")"
                )
                rows.append({"family": family, "row": name, "seed": seed,
                             "value": 100 * _read(path)["by_t_ts"][str(row.t_ts)]["scores"]["mIoU"]})  # fmt: skip
    return rows


def verdict(fp32: list[float], bf16: list[float]) -> dict:
    """The rule of this module's docstring on one row's per-seed values (same seed order)."""
    mean, low, high = paired_interval(bf16, fp32)  # the claims table's paired interval
    spread = statistics.stdev(fp32) if len(fp32) > 1 else math.nan
    passes = mean >= -MARGIN_POINTS and mean >= -spread
    return {"fp32_mean": statistics.fmean(fp32), "bf16_mean": statistics.fmean(bf16), "mean_diff": mean,
            "ci_low": low, "ci_high": high, "fp32_seed_sd": spread, "passes": passes}  # fmt: skip


def _job_minutes(run: Path, pattern: str) -> float:
    """Job-minutes of one rule's benchmark files (snakemake's benchmark: directive)."""
    return sum(pd.read_csv(p, sep="\t")["s"].iloc[0] for p in run.glob(pattern)) / 60


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fp32", type=Path, required=True, help="the fp32 run's work folder")
    parser.add_argument("--bf16", type=Path, required=True, help="the bf16 run's work folder")
    parser.add_argument("--out", type=Path, required=True, help="CSV of every row and seed")
    args = parser.parse_args(argv)
    seeds = sorted(int(p.name[4:]) for p in (args.fp32 / "results/models/fcn32s/base").glob("seed*"))
    tau = next(p.name.split(".tau")[1].removesuffix(".json")
               for p in (args.fp32 / "results/metrics/fcn32s/base").rglob("*.tau*.json"))  # fmt: skip
    for run, asked in ((args.fp32, "fp32"), (args.bf16, "bf16")):
        ran = _read(run / "results/models/fcn32s/base/seed0/run.json")["precision"]
        if ran != asked:
            raise SystemExit(f"{run}: its models ran in {ran}, not {asked}")
    a = pd.DataFrame(rows_of(args.fp32, seeds, tau)).drop_duplicates(["row", "seed"])
    b = pd.DataFrame(rows_of(args.bf16, seeds, tau)).drop_duplicates(["row", "seed"])
    both = a.merge(b, on=["family", "row", "seed"], suffixes=("_fp32", "_bf16"))
    both["diff"] = both["value_bf16"] - both["value_fp32"]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    both.round(3).to_csv(args.out, index=False)

    summary = []
    for (family, row), group in both.groupby(["family", "row"], sort=False):
        group = group.sort_values("seed")
        summary.append({"family": family, "row": row, "primary": PRIMARY[family] == row,
                        **verdict(group["value_fp32"].tolist(), group["value_bf16"].tolist())})  # fmt: skip
    table = pd.DataFrame(summary)
    missing = set(PRIMARY.values()) - set(table["row"])
    if missing:
        raise SystemExit(f"primary rows not found: {sorted(missing)}")
    table.round(2).to_csv(args.out.with_name(args.out.stem + "_summary.csv"), index=False)
    pd.set_option("display.width", 200)
    print(table[table["primary"]].round(2).to_string(index=False))
    print()
    for family, pattern in {"fcn and fcn_3step": "benchmarks/train_fcn/*.tsv", "classifier": "benchmarks/train_classifier/*.tsv",
                            "dis_stage1": "benchmarks/train_dis/stage1_*.tsv", "dis_stage2": "benchmarks/train_dis/ttr*.tsv"}.items():  # fmt: skip
        print(
            f"training job-minutes, {family}: fp32 {_job_minutes(args.fp32, pattern):.1f}, "
            f"bf16 {_job_minutes(args.bf16, pattern):.1f}"
        )
    print(
        "families that pass (auto runs them in bf16):",
        ", ".join(table[table["primary"] & table["passes"]]["family"]) or "none",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
