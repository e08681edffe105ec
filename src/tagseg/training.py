"""The training loop every model shares: iterations over an endless loader, a learning-rate schedule,
checkpoints with exact resume, the loss curve, and the files a finished run leaves behind.

A trainer supplies what differs (the model, its step, its settings); :func:`fit` does the rest.
"""

from __future__ import annotations

import csv
import itertools
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Literal

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from tagseg import runtime
from tagseg.data.loading import pad_collate


@dataclass(frozen=True)
class TrainingSettings:
    backbone: str = "vgg_tiny"  # vgg16 (the papers') or vgg_tiny (CPU scales)
    pretrained: bool = False  # initialise vgg16 from torchvision's ImageNet weights
    iterations: int = 1000  # optimiser steps (sun2018: 100,000 at batch size 1)
    batch_size: int = 8  # images per step
    optimizer: Literal["sgd", "adam"] = "sgd"  # sgd as the papers; adam for experiments
    lr: float = 0.01  # learning rate for the pixel- or class-averaged loss (REPRODUCTION.md F5)
    momentum: float = 0.9  # SGD momentum (Adam's beta1)
    weight_decay: float = 5e-4  # L2 penalty, as FCN
    lr_policy: Literal["constant", "poly"] = "poly"  # constant (FCN's solver) or poly (DeepLab's, power 0.9)
    crop_size: int = 64  # training crop, padded with void where the scaled image is smaller
    scale_range: tuple[float, float] = (0.75, 1.25)  # random rescaling range of training images
    checkpoint_every: int = 250  # iterations between checkpoints
    seed: int = 0  # seeds weights, data order and augmentation
    threads: int = 1  # torch CPU threads (the rule's threads)
    device: str = "auto"  # auto, cpu, cuda or cuda:N
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


def forever(loader: DataLoader) -> Iterator:
    """Cycle through a loader endlessly, reshuffling each pass (training counts iterations, not epochs)."""
    while True:
        yield from loader


def shuffled_loader(
    dataset: Dataset, batch_size: int, *, seed: int, num_workers: int, device: torch.device
) -> DataLoader:
    """A training loader: reshuffled each pass from a seeded generator, batches of equal count."""
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=True,
        drop_last=len(dataset) >= batch_size,
        num_workers=num_workers,
        collate_fn=pad_collate,
        generator=torch.Generator().manual_seed(seed),
        pin_memory=device.type == "cuda",
    )


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


def fit(
    step: Callable[[tuple[torch.Tensor, ...]], dict[str, float]],
    *,
    loader: DataLoader,
    iterations: int,
    schedule: Callable[[int], float],
    stateful: dict[str, Any],
    settings: dict,
    checkpoint_path: Path,
    checkpoint_every: int,
    device: torch.device,
    description: str,
) -> list[dict]:
    """Run ``step`` on ``iterations`` batches; return the log rows (iteration, losses, lr, seconds).

    ``schedule(iteration)`` sets the learning rate(s) for an iteration and returns the one to log.
    ``stateful`` names everything with a ``state_dict`` that a checkpoint must hold (model,
    optimizers, grad scaler). A checkpoint written with the same ``settings`` is resumed: weights,
    optimizer and RNG states are restored and the batches already seen are replayed (data only),
    so a resumed run ends where an unbroken one would.
    """
    log_rows: list[dict] = []
    start = 0
    if checkpoint_path.exists():
        state = torch.load(checkpoint_path, map_location=device, weights_only=False)
        if state["settings"] == settings:
            for name, obj in stateful.items():
                obj.load_state_dict(state[name])
            torch.set_rng_state(state["rng"])
            if state["cuda_rng"] is not None and device.type == "cuda":
                torch.cuda.set_rng_state_all(state["cuda_rng"])
            start, log_rows = state["iteration"], state["log"]
            print(f"resuming from {checkpoint_path} at iteration {start}", file=sys.stderr)
        else:
            print(f"ignoring {checkpoint_path}: it was written with other settings", file=sys.stderr)
    batches = itertools.islice(forever(loader), start, None)

    began = time.perf_counter()
    progress = tqdm(range(start, iterations), desc=description, mininterval=5, file=sys.stderr)
    for iteration in progress:
        lr = schedule(iteration)
        batch = tuple(t.to(device, non_blocking=True) for t in next(batches))
        losses = step(batch)
        if not all(map(math.isfinite, losses.values())):
            raise FloatingPointError(f"loss became {losses} at iteration {iteration + 1}; lower train.lr")
        log_rows.append({"iteration": iteration + 1, **losses, "lr": lr, "seconds": round(time.perf_counter() - began, 3)})
        progress.set_postfix({k: f"{v:.3f}" for k, v in losses.items()}, refresh=False)
        if (iteration + 1) % checkpoint_every == 0 and iteration + 1 < iterations:
            state = {name: obj.state_dict() for name, obj in stateful.items()}
            state.update(
                rng=torch.get_rng_state(),
                cuda_rng=torch.cuda.get_rng_state_all() if device.type == "cuda" else None,
                iteration=iteration + 1,
                log=log_rows,
                settings=settings,
            )
            tmp = checkpoint_path.with_suffix(".tmp")
            torch.save(state, tmp)
            os.replace(tmp, checkpoint_path)
    return log_rows


def write_run(out: Path, payload: dict, log_rows: list[dict], record: dict) -> Path:
    """Leave a finished run's files: model.pt (``payload`` + run record), train_log.csv, run.json.

    Each is written under a temporary name first; the checkpoint goes last.
    """
    fields = list(dict.fromkeys(key for row in log_rows for key in row))
    with open(out / ".train_log.csv.tmp", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(log_rows)
    torch.save({**payload, "run": record}, out / ".model.pt.tmp")
    os.replace(out / ".train_log.csv.tmp", out / "train_log.csv")
    os.replace(out / ".model.pt.tmp", out / "model.pt")
    runtime.write_json_atomic(out / "run.json", record)
    (out / "checkpoint.pt").unlink(missing_ok=True)
    return out / "model.pt"
