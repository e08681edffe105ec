"""tagseg.core.runtime: how every job sets itself up."""

import pytest
import subprocess
import sys
from pathlib import Path

import torch

from tagseg.core import runtime


def test_cpu_setup_turns_on_deterministic_algorithms():
    before = torch.are_deterministic_algorithms_enabled()
    try:
        torch.use_deterministic_algorithms(False)
        assert runtime.setup(0, 1, "cpu").type == "cpu"
        assert torch.are_deterministic_algorithms_enabled()
    finally:
        torch.use_deterministic_algorithms(before)


def test_setup_does_not_load_the_compiler_nor_fill_new_tensors():
    """Loading torch._inductor (and dynamo) for the flag cost every job about 1.8 s of its start;
    deterministic mode's NaN fill of every new tensor cost about a tenth of each training step."""
    code = (
        "import sys; from tagseg.core import runtime; runtime.setup(0, 1, 'cpu'); import torch; "
        "assert torch.are_deterministic_algorithms_enabled(); "
        "print(sorted(m for m in sys.modules if m.startswith(('torch._inductor', 'torch._dynamo')))); "
        "print(torch.utils.deterministic.fill_uninitialized_memory, torch.empty(4).isnan().all().item())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == ["[]", "False False"]


def test_table_and_figure_jobs_do_not_start_torch():
    """Jobs that only read metrics and write tables or plots (tagseg.reporting.tables, claims, runtime_table and
    figures' curves, figure4, section3, dis_grid) start without torch, about 1.5 s of each job."""
    code = (
        "import sys; import tagseg.reporting.tables, tagseg.reporting.claims, tagseg.reporting.runtime_table, tagseg.reporting.figures_sun2018, tagseg.sun2018.variants; "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_cuda_asked_for_without_one_names_the_key(monkeypatch):
    import torch

    from tagseg.core.runtime import select_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(
        RuntimeError, match=r"resources.device: 'cuda:1' was asked for but torch sees no CUDA device; use auto"
    ):
        select_device("cuda:1")
    assert select_device("auto").type == "cpu"


def test_the_voc_scale_requires_a_gpu_of_every_job(monkeypatch):
    import torch
    import yaml

    from tagseg.core.runtime import select_device

    voc = yaml.safe_load((Path(__file__).resolve().parents[1] / "configs" / "voc.yaml").read_text())
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # a node whose GPU or driver is not there
    with pytest.raises(RuntimeError, match="torch sees no CUDA device"):
        select_device(voc["resources"]["device"])
