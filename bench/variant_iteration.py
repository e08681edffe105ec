"""Seconds per training iteration of each sun2018 variant, and its ratio to the base FCN, measured in one run.

python bench/variant_iteration.py --arch fcn32s --backbone vgg_tiny --batch-size 8 --size 64 --threads 1
"""

from __future__ import annotations

import argparse
import time

import torch

from tagseg.sun2018.fcn import BACKBONES, FCN, FCNConfig
from tagseg.sun2018.network import VARIANTS, Optimizers, Sun2018Net, train_iteration


def seconds_per_iteration(variant: str, args: argparse.Namespace) -> float:
    torch.manual_seed(0)
    net = Sun2018Net(FCN(FCNConfig(arch=args.arch, backbone=args.backbone)), variant, discriminator_width=16)
    optimizers = Optimizers(
        segmentation=torch.optim.SGD(net.fcn.parameters(), lr=0.01, momentum=0.9),
        auxiliary=torch.optim.Adam(net.auxiliary.parameters()) if net.auxiliary else None,
    )
    images = torch.randn(args.batch_size, 3, args.size, args.size)
    masks = torch.randint(0, 21, (args.batch_size, args.size, args.size))
    tags = torch.ones(args.batch_size, 20)
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    train_iteration(net, images, masks, tags, optimizers, scaler)  # warm-up
    start = time.perf_counter()
    for _ in range(args.repeats):
        train_iteration(net, images, masks, tags, optimizers, scaler)
    return (time.perf_counter() - start) / args.repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", default="fcn32s", choices=["fcn32s", "fcn8s"])
    parser.add_argument("--backbone", default="vgg_tiny", choices=sorted(BACKBONES))
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--size", type=int, default=64, help="square image side in pixels")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    timings = {variant: seconds_per_iteration(variant, args) for variant in VARIANTS}
    print(f"{'variant':<10} {'s/iter':>7} {'x base':>7}")
    for variant, seconds in timings.items():
        print(f"{variant:<10} {seconds:7.3f} {seconds / timings['base']:7.2f}")


if __name__ == "__main__":
    main()
