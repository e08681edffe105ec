"""A real single-node SLURM cluster on this machine, for tests: up, use, down, leaving nothing behind.

Debian's munge, slurmctld, slurmd and slurmdbd (with a private MariaDB, so that ``sacct``
answers), one node with this machine's CPUs and two fake GPUs offered as GRES (symlinks to
/dev/null: SLURM schedules them and sets CUDA_VISIBLE_DEVICES; torch sees no GPU and jobs run on
the CPU). Everything lives in a private temp folder: keys, sockets, databases, state, logs, on
ports picked free. The one thing outside it is ``/etc/slurm/slurm.conf``, a symlink to the
generated file (a job step drops ``SLURM_CONF`` before ``srun``, which then finds no config);
it is made only where none exists and removed again.

Each daemon runs in the foreground as a child of the process that brought the cluster up (and
dies with it, by ``PR_SET_PDEATHSIG``); going down stops exactly those, then kills whatever still
carries this cluster's marker in its environment (job steps and their jobs).

    python -m tests.slurm_cluster check            # can this machine host one? (root, apt, packages)
    python -m tests.slurm_cluster run -- COMMAND   # bring one up, run COMMAND with SLURM_CONF set, bring it down

Facts behind the settings: /work/shared/notes/slurm.md (measured on this kind of machine).
"""

from __future__ import annotations

import argparse
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PACKAGES = ["slurmctld", "slurmd", "slurm-client", "slurmdbd", "munge", "mariadb-server"]
PROGRAMS = ["munged", "slurmctld", "slurmd", "slurmdbd", "mariadbd", "mariadb-install-db", "sbatch", "srun",
            "squeue", "sacct", "scancel", "scontrol", "sinfo"]  # fmt: skip
SYSTEM_CONF = Path("/etc/slurm/slurm.conf")
MARKER = "TAGSEG_SLURM_CLUSTER"  # set in every daemon's and job's environment: what going down may kill
FAKE_GPUS = 2


def missing_programs() -> list[str]:
    return [program for program in PROGRAMS if shutil.which(program) is None]


def install_packages(timeout_s: float = 600) -> str | None:
    """apt-get install the packages (``apt-get update`` first only if needed); the reason it failed, or None."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *PACKAGES]
    for step in ([install], [["apt-get", "update", "-q"], install]):
        try:
            results = [subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout_s)
                       for command in step]  # fmt: skip
        except subprocess.TimeoutExpired:
            return f"apt-get took over {timeout_s:.0f} s"
        if all(result.returncode == 0 for result in results) and not missing_programs():
            return None
    tail = (results[-1].stderr or results[-1].stdout).strip().splitlines()[-1:]
    return f"apt-get install {' '.join(PACKAGES)} failed: {' '.join(tail) or 'programs still missing'}"


def cannot_host(install: bool = True) -> str | None:
    """Why this machine cannot host the cluster (not root, no apt, packages not installable...), or None."""
    if sys.platform != "linux":
        return "needs Linux"
    if os.geteuid() != 0:
        return "needs root (the daemons run as root and /etc/slurm/slurm.conf must be written)"
    if SYSTEM_CONF.exists():
        if _is_ours(SYSTEM_CONF) and _is_up(Path(os.readlink(SYSTEM_CONF)).parent):
            # /etc/slurm/slurm.conf can point at one cluster only
            return f"another test cluster is up ({os.readlink(SYSTEM_CONF)}); one at a time"
        if not _is_ours(SYSTEM_CONF):
            return f"{SYSTEM_CONF} exists: this machine has a SLURM configuration of its own"
    if missing_programs():
        if shutil.which("apt-get") is None:
            return f"needs {', '.join(missing_programs())} and there is no apt-get to install them"
        if not install:
            return f"needs {', '.join(missing_programs())} (apt-get install {' '.join(PACKAGES)})"
        return install_packages()
    return None


def _is_ours(path: Path) -> bool:
    """A symlink left by a cluster of this harness (its target in a tagseg-slurm- temp folder)."""
    return path.is_symlink() and Path(os.readlink(path)).parent.name.startswith("tagseg-slurm-")


def _is_up(folder: Path) -> bool:
    """Whether the slurmctld of the cluster in ``folder`` still runs (a killed test leaves its folder behind)."""
    try:
        pid = int((folder / "slurmctld.pid").read_text())
        return b"slurmctld" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return False


def kill_marked(folder: Path) -> None:
    """Kill the processes whose environment names the cluster in ``folder`` (slurmstepd, the jobs under it)."""
    marker = f"{MARKER}={folder}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                os.kill(int(entry.name), signal.SIGKILL)
        except OSError:
            continue  # gone already


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _die_with_parent() -> None:
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _wait_for(ready, what: str, timeout_s: float, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-2000:] if log is not None and log.exists() else ""
    raise RuntimeError(f"slurm test cluster: {what} not ready after {timeout_s:.0f} s\n{tail}")


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


class SlurmCluster:
    """Use as ``with SlurmCluster(partitions=("cpu", "gpu")) as cluster:``; ``cluster.env`` is what SLURM clients
    need. Every partition holds the one node (and its fake GPUs); the first is the default."""

    def __init__(self, partitions: tuple[str, ...] = ("main",), cpus: int | None = None) -> None:
        self.partitions = tuple(partitions)
        self.partition = self.partitions[0]
        self.cpus = cpus or os.cpu_count() or 1
        self.node = "node1"
        self.daemons: list[tuple[str, subprocess.Popen]] = []
        self.dir = Path(tempfile.mkdtemp(prefix="tagseg-slurm-"))  # short: munge's socket path has a length limit
        self.conf = self.dir / "slurm.conf"
        self.env = {**os.environ, "SLURM_CONF": str(self.conf), MARKER: str(self.dir)}
        for name in list(self.env):
            if name.startswith("SLURM_") and name != "SLURM_CONF":
                del self.env[name]  # we may run inside someone's SLURM job
        self.linked = False

    # -- up ---------------------------------------------------------------------------------------

    def __enter__(self) -> SlurmCluster:
        try:
            self.up()
        except BaseException:
            self.down()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.down()

    def _start(self, name: str, command: list[str]) -> subprocess.Popen:
        log = open(self.dir / f"{name}.out", "wb")
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=self.env,
                                   cwd=self.dir, preexec_fn=_die_with_parent)  # fmt: skip
        log.close()
        self.daemons.append((name, process))
        return process

    def _check_alive(self) -> None:
        for name, process in self.daemons:
            if process.poll() is not None:
                tail = (self.dir / f"{name}.out").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"slurm test cluster: {name} exited with {process.returncode}\n{tail}")

    def up(self, timeout_s: float = 60) -> None:
        d = self.dir
        ports = {name: free_port() for name in ("mariadb", "slurmdbd", "slurmctld", "slurmd")}
        self.munge_socket = d / "munge.socket"

        # munge: a private key and socket
        key = d / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        self._start("munged", ["munged", "--foreground", "--force", f"--key-file={key}", f"--socket={self.munge_socket}",
                               f"--pid-file={d / 'munged.pid'}", f"--log-file={d / 'munged.log'}",
                               f"--seed-file={d / 'munged.seed'}"])  # fmt: skip
        _wait_for(lambda: self._check_alive() or self.munge_socket.exists(), "munged", timeout_s, d / "munged.out")

        # MariaDB for slurmdbd: private data folder, bound to 127.0.0.1
        datadir = d / "mysql"
        install = subprocess.run(["mariadb-install-db", "--no-defaults", f"--datadir={datadir}", "--user=root",
                                  "--auth-root-authentication-method=normal", "--skip-test-db"],
                                 capture_output=True, text=True, timeout=120)  # fmt: skip
        if install.returncode != 0:
            raise RuntimeError(f"slurm test cluster: mariadb-install-db failed: {install.stderr[-1000:]}")
        self._start("mariadbd", ["mariadbd", "--no-defaults", f"--datadir={datadir}", "--user=root",
                                 "--bind-address=127.0.0.1", f"--port={ports['mariadb']}", f"--socket={d / 'mysql.sock'}",
                                 f"--pid-file={d / 'mariadbd.pid'}"])  # fmt: skip
        _wait_for(
            lambda: self._check_alive() or _port_open(ports["mariadb"]), "mariadbd", timeout_s, d / "mariadbd.out"
        )

        # slurmdbd reads slurmdbd.conf beside SLURM_CONF; it must be private to SlurmUser
        dbd_conf = d / "slurmdbd.conf"
        dbd_conf.write_text("\n".join([
            "AuthType=auth/munge", f"AuthInfo=socket={self.munge_socket}",
            "DbdHost=localhost", "DbdAddr=127.0.0.1", f"DbdPort={ports['slurmdbd']}", "SlurmUser=root",
            "StorageType=accounting_storage/mysql", "StorageHost=127.0.0.1", f"StoragePort={ports['mariadb']}",
            "StorageUser=root", "StorageLoc=slurm_acct_db",
            f"PidFile={d / 'slurmdbd.pid'}", f"LogFile={d / 'slurmdbd.log'}",
        ]) + "\n")  # fmt: skip
        dbd_conf.chmod(0o600)

        # two fake GPUs: device files SLURM accepts (symlinks to /dev/null)
        gpus = []
        for index in range(FAKE_GPUS):
            gpus.append(d / f"fakegpu{index}")
            gpus[-1].symlink_to("/dev/null")
        (d / "gres.conf").write_text(f"Name=gpu File={d}/fakegpu[0-{FAKE_GPUS - 1}]\n")

        memory = self._node_memory_mb()
        self.conf.write_text("\n".join([
            "ClusterName=tagseg",
            f"SlurmctldHost={socket.gethostname()}(127.0.0.1)",
            "AuthType=auth/munge", f"AuthInfo=socket={self.munge_socket}", "CredType=cred/munge",
            "SlurmUser=root", "SlurmdUser=root",
            f"SlurmctldPort={ports['slurmctld']}", f"SlurmdPort={ports['slurmd']}",
            f"StateSaveLocation={d / 'ctld'}", f"SlurmdSpoolDir={d / 'spool'}",
            f"SlurmctldPidFile={d / 'slurmctld.pid'}", f"SlurmdPidFile={d / 'slurmd.pid'}",
            f"SlurmctldLogFile={d / 'slurmctld.log'}", f"SlurmdLogFile={d / 'slurmd.log'}",
            "ProctrackType=proctrack/linuxproc", "TaskPlugin=task/none",
            "SelectType=select/cons_tres", "SelectTypeParameters=CR_Core_Memory",
            "DefMemPerCPU=1000",  # without it a job that asks for no memory takes the whole node
            "ReturnToService=2", "MinJobAge=300", "KillWait=5", "InactiveLimit=0", "MpiDefault=none",
            "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/slurmdbd", "AccountingStorageHost=127.0.0.1",
            f"AccountingStoragePort={ports['slurmdbd']}",
            f"AccountingStoragePass={self.munge_socket}",  # else slurmctld fails adding TRES to the database
            "AccountingStoreFlags=job_comment",  # sacct then shows the rule each job ran
            "AccountingStorageTRES=gres/gpu",  # and the GPUs it had
            "GresTypes=gpu",
            f"NodeName={self.node} NodeAddr=127.0.0.1 CPUs={self.cpus} RealMemory={memory} Gres=gpu:{FAKE_GPUS} State=UNKNOWN",
            *(f"PartitionName={name} Nodes={self.node} Default={'YES' if name == self.partition else 'NO'} "
              f"MaxTime=INFINITE State=UP" for name in self.partitions),
        ]) + "\n")  # fmt: skip
        for folder in ("ctld", "spool"):
            (d / folder).mkdir()
        if _is_ours(SYSTEM_CONF) and not _is_up(Path(os.readlink(SYSTEM_CONF)).parent):
            # left by a test that was killed before it could clean up (its daemons died with it)
            stale = Path(os.readlink(SYSTEM_CONF)).parent
            kill_marked(stale)
            SYSTEM_CONF.unlink()
            shutil.rmtree(stale, ignore_errors=True)
        if SYSTEM_CONF.exists() or SYSTEM_CONF.is_symlink():
            raise RuntimeError(f"slurm test cluster: {SYSTEM_CONF} exists; refusing to replace it")
        SYSTEM_CONF.parent.mkdir(parents=True, exist_ok=True)
        SYSTEM_CONF.symlink_to(self.conf)
        self.linked = True

        self._start("slurmdbd", ["slurmdbd", "-D"])
        _wait_for(
            lambda: self._check_alive() or _port_open(ports["slurmdbd"]), "slurmdbd", timeout_s, d / "slurmdbd.log"
        )
        self._start("slurmctld", ["slurmctld", "-D", "-c", "-i"])
        _wait_for(lambda: self._check_alive() or self._run_ok(["scontrol", "ping"]), "slurmctld", timeout_s,
                  d / "slurmctld.log")  # fmt: skip
        self._start("slurmd", ["slurmd", "-D", "-N", self.node])
        # the node can look idle before slurmd has registered: wait for a job to run through
        _wait_for(lambda: self._check_alive() or self._run_ok(["srun", "-t", "1", "-N", "1", "true"], timeout_s=20),
                  "a probe job (srun true)", timeout_s, d / "slurmd.log")  # fmt: skip

    def _node_memory_mb(self) -> int:
        """Three quarters of the memory slurmd sees (the rest stays with the system and the test)."""
        found = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, timeout=30).stdout
        total = next((int(word.split("=")[1]) for word in found.split() if word.startswith("RealMemory=")), 4000)
        return total * 3 // 4

    def _run_ok(self, command: list[str], timeout_s: float = 10) -> bool:
        try:
            return subprocess.run(command, env=self.env, capture_output=True, timeout=timeout_s).returncode == 0
        except subprocess.TimeoutExpired:
            return False

    # -- use --------------------------------------------------------------------------------------

    def run(self, *command: str, timeout_s: float = 60) -> str:
        """A SLURM client command against this cluster; its stdout."""
        result = subprocess.run(command, env=self.env, capture_output=True, text=True, timeout=timeout_s)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)}: exit {result.returncode}: {result.stderr.strip()}")
        return result.stdout

    def sacct(self, since: str = "now-1days") -> list[dict[str, str]]:
        """Every job of this cluster as accounting recorded it: JobID, State, Comment (the rule), ExitCode, AllocTRES,
        Partition."""
        fields = ["JobID", "JobName", "State", "Comment", "ExitCode", "AllocTRES", "Partition"]
        out = self.run("sacct", "-X", "-n", "-P", "-a", "-S", since, f"--format={','.join(fields)}")
        return [dict(zip(fields, line.split("|"), strict=True)) for line in out.splitlines() if line.strip()]

    # -- down -------------------------------------------------------------------------------------

    def down(self) -> None:
        """Cancel every job, stop the daemons this cluster started, kill what is left of its jobs, clean up."""
        alive = {name for name, process in self.daemons if process.poll() is None}
        if "slurmctld" in alive:
            self._run_ok(["scancel", "--full", "--user", "root"])
        for name, process in reversed(self.daemons):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self.daemons.clear()
        kill_marked(self.dir)
        if self.linked and SYSTEM_CONF.is_symlink() and os.readlink(SYSTEM_CONF) == str(self.conf):
            SYSTEM_CONF.unlink()
            self.linked = False
        shutil.rmtree(self.dir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.slurm_cluster", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="say whether this machine can host the cluster")
    check.add_argument("--no-install", action="store_true", help="do not apt-get install missing packages")
    run = commands.add_parser("run", help="bring a cluster up, run COMMAND with SLURM_CONF set, bring it down")
    run.add_argument("--partition", action="append", help="a partition's name, repeated for more (default: main; "
                     "the first is the default partition)")  # fmt: skip
    run.add_argument("cmd", nargs=argparse.REMAINDER, metavar="COMMAND", help="the command, after --")
    args = parser.parse_args(argv)
    if args.command == "check":
        reason = cannot_host(install=not args.no_install)
        print(reason or "this machine can host a single-node SLURM cluster")
        return 1 if reason else 0
    command = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    reason = cannot_host()
    if reason or not command:
        print(f"error: {reason or 'run: expected a command after --'}", file=sys.stderr)
        return 2
    with SlurmCluster(partitions=tuple(args.partition or ["main"])) as cluster:
        print(f"slurm test cluster up in {cluster.dir} (partitions {', '.join(cluster.partitions)})", file=sys.stderr)
        return subprocess.run(command, env=cluster.env).returncode


if __name__ == "__main__":
    sys.exit(main())
