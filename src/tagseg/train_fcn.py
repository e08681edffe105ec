"""Train an FCN-32s or FCN-8s, alone or as one of sun2018's variants, on a cached pixel-labelled split.

The variant (tagseg.sun2018) adds image-label fusion and/or a generator or discriminator; labels
in training are the ground-truth tags of the training images. Writes into ``--out-dir``:
``model.pt`` (weights, model and training settings, run record),
``train_log.csv`` (the loss curve), ``run.json`` (settings, git commit, device). While training it
keeps ``checkpoint.pt`` every ``checkpoint_every`` iterations and resumes from it when restarted
with the same settings (a preempted SLURM job loses at most that many iterations).

    python -m tagseg.train_fcn --train-cache data/synthetic/cache/train --out-dir runs/fcn32s --iterations 200
"""

from __future__ import annotations

import argparse
import csv
import itertools
import math
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator, Literal

import torch
import torch.nn as nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from tagseg import runtime
from tagseg.cli import add_dataclass_arguments, dataclass_from_arguments
from tagseg.data.loading import SegmentationDataset, pad_collate
from tagseg.data.transforms import train_preset
from tagseg.data.voc import CachedSplit
from tagseg.models.fcn import FCN, FCNConfig, build_fcn
from tagseg.sun2018 import VARIANTS, Optimizers, Sun2018Net, train_iteration


@dataclass(frozen=True)
class TrainConfig:
    arch: Literal["fcn32s", "fcn8s"] = "fcn32s"  # FCN head
    variant: Literal["base", "label", "gen", "label_gen", "dis", "label_add"] = "base"  # sun2018 variant
    backbone: str = "vgg_tiny"  # vgg16 (the papers') or vgg_tiny (CPU scales)
    pretrained: bool = False  # initialise vgg16 from torchvision's ImageNet weights
    iterations: int = 1000  # SGD steps (the papers: 100,000 at batch size 1)
    batch_size: int = 8  # images per step
    optimizer: Literal["sgd", "adam"] = "sgd"  # sgd as the papers; adam for small nets from scratch (REPRODUCTION.md)
    lr: float = 0.01  # learning rate for the pixel-averaged loss (see REPRODUCTION.md)
    momentum: float = 0.9  # SGD momentum (Adam's beta1)
    weight_decay: float = 5e-4  # L2 penalty, as FCN
    lr_policy: Literal["constant", "poly"] = "poly"  # constant (FCN's solver) or poly (DeepLab's, power 0.9)
    crop_size: int = 64  # training crop, padded with void where the scaled image is smaller
    scale_range: tuple[float, float] = (0.75, 1.25)  # random rescaling range of training images
    auxiliary_lr: float = 1e-3  # Adam learning rate of the generator or discriminator
    adversarial_weight: float = 0.1  # weight of the discriminator's loss in the segmentation loss (dis)
    discriminator_width: int = 16  # channels of the discriminator's first layer (doubling four times)
    checkpoint_every: int = 250  # iterations between checkpoints
    seed: int = 0  # seeds weights, data order and augmentation
    threads: int = 1  # torch CPU threads (the rule's threads)
    device: str = "auto"  # auto, cpu, cuda or cuda:N
    num_workers: int = 0  # DataLoader worker processes (decoding is already cached)

    def __post_init__(self) -> None:
        positive = ("iterations", "batch_size", "crop_size", "checkpoint_every", "threads")
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"train.{name}: expected a positive integer, got {getattr(self, name)}")
        for name in ("lr", "auxiliary_lr"):
            if getattr(self, name) <= 0:
                raise ValueError(f"train.{name}: expected a positive number, got {getattr(self, name)}")
        low, high = self.scale_range
        if not 0 < low <= high:
            raise ValueError(f"train.scale_range: expected 0 < low <= high, got {self.scale_range}")
        FCNConfig(arch=self.arch, backbone=self.backbone)  # validates arch and backbone
        if self.variant not in VARIANTS:
            raise ValueError(f"train.variant: expected one of {', '.join(VARIANTS)}, got {self.variant!r}")


def forever(loader: DataLoader) -> Iterator:
    """Cycle through a loader endlessly, reshuffling each pass (training counts iterations, not epochs)."""
    while True:
        yield from loader


def make_optimizer(config: TrainConfig, parameters: Iterator[nn.Parameter]) -> torch.optim.Optimizer:
    if config.optimizer == "adam":
        return torch.optim.Adam(parameters, lr=config.lr, betas=(config.momentum, 0.999), weight_decay=config.weight_decay)
    return torch.optim.SGD(parameters, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)


def learning_rate(config: TrainConfig, iteration: int) -> float:
    if config.lr_policy == "poly":
        return config.lr * (1 - iteration / config.iterations) ** 0.9
    return config.lr


def train(config: TrainConfig, train_cache: str | os.PathLike, out_dir: str | os.PathLike) -> Path:
    """Train and write model.pt, train_log.csv and run.json into ``out_dir``; returns model.pt's path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    device = runtime.setup(config.seed, config.threads, config.device)
    split = CachedSplit(train_cache)
    if not split.has_masks:
        raise ValueError(f"{train_cache}: split has no masks; FCN training needs a pixel-labelled split")

    model_config = FCNConfig(arch=config.arch, backbone=config.backbone)
    fcn = build_fcn(model_config, pretrained=config.pretrained)
    model = Sun2018Net(fcn, config.variant, discriminator_width=config.discriminator_width).to(device)
    optimizers = Optimizers(
        segmentation=make_optimizer(config, model.fcn.parameters()),
        auxiliary=torch.optim.Adam(model.auxiliary.parameters(), lr=config.auxiliary_lr) if model.auxiliary else None,
    )
    scaler = torch.amp.GradScaler(device.type, enabled=device.type == "cuda")
    loader = DataLoader(
        SegmentationDataset(split, train_preset(config.crop_size, config.scale_range)),
        batch_size=config.batch_size,
        shuffle=True,
        drop_last=len(split) >= config.batch_size,
        num_workers=config.num_workers,
        collate_fn=pad_collate,
        generator=torch.Generator().manual_seed(config.seed),
        pin_memory=device.type == "cuda",
    )

    checkpoint_path = out / "checkpoint.pt"
    log_rows: list[dict] = []
    start = 0
    if checkpoint_path.exists():
        state = torch.load(checkpoint_path, map_location=device, weights_only=False)
        if state["train_config"] == asdict(config):
            model.load_state_dict(state["model"])
            optimizers.segmentation.load_state_dict(state["optimizer"])
            if optimizers.auxiliary is not None:
                optimizers.auxiliary.load_state_dict(state["auxiliary_optimizer"])
            scaler.load_state_dict(state["scaler"])
            torch.set_rng_state(state["rng"])
            if state.get("cuda_rng") is not None and device.type == "cuda":
                torch.cuda.set_rng_state_all(state["cuda_rng"])
            start, log_rows = state["iteration"], state["log"]
            print(f"resuming from {checkpoint_path} at iteration {start}", file=sys.stderr)
        else:
            print(f"ignoring {checkpoint_path}: it was written with other settings", file=sys.stderr)
    batches = forever(loader)
    if start:  # replay the batches already seen (data only), so a resumed run sees what an unbroken one would
        batches = itertools.islice(batches, start, None)

    model.train()
    began = time.perf_counter()
    progress = tqdm(range(start, config.iterations), desc=f"train {config.arch} {config.variant}", mininterval=5, file=sys.stderr)
    for iteration in progress:
        for group in optimizers.segmentation.param_groups:
            group["lr"] = learning_rate(config, iteration)
        images, masks, tags = (t.to(device, non_blocking=True) for t in next(batches))
        losses = train_iteration(model, images, masks, tags, optimizers, scaler,
                                 adversarial_weight=config.adversarial_weight)  # fmt: skip
        if not all(map(math.isfinite, losses.values())):
            raise FloatingPointError(f"loss became {losses} at iteration {iteration + 1}; lower train.lr")
        log_rows.append({"iteration": iteration + 1, **losses, "lr": optimizers.segmentation.param_groups[0]["lr"],
                         "seconds": round(time.perf_counter() - began, 3)})  # fmt: skip
        progress.set_postfix(loss=f"{losses['loss_seg']:.3f}", refresh=False)
        if (iteration + 1) % config.checkpoint_every == 0 and iteration + 1 < config.iterations:
            tmp = checkpoint_path.with_suffix(".tmp")
            torch.save({"model": model.state_dict(), "optimizer": optimizers.segmentation.state_dict(),
                        "auxiliary_optimizer": optimizers.auxiliary.state_dict() if optimizers.auxiliary else None,
                        "scaler": scaler.state_dict(), "rng": torch.get_rng_state(),
                        "cuda_rng": torch.cuda.get_rng_state_all() if device.type == "cuda" else None,
                        "iteration": iteration + 1, "log": log_rows, "train_config": asdict(config)}, tmp)  # fmt: skip
            os.replace(tmp, checkpoint_path)

    record = runtime.run_record(config, device)
    with open(out / ".train_log.csv.tmp", "w", newline="") as f:
        fields = ["iteration", "loss_seg", *(["loss_aux"] if model.auxiliary else []), "lr", "seconds"]
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(log_rows)
    torch.save({"model": model.state_dict(), "model_config": asdict(model_config), "variant": config.variant,
                "discriminator_width": config.discriminator_width, "run": record}, out / ".model.pt.tmp")  # fmt: skip
    os.replace(out / ".train_log.csv.tmp", out / "train_log.csv")
    os.replace(out / ".model.pt.tmp", out / "model.pt")
    runtime.write_json_atomic(out / "run.json", record)
    checkpoint_path.unlink(missing_ok=True)
    return out / "model.pt"


def load_model(path: str | os.PathLike, device: torch.device) -> tuple[Sun2018Net, dict]:
    """Rebuild a trained network from its model.pt, in eval mode; also return the run record it was saved with."""
    state = torch.load(path, map_location=device, weights_only=False)
    fcn = FCN(FCNConfig(**state["model_config"]))
    model = Sun2018Net(fcn, state["variant"], discriminator_width=state["discriminator_width"]).to(device)
    model.load_state_dict(state["model"])
    return model.eval(), state["run"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tagseg.train_fcn", description=__doc__.split("\n\n")[0])
    parser.add_argument("--train-cache", required=True, help="cached split to train on (tagseg.data.voc)")
    parser.add_argument("--out-dir", required=True, help="folder for model.pt, train_log.csv, run.json")
    add_dataclass_arguments(parser, TrainConfig)
    args = parser.parse_args(argv)
    try:
        config = dataclass_from_arguments(TrainConfig, args)
        path = train(config, args.train_cache, args.out_dir)
    except (ValueError, FileNotFoundError, RuntimeError, FloatingPointError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
