"""The README's generated sections: what lies between a start and an end marker is rewritten from a CSV.

The claims section (python -m tagseg.reporting.claims readme) and the performance section
(python bench/suite.py readme) both go through :func:`replace_section`.
"""

from __future__ import annotations

from pathlib import Path

from tagseg.core import io


def replace_section(readme: Path, section: str, start: str, end: str) -> None:
    """Replace what lies between the ``start`` and ``end`` markers (``section`` holds them both)."""
    text = readme.read_text()
    if start not in text or end not in text:
        raise ValueError(f"{readme}: no '{start}' ... '{end}' markers to replace")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    io.write_text(readme, head + section + tail)
