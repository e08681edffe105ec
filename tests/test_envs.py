"""The two install routes' pins: constraints.txt (pip) and envs/tagseg.yaml (snakemake --use-conda) pin the
same versions, and the conda environment holds everything the jobs import."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parents[1]
ENV = ROOT / "envs" / "tagseg.yaml"

spec = importlib.util.spec_from_file_location("refresh_locks", ROOT / "envs" / "refresh_locks.py")
refresh_locks = importlib.util.module_from_spec(spec)
spec.loader.exec_module(refresh_locks)
normalise = refresh_locks.normalise


def constraints() -> dict[str, str]:
    lines = (ROOT / "constraints.txt").read_text().splitlines()
    return {normalise(name): version for name, version in
            (line.split("==", 1) for line in lines if line and not line.startswith("#"))}  # fmt: skip


def env() -> tuple[str, dict[str, str]]:
    """The env file's Python (``major.minor``) and its pip pins."""
    dependencies = yaml.safe_load(ENV.read_text())["dependencies"]
    python = next(dep.split("=", 1)[1] for dep in dependencies if isinstance(dep, str) and dep.startswith("python="))
    pip = next(dep["pip"] for dep in dependencies if isinstance(dep, dict))
    assert all("==" in pin for pin in pip), pip
    return python, {normalise(name): version for name, version in (pin.split("==", 1) for pin in pip)}


def test_the_conda_env_pins_each_package_at_its_version_in_constraints():
    python, pins = env()
    pinned = constraints()
    assert {name: (version, pinned.get(name)) for name, version in pins.items() if pinned.get(name) != version} == {}
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert f"{python}.0" in SpecifierSet(requires), (python, requires)
    # torch needs setuptools at run time: pinned on both routes
    assert "setuptools" in pins and "setuptools" in pinned
    # PyPI's Linux torch wheel, a CUDA build on any machine: its CUDA runtime comes along, pinned
    assert "torch" in pins and "nvidia-cuda-runtime" in pins


def test_the_conda_env_holds_what_the_jobs_import_and_all_they_require():
    """Every runtime dependency of pyproject.toml but the workflow engine and the report's highlighter, and
    every package those require (read from the installed packages' metadata for this Python), is pinned."""
    _, pins = env()
    direct = {refresh_locks.requirement_name(dep) for dep in refresh_locks.env_dependencies()}
    assert {"torch", "torchvision", "numpy", "scipy"} <= direct <= set(pins)
    assert not {"snakemake", "pygments"} & set(pins)  # the jobs never import them
    missing = {}
    for name, version in pins.items():
        assert importlib.metadata.version(name) == version, f"{name}: installed {importlib.metadata.version(name)}"
        for text in importlib.metadata.requires(name) or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                if normalise(requirement.name) not in pins:
                    missing[requirement.name] = name
    assert missing == {}


def test_no_conda_pin_file_would_replace_the_env_file():
    """Snakemake installs ``<env>.<platform>.pin.txt`` in place of the env file where one exists; an explicit
    conda list holds no pip package, so it would leave torch and the rest out."""
    assert not list(ENV.parent.glob("tagseg.*.pin.txt"))
