"""The papers' roles built from VOC2012 + SBD (+ IDW), read back by the one VOC reader."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tagseg.data import sbd, splits
from tagseg.data.idw import ID_PREFIX
from tagseg.data.splits import Sources, build
from tagseg.data.voc import CachedSplit, build_cache, has_masks, read_ids, tags_from_mask, voc_dir
from tests.voc_trees import (
    IDW_TAGS,
    IDW_TEST,
    SBD_ONLY_IMAGE,
    SEG11VALID,
    TRAINAUG,
    VOC_TRAIN,
    VOC_VAL,
    labelmap,
    make_idw,
    make_sources,
)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Sources, Path]:
    sources = make_sources(tmp_path_factory.mktemp("resources"))
    out = tmp_path_factory.mktemp("voc")
    build(sources, out)
    return sources, out


def test_every_role_has_the_papers_ids(built):
    _, out = built
    voc = voc_dir(out)
    assert read_ids(voc, "trainaug") == sorted(set(TRAINAUG) - set(SEG11VALID))  # sun2018 train
    assert read_ids(voc, "val") == SEG11VALID  # sun2018 val
    assert read_ids(voc, "test") == VOC_VAL  # both papers' labelled test stand-in
    assert read_ids(voc, "train") == VOC_TRAIN  # luo2017 pixel-labelled
    assert read_ids(voc, "weak_clean") == sorted(set(TRAINAUG) - set(VOC_TRAIN))
    assert not set(TRAINAUG) & set(VOC_VAL)  # trainaug never holds a test image
    assert [has_masks(voc, s) for s in ("trainaug", "val", "test", "train", "weak_clean")] == [True] * 4 + [False]
    summary = json.loads((out / "dataset.json").read_text())
    assert summary["splits"] == {"trainaug": 10, "val": 2, "test": 4, "train": 4, "weak_clean": 6}
    assert summary["real_data"] is False and summary["idw"] is False
    assert not (voc / "ImageSets" / "Main" / "weak_noisy.txt").exists() and not (out / ".staging").exists()


def test_masks_come_from_voc_where_it_has_one_else_from_sbd(built, tmp_path):
    _, out = built
    build_cache(out, "trainaug", tmp_path / "trainaug")
    split = CachedSplit(tmp_path / "trainaug")
    by_id = {split.ids[i]: split[i] for i in range(len(split))}
    # in VOC12 train and in SBD: VOC's mask, with its void border
    np.testing.assert_array_equal(by_id["2007_000001"].mask, labelmap("2007_000001", "voc"))
    # SBD only (its image only in SBD's img/ for one of them): the converted labelmap
    for image_id in ("2008_000001", SBD_ONLY_IMAGE):
        np.testing.assert_array_equal(by_id[image_id].mask, labelmap(image_id, "sbd"))
        np.testing.assert_array_equal(by_id[image_id].tags, tags_from_mask(labelmap(image_id, "sbd")))


def test_weak_pool_keeps_tags_and_withholds_masks(built, tmp_path):
    _, out = built
    build_cache(out, "weak_clean", tmp_path / "weak")
    build_cache(out, "weak_clean", tmp_path / "withheld", withheld=True)
    weak, withheld = CachedSplit(tmp_path / "weak"), CachedSplit(tmp_path / "withheld")
    assert not weak.has_masks and withheld.has_masks and weak.ids == withheld.ids
    for i, image_id in enumerate(weak.ids):
        np.testing.assert_array_equal(weak.tags[i], tags_from_mask(labelmap(image_id, "sbd")))
        np.testing.assert_array_equal(withheld[i].mask, labelmap(image_id, "sbd"))


def test_torchvision_opens_the_built_dataset(built):
    from torchvision.datasets import VOCSegmentation

    _, out = built
    dataset = VOCSegmentation(str(out), image_set="train")
    image, mask = dataset[0]
    assert len(dataset) == len(VOC_TRAIN) and image.size == mask.size


def test_real_sizes_are_checked_when_the_lists_are_the_real_ones(built, monkeypatch):
    sources, _ = built
    tiny = {"voc12_train": 4, "voc12_val": 4, "seg11valid": 2, "trainaug": 10}
    monkeypatch.setattr(splits, "REAL_SIZES", tiny)  # our tiny lists stand in for VOC2012's real sizes
    assert splits.plan_roles(sources).real_data
    monkeypatch.setattr(splits, "REAL_SIZES", {**tiny, "trainaug": 10582})
    with pytest.raises(ValueError, match=r"give trainaug 10 \(expected 10582\);"):
        splits.plan_roles(sources)


def test_idw_adds_the_noisy_pool_and_its_test_set(tmp_path):
    sources = make_sources(tmp_path / "resources")
    idw = make_idw(tmp_path / "idw")
    out = tmp_path / "voc"
    summary = build(Sources(sources.voc2012, sources.sbd, sources.seg11valid, idw), out)
    assert summary["splits"]["weak_noisy"] == 3 and summary["splits"]["noisy_test"] == 2
    voc = voc_dir(out)
    assert read_ids(voc, "weak_noisy") == [ID_PREFIX + i for i in IDW_TAGS] and not has_masks(voc, "weak_noisy")
    build_cache(out, "weak_noisy", tmp_path / "noisy")
    noisy = CachedSplit(tmp_path / "noisy")
    assert noisy.tags.sum(1).tolist() == [2, 1, 0]  # IDW's own tags, not derived
    assert noisy.tags[0, 14] == 1 and noisy.tags[0, 12] == 1  # person, horse
    build_cache(out, "noisy_test", tmp_path / "noisy_test")
    test = CachedSplit(tmp_path / "noisy_test")
    assert test.ids == [ID_PREFIX + i for i in IDW_TEST] and test.has_masks and test.tags.sum(1).tolist() == [2, 2]


def test_idw_without_test_set_gives_no_noisy_test(tmp_path):
    sources = make_sources(tmp_path / "resources")
    summary = build(Sources(sources.voc2012, sources.sbd, sources.seg11valid, make_idw(tmp_path / "idw", test=False)),
                    tmp_path / "voc")  # fmt: skip
    assert "weak_noisy" in summary["splits"] and "noisy_test" not in summary["splits"]


def test_rebuild_replaces_its_own_tree_but_no_other(built, tmp_path):
    sources, out = built
    build(sources, out)  # its own: replaced
    foreign = tmp_path / "foreign"
    (foreign / "VOCdevkit").mkdir(parents=True)
    with pytest.raises(FileExistsError, match="was not made by tagseg.data.splits"):
        build(sources, foreign)


def test_sbd_cli_converts_a_split(built, tmp_path, capsys):
    sources, _ = built
    assert sbd.main(["--sbd", str(sources.sbd), "--split", "val", "--out", str(tmp_path / "png")]) == 0
    from tagseg.data.voc import read_mask

    for image_id in ("2008_000005", "2007_000003"):
        np.testing.assert_array_equal(read_mask(tmp_path, image_id, folder="png"), labelmap(image_id, "sbd"))
    assert "converted 3" in capsys.readouterr().out
