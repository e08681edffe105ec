"""One file format for every trained model: ``model.pt`` holds ``{format, kind, config, state, run}``.

``kind`` names the model family (``fcn``, ``classifier``, ``dis``), ``config`` is what rebuilds the
network before its weights are loaded (plain values), ``state`` its ``state_dict`` and ``run`` the
run record it was trained under (tagseg.core.runtime.run_record). Files are read with
``weights_only=True``: loading one runs no code from it. Each family's ``load_*`` (next to its
model) turns a :class:`Checkpoint` back into a network.
"""

from __future__ import annotations

import os
import pickle
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from tagseg.core.io import atomic_path

FORMAT = 1  # bumped when the payload's layout changes
KINDS = ("fcn", "classifier", "dis")


@dataclass(frozen=True)
class Checkpoint:
    kind: str  # the model family, one of KINDS
    config: dict[str, Any]  # what rebuilds the network (plain values)
    state: dict[str, torch.Tensor]  # the network's state_dict
    run: dict[str, Any]  # the run record: settings, commit, machine


class UnreadableFile(ValueError):
    """A file torch cannot read with ``weights_only=True``: damaged, or holding objects that would run code."""

    def __init__(self, path: Path, reason: str, objects: bool):
        super().__init__(f"{path}: {reason}")
        self.path, self.reason, self.objects = path, reason, objects


def read_tensors(path: str | os.PathLike, device: torch.device | str = "cpu") -> Any:
    """``torch.load(path, weights_only=True)``: nothing in the file runs. Raises :class:`UnreadableFile`
    with a one-line reason (never torch's advice to lift ``weights_only``) where it cannot be read."""
    path = Path(path)
    try:
        return torch.load(path, map_location=device, weights_only=True)
    except pickle.UnpicklingError as error:
        if re.search(r"unsupported (global|class)", str(error), re.IGNORECASE):
            raise UnreadableFile(path, "it holds objects other than tensors and plain values, which are not loaded",
                                 objects=True) from None  # fmt: skip
        raise UnreadableFile(path, "not in torch's format, or cut short", objects=False) from None
    except Exception as error:  # noqa: BLE001 - a damaged file fails in many ways inside torch.load
        reason = str(error).splitlines()[0] if str(error).strip() else type(error).__name__
        if "weights_only" in reason:  # torch's advice to lift the guard, not a reason
            reason = "not in torch's format, or cut short"
        raise UnreadableFile(path, reason, objects=False) from None


def save(path: str | os.PathLike, checkpoint: Checkpoint) -> None:
    """Write ``checkpoint`` to ``path`` atomically."""
    if checkpoint.kind not in KINDS:
        raise ValueError(f"checkpoint kind: expected one of {', '.join(KINDS)}, got {checkpoint.kind!r}")
    payload = {"format": FORMAT, "kind": checkpoint.kind, "config": checkpoint.config, "state": checkpoint.state,
               "run": checkpoint.run}  # fmt: skip
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load(path: str | os.PathLike, kind: str, device: torch.device | str = "cpu") -> Checkpoint:
    """Read a model file written by :func:`save`, its tensors on ``device``; an error names the file if it
    is missing, unreadable, of another format or of another kind than ``kind``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such model file")
    try:
        payload = read_tensors(path, device)
    except UnreadableFile as error:
        advice = "" if error.objects else "; delete it and rerun the job that writes it"
        raise ValueError(
            f"{path}: not {'a tagseg' if error.objects else 'a readable'} model file ({error.reason}){advice}"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{path}: not a model file of this version of tagseg; rerun the job that writes it")
    if payload["kind"] != kind:
        raise ValueError(f"{path}: a {payload['kind']} model, expected a {kind} model")
    return Checkpoint(kind=payload["kind"], config=payload["config"], state=payload["state"], run=payload["run"])
