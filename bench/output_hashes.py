"""Hash a run's tables and figures, or compare two runs', timing columns aside.

A change that should not move any number (a refactor, a faster kernel that keeps the bits) is
proven by running the same DAG before and after it and comparing what it wrote:

    python bench/output_hashes.py hash results > before.sha256      # every table and figure
    python bench/output_hashes.py compare before.sha256 results       # exit 1 and the differing files

The hashed files are those under ``<results>/tables/`` and ``<results>/figures/``. What times the
jobs is left out: ``runtime.csv`` entirely, and the milliseconds columns of luo2017 Table 4 (the
file is hashed with those columns dropped). Each line is ``<sha256>  <path relative to results>``;
lines starting with ``#`` are comments.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import sys
from pathlib import Path

SKIPPED = {"tables/runtime.csv"}  # the benchmark files summed: wall time by definition
TIMING_COLUMNS = {"tables/luo2017_table4.csv": lambda column: column.startswith("ms_")}


def file_hash(path: Path, relative: str) -> str:
    """sha256 of the file's bytes, or of its CSV rows without the timing columns where it has any."""
    data = path.read_bytes()
    timing = TIMING_COLUMNS.get(relative)
    if timing is not None:
        rows = list(csv.reader(io.StringIO(data.decode())))
        keep = [i for i, column in enumerate(rows[0]) if not timing(column)] if rows else []
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows([[row[i] for i in keep] for row in rows])
        data = out.getvalue().encode()
    return hashlib.sha256(data).hexdigest()


def hashes(results: Path) -> dict[str, str]:
    """``{relative path: hash}`` of every table and figure under ``results``."""
    found = {}
    for folder in ("tables", "figures"):
        for path in sorted((results / folder).rglob("*")):
            relative = path.relative_to(results).as_posix()
            if path.is_file() and relative not in SKIPPED and not path.name.startswith("."):
                found[relative] = file_hash(path, relative)
    if not found:
        raise ValueError(f"{results}: no files under tables/ or figures/")
    return found


def read_manifest(path: Path) -> dict[str, str]:
    manifest = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if line.startswith("#") or not line.strip():
            continue
        digest, _, relative = line.partition("  ")
        if len(digest) != 64 or not relative:
            raise ValueError(f"{path}:{number}: expected '<sha256>  <path>', got {line!r}")
        manifest[relative] = digest
    return manifest


def compare(expected: dict[str, str], actual: dict[str, str]) -> list[str]:
    """One line per file that differs, is missing, or is new."""
    problems = []
    for relative in sorted(set(expected) | set(actual)):
        if relative not in actual:
            problems.append(f"missing: {relative}")
        elif relative not in expected:
            problems.append(f"new: {relative}")
        elif expected[relative] != actual[relative]:
            problems.append(f"differs: {relative}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    hash_parser = commands.add_parser("hash", help="print the manifest of a results folder")
    hash_parser.add_argument("results", type=Path)
    compare_parser = commands.add_parser("compare", help="compare a results folder (or manifest) with a manifest")
    compare_parser.add_argument("expected", type=Path, help="a manifest written by 'hash'")
    compare_parser.add_argument("actual", type=Path, help="a results folder, or another manifest")
    args = parser.parse_args(argv)
    try:
        if args.command == "hash":
            for relative, digest in hashes(args.results).items():
                print(f"{digest}  {relative}")
            return 0
        expected = read_manifest(args.expected)
        actual = hashes(args.actual) if args.actual.is_dir() else read_manifest(args.actual)
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    problems = compare(expected, actual)
    for line in problems:
        print(line)
    print(f"{len(expected)} files expected, {len(problems)} differ" if problems else f"{len(expected)} files identical")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
