"""Every command's shell: flags made from a settings dataclass, and one way to end on a bad input.

A settings class reads like nanoGPT's config: one field a line, with a comment that says what it is.
That comment becomes the flag's help (``--help``). Rules pass settings with :func:`to_flags`.
:func:`command` wraps a ``main``: an error a user's input can cause becomes one line on stderr,
``error: <what, naming the file or key>``, and exit status 1.
"""

from __future__ import annotations

import argparse
import functools
import inspect
import re
import shlex
import signal
import sys
import threading
import typing
from dataclasses import MISSING, fields
from typing import Any, Callable

_FIELD_COMMENT = re.compile(r"^\s+(\w+)\s*:[^#]*#\s*(.+)$")


def _field_comments(cls: type) -> dict[str, str]:
    comments = {}
    for klass in reversed([k for k in cls.__mro__ if k is not object]):  # subclasses override
        for line in inspect.getsource(klass).splitlines():
            match = _FIELD_COMMENT.match(line)
            if match:
                comments[match.group(1)] = match.group(2).strip()
    return comments


def _parse_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def add_dataclass_arguments(parser: argparse.ArgumentParser, cls: type) -> None:
    """Add ``--field-name`` for each field of ``cls``; tuples of numbers take several values."""
    comments = _field_comments(cls)
    hints = typing.get_type_hints(cls)
    group = parser.add_argument_group(f"{cls.__name__} settings")
    for f in fields(cls):
        hint = hints[f.name]
        default = f.default if f.default is not MISSING else f.default_factory()  # type: ignore[misc]
        kwargs: dict[str, Any] = {"default": default, "help": f"{comments.get(f.name, '')} (default: {default})"}
        origin = typing.get_origin(hint)
        if hint is bool:
            kwargs.update(type=_parse_bool, metavar="BOOL")
        elif origin is tuple:
            kwargs.update(type=typing.get_args(hint)[0], nargs="+")
        elif origin is typing.Literal:
            choices = typing.get_args(hint)
            kwargs.update(type=type(choices[0]), choices=choices)
        else:
            kwargs.update(type=hint)
        group.add_argument(f"--{f.name.replace('_', '-')}", dest=f.name, **kwargs)


def dataclass_from_arguments(cls: type, args: argparse.Namespace) -> Any:
    """Build the (frozen) settings object from parsed arguments; its ``__post_init__`` validates."""
    values = {}
    for f in fields(cls):
        value = getattr(args, f.name)
        values[f.name] = tuple(value) if isinstance(value, list) else value
    return cls(**values)


PRECISIONS = ("auto", "fp32", "bf16")  # resources.precision (tagseg.core.precision)


def add_precision_argument(parser: argparse.ArgumentParser) -> None:
    """The ``--precision`` flag of a command that runs a model (resources.precision; tagseg.core.precision)."""
    parser.add_argument("--precision", choices=PRECISIONS, default="auto",
                        help="auto (bf16 where shown as good on a CPU with native bf16, AMP on CUDA), fp32 or bf16")  # fmt: skip


def check_outputs(parser: argparse.ArgumentParser, outputs: list[str], flags: str) -> None:
    """A command asked for several results: at least one, and no output path named twice."""
    if not outputs:
        parser.error(f"nothing to do: give {flags}")
    twice = sorted({out for out in outputs if outputs.count(out) > 1})
    if twice:
        parser.error(f"an output named twice: {twice[0]}")


def to_flags(settings: dict[str, Any]) -> str:
    """``{"batch_size": 8, "scale_range": [0.5, 2]}`` -> ``--batch-size 8 --scale-range 0.5 2``.

    Each value is quoted for the shell where it needs to be (a path with a space in it).
    """
    parts = []
    for key, value in settings.items():
        flag = f"--{key.replace('_', '-')}"
        values = value if isinstance(value, (list, tuple)) else [value]
        parts.append(" ".join([flag, *(shlex.quote(str(v)) for v in values)]))
    return " ".join(parts)


# What a bad file, config value or missing input raises (json's and pandas' parse errors are ValueErrors);
# anything else is a bug and keeps its traceback.
USER_ERRORS = (OSError, ValueError, KeyError, RuntimeError, FloatingPointError)


def _stop(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def command(main: Callable[[list[str] | None], int | None]) -> Callable[[list[str] | None], int]:
    """Wrap a command's ``main(argv)``: it returns 0 (or its own status), or 1 after printing the error.

    SIGTERM (what SLURM sends at a job's time limit, and snakemake to the jobs of a run it stops)
    ends the command as an exception would, exit status 143: Python's default would end it on the
    spot, leaving every temporary file of the writes under way behind; so the clean-up runs.
    """

    @functools.wraps(main)
    def wrapped(argv: list[str] | None = None) -> int:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _stop)
        try:
            status = main(argv)
        except USER_ERRORS as error:
            message = error.args[0] if isinstance(error, KeyError) and error.args else error
            print(f"error: {message}", file=sys.stderr)
            return 1
        return 0 if status is None else status

    return wrapped
