"""Fetch one file from an ordered list of mirrors, resuming where it stopped and checking its md5.

The file appears at ``out`` only once every byte has matched the md5; until then it is
``<out>.part``, which the next run resumes with an HTTP ``Range`` request (or restarts, when a
server ignores ``Range``). A file already at ``out`` (downloaded before, or placed there by hand)
is verified and kept, never fetched again, and never deleted, even when its md5 is wrong.

Once the file is verified, ``--record`` writes its checksum line (``md5sum``'s format) to a file of
its own: that record, not the file, is what the workflow declares as the download's output, so
that Snakemake, which deletes a job's outputs before it runs the job again, never deletes the file.

    python -m tagseg.data.download --out data/resources/archives/benchmark.tgz \
        --md5 82b4d87ceb2ed10f6038a1cba92111cb --record data/resources/archives/benchmark.tgz.md5 \
        --url https://www2.eecs.berkeley.edu/Research/Projects/CS/vision/grouping/semantic_contours/benchmark.tgz
"""

from __future__ import annotations

import argparse
import errno
import hashlib
import http.client
import os
import re
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import BinaryIO, Sequence

from tqdm import tqdm

from tagseg.core.cli import command
from tagseg.core.io import atomic_path

CHUNK = 1 << 20  # bytes per read: large enough that hashing, not Python, sets the pace
TIMEOUT = 60.0  # seconds a connect or a read may stall before the attempt counts as interrupted
MAX_STALLS = 3  # interruptions in a row without a new byte before a mirror is given up
LOCAL_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM}  # writing here failed
USER_AGENT = "tagseg-download/0.1 (urllib)"  # some hosts refuse urllib's default agent


class DownloadError(RuntimeError):
    """No URL gave the file; the message is one line naming it and every URL tried."""


class _Failure(Exception):
    """This URL cannot give the file (the reason is the message); the next one is tried."""


def file_md5(path: str | os.PathLike, chunk: int = CHUNK) -> str:
    """md5 of a file, read in chunks (never the whole file in memory)."""
    digest = hashlib.md5()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def check_md5(md5: str) -> str:
    """The md5 in lower case; a ValueError unless it is 32 hex digits."""
    if not re.fullmatch(r"[0-9a-fA-F]{32}", md5):
        raise ValueError(f"md5 {md5!r}: expected 32 hex digits")
    return md5.lower()


def looks_like_html(head: bytes) -> bool:
    """True for the start of an HTML page: what a mirror serves instead of the file when it errs."""
    start = head.lstrip()[:64].lower()
    return start.startswith((b"<!doctype html", b"<html", b"<head", b"<?xml")) or b"<html" in start


def _partial_digest(part: Path) -> tuple[int, "hashlib._Hash"]:
    """Size and running md5 of what an earlier attempt left in ``part`` (nothing if absent)."""
    digest = hashlib.md5()
    if not part.exists():
        return 0, digest
    with open(part, "rb") as f:
        while block := f.read(CHUNK):
            digest.update(block)
    return part.stat().st_size, digest


def _resume_offset(response: http.client.HTTPResponse, have: int) -> int:
    """Where the response's body starts in the file: ``have`` for a 206 that honours our Range, 0 for a 200."""
    status = response.status or 200  # file:// responses carry no status
    if status == 206:
        match = re.match(r"bytes (\d+)-", response.headers.get("Content-Range", ""))
        if not match or int(match.group(1)) != have:
            raise _Failure(f"asked for bytes from {have}, got range {response.headers.get('Content-Range')!r}")
        return have
    if status == 200:
        return 0
    raise _Failure(f"HTTP {status}")


def _total_size(response: http.client.HTTPResponse, start: int) -> int | None:
    """The whole file's size, from Content-Range or Content-Length; None when the server does not say."""
    match = re.search(r"/(\d+)$", response.headers.get("Content-Range", ""))
    if match:
        return int(match.group(1))
    length = response.headers.get("Content-Length")
    return start + int(length) if length and length.isdigit() else None


def _copy(response: BinaryIO, f: BinaryIO, digest: "hashlib._Hash", bar: tqdm) -> int:
    """Stream the body into ``f`` and ``digest``; the number of bytes copied."""
    copied = 0
    # read1 hands over what has arrived; read(n) would lose a partly filled chunk to a reset
    while block := response.read1(CHUNK):
        f.write(block)
        digest.update(block)
        copied += len(block)
        bar.update(len(block))
    return copied


def _attempt(url: str, md5: str, part: Path, name: str, progress: bool) -> str:
    """One request for the rest of ``part``; its md5 once complete. Raises _Failure, or OSError to resume."""
    have, digest = _partial_digest(part)
    if have and digest.hexdigest() == md5:  # complete already: stopped between the last byte and the rename
        return md5
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        response = urllib.request.urlopen(request, timeout=TIMEOUT)
    except urllib.error.HTTPError as error:
        if error.code == 416 and have:  # we asked past the end: what we hold is not this file's prefix
            part.unlink()
            raise ConnectionError("range not satisfiable; restarting from the first byte") from None
        raise _Failure(f"HTTP {error.code}") from None
    except urllib.error.URLError as error:
        raise _Failure(f"unreachable ({error.reason})") from None
    with response:
        start = _resume_offset(response, have)
        if response.headers.get_content_type() == "text/html":
            raise _Failure("served an HTML page, not the file")
        head = response.read(min(CHUNK, 4096))
        if start == 0 and looks_like_html(head):
            raise _Failure("served an HTML page, not the file")
        if start == 0:  # the server ignored Range (or there was nothing to resume): start over
            digest = hashlib.md5()
        total = _total_size(response, start)
        with open(part, "r+b" if start else "wb") as f, tqdm(
            total=total, initial=start, unit="B", unit_scale=True, unit_divisor=1024, desc=name,
            disable=not progress, mininterval=1.0, file=sys.stderr,
        ) as bar:  # fmt: skip
            f.seek(start)
            f.truncate()
            f.write(head)
            digest.update(head)
            bar.update(len(head))
            got = start + len(head) + _copy(response, f, digest, bar)
    if total is not None and got < total:  # the server closed early without an error
        raise ConnectionError(f"connection closed after {got} of {total} bytes")
    return digest.hexdigest()


def _from_url(url: str, md5: str, part: Path, name: str, progress: bool) -> None:
    """Complete ``part`` from one URL, resuming after interruptions; _Failure if this URL cannot."""
    stalls, resumed = 0, part.exists() and part.stat().st_size > 0
    while True:
        before = part.stat().st_size if part.exists() else 0
        try:
            got = _attempt(url, md5, part, name, progress)
        except (OSError, http.client.HTTPException) as error:  # reset, timeout, early close: resume
            if isinstance(error, OSError) and error.errno in LOCAL_ERRNOS:  # this machine's fault: no mirror can help
                raise DownloadError(f"{part}: not written ({error.strerror}); check that its disk has room and its "
                                    f"folder is writable, then rerun: the download resumes from what it holds") from None  # fmt: skip
            now = part.stat().st_size if part.exists() else 0
            stalls = 0 if now > before else stalls + 1
            if stalls >= MAX_STALLS:
                raise _Failure(f"interrupted {MAX_STALLS} times without progress ({error})") from None
            print(f"{name}: {error}; resuming from byte {now}", file=sys.stderr)
            continue
        if got == md5:
            return
        part.unlink()
        if resumed:  # the bytes an earlier attempt left may be the bad ones: once more, from scratch
            resumed = False
            continue
        raise _Failure(f"md5 {got} != {md5}")


def download(urls: Sequence[str], md5: str, out: str | os.PathLike, progress: bool = True) -> Path:
    """Fetch ``out`` from the first of ``urls`` that gives bytes matching ``md5``; return its path.

    An existing ``out`` (downloaded before, or placed by hand) is verified and kept, not fetched
    again; one whose md5 is wrong is kept too, and named. A mirror whose bytes do not match loses its
    partial file and the next is tried; if none gives the file, :class:`DownloadError` names them all.
    """
    md5, out = check_md5(md5), Path(out)
    if out.exists():
        have = file_md5(out)
        if have != md5:  # never delete what may be the user's own copy; say what to do instead
            raise DownloadError(
                f"{out}: already there but its md5 is {have}, expected {md5}; replace it with the right file, "
                "or remove it to download again"
            )
        return out
    if not urls:
        raise DownloadError(f"{out}: not there and no URL to fetch it from; place the file there (md5 {md5})")
    out.parent.mkdir(parents=True, exist_ok=True)
    part = out.with_name(out.name + ".part")
    tried = []
    for url in urls:
        try:
            _from_url(url, md5, part, out.name, progress)
        except _Failure as failure:
            tried.append(f"{url} ({failure})")
            print(f"{out.name}: {url}: {failure}; trying the next URL", file=sys.stderr)
            continue
        os.replace(part, out)  # the complete, verified file appears in one step
        return out
    raise DownloadError(f"{out.name}: no URL gave a file with md5 {md5}; tried {'; '.join(tried)}")


def write_record(path: Path, md5: str, record: Path) -> None:
    """``record``: ``path``'s checksum line as ``md5sum`` writes it (``md5sum -c`` checks it from its folder).

    It takes the file's modification time, so that it is no newer than what was made from the file
    before (an archive extracted earlier is not extracted again because its record is new).
    """
    with atomic_path(record) as tmp:
        Path(tmp).write_text(f"{check_md5(md5)}  {path.name}\n")
        stat = path.stat()
        os.utime(tmp, ns=(stat.st_atime_ns, stat.st_mtime_ns))


@command
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tagseg.data.download", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", action="append", default=[], help="a URL to try, in the order given (repeatable)")
    parser.add_argument("--md5", required=True, help="the file's md5; nothing else is kept")
    parser.add_argument("--out", required=True, type=Path, help="where the verified file goes")
    parser.add_argument(
        "--record", type=Path, help="once verified, write the file's checksum line (md5sum's format) here"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    path = download(args.url, args.md5, args.out, progress=not args.no_progress)
    if args.record is not None:
        write_record(path, args.md5, args.record)
    print(f"{path}: md5 {args.md5.lower()} verified")
    return 0


if __name__ == "__main__":
    sys.exit(main())
