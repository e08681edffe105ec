"""sun2018's variants by name and Figure 4's threshold grid, without torch: the Snakefile reads them, and every SLURM job parses
the Snakefile twice (the job and its step), so its imports stay cheap (tagseg.sun2018.network builds them).

A variant is a fusion (none, dot product, addition) and an auxiliary network (none, generator,
discriminator); the rows of the paper's Tables 1-4 are these variants of one FCN. Two are ours, not
the paper's: the compute-matched controls (``base_2x``, ``label_2x``), which take the segmentation
step twice per iteration on the same batch, as many updates of the FCN as the generator and
discriminator variants' steps 1 and 3 make; and Table 3's second reading of addition
(``label_add_scores``), the labels added to the scores before the softmax.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Variant:
    fusion: str | None  # "dot", "add" or None: how image labels enter, in training and at test
    auxiliary: str | None  # "generator", "discriminator" or None: the auxiliary network and its loss
    updates: int = 1  # segmentation steps per iteration without an auxiliary network (2: the controls)

    @property
    def segmentation_updates(self) -> int:
        """Updates of the FCN per iteration: steps 1 and 3 of Section 2.3 with an auxiliary network."""
        return 2 if self.auxiliary else self.updates


VARIANTS = {
    "base": Variant(fusion=None, auxiliary=None),
    "label": Variant(fusion="dot", auxiliary=None),
    "gen": Variant(fusion=None, auxiliary="generator"),
    "label_gen": Variant(fusion="dot", auxiliary="generator"),
    "discriminator": Variant(fusion=None, auxiliary="discriminator"),
    "label_add": Variant(fusion="add", auxiliary=None),
    "label_add_scores": Variant(fusion="add_scores", auxiliary=None),
    "base_2x": Variant(fusion=None, auxiliary=None, updates=2),
    "label_2x": Variant(fusion="dot", auxiliary=None, updates=2),
}


def tau_grid(taus: int) -> list[float]:
    """Figure 4's ``taus`` evenly spaced thresholds in [0, 1], equal to the bit to
    ``numpy.linspace(0, 1, taus)`` (step times index, the last exactly 1), which the sweep used before."""
    if taus < 2:
        raise ValueError(f"sun2018.taus: expected at least 2 thresholds, got {taus}")
    step = 1.0 / (taus - 1)
    return [i * step for i in range(taus - 1)] + [1.0]
