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
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from tagseg import runtime
from tagseg.data.loading import pad_collate


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


def make_optimizer(
    name: str, parameters: Iterable[nn.Parameter], *, lr: float, momentum: float, weight_decay: float
) -> torch.optim.Optimizer:
    """SGD with momentum (the papers'), or Adam with ``momentum`` as beta1."""
    if name == "adam":
        return torch.optim.Adam(parameters, lr=lr, betas=(momentum, 0.999), weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(parameters, lr=lr, momentum=momentum, weight_decay=weight_decay)
    raise ValueError(f"train.optimizer: expected one of sgd, adam, got {name!r}")


def learning_rate(base: float, policy: str, iteration: int, iterations: int) -> float:
    """``constant`` (FCN's solver) or DeepLab's ``poly``: base * (1 - iteration / iterations) ** 0.9."""
    if policy == "poly":
        return base * (1 - iteration / iterations) ** 0.9
    return base


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
