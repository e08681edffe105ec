"""Time and peak memory of verifying (md5) and extracting a VOC-sized archive, made here, measured
in one run beside md5sum and tar(1) on the same file.

    python bench/extract_cost.py                      # a ~2 GB tar in /tmp, deleted afterwards
    python bench/extract_cost.py --gb 0.5 --format tgz

The members are incompressible random bytes of JPEG sizes (60-180 kB, about VOC2012's), so
neither the page cache's compression nor gzip flatters the numbers. Each step runs in a fresh
process whose own peak RSS (getrusage ru_maxrss) is reported; the archive is read from a warm page
cache (it was just written), so the times are the code's, not the disk's.
"""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

from tagseg.data.download import file_md5

# each step is one fresh interpreter: imports, the step, then its elapsed time and peak RSS (kB)
STEP = """
import resource, sys, time
from tagseg.data.download import file_md5
from tagseg.data.extract import extract, scan
archive, into, md5 = sys.argv[1:4]
start = time.perf_counter()
{call}
print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
STEPS = {
    "python startup + imports": "pass",
    "md5 only (file_md5)": "file_md5(archive)",
    "md5 + member checks (scan)": "scan(archive)",
    "verify + extract (extract --md5)": "extract(archive, into, into + '/.extracted', md5)",  # as the rule runs it
}


def make_archive(path: Path, target_bytes: int, compress: bool, seed: int = 0) -> tuple[int, int]:
    """Write a tar (or tgz) of random JPEG-sized members under VOCdevkit/VOC2012/JPEGImages; (members, bytes)."""
    rng = np.random.default_rng(seed)
    members = total = 0
    options = {"mode": "w:gz", "compresslevel": 1} if compress else {"mode": "w"}  # level 1: random data won't shrink
    with tarfile.open(path, **options) as tar:
        while total < target_bytes:
            data = rng.bytes(int(rng.integers(60_000, 180_000)))
            info = tarfile.TarInfo(f"VOCdevkit/VOC2012/JPEGImages/2012_{members:06d}.jpg")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
            members, total = members + 1, total + len(data)
    return members, total


def run_step(call: str, archive: Path, into: Path, md5: str) -> tuple[float, float]:
    """(seconds, peak RSS in MiB) of one step in a fresh process."""
    shutil.rmtree(into, ignore_errors=True)
    into.mkdir()
    out = subprocess.run([sys.executable, "-c", STEP.format(call=call), str(archive), str(into), md5],
                         capture_output=True, text=True, check=True).stdout.split()  # fmt: skip
    return float(out[0]), int(out[1]) / 1024


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gb", type=float, default=2.0, help="archive size in GB (10^9 bytes) of member data")
    parser.add_argument("--format", choices=["tar", "tgz"], default="tar", help="tar (VOC's) or tgz (SBD's)")
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()), help="where to make the files")
    args = parser.parse_args()
    free = shutil.disk_usage(args.dir).free
    if free < 2.5 * args.gb * 1e9:
        sys.exit(f"error: {args.dir}: {free / 1e9:.1f} GB free, need {2.5 * args.gb:.1f} GB (archive + extracted copy)")
    work = Path(tempfile.mkdtemp(prefix="extract_cost-", dir=args.dir))
    try:
        archive, into = work / f"archive.{args.format}", work / "into"
        start = time.perf_counter()
        members, data_bytes = make_archive(archive, int(args.gb * 1e9), args.format == "tgz")
        size = archive.stat().st_size
        print(f"made {archive}: {size / 1e9:.2f} GB on disk, {members} members, {data_bytes / 1e9:.2f} GB of data "
              f"({time.perf_counter() - start:.0f} s)")  # fmt: skip
        md5 = file_md5(archive)
        rows = [(name, *run_step(call, archive, into, md5)) for name, call in STEPS.items()]
        shutil.rmtree(into, ignore_errors=True)
        md5sum = timed(["md5sum", str(archive)])
        into.mkdir()
        gnu_tar = timed(["tar", "-xf", str(archive), "-C", str(into)])
        print("\n| step | seconds | MB/s of archive | peak RSS (MiB) |\n|---|---|---|---|")
        for name, seconds, rss in rows:
            rate = f"{size / 1e6 / seconds:.0f}" if name != "python startup + imports" else "-"
            print(f"| {name} | {seconds:.1f} | {rate} | {rss:.0f} |")
        print(f"| reference: md5sum | {md5sum:.1f} | {size / 1e6 / md5sum:.0f} | - |")
        print(f"| reference: tar -xf | {gnu_tar:.1f} | {size / 1e6 / gnu_tar:.0f} | - |")
        extract_s, extract_rss = rows[-1][1], rows[-1][2]
        print(f"\nverify + extract over tar -xf: {extract_s / gnu_tar:.2f}x; over md5sum + tar -xf: "
              f"{extract_s / (md5sum + gnu_tar):.2f}x; peak RSS {extract_rss:.0f} MiB for a {size / 2**20:.0f} MiB archive "
              f"({extract_rss - rows[0][2]:.0f} MiB over the bare interpreter)")  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)  # the 2 GB archive and its extracted copy


if __name__ == "__main__":
    main()
