"""Train an FCN-32s or FCN-8s, alone or as one of sun2018's variants, on a cached pixel-labelled split.

The variant (tagseg.sun2018.network) adds image-label fusion and/or a generator or discriminator; labels
in training are the ground-truth tags of the training images. Writes into ``--out-dir``:
``model.pt`` (weights, model and training settings, run record),
``train_log.csv`` (the loss curve), ``run.json`` (settings, git commit, device). While training it
keeps ``checkpoint.pt`` every ``checkpoint_every`` iterations and resumes from it when restarted
with the same settings (a preempted SLURM job loses at most that many iterations).

    python -m tagseg.sun2018.train_fcn --train-cache data/synthetic/cache/train --out-dir runs/fcn32s --iterations 200
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch

from tagseg.core.runtime import CHANNELS_LAST
from tagseg.core.cli import add_dataclass_arguments, command, dataclass_from_arguments
from tagseg.data.loading import SegmentationDataset
from tagseg.data.transforms import train_preset
from tagseg.data.voc import CachedSplit
from tagseg.sun2018.fcn import FCNConfig, build_fcn
from tagseg.core.precision import resolve
from tagseg.sun2018.network import VARIANTS, Optimizers, Sun2018Net, fcn_checkpoint_config, fcn_family, train_iteration
from tagseg.core.training import Plan, TrainingSettings, make_optimizer, poly_schedule, run, shuffled_loader


@dataclass(frozen=True)
class TrainConfig(TrainingSettings):
    arch: Literal["fcn32s", "fcn8s"] = "fcn32s"  # FCN head
    variant: Literal[
        "base", "label", "gen", "label_gen", "discriminator", "label_add", "label_add_scores", "base_2x", "label_2x"
    ] = "base"  # sun2018 variant (tagseg.sun2018.variants), or a control
    auxiliary_lr: float = 1e-3  # Adam learning rate of the generator or discriminator
    adversarial_weight: float = (
        0.1  # weight of the discriminator's loss in the segmentation loss (variant discriminator)
    )
    discriminator_width: int = 16  # channels of the discriminator's first layer (doubling four times)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.auxiliary_lr <= 0:
            raise ValueError(f"train.auxiliary_lr: expected a positive number, got {self.auxiliary_lr}")
        FCNConfig(arch=self.arch, backbone=self.backbone)  # validates arch and backbone
        if self.variant not in VARIANTS:
            raise ValueError(f"train.variant: expected one of {', '.join(VARIANTS)}, got {self.variant!r}")


def train(config: TrainConfig, train_cache: str | os.PathLike, out_dir: str | os.PathLike) -> Path:
    """Train and write model.pt, train_log.csv and run.json into ``out_dir``; returns model.pt's path."""

    def prepare(device: torch.device) -> Plan:
        split = CachedSplit(train_cache).require_masks("FCN training needs a pixel-labelled split")
        model_config = FCNConfig(arch=config.arch, backbone=config.backbone, n_classes=split.n_classes)
        fcn = build_fcn(model_config, pretrained=config.pretrained)
        model = Sun2018Net(fcn, config.variant, discriminator_width=config.discriminator_width)
        model = model.to(device, memory_format=CHANNELS_LAST)
        optimizers = Optimizers(
            segmentation=make_optimizer(config, model.fcn.parameters()),
            auxiliary=torch.optim.Adam(model.auxiliary.parameters(), lr=config.auxiliary_lr)
            if model.auxiliary
            else None,
        )
        precision = resolve(config.precision, device, fcn_family(config.variant))
        scaler = precision.grad_scaler()
        dataset = SegmentationDataset(split, train_preset(config.crop_size, config.scale_range))
        loader = shuffled_loader(
            dataset, config.batch_size, seed=config.seed, num_workers=config.num_workers, device=device
        )

        def step(batch: tuple[torch.Tensor, ...]) -> dict[str, float]:
            return train_iteration(model, *batch, optimizers, scaler, adversarial_weight=config.adversarial_weight,
                                   precision=precision)  # fmt: skip

        stateful = {"model": model, "optimizer": optimizers.segmentation, "scaler": scaler}
        if optimizers.auxiliary is not None:
            stateful["auxiliary_optimizer"] = optimizers.auxiliary
        return Plan(
            network=model, kind="fcn", config=fcn_checkpoint_config(model), step=step, loader=loader,
            schedule=poly_schedule(config, optimizers.segmentation), stateful=stateful, iterations=config.iterations,
            description=f"train {config.arch} {config.variant}", inputs=[train_cache], precision=precision,
        )  # fmt: skip

    return run(config, out_dir, prepare)


@command
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tagseg.sun2018.train_fcn", description=__doc__.split("\n\n")[0])
    parser.add_argument("--train-cache", required=True, help="cached split to train on (tagseg.data.voc)")
    parser.add_argument("--out-dir", required=True, help="folder for model.pt, train_log.csv, run.json")
    add_dataclass_arguments(parser, TrainConfig)
    args = parser.parse_args(argv)
    path = train(dataclass_from_arguments(TrainConfig, args), args.train_cache, args.out_dir)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
