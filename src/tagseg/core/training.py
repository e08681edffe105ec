"""The training every model shares: one entry point (:func:`run`), the loop (:func:`fit`: iterations
over an endless loader, a learning-rate schedule, checkpoints with exact resume, the loss curve),
and the files a finished run leaves behind (:func:`write_run`).

A trainer supplies what differs, as a :class:`Plan` (its network, step, loader and schedule), from
a function of the device; :func:`run` does the rest: the run's setup (seed, threads, device), the
loop, and ``model.pt`` (tagseg.core.checkpoint), ``train_log.csv`` and ``run.json``.
"""

from __future__ import annotations

import copy
import csv
import itertools
import math
import os
import random
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Literal, Protocol

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset, RandomSampler
from tqdm import tqdm

from tagseg.core import io, runtime
from tagseg.core.checkpoint import Checkpoint, UnreadableFile, read_tensors, save
from tagseg.core.precision import FP32, PRECISIONS, Precision
from tagseg.data.loading import pad_collate


@dataclass(frozen=True)
class TrainingSettings:
    """The settings every trainer shares. Defaults are the schema's (workflow/schemas/config.schema.yaml,
    the default scale's values; tests/test_workflow.py holds them equal); the papers' are in configs/voc.yaml."""

    backbone: str = "vgg_tiny"  # vgg16 (the papers') or vgg_tiny (CPU scales)
    pretrained: bool = False  # initialise vgg16 from torchvision's ImageNet weights
    iterations: int = 300  # optimiser steps (sun2018: 100,000 at batch size 1)
    batch_size: int = 8  # images per step
    optimizer: Literal["sgd", "adam"] = "adam"  # sgd as the papers; adam at the CPU scales
    lr: float = 0.001  # learning rate for the pixel- or class-averaged loss (REPRODUCTION.md F5)
    momentum: float = 0.9  # SGD momentum (Adam's beta1)
    weight_decay: float = 5e-4  # L2 penalty, as FCN
    lr_policy: Literal["constant", "poly"] = "poly"  # constant (FCN's solver) or poly (DeepLab's, power 0.9)
    crop_size: int = 48  # training crop, padded with void where the scaled image is smaller
    scale_range: tuple[float, float] = (0.75, 1.25)  # random rescaling range of training images
    checkpoint_every: int = 100  # iterations between checkpoints
    seed: int = 0  # seeds weights, data order and augmentation
    threads: int = 1  # torch CPU threads (the rule's threads)
    device: str = "auto"  # auto, cpu, cuda or cuda:N
    precision: str = "auto"  # auto, fp32 or bf16 (resources.precision; tagseg.core.precision)
    num_workers: int = 0  # DataLoader worker processes (decoding is already cached)

    def __post_init__(self) -> None:
        for name in ("iterations", "batch_size", "crop_size", "checkpoint_every", "threads"):
            if getattr(self, name) < 1:
                raise ValueError(f"train.{name}: expected a positive integer, got {getattr(self, name)}")
        if self.lr <= 0:
            raise ValueError(f"train.lr: expected a positive number, got {self.lr}")
        low, high = self.scale_range
        if not 0 < low <= high:
            raise ValueError(f"train.scale_range: expected 0 < low <= high, got {self.scale_range}")
        if self.optimizer not in ("sgd", "adam") or self.lr_policy not in ("constant", "poly"):
            raise ValueError("train.optimizer / train.lr_policy: expected sgd|adam and constant|poly")
        if self.precision not in PRECISIONS:
            raise ValueError(f"resources.precision: expected one of {', '.join(PRECISIONS)}, got {self.precision!r}")


class ResumableRandomSampler(RandomSampler):
    """torch's RandomSampler (same order from the same generator) whose next pass can begin part-way.

    The skipped indices are still drawn, so the generator moves exactly as in an unbroken pass.
    """

    skip = 0  # indices to pass over at the start of the next pass (set by BatchStream on resume)

    def __iter__(self) -> Iterator[int]:
        indices = super().__iter__()
        skip, self.skip = self.skip, 0
        for _ in itertools.islice(indices, skip):
            pass
        yield from indices


def shuffled_loader(
    dataset: Dataset, batch_size: int, *, seed: int, num_workers: int, device: torch.device
) -> DataLoader:
    """A training loader: reshuffled each pass from a seeded generator, batches of equal count."""
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=ResumableRandomSampler(dataset, generator=generator),
        drop_last=len(dataset) >= batch_size,
        num_workers=num_workers,
        collate_fn=pad_collate,
        generator=generator,  # also seeds each pass's workers
        pin_memory=device.type == "cuda",
    )


class BatchStream:
    """Endless batches from a :func:`shuffled_loader`, reshuffled each pass, whose place can be saved.

    Its state is the loader's generator as the current pass began and how many batches of that pass
    were taken. Restored, the pass draws the same order and continues after those batches: without
    workers, their indices are skipped unloaded (augmentation draws from this process's RNGs, which
    the checkpoint restores as they were after them); with workers, which reseed at each pass's
    start, they are loaded again and dropped (at most one pass of loading).
    """

    def __init__(self, loader: DataLoader):
        if not isinstance(loader.sampler, ResumableRandomSampler) or loader.generator is None:
            raise TypeError("BatchStream: expected a loader made by shuffled_loader")
        self.loader = loader
        self._pass_start = loader.generator.get_state()
        self._taken = 0  # batches of the current pass handed out
        self._resume_at = 0  # batches of the first pass to pass over

    def __iter__(self) -> Iterator:
        while True:
            self._pass_start = self.loader.generator.get_state()  # before the pass draws its seed and order
            skip, self._resume_at = self._resume_at, 0
            if self.loader.num_workers == 0:
                self.loader.sampler.skip = skip * self.loader.batch_size
                batches = iter(self.loader)
            else:
                batches = iter(self.loader)
                for _ in itertools.islice(batches, skip):
                    pass
            self._taken = skip
            for batch in batches:
                self._taken += 1
                yield batch

    def state_dict(self) -> dict[str, Any]:
        return {"pass_start": self._pass_start, "taken": self._taken}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue, from the next batch asked for, where the stream that saved ``state`` stood."""
        self.loader.generator.set_state(state["pass_start"])
        self._resume_at = state["taken"]


class Resumable(Protocol):
    """An endless iterable of batches whose place a checkpoint can hold (BatchStream, train_dis's pairs)."""

    def __iter__(self) -> Iterator: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


def rng_states(device: torch.device) -> dict[str, Any]:
    """Every global RNG training draws from: Python's (augmentation), NumPy's, torch's CPU and CUDA ones,
    as tensors and plain values, so that a checkpoint is read with ``weights_only=True``."""
    version, internal, gauss_next = random.getstate()
    name, key, pos, has_gauss, cached_gaussian = np.random.get_state()
    return {
        "python": {"version": version, "internal": torch.tensor(internal, dtype=torch.int64), "gauss_next": gauss_next},
        "numpy": {"name": str(name), "key": torch.from_numpy(key.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(cached_gaussian)},
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if device.type == "cuda" else None,
    }  # fmt: skip


def set_rng_states(states: dict[str, Any], device: torch.device) -> None:
    python, numpy = states["python"], states["numpy"]
    random.setstate((python["version"], tuple(python["internal"].tolist()), python["gauss_next"]))
    np.random.set_state((numpy["name"], numpy["key"].numpy().astype(np.uint32), numpy["pos"], numpy["has_gauss"],
                         numpy["cached_gaussian"]))  # fmt: skip
    torch.set_rng_state(states["torch"])
    if states["cuda"] is not None and device.type == "cuda":
        torch.cuda.set_rng_state_all(states["cuda"])


def make_optimizer(settings: TrainingSettings, parameters: Iterable[nn.Parameter]) -> torch.optim.Optimizer:
    """SGD with momentum (the papers'), or Adam with ``momentum`` as beta1."""
    if settings.optimizer == "adam":
        return torch.optim.Adam(
            parameters, lr=settings.lr, betas=(settings.momentum, 0.999), weight_decay=settings.weight_decay
        )
    return torch.optim.SGD(parameters, lr=settings.lr, momentum=settings.momentum, weight_decay=settings.weight_decay)


def poly_schedule(settings: TrainingSettings, optimizer: torch.optim.Optimizer) -> Callable[[int], float]:
    """Sets the optimizer's learning rate each iteration: ``constant``, or DeepLab's ``poly``
    (lr * (1 - iteration / iterations) ** 0.9); returns it for the log."""

    def schedule(iteration: int) -> float:
        lr = settings.lr
        if settings.lr_policy == "poly":
            lr *= (1 - iteration / settings.iterations) ** 0.9
        for group in optimizer.param_groups:
            group["lr"] = lr
        return lr

    return schedule


CHECKPOINT_FORMAT = 4  # bumped when a checkpoint's contents change; other formats are not resumed


def fit(
    step: Callable[[tuple[torch.Tensor, ...]], dict[str, float]],
    *,
    loader: DataLoader | Resumable,
    iterations: int,
    schedule: Callable[[int], float],
    stateful: dict[str, Any],
    settings: dict,
    checkpoint_path: Path,
    checkpoint_every: int,
    device: torch.device,
    description: str,
    inputs: dict[str, Any] | None = None,
) -> list[dict]:
    """Run ``step`` on ``iterations`` batches; return the log rows (iteration, losses, lr, seconds).

    ``loader`` is a :func:`shuffled_loader` or any stream of batches with a state (train_dis's
    pairs). ``schedule(iteration)`` sets the learning rate(s) for an iteration and returns the one
    to log; a function of the iteration alone, it needs no state of its own. ``stateful`` names
    everything with a ``state_dict`` that a checkpoint must hold (model, optimizers, grad scaler).

    Every ``checkpoint_every`` iterations, ``checkpoint_path`` is replaced atomically by one holding
    those states, the batch stream's place, every RNG state, the iteration and the log so far. A
    checkpoint of the same format, ``settings`` and ``inputs`` (:func:`input_identity` of the files
    the run reads: its data, a model it starts from) is resumed, so that a run killed at any point and
    started again ends bit for bit where an unbroken one would (on CPU; tests/test_training.py). One
    of other settings or inputs is set aside; one whose states do not fit is moved aside.
    """
    inputs = inputs or {}
    batches = BatchStream(loader) if isinstance(loader, DataLoader) else loader
    log_rows: list[dict] = []
    start = 0
    state = read_training_checkpoint(checkpoint_path)
    if state is not None:
        if state.get("format") != CHECKPOINT_FORMAT or "settings" not in state or "inputs" not in state:
            print(f"ignoring {checkpoint_path}: written by another version of tagseg.core.training", file=sys.stderr)
        elif state["settings"] != settings:
            print(f"ignoring {checkpoint_path}: it was written with other settings", file=sys.stderr)
        elif state["inputs"] != inputs:
            changed = sorted(
                name for name in {**inputs, **state["inputs"]} if state["inputs"].get(name) != inputs.get(name)
            )
            print(f"ignoring {checkpoint_path}: {', '.join(changed)} changed since it was written; training starts afresh",
                  file=sys.stderr)  # fmt: skip
        elif _resume(state, stateful, batches, device, checkpoint_path):
            start, log_rows = state["iteration"], state["log"]
            print(f"resuming from {checkpoint_path} at iteration {start}", file=sys.stderr)
    stream = iter(batches)

    began = time.perf_counter()
    progress = tqdm(range(start, iterations), desc=description, mininterval=5, file=sys.stderr)
    for iteration in progress:
        lr = schedule(iteration)
        batch = tuple(t.to(device, non_blocking=True) for t in next(stream))
        losses = step(batch)
        if not all(map(math.isfinite, losses.values())):
            raise FloatingPointError(f"loss became {losses} at iteration {iteration + 1}; lower train.lr")
        log_rows.append(
            {"iteration": iteration + 1, **losses, "lr": lr, "seconds": round(time.perf_counter() - began, 3)}
        )
        progress.set_postfix({k: f"{v:.3f}" for k, v in losses.items()}, refresh=False)
        if (iteration + 1) % checkpoint_every == 0 and iteration + 1 < iterations:
            state = {name: obj.state_dict() for name, obj in stateful.items()}
            state.update(format=CHECKPOINT_FORMAT, settings=settings, inputs=inputs, iteration=iteration + 1,
                         log=log_rows, batches=batches.state_dict(), rng=rng_states(device))  # fmt: skip
            save_atomic(state, checkpoint_path)
    return log_rows


def read_training_checkpoint(path: Path) -> dict | None:
    """The training checkpoint at ``path``, or None where there is none.

    It is read with ``weights_only=True``, so nothing in it runs. One that cannot be read (cut short,
    empty, not torch's format, or holding objects other than tensors and plain values) is moved aside
    to ``<stem>.unreadable[.N].pt``, never over an earlier one, with a line saying so; training then
    starts afresh instead of failing at every rerun and retry.
    """
    if not path.exists():
        return None
    try:
        state = read_tensors(path)
        if isinstance(state, dict):
            return state
        reason = f"it holds a {type(state).__name__}, not a checkpoint"
    except UnreadableFile as error:
        reason = error.reason
    _move_aside(path, f"not a readable training checkpoint ({reason})")
    return None


def _move_aside(path: Path, what: str) -> None:
    aside = io.free_name(path.with_name(f"{path.stem}.unreadable{path.suffix}"))
    path.rename(aside)
    print(f"warning: {path}: {what}; moved to {aside.name}, training starts afresh", file=sys.stderr)


def _resume(state: dict, stateful: dict[str, Any], batches: BatchStream | Resumable, device: torch.device,
            path: Path) -> bool:  # fmt: skip
    """Load a checkpoint's states into ``stateful``, the batch stream and the RNGs; True if they fit.

    A checkpoint of the right settings whose states do not fit (a key missing, a tensor of another
    shape: made by hand, or by a network changed in code) is moved aside, and everything is put back
    as it was before the attempt, so that training starts afresh as if there had been none.
    """
    before = {name: copy.deepcopy(obj.state_dict()) for name, obj in stateful.items()}
    before_batches, before_rng = copy.deepcopy(batches.state_dict()), rng_states(device)
    try:
        for name, obj in stateful.items():
            obj.load_state_dict(state[name])
        batches.load_state_dict(state["batches"])
        set_rng_states(state["rng"], device)
        int(state["iteration"]), list(state["log"])
    except (KeyError, TypeError, ValueError, RuntimeError, IndexError, AttributeError) as error:
        for name, obj in stateful.items():
            obj.load_state_dict(before[name])
        batches.load_state_dict(before_batches)
        set_rng_states(before_rng, device)
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        _move_aside(path, f"its states do not fit this run ({type(error).__name__}: {reason[:200]})")
        return False
    return True


def input_identity(paths: Iterable[str | os.PathLike]) -> dict[str, list[int]]:
    """Each file's size and modification time (ns), by path: what a checkpoint's inputs must match.

    Rebuilding a cache or retraining a model a run starts from changes them, so a checkpoint
    written before is not resumed on other data; a run resumed on the same node or another node of
    a shared file system sees the same values. For a folder, its files, one level down.
    """
    identity = {}
    for path in map(Path, paths):
        for file in sorted(path.iterdir()) if path.is_dir() else [path]:
            if file.is_file():
                stat = file.stat()
                identity[str(file)] = [stat.st_size, stat.st_mtime_ns]
    return identity


def save_atomic(obj: Any, path: Path) -> None:
    """torch.save under a temporary name, then rename: a kill mid-write leaves the previous file whole."""
    with io.atomic_path(path) as tmp:
        torch.save(obj, tmp)


@dataclass
class Plan:
    """What a trainer hands :func:`run`: everything that differs from one model family to another."""

    network: nn.Module  # saved as model.pt at the end (its state_dict)
    kind: str  # its family in model.pt (tagseg.core.checkpoint.KINDS)
    config: dict[str, Any]  # what rebuilds it (model.pt's config)
    step: Callable[[tuple[torch.Tensor, ...]], dict[str, float]]  # one iteration on a batch -> losses
    loader: DataLoader | Resumable  # the batches, a shuffled_loader or a stream with a state
    schedule: Callable[[int], float]  # sets the learning rate(s) of an iteration, returns the one to log
    stateful: dict[str, Any]  # everything with a state_dict a checkpoint must hold (network, optimizers...)
    iterations: int  # how many steps
    description: str  # the progress bar's label
    precision: Precision = FP32  # what the step runs in (recorded in run.json)
    inputs: list[str | os.PathLike] = field(
        default_factory=list
    )  # files and folders it reads (its data, a model it starts from)


def run(settings: TrainingSettings, out_dir: str | os.PathLike, prepare: Callable[[torch.device], Plan]) -> Path:
    """Train and leave model.pt, train_log.csv and run.json in ``out_dir``; returns model.pt's path.

    Sets the run up (seed, threads, device: tagseg.core.runtime.setup), then ``prepare(device)``
    builds the plan (in the order the trainer draws from the seeded generators), :func:`fit` runs it
    with checkpoints in ``out_dir/checkpoint.pt``, and :func:`write_run` saves the result.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    device = runtime.setup(settings.seed, settings.threads, settings.device)
    plan = prepare(device)
    plan.network.train()
    log_rows = fit(
        plan.step, loader=plan.loader, iterations=plan.iterations, schedule=plan.schedule, stateful=plan.stateful,
        settings=asdict(settings),
        checkpoint_path=out / "checkpoint.pt", checkpoint_every=settings.checkpoint_every, device=device,
        description=plan.description, inputs=input_identity(plan.inputs),
    )  # fmt: skip
    record = runtime.run_record(settings, device, plan.precision)
    return write_run(out, Checkpoint(plan.kind, plan.config, plan.network.state_dict(), record), log_rows)


def write_run(out: Path, checkpoint: Checkpoint, log_rows: list[dict]) -> Path:
    """Leave a finished run's files: model.pt (``checkpoint``), train_log.csv, run.json (its run record).

    Each is written under a temporary name and renamed, model.pt last (an older one is removed
    first, so it never stands beside a newer curve); then the training checkpoint is dropped.
    """
    fields = list(dict.fromkeys(key for row in log_rows for key in row))
    (out / "model.pt").unlink(missing_ok=True)
    with io.atomic_path(out / "train_log.csv") as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(log_rows)
    io.write_json(out / "run.json", checkpoint.run)
    save(out / "model.pt", checkpoint)
    (out / "checkpoint.pt").unlink(missing_ok=True)
    return out / "model.pt"
