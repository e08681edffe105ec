"""DIS test-time inference by its two routes, direct (C-channel features) and reduced (21 channels), over C.

Times ``tagseg.luo2017.inference.infer_latents`` with ``route="literal"`` and ``route="reduced"`` on the same features
(30 steps, read-outs at 0, 10 and 30), for backbone widths C at two feature sizes: resnet_tiny's
at the default scale (8 x 8, batch 16) and ResNet-101's at 321 px (41 x 41, batch 2). Rounds
alternate the routes; prints the median seconds and the direct/reduced ratio with its spread.
Where the ratio crosses 1 is where ``dis.inference: reduced`` starts to pay (configs/voc.yaml sets it for ResNet-101).

    python bench/dis_latents.py --channels 128 256 512 1024 2048 --repeats 5
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn as nn

from tagseg.luo2017.inference import infer_latents
from tagseg.luo2017.network import DISConfig, DualNet


def network(channels: int) -> DualNet:
    """A DualNet whose subnets 1 and 3 read C-channel features (the backbone is not used)."""
    torch.manual_seed(0)
    net = DualNet(DISConfig(backbone="resnet_tiny")).eval()
    net.labelmap = nn.Conv2d(channels, 21, 3, padding=1)
    net.tags = nn.Linear(channels, 21)
    return net


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--channels", type=int, nargs="+", default=[128, 256, 512, 1024, 2048])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"{args.threads} thread(s), torch {torch.__version__}")
    print(f"{'features':>16} {'C':>5} {'direct s':>9} {'reduced s':>10} {'direct/reduced':>15} {'spread':>10}")
    for batch, side in ((16, 8), (2, 41)):
        for channels in args.channels:
            net = network(channels)
            generator = torch.Generator().manual_seed(1)
            images = torch.randn(batch, 3, 8 * side, 8 * side, generator=generator)
            u1 = torch.randn(batch, channels, side, side, generator=generator)
            v1 = u1.mean(dim=(2, 3))
            times: dict[bool, list[float]] = {True: [], False: []}
            for round_ in range(args.repeats + 1):  # the first round warms up
                for direct in (True, False):  # the paper's loop, then the route through u3 and v3
                    start = time.perf_counter()
                    infer_latents(
                        net,
                        u1,
                        v1,
                        images,
                        steps=30,
                        step_size=0.5,
                        readouts=[0, 10, 30],
                        route="literal" if direct else "reduced",
                    )
                    if round_:
                        times[direct].append(time.perf_counter() - start)
            per_round = [d / r for d, r in zip(times[True], times[False])]
            direct_s, reduced_s = statistics.median(times[True]), statistics.median(times[False])
            print(
                f"{f'{batch} x {side} x {side}':>16} {channels:>5} {direct_s:>9.3f} {reduced_s:>10.3f}"
                f" {direct_s / reduced_s:>15.2f} {f'{min(per_round):.2f}-{max(per_round):.2f}':>10}"
            )


if __name__ == "__main__":
    main()
