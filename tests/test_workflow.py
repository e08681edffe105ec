"""The Snakemake workflow: config validation before any job, lint, and the smoke DAG end to end."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest
import yaml

from tagseg.reporting.claims import known_claims
from tagseg.core.config import ConfigError, prepare_config, validate_config
from tagseg.reporting.papers import LUO_TABLES, TABLES

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def default_config() -> dict:
    return yaml.safe_load((ROOT / "config.yaml").read_text())


def test_shipped_configs_are_valid():
    validate_config(default_config(), SCHEMA)
    for path in (ROOT / "configs").glob("*.yaml"):
        merged = default_config()
        for key, value in yaml.safe_load(path.read_text()).items():
            merged[key] = {**merged.get(key, {}), **value} if isinstance(value, dict) else value
        validate_config(merged, SCHEMA)


@pytest.mark.parametrize(
    "section, key, value, message",
    [
        ("model", "backbone", "vgg19", r"'model\.backbone': 'vgg19' is not one of \['vgg16', 'vgg_tiny'\]"),
        ("train", "iterations", -5, r"'train\.iterations': -5 is less than the minimum of 1"),
        (
            "train",
            "iteratons",
            10,
            r"'train': unknown key\(s\) \['iteratons'\]; allowed: \[.*'iterations'.*\]; did you mean 'iterations'\?$",
        ),
        ("synthetic", "image_size", 0, r"'synthetic\.image_size'"),
        ("resources", "device", "gpu", r"'resources\.device'"),
    ],
)
def test_bad_values_name_the_key_and_what_is_allowed(section, key, value, message):
    config = default_config()
    config[section][key] = value
    with pytest.raises(ConfigError, match=message):
        validate_config(config, SCHEMA)


@pytest.mark.parametrize("change, message", [
    ({"iterations": 50}, r"config key '<top level>': unknown key\(s\) \['iterations'\]; .*; did you mean train\.iterations or "
                         r"classifier\.iterations or dis\.iterations\? \(a section's key goes under it: train: \{iterations: \.\.\.\}\)$"),
    ({"seeds": [2**32]}, r"config key 'seeds\.0': 4294967296 is greater than the maximum of 4294967295$"),
])  # fmt: skip
def test_a_key_out_of_its_section_or_a_seed_numpy_cannot_take_is_named(change, message):
    config = {**default_config(), **change}
    with pytest.raises(ConfigError, match=message):
        prepare_config(config, SCHEMA)


def _workdir(tmp_path: Path) -> Path:
    for name in ("Snakefile", "config.yaml", "configs", "workflow", "envs"):
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, tmp_path / name)
    return tmp_path


def _snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    return subprocess.run([*SNAKEMAKE, *args], cwd=workdir, capture_output=True, text=True, env=env, timeout=900)


def test_bad_config_fails_before_any_job(tmp_path):
    workdir = _workdir(tmp_path)
    (workdir / "bad.yaml").write_text("model:\n  backbone: vgg19\n")
    result = _snakemake(workdir, "--cores", "1", "--configfile", "bad.yaml")
    assert result.returncode != 0
    assert "config key 'model.backbone': 'vgg19' is not one of ['vgg16', 'vgg_tiny']" in result.stderr
    assert not (workdir / "data").exists() and not (workdir / "results").exists()


def test_lint_is_clean(tmp_path):
    result = _snakemake(_workdir(tmp_path), "--lint")
    assert result.returncode == 0, result.stdout + result.stderr


SMOKE = ("--cores", "2", "--resources", "gpu=2", "--configfile", "configs/smoke.yaml")


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory) -> Path:
    """The smoke DAG, run once from scratch; the tests below read its outputs."""
    workdir = _workdir(tmp_path_factory.mktemp("smoke run"))  # a space in every absolute path the rules use
    result = _snakemake(workdir, *SMOKE)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return workdir


@pytest.mark.e2e
def test_per_image_results_rescore_every_claims_measure(smoke_run):
    """Each measure a claim reads, recomputed from the evaluations' per-image counts of the real result
    files (every image drawn once), equals the number the file states: the bootstrap resamples the
    same quantity the tables report."""
    checked = set()
    for claim in known_claims([0, 5, 10, 30], [0, 10, 30]):  # the grids smoke.yaml keeps from config.yaml
        for measure in {m for pair in (*claim.comparisons, *claim.controls) for m in pair if m.source is not None}:
            path = _claims_file(smoke_run, measure.source)
            payload = json.loads(path.read_text())
            ones = np.ones((1, len(payload["image_ids"])))
            assert measure.resample(payload, ones)[0] == pytest.approx(measure.read(payload), abs=1e-9), (
                claim.id,
                path,
            )
            checked.add(measure.kind)
    assert checked == {"fcn", "sweep", "interior_gain", "best_interior", "dis", "weak"}


def _claims_file(workdir: Path, source: str) -> Path:
    """The first seed's result file behind a claims source (the workflow's get_source_files, by hand)."""
    kind, *parts = source.split("/")
    results = workdir / "results"
    if kind == "fcn":
        arch, variant, split = parts
        split, _, labels = split.partition("+")
        suffix = ".tau0.25" if labels else ""
        return results / "metrics" / arch / variant / "seed0" / f"{split}{suffix}.json"
    if kind == "sweep":
        return next((results / "sweeps").glob("*/*/seed0/*.json"))
    if kind == "dis":
        return results / "dis_metrics" / parts[0] / "seed0" / f"{parts[1]}.json"
    return results / "dis_weak" / "stage1" / "seed0" / f"{parts[0]}.json"


@pytest.mark.e2e
def test_smoke_dag_end_to_end(smoke_run):
    workdir = smoke_run
    tables = workdir / "results" / "tables"
    for name, paper_table in TABLES.items():
        table = pd.read_csv(tables / f"{name}.csv")
        assert list(table["Method"]) == [row.label for row in paper_table.rows]
        assert (table["seeds"] == 1).all() and table["mIoU"].between(0, 100).all()
    table4 = pd.read_csv(tables / "sun2018_table4.csv")
    assert list(table4["labels"][:2]) == ["none", "classifier, tau=0.25"]
    assert pd.read_csv(tables / "sun2018_table1.csv").loc[0, "mIoU_paper"] == 59.4

    for name, paper_table in LUO_TABLES.items():
        table = pd.read_csv(tables / f"{name}.csv")
        assert list(table["Method"]) == [row.label for row in paper_table.rows]
        ran = table[[row.run is not None for row in paper_table.rows]]
        assert (ran["seeds"] == 1).all() and ran["mIoU"].between(0, 100).all()
    weak = pd.read_csv(tables / "luo2017_weak.csv")
    assert sorted(set(weak["pool"])) == ["weak_clean", "weak_noisy"] and sorted(set(weak["t"])) == [0, 5, 10, 30]
    noisy = weak[weak["pool"] == "weak_noisy"].iloc[0]
    assert 0 < noisy["weak_tags_precision"] < 100 and 0 < noisy["weak_tags_recall"] < 100  # the tags are noisy
    table4 = pd.read_csv(tables / "luo2017_table4.csv")
    assert table4.loc[0, "params_M_paper"] == 45.5 and table4.loc[0, "ms_t_ts30"] > table4.loc[0, "ms_t_ts0"] > 0

    # every claim the code knows has a row; one seed gives no interval, so no claim is decided
    claims = pd.read_csv(tables / "claims.csv")
    known = known_claims([0, 5, 10, 30], [0, 10, 30])
    assert list(claims["id"]) == [claim.id for claim in known]
    assert set(claims["verdict"]) <= {"inconclusive", "not testable here"} and claims["effect"].notna().all()
    # every precondition is measured, from the real evaluations on val, and decides testability
    with_precondition = claims[claims["precondition"].notna()]
    assert set(with_precondition["id"]) == {claim.id for claim in known if claim.precondition is not None}
    assert with_precondition["precondition_measured"].between(0, 100).all()
    failed = with_precondition["precondition_measured"] < with_precondition["precondition_required"]
    assert (with_precondition["verdict"] == "not testable here").tolist() == failed.tolist()
    assert set(claims.loc[claims["kind"] == "sanity", "id"]) == {"S9", "S11", "S10s", "S12s"}

    figure4 = pd.read_csv(tables / "sun2018_figure4.csv")
    assert len(figure4) == 21 and figure4["tau"].iloc[[0, -1]].tolist() == [0.0, 1.0]
    assert figure4.loc[0, "mIoU"] == pytest.approx(figure4.loc[0, "baseline_mIoU"], abs=1e-3)  # tau = 0
    section3 = pd.read_csv(tables / "sun2018_section3.csv")
    assert section3.loc[0, "removed_nats"] == 0 and section3.loc[0, "lost_nats"] == 0
    for figure in (
        "sun2018_figure3",
        "sun2018_figure4",
        "sun2018_section3",
        "training_curves",
        "luo2017_grid",
        "luo2017_figure5",
        "claims",
    ):
        assert (workdir / "results" / "figures" / f"{figure}.png").read_bytes()[:4] == b"\x89PNG"

    metrics = json.loads((workdir / "results/metrics/fcn32s/base/seed0/test.json").read_text())
    assert metrics["model_run"]["settings"]["iterations"] == 30  # the smoke config reached the training
    assert metrics["run"]["git_commit"]
    model_dir = workdir / "results/models/fcn32s/base/seed0"
    assert (model_dir / "train_log.csv").read_text().count("\n") == 31
    assert (workdir / "logs/train_fcn/fcn32s_base_seed0.log").exists()
    assert any((workdir / "benchmarks/train_fcn").glob("*.tsv"))

    # the classifier's probabilities, once per split, with its mAP beside them
    for split in ("train", "val", "test", "weak_clean", "weak_noisy", "noisy_test"):
        probabilities = np.load(workdir / f"results/classifier/seed0/{split}.npz")["probabilities"]
        assert probabilities.shape[1] == 20
        assert 0 <= json.loads((workdir / f"results/classifier/seed0/{split}.json").read_text())["mAP"] <= 1

    # the tables' runs are the variants they name
    metrics = json.loads((workdir / "results/metrics/fcn32s/label_add/seed0/val.json").read_text())
    assert metrics["model_run"]["settings"]["variant"] == "label_add" and metrics["labels"]["source"] == "truth"
    metrics = json.loads((workdir / "results/metrics/fcn8s/gen/seed0/test.tau0.25.json").read_text())
    assert metrics["labels"] == {**metrics["labels"], "source": "classifier", "tau": 0.25, "fusion": "dot"}

    # a second run has nothing to do
    again = _snakemake(workdir, "--cores", "2", "--configfile", "configs/smoke.yaml", "--dry-run")
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr


@pytest.mark.e2e
def test_the_readmes_generated_sections_come_from_a_runs_tables(smoke_run, tmp_path):
    """`claims readme` rewrites the verdict summary, the results and the claims from a run's tables, each
    number as its CSV has it, and nothing of the README outside its markers; with a table missing it says
    which and leaves the README as it was."""
    from tagseg.reporting import claims as c
    from tagseg.reporting.readme import RESULTS_END, RESULTS_START

    readme = tmp_path / "README.md"
    shutil.copy(ROOT / "README.md", readme)
    tables = smoke_run / "results" / "tables"
    command = [sys.executable, "-m", "tagseg.reporting.claims", "readme", "--csv", str(tables / "claims.csv"),
               "--readme", str(readme)]  # fmt: skip
    assert subprocess.run(command, capture_output=True, text=True).returncode == 0
    before, after = (ROOT / "README.md").read_text(), readme.read_text()
    markers = [(c.SUMMARY_START, c.SUMMARY_END), (RESULTS_START, RESULTS_END), (c.README_START, c.README_END)]

    def outside(text: str) -> list[str]:
        parts = []
        for start, end in markers:
            head, text = text.split(start, 1)
            parts.append(head)
            text = text.split(end, 1)[1]
        return parts + [text]

    assert outside(after) == outside(before)
    results = after.split(RESULTS_START, 1)[1].split(RESULTS_END, 1)[0]
    fcn = pd.read_csv(tables / "sun2018_table1.csv").iloc[0]

    def ours(row) -> str:  # one seed has no sd
        return f"{row.mIoU:.1f}" if pd.isna(row.mIoU_sd) else f"{row.mIoU:.1f} ± {row.mIoU_sd:.1f}"

    assert f"| Table 1 (val, ground-truth labels) | FCN-32s | none | {ours(fcn)} | 59.4 |" in results
    best = pd.read_csv(tables / "luo2017_table3.csv").iloc[-1]
    assert f"|  | {best.Method} | {ours(best)} | 86.8 |" in results  # under Table 3's first row
    seeds = int(fcn.seeds)
    named = f"{seeds} seed" + ("s" if seeds > 1 else "")
    assert f"({named})" in results and f"{named}," in after.split(c.SUMMARY_START, 1)[1]

    (tmp_path / "few").mkdir()
    shutil.copy(tables / "claims.csv", tmp_path / "few" / "claims.csv")
    failed = subprocess.run([*command[:5], str(tmp_path / "few" / "claims.csv"), *command[6:]], capture_output=True,
                            text=True)  # fmt: skip
    assert failed.returncode != 0 and "sun2018_table1.csv" in failed.stderr and readme.read_text() == after


def _tables_and_figures(workdir: Path) -> list[str]:
    return [p.relative_to(workdir).as_posix() for p in sorted((workdir / "results").glob("*/*"))
            if p.parent.name in ("tables", "figures")]  # fmt: skip


def _report_data(html: str, name: str) -> dict:
    """A JSON object the report's page defines as ``var <name> = {...};``."""
    return json.loads(re.search(rf"\b{name} = (\{{.*?\}});\n", html, re.S).group(1))


@pytest.mark.e2e
def test_report_holds_every_table_and_figure_with_its_caption(smoke_run):
    result = _snakemake(smoke_run, "--configfile", "configs/smoke.yaml", "--report", "report.html")
    assert result.returncode == 0, result.stderr[-3000:]
    html = (smoke_run / "report.html").read_text()
    categories, entries = _report_data(html, "categories"), _report_data(html, "results")

    outputs = _tables_and_figures(smoke_run)
    assert sorted(entries) == outputs and "results/tables/runtime.csv" in outputs
    for path, entry in entries.items():  # each file itself, embedded
        assert base64.b64decode(entry["data_uri"].split("base64,", 1)[1]) == (smoke_run / path).read_bytes()

    # by paper and element; the report lists categories by name, and Claims comes first
    assert sorted(categories, key=str.casefold) == ["Claims", "luo2017", "sun2018", "Workflow runtime"]
    assert categories["Claims"] == {"Claims": ["results/tables/claims.csv", "results/figures/claims.png"]}
    assert categories["sun2018"]["Table 1"] == ["results/tables/sun2018_table1.csv"]
    assert sorted(categories["luo2017"]["Table 3"]) == [
        "results/figures/luo2017_grid.png", "results/tables/luo2017_grid.csv", "results/tables/luo2017_table3.csv"
    ]  # fmt: skip
    for paper in ("sun2018", "luo2017"):
        for element, paths in categories[paper].items():
            for path in paths:  # every caption names the paper element it reproduces, in rendered rst
                caption = entries[path]["caption"]
                assert "system-message" not in caption, (path, caption)
                assert element == "Training curves" or f"{paper} {element}" in caption, (path, caption)

    runtime = pd.read_csv(smoke_run / "results/tables/runtime.csv")
    assert runtime["stage"].iloc[-1] == "all" and {"train_fcn", "train_dis", "evaluate_fcn"} <= set(runtime["stage"])
    assert runtime["jobs"].iloc[-1] == len(list((smoke_run / "benchmarks").rglob("*.tsv")))


def _kill_a_training_job(process: subprocess.Popen, workdir: Path, rng: random.Random) -> Path:
    """SIGKILL one FCN training job of a running DAG a random moment soon after its first checkpoint; its run folder.

    The smoke FCNs train 30 iterations and checkpoint at the 5th: the kill lands within a quarter
    second of it, well before the job's last iteration (a kill after its last write would find
    nothing to resume; the DIS and classifier jobs are too short to leave that margin).
    """
    while process.poll() is None:
        checkpoints = sorted(workdir.glob("results/models/**/checkpoint.pt"))
        if checkpoints:
            run = rng.choice(checkpoints).parent.relative_to(workdir)
            time.sleep(rng.uniform(0, 0.25))
            with contextlib.suppress(psutil.Error):
                for job in psutil.Process(process.pid).children(recursive=True):
                    args = job.cmdline()  # the python process itself, not the shell that started it
                    if "--out-dir" in args and args[args.index("--out-dir") + 1] == str(run):
                        job.kill()
                        return run
        time.sleep(0.05)
    raise AssertionError("the run ended before any training job could be killed")


@pytest.mark.e2e
def test_a_run_with_a_killed_training_job_ends_byte_identical(smoke_run, tmp_path):
    """A second smoke run from scratch, one of its training jobs killed (SIGKILL) at a random step,
    then the same command again: the job resumes from its checkpoint, and every table and figure
    equals the undisturbed first run's, byte for byte (timings aside)."""
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    workdir = _workdir(tmp_path)
    with open(workdir / "killed_run.log", "w") as log:
        process = subprocess.Popen([*SNAKEMAKE, *SMOKE], cwd=workdir, stdout=log, stderr=subprocess.STDOUT,
                                   env={**os.environ, "PYTHONHASHSEED": "0"})  # fmt: skip
        try:
            run = _kill_a_training_job(process, workdir, rng)
            assert process.wait(timeout=900) != 0, "snakemake did not see its job die"
        finally:
            if process.poll() is None:
                process.kill()
    where = f"killed {run} (test seed {seed})"
    # snakemake removed the failed job's outputs; the checkpoint beside them is not one
    assert (workdir / run / "checkpoint.pt").exists() and not (workdir / run / "model.pt").exists(), where

    again = _snakemake(workdir, *SMOKE, "--rerun-incomplete")
    assert again.returncode == 0, again.stderr[-3000:]
    logs = "".join(path.read_text() for path in (workdir / "logs").rglob("*.log"))
    resumed = re.search(rf"resuming from {re.escape(str(run / 'checkpoint.pt'))} at iteration (\d+)", logs)
    assert resumed and int(resumed.group(1)) >= 5, where  # smoke checkpoints every 5 iterations

    outputs = _tables_and_figures(smoke_run)
    assert _tables_and_figures(workdir) == outputs
    for path in outputs:  # wall-clock measurements aside: runtime.csv, and luo2017 Table 4's milliseconds
        if path.endswith("luo2017_table4.csv"):
            costs = [pd.read_csv(d / path) for d in (smoke_run, workdir)]
            pd.testing.assert_frame_equal(*(c.drop(columns=[k for k in c if k.startswith("ms_")]) for c in costs))
        elif not path.endswith("runtime.csv"):
            assert (smoke_run / path).read_bytes() == (workdir / path).read_bytes(), f"{path}: {where}"


def _schema_defaults(section: str) -> dict:
    schema = yaml.safe_load(SCHEMA.read_text())
    return {
        key: spec["default"] for key, spec in schema["properties"][section]["properties"].items() if "default" in spec
    }


@pytest.mark.parametrize("settings, sections", [
    ("tagseg.sun2018.train_fcn.TrainConfig", ("train", "model")),
    ("tagseg.sun2018.train_classifier.ClassifierConfig", ("classifier", "model")),
    ("tagseg.luo2017.train_dis.DISTrainConfig", ("dis",)),
    ("tagseg.sun2018.evaluate_fcn.EvalConfig", ("eval",)),
    ("tagseg.data.synthetic.SyntheticConfig", ("synthetic",)),
])  # fmt: skip
def test_the_schemas_defaults_are_the_settings_dataclasses(settings, sections):
    """Every default lives in the schema; a settings class run by hand (its --help) gets the same values."""
    import dataclasses
    import importlib

    module, name = settings.rsplit(".", 1)
    cls = getattr(importlib.import_module(module), name)
    defaults = {f.name: f.default for f in dataclasses.fields(cls)}
    schema = {key: value for section in sections for key, value in _schema_defaults(section).items()
              if key not in ("t_tr", "t_ts", "step_size", "step_size_grid")}  # fmt: skip
    # the grids: each run gets one t_tr from its rule; the step size: chosen on val, read from its file
    shared = sorted(set(schema) & set(defaults))
    assert len(shared) >= min(len(schema), len(defaults)) - 3  # the sections map onto the fields
    assert {key: list(defaults[key]) if isinstance(defaults[key], tuple) else defaults[key] for key in shared} == {
        key: schema[key] for key in shared
    }
    resources = _schema_defaults("resources")
    if "device" in defaults:
        assert defaults["device"] == resources["device"] and defaults["threads"] == resources["train_threads"]


def test_the_rules_read_no_fallbacks():
    """Defaults come from the schema (filled in before any rule reads the config), never from the rules."""
    text = "".join(path.read_text() for path in (ROOT / "workflow" / "rules").glob("*.smk"))
    assert re.findall(r"config\[[^\n]*\.get\(", text) == []


# Configs the schema allows that once broke the DAG while planning or mid-run: each must plan.
EDGE_CONFIGS = {
    "no inference in training": "dis: {t_tr: [0]}",
    "one t_tr, none of Figure 5's": "dis: {t_tr: [1], t_ts: [0, 2]}",
    "one t_ts": "dis: {t_ts: [0]}",
    "one seed": "seeds: [4]",
    "two thresholds": "sun2018: {taus: 2, tau: 1.0}",
}


@pytest.mark.parametrize("name", EDGE_CONFIGS)
def test_schema_valid_edge_configs_plan(tmp_path, name):
    workdir = _workdir(tmp_path)
    (workdir / "edge.yaml").write_text(EDGE_CONFIGS[name] + "\n")
    result = _snakemake(workdir, "--configfile", "configs/smoke.yaml", "edge.yaml", "-n", "-p")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    if name == "one t_tr, none of Figure 5's":
        assert re.search(r"dis_examples .*--model 1 2 results/dis/ttr1/seed0/model\.pt", result.stdout)


def test_every_model_is_evaluated_by_one_job_per_seed(tmp_path):
    """The default DAG's evaluation jobs: one per trained model and seed, writing every result of that model."""
    result = _snakemake(_workdir(tmp_path), "-n")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    blocks = re.findall(
        r"^ *(?:local)?rule (evaluate_\w+):\n(.*?)(?=^ *(?:local)?rule |^\S|\Z)",
        result.stdout,
        flags=re.MULTILINE | re.DOTALL,
    )
    models = {}
    for rule, body in blocks:
        outputs = re.search(r"^\s*output: (.*)$", body, flags=re.MULTILINE)[1].split(", ")
        # results/<kind>/<arch>/<variant>/seed<N>/<name>.json, results/<kind>/<run>/seed<N>/<name>.json
        owners = {re.sub(r"^results/\w+/", "", str(Path(path).parent)) for path in outputs}
        assert len(owners) == 1, (rule, owners)  # one model's results, whatever their kind
        model = owners.pop()
        assert model not in models, f"{model} is evaluated by {models[model]} and {rule}"
        models[model] = rule
    # 8 FCN models of the paper's, 3 compute-matched controls and 1 sensitivity row; 5 DIS runs and stage 2's control
    assert len(models) == len(blocks) == 3 * (8 + 3 + 1 + 5 + 1)
    assert models["fcn32s/label_gen/seed0"] == "evaluate_fcn32s_label_gen"
    assert models["stage1/seed2"] == "evaluate_dis_stage1" and models["continued/seed0"] == "evaluate_dis_continued"
    assert models["fcn8s/base_2x/seed1"] == "evaluate_fcn8s_base_2x"


@pytest.mark.parametrize("config, message", [
    ("synthetic: {min_objects: 4, max_objects: 2}", "config keys 'synthetic.min_objects', 'synthetic.max_objects': 4 > 2"),
    ("sun2018: {tau: 0.33}", "config keys 'sun2018.tau', 'sun2018.taus': tau 0.33 is not one of the 21 thresholds"),
    ("data: {source: voc, root: data/voc}\ndownloads: {voc_root: nowhere}", "config key 'downloads.voc_root': nowhere holds no VOCdevkit/VOC2012"),
    ("data: {source: synthetic, root: data/s, idw: data/idw}", "config keys 'data.idw', 'data.source': idw is read only from VOC data"),
    ("dis: {scale_range: [1.5, 0.5]}", "config key 'dis.scale_range': [1.5, 0.5] runs from high to low"),
    ("dis: {stage1_steps: [0, 0, 0]}", "config key 'dis.stage1_steps': [0, 0, 0] trains stage 1 for no iteration"),
])  # fmt: skip
def test_values_that_do_not_go_together_are_refused_before_any_job(tmp_path, config, message):
    workdir = _workdir(tmp_path)
    (workdir / "bad.yaml").write_text(config + "\n")
    result = _snakemake(workdir, "-n", "--configfile", "bad.yaml")  # a dry run: planning is where it must stop
    assert result.returncode != 0 and message in result.stdout + result.stderr, result.stdout[-2000:]


def test_voc_root_one_level_too_deep_names_the_right_folder(tmp_path):
    (tmp_path / "work").mkdir()
    workdir = _workdir(tmp_path / "work")
    (tmp_path / "pascal" / "VOCdevkit" / "VOC2012").mkdir(parents=True)
    deep = tmp_path / "pascal" / "VOCdevkit"
    (workdir / "bad.yaml").write_text(f"data: {{source: voc, root: data/voc}}\ndownloads: {{voc_root: {deep}}}\n")
    result = _snakemake(workdir, "-n", "--configfile", "bad.yaml")
    assert result.returncode != 0 and f"did you mean {tmp_path / 'pascal'}?" in result.stdout + result.stderr, (
        result.stdout[-2000:]
    )


@pytest.mark.parametrize("override", ["seeds=[0,1,2,3,4]", "train={iterations: 7, lr: 1e-3, scale_range: [0.5, 2]}"])
def test_nested_command_line_values_plan(tmp_path, override):
    """snakemake --config hands nested values over as text: the README's own examples plan."""
    workdir = _workdir(tmp_path)
    result = _snakemake(workdir, "-n", "--config", override, "--configfile", "configs/smoke.yaml")
    assert result.returncode == 0, result.stderr[-2000:]


def test_nested_command_line_values_take_the_schema_types():

    config = {
        **default_config(),
        "seeds": ["0", "1"],
        "train": {"iterations": "7", "lr": "1e-3"},
        "model": {"pretrained": "x"},
    }
    config["data"] = {**config["data"], "idw": "null"}
    with pytest.raises(
        ConfigError, match="'model.pretrained': 'x' is not of type 'boolean'"
    ):  # text of no schema type stays text
        prepare_config(config, SCHEMA)
    config["model"]["pretrained"] = "false"
    prepare_config(config, SCHEMA)
    assert config["seeds"] == [0, 1] and config["train"]["iterations"] == 7 and config["train"]["lr"] == 1e-3
    assert config["data"]["idw"] is None and config["model"]["pretrained"] is False


def _shell_commands(stdout: str) -> list[list[str]]:
    """Each planned job's command (snakemake -n -p), split as the shell splits it."""
    import shlex

    return [shlex.split(line.removeprefix("Shell command:")) for line in stdout.splitlines()
            if line.startswith("Shell command:")]  # fmt: skip


@pytest.mark.parametrize("source", ["synthetic", "voc"])
def test_paths_with_spaces_and_quotes_reach_every_command_whole(tmp_path, source):
    """A folder named as people name them ("My Data/it's v2") is one argument in every command."""
    workdir = _workdir(tmp_path)
    root, data_dir = "My Data/it's v2", "raw data/VOC (2012)"
    settings = {"data": {"root": root}, "downloads": {"data_dir": data_dir}}
    if source == "voc":
        settings["data"] = {"source": "voc", "root": root, "idw": "the idw"}
        (workdir / "the idw").mkdir()
        (workdir / "the idw" / "tags.txt").write_text("")
    (workdir / "paths.yaml").write_text(yaml.safe_dump(settings))
    configs = ["configs/voc.yaml", "paths.yaml"] if source == "voc" else ["configs/smoke.yaml", "paths.yaml"]
    result = _snakemake(workdir, "-n", "-p", "--configfile", *configs)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    commands = _shell_commands(result.stdout)
    assert len(commands) > 20
    for tokens in commands:
        for token in tokens:  # a split path would leave a piece such as "v2/cache/train" or "Data/it's"
            for path in (root, data_dir, "the idw"):
                for piece in path.split(" ")[1:]:
                    assert not token.startswith(piece), (token, tokens)
    arguments = {token for tokens in commands for token in tokens}
    assert f"{root}/cache/train" in arguments or f"{root}/cache/trainaug" in arguments
    if source == "voc":
        assert f"{data_dir}/archives/seg11valid.txt" in arguments and "the idw" in arguments


def test_home_and_variables_in_paths_are_read_as_a_shell_would(tmp_path):
    from tagseg.core.config import expand_paths

    config = {"data": {"root": "$SCRATCH/tagseg", "idw": "${SCRATCH}/idw", "voc12_test_tar": None},
              "downloads": {"data_dir": "~/resources", "voc_root": None}}  # fmt: skip
    expand_paths(config, {"SCRATCH": "/scratch/me", "HOME": "/home/me"})
    assert config["data"] == {"root": "/scratch/me/tagseg", "idw": "/scratch/me/idw", "voc12_test_tar": None}
    assert config["downloads"]["data_dir"] == "/home/me/resources"
    with pytest.raises(ConfigError, match=r"config key 'data.root': \$NOPE/x uses \$NOPE, which is not set"):
        expand_paths({"data": {"root": "$NOPE/x", "idw": None, "voc12_test_tar": None},
                      "downloads": {"data_dir": "d", "voc_root": None}}, {})  # fmt: skip

    (tmp_path / "work").mkdir()
    workdir = _workdir(tmp_path / "work")
    (tmp_path / "scratch").mkdir()
    (workdir / "paths.yaml").write_text("data: {root: $TAGSEG_SCRATCH/synthetic}\n")
    env = {**os.environ, "TAGSEG_SCRATCH": str(tmp_path / "scratch")}
    plan = subprocess.run([*SNAKEMAKE, "-n", "-p", "--configfile", "configs/smoke.yaml", "paths.yaml"], cwd=workdir,
                          capture_output=True, text=True, env=env, timeout=600)  # fmt: skip
    assert plan.returncode == 0, plan.stderr[-2000:]
    assert f"--out {tmp_path / 'scratch' / 'synthetic'} " in plan.stdout
    env.pop("TAGSEG_SCRATCH")
    refused = subprocess.run([*SNAKEMAKE, "-n", "--configfile", "configs/smoke.yaml", "paths.yaml"], cwd=workdir,
                             capture_output=True, text=True, env=env, timeout=600)  # fmt: skip
    assert (
        refused.returncode != 0
        and "config key 'data.root': $TAGSEG_SCRATCH/synthetic uses $TAGSEG_SCRATCH" in refused.stdout + refused.stderr
    )


def test_a_yaml_1_1_exponent_is_a_number(tmp_path):

    config = {**default_config(), **yaml.safe_load("train: {lr: 1e-3}\nclassifier: {weight_decay: 5e-4}")}
    assert config["train"]["lr"] == "1e-3"  # what PyYAML reads
    prepare_config(config, SCHEMA)
    assert config["train"]["lr"] == 1e-3 and config["classifier"]["weight_decay"] == 5e-4
