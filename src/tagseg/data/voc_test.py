"""The VOC2012 test images, read from the test tar, and the evaluation server's submission layout.

VOC2012 test labels are not public: the server scores a tar of P-mode PNGs laid out as
``results/VOC2012/Segmentation/comp6_test_cls/<id>.png`` (comp6: trained with data beyond VOC's own,
here SBD and ImageNet). The images are read straight out of the test tar the user supplies
(``VOC2012test.tar``: ``VOCdevkit/VOC2012/ImageSets/Segmentation/test.txt`` and ``JPEGImages``); no
member of it is ever written to disk, so its member names cannot place a file anywhere. Each paper's
``export`` command (tagseg.sun2018.export, tagseg.luo2017.export) gives :func:`export` its predictor.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import tarfile
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from tagseg.core.cli import add_precision_argument
from tagseg.data.transforms import eval_preset, to_tensors
from tagseg.data.voc import write_mask

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
        ids = [
            line.split()[0] for line in tar.extractfile(members[TEST_LIST]).read().decode().splitlines() if line.strip()
        ]
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


def add_export_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags every export command takes: the tar, the model, the archive to write, threads, device, precision."""
    parser.add_argument("--test-tar", required=True, help="VOC2012test.tar (the test images and test.txt)")
    parser.add_argument("--model", required=True, help="the trained model.pt")
    parser.add_argument("--out", required=True, help="the submission .tar.gz to write")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    add_precision_argument(parser)
