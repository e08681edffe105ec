"""The SLURM profile on a real single-node cluster (tests/slurm_cluster.py): the smoke DAG runs as SLURM
jobs, and a job cancelled with scancel mid-run is resubmitted and the tables come out the same.

Skipped, with the reason, where the machine cannot host the cluster (not root, no apt, packages
not installable), the executor plugin is not installed, or TAGSEG_SKIP_SLURM_TEST is set (it takes
about 6 minutes on 2 cores: every SLURM job starts Snakemake twice, the job and its step).
"""

from __future__ import annotations

import collections
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.slurm_cluster import SlurmCluster, cannot_host

ROOT = Path(__file__).resolve().parents[1]
PROFILE = ROOT / "workflow" / "profiles" / "slurm" / "config.yaml"
# the job the fault test cancels, and what its rerun has to remake
FAULT_MODEL = "results/models/fcn32s/discriminator/seed0/model.pt"
FAULT_LOG = "logs/train_fcn/fcn32s_discriminator_seed0.log"

pytestmark = pytest.mark.slurm


def gpu_rules(out: str) -> set[str]:
    """The rules whose jobs asked for a GPU, from snakemake's account of each job in its output."""
    # a rule's account ends where the next one's begins; the parts of a group job are indented
    blocks = re.findall(r"^ *(?:local)?rule (\w+):\n(.*?)(?=^ *(?:local)?rule |^\S|\Z)", out,
                        flags=re.MULTILINE | re.DOTALL)  # fmt: skip
    return {name for name, body in blocks if re.search(r"^\s*resources:.*\bgpu=1\b", body, flags=re.MULTILINE)}


def profile_settings() -> dict:
    return yaml.safe_load(PROFILE.read_text())


PARTITIONS = PROFILE.with_name(profile_settings()["slurm-partition-config"])


def partitions() -> dict[str, dict]:
    return yaml.safe_load(PARTITIONS.read_text())["partitions"]


CPU_PARTITION = next(name for name, limits in partitions().items() if limits["max_gpu"] == 0)
GPU_PARTITION = next(name for name, limits in partitions().items() if limits["max_gpu"] > 0)


@pytest.fixture(scope="module")
def cluster():
    if os.environ.get("TAGSEG_SKIP_SLURM_TEST"):
        pytest.skip("TAGSEG_SKIP_SLURM_TEST is set")
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        pytest.skip("snakemake-executor-plugin-slurm is not installed (pip install -e '.[test]')")
    reason = cannot_host()
    if reason:
        pytest.skip(f"this machine cannot host a SLURM cluster: {reason}")
    # the partitions the shipped profile names, so that the profile runs as it is
    with SlurmCluster(partitions=(CPU_PARTITION, GPU_PARTITION)) as up:
        yield up


def snakemake_through_profile(cluster: SlurmCluster, workdir: Path, *args: str, **popen) -> subprocess.Popen:
    """The smoke DAG through the shipped SLURM profile; only the memory asked for (the test node is small) and
    the first status check (the plugin's 40 s would dominate a few-second job) differ."""
    defaults = {**profile_settings()["default-resources"], "mem_mb": "1000 * attempt"}
    command = [sys.executable, "-m", "snakemake", "--workflow-profile", "workflow/profiles/slurm",
               "--configfile", "configs/smoke.yaml", "--slurm-init-seconds-before-status-checks", "5",
               "--default-resources", *(f"{key}={value}" for key, value in defaults.items()), *args]  # fmt: skip
    env = {**cluster.env, "PYTHONHASHSEED": "0"}
    return subprocess.Popen(command, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            **popen)  # fmt: skip


def finish(process: subprocess.Popen, timeout_s: float) -> str:
    try:
        out, _ = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()  # the cluster, going down, cancels its jobs
        out, _ = process.communicate()
        pytest.fail(f"snakemake through the SLURM profile took over {timeout_s:.0f} s:\n{out[-4000:]}")
    assert process.returncode == 0, out[-4000:]
    return out


def rule_of(comment: str) -> str:
    """The rule a job ran, from the comment the plugin gives it (``rule_<name>[_wildcards_<values>]``); a bundle
    of evaluations (the profile's group) is ``evaluations``."""
    name = comment.removeprefix("rule_").split("_wildcards_")[0]
    return BUNDLE if name.startswith(f"{BUNDLE}_") else name


BUNDLE = "evaluations"  # the profile's group of evaluation jobs


@pytest.fixture(scope="module")
def undisturbed(cluster, tmp_path_factory):
    """The whole smoke DAG, once, through the profile: (workdir, snakemake's output)."""
    workdir = tmp_path_factory.mktemp("slurm_dag")
    for name in ("Snakefile", "config.yaml", "configs", "workflow", "envs"):
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, workdir / name)
    return workdir, finish(snakemake_through_profile(cluster, workdir), timeout_s=1200)


def test_every_non_local_job_ran_as_a_slurm_job(cluster, undisturbed):
    workdir, out = undisturbed
    ran = collections.Counter(re.findall(r"^rule (\w+):$", out, flags=re.MULTILINE))  # "localrule x:" ran here
    bundled = re.findall(r"^    rule (\w+):$", out, flags=re.MULTILINE)  # a group job's parts
    submitted = dict(
        re.findall(r"submitted with SLURM jobid (\d+) \(log: \S*/slurm_logs/(?:rule|group)_([^/\s]+)/", out)
    )
    jobs = [job for job in cluster.sacct() if job["Comment"].startswith("rule_")]
    # the evaluations went in bundles of the profile's group-components, the rest one SLURM job each
    size = profile_settings()["group-components"][BUNDLE]
    assert all(rule.startswith("evaluate_") for rule in bundled) and len(bundled) == 18
    ran[BUNDLE] = -(-len(bundled) // size)
    assert ran and collections.Counter(rule_of(job["Comment"]) for job in jobs) == ran
    assert {job["JobID"] for job in jobs} == set(submitted)
    assert all(job["State"] == "COMPLETED" and job["ExitCode"] == "0:0" for job in jobs), jobs
    # GPU rules asked for a GPU and SLURM gave them one (the node's fake GRES); the rest had none
    asks_for_gpu = gpu_rules(out) | {BUNDLE}
    assert {"train_fcn", "evaluate_dis_stage1", "evaluate_fcn32s_base", "predict_classifier"} <= asks_for_gpu
    assert not asks_for_gpu & {"cache_split", "paper_table", "claims"}
    for job in jobs:
        assert ("gres/gpu=1" in job["AllocTRES"]) == (rule_of(job["Comment"]) in asks_for_gpu), job
        # and each went to its partition: GPU jobs to the GPU one, the rest to the CPU one
        assert job["Partition"] == (GPU_PARTITION if rule_of(job["Comment"]) in asks_for_gpu else CPU_PARTITION), job
    partitions = collections.Counter((rule_of(job["Comment"]), job["Partition"]) for job in jobs)
    print("jobs per rule and partition:", dict(sorted(partitions.items())))
    assert {"sun2018_figure3", "luo2017_figure5"} <= asks_for_gpu  # they run networks: GPU jobs, not local ones
    assert {"paper_table", "claims", "sun2018_figure4"} <= set(
        re.findall(r"^localrule (\w+):$", out, flags=re.MULTILINE)
    )

    # the outputs name the SLURM job that made them
    record = json.loads((workdir / "results/models/fcn32s/base/seed0/run.json").read_text())
    assert record["slurm_job_id"] in submitted and submitted[record["slurm_job_id"]] == "train_fcn"
    evaluated = json.loads((workdir / "results/metrics/fcn32s/base/seed0/test.json").read_text())["run"]
    assert rule_of(f"rule_{submitted[evaluated['slurm_job_id']]}") == BUNDLE
    assert len(list((workdir / "results/tables").glob("*.csv"))) >= 10


def measured_tables(workdir: Path) -> dict[str, bytes]:
    """Every table's bytes but runtime.csv's, which times the jobs (tagseg.reporting.runtime_table)."""
    return {path.name: path.read_bytes() for path in (workdir / "results/tables").glob("*.csv")
            if path.name != "runtime.csv"}  # fmt: skip


def test_a_job_cancelled_mid_run_is_resubmitted_and_the_tables_match(cluster, undisturbed):
    workdir, _ = undisturbed
    tables = measured_tables(workdir)
    (workdir / FAULT_LOG).unlink()
    rerun = snakemake_through_profile(cluster, workdir, "--forcerun", FAULT_MODEL)

    # cancel the training once it runs (its log is written from the job's first second)
    deadline, cancelled = time.monotonic() + 300, None
    while cancelled is None and time.monotonic() < deadline and rerun.poll() is None:
        for line in cluster.run("squeue", "-h", "-o", "%i|%T|%k").splitlines():
            job_id, state, comment = line.split("|", 2)
            if rule_of(comment) == "train_fcn" and state == "RUNNING" and (workdir / FAULT_LOG).exists():
                cluster.run("scancel", job_id)
                cancelled = job_id
        time.sleep(0.1)
    out = finish(rerun, timeout_s=600)
    assert cancelled, f"the training job was never seen running:\n{out[-3000:]}"

    jobs = {job["JobID"]: job for job in cluster.sacct()}
    assert jobs[cancelled]["State"].startswith("CANCELLED")
    retried = [
        job
        for job in jobs.values()
        if job["Comment"] == jobs[cancelled]["Comment"] and int(job["JobID"]) > int(cancelled)
    ]
    assert [job["State"] for job in retried] == ["COMPLETED"]
    assert json.loads((workdir / FAULT_MODEL).with_name("run.json").read_text())["slurm_job_id"] == retried[0]["JobID"]
    # the same tables as the undisturbed run, byte for byte
    assert measured_tables(workdir) == tables


class PlannedJob:
    """What the plugin's partition selection reads of a job: its name, threads and resources."""

    def __init__(self, name: str, gpu: bool):
        self.name, self.threads = name, 1
        self.resources = {"gpu": 1, "runtime": 60, "mem_mb": 8000} if gpu else {"runtime": 60, "mem_mb": 8000}


def test_the_partition_file_sends_every_gpu_job_to_the_gpu_partition(tmp_path):
    """Planned at the voc scale (with the server export), the smoke scale and a t_tr grid of the user's: the
    plugin's automatic selection, reading the profile's partition file, sends every job that asks for a GPU to
    the GPU partition and every other job to the CPU one, and each planned evaluation is in the bundles' group."""
    import logging

    from snakemake_executor_plugin_slurm.partitions import get_best_partition, read_partition_file

    for name in ("Snakefile", "config.yaml", "configs", "workflow", "envs"):
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, tmp_path / name)
    (tmp_path / "VOC2012test.tar").write_bytes(b"")  # planned only: never read
    (tmp_path / "export.yaml").write_text("data: {voc12_test_tar: VOC2012test.tar}\n")
    (tmp_path / "grid.yaml").write_text("dis: {t_tr: [0, 3, 7]}\n")
    gpu, planned, grouped = set(), set(), set()
    for configs in (["configs/voc.yaml", "export.yaml"], ["configs/smoke.yaml"], ["configs/smoke.yaml", "grid.yaml"]):
        result = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--configfile", *configs], cwd=tmp_path,
                                capture_output=True, text=True, timeout=600)  # fmt: skip
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        gpu |= gpu_rules(result.stdout)
        planned |= set(re.findall(r"^ *rule (\w+):$", result.stdout, flags=re.MULTILINE))
        grouped |= set(re.findall(r"^    rule (\w+):$", result.stdout, flags=re.MULTILINE))  # a group job's parts
    assert {"export_voc12_test_luo2017", "evaluate_dis_ttr3", "evaluate_dis_ttr7", "cache_split"} <= planned
    assert {rule for rule in planned if rule.startswith("evaluate_")} == grouped
    found = read_partition_file(PARTITIONS)
    logger = logging.getLogger("partition-selection")
    routed = {rule: get_best_partition(found, PlannedJob(rule, rule in gpu), logger) for rule in planned}
    assert {rule for rule, partition in routed.items() if partition == GPU_PARTITION} == gpu
    assert {rule for rule, partition in routed.items() if partition == CPU_PARTITION} == planned - gpu
    assert "evaluate_dis_ttr7" in gpu and "cache_split" not in gpu
    # a cluster of one partition, with GPUs, listed alone (as the file's comment says): every job goes there
    alone = tmp_path / "one_partition.yaml"
    alone.write_text(yaml.safe_dump({"partitions": {"all": {"max_gpu": 4}}}))
    assert {get_best_partition(read_partition_file(alone), PlannedJob(rule, rule in gpu), logger)
            for rule in planned} == {"all"}  # fmt: skip
