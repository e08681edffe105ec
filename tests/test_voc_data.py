"""Bad real-data input: each a one-line error naming the file, a non-zero exit, and nothing left that looks complete.

Each case damages a tiny tree in the real formats (tests/voc_trees.py) and runs the command-line tool a
rule would run: the split builder on the sources, or the cache builder on a built dataset.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from tagseg.data import idw, sbd, splits, voc
from tagseg.data.voc import write_ids, write_mask
from tests.voc_trees import labelmap, make_idw, make_sources, write_sbd_mat


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    """Sources and a dataset built from them, copied afresh for each test to damage."""
    root = tmp_path_factory.mktemp("pristine")
    sources = make_sources(root / "resources")
    splits.build(sources, root / "voc")
    return root


@pytest.fixture
def tree(pristine, tmp_path) -> Path:
    shutil.copytree(pristine, tmp_path / "t")
    return tmp_path / "t"


def _split_args(tree: Path, out: Path, *extra: str) -> list[str]:
    resources = tree / "resources"
    return ["--voc2012", str(resources / "VOCdevkit/VOC2012"), "--sbd", str(resources / "benchmark_RELEASE/dataset"),
            "--seg11valid", str(resources / "archives" / "seg11valid.txt"), "--out", str(out), *extra]  # fmt: skip


def _fails(main, argv: list[str], capsys, *names: str) -> str:
    """Run a CLI that must fail: exit 1, one error line on stderr (after any warnings) naming every one of ``names``."""
    assert main(argv) == 1
    err = "\n".join(line for line in capsys.readouterr().err.strip().splitlines() if not line.startswith("warning: "))
    assert err.startswith("error: ") and "\n" not in err, err
    for name in names:
        assert name in err, err
    return err


def _build_fails(tree: Path, capsys, *names: str, extra: tuple[str, ...] = ()) -> str:
    out = tree / "fresh"
    err = _fails(splits.main, _split_args(tree, out, *extra), capsys, *names)
    assert not (out / "dataset.json").exists() and not (out / "VOCdevkit").exists() and not (out / ".staging").exists()
    return err


def _cache_fails(tree: Path, split: str, capsys, *names: str) -> None:
    out = tree / "cache" / split
    _fails(voc.main, ["--root", str(tree / "voc"), "--split", split, "--out", str(out)], capsys, *names)
    assert not out.exists() or not any(out.iterdir())  # not even a temporary file


VOC12 = Path("resources/VOCdevkit/VOC2012")
SBD = Path("resources/benchmark_RELEASE/dataset")
BUILT = Path("voc/VOCdevkit/VOC2012")


def test_the_pristine_tree_builds_and_caches(tree, capsys):
    assert splits.main(_split_args(tree, tree / "fresh")) == 0
    warning = capsys.readouterr().err  # a test tree: far from the real counts, and the log says so
    assert "not the full VOC2012 + SBD lists (" in warning and "trainaug" in warning and "not checked" in warning
    assert voc.main(["--root", str(tree / "fresh"), "--split", "trainaug", "--out", str(tree / "c")]) == 0


def test_corrupt_jpeg(tree, capsys):
    # not an image at all: found while building the splits
    (tree / VOC12 / "JPEGImages/2008_000002.jpg").write_bytes(b"this is no JPEG")
    _build_fails(tree, capsys, "2008_000002.jpg")
    # a valid header, truncated data: found when the cache decodes it
    path = tree / BUILT / "JPEGImages/2007_000002.jpg"
    data = path.read_bytes()
    path.unlink()  # a hard link into the sources: replace, do not write through
    path.write_bytes(data[: len(data) // 2])
    _cache_fails(tree, "train", capsys, "2007_000002.jpg", "cannot be decoded")


def test_mask_values_outside_the_classes(tree, capsys):
    bad = labelmap("2007_000004", "voc")
    bad[5, 5] = 21
    write_mask(tree / VOC12 / "SegmentationClass/2007_000004.png", bad)
    _build_fails(tree, capsys, "2007_000004.png", "[21]")
    bad = labelmap("2008_000003", "sbd")
    bad[0, 0] = 40
    write_sbd_mat(tree / SBD / "cls/2008_000003.mat", bad)
    (tree / VOC12 / "SegmentationClass/2007_000004.png").unlink()
    shutil.copy(tree / BUILT / "SegmentationClass/2007_000004.png", tree / VOC12 / "SegmentationClass/2007_000004.png")
    _build_fails(tree, capsys, "2008_000003.mat", "[40]")
    target = tree / BUILT / "SegmentationClass/2007_000103.png"
    target.unlink()
    write_mask(target, np.full(labelmap("2007_000103", "voc").shape, 200, dtype=np.uint8))
    _cache_fails(tree, "test", capsys, "2007_000103.png", "[200]")


def test_image_and_mask_sizes_differ(tree, capsys):
    write_mask(tree / VOC12 / "SegmentationClass/2007_000102.png", np.zeros((5, 5), dtype=np.uint8))
    _build_fails(tree, capsys, "2007_000102.png", "(5, 5)")
    shutil.copy(tree / BUILT / "SegmentationClass/2007_000102.png", tree / VOC12 / "SegmentationClass/2007_000102.png")
    write_sbd_mat(tree / SBD / "cls/2008_000005.mat", np.zeros((7, 7), dtype=np.uint8))
    _build_fails(tree, capsys, "2008_000005.mat", "(7, 7)")
    target = tree / BUILT / "SegmentationClass/2007_000001.png"
    target.unlink()
    write_mask(target, np.zeros((3, 4), dtype=np.uint8))
    _cache_fails(tree, "train", capsys, "2007_000001.png", "(3, 4)")


def test_id_in_a_split_list_with_no_file(tree, capsys):
    lists = tree / VOC12 / "ImageSets/Segmentation"
    write_ids(lists / "train.txt", [*(lists / "train.txt").read_text().split(), "2012_999999"])
    _build_fails(tree, capsys, "train.txt", "'2012_999999'", "2012_999999.jpg")
    write_ids(lists / "train.txt", (lists / "train.txt").read_text().split()[:-1])
    (tree / SBD / "cls/2008_000004.mat").unlink()
    _build_fails(tree, capsys, "benchmark_RELEASE/dataset/train.txt", "'2008_000004'", "2008_000004.mat")
    (tree / BUILT / "SegmentationClass/2007_000101.png").unlink()
    _cache_fails(tree, "val", capsys, "ImageSets/Segmentation/val.txt", "'2007_000101'", "2007_000101.png")


@pytest.mark.parametrize("listed", ["VOC12 val", "SBD train", "seg11valid"])
def test_empty_split(tree, capsys, listed):
    path = {"VOC12 val": tree / VOC12 / "ImageSets/Segmentation/val.txt", "SBD train": tree / SBD / "train.txt",
            "seg11valid": tree / "resources/archives/seg11valid.txt"}[listed]  # fmt: skip
    path.write_text("\n")
    _build_fails(tree, capsys, str(path), "split list is empty")


def test_a_split_that_would_be_empty(tree, capsys):
    # every trainaug image is in VOC12 train: no weak pool is left
    lists = tree / VOC12 / "ImageSets/Segmentation"
    write_ids(tree / SBD / "train.txt", ["2007_000001"])
    write_ids(tree / SBD / "val.txt", ["2007_000002"])
    _build_fails(tree, capsys, str(lists), "'weak_clean' would be empty")


def test_empty_split_list_of_a_built_dataset(tree, capsys):
    (tree / BUILT / "ImageSets/Main/weak_clean.txt").write_text("")
    _cache_fails(tree, "weak_clean", capsys, "weak_clean.txt", "split list is empty")


def test_mat_without_gtcls(tree, capsys):
    write_sbd_mat(tree / SBD / "cls/2008_000001.mat", labelmap("2008_000001", "sbd"), variable="GTinst")
    _build_fails(tree, capsys, "2008_000001.mat", "no 'GTcls' struct", "GTinst")
    _fails(sbd.main, ["--sbd", str(tree / SBD), "--split", "train", "--out", str(tree / "png")], capsys,
           "2008_000001.mat", "GTcls")  # fmt: skip
    assert not list((tree / "png").glob("*2008_000001*"))
    (tree / SBD / "cls/2008_000001.mat").write_bytes(b"MATLAB 5.0 MAT-file, but not really")
    _build_fails(tree, capsys, "2008_000001.mat", "not a readable MATLAB file")


def test_wrong_tag_file_format(tree, capsys):
    # VOC's own tag files: "<id> 1|-1|0"
    tags = tree / BUILT / "ImageSets/Main/dog_weak_clean.txt"
    tags.write_text(tags.read_text().replace(" -1", " no", 1))
    _cache_fails(tree, "weak_clean", capsys, "dog_weak_clean.txt:1", "expected '<id> 1|-1|0'")
    # an image a class's file does not list would read as not holding that class
    lines = tags.read_text().replace(" no", " -1", 1).splitlines(keepends=True)
    tags.write_text("".join(lines[1:]))
    _cache_fails(tree, "weak_clean", capsys, "dog_weak_clean.txt: lists no line for " + lines[0].split()[0])
    # IDW's tag file: "<id> <class> ..." with VOC class names
    root = make_idw(tree / "idw")
    (root / "tags.txt").write_text("web_001,person,horse\nweb_002 dog\n")
    _fails(idw.main, ["--root", str(root)], capsys, "tags.txt:1", "expected '<id> <class> ...'")
    (root / "tags.txt").write_text("web_001 person\nweb_002 Dog\n")
    _build_fails(tree, capsys, "tags.txt:2", "'Dog'", extra=("--idw", str(root)))
    (root / "tags.txt").write_text("web_001 person\nweb_001 dog\n")
    _fails(idw.main, ["--root", str(root)], capsys, "tags.txt:2", "listed again")
    (root / "tags.txt").write_text("# nothing\n")
    _fails(idw.main, ["--root", str(root)], capsys, "tags.txt", "no images listed")


@pytest.mark.parametrize(
    "written, meant",
    [
        ("Dog", "dog"),
        ("airplane", "aeroplane"),
        ("tv/monitor", "tvmonitor"),
        ("motorcycle", "motorbike"),
        ("persn", "person"),
    ],
)
def test_a_class_written_another_way_in_idw_tags_says_which_was_meant(tree, capsys, written, meant):
    root = make_idw(tree / "idw")
    (root / "tags.txt").write_text(f"web_001 person\nweb_002 {written}\n")
    _fails(idw.main, ["--root", str(root)], capsys, "tags.txt:2", f"got {written!r}", f"did you mean {meant!r}?")


def test_idw_image_missing(tree, capsys):
    root = make_idw(tree / "idw")
    (root / "images/web_002.jpg").unlink()
    _build_fails(tree, capsys, "tags.txt", "'web_002'", "web_002.jpg", extra=("--idw", str(root)))
    assert idw.main(["--root", str(make_idw(tree / "idw2"))]) == 0
    assert "3 weak images" in capsys.readouterr().out


# --- the voc scale in the workflow --------------------------------------------------------------


def test_voc_config_plans_the_whole_dag_without_data(tmp_path):
    """snakemake -n with configs/voc.yaml: every job planned from the downloads on, nothing read or written."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    for name in ("Snakefile", "config.yaml", "configs", "workflow", "envs"):
        (shutil.copytree if (root / name).is_dir() else shutil.copy)(root / name, tmp_path / name)
    result = subprocess.run([sys.executable, "-m", "snakemake", "-n", "-p", "--configfile", "configs/voc.yaml"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=600)  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    jobs = dict(
        line.split() for line in result.stdout.split("Job stats:")[1].split("total")[0].splitlines()[3:] if line.strip()
    )
    assert {"download_archive", "extract_archive", "build_voc_splits"} <= set(jobs)
    assert "generate_synthetic" not in jobs and "export_voc12_test_sun2018" not in jobs  # no test tar given
    # 5 splits and the clean pool's withheld masks; no IDW: no noisy pool, no noisy test
    assert jobs["cache_split"] == "6"
    # every paper run and, beside them, the 3 two-update controls and Table 3's sensitivity row, 3 seeds
    assert jobs["train_fcn"] == "36" and jobs["train_dis_stage2"] == "12" and jobs["train_dis_continued"] == "3"
    assert "--train-cache data/voc/cache/trainaug" in _job(result.stdout, "train_fcn")
    assert "--train-cache data/voc/cache/train " in _job(result.stdout, "train_dis_stage2")
    assert "--weak-cache data/voc/cache/weak_clean --out-dir" in _job(result.stdout, "train_dis_stage2")
    assert "--not-run 'IDW not supplied'" in _job(result.stdout, "paper_table", "luo2017_table5")
    assert "--val-cache data/voc/cache/val " in _job(result.stdout, "select_dis_step_size")  # chosen on val, never test
    assert "--step-size-from results/dis/step_size.json" in _job(result.stdout, "train_dis_stage2")
    # ImageNet VGG16 and ResNet-101 are fetched once each, on the submit host, and read from there by the trainings
    assert jobs["fetch_weights"] == "2"  # a local rule: the submit host has the internet
    weights = "data/resources/torch/hub/checkpoints"
    for rule, filename in (("train_fcn", "vgg16-397923af.pth"), ("train_classifier", "vgg16-397923af.pth"),
                           ("train_dis_stage1", "resnet101-63fe2227.pth")):  # fmt: skip
        job = _job(result.stdout, rule)
        assert f"{weights}/{filename}" in job and "TORCH_HOME=data/resources/torch python -m" in job, rule
    assert "TORCH_HOME" not in _job(result.stdout, "train_dis_stage2")  # it starts from stage 1's model
    assert not (tmp_path / "data").exists() and not (tmp_path / "results").exists()


def _job(stdout: str, rule: str, wildcard: str = "") -> str:
    """The printed shell command of the first planned job of ``rule`` (with ``wildcard`` in its block)."""
    blocks = [b for b in stdout.split("\nrule ")[1:] if b.startswith(f"{rule}:") and wildcard in b]
    assert blocks, f"no {rule} job planned"
    return blocks[0]


def test_table5_says_not_run_without_idw(tmp_path):
    import pandas as pd

    from tagseg.reporting import tables

    out = tmp_path / "luo2017_table5.csv"
    assert tables.main(["--table", "luo2017_table5", "--not-run", "IDW not supplied", "--out", str(out)]) == 0
    table = pd.read_csv(out)
    assert (table["note"] == "not run: IDW not supplied").all() and table["mIoU"].isna().all()
    assert table["mIoU_paper"].iloc[0] == 51.6 and (table["seeds"] == 0).all()


def test_dataset_splits_per_source(tmp_path):
    from tagseg.data.roles import dataset_splits

    voc = dataset_splits("voc")
    assert (voc.sun2018_train, voc.luo2017_train, voc.weak_pools) == ("trainaug", "train", ("weak_clean",))
    assert voc.missing == {"weak_noisy": "IDW not supplied", "noisy_test": "IDW not supplied"}
    with_idw = dataset_splits("voc", make_idw(tmp_path / "idw"))
    assert with_idw.weak_pools == ("weak_clean", "weak_noisy") and with_idw.withheld_pools == ("weak_clean",)
    assert "noisy_test" in with_idw.names and not with_idw.missing
    synthetic = dataset_splits("synthetic")
    assert synthetic.sun2018_train == synthetic.luo2017_train == "train" and len(synthetic.names) == 6


def test_a_list_saved_by_a_windows_editor_reads_the_same(tree, capsys):
    """CRLF line ends and a byte-order mark, on VOC's list, the FCN authors' seg11valid and an IDW tag file."""
    resources = tree / "resources"
    for path in (tree / VOC12 / "ImageSets/Segmentation/train.txt", resources / "archives" / "seg11valid.txt"):
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes().replace(b"\n", b"\r\n"))
    assert splits.main(_split_args(tree, tree / "fresh")) == 0
    for split in ("train", "val", "trainaug"):
        assert (tree / "fresh" / "VOCdevkit/VOC2012" / f"ImageSets/Segmentation/{split}.txt").read_text() == \
            (tree / BUILT / f"ImageSets/Segmentation/{split}.txt").read_text()  # fmt: skip
    root = make_idw(tree / "idw")
    (root / "tags.txt").write_bytes(b"\xef\xbb\xbfweb_001 person\r\nweb_002 dog\r\n")
    assert idw.main(["--root", str(root)]) == 0


def test_an_id_listed_twice_or_a_list_that_is_not_text(tree, capsys):
    seg11valid = tree / "resources" / "archives" / "seg11valid.txt"
    first = seg11valid.read_text().split()[0]
    seg11valid.write_text(seg11valid.read_text() + first + "\n")
    _build_fails(tree, capsys, "seg11valid.txt:", f"{first} is listed again (first on line 1)")
    seg11valid.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    _build_fails(tree, capsys, "seg11valid.txt: not a text file")


def test_an_id_that_is_a_path_is_refused(tree, capsys):
    """An id names files: one that leads out of JPEGImages (or IDW's images/) is not read."""
    seg11valid = tree / "resources" / "archives" / "seg11valid.txt"
    seg11valid.write_text("../../../etc/passwd\n")
    _build_fails(tree, capsys, "seg11valid.txt:1", "'../../../etc/passwd' is not a plain file name")
    root = make_idw(tree / "idw")
    (root / "tags.txt").write_text("web_001 person\nsub/web_002 dog\n")
    _fails(idw.main, ["--root", str(root)], capsys, "tags.txt:2", "'sub/web_002' is not a plain file name")
