import json

import numpy as np
import pytest
import torchvision

from tagseg.data.synthetic import (
    AMBIGUOUS_PAIRS,
    SyntheticConfig,
    class_appearances,
    corrupt_tags,
    generate,
    void_band,
)
from tagseg.core.classes import CLASSES, IGNORE_INDEX, OBJECT_CLASSES, voc_palette
from tagseg.data.voc import read_ids, read_mask, read_tags, voc_dir
from tests.conftest import TINY


def test_layout_opens_with_torchvision(tiny_root):
    for split, n in (("train", TINY.n_train), ("val", TINY.n_val), ("trainval", TINY.n_train + TINY.n_val)):
        dataset = torchvision.datasets.VOCSegmentation(str(tiny_root), year="2012", image_set=split)
        assert len(dataset) == n
    image, target = dataset[0]
    assert image.mode == "RGB" and image.size == (TINY.image_size, TINY.image_size)
    assert target.mode == "P" and target.getpalette()[: 3 * 21] == voc_palette()[: 3 * 21]


def test_masks_have_void_borders_and_only_voc_labels(tiny_root):
    voc = voc_dir(tiny_root)
    values = set()
    for image_id in read_ids(voc, "train"):
        mask = read_mask(voc, image_id)
        values |= set(np.unique(mask).tolist())
        # every boundary between two different classes is separated by void
        right = (mask[:, 1:] != mask[:, :-1]) & (mask[:, 1:] != 255) & (mask[:, :-1] != 255)
        down = (mask[1:, :] != mask[:-1, :]) & (mask[1:, :] != 255) & (mask[:-1, :] != 255)
        assert not right.any() and not down.any()
    assert IGNORE_INDEX in values and 0 in values
    assert values <= set(range(21)) | {255}


def test_every_data_role_is_present(tiny_root):
    voc = voc_dir(tiny_root)
    assert len(read_ids(voc, "test")) == TINY.n_test
    assert len(read_ids(voc, "noisy_test")) == TINY.n_noisy_test
    for pool, n in (("weak_clean", TINY.n_weak_clean), ("weak_noisy", TINY.n_weak_noisy)):
        ids = read_ids(voc, pool)
        assert len(ids) == n
        assert not (voc / "SegmentationClass" / f"{ids[0]}.png").exists()  # masks withheld
        assert (voc / "SegmentationClassWithheld" / f"{ids[0]}.png").exists()
    assert json.loads((tiny_root / "dataset.json").read_text())["config"]["seed"] == TINY.seed


def test_clean_tags_match_the_masks(tiny_root):
    voc = voc_dir(tiny_root)
    ids = read_ids(voc, "val")
    tags = read_tags(voc, "val", ids)
    for image_id, row in zip(ids, tags):
        present = set(np.unique(read_mask(voc, image_id)).tolist()) - {0, 255}
        # void can swallow a sliver entirely, so the tags may name a class no labelled pixel shows
        assert present <= {c + 1 for c in np.flatnonzero(row)}


def test_noisy_tags_differ_from_truth_at_about_the_set_rates(tiny_root):
    voc = voc_dir(tiny_root)
    ids = read_ids(voc, "weak_noisy")
    noisy, truth = read_tags(voc, "weak_noisy", ids), read_tags(voc, "weak_noisy_truth", ids)
    assert (noisy != truth).any()
    missing = ((truth == 1) & (noisy == 0)).sum() / truth.sum()
    assert 0.05 < missing < 0.45  # set rate 0.2, on ~80 present tags


def test_corrupt_tags_rates_on_a_large_sample():
    rng = np.random.default_rng(0)
    tags = (rng.uniform(size=(20000, 20)) < 0.1).astype(np.uint8)
    noisy = corrupt_tags(tags, 0.3, 0.05, rng)
    assert ((tags == 1) & (noisy == 0)).sum() / tags.sum() == pytest.approx(0.3, abs=0.01)
    assert ((tags == 0) & (noisy == 1)).sum() / (tags == 0).sum() == pytest.approx(0.05, abs=0.005)


def test_noisy_test_has_more_classes_per_image(tiny_root):
    voc = voc_dir(tiny_root)

    def per_image(split):
        return read_tags(voc, f"{split}_truth" if split == "noisy_test" else split, read_ids(voc, split)).sum(1).mean()

    assert per_image("noisy_test") > per_image("train")


def test_ambiguous_pairs_share_appearance_not_shape():
    table = class_appearances()
    index = {name: i + 1 for i, name in enumerate(OBJECT_CLASSES)}
    for first, second in AMBIGUOUS_PAIRS:
        (a1, s1), (a2, s2) = table[index[first]], table[index[second]]
        assert a1 == a2 and s1 != s2
    singles = [table[c][0] for c in table if CLASSES[c] not in {n for p in AMBIGUOUS_PAIRS for n in p}]
    assert len(set(singles)) == len(singles)  # every other class looks unique


def test_same_seed_same_data_and_splits_independent(tmp_path):
    small = SyntheticConfig(image_size=24, n_train=3, n_val=2, n_test=2, n_weak_clean=1, n_weak_noisy=1, n_noisy_test=1)
    generate(small, tmp_path / "a")
    generate(small, tmp_path / "b")
    bigger_train = SyntheticConfig(**{**small.__dict__, "n_train": 5})
    generate(bigger_train, tmp_path / "c")

    def jpeg(root, split):
        return (voc_dir(root) / "JPEGImages" / f"{read_ids(voc_dir(root), split)[0]}.jpg").read_bytes()

    assert jpeg(tmp_path / "a", "train") == jpeg(tmp_path / "b", "train")
    assert jpeg(tmp_path / "a", "val") == jpeg(tmp_path / "c", "val")


def test_refuses_to_replace_a_voc_tree_it_did_not_make(tmp_path):
    (tmp_path / "VOCdevkit" / "VOC2012").mkdir(parents=True)
    keep = tmp_path / "VOCdevkit" / "VOC2012" / "mine.txt"
    keep.write_text("user data")
    with pytest.raises(FileExistsError, match="refusing"):
        generate(
            SyntheticConfig(
                image_size=16, n_train=1, n_val=1, n_test=1, n_weak_clean=1, n_weak_noisy=1, n_noisy_test=1
            ),
            tmp_path,
        )
    assert keep.read_text() == "user data"


def test_void_band_width():
    labels = np.zeros((7, 7), dtype=np.uint8)
    labels[:, 4:] = 3
    band = void_band(labels, 1)
    assert band[:, 3:5].all() and not band[:, :3].any() and not band[:, 5:].any()
    assert not void_band(labels, 0).any()


def test_bad_config_names_the_key():
    with pytest.raises(ValueError, match="synthetic.n_train"):
        SyntheticConfig(n_train=0)
    with pytest.raises(ValueError, match="missing_tag_rate"):
        SyntheticConfig(missing_tag_rate=1.5)
