"""The statistics behind a claim's verdict: a paired Student-t interval over seeds, and the verdict rules.

- ``greater`` (a beats b): supported when the 95% interval of ``a - b`` lies above 0, contradicted
  when it lies at or below 0, inconclusive when it straddles 0.
- ``equivalent`` (a equals b within ``margin`` points): supported when the interval lies inside
  (-margin, margin), contradicted when it lies wholly outside, inconclusive otherwise.

A claim of several comparisons is supported when every comparison is, contradicted when any is,
inconclusive otherwise (:func:`combine`). One seed gives no interval: inconclusive.
"""

from __future__ import annotations

import math

import numpy as np

# Student t 0.975 quantiles, 1-30 degrees of freedom (seeds - 1); beyond, a Cornish-Fisher expansion.
_T975 = (
    12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281,
    2.2010, 2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860,
    2.0796, 2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423,
)  # fmt: skip


def t_quantile_975(df: int) -> float:
    """The 0.975 quantile of Student's t with ``df`` degrees of freedom."""
    if df < 1:
        raise ValueError(f"degrees of freedom: expected >= 1, got {df}")
    if df <= len(_T975):
        return _T975[df - 1]
    z = 1.959964
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


def paired_interval(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """Mean of ``a - b`` over paired seeds and its 95% t interval (NaN bounds with one seed)."""
    diff = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if diff.ndim != 1 or len(diff) == 0:
        raise ValueError(f"paired_interval: expected two equal-length 1-d arrays, got {np.shape(a)}, {np.shape(b)}")
    mean = float(diff.mean())
    if len(diff) < 2:
        return mean, math.nan, math.nan
    half = t_quantile_975(len(diff) - 1) * float(diff.std(ddof=1)) / math.sqrt(len(diff))
    return mean, mean - half, mean + half


def verdict(low: float, high: float, test: str, margin: float = 0.0) -> str:
    """The verdict on one comparison from its interval (module docstring)."""
    if math.isnan(low) or math.isnan(high):
        return "inconclusive"
    if test == "greater":
        return "supported" if low > 0 else "contradicted" if high <= 0 else "inconclusive"
    if test == "equivalent":
        if -margin < low and high < margin:
            return "supported"
        return "contradicted" if low >= margin or high <= -margin else "inconclusive"
    raise ValueError(f"claim test: expected 'greater' or 'equivalent', got {test!r}")


def combine(verdicts: list[str]) -> str:
    """A claim of several comparisons: all supported, or any contradicted, else inconclusive."""
    if all(v == "supported" for v in verdicts):
        return "supported"
    return "contradicted" if "contradicted" in verdicts else "inconclusive"
