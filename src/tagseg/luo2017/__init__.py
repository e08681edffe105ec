"""luo2017, *Deep Dual Learning for Semantic Image Segmentation* (DIS, ICCV 2017).

The dual network and its losses in :mod:`.network`; the iterative inference of u1 and v1 in
:mod:`.inference` (the paper's loop) and :mod:`.inference_reduced` (the same iterates through
u3 and v3); the two training stages in :mod:`.stages`; the commands :mod:`.train_dis`, :mod:`.step_size` (the inference step chosen on val),
:mod:`.evaluate_dis`, :mod:`.export`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

# How the inference steps on u1 and v1 are taken (config dis.inference): the paper's loop, or the
# same iterates through u3 and v3. Here, without torch, for the commands' flags.
INFERENCE_ROUTES = ("literal", "reduced")


# The step size of inference, chosen on val by tagseg.luo2017.step_size; here, without torch, for the
# commands that read its choice.


def read_step_size(path: str | Path) -> float:
    """The step size a selection file (tagseg.luo2017.step_size.select's JSON) chose; a clear error if it is not one."""
    try:
        value = json.loads(Path(path).read_text())["step_size"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{path}: not a step-size selection (a JSON object with 'step_size'; {error})") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{path}: 'step_size' must be a positive number, got {value!r}")
    return float(value)


def add_step_size_from(parser: argparse.ArgumentParser) -> None:
    """The ``--step-size-from FILE`` flag of a command that runs inference: the step a selection chose,
    in place of ``--step-size``."""
    parser.add_argument("--step-size-from", metavar="FILE",
                        help="take the step size a selection chose (python -m tagseg.luo2017.step_size) instead of --step-size")  # fmt: skip


def step_size_from_arguments(args: argparse.Namespace) -> float:
    """``--step-size-from``'s choice where given, else ``--step-size``."""
    return read_step_size(args.step_size_from) if args.step_size_from else args.step_size
