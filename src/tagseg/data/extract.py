"""Extract a tar archive (plain, gzip, bzip2 or xz) safely, streaming, and mark it done last.

Two passes over the file, neither holding it in memory. The first reads it once as a stream:
it computes the md5, reads every member's header, refuses the archive if any member could land
outside the target folder (an absolute path, ``..``, a symlink or hard link pointing out, a
device), and checks the archive is whole (it must end with tar's end-of-archive block). Only
then does the second pass extract, with the standard library's ``data`` filter as a second
guard, into a staging folder inside the target that is merged into place when complete. The
marker file is written last, so a rule whose output it is never looks complete early.

    python -m tagseg.data.extract --archive data/resources/archives/benchmark.tgz \
        --into data/resources --marker data/resources/.extracted_sbd --md5 82b4d87ceb2ed10f6038a1cba92111cb
"""

from __future__ import annotations

import argparse
import bz2
import filecmp
import glob
import gzip
import hashlib
import json
import lzma
import os
import posixpath
import shutil
import sys
import tarfile
import tempfile
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import BinaryIO

from tagseg.data.download import CHUNK, check_md5
from tagseg.core.cli import command

# compressed tar formats by their first bytes; anything else is read as a plain tar
_DECOMPRESSORS = {b"\x1f\x8b": gzip.GzipFile, b"BZh": bz2.BZ2File, b"\xfd7zXZ\x00": lzma.LZMAFile}
# what a damaged file raises while it is read, by the layer that notices
_CORRUPT = (tarfile.TarError, EOFError, zlib.error, lzma.LZMAError, gzip.BadGzipFile)


class ArchiveError(ValueError):
    """An archive refused or unreadable; the message is one line naming the file and why."""


@dataclass(frozen=True)
class ArchiveSummary:
    """What the first pass found: the archive's md5, member count and the bytes its files hold."""

    md5: str
    members: int
    bytes: int


class _HashingReader:
    """A read-only file that feeds every byte it hands out to an md5."""

    def __init__(self, raw: BinaryIO):
        self.raw = raw
        self.digest = hashlib.md5()

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.digest.update(data)
        return data


class _EndAwareTarInfo(tarfile.TarInfo):
    """Notes on the TarFile when its member list ended at the end-of-archive block.

    tarfile ends its member list quietly at a truncated or garbled header after the first one,
    as it does at the real end; only the zero block (EOFHeaderError) marks a whole archive.
    """

    @classmethod
    def fromtarfile(cls, tar):
        try:
            return super().fromtarfile(tar)
        except tarfile.EOFHeaderError:
            tar.reached_end_of_archive = True
            raise


def unsafe_reason(member: tarfile.TarInfo) -> str | None:
    """Why ``member`` could write outside the folder it is extracted into, or None if it cannot."""
    name = member.name
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return "absolute path"
    if ".." in name.replace("\\", "/").split("/"):
        return "'..' in its path"
    if member.issym() or member.islnk():
        kind = "symlink" if member.issym() else "hard link"
        if member.linkname.startswith(("/", "\\")):
            return f"{kind} to the absolute path {member.linkname!r}"
        # a symlink's target is relative to its own folder; a hard link's to the archive's root
        base = posixpath.dirname(name) if member.issym() else ""
        target = posixpath.normpath(posixpath.join(base, member.linkname))
        if target == ".." or target.startswith("../"):
            return f"{kind} to {member.linkname!r}, outside the target folder"
    elif not (member.isfile() or member.isdir()):
        return "a device or pipe, not a file, folder or link"
    return None


def _decompressed(archive: Path, raw: BinaryIO) -> BinaryIO:
    """``raw`` itself for a plain tar; a decompressing reader over it for gzip, bzip2 or xz."""
    with open(archive, "rb") as f:
        magic = f.read(6)
    for prefix, opener in _DECOMPRESSORS.items():
        if magic.startswith(prefix):
            return opener(fileobj=raw)
    return raw


def scan(archive: str | os.PathLike, md5: str | None = None) -> ArchiveSummary:
    """First pass: md5, member checks and completeness in one streaming read; ArchiveError if any fails."""
    archive, md5 = Path(archive), check_md5(md5) if md5 is not None else None
    members = size = 0
    with open(archive, "rb") as f:
        hashing = _HashingReader(f)
        stream = _decompressed(archive, hashing)
        try:
            with tarfile.open(fileobj=stream, mode="r|", tarinfo=_EndAwareTarInfo) as tar:
                for member in tar:
                    reason = unsafe_reason(member)
                    if reason:
                        raise ArchiveError(f"{archive}: member {member.name!r} is unsafe ({reason}); nothing extracted")
                    members, size = members + 1, size + member.size
                whole = getattr(tar, "reached_end_of_archive", False)
            while stream.read(CHUNK):  # the rest, so the md5 and a compressor's checksum see every byte
                pass
        except _CORRUPT as error:
            raise ArchiveError(f"{archive}: truncated or corrupt ({error}); nothing extracted") from None
        while hashing.read(CHUNK):
            pass
    if not whole:
        raise ArchiveError(
            f"{archive}: truncated or corrupt (no end-of-archive block after {members} members); nothing extracted"
        )
    got = hashing.digest.hexdigest()
    if md5 is not None and got != md5:
        raise ArchiveError(f"{archive}: md5 {got} != {md5}, the file is damaged or not this archive; nothing extracted")
    return ArchiveSummary(md5=got, members=members, bytes=size)


def _conflicts(staged: Path, into: Path) -> list[Path]:
    """The paths under ``into`` that hold something other than the archive's copy of them."""
    found = []
    for entry in os.scandir(staged):
        target = into / entry.name
        if not os.path.lexists(target):
            continue
        if entry.is_dir(follow_symlinks=False):
            found += _conflicts(Path(entry.path), target) if target.is_dir() and not target.is_symlink() else [target]
        elif target.is_symlink() or not target.is_file() or not filecmp.cmp(entry.path, target, shallow=False):
            found.append(target)
    return found


def _merge(staged: Path, into: Path) -> None:
    """Move everything under ``staged`` into ``into``; folders that exist there already are merged,
    and a file already there (the same as the archive's, :func:`_conflicts` made sure) is kept."""
    for entry in os.scandir(staged):
        target = into / entry.name
        if entry.is_dir(follow_symlinks=False) and target.is_dir():
            _merge(Path(entry.path), target)
        elif not os.path.lexists(target):
            os.replace(entry.path, target)


def _write_marker(marker: Path, record: dict) -> None:
    marker.parent.mkdir(parents=True, exist_ok=True)
    tmp = marker.with_name(f".{marker.name}.tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    os.replace(tmp, marker)


def extract(archive: str | os.PathLike, into: str | os.PathLike, marker: str | os.PathLike,
            md5: str | None = None) -> ArchiveSummary:  # fmt: skip
    """Verify and extract ``archive`` into ``into``, then write ``marker``; ArchiveError if refused."""
    archive, into, marker = Path(archive), Path(into), Path(marker)
    marker.unlink(missing_ok=True)  # a marker from an earlier extraction must not outlive a failed one
    summary = scan(archive, md5)
    into.mkdir(parents=True, exist_ok=True)
    for stale in into.glob(f".extracting-{glob.escape(archive.name)}-*"):  # left by a killed extraction of it
        shutil.rmtree(stale, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix=f".extracting-{archive.name}-", dir=into))
    try:
        with tarfile.open(archive, "r:*") as tar:
            tar.extractall(staging, filter="data")
        conflicts = _conflicts(staging, into)
        if conflicts:  # a file someone edited or put there is never replaced
            more = f" (and {len(conflicts) - 1} more)" if len(conflicts) > 1 else ""
            raise ArchiveError(f"{conflicts[0]}{more}: differs from {archive.name}'s copy and is never replaced; "
                               f"move it aside (or restore it) and rerun; nothing extracted")  # fmt: skip
        _merge(staging, into)
    except (tarfile.FilterError, *_CORRUPT) as error:  # changed since the first pass, or a link trick it missed
        raise ArchiveError(f"{archive}: refused while extracting ({error}); nothing extracted") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _write_marker(marker, {"archive": archive.name, **asdict(summary)})
    return summary


@command
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tagseg.data.extract", description=__doc__.split("\n\n")[0])
    parser.add_argument("--archive", required=True, type=Path, help="a .tar, .tgz/.tar.gz, .tar.bz2 or .tar.xz file")
    parser.add_argument("--into", required=True, type=Path, help="folder to extract into (created if needed)")
    parser.add_argument("--marker", required=True, type=Path, help="file written last, once all is in place")
    parser.add_argument("--md5", help="the archive's md5, checked before anything is extracted")
    args = parser.parse_args(argv)
    summary = extract(args.archive, args.into, args.marker, args.md5)
    print(f"{args.archive}: {summary.members} members, {summary.bytes} bytes, md5 {summary.md5}; "
          f"extracted into {args.into}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
