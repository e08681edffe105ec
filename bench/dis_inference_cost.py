"""Cost of luo2017's test-time inference, measured in one run on the same images and model:
t_ts = 30 over t_ts = 0, one 30-step pass read out at 0, 10 and 30 over t_ts = 30 alone, and the
naive way (the backbone re-run at every step) over the real one.

    python bench/dis_inference_cost.py --cache data/synthetic/cache/test --threads 1
    python bench/dis_inference_cost.py --cache data/synthetic/cache/test --model results/dis/ttr30/seed0/model.pt
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from tagseg.data.loading import SegmentationDataset, pad_collate
from tagseg.data.transforms import eval_preset
from tagseg.data.voc import CachedSplit
from tagseg.dis import infer_latents, inference_objective
from tagseg.models.dis import DISConfig, DualNet
from tagseg.train_dis import load_dis


def naive(net: DualNet, images: torch.Tensor, steps: int, step_size: float) -> None:
    """The same steps, but the features recomputed from the image by the backbone at every step."""
    with torch.no_grad():
        u1, v1 = net.features(images)
    delta_u, delta_v = torch.zeros_like(u1), torch.zeros_like(v1)
    for _ in range(steps):
        with torch.no_grad():
            u, v = net.features(images)
        u, v = (u + delta_u).requires_grad_(), (v + delta_v).requires_grad_()
        grad_u, grad_v = torch.autograd.grad(inference_objective(net.heads(u, v), images, None), [u, v])
        delta_u, delta_v = delta_u - step_size * grad_u, delta_v - step_size * grad_v


def timed(fn, batches, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for images in batches:
            fn(images)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, required=True, help="a cached split")
    parser.add_argument("--model", type=Path, help="a DIS model.pt (default: untrained resnet_tiny)")
    parser.add_argument("--backbone", default="resnet_tiny", help="for the untrained default")
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    net = load_dis(args.model, torch.device("cpu"))[0] if args.model else DualNet(DISConfig(backbone=args.backbone)).eval()
    split = CachedSplit(args.cache)
    loader = DataLoader(SegmentationDataset(split, eval_preset()), batch_size=16, collate_fn=pad_collate)
    batches = [images for images, _, _ in loader][: max(1, args.images // 16)]

    def run(steps, readouts=None):
        def fn(images):
            with torch.no_grad():
                u1, v1 = net.features(images)
            infer_latents(net, u1, v1, images, steps=steps, step_size=0.5, readouts=readouts)
        return fn

    cases = {
        "t_ts=0": run(0),
        "t_ts=30": run(30),
        "t_ts=30, read-outs 0/10/30": run(30, [0, 10, 30]),
        "t_ts=30, naive (backbone per step)": lambda images: naive(net, images, 30, 0.5),
    }
    timed(cases["t_ts=0"], batches, 1)  # warm-up
    medians = {}
    print(f"{'case':<36} {'median s':>9} {'spread':>8}")
    for name, fn in cases.items():
        times = timed(fn, batches, args.repeats)
        medians[name] = statistics.median(times)
        print(f"{name:<36} {medians[name]:9.3f} {max(times) - min(times):8.3f}")
    print(f"t_ts=30 / t_ts=0 = {medians['t_ts=30'] / medians['t_ts=0']:.2f}   (goal <= 1.5)")
    print(f"read-outs 0/10/30 / t_ts=30 alone = {medians['t_ts=30, read-outs 0/10/30'] / medians['t_ts=30']:.2f}"
          "   (goal <= 1.1)")
    print(f"naive / t_ts=30 = {medians['t_ts=30, naive (backbone per step)'] / medians['t_ts=30']:.2f}")


if __name__ == "__main__":
    main()
