"""Small, exact statistics for repeated measures: Student's t distribution (CDF and
quantile, any degrees of freedom), t-intervals, paired / Welch / one-sample tests and
Holm's step-down correction. Pure Python (math only); checked against scipy in tests.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain import Estimate, Spread

CONFIDENCE = 0.95
ALPHA = 1 - CONFIDENCE
MIN_SAMPLES = 3  # fewer values than this carry no usable spread
_EPS = 1e-15
_TINY = 1e-300


def _beta_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function (modified Lentz)."""
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    result = d
    for m in range(1, 500):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + numerator / c
            c = c if abs(c) > _TINY else _TINY
            result *= c * d
        if abs(c * d - 1.0) < _EPS:
            break
    return result


def beta_regularized(a: float, b: float, x: float) -> float:
    """I_x(a, b), the regularized incomplete beta function, for a, b > 0 and 0 <= x <= 1."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_fraction(a, b, x) / a
    return 1.0 - front * _beta_fraction(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with `df` > 0 degrees of freedom."""
    if math.isinf(t):
        return 1.0 if t > 0 else 0.0
    tail = 0.5 * beta_regularized(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t > 0 else tail


def t_quantile(p: float, df: float) -> float:
    """The t with P(T <= t) = p (0 < p < 1), by bisection on the exact CDF."""
    if not 0.0 < p < 1.0:
        raise ValueError("p must be strictly between 0 and 1")
    if p == 0.5:
        return 0.0
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    low, high = 0.0, 1.0
    while t_cdf(high, df) < p:
        low, high = high, high * 2.0
    for _ in range(200):
        mid = (low + high) / 2.0
        if t_cdf(mid, df) < p:
            low = mid
        else:
            high = mid
        if high - low <= 1e-13 * max(1.0, high):
            break
    return (low + high) / 2.0


def two_sided_p(t: float, df: float) -> float:
    """The two-sided p-value of a t statistic."""
    if math.isnan(t):
        return 1.0
    return min(1.0, 2.0 * t_cdf(-abs(t), df))


def _critical(df: float) -> float:
    return t_quantile(1.0 - ALPHA / 2.0, df)


def mean_and_variance(values: Sequence[float]) -> tuple[float, float]:
    """The mean and the sample variance (n - 1 in the denominator)."""
    n = len(values)
    mean = math.fsum(values) / n
    variance = math.fsum((v - mean) ** 2 for v in values) / (n - 1) if n > 1 else 0.0
    return mean, variance


def spread(values: Sequence[float]) -> Spread | None:
    """The mean with the half-width of its 95% t-interval; None below MIN_SAMPLES."""
    if len(values) < MIN_SAMPLES:
        return None
    mean, variance = mean_and_variance(values)
    half = _critical(len(values) - 1) * math.sqrt(variance / len(values))
    return Spread(mean=mean, half_width=half, n=len(values))


@dataclass(frozen=True)
class _Test:
    delta: float
    se: float
    df: float
    method: str


def _estimate(test: _Test) -> Estimate:
    if test.se == 0.0 or not math.isfinite(test.se):
        p = 1.0 if test.delta == 0.0 else 0.0
        return Estimate(test.delta, test.delta, test.delta, p, test.method)
    half = _critical(test.df) * test.se
    p = two_sided_p(test.delta / test.se, test.df)
    return Estimate(test.delta, test.delta - half, test.delta + half, p, test.method)


def paired(candidate: Sequence[float], baseline: Sequence[float]) -> Estimate:
    """Paired t on the differences of matched values (same seeds or folds)."""
    diffs = [c - b for c, b in zip(candidate, baseline, strict=True)]
    mean, variance = mean_and_variance(diffs)
    n = len(diffs)
    return _estimate(_Test(mean, math.sqrt(variance / n), n - 1, "paired t"))


def welch(candidate: Sequence[float], baseline: Sequence[float]) -> Estimate:
    """Welch's t for two independent groups (Welch-Satterthwaite degrees of freedom)."""
    mc, vc = mean_and_variance(candidate)
    mb, vb = mean_and_variance(baseline)
    qc, qb = vc / len(candidate), vb / len(baseline)
    se = math.sqrt(qc + qb)
    denominator = qc**2 / (len(candidate) - 1) + qb**2 / (len(baseline) - 1)
    df = (qc + qb) ** 2 / denominator if denominator > 0 else len(candidate) + len(baseline) - 2
    return _estimate(_Test(mc - mb, se, df, "Welch t"))


def one_sample(samples: Sequence[float], value: float, samples_are_candidate: bool) -> Estimate:
    """The samples' mean against one fixed value (the side without repeats)."""
    mean, variance = mean_and_variance(samples)
    n = len(samples)
    delta = mean - value if samples_are_candidate else value - mean
    return _estimate(_Test(delta, math.sqrt(variance / n), n - 1, "one-sample t"))


def holm(p_values: Sequence[float], alpha: float = ALPHA) -> list[bool]:
    """Which hypotheses Holm's step-down procedure rejects at family-wise `alpha`."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    rejected = [False] * len(p_values)
    m = len(p_values)
    for rank, index in enumerate(order):
        if p_values[index] > alpha / (m - rank):
            break
        rejected[index] = True
    return rejected
