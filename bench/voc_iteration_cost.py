"""Seconds per training iteration of the voc scale's networks, measured here, and what the voc DAG's training costs.

Times the real training steps (sun2018's iteration for VGG16 FCN-8s and FCN-32s+generator; on
dilated ResNet-101, DIS's stage-1 joint step, its stage-2 step at t_tr = 0, and inference steps
alone, whose cost per step stage 2 adds t_tr times) at a small size on this machine, extrapolates to
the voc config's sizes in proportion to the pixels the network sees (FCN's 100-pixel padding
included), and sums over every training run the config's DAG makes. On a GPU, run it with
``--device cuda`` and the paper sizes: the same formula gives GPU hours.

    python bench/voc_iteration_cost.py --fcn-size 160 --dis-size 129
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import torch
import yaml

from tagseg.luo2017.inference import infer_latents, stage1_iteration, stage2_iteration
from tagseg.sun2018.fusion import label_vector
from tagseg.luo2017.network import DISConfig, DualNet
from tagseg.sun2018.fcn import FCN, FCNConfig
from tagseg.sun2018.network import Optimizers, Sun2018Net, train_iteration

ROOT = Path(__file__).resolve().parents[1]
FCN_PADDING = 100  # VGG16 FCN pads every input by 100 pixels a side (REPRODUCTION.md F1)


def timed(step, repeats: int, device: torch.device) -> float:
    """The fastest of ``repeats`` steps after a warm-up: on a GPU in wall time; on the CPU in the process's
    CPU time, which other jobs on a shared machine do not inflate (with one thread, the wall time of an idle one)."""
    clock = time.perf_counter if device.type == "cuda" else time.process_time
    step()  # warm-up: allocations, cuDNN's choice of kernels
    best = float("inf")
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = clock()
        step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        best = min(best, clock() - start)
    return best


def fcn_seconds(arch: str, variant: str, size: int, batch: int, repeats: int, device: torch.device) -> float:
    """One sun2018 training iteration of a VGG16 FCN on ``batch`` images of size x size."""
    torch.manual_seed(0)
    net = Sun2018Net(FCN(FCNConfig(arch=arch, backbone="vgg16")), variant, discriminator_width=64).to(device)
    optimizers = Optimizers(
        segmentation=torch.optim.SGD(net.fcn.parameters(), lr=2e-5, momentum=0.99),
        auxiliary=torch.optim.Adam(net.auxiliary.parameters(), lr=1e-4) if net.auxiliary else None,
    )
    images = torch.randn(batch, 3, size, size, device=device)
    masks = torch.randint(0, 21, (batch, size, size), device=device)
    tags = torch.ones(batch, 20, device=device)
    scaler = torch.amp.GradScaler(device.type, enabled=device.type == "cuda")
    return timed(lambda: train_iteration(net, images, masks, tags, optimizers, scaler), repeats, device)


def dis_seconds(stage: str, size: int, batch: int, repeats: int, device: torch.device, t_tr: int = 0) -> float:
    """One DIS training iteration on dilated ResNet-101: stage 1's joint step, stage 2 at ``t_tr``, or
    (stage ``inference``) ``t_tr`` inference steps alone on features computed beforehand."""
    torch.manual_seed(0)
    net = DualNet(DISConfig(backbone="resnet101")).to(device).train()
    optimizer = torch.optim.SGD(net.parameters(), lr=2.5e-4, momentum=0.9)
    images = torch.randn(batch, 3, size, size, device=device)
    masks = torch.randint(0, 21, (batch, size, size), device=device)
    tags = label_vector(torch.randint(0, 2, (batch, 20), device=device).float())
    if stage == "stage1":
        step = lambda: stage1_iteration(net, images, masks, tags, optimizer, "joint")  # noqa: E731
    elif stage == "stage2":
        step = lambda: stage2_iteration(net, (images, masks, tags), (images, tags), optimizer,  # noqa: E731
                                        t_tr=t_tr, step_size=0.5)  # fmt: skip
    else:
        with torch.no_grad():
            u1, v1 = net.features(images)
        step = lambda: infer_latents(net, u1, v1, images, steps=t_tr, step_size=0.5, tags=tags)  # noqa: E731
    return timed(step, repeats, device)


def voc_config() -> dict:
    """config.yaml with configs/voc.yaml over it, section by section (as snakemake merges them)."""
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    for key, value in yaml.safe_load((ROOT / "configs" / "voc.yaml").read_text()).items():
        config[key] = {**config.get(key, {}), **value} if isinstance(value, dict) else value
    return config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fcn-size", type=int, default=224, help="square image side for the FCN measurement")
    parser.add_argument("--dis-size", type=int, default=161, help="square image side for the DIS measurement")
    parser.add_argument("--dis-batch", type=int, default=1, help="images per DIS measurement batch")
    parser.add_argument(
        "--t-tr", type=int, default=4, help="inference steps to time (their cost per step scales stage 2 by t_tr)"
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    config = voc_config()
    train, dis, classifier, seeds = config["train"], config["dis"], config["classifier"], len(config["seeds"])

    measured = {
        "fcn8s base": fcn_seconds("fcn8s", "base", args.fcn_size, 1, args.repeats, device),
        "fcn32s gen": fcn_seconds("fcn32s", "gen", args.fcn_size, 1, args.repeats, device),
        "dis stage1 joint": dis_seconds("stage1", args.dis_size, args.dis_batch, args.repeats, device),
        "dis stage2 t_tr=0": dis_seconds("stage2", args.dis_size, args.dis_batch, args.repeats, device),
        f"dis {args.t_tr} inference steps": dis_seconds("inference", args.dis_size, args.dis_batch, args.repeats, device,
                                                        t_tr=args.t_tr),
    }  # fmt: skip
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    clock = "wall" if device.type == "cuda" else "CPU"
    print(f"{clock} seconds measured on {device} ({args.threads} threads, load average {load:.1f} on {os.cpu_count()} cores): "
          f"FCN at {args.fcn_size}px batch 1, DIS at {args.dis_size}px batch {args.dis_batch}")  # fmt: skip
    for name, seconds in measured.items():
        print(f"  {name:<20} {seconds:8.2f} s/iteration")

    # extrapolate in proportion to pixels seen: FCN at crop_size (+ padding), DIS at crop_size x batch
    fcn_scale = ((train["crop_size"] + 2 * FCN_PADDING) / (args.fcn_size + 2 * FCN_PADDING)) ** 2
    dis_pixels = (dis["crop_size"] / args.dis_size) ** 2 / args.dis_batch
    fcn_base = measured["fcn8s base"] * fcn_scale * train["batch_size"]
    aux_ratio = measured["fcn32s gen"] / measured["fcn8s base"]  # auxiliary variants: two passes, as S6
    per_step = measured[f"dis {args.t_tr} inference steps"] / args.t_tr  # (one read-out included: an upper bound)
    stage1 = measured["dis stage1 joint"] * dis_pixels * dis["batch_size"]
    stage2_0 = measured["dis stage2 t_tr=0"] * dis_pixels * dis["batch_size"]  # weak batch = labelled batch
    step_cost = per_step * dis_pixels * dis["weak_batch_size"]

    runs = {  # (iterations, seconds per iteration) per training run, times seeds
        "sun2018 FCNs without auxiliary (4 a seed)": (4 * train["iterations"], fcn_base),
        "sun2018 FCNs with generator/discriminator (4 a seed)": (4 * train["iterations"], fcn_base * aux_ratio),
        "sun2018 classifier (about an FCN step per image)": (classifier["iterations"],
                                                             fcn_base * classifier["batch_size"]),
        "luo2017 stage 1": (sum(dis["stage1_steps"]), stage1),
        **{f"luo2017 stage 2, t_tr={t}": (dis["iterations"], stage2_0 + t * step_cost) for t in dis["t_tr"]},
    }  # fmt: skip
    print(
        f"\nvoc config, {seeds} seeds, extrapolated by pixels (FCN x{fcn_scale:.2f}, DIS x{dis_pixels * dis['batch_size']:.1f}):"
    )
    total = 0.0
    for name, (iterations, seconds) in runs.items():
        hours = seeds * iterations * seconds / 3600
        total += hours
        print(f"  {name:<52} {iterations:>7} it x {seconds:8.2f} s = {hours:10.0f} h")
    print(f"  {'total training':<52} {total:>37.0f} h on {device}")
    print("GPU hours = sum over runs of seeds x iterations x (s/iteration measured on the GPU, at the config's sizes):"
          " run this script there with --device cuda --fcn-size 500 --dis-size 321 --dis-batch 10")  # fmt: skip


if __name__ == "__main__":
    main()
