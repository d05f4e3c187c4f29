"""Is the difference real? From a run's repeated measures (RunSnapshot.samples) to the
shown value, its spread and the interval of the difference with production.

- A side with at least MIN_SAMPLES finite samples shows their mean and a 95%
  t-interval; fewer: the run's own logged value, no interval.
- Both sides with samples: a paired t-interval when both carry the same seed/fold
  labels (each once), Welch's otherwise. One side with samples: the other side's
  single value is judged against that side's interval (one-sample t). Neither: no
  estimate, today's comparison.
- A per-example bootstrap (bot.review.bootstrap) wins for the metrics it recomputes.
- Significance: Holm's step-down correction across every estimate of one review.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TypeVar

from bot.domain import Estimate, RunSnapshot, Samples, Spread
from bot.review import stats

K = TypeVar("K")
SAME_LOGGED_REL_TOL = 1e-9  # a logged value this close to the mean is not noted


@dataclass(frozen=True)
class Shown:
    """What the table shows for one run and metric."""

    value: float | None
    spread: Spread | None = None
    logged: float | None = None  # the run's own value, when it differs from the mean
    samples: Samples | None = None  # the finite samples behind `spread`


def _finite(samples: Samples | None) -> Samples | None:
    if samples is None:
        return None
    keep = [i for i, v in enumerate(samples.values) if math.isfinite(v)]
    if len(keep) < stats.MIN_SAMPLES:
        return None
    labels = tuple(samples.labels[i] for i in keep) if samples.labels else ()
    return Samples(tuple(samples.values[i] for i in keep), labels, samples.source)


def shown(run: RunSnapshot | None, key: str) -> Shown:
    """The value a run shows for `key`: its samples' mean when it has enough."""
    if run is None:
        return Shown(None)
    logged = run.metrics.get(key)
    samples = _finite(run.samples.get(key))
    spread = stats.spread(samples.values) if samples else None
    if spread is None:
        return Shown(logged)
    differs = logged is not None and not math.isclose(
        logged, spread.mean, rel_tol=SAME_LOGGED_REL_TOL, abs_tol=1e-12
    )
    return Shown(spread.mean, spread, logged if differs else None, samples)


def _pairs(a: Samples, b: Samples) -> tuple[list[float], list[float]] | None:
    """Matched values when both sides carry the same labels, each exactly once."""
    if not a.labels or not b.labels:
        return None
    if len(set(a.labels)) != len(a.labels) or len(set(b.labels)) != len(b.labels):
        return None
    if set(a.labels) != set(b.labels) or any(not label for label in a.labels):
        return None
    by_label = dict(zip(b.labels, b.values, strict=True))
    ordered = sorted(a.labels)
    mine = dict(zip(a.labels, a.values, strict=True))
    return [mine[label] for label in ordered], [by_label[label] for label in ordered]


def estimate(candidate: Shown, baseline: Shown) -> Estimate | None:
    """The difference candidate - production with its interval, or None (no samples,
    or a side without a finite value)."""
    cand, base = candidate.samples, baseline.samples
    if cand and base:
        matched = _pairs(cand, base)
        if matched is not None:
            return stats.paired(*matched)
        return stats.welch(cand.values, base.values)
    if cand and baseline.value is not None and math.isfinite(baseline.value):
        return stats.one_sample(cand.values, baseline.value, samples_are_candidate=True)
    if base and candidate.value is not None and math.isfinite(candidate.value):
        return stats.one_sample(base.values, candidate.value, samples_are_candidate=False)
    return None


def with_holm(estimates: Mapping[K, Estimate]) -> dict[K, Estimate]:
    """The estimates marked significant or not, Holm-corrected across all of them."""
    keys = list(estimates)
    rejected = stats.holm([estimates[k].p_value for k in keys])
    return {k: replace(estimates[k], significant=r) for k, r in zip(keys, rejected, strict=True)}
