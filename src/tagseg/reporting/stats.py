"""The statistics behind a claim's verdict: an interval over seeds and test images, the verdict rules,
Holm's step-down over a paper's claims, and the effect the runs could have detected.

**The interval.** A comparison ``a - b`` gives one paired difference per seed, ``d_s`` (both runs of
a seed share its data order and initialisation), on one fixed set of test images. Two things would
change the effect if the experiment were run again: the seeds, and the choice of test images. The
interval adds the two variance components:

* seeds: ``v_seed = var(d_s) / S`` (sample variance, ``S - 1`` degrees of freedom);
* test images: ``v_image``, the variance over ``B`` bootstrap resamples of the test images of the
  seed-mean difference, ``mean_s d_s(resample)``; each resample draws the images with replacement,
  the same draw for every seed and both arms (the runs share one test set), and recomputes each
  metric from the resampled images' counts (a split's mIoU pools its images' intersections and
  unions, so a resample's mIoU is a ratio of resampled sums, not a mean of per-image scores).

``se = sqrt(v_seed + v_image)``; the interval is ``mean_s d_s +- t(0.975, S - 1) * se``. The degrees
of freedom are the seeds': Welch-Satterthwaite, counting the bootstrap part as known, would give
more where the images dominate, and so an interval narrower than the seed-only one at 2-3 seeds; we
keep the conservative ``S - 1``, so adding the images' variance never narrows the interval. With no
image component it is the paired Student-t interval over seeds, which is also reported on its own;
one seed gives no interval.

**The verdicts** (``alpha`` = 0.05, two-sided; each direction at 0.025), from one-sided p-values:

- ``greater`` (a beats b): supported when ``H0: effect <= 0`` is rejected (the interval lies above
  0), contradicted when ``H0: effect >= 0`` is (it lies below 0), inconclusive otherwise.
- ``equivalent`` (a equals b within ``margin``): supported by two one-sided tests (the interval lies
  inside ``(-margin, margin)``), contradicted when the effect is shown beyond the margin on one side.
- A claim of several comparisons ("a is the best of several", "a matches each of several") is an
  intersection-union test: supported when every comparison is, at the full level (its p-value is the
  largest of theirs); contradicted when some comparison contradicts it, with a Bonferroni correction
  over the comparisons (``k`` times the smallest p-value), since any one of ``k`` may do so by chance.

A claim's two-sided p-value is ``min(1, 2 * min(p_support, p_contradict))``; :func:`holm` adjusts
those of a family (one paper's tested claims and controls) for the family-wise error rate, and an
adjusted verdict is the raw verdict's direction where the adjusted p-value is below ``alpha``.

**Power.** :func:`detectable_effect` is the smallest true effect the comparison would have declared
with 80% power; :func:`seeds_needed` how many seeds would bring it down to a target, at the measured
variance components.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as _scipy

ALPHA = 0.05
POWER = 0.80


def t_quantile(q: float, df: float) -> float:
    """The ``q`` quantile of Student's t with ``df`` degrees of freedom (the normal's where df is infinite)."""
    if not df >= 1:
        raise ValueError(f"degrees of freedom: expected >= 1, got {df}")
    return float(_scipy.norm.ppf(q) if math.isinf(df) else _scipy.t.ppf(q, df))


def _t_sf(x: float, df: float) -> float:
    return float(_scipy.norm.sf(x) if math.isinf(df) else _scipy.t.sf(x, df))


@dataclass(frozen=True)
class Estimate:
    """One comparison's effect (points) and its uncertainty: the two variance components and the df."""

    effect: float
    seeds: int
    v_seed: float = math.nan  # var(d_s) / S; NaN with one seed
    v_image: float = 0.0  # bootstrap variance over test images of the seed-mean difference

    @property
    def se(self) -> float:
        return math.sqrt(self.v_seed + self.v_image) if not math.isnan(self.v_seed) else math.nan

    @property
    def df(self) -> float:
        """The seeds' degrees of freedom, S - 1 (module docstring: why not Welch-Satterthwaite's)."""
        return math.nan if math.isnan(self.v_seed) else float(self.seeds - 1)

    def interval(self) -> tuple[float, float]:
        """The 95% interval over seeds and test images (NaN with one seed)."""
        return self._interval(self.se, self.df)

    def seed_interval(self) -> tuple[float, float]:
        """The 95% paired Student-t interval over seeds only (the test images held fixed)."""
        return (
            self._interval(math.sqrt(self.v_seed), self.seeds - 1) if not math.isnan(self.v_seed) else (math.nan,) * 2
        )

    def _interval(self, se: float, df: float) -> tuple[float, float]:
        if math.isnan(se):
            return math.nan, math.nan
        if se == 0:
            return self.effect, self.effect
        half = t_quantile(1 - ALPHA / 2, df) * se
        return self.effect - half, self.effect + half

    def p_above(self, x: float) -> float:
        """One-sided p-value against ``H0: effect <= x``."""
        return self._p((self.effect - x))

    def p_below(self, x: float) -> float:
        """One-sided p-value against ``H0: effect >= x``."""
        return self._p(x - self.effect)

    def _p(self, distance: float) -> float:
        se = self.se
        if math.isnan(se):
            return math.nan
        if se == 0:
            return 0.0 if distance > 0 else 1.0
        return _t_sf(distance / se, self.df)


def estimate(per_seed: np.ndarray, resampled: np.ndarray | None = None) -> Estimate:
    """A comparison's :class:`Estimate` from its per-seed differences ``d_s`` (S,) and, where the runs
    have per-image results, the same differences on ``B`` resamples of the test images (B, S)."""
    per_seed = np.asarray(per_seed, dtype=float)
    if per_seed.ndim != 1 or len(per_seed) == 0:
        raise ValueError(f"estimate: expected a 1-d array of per-seed differences, got shape {per_seed.shape}")
    seeds = len(per_seed)
    v_seed = float(per_seed.var(ddof=1)) / seeds if seeds > 1 else math.nan
    v_image = 0.0
    if resampled is not None:
        resampled = np.asarray(resampled, dtype=float)
        if resampled.ndim != 2 or resampled.shape[1] != seeds:
            raise ValueError(f"estimate: resampled differences of shape {resampled.shape}, expected (B, {seeds})")
        v_image = float(resampled.mean(axis=1).var(ddof=1)) if len(resampled) > 1 else 0.0
    return Estimate(float(per_seed.mean()), seeds, v_seed, v_image)


def paired_interval(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """Mean of ``a - b`` over paired seeds and its 95% Student-t interval over seeds (NaN bounds with one seed)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 1 or len(a) == 0:
        raise ValueError(f"paired_interval: expected two equal-length 1-d arrays, got {a.shape}, {b.shape}")
    est = estimate(a - b)
    return (est.effect, *est.seed_interval())


def p_values(estimates: list[Estimate], test: str, margin: float = 0.0) -> tuple[float, float]:
    """(p_support, p_contradict) of a claim of one or more comparisons (module docstring)."""
    if test not in ("greater", "equivalent"):
        raise ValueError(f"claim test: expected 'greater' or 'equivalent', got {test!r}")
    support, contradict = [], []
    for est in estimates:
        if test == "greater":
            support.append(est.p_above(0.0))
            contradict.append(est.p_below(0.0))
        else:
            support.append(max(est.p_above(-margin), est.p_below(margin)))
            contradict.append(min(est.p_above(margin), est.p_below(-margin)))
    if any(math.isnan(p) for p in support + contradict):
        return math.nan, math.nan
    return max(support), min(1.0, len(contradict) * min(contradict))


def verdict(p_support: float, p_contradict: float, alpha: float = ALPHA) -> str:
    """supported, contradicted or inconclusive, each direction tested at ``alpha / 2``."""
    if math.isnan(p_support) or math.isnan(p_contradict):
        return "inconclusive"
    if p_support < alpha / 2:
        return "supported"
    return "contradicted" if p_contradict < alpha / 2 else "inconclusive"


def two_sided(p_support: float, p_contradict: float) -> float:
    """The claim's two-sided p-value (NaN when it has no interval)."""
    return min(1.0, 2 * min(p_support, p_contradict))


def holm(p: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values (NaN entries are left out of the family and stay NaN).

    Sorted ascending, the i-th smallest of m becomes ``max_{j <= i} min(1, (m - j + 1) p_(j))``;
    rejecting where the adjusted value is below alpha controls the family-wise error rate at alpha.
    """
    order = sorted((value, i) for i, value in enumerate(p) if not math.isnan(value))
    adjusted = [math.nan] * len(p)
    running = 0.0
    for rank, (value, i) in enumerate(order):
        running = max(running, min(1.0, (len(order) - rank) * value))
        adjusted[i] = running
    return adjusted


def adjusted_verdict(raw: str, p_adjusted: float, alpha: float = ALPHA) -> str:
    """The raw verdict's direction where the family-adjusted two-sided p-value is below alpha, else inconclusive."""
    if raw in ("supported", "contradicted") and not math.isnan(p_adjusted) and p_adjusted < alpha:
        return raw
    return "inconclusive" if raw in ("supported", "contradicted") else raw


def detectable_effect(est: Estimate, test: str = "greater") -> float:
    """The smallest true effect (``greater``), or margin (``equivalent``, true effect 0), that the test
    would declare with 80% power at this estimate's standard error and degrees of freedom."""
    if math.isnan(est.se):
        return math.nan
    # TOST at a true effect of 0 needs both one-sided tests to reject: power 0.8 asks 0.9 of each
    beta_quantile = POWER if test == "greater" else (1 + POWER) / 2
    return (t_quantile(1 - ALPHA / 2, est.df) + t_quantile(beta_quantile, est.df)) * est.se


def seeds_needed(est: Estimate, target: float, test: str = "greater", most: int = 1000) -> int | None:
    """The fewest seeds at which :func:`detectable_effect` falls to ``target`` at the measured per-seed
    variance and test-image variance (None if even ``most`` would not: the test images' variance alone
    is too large, or the target is not positive)."""
    if math.isnan(est.v_seed) or not target > 0:
        return None
    per_seed_variance = est.v_seed * est.seeds  # var(d_s), the variance of one seed's difference
    for seeds in range(2, most + 1):
        candidate = Estimate(est.effect, seeds, per_seed_variance / seeds, est.v_image)
        if detectable_effect(candidate, test) <= target:
            return seeds
    return None
