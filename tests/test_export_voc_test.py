"""The VOC2012 test export: the server's layout, the same predictions the evaluation makes, bad tars refused."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from tagseg.luo2017 import export as luo2017_export, train_dis
from tagseg.luo2017.network import load_dis
from tagseg.sun2018 import export as sun2018_export, train_classifier, train_fcn
from tagseg.sun2018.network import load_fcn
from tagseg.data.transforms import eval_preset, to_tensors
from tagseg.core.classes import voc_palette
from tagseg.data.voc import build_cache, read_ids, voc_dir, CachedSplit
from tagseg.luo2017.inference import infer_latents
from tagseg.sun2018.fusion import fuse_dot, threshold_labels
from tagseg.sun2018.train_classifier import ClassifierConfig
from tagseg.luo2017.train_dis import DISTrainConfig
from tagseg.sun2018.train_fcn import TrainConfig

LAYOUT = "results/VOC2012/Segmentation/comp6_test_cls"


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def make_test_tar(path: Path, voc: Path, ids: list[str], *, listed: list[str] | None = None) -> Path:
    """A tar in VOC2012test.tar's layout (test.txt and JPEGImages), with a hostile member that must stay unread."""
    with tarfile.open(path, "w") as tar:
        _add(
            tar, "VOCdevkit/VOC2012/ImageSets/Segmentation/test.txt", "".join(f"{i}\n" for i in listed or ids).encode()
        )
        for image_id in ids:
            _add(
                tar,
                f"VOCdevkit/VOC2012/JPEGImages/{image_id}.jpg",
                (voc / "JPEGImages" / f"{image_id}.jpg").read_bytes(),
            )
        _add(tar, "../outside.jpg", b"never written")
    return path


@pytest.fixture(scope="module")
def test_split(tiny_root, tmp_path_factory) -> tuple[list[str], Path, Path]:
    """The tiny dataset's test ids, their cache, and a test tar of their images."""
    out = tmp_path_factory.mktemp("export")
    build_cache(tiny_root, "test", out / "cache")
    ids = read_ids(voc_dir(tiny_root), "test")
    return ids, out / "cache", make_test_tar(out / "VOC2012test.tar", voc_dir(tiny_root), ids)


def _read_submission(path: Path) -> dict[str, Image.Image]:
    with tarfile.open(path) as tar:
        return {m.name: Image.open(io.BytesIO(tar.extractfile(m).read())) for m in tar.getmembers()}


def test_fcn_with_classifier_labels_as_table4_evaluates(tiny_caches, test_split, tmp_path):
    ids, cache, tar = test_split
    split = CachedSplit(cache)
    model = train_fcn.train(TrainConfig(arch="fcn8s", variant="gen", iterations=2, batch_size=2, crop_size=32,
                                        checkpoint_every=10), tiny_caches["train"], tmp_path / "fcn")  # fmt: skip
    classifier = train_classifier.train(ClassifierConfig(iterations=2, batch_size=2, crop_size=32, checkpoint_every=10),
                                        tiny_caches["train"], tmp_path / "cls")  # fmt: skip
    out = tmp_path / "sub" / "sun2018.tar.gz"
    argv = ["--test-tar", str(tar), "--model", str(model), "--classifier", str(classifier), "--tau", "0.5",
            "--out", str(out), "--device", "cpu"]  # fmt: skip
    assert sun2018_export.main(argv) == 0
    pngs = _read_submission(out)
    assert sorted(pngs) == sorted(f"{LAYOUT}/{i}.png" for i in ids)
    assert not (tmp_path / "outside.jpg").exists() and sorted(p.name for p in out.parent.iterdir()) == [
        "sun2018.tar.gz"
    ]
    # the same labels tagseg.sun2018.evaluate_fcn fuses: the classifier's probabilities for the split at tau, by dot product
    probabilities = torch.from_numpy(train_classifier.predict(classifier, cache)["probabilities"])
    net, _ = load_fcn(model, torch.device("cpu"))
    for i, image_id in enumerate(split.ids):
        png = pngs[f"{LAYOUT}/{image_id}.png"]
        assert png.mode == "P" and png.getpalette()[:63] == voc_palette()[:63]
        x, _ = eval_preset()(*to_tensors(split[i].image, None))
        with torch.inference_mode():
            expected = fuse_dot(net.fcn(x[None]).float(), threshold_labels(probabilities[i : i + 1], 0.5)).argmax(1)[0]
        np.testing.assert_array_equal(np.asarray(png), expected.numpy())


def test_dis_after_test_time_inference(tiny_caches, test_split, tmp_path):
    ids, cache, tar = test_split
    split = CachedSplit(cache)
    fast = dict(stage1_steps=(2, 1, 2), batch_size=2, crop_size=32, checkpoint_every=100, optimizer="adam", lr=1e-3)
    model = train_dis.train(DISTrainConfig(**fast), tiny_caches["train"], tmp_path / "s1")
    out = tmp_path / "luo2017.tar.gz"
    argv = ["--test-tar", str(tar), "--model", str(model), "--t-ts", "3", "--out", str(out), "--device", "cpu"]
    assert luo2017_export.main(argv) == 0
    pngs = _read_submission(out)
    net, _ = load_dis(model, torch.device("cpu"))
    x, _ = eval_preset()(*to_tensors(split[0].image, None))
    with torch.inference_mode():
        u1, v1 = net.features(x[None])
    labelmap = infer_latents(net, u1, v1, x[None], steps=3, step_size=0.5)[3].labelmap
    expected = F.interpolate(labelmap, size=x.shape[1:], mode="bilinear", align_corners=False).argmax(1)[0]
    np.testing.assert_array_equal(np.asarray(pngs[f"{LAYOUT}/{ids[0]}.png"]), expected.numpy())
    assert len(pngs) == len(ids)


@pytest.mark.parametrize("damage", ["no list", "id without image", "truncated", "not a tar"])
def test_bad_test_tar_is_a_one_line_error_and_no_archive(tiny_root, tiny_caches, test_split, tmp_path, capsys, damage):
    ids, _, good = test_split
    tar = tmp_path / "VOC2012test.tar"
    if damage == "no list":
        with tarfile.open(tar, "w") as t:
            _add(t, "VOCdevkit/VOC2012/JPEGImages/x.jpg", b"")
    elif damage == "id without image":
        make_test_tar(tar, voc_dir(tiny_root), ids, listed=[*ids, "2012_999999"])
    elif damage == "truncated":
        tar.write_bytes(good.read_bytes()[:1500])
    else:
        tar.write_bytes(b"<html>404 Not Found</html>")
    model = train_fcn.train(TrainConfig(iterations=1, batch_size=2, crop_size=32, checkpoint_every=10),
                            tiny_caches["train"], tmp_path / "fcn")  # fmt: skip
    capsys.readouterr()
    out = tmp_path / "sub.tar.gz"
    assert sun2018_export.main(["--test-tar", str(tar), "--model", str(model), "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and str(tar) in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["VOC2012test.tar", "fcn"]
