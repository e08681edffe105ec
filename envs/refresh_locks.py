"""Refresh the pins both install routes use, from the loose ranges in pyproject.toml.

    python envs/refresh_locks.py

``constraints.txt`` (pip): every package a fresh ``pip install -e '.[dev]'`` resolves to, at its exact
version, for ``pip install -c constraints.txt``; made in a new virtual environment with this Python, so it
lists what that platform gets (torch's CUDA wheels come along on Linux and are ignored elsewhere).

``envs/tagseg.yaml`` (``snakemake --use-conda``): conda-forge's Python, and through pip the packages the
jobs import (pyproject.toml's dependencies but the workflow engine and the report's highlighter) with
everything they pull in, each at its version in constraints.txt. The pins are written into the env file
itself, not referred to, so that an env file Snakemake copies elsewhere keeps them and a refresh changes
its content, which is what makes Snakemake build the environment again. PyPI's Linux torch wheel is a
CUDA build whatever machine installs it, so a login node without a GPU builds the nodes' environment.

Run it with the Python the pins are for (the env file's ``python=`` is its minor version), with the
package index reachable; commit what it writes.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONSTRAINTS = ROOT / "constraints.txt"
CONDA_ENV = ROOT / "envs" / "tagseg.yaml"
# what the jobs never import: the workflow engine runs them, and pygments only renders `snakemake --report`
NOT_IN_ENV = {"snakemake", "pygments"}

ENV_HEADER = """\
# Environment for --use-conda, written by python envs/refresh_locks.py (do not edit by hand): conda-forge's
# Python, and through pip the packages the jobs import with everything they pull in, at the versions
# of constraints.txt (the same pins as the README's pip install). PyPI's Linux torch wheel is a CUDA
# build whatever machine installs it, so the login node, which has no GPU, builds the GPU nodes'
# environment (docs/operations.md, "With conda on a cluster"). The rules put this checkout's src/ on
# PYTHONPATH, so tagseg itself is not installed here.
"""


def normalise(name: str) -> str:
    """A distribution's name as pip compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    return normalise(re.split(r"[\s<>=!~;\[(]", requirement.strip(), maxsplit=1)[0])


def env_dependencies() -> list[str]:
    """pyproject.toml's runtime dependencies that the jobs import, as written there."""
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    return [dep for dep in dependencies if requirement_name(dep) not in NOT_IN_ENV]


def refresh_pip() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        venv = Path(scratch) / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip"]
        subprocess.run([*pip, "install", "--quiet", "-e", f"{ROOT}[dev]"], check=True)
        # --all: setuptools too (torch requires it at run time); pip, the installer, is not pinned
        frozen = subprocess.run([*pip, "freeze", "--all", "--exclude-editable"], check=True, capture_output=True,
                                text=True)  # fmt: skip
    pins = sorted((line for line in frozen.stdout.splitlines()
                   if line and not line.startswith("-e ") and requirement_name(line) != "pip"), key=str.lower)  # fmt: skip
    header = ("# Exact versions of everything `pip install -e '.[dev]'` installs; the README's commands install with\n"
              "# -c constraints.txt. Refresh: python envs/refresh_locks.py (then commit)\n")  # fmt: skip
    CONSTRAINTS.write_text(header + "\n".join(pins) + "\n")
    print(f"{CONSTRAINTS.name}: {len(pins)} packages")


def env_pins() -> list[str]:
    """What pip installs for the env's dependencies under constraints.txt: every package, at its version."""
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.json"
        subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
                        "--report", str(report), "-c", str(CONSTRAINTS), *env_dependencies()], check=True)  # fmt: skip
        installed = json.loads(report.read_text())["install"]
    return sorted((f"{item['metadata']['name']}=={item['metadata']['version']}" for item in installed), key=str.lower)


def refresh_conda_env() -> None:
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    pins = env_pins()
    lines = [ENV_HEADER.rstrip("\n"), "channels:", "  - conda-forge", "  - nodefaults", "dependencies:",
             f"  - python={python}", "  - pip", "  - pip:", *(f"      - {pin}" for pin in pins)]  # fmt: skip
    CONDA_ENV.write_text("\n".join(lines) + "\n")
    print(f"{CONDA_ENV.relative_to(ROOT)}: python {python} and {len(pins)} pip packages")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env-only", action="store_true",
                        help="envs/tagseg.yaml only, from the constraints.txt there is")  # fmt: skip
    args = parser.parse_args()
    if not args.env_only:
        refresh_pip()
    refresh_conda_env()


if __name__ == "__main__":
    main()
