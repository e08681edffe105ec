"""Predict the VOC2012 test images with a luo2017 DIS model and write the evaluation server's submission.

The refined labelmap after ``--t-ts`` test-time inference steps (the paper submits t_tr = t_ts = 30;
tagseg.data.voc_test has the layout).

    python -m tagseg.luo2017.export --test-tar VOC2012test.tar --model results/dis/ttr30/seed0/model.pt \\
        --t-ts 30 --out results/submissions/luo2017.tar.gz
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import torch

from tagseg.core import runtime
from tagseg.core.cli import command
from tagseg.core.precision import resolve
from tagseg.data.voc_test import SUBMISSION_DIR, Predictor, add_export_arguments, export
from tagseg.luo2017 import INFERENCE_ROUTES, add_step_size_from, step_size_from_arguments
from tagseg.luo2017.inference import infer_latents, upsampled_argmax
from tagseg.luo2017.network import dis_family, load_dis


def dis_predictor(
    model_path: str | os.PathLike,
    device: torch.device,
    t_ts: int,
    step_size: float,
    route: str = "literal",
    precision: str = "auto",
) -> Predictor:
    """DIS's refined labelmap after ``t_ts`` test-time inference steps, upsampled to the image."""
    net, model_run = load_dis(model_path, device)
    arithmetic = resolve(precision, device, dis_family(model_run))

    def predict(image: torch.Tensor) -> np.ndarray:
        with torch.inference_mode(), arithmetic.autocast():
            u1, v1 = net.features(image)
        readout = infer_latents(
            net,
            u1.clone().float(),
            v1.clone().float(),
            image,
            steps=t_ts,
            step_size=step_size,
            route=route,
            precision=arithmetic,
        )[t_ts]
        return upsampled_argmax(readout.labelmap, image.shape[2:])[0].to(torch.uint8).cpu().numpy()

    return predict


@command
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tagseg.luo2017.export", description=__doc__.split("\n\n")[0])
    add_export_arguments(parser)
    parser.add_argument("--t-ts", type=int, default=30, help="test-time inference steps")
    parser.add_argument("--step-size", type=float, default=0.5, help="gradient step on u1 and v1")
    add_step_size_from(parser)
    parser.add_argument(
        "--inference", choices=INFERENCE_ROUTES, default="literal", help="how the steps are taken (same iterates)"
    )
    args = parser.parse_args(argv)
    args.step_size = step_size_from_arguments(args)
    if args.t_ts < 0 or args.step_size <= 0:
        raise ValueError(f"--t-ts must be >= 0 and --step-size > 0, got {args.t_ts} and {args.step_size}")
    device = runtime.setup(0, args.threads, args.device)
    predict = dis_predictor(args.model, device, args.t_ts, args.step_size, args.inference, args.precision)
    count = export(args.test_tar, predict, args.out, device)
    print(f"wrote {count} test predictions to {args.out} ({SUBMISSION_DIR}/*.png)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
