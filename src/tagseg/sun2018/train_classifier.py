"""Train sun2018's image-labelling network on the tags of a cached pixel-labelled split, and write its
class probabilities for any split (computed once; thresholding at tau happens downstream).

    python -m tagseg.sun2018.train_classifier train --train-cache data/synthetic/cache/train --out-dir runs/cls
    python -m tagseg.sun2018.train_classifier predict --model runs/cls/model.pt \
        --cache data/synthetic/cache/val data/synthetic/cache/test --out val.npz test.npz
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from tagseg.core import io, runtime
from tagseg.core.runtime import CHANNELS_LAST
from tagseg.core.cli import add_dataclass_arguments, add_precision_argument, command, dataclass_from_arguments
from tagseg.data.loading import SegmentationDataset, eval_loader
from tagseg.data.transforms import train_preset
from tagseg.data.voc import CachedSplit
from tagseg.core.metrics import mean_average_precision
from tagseg.core.precision import FP32, Precision, resolve
from tagseg.sun2018.classifier import ImageClassifier, load_classifier
from tagseg.core.training import Plan, TrainingSettings, make_optimizer, poly_schedule, run, shuffled_loader


@dataclass(frozen=True)
class ClassifierConfig(TrainingSettings):
    """The shared training settings; the loss is multi-label binary cross-entropy on the image's tags."""

    weight_decay: float = 0.0  # L2 penalty: none for the classifier (config.yaml)


def train(config: ClassifierConfig, train_cache: str | os.PathLike, out_dir: str | os.PathLike) -> Path:
    """Train on multi-label binary cross-entropy over the object classes; write model.pt and its curve."""

    def prepare(device: torch.device) -> Plan:
        split = CachedSplit(train_cache)
        model = ImageClassifier(backbone=config.backbone, n_classes=split.n_classes - 1, pretrained=config.pretrained)
        model = model.to(device, memory_format=CHANNELS_LAST)
        optimizer = make_optimizer(config, model.parameters())
        precision = resolve(config.precision, device, "classifier")
        scaler = precision.grad_scaler()
        dataset = SegmentationDataset(split, train_preset(config.crop_size, config.scale_range))
        loader = shuffled_loader(
            dataset, config.batch_size, seed=config.seed, num_workers=config.num_workers, device=device
        )

        def step(batch: tuple[torch.Tensor, ...]) -> dict[str, float]:
            images, _, tags = batch
            with precision.autocast():
                loss = F.binary_cross_entropy_with_logits(model(images).float(), tags)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            return {"loss": float(loss.detach())}

        return Plan(
            network=model, kind="classifier", config={"backbone": config.backbone, "n_classes": split.n_classes - 1}, step=step, loader=loader,
            schedule=poly_schedule(config, optimizer), stateful={"model": model, "optimizer": optimizer, "scaler": scaler},
            iterations=config.iterations, description="train classifier", inputs=[train_cache], precision=precision,
        )  # fmt: skip

    return run(config, out_dir, prepare)


@torch.inference_mode()
def predict_split(model: ImageClassifier, model_run: dict, cache: str | os.PathLike, device: torch.device,
                  precision: Precision = FP32) -> dict:  # fmt: skip
    """Per-image class probabilities (n, objects) of a split, and the mAP against the split's tags."""
    split = CachedSplit(cache).require_classes(model.score.out_channels + 1, "the classifier")
    loader = eval_loader(split, batch_size=16)
    with precision.autocast():
        probabilities = torch.cat([torch.sigmoid(model(images.to(device)).float()).cpu() for images, _, _ in loader])
    mean_ap, per_class = mean_average_precision(probabilities.numpy(), split.tags)
    return {"ids": split.ids, "probabilities": probabilities.numpy(), "mAP": mean_ap, "AP": per_class,
            "model_run": model_run, "run": runtime.run_record({"cache": str(cache)}, device, precision)}  # fmt: skip


def predict(model_path: str | os.PathLike, cache: str | os.PathLike, *, threads: int = 1, device: str = "auto",
            precision: str = "auto") -> dict:  # fmt: skip
    """:func:`predict_split` of one split, the model loaded from ``model_path``."""
    torch_device = runtime.setup(0, threads, device)
    arithmetic = resolve(precision, torch_device, "classifier")
    return predict_split(*load_classifier(model_path, torch_device), cache, torch_device, arithmetic)


def write_predictions(result: dict, out: str | os.PathLike) -> None:
    """``<out>`` (npz: ids, probabilities) and ``<out>.json`` beside it (mAP, per-class AP, provenance)."""
    out = Path(out)
    with io.atomic_path(out) as tmp, open(tmp, "wb") as f:
        np.savez(f, ids=np.asarray(result["ids"]), probabilities=result["probabilities"])
        io.write_json(out.with_suffix(".json"), {k: v for k, v in result.items() if k not in ("ids", "probabilities")})


@command
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tagseg.sun2018.train_classifier", description=__doc__.split("\n\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    train_parser = commands.add_parser("train", help="train the classifier")
    train_parser.add_argument("--train-cache", required=True, help="cached pixel-labelled split whose tags to learn")
    train_parser.add_argument("--out-dir", required=True, help="folder for model.pt, train_log.csv, run.json")
    add_dataclass_arguments(train_parser, ClassifierConfig)
    predict_parser = commands.add_parser("predict", help="write splits' class probabilities, the model loaded once")
    predict_parser.add_argument("--model", required=True, help="model.pt from 'train'")
    predict_parser.add_argument("--cache", required=True, nargs="+", help="cached splits (tagseg.data.voc)")
    predict_parser.add_argument("--out", required=True, nargs="+",
                                help="an npz to write per --cache, in order (mAP goes to the .json beside it)")  # fmt: skip
    predict_parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    predict_parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    add_precision_argument(predict_parser)
    args = parser.parse_args(argv)
    if args.command == "train":
        print(f"wrote {train(dataclass_from_arguments(ClassifierConfig, args), args.train_cache, args.out_dir)}")
        return 0
    if len(args.cache) != len(args.out):
        raise ValueError(f"predict: expected one --out per --cache, got {len(args.out)} for {len(args.cache)}")
    device = runtime.setup(0, args.threads, args.device)
    model, model_run = load_classifier(args.model, device)
    arithmetic = resolve(args.precision, device, "classifier")
    for cache, out in zip(args.cache, args.out):
        result = predict_split(model, model_run, cache, device, arithmetic)
        write_predictions(result, out)
        print(f"{Path(cache).name}: mAP {result['mAP']:.3f} over {len(result['ids'])} images")
    return 0


if __name__ == "__main__":
    sys.exit(main())
