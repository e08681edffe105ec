"""Train luo2017's DIS: stage 1 on pixel-labelled images, or stage 2 from a stage-1 model with weak pools.

Stage 1 (Section 3) runs its three steps in turn for ``stage1_steps`` iterations each: backbone,
subnet-1 and subnet-3 on L_map + L_tag; subnet-2 alone on L_img; all jointly. Stage 2 (Section
3.1) starts from a stage-1 ``model.pt`` and, for ``iterations`` steps, pairs a batch of
pixel-labelled images with a batch from the weak pools, whose labelmaps and clean tags are
inferred with ``t_tr`` steps (tagseg.luo2017.stages.stage2_iteration). ``continued`` is stage 2's
compute-matched control: the same updates from the same stage-1 model, on the pixel-labelled batches
alone. Writes model.pt, train_log.csv and run.json into ``--out-dir``; checkpoints and resumes as
tagseg.sun2018.train_fcn does.

    python -m tagseg.luo2017.train_dis --stage stage1 --train-cache data/synthetic/cache/train --out-dir runs/dis1
    python -m tagseg.luo2017.train_dis --stage stage2 --stage1-model runs/dis1/model.pt --t-tr 5 \\
        --train-cache data/synthetic/cache/train --weak-cache data/synthetic/cache/weak_clean \\
        --weak-cache data/synthetic/cache/weak_noisy --out-dir runs/dis2_t5
    python -m tagseg.luo2017.train_dis --stage continued --stage1-model runs/dis1/model.pt \
        --train-cache data/synthetic/cache/train --out-dir runs/dis1_continued
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Iterator, Literal

import torch
from torch.utils.data import ConcatDataset, DataLoader

from tagseg.core.classes import with_background
from tagseg.core.cli import add_dataclass_arguments, command, dataclass_from_arguments
from tagseg.core.precision import resolve
from tagseg.core.runtime import CHANNELS_LAST
from tagseg.core.training import (
    BatchStream,
    Plan,
    TrainingSettings,
    make_optimizer,
    poly_schedule,
    run,
    shuffled_loader,
)
from tagseg.data.loading import SegmentationDataset
from tagseg.data.transforms import train_preset
from tagseg.data.voc import CachedSplit
from tagseg.luo2017 import INFERENCE_ROUTES, add_step_size_from, step_size_from_arguments
from tagseg.luo2017.network import DISConfig, DualNet, load_dis, stage_family
from tagseg.luo2017.stages import stage1_iteration, stage1_step_at, stage2_iteration


STAGES = ("stage1", "stage2", "continued")


@dataclass(frozen=True)
class DISTrainConfig(TrainingSettings):
    backbone: str = "resnet_tiny"  # resnet101 (the paper's, dilated) or resnet_tiny (CPU scales)
    stage: Literal["stage1", "stage2", "continued"] = "stage1"  # Section 3 / 3.1, or stage 2 without weak images
    stage1_steps: tuple[int, int, int] = (300, 100, 200)  # stage 1: iterations of map+tag, reconstruction, joint
    t_tr: int = 0  # stage 2: inference steps per weak image in training
    step_size: float = 0.5  # gradient step on u1 and v1 in inference (REPRODUCTION.md L-entries)
    weak_batch_size: int = 8  # stage 2: weak images per step, beside batch_size pixel-labelled ones
    image_loss: Literal["mean", "sum"] = "mean"  # L_img in training: per element, or summed as Caffe's (L4)
    inference: Literal["literal", "reduced"] = "literal"  # how inference steps u1 and v1 (the same iterates)

    def __post_init__(self) -> None:
        super().__post_init__()
        DISConfig(backbone=self.backbone)
        if self.stage not in STAGES:
            raise ValueError(f"dis.stage: expected one of {', '.join(STAGES)}, got {self.stage!r}")
        if len(self.stage1_steps) != 3 or min(self.stage1_steps) < 0 or sum(self.stage1_steps) < 1:
            raise ValueError(f"dis.stage1_steps: expected three non-negative counts, got {self.stage1_steps}")
        if self.t_tr < 0 or self.step_size <= 0 or self.weak_batch_size < 1:
            raise ValueError("dis.t_tr, dis.step_size, dis.weak_batch_size: expected >= 0, > 0 and >= 1")
        if self.image_loss not in ("mean", "sum"):
            raise ValueError(f"dis.image_loss: expected 'mean' or 'sum', got {self.image_loss!r}")
        if self.inference not in INFERENCE_ROUTES:
            raise ValueError(f"dis.inference: expected one of {', '.join(INFERENCE_ROUTES)}, got {self.inference!r}")

    @property
    def total_iterations(self) -> int:
        return sum(self.stage1_steps) if self.stage == "stage1" else self.iterations


class PairedBatches:
    """Endless (full batch..., weak batch...) tuples from two loaders, each reshuffled per pass,
    with a place a checkpoint can hold (tagseg.core.training.fit)."""

    def __init__(self, full: DataLoader, weak: DataLoader):
        self.full, self.weak = BatchStream(full), BatchStream(weak)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        for full, weak in zip(self.full, self.weak):
            yield (*full, *weak)

    def state_dict(self) -> dict:
        return {"full": self.full.state_dict(), "weak": self.weak.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.full.load_state_dict(state["full"])
        self.weak.load_state_dict(state["weak"])


def train(config: DISTrainConfig, train_cache, out_dir, *, stage1_model=None, weak_caches=()) -> Path:
    """Train stage 1 from scratch (or ImageNet), stage 2 from ``stage1_model`` with the weak pools, or its
    control (``continued``) from ``stage1_model`` without them."""
    if config.stage == "stage2" and (stage1_model is None or not weak_caches):
        raise ValueError("dis.stage2: needs --stage1-model and at least one --weak-cache")
    if config.stage == "continued" and (stage1_model is None or weak_caches):
        raise ValueError(
            "dis.continued: needs --stage1-model and no --weak-cache (it trains on the labelled images alone)"
        )

    def prepare(device: torch.device) -> Plan:
        split = CachedSplit(train_cache).require_masks("DIS's labelled images need them")
        preset = train_preset(config.crop_size, config.scale_range)
        loader = shuffled_loader(SegmentationDataset(split, preset), config.batch_size, seed=config.seed,
                                 num_workers=config.num_workers, device=device)  # fmt: skip
        if config.stage == "stage1":
            net = DualNet(DISConfig(backbone=config.backbone, n_classes=split.n_classes), pretrained=config.pretrained)
            net = net.to(device, memory_format=CHANNELS_LAST)
        else:
            net, _ = load_dis(stage1_model, device)
            split.require_classes(net.config.n_classes, f"the stage-1 model {stage1_model}")
        if config.stage == "stage2":
            pools = [
                CachedSplit(cache).require_classes(split.n_classes, f"the labelled split {train_cache}")
                for cache in weak_caches
            ]
            weak = ConcatDataset([SegmentationDataset(pool, preset) for pool in pools])
            weak_loader = shuffled_loader(weak, config.weak_batch_size, seed=config.seed + 1,
                                          num_workers=config.num_workers, device=device)  # fmt: skip
            loader = PairedBatches(loader, weak_loader)
        precision = resolve(config.precision, device, stage_family(config.stage))
        optimizer = make_optimizer(config, net.parameters())
        poly = poly_schedule(replace(config, iterations=config.total_iterations), optimizer)
        current = {"iteration": 0}

        def schedule(iteration: int) -> float:  # fit calls it before each step, resumed runs included
            current["iteration"] = iteration
            return poly(iteration)

        def step(batch: tuple[torch.Tensor, ...]) -> dict[str, float]:
            if config.stage == "stage1":
                images, masks, tags = batch
                phase = stage1_step_at(config.stage1_steps, current["iteration"])
                return stage1_iteration(net, images, masks, with_background(tags), optimizer, phase, config.image_loss,
                                        precision=precision)  # fmt: skip
            images, masks, tags, *weak_batch = batch
            weak = None
            if weak_batch:
                weak_images, _, weak_tags = weak_batch
                weak = (weak_images, with_background(weak_tags))
            return stage2_iteration(net, (images, masks, with_background(tags)), weak, optimizer, t_tr=config.t_tr,
                                    step_size=config.step_size, image_reduction=config.image_loss,
                                    route=config.inference, precision=precision)  # fmt: skip

        return Plan(
            network=net, kind="dis", config=asdict(net.config), step=step, loader=loader, schedule=schedule,
            stateful={"model": net, "optimizer": optimizer}, iterations=config.total_iterations,
            description=f"train dis {config.stage}" + (f" t_tr={config.t_tr}" if config.stage == "stage2" else ""),
            precision=precision, inputs=[train_cache, *([stage1_model, *weak_caches] if config.stage != "stage1" else [])],
        )  # fmt: skip

    return run(config, out_dir, prepare)


@command
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tagseg.luo2017.train_dis", description=__doc__.split("\n\n")[0])
    parser.add_argument("--train-cache", required=True, help="cached pixel-labelled split (tagseg.data.voc)")
    parser.add_argument("--out-dir", required=True, help="folder for model.pt, train_log.csv, run.json")
    parser.add_argument("--stage1-model", help="stage 2 and continued: the stage-1 model.pt to start from")
    parser.add_argument("--weak-cache", action="append", default=[], help="stage 2: a cached weak pool (repeat)")
    add_dataclass_arguments(parser, DISTrainConfig)
    add_step_size_from(parser)
    args = parser.parse_args(argv)
    args.step_size = step_size_from_arguments(args)
    config = dataclass_from_arguments(DISTrainConfig, args)
    path = train(config, args.train_cache, args.out_dir, stage1_model=args.stage1_model, weak_caches=args.weak_cache)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
