"""Cost of sun2018's tau sweep (21 thresholds, one pass of the network) over one plain evaluation,
measured in one run on the same split and model.

    python bench/tau_sweep_cost.py --cache data/synthetic/cache/test --taus 21 --threads 1
    python bench/tau_sweep_cost.py --cache data/synthetic/cache/test \
        --model results/models/fcn32s/label_gen/seed0/model.pt --probabilities results/classifier/seed0/test.npz

Without --probabilities, each image's 20 probabilities are uniform random: the worst case, where an
image's labels change at nearly every threshold. A trained classifier's are far more peaked.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from tagseg.data.loading import SegmentationDataset, pad_collate
from tagseg.data.synthetic import SyntheticConfig, generate
from tagseg.data.transforms import eval_preset
from tagseg.data.voc import CachedSplit, build_cache
from tagseg.evaluate import split_confusion
from tagseg.models.fcn import FCN, FCNConfig
from tagseg.sun2018 import Sun2018Net
from tagseg.tau_sweep import tau_sweep
from tagseg.train_classifier import read_predictions
from tagseg.train_fcn import load_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, help="a cached split; default: 200 synthetic 64-px images made here")
    parser.add_argument("--arch", default="fcn32s", choices=["fcn32s", "fcn8s"])
    parser.add_argument("--taus", type=int, default=21, help="number of thresholds in [0, 1]")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--model", type=Path, help="a trained model.pt (default: an untrained FCN)")
    parser.add_argument("--probabilities", type=Path, help="the classifier's npz for --cache (default: uniform)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        cache = args.cache
        if cache is None:
            generate(SyntheticConfig(n_train=1, n_val=1, n_test=200, n_weak_clean=1, n_weak_noisy=1, n_noisy_test=1), tmp)
            cache = Path(tmp) / "cache"
            build_cache(tmp, "test", cache)
        split = CachedSplit(cache)
        loader = DataLoader(SegmentationDataset(split, eval_preset()), batch_size=16, collate_fn=pad_collate)
        torch.manual_seed(0)
        device = torch.device("cpu")
        if args.model:
            model, _ = load_model(args.model, device)
        else:
            model = Sun2018Net(FCN(FCNConfig(arch=args.arch)), "label").eval()
        if args.probabilities:
            probabilities = read_predictions(args.probabilities, split.ids)
        else:
            probabilities = torch.rand(len(split), 20)
        split_confusion(model, loader, device)  # warm-up

        start = time.perf_counter()
        split_confusion(model, loader, device)
        one_evaluation = time.perf_counter() - start
        start = time.perf_counter()
        tau_sweep(model, loader, probabilities, np.linspace(0, 1, args.taus).tolist(), device)
        sweep = time.perf_counter() - start
    print(f"images {len(split)}  one evaluation {one_evaluation:.2f} s  sweep over {args.taus} taus {sweep:.2f} s")
    print(f"sweep / one evaluation = {sweep / one_evaluation:.2f}  (one evaluation per tau would be {args.taus:.0f})")


if __name__ == "__main__":
    main()
