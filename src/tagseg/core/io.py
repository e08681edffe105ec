"""Writing outputs so that a crash never leaves a half-written file that looks complete.

Every file the pipeline writes goes through :func:`atomic_path`: it is written under a temporary
name beside its destination (``.<stem>.tmp<suffix>``, so the suffix still says the format),
flushed to disk, and renamed over the destination only once it is whole. On any failure the
temporary file is removed and the destination is left as it was.

    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "scores.json"
    >>> write_json(out, {"mIoU": 0.5})
    >>> out.read_text()
    '{\\n  "mIoU": 0.5\\n}\\n'
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator


def temporary_path(path: str | os.PathLike) -> Path:
    """Where :func:`atomic_path` writes ``path`` before renaming it."""
    path = Path(path)
    return path.with_name(f".{path.stem}.tmp{path.suffix}")


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write ``path``'s contents to; on success it is synced and renamed to
    ``path`` (its folder made if need be), on failure removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_path(path)
    try:
        yield tmp
        _fsync(tmp)
        os.replace(tmp, path)
    except (OSError, RuntimeError) as error:  # a full disk, a lost mount: one line that names the file
        tmp.unlink(missing_ok=True)
        text = str(error).strip()
        if str(path) in text:
            raise
        reason = text.splitlines()[0] if text else type(error).__name__
        raise OSError(
            f"{path}: not written ({reason}); check that its disk has room and its folder is writable"
        ) from error
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _fsync(path: Path) -> None:
    """Flush a written file to disk, so that the rename never exposes a file the disk does not hold."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json(path: str | os.PathLike, payload: Any) -> None:
    """JSON, indented by two spaces, with a final newline."""
    write_text(path, json.dumps(payload, indent=2) + "\n")


def write_csv(path: str | os.PathLike, frame: Any) -> None:
    """A pandas DataFrame as CSV, without its index."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


def save_figure(path: str | os.PathLike, figure: Any, **savefig: Any) -> None:
    """A matplotlib figure (closed afterwards); ``savefig`` keywords (dpi, metadata) are passed on."""
    import matplotlib.pyplot as plt

    try:
        with atomic_path(path) as tmp:
            figure.savefig(tmp, **savefig)
    finally:
        plt.close(figure)


def free_name(path: str | os.PathLike) -> Path:
    """``path`` if nothing stands there, else the first free ``<stem>.<n><suffix>`` beside it (n = 1, 2, ...):
    where a file is moved aside, an earlier one moved there is never replaced."""
    path = Path(path)
    candidate, n = path, 0
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.stem}.{n}{path.suffix}")
    return candidate
