"""Predict the VOC2012 test images and write them in the evaluation server's submission layout.

VOC2012 test labels are not public: the server scores a tar of P-mode PNGs laid out as
``results/VOC2012/Segmentation/comp6_test_cls/<id>.png`` (comp6: trained with data beyond VOC's own,
here SBD and ImageNet). The images are read straight out of the test tar the user supplies
(``VOC2012test.tar``: ``VOCdevkit/VOC2012/ImageSets/Segmentation/test.txt`` and ``JPEGImages``); no
member of it is ever written to disk, so its member names cannot place a file anywhere.

    python -m tagseg.export_voc_test fcn --test-tar VOC2012test.tar --model results/models/fcn8s/gen/seed0/model.pt \\
        --classifier results/classifier/seed0/model.pt --tau 0.25 --out results/submissions/sun2018.tar.gz
    python -m tagseg.export_voc_test dis --test-tar VOC2012test.tar --model results/dis/ttr30/seed0/model.pt \\
        --t-ts 30 --out results/submissions/luo2017.tar.gz
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import sys
import tarfile
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from tagseg import runtime
from tagseg.data.transforms import eval_preset, to_tensors
from tagseg.data.voc import write_mask
from tagseg.dis import infer_latents, upsampled_argmax
from tagseg.fusion import FUSIONS, threshold_labels
from tagseg.metrics import class_argmax
from tagseg.train_classifier import load_classifier
from tagseg.train_dis import load_dis
from tagseg.train_fcn import load_model

TEST_LIST = "VOCdevkit/VOC2012/ImageSets/Segmentation/test.txt"
SUBMISSION_DIR = "results/VOC2012/Segmentation/comp6_test_cls"

# (1, 3, H, W) normalised image -> (H, W) class indices
Predictor = Callable[[torch.Tensor], np.ndarray]


def read_test_images(tar_path: str | os.PathLike) -> Iterator[tuple[str, np.ndarray]]:
    """(id, (H, W, 3) uint8 image) for every id of the tar's test list, read from the tar in memory."""
    tar_path = Path(tar_path)
    try:
        tar = tarfile.open(tar_path, "r:*")
    except FileNotFoundError:
        raise FileNotFoundError(f"{tar_path}: VOC2012 test tar missing (config data.voc12_test_tar)") from None
    except tarfile.TarError as error:
        reason = " ".join(str(error).split())  # tarfile lists each compression it tried, a line each
        raise ValueError(f"{tar_path}: not a readable tar ({reason})") from None
    with tar:
        try:
            members = {member.name.removeprefix("./"): member for member in tar.getmembers() if member.isfile()}
        except (tarfile.TarError, EOFError, OSError) as error:
            raise ValueError(f"{tar_path}: truncated or corrupt tar ({error})") from None
        if TEST_LIST not in members:
            raise ValueError(f"{tar_path}: no {TEST_LIST} (is this VOC2012test.tar?)")
        ids = [line.split()[0] for line in tar.extractfile(members[TEST_LIST]).read().decode().splitlines() if line.strip()]
        if not ids:
            raise ValueError(f"{tar_path}: {TEST_LIST} is empty")
        names = [f"VOCdevkit/VOC2012/JPEGImages/{image_id}.jpg" for image_id in ids]
        missing = [name for name in names if name not in members]
        if missing:
            raise ValueError(f"{tar_path}: {TEST_LIST} lists {len(missing)} ids with no image, e.g. {missing[0]}")
        for image_id, name in zip(ids, names):
            try:
                with Image.open(io.BytesIO(tar.extractfile(members[name]).read())) as image:
                    yield image_id, np.array(image.convert("RGB"))
            except (UnidentifiedImageError, OSError, SyntaxError) as error:
                raise ValueError(f"{tar_path}: member {name} cannot be decoded ({error})") from None


def fcn_predictor(model_path: str | os.PathLike, device: torch.device, classifier_path: str | os.PathLike | None = None,
                  tau: float | None = None) -> Predictor:  # fmt: skip
    """An FCN's argmax, with the classifier's labels at ``tau`` fused as in Table 4 when ``classifier_path`` is given."""
    if (classifier_path is None) != (tau is None):
        raise ValueError("export: --classifier and --tau go together")
    model, _ = load_model(model_path, device)
    classifier = None
    if classifier_path is not None:
        classifier, _ = load_classifier(classifier_path, device)
    elif model.variant.fusion is not None:
        raise ValueError(f"{model_path}: variant {model.variant_name!r} fuses labels; give --classifier and --tau")

    @torch.inference_mode()
    def predict(image: torch.Tensor) -> np.ndarray:
        scores = model.fcn(image).float()  # (1, 21, H, W)
        if classifier is not None:  # as tagseg.evaluate --probabilities: the variant's fusion, else dot
            labels = threshold_labels(torch.sigmoid(classifier(image).float()), tau)  # (1, 21)
            scores = FUSIONS[model.variant.fusion or "dot"](scores, labels)
        return class_argmax(scores)[0].to(torch.uint8).cpu().numpy()

    return predict


def dis_predictor(model_path: str | os.PathLike, device: torch.device, t_ts: int, step_size: float) -> Predictor:
    """DIS's refined labelmap after ``t_ts`` test-time inference steps, upsampled to the image."""
    net, _ = load_dis(model_path, device)

    def predict(image: torch.Tensor) -> np.ndarray:
        with torch.inference_mode():
            u1, v1 = net.features(image)
        readout = infer_latents(net, u1.clone(), v1.clone(), image, steps=t_ts, step_size=step_size)[t_ts]
        return upsampled_argmax(readout.labelmap, image.shape[2:])[0].to(torch.uint8).cpu().numpy()

    return predict


def export(tar_path: str | os.PathLike, predict: Predictor, out: str | os.PathLike, device: torch.device) -> int:
    """Predict every test image and write ``out`` (a .tar.gz of the submission layout); returns the image count.

    PNGs are written in a temporary folder beside ``out`` and the archive under a temporary name,
    renamed last: a failed run leaves no archive.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging, tmp = out.with_name(f".{out.name}.staging"), out.with_name(f".{out.name}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    folder = staging / SUBMISSION_DIR
    folder.mkdir(parents=True)
    transform = eval_preset()
    count = 0
    try:
        for image_id, image in read_test_images(tar_path):
            x, _ = transform(*to_tensors(image, None))
            labels = predict(x[None].to(device))  # (H, W)
            write_mask(folder / f"{image_id}.png", labels)
            count += 1
        with tarfile.open(tmp, "w:gz") as archive:
            for path in sorted(folder.iterdir()):
                archive.add(path, arcname=f"{SUBMISSION_DIR}/{path.name}")
        os.replace(tmp, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        tmp.unlink(missing_ok=True)
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tagseg.export_voc_test", description=__doc__.split("\n\n")[0])
    kinds = parser.add_subparsers(dest="kind", required=True)
    fcn = kinds.add_parser("fcn", help="a sun2018 FCN (tagseg.train_fcn), optionally with the classifier's labels")
    fcn.add_argument("--classifier", help="model.pt of tagseg.train_classifier: fuse its labels at --tau")
    fcn.add_argument("--tau", type=float, help="threshold on the classifier's probabilities")
    dis = kinds.add_parser("dis", help="a luo2017 DIS model (tagseg.train_dis)")
    dis.add_argument("--t-ts", type=int, default=30, help="test-time inference steps")
    dis.add_argument("--step-size", type=float, default=0.5, help="gradient step on u1 and v1")
    for sub in (fcn, dis):
        sub.add_argument("--test-tar", required=True, help="VOC2012test.tar (the test images and test.txt)")
        sub.add_argument("--model", required=True, help="the trained model.pt")
        sub.add_argument("--out", required=True, help="the submission .tar.gz to write")
        sub.add_argument("--threads", type=int, default=1, help="torch CPU threads")
        sub.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    args = parser.parse_args(argv)
    try:
        device = runtime.setup(0, args.threads, args.device)
        if args.kind == "fcn":
            predict = fcn_predictor(args.model, device, args.classifier, args.tau)
        else:
            if args.t_ts < 0 or args.step_size <= 0:
                raise ValueError(f"--t-ts must be >= 0 and --step-size > 0, got {args.t_ts} and {args.step_size}")
            predict = dis_predictor(args.model, device, args.t_ts, args.step_size)
        count = export(args.test_tar, predict, args.out, device)
    except (ValueError, FileNotFoundError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"wrote {count} test predictions to {args.out} ({SUBMISSION_DIR}/*.png)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
