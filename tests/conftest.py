"""Shared fixtures: a tiny synthetic dataset and its caches, built once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tagseg.data.synthetic import SyntheticConfig, generate
from tagseg.data.voc import build_cache

TINY = SyntheticConfig(
    seed=3, image_size=40, n_train=12, n_val=6, n_test=6, n_weak_clean=5, n_weak_noisy=40, n_noisy_test=6
)


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synthetic")
    generate(TINY, root)
    return root


@pytest.fixture(scope="session")
def tiny_caches(tiny_root, tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("cache")
    caches = {}
    for split in ("train", "val", "weak_noisy"):
        build_cache(tiny_root, split, out / split)
        caches[split] = out / split
    return caches
