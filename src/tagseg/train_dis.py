"""Train luo2017's DIS: stage 1 on pixel-labelled images, or stage 2 from a stage-1 model with weak pools.

Stage 1 (Section 3) runs its three steps in turn for ``stage1_steps`` iterations each: backbone,
subnet-1 and subnet-3 on L_map + L_tag; subnet-2 alone on L_img; all jointly. Stage 2 (Section
3.1) starts from a stage-1 ``model.pt`` and, for ``iterations`` steps, pairs a batch of
pixel-labelled images with a batch from the weak pools, whose labelmaps and clean tags are
inferred with ``t_tr`` steps (tagseg.dis.stage2_iteration). Writes model.pt, train_log.csv and
run.json into ``--out-dir``; checkpoints and resumes as tagseg.train_fcn does.

    python -m tagseg.train_dis --stage stage1 --train-cache data/synthetic/cache/train --out-dir runs/dis1
    python -m tagseg.train_dis --stage stage2 --stage1-model runs/dis1/model.pt --t-tr 5 \\
        --train-cache data/synthetic/cache/train --weak-cache data/synthetic/cache/weak_clean \\
        --weak-cache data/synthetic/cache/weak_noisy --out-dir runs/dis2_t5
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Iterator, Literal

import torch
from torch.utils.data import ConcatDataset, DataLoader

from tagseg import runtime
from tagseg.cli import add_dataclass_arguments, dataclass_from_arguments
from tagseg.data.loading import SegmentationDataset
from tagseg.data.transforms import train_preset
from tagseg.data.voc import CachedSplit
from tagseg.dis import STAGE1_STEPS, stage1_iteration, stage2_iteration
from tagseg.fusion import label_vector
from tagseg.models.dis import DISConfig, DualNet
from tagseg.runtime import CHANNELS_LAST
from tagseg.training import (
    BatchStream, TrainingSettings, fit, make_optimizer, poly_schedule, shuffled_loader, write_run,
)


@dataclass(frozen=True)
class DISTrainConfig(TrainingSettings):
    backbone: str = "resnet_tiny"  # resnet101 (the paper's, dilated) or resnet_tiny (CPU scales)
    stage: Literal["stage1", "stage2"] = "stage1"  # which training stage (Section 3 / 3.1)
    stage1_steps: tuple[int, int, int] = (200, 50, 100)  # stage 1: iterations of map+tag, reconstruction, joint
    t_tr: int = 0  # stage 2: inference steps per weak image in training
    step_size: float = 0.5  # gradient step on u1 and v1 in inference (REPRODUCTION.md L-entries)
    weak_batch_size: int = 8  # stage 2: weak images per step, beside batch_size pixel-labelled ones
    image_loss: Literal["mean", "sum"] = "mean"  # L_img in training: per element, or summed as Caffe's (L4)

    def __post_init__(self) -> None:
        super().__post_init__()
        DISConfig(backbone=self.backbone)
        if self.stage not in ("stage1", "stage2"):
            raise ValueError(f"dis.stage: expected stage1 or stage2, got {self.stage!r}")
        if len(self.stage1_steps) != 3 or min(self.stage1_steps) < 0 or sum(self.stage1_steps) < 1:
            raise ValueError(f"dis.stage1_steps: expected three non-negative counts, got {self.stage1_steps}")
        if self.t_tr < 0 or self.step_size <= 0 or self.weak_batch_size < 1:
            raise ValueError("dis.t_tr, dis.step_size, dis.weak_batch_size: expected >= 0, > 0 and >= 1")
        if self.image_loss not in ("mean", "sum"):
            raise ValueError(f"dis.image_loss: expected 'mean' or 'sum', got {self.image_loss!r}")

    @property
    def total_iterations(self) -> int:
        return sum(self.stage1_steps) if self.stage == "stage1" else self.iterations


class PairedBatches:
    """Endless (full batch..., weak batch...) tuples from two loaders, each reshuffled per pass,
    with a place a checkpoint can hold (tagseg.training.fit)."""

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


def stage1_step_at(config: DISTrainConfig, iteration: int) -> str:
    """Which of stage 1's three steps iteration ``iteration`` (0-based) belongs to."""
    for step, end in zip(STAGE1_STEPS, torch.tensor(config.stage1_steps).cumsum(0).tolist()):
        if iteration < end:
            return step
    return STAGE1_STEPS[-1]


def load_dis(path: str | os.PathLike, device: torch.device) -> tuple[DualNet, dict]:
    """A trained DualNet from its model.pt, in eval mode, and the run record it was saved with."""
    state = torch.load(path, map_location=device, weights_only=False)
    if "dis_config" not in state:
        raise ValueError(f"{path}: not a DIS model (written by tagseg.train_dis)")
    net = DualNet(DISConfig(**state["dis_config"])).to(device, memory_format=CHANNELS_LAST)
    net.load_state_dict(state["model"])
    return net.eval(), state["run"]


def train(config: DISTrainConfig, train_cache, out_dir, *, stage1_model=None, weak_caches=()) -> Path:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    device = runtime.setup(config.seed, config.threads, config.device)
    split = CachedSplit(train_cache)
    if not split.has_masks:
        raise ValueError(f"{train_cache}: split has no masks; DIS's labelled images need them")
    preset = train_preset(config.crop_size, config.scale_range)
    loader = shuffled_loader(SegmentationDataset(split, preset), config.batch_size, seed=config.seed,
                             num_workers=config.num_workers, device=device)  # fmt: skip
    if config.stage == "stage1":
        net = DualNet(DISConfig(backbone=config.backbone), pretrained=config.pretrained)
        net = net.to(device, memory_format=CHANNELS_LAST)
    else:
        if stage1_model is None or not weak_caches:
            raise ValueError("dis.stage2: needs --stage1-model and at least one --weak-cache")
        net, _ = load_dis(stage1_model, device)
        weak = ConcatDataset([SegmentationDataset(CachedSplit(cache), preset) for cache in weak_caches])
        weak_loader = shuffled_loader(weak, config.weak_batch_size, seed=config.seed + 1,
                                      num_workers=config.num_workers, device=device)  # fmt: skip
        loader = PairedBatches(loader, weak_loader)
    optimizer = make_optimizer(config, net.parameters())
    poly = poly_schedule(replace(config, iterations=config.total_iterations), optimizer)
    current = {"iteration": 0}

    def schedule(iteration: int) -> float:  # fit calls it before each step, resumed runs included
        current["iteration"] = iteration
        return poly(iteration)

    def step(batch: tuple[torch.Tensor, ...]) -> dict[str, float]:
        if config.stage == "stage1":
            images, masks, tags = batch
            phase = stage1_step_at(config, current["iteration"])
            return stage1_iteration(net, images, masks, label_vector(tags), optimizer, phase, config.image_loss)
        images, masks, tags, weak_images, _, weak_tags = batch
        return stage2_iteration(net, (images, masks, label_vector(tags)), (weak_images, label_vector(weak_tags)),
                                optimizer, t_tr=config.t_tr, step_size=config.step_size,
                                image_reduction=config.image_loss)  # fmt: skip

    settings = asdict(config)
    if config.stage == "stage2":
        settings.update(stage1_model=str(stage1_model), weak_caches=list(map(str, weak_caches)))
    net.train()
    log_rows = fit(
        step, loader=loader, iterations=config.total_iterations, schedule=schedule,
        stateful={"model": net, "optimizer": optimizer}, settings=settings,
        checkpoint_path=out / "checkpoint.pt", checkpoint_every=config.checkpoint_every, device=device,
        description=f"train dis {config.stage}" + (f" t_tr={config.t_tr}" if config.stage == "stage2" else ""),
    )  # fmt: skip
    payload = {"model": net.state_dict(), "dis_config": asdict(DISConfig(backbone=config.backbone))}
    return write_run(out, payload, log_rows, runtime.run_record(config, device))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tagseg.train_dis", description=__doc__.split("\n\n")[0])
    parser.add_argument("--train-cache", required=True, help="cached pixel-labelled split (tagseg.data.voc)")
    parser.add_argument("--out-dir", required=True, help="folder for model.pt, train_log.csv, run.json")
    parser.add_argument("--stage1-model", help="stage 2: the stage-1 model.pt to start from")
    parser.add_argument("--weak-cache", action="append", default=[], help="stage 2: a cached weak pool (repeat)")
    add_dataclass_arguments(parser, DISTrainConfig)
    args = parser.parse_args(argv)
    try:
        config = dataclass_from_arguments(DISTrainConfig, args)
        path = train(config, args.train_cache, args.out_dir, stage1_model=args.stage1_model, weak_caches=args.weak_cache)
    except (ValueError, FileNotFoundError, RuntimeError, FloatingPointError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
