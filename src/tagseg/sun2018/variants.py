"""sun2018's variants by name, without torch: the Snakefile reads them, and every SLURM job parses
the Snakefile twice (the job and its step), so its imports stay cheap (tagseg.sun2018.network builds them).

A variant is a fusion (none, dot product, addition) and an auxiliary network (none, generator,
discriminator); the rows of the paper's Tables 1-4 are these variants of one FCN.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Variant:
    fusion: str | None  # "dot", "add" or None: how image labels enter, in training and at test
    auxiliary: str | None  # "generator", "discriminator" or None: the auxiliary network and its loss


VARIANTS = {
    "base": Variant(fusion=None, auxiliary=None),
    "label": Variant(fusion="dot", auxiliary=None),
    "gen": Variant(fusion=None, auxiliary="generator"),
    "label_gen": Variant(fusion="dot", auxiliary="generator"),
    "discriminator": Variant(fusion=None, auxiliary="discriminator"),
    "label_add": Variant(fusion="add", auxiliary=None),
}
