import sys
from pathlib import Path

from snakemake.settings.types import DeploymentMethod

from tagseg.cli import to_flags
from tagseg.config import validate_config
from tagseg.data.synthetic import SPLITS
from tagseg.paper import TABLES
from tagseg.sun2018 import VARIANTS

validate_config(config, Path(workflow.basedir) / "workflow" / "schemas" / "config.schema.yaml")

DATA_ROOT = config["data"]["root"]
# Rules call `python -m tagseg...` with this checkout's src/ first on PYTHONPATH (so the code that
# runs is the code whose commit the outputs record), and, without --use-conda, with the python
# snakemake runs in (the project's venv, even when it is not activated) first on PATH.
_src, _bin = Path(workflow.basedir) / "src", Path(sys.executable).parent
# (an unset PYTHONPATH leaves an empty entry, the working directory, which `python -m` has anyway)
_prefix = f'export PYTHONPATH="{_src}:$PYTHONPATH"; set -euo pipefail; '
if DeploymentMethod.CONDA not in workflow.deployment_settings.deployment_method:
    _prefix += f'export PATH="{_bin}:$PATH"; '
shell.prefix(_prefix)


wildcard_constraints:
    arch="fcn32s|fcn8s",
    variant="|".join(VARIANTS),
    seed=r"\d+",
    split=r"[A-Za-z0-9_]+",


def get_cache_dir(split):
    """Folder of a split's decoded arrays (images.npy, masks.npy, index.npz)."""
    return f"{DATA_ROOT}/cache/{split}"


def get_cache_files(split):
    return multiext(f"{get_cache_dir(split)}/", "images.npy", "masks.npy", "index.npz")


def get_input_parent(wildcards, input):
    """Folder of a rule's first input (a cache folder, a dataset root)."""
    return str(Path(input[0]).parent)


def get_output_parent(wildcards, output):
    """Folder of a rule's first output (a run folder, a cache folder)."""
    return str(Path(output[0]).parent)


def get_dataset_marker(wildcards):
    """The file that says the VOC tree under DATA_ROOT is complete."""
    return f"{DATA_ROOT}/dataset.json"


def _training_flags(settings):
    """A trainer's settings plus the model and device sections, as command-line flags."""
    return to_flags({**settings, **config["model"], "device": config["resources"].get("device", "auto")})


def get_train_flags(wildcards):
    """FCN training settings (config: train, model, resources.device) as command-line flags."""
    return _training_flags(config["train"])


def get_classifier_flags(wildcards):
    """Classifier settings (config: classifier, with train's crop_size unless it sets one) as flags."""
    return _training_flags({"crop_size": config["train"].get("crop_size", 64), **config["classifier"]})


def get_classifier_probabilities():
    """Every split's class probabilities, from every seed's classifier."""
    return expand("results/classifier/seed{seed}/{split}.npz", seed=config["seeds"], split=SPLITS)


def get_metrics(arch, variant, split):
    return expand(f"results/metrics/{arch}/{variant}/seed{{seed}}/{split}.json", seed=config["seeds"])


def get_final_outputs():
    return [
        *expand("results/tables/{table}.csv", table=sorted(TABLES)),
        *get_metrics("fcn32s", "base", "test"),
        *get_classifier_probabilities(),
    ]
