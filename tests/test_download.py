"""Downloads and extraction against archives built here in the real formats (tar for VOC, tgz for
SBD), served by an HTTP server on 127.0.0.1 that can honour or ignore Range, fail with 404/500 or
an HTML page, and reset the connection mid-transfer."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tarfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image
from tqdm import tqdm

from tagseg.core.config import apply_defaults, validate_config
from tagseg.data.download import DownloadError, download
from tagseg.data.download import main as download_main
from tagseg.data.extract import ArchiveError, extract, scan

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"
HTML = b"<!DOCTYPE html>\n<html><body>Mirror temporarily unavailable</body></html>\n"


# --- a loopback server -------------------------------------------------------------------------


@dataclass
class Route:
    """What the server does for one path."""

    body: bytes
    status: int = 200
    honour_range: bool = True
    content_type: str = "application/octet-stream"
    reset_after: int | None = None  # send this many bytes of the body, then reset the connection
    resets: int = 0  # how many responses get reset (each one decrements)
    ranges: list = field(default_factory=list)  # the Range header of every request, None if absent


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        route = self.server.routes.get(self.path)
        if route is None:
            self.send_error(404)
            return
        asked = self.headers.get("Range")
        route.ranges.append(asked)
        if route.status != 200:
            self.send_response(route.status)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(HTML)))
            self.end_headers()
            self.wfile.write(HTML)
            return
        start = int(re.match(r"bytes=(\d+)-", asked).group(1)) if asked and route.honour_range else 0
        if start >= len(route.body) > 0:
            self.send_error(416)
            return
        self.send_response(206 if start else 200)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(route.body) - 1}/{len(route.body)}")
        self.send_header("Content-Type", route.content_type)
        self.send_header("Content-Length", str(len(route.body) - start))
        self.end_headers()
        payload = route.body[start:]
        if route.reset_after is not None and route.resets > 0:
            route.resets -= 1
            self.wfile.write(payload[: route.reset_after])
            time.sleep(0.2)  # let the client read what was sent before the reset discards it
            # SO_LINGER with a zero timeout makes close() send RST: a reset, not a clean end
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        self.wfile.write(payload)

    def finish(self):
        try:
            super().finish()
        except OSError:  # the socket a reset closed
            pass

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    """A threaded HTTP server on 127.0.0.1; tests add routes to ``server.routes``."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.routes = {}
    httpd.handle_error = lambda request, address: None  # resets are on purpose
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def serve(server, path: str, body: bytes, **kwargs) -> tuple[str, Route]:
    route = Route(body, **kwargs)
    server.routes[path] = route
    return server.url + path, route


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


# --- archives in the real formats --------------------------------------------------------------


def _jpeg(seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (24, 32, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG")
    return buffer.getvalue()


def _png_mask(seed: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 21, (24, 32), dtype=np.uint8), mode="P").save(buffer, "PNG")
    return buffer.getvalue()


def voc_files() -> dict[str, bytes]:
    """A few files where VOCtrainval_11-May-2012.tar puts them."""
    ids = ["2007_000032", "2007_000039", "2011_003276"]
    voc = "VOCdevkit/VOC2012"
    files = {f"{voc}/ImageSets/Segmentation/train.txt": "".join(f"{i}\n" for i in ids).encode()}
    for n, image_id in enumerate(ids):
        files[f"{voc}/JPEGImages/{image_id}.jpg"] = _jpeg(n)
        files[f"{voc}/SegmentationClass/{image_id}.png"] = _png_mask(n)
    return files


def sbd_files() -> dict[str, bytes]:
    """A few files where SBD's benchmark.tgz puts them."""
    data = "benchmark_RELEASE/dataset"
    return {f"{data}/train.txt": b"2008_000002\n", f"{data}/img/2008_000002.jpg": _jpeg(7),
            f"{data}/cls/2008_000002.mat": np.random.default_rng(8).bytes(300)}  # fmt: skip


def make_tar(path: Path, files: dict[str, bytes], mode: str = "w", extra: list[tarfile.TarInfo] = ()) -> bytes:
    """Write ``files`` (then the ``extra`` members, data-less) as a tar in ``mode``; return its bytes."""
    with tarfile.open(path, mode, format=tarfile.GNU_FORMAT) as tar:
        for name in sorted({str(Path(n).parent) for n in files}):  # folders first, as tar(1) writes them
            info = tarfile.TarInfo(name)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for info in extra:
            tar.addfile(info)
    return path.read_bytes()


def _link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


def _files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


# --- downloads ---------------------------------------------------------------------------------


def test_download_verifies_md5_shows_progress_and_appears_whole(server, tmp_path, capsys):
    body = os.urandom(300_000)
    url, route = serve(server, "/ok/VOCtrainval.tar", body)
    out = tmp_path / "archives" / "VOCtrainval.tar"
    assert download([url], md5(body).upper(), out) == out
    assert out.read_bytes() == body and _files_under(tmp_path / "archives") == ["VOCtrainval.tar"]
    err = capsys.readouterr().err
    size = tqdm.format_sizeof(len(body), divisor=1024)
    assert f"{size}/{size}" in err and re.search(r"[\d.]+[kMG]?B/s", err), err  # size and rate
    assert route.ranges == [None]


def test_existing_file_is_verified_and_never_fetched(server, tmp_path):
    body = os.urandom(5000)
    url, route = serve(server, "/placed/benchmark.tgz", body)
    out = tmp_path / "benchmark.tgz"
    out.write_bytes(body)
    download([url], md5(body), out)
    assert route.ranges == []
    out.write_bytes(
        body[:-1] + bytes([body[-1] ^ 1])
    )  # a user's damaged copy (always unlike the body): kept, and named
    with pytest.raises(DownloadError, match=r"benchmark\.tgz: already there but its md5 is [0-9a-f]{32}.*remove it"):
        download([url], md5(body), out)
    assert route.ranges == [] and out.exists()


def test_md5_mismatch_drops_the_file_and_the_next_mirror_gives_it(server, tmp_path):
    body = os.urandom(40_000)
    bad, bad_route = serve(server, "/bad/sbd.tgz", body[:-10] + b"0123456789")
    good, good_route = serve(server, "/good/sbd.tgz", body)
    out = tmp_path / "sbd.tgz"
    download([bad, good], md5(body), out, progress=False)
    assert out.read_bytes() == body and not out.with_name("sbd.tgz.part").exists()
    assert bad_route.ranges == [None] and good_route.ranges == [None]  # the bad bytes were not resumed from


def test_reset_mid_transfer_resumes_with_range(server, tmp_path):
    body = os.urandom(200_000)
    url, route = serve(server, "/reset/voc.tar", body, reset_after=120_000, resets=1)
    out = tmp_path / "voc.tar"
    download([url], md5(body), out, progress=False)
    assert out.read_bytes() == body
    assert route.ranges[0] is None and len(route.ranges) == 2
    start = int(re.fullmatch(r"bytes=(\d+)-", route.ranges[1]).group(1))
    assert 0 < start <= 120_000  # continued from what arrived, not from the first byte


def test_a_full_disk_mid_download_stops_at_once_and_keeps_what_arrived(server, tmp_path, monkeypatch):
    """No space left is this machine's fault: no other mirror is tried, and the rerun resumes."""
    import errno

    from tagseg.data import download as download_module

    body = os.urandom(300_000)
    first, first_route = serve(server, "/full/voc.tar", body)
    second, second_route = serve(server, "/full-mirror/voc.tar", body)
    real_copy = download_module._copy

    def full_disk(response, f, digest, bar):
        f.write(response.read1(50_000))
        f.flush()
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(download_module, "_copy", full_disk)
    out = tmp_path / "voc.tar"
    with pytest.raises(DownloadError, match=rf"^{re.escape(str(out))}\.part: not written \(No space left on device\); "
                                            r"check that its disk has room"):  # fmt: skip
        download([first, second], md5(body), out, progress=False)
    assert len(first_route.ranges) == 1 and second_route.ranges == [] and not out.exists()
    kept = (tmp_path / "voc.tar.part").stat().st_size
    assert kept > 0
    monkeypatch.setattr(download_module, "_copy", real_copy)  # room made: the rerun continues from those bytes
    download([first, second], md5(body), out, progress=False)
    assert out.read_bytes() == body and first_route.ranges[1] == f"bytes={kept}-"


def test_server_ignoring_range_restarts_cleanly(server, tmp_path):
    body = os.urandom(200_000)
    url, route = serve(server, "/norange/voc.tar", body, reset_after=120_000, resets=1, honour_range=False)
    out = tmp_path / "voc.tar"
    download([url], md5(body), out, progress=False)
    assert out.read_bytes() == body  # the 200's full body replaced the partial file, not appended to it
    assert route.ranges[0] is None and route.ranges[1].startswith("bytes=")


def test_partial_file_from_another_source_is_redone_from_scratch(server, tmp_path):
    body = os.urandom(50_000)
    url, route = serve(server, "/stale/voc.tar", body)
    out = tmp_path / "voc.tar"
    out.with_name("voc.tar.part").write_bytes(os.urandom(20_000))  # not this file's first bytes
    download([url], md5(body), out, progress=False)
    assert out.read_bytes() == body and route.ranges == ["bytes=20000-", None]


def test_a_complete_partial_file_is_kept_without_a_request(server, tmp_path):
    body = os.urandom(50_000)
    url, route = serve(server, "/complete/voc.tar", body)
    out = tmp_path / "voc.tar"
    out.with_name("voc.tar.part").write_bytes(body)  # stopped after the last byte, before the rename
    download([url], md5(body), out, progress=False)
    assert out.read_bytes() == body and route.ranges == []


def test_all_mirrors_failing_is_one_line_naming_the_archive_and_every_url(server, tmp_path):
    body = os.urandom(30_000)
    urls = [
        serve(server, "/m404/benchmark.tgz", body, status=404)[0],
        serve(server, "/m500/benchmark.tgz", body, status=500)[0],
        serve(server, "/html/benchmark.tgz", HTML, content_type="text/html")[0],
        serve(server, "/html-as-binary/benchmark.tgz", HTML)[0],  # an error page with an archive's type
        serve(server, "/resets/benchmark.tgz", body, reset_after=0, resets=99)[0],
        serve(server, "/wrong/benchmark.tgz", os.urandom(30_000))[0],
    ]
    out = tmp_path / "archives" / "benchmark.tgz"
    args = [sys.executable, "-m", "tagseg.data.download", "--md5", md5(body), "--out", str(out), "--no-progress"]
    result = subprocess.run([*args, *(f"--url={url}" for url in urls)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and lines[0].startswith(f"error: benchmark.tgz: no URL gave a file with md5 {md5(body)}")
    html = "served an HTML page"
    for url, reason in zip(urls, ["HTTP 404", "HTTP 500", html, html, "interrupted 3 times", "md5 "]):
        assert f"{url} ({reason}" in lines[0]
    assert _files_under(tmp_path) in ([], ["archives"])  # no file, no partial


def test_no_url_and_no_file_says_where_to_place_it(tmp_path):
    with pytest.raises(DownloadError, match=r"VOC2012test\.tar: not there and no URL.*place the file there"):
        download([], "0" * 32, tmp_path / "VOC2012test.tar")


def test_file_urls_serve_a_local_copy(tmp_path):
    body = os.urandom(10_000)
    (tmp_path / "copy.tar").write_bytes(body)
    out = download([(tmp_path / "copy.tar").as_uri()], md5(body), tmp_path / "archives" / "voc.tar", progress=False)
    assert out.read_bytes() == body


# --- extraction --------------------------------------------------------------------------------


def test_voc_tar_and_sbd_tgz_extract_side_by_side_with_markers(tmp_path):
    voc, sbd = voc_files(), sbd_files()
    voc_md5 = md5(make_tar(tmp_path / "VOCtrainval_11-May-2012.tar", voc))
    make_tar(tmp_path / "benchmark.tgz", sbd, mode="w:gz")
    into = tmp_path / "resources"
    extract(tmp_path / "VOCtrainval_11-May-2012.tar", into, into / ".extracted_voc2012_trainval", voc_md5)
    summary = extract(tmp_path / "benchmark.tgz", into, into / ".extracted_sbd")
    for name, data in {**voc, **sbd}.items():
        assert (into / name).read_bytes() == data
    assert sorted(p.name for p in into.iterdir()) == [".extracted_sbd", ".extracted_voc2012_trainval",
                                                      "VOCdevkit", "benchmark_RELEASE"]  # fmt: skip
    record = json.loads((into / ".extracted_voc2012_trainval").read_text())
    assert record["md5"] == voc_md5 and record["members"] == len(voc) + 3  # + the 3 folders make_tar writes
    assert summary.bytes == sum(map(len, sbd.values()))
    with Image.open(into / "VOCdevkit/VOC2012/JPEGImages/2007_000032.jpg") as image:
        assert image.size == (32, 24)


def test_an_extraction_killed_midway_leaves_no_staging_folder_behind_its_rerun(tmp_path):
    """A SIGKILL (or a node lost) mid-extraction leaves its staging folder; the rerun removes it, only it."""
    voc = voc_files()
    archive = tmp_path / "VOCtrainval_11-May-2012.tar"
    make_tar(archive, voc)
    into = tmp_path / "resources"
    stale = into / ".extracting-VOCtrainval_11-May-2012.tar-k1ll3d"
    (stale / "VOCdevkit").mkdir(parents=True)
    (stale / "VOCdevkit" / "half.jpg").write_bytes(b"half")
    other = into / ".extracting-benchmark.tgz-inflight"  # another archive's: not this extraction's to remove
    other.mkdir()
    extract(archive, into, into / ".extracted_voc2012_trainval")
    assert not stale.exists() and other.is_dir()
    assert all((into / name).read_bytes() == data for name, data in voc.items())


def test_extracting_again_merges_into_what_is_there(tmp_path):
    """The VOC2012 test tar lands in the same VOCdevkit/VOC2012 as trainval."""
    into = tmp_path / "resources"
    make_tar(tmp_path / "a.tar", voc_files())
    extract(tmp_path / "a.tar", into, into / ".a")
    test_files = {"VOCdevkit/VOC2012/JPEGImages/2008_000001.jpg": _jpeg(9),
                  "VOCdevkit/VOC2012/ImageSets/Segmentation/test.txt": b"2008_000001\n"}  # fmt: skip
    make_tar(tmp_path / "VOC2012test.tar", test_files)
    extract(tmp_path / "VOC2012test.tar", into, into / ".b")
    for name, data in {**voc_files(), **test_files}.items():
        assert (into / name).read_bytes() == data


@pytest.mark.parametrize(
    "member, reason",
    [
        (tarfile.TarInfo("/tmp/evil.txt"), "absolute path"),
        (tarfile.TarInfo("VOCdevkit/../../evil.txt"), "'..' in its path"),
        (_link("VOCdevkit/passwd", "/etc/passwd"), "symlink to the absolute path"),
        (_link("VOCdevkit/up", "../../.."), "symlink to '../../..', outside"),
        (_link("VOCdevkit/hard", "../outside.txt", tarfile.LNKTYPE), "hard link to '../outside.txt', outside"),
        (_link("VOCdevkit/dev", "", tarfile.CHRTYPE), "a device or pipe"),
    ],
)
def test_unsafe_member_is_refused_before_anything_is_written(tmp_path, member, reason):
    archive = tmp_path / "evil.tar"
    make_tar(archive, voc_files(), extra=[member])  # safe members first: a naive extractor writes them
    into = tmp_path / "resources"
    expected = rf"evil\.tar: member '{re.escape(member.name)}' is unsafe \({re.escape(reason)}"
    with pytest.raises(ArchiveError, match=expected):
        extract(archive, into, into / ".extracted_evil")
    assert _files_under(into) == [] and not (tmp_path / "outside.txt").exists()


def test_link_chain_that_escapes_is_refused_by_the_second_guard(tmp_path):
    """Each link looks inside alone; followed through each other they point out. Nothing stays."""
    archive = tmp_path / "chain.tar"
    escape = [_link("d/up", ".."), _link("d/up2", "up/.."), tarfile.TarInfo("d/up2/evil.txt")]
    make_tar(archive, {"d/keep.txt": b"x"}, extra=escape)
    into = tmp_path / "nest" / "resources"
    with pytest.raises(ArchiveError, match=r"chain\.tar: refused while extracting"):
        extract(archive, into, into / ".extracted_chain")
    assert _files_under(tmp_path / "nest") == ["resources"] and not (tmp_path / "evil.txt").exists()


@pytest.mark.parametrize(
    "mode, cut", [("w", "data"), ("w", "header"), ("w", "boundary"), ("w:gz", 0.6), ("w:gz", 0.97)]
)
def test_truncated_archive_is_a_clear_error_and_nothing_is_extracted(tmp_path, mode, cut):
    archive = tmp_path / ("VOCtrainval.tar" if mode == "w" else "benchmark.tgz")
    data = make_tar(archive, voc_files(), mode)
    if isinstance(cut, float):
        end = int(len(data) * cut)
    else:
        with tarfile.open(archive) as tar:
            last = tar.getmembers()[-1]
        # in the last file's data; in its header; right before it, where a header should start
        end = {"data": last.offset_data + last.size // 2, "header": last.offset + 100, "boundary": last.offset}[cut]
    archive.write_bytes(data[:end])
    into = tmp_path / "resources"
    result = subprocess.run(
        [sys.executable, "-m", "tagseg.data.extract", "--archive", str(archive), "--into", str(into),
         "--marker", str(into / ".extracted")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and f"{archive}: truncated or corrupt" in result.stderr
    assert _files_under(into) == []


def test_md5_mismatch_refuses_before_extracting(tmp_path):
    archive = tmp_path / "benchmark.tgz"
    make_tar(archive, sbd_files(), "w:gz")
    with pytest.raises(ArchiveError, match=r"benchmark\.tgz: md5 [0-9a-f]{32} != 82b4d87ceb2ed10f6038a1cba92111cb"):
        extract(archive, tmp_path / "out", tmp_path / "out" / ".extracted_sbd", "82b4d87ceb2ed10f6038a1cba92111cb")
    assert not (tmp_path / "out").exists()


def test_extraction_streams_never_holding_the_archive_in_memory(tmp_path):
    """Peak memory of a 64 MB extraction, in a fresh process, grows far less than the archive."""
    archive = tmp_path / "big.tar"
    with tarfile.open(archive, "w") as tar:
        for n in range(4):
            info = tarfile.TarInfo(f"VOCdevkit/VOC2012/JPEGImages/{n}.jpg")
            info.size = 16 << 20
            tar.addfile(info, io.BytesIO(np.random.default_rng(n).bytes(info.size)))
    code = (
        "import resource, sys; from tagseg.data.extract import extract, scan\n"
        "scan(sys.argv[1]); before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "extract(sys.argv[1], sys.argv[2], sys.argv[2] + '/.done', scan(sys.argv[1]).md5)\n"
        "print(before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )  # the first scan warms up imports and buffers, so the difference is the extraction's own
    result = subprocess.run([sys.executable, "-c", code, str(archive), str(tmp_path / "out")],
                            capture_output=True, text=True, timeout=300, check=True)  # fmt: skip
    before_kb, after_kb = map(int, result.stdout.split())
    assert after_kb - before_kb < 16 * 1024, (before_kb, after_kb)  # < one member, a quarter of the archive
    assert (tmp_path / "out/VOCdevkit/VOC2012/JPEGImages/3.jpg").stat().st_size == 16 << 20


def test_scan_reports_md5_members_and_bytes(tmp_path):
    data = make_tar(tmp_path / "a.tar", sbd_files())
    summary = scan(tmp_path / "a.tar")
    assert summary.md5 == md5(data) and summary.members == 3 + 3  # 3 files, 3 folders
    assert summary.bytes == sum(map(len, sbd_files().values()))


# --- config and workflow -----------------------------------------------------------------------


def _default_config() -> dict:
    return yaml.safe_load((ROOT / "config.yaml").read_text())


def test_schema_defaults_give_the_issue_checksums_with_the_official_host_first():
    config = apply_defaults(_default_config(), SCHEMA)
    validate_config(config, SCHEMA)
    downloads = config["downloads"]
    assert downloads["data_dir"] == "data/resources" and downloads["voc_root"] is None
    archives = downloads["archives"]
    assert {name: spec["md5"] for name, spec in archives.items()} == {
        "voc2012_trainval": "6cd6e144f989b92b3379bac3b3de84fd",
        "sbd": "82b4d87ceb2ed10f6038a1cba92111cb",
        "seg11valid": "7984b6ce736bd3666d8b7ee70b5401da",
    }
    assert archives["voc2012_trainval"]["urls"][0].startswith("https://thor.robots.ox.ac.uk/pascal/VOC/voc2012/")
    assert "raw.githubusercontent.com/shelhamer/fcn.berkeleyvision.org" in archives["seg11valid"]["urls"][0]


def test_a_config_changing_one_key_keeps_the_other_defaults():
    config = _default_config()
    user_test_tar = {"filename": "VOC2012test.tar", "md5": "a" * 32, "urls": []}
    config["downloads"] = {"archives": {"sbd": {"urls": ["file:///data/benchmark.tgz"]}, "voc2012_test": user_test_tar}}
    apply_defaults(config, SCHEMA)
    validate_config(config, SCHEMA)
    archives = config["downloads"]["archives"]
    assert archives["sbd"] == {"urls": ["file:///data/benchmark.tgz"], "filename": "benchmark.tgz",
                               "md5": "82b4d87ceb2ed10f6038a1cba92111cb"}  # fmt: skip
    assert set(archives) == {"voc2012_trainval", "sbd", "seg11valid", "voc2012_test"}
    assert _default_config().get("downloads") is None  # the schema's defaults were copied, not shared


def test_workflow_downloads_verifies_and_extracts_and_uses_a_placed_archive(server, tmp_path):
    """The rules end to end: VOC fetched through a reset, SBD placed by hand (its URL would 404)."""
    workdir = tmp_path / "work"
    workdir.mkdir()
    for name in ("Snakefile", "config.yaml", "configs", "workflow", "envs"):
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, workdir / name)
    voc_bytes = make_tar(tmp_path / "VOCtrainval_11-May-2012.tar", voc_files())
    sbd_bytes = make_tar(tmp_path / "benchmark.tgz", sbd_files(), "w:gz")
    seg11valid = b"2007_000033\n2007_000042\n"
    voc_url, voc_route = serve(server, "/wf/VOCtrainval_11-May-2012.tar", voc_bytes, reset_after=20_000, resets=1)
    seg_url, _ = serve(server, "/wf/seg11valid.txt", seg11valid, content_type="text/plain")
    sbd_url, sbd_route = serve(server, "/wf/benchmark.tgz", b"", status=404)
    (workdir / "res" / "archives").mkdir(parents=True)
    (workdir / "res" / "archives" / "benchmark.tgz").write_bytes(sbd_bytes)
    archives = {
        "voc2012_trainval": {"urls": [f"{server.url}/wf/missing.tar", voc_url], "md5": md5(voc_bytes)},
        "sbd": {"urls": [sbd_url], "md5": md5(sbd_bytes)},
        "seg11valid": {"urls": [seg_url], "md5": md5(seg11valid)},
    }
    (workdir / "local.yaml").write_text(yaml.safe_dump({"downloads": {"data_dir": "res", "archives": archives}}))
    targets = ["res/.extracted_voc2012_trainval", "res/.extracted_sbd", "res/archives/seg11valid.txt.md5"]
    result = subprocess.run([sys.executable, "-m", "snakemake", *targets, "--cores", "2", "--configfile", "local.yaml"],
                            cwd=workdir, capture_output=True, text=True, timeout=600)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    for name, data in {**voc_files(), **sbd_files()}.items():
        assert (workdir / "res" / name).read_bytes() == data
    assert (workdir / "res" / "archives" / "seg11valid.txt").read_bytes() == seg11valid
    assert (workdir / "res" / "archives" / "seg11valid.txt.md5").read_text() == f"{md5(seg11valid)}  seg11valid.txt\n"
    assert len(voc_route.ranges) == 2 and voc_route.ranges[1].startswith("bytes=")  # resumed after the reset
    assert sbd_route.ranges == []  # SBD was never asked for: the placed copy was verified and used

    # a mirror added to every list: nothing to redo, the verified files stay as they are
    for spec in archives.values():
        spec["urls"].append(f"{server.url}/wf/another-mirror")
    (workdir / "local.yaml").write_text(yaml.safe_dump({"downloads": {"data_dir": "res", "archives": archives}}))
    again = subprocess.run([sys.executable, "-m", "snakemake", *targets, "-n", "--cores", "2", "--configfile", "local.yaml"],
                           cwd=workdir, capture_output=True, text=True, timeout=600)  # fmt: skip
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr, again.stdout[-2000:]

    # a changed md5 is a different file: that download is planned again
    archives["seg11valid"]["md5"] = md5(b"another file")
    (workdir / "local.yaml").write_text(yaml.safe_dump({"downloads": {"data_dir": "res", "archives": archives}}))
    changed = subprocess.run([sys.executable, "-m", "snakemake", *targets, "-n", "--cores", "2", "--configfile",
                              "local.yaml"], cwd=workdir, capture_output=True, text=True, timeout=600)  # fmt: skip
    assert changed.returncode == 0 and "download_archive" in changed.stdout, changed.stdout[-2000:]

    # run so: the file there is kept (snakemake deletes only the checksum record), and named
    archives["sbd"]["md5"] = md5(b"another archive")
    (workdir / "local.yaml").write_text(yaml.safe_dump({"downloads": {"data_dir": "res", "archives": archives}}))
    refused = subprocess.run([sys.executable, "-m", "snakemake", *targets, "--cores", "2", "--configfile", "local.yaml"],
                             cwd=workdir, capture_output=True, text=True, timeout=600)  # fmt: skip
    assert refused.returncode != 0
    log = (workdir / "logs" / "downloads" / "benchmark.tgz.log").read_text()
    assert f"res/archives/benchmark.tgz: already there but its md5 is {md5(sbd_bytes)}, expected" in log
    assert (workdir / "res" / "archives" / "benchmark.tgz").read_bytes() == sbd_bytes  # the user's file, as it was
    assert (workdir / "res" / "archives" / "seg11valid.txt").read_bytes() == seg11valid


def test_the_checksum_record_is_written_only_for_a_verified_file_and_md5sum_reads_it(tmp_path):
    placed = tmp_path / "archives" / "seg11valid.txt"
    placed.parent.mkdir()
    placed.write_bytes(b"2007_000033\n")
    record = tmp_path / "archives" / "seg11valid.txt.md5"
    args = ["--url", "http://127.0.0.1:9/unreachable", "--out", str(placed), "--record", str(record)]
    assert download_main([*args, "--md5", md5(b"2007_000033\n"), "--no-progress"]) == 0
    assert placed.read_bytes() == b"2007_000033\n"  # verified where it was placed, not fetched
    check = subprocess.run(["md5sum", "-c", record.name], cwd=record.parent, capture_output=True, text=True)
    assert check.returncode == 0 and "seg11valid.txt: OK" in check.stdout
    assert record.stat().st_mtime_ns == placed.stat().st_mtime_ns  # no newer than what was made from the file
    record.unlink()
    placed.write_bytes(b"edited\n")
    assert download_main([*args, "--md5", md5(b"2007_000033\n"), "--no-progress"]) == 1
    assert placed.read_bytes() == b"edited\n" and not record.exists()


def test_extracting_over_an_edited_file_replaces_nothing_and_names_it(tmp_path):
    into = tmp_path / "resources"
    make_tar(tmp_path / "a.tar", voc_files())
    extract(tmp_path / "a.tar", into, into / ".a")
    edited = into / "VOCdevkit/VOC2012/ImageSets/Segmentation/train.txt"
    edited.write_bytes(b"my own split\n")
    removed = into / "VOCdevkit/VOC2012/JPEGImages/2007_000039.jpg"
    removed.unlink()
    with pytest.raises(
        ArchiveError, match=rf"{re.escape(str(edited))}: differs from a\.tar's copy and is never replaced"
    ):
        extract(tmp_path / "a.tar", into, into / ".a")
    assert edited.read_bytes() == b"my own split\n" and not removed.exists() and not (into / ".a").exists()
    assert not [p for p in into.iterdir() if p.name.startswith(".extracting")]
    edited.write_bytes(voc_files()["VOCdevkit/VOC2012/ImageSets/Segmentation/train.txt"])  # restored: extracts again
    extract(tmp_path / "a.tar", into, into / ".a")
    assert removed.exists() and (into / ".a").exists()
