import numpy as np
import pytest
import torch
from PIL import Image

from tagseg.core.classes import voc_palette
from tagseg.data.loading import SegmentationDataset, pad_collate
from tagseg.data.transforms import (
    Normalize,
    RandomCrop,
    RandomHorizontalFlip,
    RandomScale,
    denormalize,
    eval_preset,
    to_tensors,
    train_preset,
)
from tagseg.data.voc import CachedSplit, build_cache, read_ids, read_image, read_mask, read_tags, voc_dir, write_mask


def test_cache_holds_exactly_the_decoded_files(tiny_root, tiny_caches):
    voc = voc_dir(tiny_root)
    split = CachedSplit(tiny_caches["train"])
    assert split.ids == read_ids(voc, "train") and split.has_masks
    for i in (0, len(split) - 1):
        sample = split[i]
        np.testing.assert_array_equal(sample.image, read_image(voc, sample.image_id))
        np.testing.assert_array_equal(sample.mask, read_mask(voc, sample.image_id))
    np.testing.assert_array_equal(split.tags, read_tags(voc, "train", split.ids))


def test_weak_pool_cache_has_tags_but_no_masks(tiny_root, tiny_caches):
    split = CachedSplit(tiny_caches["weak_noisy"])
    assert not split.has_masks and split[0].mask is None
    voc = voc_dir(tiny_root)
    np.testing.assert_array_equal(split.tags, read_tags(voc, "weak_noisy", split.ids))
    image, mask = to_tensors(split[0].image, split[0].mask)
    assert (mask == 255).all()  # no pixel loss from a weak image


def test_cache_of_images_with_different_sizes(tmp_path):
    voc = voc_dir(tmp_path)
    (voc / "JPEGImages").mkdir(parents=True)
    (voc / "SegmentationClass").mkdir()
    (voc / "ImageSets" / "Segmentation").mkdir(parents=True)
    for image_id, (h, w) in {"a": (5, 9), "b": (11, 4)}.items():
        Image.fromarray(np.full((h, w, 3), 100, np.uint8)).save(voc / "JPEGImages" / f"{image_id}.jpg")
        mask = np.zeros((h, w), np.uint8)
        mask[0, 0] = 7
        write_mask(voc / "SegmentationClass" / f"{image_id}.png", mask)
    (voc / "ImageSets" / "Segmentation" / "train.txt").write_text("a\nb\n")
    build_cache(tmp_path, "train", tmp_path / "cache")
    split = CachedSplit(tmp_path / "cache")
    assert split[1].image.shape == (11, 4, 3) and split[1].mask.shape == (11, 4)
    assert split.tags[0, 6] == 1 and split.tags[0].sum() == 1  # class 7 (car) from the mask


def test_missing_split_and_bad_mask_are_clear_errors(tmp_path):
    voc = voc_dir(tmp_path)
    (voc / "ImageSets" / "Segmentation").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="no split 'nope'"):
        build_cache(tmp_path, "nope", tmp_path / "cache")
    (voc / "SegmentationClass").mkdir()
    Image.fromarray(np.zeros((3, 3, 2), np.uint8), mode="LA").save(voc / "SegmentationClass" / "x.png")
    with pytest.raises(
        ValueError, match=r"x\.png: expected a PNG of class indices \(palette or single-channel\), got mode LA$"
    ):
        read_mask(voc, "x")
    assert not (tmp_path / "cache").exists()


def test_a_single_channel_mask_of_indices_reads_as_its_palette_twin(tmp_path):
    voc = voc_dir(tmp_path)
    (voc / "SegmentationClass").mkdir(parents=True)
    mask = np.array([[0, 15, 255], [3, 20, 0]], np.uint8)
    write_mask(voc / "SegmentationClass" / "p.png", mask)
    Image.fromarray(mask, mode="L").save(voc / "SegmentationClass" / "l.png")
    assert np.array_equal(read_mask(voc, "l"), read_mask(voc, "p"))
    Image.fromarray(np.array([[0, 38, 75]], np.uint8), mode="L").save(voc / "SegmentationClass" / "grey.png")
    with pytest.raises(ValueError, match=r"grey\.png: labels \[38, 75\] are neither classes 0-20 nor void 255"):
        read_mask(voc, "grey")  # a colour mask converted to grey is not indices, and is refused


def test_a_colour_coded_mask_says_to_save_class_indices(tmp_path):
    voc = voc_dir(tmp_path)
    (voc / "SegmentationClass").mkdir(parents=True)
    palette = np.array(voc_palette(), np.uint8).reshape(256, 3)
    indices = np.array([[0, 15, 255], [3, 20, 0]])
    Image.fromarray(palette[indices], mode="RGB").save(voc / "SegmentationClass" / "rgb.png")
    with pytest.raises(ValueError, match=r"rgb\.png: .*got mode RGB; it is colour-coded in VOC's colours: save each "
                                         r"pixel's class index instead"):  # fmt: skip
        read_mask(voc, "rgb")
    Image.fromarray(np.full((2, 3, 3), 7, np.uint8), mode="RGB").save(voc / "SegmentationClass" / "photo.png")
    with pytest.raises(ValueError, match=r"photo\.png: .*got mode RGB$"):  # not VOC's colours: no hint
        read_mask(voc, "photo")


def test_unfinished_cache_is_not_opened(tmp_path):
    (tmp_path / "images.npy").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="masks.npy, index.npz"):
        CachedSplit(tmp_path)


def _pair(h=10, w=14):
    image = torch.arange(3 * h * w, dtype=torch.float32).reshape(3, h, w)
    mask = torch.arange(h * w).reshape(h, w) % 21
    return image, mask


def test_flip_moves_image_and_mask_together():
    image, mask = _pair()
    flipped_image, flipped_mask = RandomHorizontalFlip(p=1.0)(image, mask)
    assert torch.equal(flipped_image[:, :, 0], image[:, :, -1]) and torch.equal(flipped_mask[:, 0], mask[:, -1])


def test_crop_pads_mask_with_void_and_keeps_alignment():
    image, mask = _pair(6, 5)
    lookup = {tuple(image[:, y, x].tolist()): int(mask[y, x]) for y in range(6) for x in range(5)}
    out_image, out_mask = RandomCrop(8)(image, mask)
    assert out_image.shape == (3, 8, 8) and out_mask.shape == (8, 8)
    assert (out_mask == 255).sum() == 64 - 30
    for y, x in zip(*torch.nonzero(out_mask != 255, as_tuple=True)):
        assert lookup[tuple(out_image[:, y, x].tolist())] == int(out_mask[y, x])


def test_scale_keeps_labels_discrete():
    image, mask = _pair()
    mask[0, 0] = 255
    _, scaled = RandomScale(1.7, 1.7)(image, mask)
    assert scaled.shape == (17, 24)
    assert set(scaled.unique().tolist()) <= set(mask.unique().tolist())


def test_presets_and_collate(tiny_caches):
    split = CachedSplit(tiny_caches["train"])
    train = SegmentationDataset(split, train_preset(32, (0.5, 1.5)))
    image, mask, tags = train[0]
    assert image.shape == (3, 32, 32) and mask.shape == (32, 32) and tags.shape == (20,)
    evaluation = SegmentationDataset(split, eval_preset())
    image, mask, _ = evaluation[0]
    np.testing.assert_array_equal(mask.numpy(), split[0].mask)
    restored = denormalize(image) * 255
    assert (restored - torch.from_numpy(split[0].image).permute(2, 0, 1)).abs().max() < 1e-3

    small = (torch.ones(3, 2, 3), torch.zeros(2, 3, dtype=torch.int64), torch.zeros(20))
    large = (torch.ones(3, 4, 2), torch.ones(4, 2, dtype=torch.int64), torch.ones(20))
    images, masks, tags = pad_collate([small, large])
    assert images.shape == (2, 3, 4, 3) and masks[0, 3, 0] == 255 and masks[1, 0, 2] == 255
    assert Normalize()(*to_tensors(np.zeros((2, 2, 3), np.uint8), None))[1].shape == (2, 2)
