"""How a run sets itself up (seed, threads, device) and records itself (config, git commit, versions)."""

from __future__ import annotations

import os
import platform
import random
import socket
import subprocess
import sys
import time
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

import tagseg
from tagseg.core import gpu_pool


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


def select_device(requested: str) -> torch.device:
    """``auto`` takes the GPU when there is one; ``cuda`` without one is an error, not a silent CPU run."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"resources.device: {requested!r} was asked for but torch sees no CUDA device; "
                           f"use auto (the GPU when there is one) or cpu")  # fmt: skip
    return torch.device(requested)


# Convolution weights (and so activations) stored channels-last: measured faster for the small
# backbones on CPU (bench/variant_iteration.py) and the layout tensor cores want under CUDA AMP.
CHANNELS_LAST = torch.channels_last


def setup(seed: int, threads: int, device: str) -> torch.device:
    """Claim a GPU of this job's own (gpu_pool), seed everything, give torch the rule's threads, pick the
    device; on CPU, deterministic algorithms only."""
    if not torch.cuda.is_initialized():  # CUDA reads CUDA_VISIBLE_DEVICES once, when it starts
        gpu_pool.claim_device(device)
    seed_everything(seed)
    torch.set_num_threads(max(1, threads))
    selected = select_device(device)
    if selected.type == "cpu":  # reruns and resumed runs equal to the bit; CUDA keeps its faster kernels
        use_deterministic_algorithms()
    return selected


def use_deterministic_algorithms() -> None:
    """``torch.use_deterministic_algorithms(True)`` without importing torch's compiler.

    The public call also sets inductor's flag, and importing ``torch._inductor`` (and with it dynamo)
    costs about 1.8 s of every job's start, in a DAG of some 160 short jobs. Nothing in tagseg
    compiles, so while the compiler is not loaded only the flag the eager kernels read is set.

    The mode's debugging aid that fills every new tensor with NaN before a kernel writes it (to
    expose kernels that read memory they never wrote) is turned off: it changes no result of a
    kernel that writes its output, and it took about a tenth of every training step on CPU, as a
    fill of each activation and gradient buffer (torch.profiler: aten::fill_ under aten::empty).
    """
    if "torch._inductor.config" in sys.modules or not hasattr(torch._C, "_set_deterministic_algorithms"):
        torch.use_deterministic_algorithms(True)
    else:
        torch._C._set_deterministic_algorithms(True)
    torch.utils.deterministic.fill_uninitialized_memory = False


def git_commit() -> str:
    """The commit of the tagseg checkout, with ``-dirty`` if it has uncommitted changes; ``unknown`` outside git."""
    source = Path(tagseg.__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=source, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=source, capture_output=True, text=True, check=True, timeout=10,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("-dirty" if dirty else "")


def run_record(settings: Any, device: torch.device | None = None, precision: Any = None) -> dict[str, Any]:
    """What is needed to tell how an output was made: its settings, the code's commit, the machine,
    and the arithmetic it ran in (``precision``, a tagseg.core.precision.Precision: fp32, bf16 or fp16)."""
    return {
        "settings": asdict(settings) if is_dataclass(settings) else settings,
        "precision": precision.name if precision is not None else None,
        "git_commit": git_commit(),
        "tagseg_version": tagseg.__version__,
        "torch_version": str(torch.__version__),  # plain str: model.pt is read with weights_only
        "python_version": platform.python_version(),
        "device": str(device) if device is not None else None,
        "cuda_device": torch.cuda.get_device_name(device) if device is not None and device.type == "cuda" else None,
        "cpu": platform.processor() or platform.machine(),
        "cpu_threads": torch.get_num_threads(),
        "hostname": socket.gethostname(),
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
