"""Refresh the two locks the README's commands install from, from the loose ranges in the project's files.

    python envs/refresh_locks.py            # constraints.txt (pip), and the conda pin if conda is found
    python envs/refresh_locks.py --pip      # constraints.txt only

``constraints.txt`` (pip): every package a fresh ``pip install -e '.[dev]'`` resolves to, at its exact
version, for ``pip install -c constraints.txt``; made in a new virtual environment with this Python, so it
lists what that platform gets (torch's CUDA wheels come along on Linux and are ignored elsewhere).
``envs/tagseg.linux-64.pin.txt`` (conda): the explicit package list of ``envs/tagseg.yaml`` solved for
linux-64 with a CUDA build of pytorch (``CONDA_OVERRIDE_CUDA``), which ``snakemake --use-conda`` installs
in place of solving the yaml again (Snakemake reads ``<env>.<platform>.pin.txt`` beside an env file).
Both need the package indexes; commit what they write.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONSTRAINTS = ROOT / "constraints.txt"
CONDA_ENV = ROOT / "envs" / "tagseg.yaml"
CONDA_PIN = ROOT / "envs" / "tagseg.linux-64.pin.txt"
CUDA = "12.6"  # the CUDA version the conda solve assumes (a login node has no GPU to report one)


def refresh_pip() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        venv = Path(scratch) / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip"]
        subprocess.run([*pip, "install", "--quiet", "-e", f"{ROOT}[dev]"], check=True)
        frozen = subprocess.run([*pip, "freeze", "--exclude-editable"], check=True, capture_output=True, text=True)
    pins = sorted((line for line in frozen.stdout.splitlines() if line and not line.startswith("-e ")), key=str.lower)
    header = ("# Exact versions of everything `pip install -e '.[dev]'` installs; the README's commands install with\n"
              "# -c constraints.txt. Refresh: python envs/refresh_locks.py --pip (then commit)\n")  # fmt: skip
    CONSTRAINTS.write_text(header + "\n".join(pins) + "\n")
    print(f"{CONSTRAINTS.name}: {len(pins)} packages")


def refresh_conda() -> None:
    conda = shutil.which("mamba") or shutil.which("conda")
    if conda is None:
        sys.exit("conda or mamba not found: the conda pin is solved by them (install Miniforge), then rerun")
    env = {**os.environ, "CONDA_OVERRIDE_CUDA": CUDA, "CONDA_SUBDIR": "linux-64"}
    with tempfile.TemporaryDirectory() as scratch:
        prefix = Path(scratch) / "env"
        subprocess.run([conda, "env", "create", "--quiet", "--file", str(CONDA_ENV), "--prefix", str(prefix)],
                       check=True, env=env)  # fmt: skip
        listed = subprocess.run([conda, "list", "--explicit", "--md5", "--prefix", str(prefix)], check=True,
                                capture_output=True, text=True, env=env)  # fmt: skip
    if "pytorch" in listed.stdout and "cuda" not in listed.stdout.split("pytorch-", 1)[1].split("\n", 1)[0]:
        sys.exit("the conda solve picked a CPU build of pytorch; check envs/tagseg.yaml's build string")
    CONDA_PIN.write_text(listed.stdout)
    print(
        f"{CONDA_PIN.relative_to(ROOT)}: {sum(line.startswith('http') for line in listed.stdout.splitlines())} packages"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pip", action="store_true", help="constraints.txt only")
    args = parser.parse_args()
    refresh_pip()
    if not args.pip:
        refresh_conda()


if __name__ == "__main__":
    main()
