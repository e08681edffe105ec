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
import zipfile
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
        payload = torch.load(path, map_location=device, weights_only=True)
    except pickle.UnpicklingError:  # weights_only refused an object: the file holds more than tensors and plain values
        raise ValueError(f"{path}: not a tagseg model file (it holds objects other than tensors and plain values)") from None
    except (zipfile.BadZipFile, EOFError, RuntimeError, ValueError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ValueError(f"{path}: not a readable model file ({reason}); delete it and rerun the job that writes it") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{path}: not a model file of this version of tagseg; rerun the job that writes it")
    if payload["kind"] != kind:
        raise ValueError(f"{path}: a {payload['kind']} model, expected a {kind} model")
    return Checkpoint(kind=payload["kind"], config=payload["config"], state=payload["state"], run=payload["run"])
