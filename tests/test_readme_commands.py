"""Every snakemake command the README (and the docs pages it sends users to for running it) shows that sets a config plans
without error (as a dry run).

The commands are read out of the README itself, code blocks and inline spans alike, so an example
added there is tested here the day it is written.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# the README and the pages it sends users to for running the workflow
PAGES = ("README.md", "docs/operations.md", "docs/performance.md", "docs/own-data.md", "docs/voc-scale.md")
README = "\n".join((ROOT / name).read_text() for name in PAGES)


def readme_commands() -> list[str]:
    """The README's snakemake command lines that set a config (``--config`` or ``--configfile``)."""
    lines = [line for block in re.findall(r"```bash\n(.*?)```", README, re.S) for line in block.splitlines()]
    lines += re.findall(r"`((?:\S*snakemake|--config) [^`]+)`", README)
    commands = []
    for line in lines:
        line = line.split("  #", 1)[0].strip()
        if line.startswith("--config"):
            line = f"snakemake {line}"  # a span giving only the flag, as in "--config downloads=..."
        if re.match(r"(\S*/)?snakemake ", line) and re.search(r"--config(file)? ", line):
            commands.append(line)
    return sorted(set(commands))


COMMANDS = readme_commands()
# "Your own data": the lines that make the worked example's dataset and its config
EXAMPLE_SETUP = [line.split("  #", 1)[0] for block in re.findall(r"```bash\n(.*?)```", README, re.S)
                 for line in block.splitlines() if "tests.folder_data" in line or line.startswith("sed ")]  # fmt: skip


def test_the_worked_example_makes_its_dataset_and_config():
    assert len(EXAMPLE_SETUP) == 2 and any("cells.yaml" in command for command in COMMANDS)


def test_the_readme_shows_config_examples():
    assert any("--config seeds=" in command for command in COMMANDS) and any("configs/voc.yaml" in c for c in COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_a_readme_command_plans(command, tmp_path):
    for name in ("Snakefile", "config.yaml", "configs", "workflow", "envs"):
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, tmp_path / name)
    if "/data/pascal" in command:  # the README's own VOCdevkit, made here as far as planning reads it
        lists = tmp_path / "pascal" / "VOCdevkit" / "VOC2012" / "ImageSets" / "Segmentation"
        lists.mkdir(parents=True)
        (lists / "val.txt").write_text("2007_000033\n")
        command = command.replace("/data/pascal", str(tmp_path / "pascal"))
    if "cells.yaml" in command:  # the worked example's dataset and config, made by the README's own lines
        for line in EXAMPLE_SETUP:
            made = subprocess.run(line.replace(".venv/bin/python", sys.executable), shell=True, cwd=tmp_path,
                                  capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
            assert made.returncode == 0, f"{line}\n{made.stderr[-2000:]}"
    words = shlex.split(command)
    words = words[1:]  # snakemake, however it is reached
    if "--use-conda" in words and shutil.which("conda") is None:  # the plan is tested; building the env needs conda
        words = [word for word in words if word not in ("--use-conda", "--conda-create-envs-only")]
    result = subprocess.run([sys.executable, "-m", "snakemake", *words, "--dry-run", "--quiet", "rules"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=600)  # fmt: skip
    assert result.returncode == 0, f"{command}\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    assert not (tmp_path / "results").exists() and not (tmp_path / "data").exists()


def test_the_readme_names_the_submissions_the_workflow_writes():
    common = (ROOT / "workflow" / "rules" / "common.smk").read_text()
    pattern = re.search(r'SUBMISSIONS = \{paper: f"([^"]+)" for paper in \(([^)]*)\)\}', common)
    papers = re.findall(r'"(\w+)"', pattern.group(2))
    written = {pattern.group(1).replace("{paper}", paper) for paper in papers}
    named = re.search(r"`results/submissions/\{([\w,]+)\}(\S*?)`", README)
    assert {f"results/submissions/{paper}{named.group(2)}" for paper in named.group(1).split(",")} == written
