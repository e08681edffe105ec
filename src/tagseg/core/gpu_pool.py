"""Give every GPU job a device of its own: one lock file per device, held for the life of the process.

Snakemake counts the ``gpu`` resource but assigns no device, so with ``--resources gpu=2`` two
concurrent jobs would both open ``cuda:0``. Before it initialises CUDA, each GPU script claims a
device here: a non-blocking ``flock`` on ``<lock dir>/gpu<id>.lock``, kept open until the process
ends (the kernel drops the lock when a job exits or is killed, ``kill -9`` included), then
``CUDA_VISIBLE_DEVICES`` is set to the claimed id, so the job sees that device alone, as ``cuda:0``.

The pool is ``CUDA_VISIBLE_DEVICES``'s entries when it is set (ids or UUIDs), else the NVIDIA
devices the driver reports. The pool steps aside (claims nothing, changes nothing) under SLURM,
whose scheduler has already chosen the job's devices, for a CPU or an explicitly numbered device,
and on machines without a GPU.

When every device is taken the claim waits, polling, and says so in the job's log: Snakemake's
``gpu`` limit keeps a run's own GPU jobs within the device count, so a full pool means something
outside the run (a second run, a wider ``--resources gpu=N``) holds a device for a while, and a
job that failed at once would only be retried into the same wait. The wait has a limit
(``TAGSEG_GPU_WAIT_S``, default 12 h) so that a forgotten holder cannot stall a run for ever.

Tests fake a machine's devices by setting ``CUDA_VISIBLE_DEVICES`` (``0,1``), and keep their locks
apart with ``TAGSEG_GPU_LOCK_DIR``.
"""

from __future__ import annotations

import argparse
import ctypes
import errno
import fcntl
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, MutableMapping, Sequence
from pathlib import Path
from typing import TextIO

LOCK_DIR_ENV = "TAGSEG_GPU_LOCK_DIR"  # where the lock files live (default: a per-user folder in the temp dir)
WAIT_ENV = "TAGSEG_GPU_WAIT_S"  # how long a claim waits for a free device
DEFAULT_WAIT_S = 12 * 3600.0
REPORT_EVERY_S = 600.0  # while waiting, a line in the log this often

# device id -> the open lock file's descriptor; held, never closed, so the lock lives as long as the process
_held: dict[str, int] = {}


class NoFreeDevice(RuntimeError):
    """Every device of the pool stayed taken for the whole wait."""


def nvml_device_count() -> int:
    """NVIDIA devices the driver reports, read through NVML so that CUDA is not initialised; 0 without a driver."""
    try:
        nvml = ctypes.CDLL("libnvidia-ml.so.1")
    except OSError:
        return 0
    if nvml.nvmlInit_v2() != 0:
        return 0
    try:
        count = ctypes.c_uint(0)
        return count.value if nvml.nvmlDeviceGetCount_v2(ctypes.byref(count)) == 0 else 0
    finally:
        nvml.nvmlShutdown()


def visible_devices(
    environ: MutableMapping[str, str], count_devices: Callable[[], int] = nvml_device_count
) -> list[str]:
    """The pool: ``CUDA_VISIBLE_DEVICES``'s entries when it is set, else ``0 .. count-1``.

    Like CUDA, the list ends at the first empty or negative entry (``-1`` hides every device).

    >>> visible_devices({"CUDA_VISIBLE_DEVICES": "2, 3"}), visible_devices({"CUDA_VISIBLE_DEVICES": "-1"})
    (['2', '3'], [])
    >>> visible_devices({}, count_devices=lambda: 2)
    ['0', '1']
    """
    if "CUDA_VISIBLE_DEVICES" not in environ:
        return [str(index) for index in range(count_devices())]
    devices = []
    for entry in environ["CUDA_VISIBLE_DEVICES"].split(","):
        entry = entry.strip()
        if not entry or entry.startswith("-"):
            break
        devices.append(entry)
    return devices


def steps_aside(requested: str, environ: MutableMapping[str, str]) -> bool:
    """True where the pool has nothing to choose: under SLURM, or a device asked for by type and number or as CPU."""
    return "SLURM_JOB_ID" in environ or requested not in ("auto", "cuda")


def default_lock_dir(environ: MutableMapping[str, str]) -> Path:
    return Path(environ.get(LOCK_DIR_ENV) or Path(tempfile.gettempdir()) / f"tagseg-gpu-{os.getuid()}")


def wait_limit(environ: MutableMapping[str, str]) -> float:
    """Seconds a claim may wait: ``TAGSEG_GPU_WAIT_S``, else 12 hours."""
    text = environ.get(WAIT_ENV, str(DEFAULT_WAIT_S))
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:
        raise ValueError(f"{WAIT_ENV}: expected a number of seconds >= 0, got {text!r}")
    return seconds


def lock_path(lock_dir: Path, device: str) -> Path:
    # ids may be UUIDs, and MIG ids hold slashes
    return lock_dir / f"gpu{re.sub(r'[^A-Za-z0-9._-]', '_', device)}.lock"


def _try_lock(path: Path) -> int | None:
    """The descriptor of ``path`` locked by this process, or None if another process holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        os.close(fd)
        if error.errno in (errno.EAGAIN, errno.EACCES):
            return None
        raise
    # who holds it, for the messages of processes that wait
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def written_holder(lock_dir: Path, device: str) -> str:
    """The pid the last holder of a device's lock wrote into it, for messages."""
    try:
        return lock_path(lock_dir, device).read_text().strip() or "?"
    except OSError:
        return "?"


def holders(lock_dir: Path, devices: Sequence[str]) -> dict[str, str | None]:
    """Each device's holder (``pid N``), None where it is free; probes each lock with a shared one."""
    found: dict[str, str | None] = {}
    for device in devices:
        path = lock_path(lock_dir, device)
        if not path.exists():
            found[device] = None
            continue
        fd = os.open(path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            found[device] = None  # granted: nobody holds it exclusively
        except OSError:
            found[device] = f"pid {written_holder(lock_dir, device)}"
        finally:
            os.close(fd)  # closing drops the shared lock too
    return found


def claim_device(
    requested: str = "auto",
    *,
    devices: Sequence[str] | None = None,
    environ: MutableMapping[str, str] = os.environ,
    lock_dir: str | os.PathLike | None = None,
    timeout_s: float | None = None,
    poll_s: float = 1.0,
    log: TextIO = sys.stderr,
) -> str | None:
    """Claim a free device and make it the only one CUDA will see; None where the pool steps aside.

    Must run before CUDA is initialised (CUDA reads ``CUDA_VISIBLE_DEVICES`` once). A process that
    already holds a device gets the same one again. ``devices`` replaces the pool read from
    ``environ`` (tests); ``timeout_s`` defaults to ``TAGSEG_GPU_WAIT_S`` or 12 hours.
    """
    if steps_aside(requested, environ):
        return None
    if _held:
        return next(iter(_held))
    pool = list(devices) if devices is not None else visible_devices(environ)
    if not pool:
        return None  # no GPU: the job runs on the CPU
    folder = Path(lock_dir) if lock_dir is not None else default_lock_dir(environ)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = lock_path(folder, pool[0])
        os.close(os.open(probe, os.O_RDWR | os.O_CREAT, 0o644))
    except OSError as error:
        raise OSError(f"gpu pool: {folder}: cannot hold the lock files ({error.strerror or error}); set {LOCK_DIR_ENV} "
                      f"to a folder this user can write, the same for every job on this machine") from None  # fmt: skip
    if timeout_s is None:
        timeout_s = wait_limit(environ)
    start, last_report = time.monotonic(), None
    while True:
        for device in pool:
            fd = _try_lock(lock_path(folder, device))
            if fd is not None:
                _held[device] = fd
                environ["CUDA_VISIBLE_DEVICES"] = device
                waited = time.monotonic() - start
                print(f"gpu pool: claimed device {device} of {','.join(pool)}"
                      + (f" after waiting {waited:.0f} s" if waited >= 1 else ""), file=log, flush=True)  # fmt: skip
                return device
        now = time.monotonic()
        # every lock was just refused: name the holders as they wrote themselves in
        taken = ", ".join(f"{device} (pid {written_holder(folder, device)})" for device in pool)
        if now - start >= timeout_s:
            raise NoFreeDevice(f"gpu pool: no free device after {now - start:.0f} s; held: {taken}; lock files in {folder}"
                               f" (a longer wait: {WAIT_ENV})")  # fmt: skip
        if last_report is None or now - last_report >= REPORT_EVERY_S:
            print(f"gpu pool: every device is taken ({taken}); waiting up to {timeout_s:.0f} s", file=log, flush=True)
            last_report = now
        time.sleep(min(poll_s, max(0.0, timeout_s - (now - start))))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tagseg.core.gpu_pool", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("status", help="list the pool's devices and who holds each")
    run_parser = commands.add_parser(
        "run", help="claim a device, then run COMMAND holding it (CUDA_VISIBLE_DEVICES set)"
    )
    run_parser.add_argument(
        "--timeout-s", type=float, help=f"longest wait for a free device (default: {WAIT_ENV} or 12 h)"
    )
    run_parser.add_argument("cmd", nargs=argparse.REMAINDER, metavar="COMMAND", help="the command, after --")
    args = parser.parse_args(argv)
    lock_dir = default_lock_dir(os.environ)
    if args.command == "status":
        pool = visible_devices(os.environ)
        if not pool:
            print("no GPU: the pool steps aside")
        for device, holder in holders(lock_dir, pool).items():
            print(f"{device}: {holder or 'free'}")
        return 0
    command = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not command:
        print("error: run: expected a command after --", file=sys.stderr)
        return 2
    try:
        device = claim_device("auto", lock_dir=lock_dir, timeout_s=args.timeout_s)
    except NoFreeDevice as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if device is not None:
        os.set_inheritable(_held[device], True)  # the lock passes to the command and lives as long as it
    try:
        os.execvp(command[0], command)  # replaces this process; returns only by raising
    except OSError as error:
        print(f"error: run: cannot start {command[0]!r}: {error.strerror}", file=sys.stderr)
        return 127


if __name__ == "__main__":
    sys.exit(main())
