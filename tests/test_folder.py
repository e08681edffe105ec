"""A dataset of the user's (data.source: folder): the checker, the import into the VOC layout, the config
checks, and the whole DAG at smoke size on a 5-class dataset of odd-sized images."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from PIL import Image

from tagseg.config_checks import check_combinations
from tagseg.core.config import ConfigError, prepare_config
from tagseg.data import folder
from tagseg.data.voc import CachedSplit, build_cache
from tagseg.reporting.claims import as_question
from tagseg.reporting.papers import LUO_TABLES, TABLES
from tests.folder_data import CLASSES, N_WEAK, SIZES, SPLIT_COUNTS, VOID, make_folder_dataset
from tests.test_workflow import SCHEMA, _snakemake, _workdir


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return make_folder_dataset(tmp_path_factory.mktemp("my data") / "cells")


def _config(path: Path, **folder_keys) -> folder.FolderConfig:
    return folder.FolderConfig(path=str(path), void=VOID, weak_noisy="weak_tags.txt", withhold=0.5, **folder_keys)


def _write_config(tmp_path: Path, dataset: Path, **folder_keys) -> Path:
    config = {"data": {"source": "folder", "root": str(tmp_path / "imported")},
              "folder": {"path": str(dataset), "void": VOID, "weak_noisy": "weak_tags.txt", "withhold": 0.5,
                         **folder_keys}}  # fmt: skip
    path = tmp_path / "my-data.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _broken_copy(dataset: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "broken"
    shutil.copytree(dataset, copy)
    return copy


def test_the_checker_reports_splits_classes_sizes_and_no_problem(dataset, tmp_path, capsys):
    assert folder.main(["check", str(_write_config(tmp_path, dataset))]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == f"classes: 5 ({', '.join(CLASSES)}); void {VOID}"
    by_group = {line.split(":")[0]: line for line in lines}
    half = SPLIT_COUNTS["train"] // 2  # folder.withhold 0.5 moves half of train into the clean-tag pool
    assert by_group["train"].startswith(f"train: {half} images, pixel-labelled")
    assert by_group["weak_clean"].startswith(f"weak_clean: {half} images, tags from masks kept aside")
    assert by_group["weak_noisy"].startswith(f"weak_noisy: {N_WEAK} images, tags only")
    widths, heights = [w for w, _ in SIZES], [h for _, h in SIZES]
    assert f"sizes {min(widths)}x{min(heights)} to {max(widths)}x{max(heights)}" in by_group["val"]
    assert "grayscale" in by_group["test"] and "0 grayscale" not in by_group["test"]  # every 4th image is gray
    assert all(name in by_group["train classes (images holding it, share of labelled pixels)"] for name in CLASSES)
    assert lines[-1] == "no problems"


def _drop_a_mask(root: Path) -> str:
    (root / "masks" / "val_016.png").unlink()
    return "val: id 'val_016' has no mask"


def _value_outside_the_classes(root: Path) -> str:
    path = root / "masks" / "test_022.png"
    mask = np.asarray(Image.open(path)).copy()
    mask[0, 0] = 7
    Image.fromarray(mask, mode="L").save(path)
    return f"{path}: values 7 are neither classes 0-4 nor the void {VOID}"


def _empty_split(root: Path) -> str:
    (root / "splits" / "val.txt").write_text("\n")
    return f"{root / 'splits' / 'val.txt'}: split list is empty; every split needs at least one image"


def _tag_outside_the_classes(root: Path) -> str:
    path = root / "weak_tags.txt"
    lines = path.read_text().splitlines()
    lines[1] = lines[1].split()[0] + " nucleous"
    path.write_text("\n".join(lines) + "\n")
    return "'nucleous' is not a class (did you mean nucleus?)"


@pytest.mark.parametrize("breakage", [_drop_a_mask, _value_outside_the_classes, _empty_split, _tag_outside_the_classes])
def test_a_broken_folder_gives_one_line_naming_the_file_and_exit_1(dataset, tmp_path, capsys, breakage):
    root = _broken_copy(dataset, tmp_path)
    expected = breakage(root)
    assert folder.main(["check", str(_write_config(tmp_path, root))]) == 1
    problems = [line for line in capsys.readouterr().out.splitlines() if line.startswith("problem: ")]
    assert len(problems) == 1 and expected in problems[0], problems


def test_build_writes_the_voc_layout_the_caches_read(dataset, tmp_path):
    root = tmp_path / "imported"
    found = folder.build(_config(dataset), root)
    voc = root / "VOCdevkit" / "VOC2012"
    record = json.loads((root / "dataset.json").read_text())
    assert record["classes"] == list(CLASSES) and record["generator"] == "tagseg.data.folder"
    # JPEGs are copied as they are; other images are stored losslessly
    for image_id in found.splits["val"]:
        source = next((dataset / "images").glob(f"{image_id}.*"))
        if source.suffix == ".jpg":
            assert (voc / "JPEGImages" / f"{image_id}.jpg").read_bytes() == source.read_bytes()
        else:
            assert np.array_equal(
                np.asarray(Image.open(voc / "JPEGImages" / f"{image_id}.png")), np.asarray(Image.open(source))
            )
    # the void is 255 in the copy; every other value is the user's class index
    user = np.asarray(Image.open(dataset / "masks" / "val_016.png"))
    copied = np.asarray(Image.open(voc / "SegmentationClass" / "val_016.png"))
    assert np.array_equal(copied, np.where(user == VOID, 255, user))
    # the caches: the dataset's classes and sizes, odd and grayscale images as RGB
    build_cache(root, "train", tmp_path / "cache" / "train")
    train = CachedSplit(tmp_path / "cache" / "train")
    assert train.classes == CLASSES and train.n_classes == 5 and len(train) == SPLIT_COUNTS["train"] // 2
    assert {tuple(shape) for shape in train.shapes} <= {(h, w) for w, h in SIZES}
    assert train.tags.shape == (len(train), 4)
    build_cache(root, "weak_clean", tmp_path / "cache" / "weak_clean", withheld=True)
    pool = CachedSplit(tmp_path / "cache" / "weak_clean")
    masks = [pool[i].mask for i in range(len(pool))]
    present = [sorted(set(np.unique(m).tolist()) - {0, 255}) for m in masks]  # tags from the masks kept aside
    assert [list(np.flatnonzero(row) + 1) for row in pool.tags] == present


def test_a_build_that_finds_a_problem_leaves_nothing_behind(dataset, tmp_path):
    root = _broken_copy(dataset, tmp_path)
    _drop_a_mask(root)
    with pytest.raises(ValueError, match="has no mask"):
        folder.build(_config(root), tmp_path / "imported")
    assert not (tmp_path / "imported" / "VOCdevkit").exists() and not (tmp_path / "imported" / "dataset.json").exists()
    assert not (tmp_path / "imported" / ".staging").exists()


def test_build_refuses_a_voc_tree_it_did_not_import_and_a_root_inside_the_dataset(dataset, tmp_path):
    (tmp_path / "voc" / "VOCdevkit" / "VOC2012").mkdir(parents=True)
    with pytest.raises(FileExistsError, match="was not imported by tagseg.data.folder"):
        folder.build(_config(dataset), tmp_path / "voc")
    assert (tmp_path / "voc" / "VOCdevkit" / "VOC2012").is_dir()  # nothing of the user's is removed
    with pytest.raises(ValueError, match="inside it"):
        folder.build(_config(dataset), dataset / "tagseg")


def test_without_split_lists_a_seeded_split_is_made_and_recorded(dataset, tmp_path):
    root = _broken_copy(dataset, tmp_path)
    shutil.rmtree(root / "splits")
    first = folder.scan(_config(root, split_seed=4))
    again = folder.scan(_config(root, split_seed=4))
    other = folder.scan(_config(root, split_seed=5))
    assert not first.problems and first.seeded and first.splits == again.splits and first.splits != other.splits
    ids = [i for split in ("train", "val", "test") for i in first.splits[split]] + first.withheld
    assert len(ids) == len(set(ids)) == sum(SPLIT_COUNTS.values())  # every masked image once, no weak-pool image
    assert len(first.splits["val"]) == int(0.2 * len(ids))
    found = folder.build(_config(root, split_seed=4), tmp_path / "imported")
    record = json.loads((tmp_path / "imported" / "dataset.json").read_text())
    assert record["seeded_split"] and record["config"]["split_seed"] == 4
    listed = (tmp_path / "imported/VOCdevkit/VOC2012/ImageSets/Segmentation/val.txt").read_text().split()
    assert listed == found.splits["val"]


def test_large_images_are_shrunk_on_import_with_their_masks(dataset, tmp_path):
    folder.build(_config(dataset, max_side=32), tmp_path / "imported")
    voc = tmp_path / "imported" / "VOCdevkit" / "VOC2012"
    for mask_path in (voc / "SegmentationClass").glob("*.png"):
        image_path = next((voc / "JPEGImages").glob(f"{mask_path.stem}.*"))
        image, mask = Image.open(image_path), Image.open(mask_path)
        assert image.size == mask.size and max(image.size) <= 32
        assert set(np.unique(np.asarray(mask)).tolist()) <= {0, 1, 2, 3, 4, 255}  # nearest: no blended labels


def test_palette_and_16_bit_masks_are_read_as_class_indices(tmp_path):
    values = np.array([[0, 1, 2], [3, 4, VOID]], dtype=np.uint8)
    palette = Image.fromarray(values, mode="P")
    palette.putpalette([v for c in range(256) for v in (c, 255 - c, 0)])
    palette.save(tmp_path / "p.png")
    Image.fromarray(values.astype(np.uint16) * 1).save(tmp_path / "i16.png")
    for name in ("p.png", "i16.png"):
        mask, _ = folder.read_user_mask(tmp_path / name, 5, VOID)
        assert mask.tolist() == [[0, 1, 2], [3, 4, 255]], name
    Image.fromarray(np.zeros((2, 3, 3), dtype=np.uint8)).save(tmp_path / "rgb.png")
    with pytest.raises(ValueError, match="a colour image"):
        folder.read_user_mask(tmp_path / "rgb.png", 5, VOID)


def _prepared(config: dict) -> dict:
    prepare_config(config, SCHEMA)
    return config


@pytest.mark.parametrize(("folder_keys", "message"), [
    ({}, "config key 'folder.path'"),
    ({"path": "x", "withhold": 0.5, "weak_clean": "tags.txt"}, "both make the clean-tag weak pool"),
    ({"path": "x", "withhold": 0.5, "split_fractions": [0.5, 0.2, 0.2]}, "config key 'folder.split_fractions'"),
])  # fmt: skip
def test_folder_settings_that_cannot_work_are_refused_naming_the_key(folder_keys, message):
    config = _prepared({"data": {"source": "folder", "root": "data/folder"}, "folder": folder_keys})
    with pytest.raises(ConfigError, match=message):
        check_combinations(config)


def test_a_folder_path_with_another_source_is_refused():
    config = _prepared({"data": {"source": "synthetic", "root": "d"}, "folder": {"path": "x"}})
    with pytest.raises(ConfigError, match="'folder.path', 'data.source'"):
        check_combinations(config)


def test_the_schema_names_a_bad_folder_value():
    with pytest.raises(ConfigError, match=r"config key 'folder\.classes'"):
        _prepared({"data": {"source": "folder", "root": "d"}, "folder": {"path": "x", "classes": ["background"]}})


def test_claims_become_questions_about_the_data_at_hand():
    assert as_question("Fusing ground-truth image labels beats FCN-32s.") == \
        "Does it hold here that fusing ground-truth image labels beats FCN-32s?"  # fmt: skip
    assert as_question("FCN-8s beats FCN-32s.") == "Does it hold here that FCN-8s beats FCN-32s?"
    assert as_question("Noisy-tag test: t_tr = 0 beats the ResNet101 baseline.") == \
        "On the noisy-tag test, does it hold here that t_tr = 0 beats the ResNet101 baseline?"  # fmt: skip


@pytest.mark.e2e
def test_the_smoke_dag_runs_on_a_folder_of_the_users_to_its_tables(dataset, tmp_path):
    (tmp_path / "workflow").mkdir()
    workdir = _workdir(tmp_path / "workflow")
    config = yaml.safe_load((workdir / "configs" / "folder.yaml").read_text())
    config["folder"].update(path=str(dataset), void=VOID, weak_noisy="weak_tags.txt")
    (workdir / "my-data.yaml").write_text(yaml.safe_dump(config))
    result = _snakemake(workdir, "--cores", "2", "--resources", "gpu=2", "--configfile", "configs/smoke.yaml",
                        "my-data.yaml")  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    tables = workdir / "results" / "tables"
    objects = list(CLASSES[1:])
    for name, paper_table in {**TABLES, **LUO_TABLES}.items():
        table = pd.read_csv(tables / f"{name}.csv")
        assert list(table["Method"]) == [row.label for row in paper_table.rows]  # the papers' rows
        assert not [c for c in table.columns if c.endswith("_paper")], name  # no paper columns
    table3 = pd.read_csv(tables / "luo2017_table3.csv")
    assert [c for c in table3.columns if not c.endswith("_sd")][1:] == [*objects, "mIoU", "seeds"]  # the user's classes
    assert table3.loc[0, "seeds"] == 1 and 0 <= table3.loc[0, "mIoU"] <= 100
    table5 = pd.read_csv(tables / "luo2017_table5.csv")
    assert (table5["seeds"] == 0).all() and table5["note"].str.contains(
        "no pixel-labelled test set with noisy tags"
    ).all()
    weak = pd.read_csv(tables / "luo2017_weak.csv")
    assert set(weak["pool"]) == {"weak_clean"}  # the withheld pool: its masks measure inference
    assert "params_M_paper" not in pd.read_csv(tables / "luo2017_table4.csv").columns
    claims = pd.read_csv(tables / "claims.csv")
    assert "paper_effect" not in claims.columns and claims["effect"].notna().any()
    assert (
        claims["statement"].str.match(r"^(Does it hold here that|On the .* test, does it hold here that) .*\?$").all()
    )
    assert not claims["note"].fillna("").str.contains("synthetic").any()
    # the project README's sections are a synthetic run's: refused, by name, with the README untouched
    readme = tmp_path / "README.md"
    shutil.copy(Path(__file__).resolve().parents[1] / "README.md", readme)
    refused = subprocess.run([sys.executable, "-m", "tagseg.reporting.claims", "readme", "--csv",
                              str(tables / "claims.csv"), "--readme", str(readme)], capture_output=True, text=True)  # fmt: skip
    assert refused.returncode == 1 and "a dataset of your own" in refused.stderr
    assert readme.read_bytes() == (Path(__file__).resolve().parents[1] / "README.md").read_bytes()
    probabilities = np.load(workdir / "results/classifier/seed0/test.npz")["probabilities"]
    assert probabilities.shape == (SPLIT_COUNTS["test"], len(objects))
    metrics = json.loads((workdir / "results/metrics/fcn8s/base/seed0/test.json").read_text())
    assert metrics["classes"] == list(CLASSES) and len(metrics["scores"]["IoU"]) == len(metrics["confusion"]) == 5
    assert (workdir / "results" / "figures" / "luo2017_figure5.png").read_bytes()[:4] == b"\x89PNG"


def _voc_layout_without_pool_or_splits(dataset: Path, root: Path) -> Path:
    """The same images in a VOC tree, with no split lists (a seeded split) and no weak pool."""
    (root / "SegmentationClass").parent.mkdir(parents=True)
    shutil.copytree(dataset / "images", root / "JPEGImages", ignore=shutil.ignore_patterns("weak_*"))
    shutil.copytree(dataset / "masks", root / "SegmentationClass")
    return root


@pytest.mark.e2e
def test_without_a_weak_pool_the_dag_leaves_out_luo2017s_stage_2_and_says_why(dataset, tmp_path):
    root = _voc_layout_without_pool_or_splits(dataset, tmp_path / "voc tree")
    (tmp_path / "workflow").mkdir()
    workdir = _workdir(tmp_path / "workflow")
    config = {
        "data": {"source": "folder", "root": "data/folder"},
        "folder": {"path": str(root), "layout": "voc", "classes": list(CLASSES), "void": VOID, "withhold": 0},
    }
    (workdir / "no-pool.yaml").write_text(yaml.safe_dump(config))
    result = _snakemake(workdir, "--cores", "2", "--resources", "gpu=2", "--configfile", "configs/smoke.yaml",
                        "no-pool.yaml")  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert not (workdir / "results" / "dis" / "ttr0").exists()  # no stage-2 run was trained
    tables = workdir / "results" / "tables"
    table3 = pd.read_csv(tables / "luo2017_table3.csv")
    rows = LUO_TABLES["luo2017_table3"].rows
    stage2 = np.array([(row.run or "").startswith("ttr") for row in rows])
    assert table3.loc[~stage2, "seeds"].eq(1).all() and table3.loc[~stage2, "note"].isna().all()
    assert table3.loc[stage2, "seeds"].eq(0).all()
    assert table3.loc[stage2, "note"].str.contains("no weak pool").all()
    assert pd.read_csv(tables / "luo2017_table4.csv").loc[0, "ms_t_ts30"] > 0  # the same network's cost, at stage 1
    assert "not run" in pd.read_csv(tables / "luo2017_weak.csv").loc[0, "note"]
    claims = pd.read_csv(tables / "claims.csv").set_index("id")
    assert claims.loc["L2.5", "verdict"] == "not run" and claims.loc["S1", "verdict"] != "not run"
    assert not (tables / "luo2017_grid.csv").exists()
    record = json.loads((workdir / "data" / "folder" / "dataset.json").read_text())
    assert record["seeded_split"] and record["classes"] == list(CLASSES)


def test_the_checker_says_a_dataset_without_a_weak_pool_leaves_out_stage_2(dataset):
    config = folder.FolderConfig(path=str(dataset), void=VOID)
    found = folder.scan(config)
    assert not found.problems and not found.pools and "weak_000" in found.unused
    assert any("stage 2 is left out" in line for line in folder.report(config, found))


@pytest.mark.parametrize("content", [None, "data: {source: synthetic, root: d}\n", "data: [\n"])
def test_the_checker_on_a_config_it_cannot_use_exits_1_with_one_line(tmp_path, content):
    path = tmp_path / "my-data.yaml"
    if content is not None:
        path.write_text(content)
    result = subprocess.run([sys.executable, "-m", "tagseg.data.folder", "check", str(path)], capture_output=True,
                            text=True, timeout=120)  # fmt: skip
    assert result.returncode == 1 and result.stderr.strip().count("\n") == 0 and str(path) in result.stderr, (
        result.stderr
    )
