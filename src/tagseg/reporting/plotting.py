"""What every figure command shares: reading result files, and writing a figure as the report shows it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from tagseg.core import io  # noqa: E402


def read_results(paths: list[Path]) -> list[dict]:
    """The JSON result files a figure is made from, in the given order."""
    loaded = []
    for path in paths:
        try:
            loaded.append(json.loads(Path(path).read_text()))
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}: not JSON ({error})") from None
    return loaded


def save(fig: plt.Figure, out: str | os.PathLike, dpi: int = 150) -> None:
    """Lay out and write a figure (atomically: a failed run leaves no complete-looking file), then close it."""
    fig.tight_layout()
    io.save_figure(out, fig, dpi=dpi)
