"""Which ImageNet weights a workflow config's training jobs start from, and the file each is (plain
Python, no torch: the Snakefile reads it to plan the one job that fetches them; tagseg.core.pretrained
loads them)."""

from __future__ import annotations

# backbone -> (torchvision weights enum, member, the file torch's hub cache keeps it as)
BACKBONE_WEIGHTS = {
    "vgg16": ("VGG16_Weights", "IMAGENET1K_V1", "vgg16-397923af.pth"),
    "resnet101": ("ResNet101_Weights", "IMAGENET1K_V1", "resnet101-63fe2227.pth"),
}


def section_weights(config: dict, section: str) -> tuple[str, str, str] | None:
    """The weights the models of a config section load: ``model`` (the FCNs and the classifier) or ``dis``."""
    settings = config[section]
    return BACKBONE_WEIGHTS.get(settings["backbone"]) if settings["pretrained"] else None


def needed_weights(config: dict) -> list[tuple[str, str, str]]:
    """Every weights file the config's training jobs load, each once."""
    return list(dict.fromkeys(w for w in (section_weights(config, s) for s in ("model", "dis")) if w is not None))
