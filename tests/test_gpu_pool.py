"""The GPU pool, on faked device lists (CUDA_VISIBLE_DEVICES): one device per process, freed by kill -9."""

from __future__ import annotations

import io
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tagseg.core import gpu_pool

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"


@pytest.fixture(autouse=True)
def _release_claims():
    """A claim made in this process would otherwise outlive its test (the pool keeps it for the process's life)."""
    yield
    for fd in gpu_pool._held.values():
        os.close(fd)
    gpu_pool._held.clear()


def pool_env(lock_dir: Path, devices: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("SLURM_")}
    env.update(CUDA_VISIBLE_DEVICES=devices, TAGSEG_GPU_LOCK_DIR=str(lock_dir), PYTHONPATH=str(SRC))
    return env


def start_holder(lock_dir: Path, devices: str, seconds: float) -> subprocess.Popen:
    """A process that claims a device as a GPU script does, says which once it holds it, then sleeps."""
    code = textwrap.dedent(f"""
        import os, time
        from tagseg.core.gpu_pool import claim_device
        claim_device("auto", timeout_s=60)
        print(os.environ["CUDA_VISIBLE_DEVICES"], flush=True)
        time.sleep({seconds})
    """)
    holder = subprocess.Popen([sys.executable, "-c", code], env=pool_env(lock_dir, devices), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)  # fmt: skip
    assert holder.stdout.readline().strip(), holder.stderr.read()
    return holder


def test_pool_from_cuda_visible_devices_or_the_device_count():
    assert gpu_pool.visible_devices({"CUDA_VISIBLE_DEVICES": "1,3"}) == ["1", "3"]
    assert gpu_pool.visible_devices({"CUDA_VISIBLE_DEVICES": "GPU-4f2a,GPU-9c01"}) == ["GPU-4f2a", "GPU-9c01"]
    assert gpu_pool.visible_devices({"CUDA_VISIBLE_DEVICES": "0,-1,2"}) == ["0"]  # CUDA stops at an invalid entry
    assert gpu_pool.visible_devices({"CUDA_VISIBLE_DEVICES": ""}) == []
    assert gpu_pool.visible_devices({}, count_devices=lambda: 3) == ["0", "1", "2"]
    assert gpu_pool.visible_devices({}, count_devices=lambda: 0) == []


@pytest.mark.parametrize(
    "requested, environ",
    [
        ("auto", {"CUDA_VISIBLE_DEVICES": "0,1", "SLURM_JOB_ID": "42"}),  # the scheduler chose already
        ("cpu", {"CUDA_VISIBLE_DEVICES": "0,1"}),
        ("cuda:1", {"CUDA_VISIBLE_DEVICES": "0,1"}),  # a device the user numbered
        ("auto", {"CUDA_VISIBLE_DEVICES": ""}),  # no GPU
        ("cuda", {"CUDA_VISIBLE_DEVICES": "-1"}),
    ],
)
def test_steps_aside(tmp_path, requested, environ):
    before = dict(environ)
    assert gpu_pool.claim_device(requested, environ=environ, lock_dir=tmp_path) is None
    assert environ == before and not list(tmp_path.iterdir())  # no lock taken, nothing changed


def test_steps_aside_without_gpus(tmp_path):
    assert gpu_pool.claim_device("auto", devices=[], environ={}, lock_dir=tmp_path) is None


def test_claim_sets_cuda_visible_devices_and_is_held_for_the_process(tmp_path):
    environ = {"CUDA_VISIBLE_DEVICES": "4,5"}
    log = io.StringIO()
    assert gpu_pool.claim_device("cuda", environ=environ, lock_dir=tmp_path, log=log) == "4"
    assert environ["CUDA_VISIBLE_DEVICES"] == "4" and "claimed device 4 of 4,5" in log.getvalue()
    # asked again (a second setup() in the same job), the process keeps its device
    assert gpu_pool.claim_device("auto", environ=environ, lock_dir=tmp_path) == "4"
    assert gpu_pool.holders(tmp_path, ["4", "5"]) == {"4": f"pid {os.getpid()}", "5": None}


def test_n_processes_over_k_devices_never_share_one(tmp_path):
    # each job marks its device busy with an exclusive create while it runs; a second user of the
    # same device at the same time would find the mark and fail
    job = textwrap.dedent(f"""
        import os, sys, time
        device = os.environ["CUDA_VISIBLE_DEVICES"]
        mark = os.path.join({str(tmp_path)!r}, "busy" + device)
        try:
            os.close(os.open(mark, os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            sys.exit(f"device {{device}} shared")
        time.sleep(0.3)
        os.unlink(mark)
        print(device)
    """)
    locks = tmp_path / "locks"
    jobs = [
        subprocess.Popen([sys.executable, "-m", "tagseg.core.gpu_pool", "run", "--timeout-s", "60", "--", sys.executable, "-c", job],
                         env=pool_env(locks, "0,1"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(6)
    ]  # fmt: skip
    results = [job.communicate(timeout=120) for job in jobs]
    assert all(job.returncode == 0 for job in jobs), [err for _, err in results]
    used = [out.strip() for out, _ in results]
    assert sorted(set(used)) == ["0", "1"] and len(used) == 6
    assert sum("waiting" in err for _, err in results) >= 1  # 6 jobs, 2 devices: some waited, and said so


def test_a_killed_holder_frees_its_device(tmp_path):
    holder = start_holder(tmp_path, "0", seconds=60)
    try:
        with pytest.raises(gpu_pool.NoFreeDevice, match=rf"no free device after .* held: 0 \(pid {holder.pid}\)"):
            gpu_pool.claim_device("auto", environ={"CUDA_VISIBLE_DEVICES": "0"}, lock_dir=tmp_path, timeout_s=0.3,
                                  poll_s=0.1, log=io.StringIO())  # fmt: skip
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
        log = io.StringIO()
        environ = {"CUDA_VISIBLE_DEVICES": "0"}
        assert gpu_pool.claim_device("auto", environ=environ, lock_dir=tmp_path, timeout_s=10, log=log) == "0"
        assert "waiting" not in log.getvalue()  # free at once: no stale lock left behind
    finally:
        holder.kill()
        holder.wait()


def test_a_full_pool_waits_for_a_device_and_says_so(tmp_path):
    holder = start_holder(tmp_path, "7", seconds=1)
    try:
        log = io.StringIO()
        device = gpu_pool.claim_device("auto", environ={"CUDA_VISIBLE_DEVICES": "7"}, lock_dir=tmp_path, timeout_s=60,
                                       poll_s=0.1, log=log)  # fmt: skip
        assert device == "7" and holder.wait(timeout=30) == 0
        assert f"every device is taken (7 (pid {holder.pid}))" in log.getvalue() and "after waiting" in log.getvalue()
    finally:
        holder.kill()
        holder.wait()


def test_gpu_scripts_claim_through_runtime_setup(tmp_path):
    # two jobs' setup() over a faked pool of two: each sees only its own device
    code = "import os; from tagseg.core import runtime; runtime.setup(0, 1, 'auto'); print(os.environ['CUDA_VISIBLE_DEVICES'])"
    env = pool_env(tmp_path, "0,1")
    first = subprocess.Popen([sys.executable, "-c", code + "; import time; time.sleep(30)"], env=env,
                             stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert first.stdout.readline().strip() == "0"
        second = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
        assert second.stdout.strip() == "1", second.stderr
        under_slurm = subprocess.run([sys.executable, "-c", code], env={**env, "SLURM_JOB_ID": "7"},
                                     capture_output=True, text=True, timeout=120)  # fmt: skip
        assert under_slurm.stdout.strip() == "0,1"  # left as the scheduler set it
    finally:
        first.kill()
        first.wait()


def test_the_default_profile_runs_one_gpu_job_at_a_time(tmp_path):
    # the repository's profiles, found as snakemake finds them: profiles/default beside the Snakefile
    shutil.copytree(ROOT / "workflow" / "profiles", tmp_path / "workflow" / "profiles")
    (tmp_path / "profiles").symlink_to("workflow/profiles")
    # three GPU jobs that fail if they ever run side by side
    (tmp_path / "Snakefile").write_text(
        textwrap.dedent("""
        rule all:
            input: expand("out/{i}.txt", i=range(3))
        rule gpu_job:
            output: "out/{i}.txt"
            resources: gpu=1
            shell: "mkdir busy && sleep 0.5 && rmdir busy && touch {output}"
    """)
    )
    result = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "3"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Using workflow specific profile profiles/default" in result.stderr
    assert len(list((tmp_path / "out").iterdir())) == 3


def test_the_repository_snakefile_finds_the_default_profile():
    assert (
        ROOT / "profiles" / "default" / "config.yaml"
    ).resolve() == ROOT / "workflow" / "profiles" / "default" / "config.yaml"


def test_a_bad_wait_limit_names_the_variable(tmp_path):
    environ = {"CUDA_VISIBLE_DEVICES": "0", "TAGSEG_GPU_WAIT_S": "soon"}
    with pytest.raises(ValueError, match=r"TAGSEG_GPU_WAIT_S: expected a number of seconds >= 0, got 'soon'"):
        gpu_pool.claim_device("auto", environ=environ, lock_dir=tmp_path)


def test_a_lock_folder_that_cannot_hold_locks_names_the_variable(tmp_path):
    (tmp_path / "a file").write_text("")
    environ = {"CUDA_VISIBLE_DEVICES": "0", "TAGSEG_GPU_LOCK_DIR": str(tmp_path / "a file")}
    with pytest.raises(OSError, match=rf"gpu pool: {re.escape(str(tmp_path / 'a file'))}: cannot hold the lock files "
                                      r"\(.*\); set TAGSEG_GPU_LOCK_DIR to a folder this user can write"):  # fmt: skip
        gpu_pool.claim_device("auto", environ=environ)
