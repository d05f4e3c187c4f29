"""Absolute bars a candidate's metric must meet, with or without production.

`min` / `max` are plain bounds. The `mlflow:` block has MLflow's `MetricThreshold`
meaning: `threshold` is a bar in the better direction (>= when greater is better,
else <=); `min_absolute_change` / `min_relative_change` are the improvement over
production that is REQUIRED (relative to |production|; with production at 0, any
improvement of more than 1e-10). Without production the change bars are not checked,
as in MLflow without a baseline model. A metric the candidate did not log misses
every bar it has.
"""

from __future__ import annotations

import math

from bot.config.schema import MetricRule
from bot.config.uncertainty import MlflowThreshold

ZERO_BASELINE_STEP = 1e-10  # MLflow's fallback when the baseline value is 0
NOT_LOGGED = "not logged"


def _change_bars(value: float, base: float, bar: MlflowThreshold) -> list[str]:
    sign = 1.0 if bar.greater_is_better else -1.0
    gain = sign * (value - base)  # > 0: improved
    missed: list[str] = []
    if bar.min_absolute_change is not None and gain < bar.min_absolute_change:
        missed.append(f"improves by less than {bar.min_absolute_change:g} (min_absolute_change)")
    if bar.min_relative_change is not None:
        needed = bar.min_relative_change * abs(base) if base != 0 else ZERO_BASELINE_STEP
        if gain < needed:
            share = f"{bar.min_relative_change * 100:g}%"
            missed.append(f"improves by less than {share} (min_relative_change)")
    return missed


def missed_bars(
    value: float | None, baseline: float | None, rule: MetricRule | None
) -> tuple[str, ...]:
    """The bars `value` misses, user-facing ("below min 0.9"); () when all are met."""
    if rule is None or (rule.min is None and rule.max is None and rule.mlflow is None):
        return ()
    if value is None:
        return (NOT_LOGGED,)
    if math.isnan(value):
        return ("not a number",)
    missed: list[str] = []
    if rule.min is not None and value < rule.min:
        missed.append(f"below min {rule.min:g}")
    if rule.max is not None and value > rule.max:
        missed.append(f"above max {rule.max:g}")
    bar = rule.mlflow
    if bar is not None and bar.threshold is not None:
        ok = value >= bar.threshold if bar.greater_is_better else value <= bar.threshold
        if not ok:
            side = "below" if bar.greater_is_better else "above"
            missed.append(f"{side} threshold {bar.threshold:g}")
    if bar is not None and baseline is not None and not math.isnan(baseline):
        missed += _change_bars(value, baseline, bar)
    return tuple(missed)


def bar_labels(rule: MetricRule | None) -> tuple[str, ...]:
    """The bars of a rule as a reader checks them: `≥ 0.98`, `≤ 1.2`; () without bars."""
    if rule is None:
        return ()
    labels = [f"≥ {rule.min:g}"] if rule.min is not None else []
    labels += [f"≤ {rule.max:g}"] if rule.max is not None else []
    bar = rule.mlflow
    if bar is not None and bar.threshold is not None:
        labels.append(f"{'≥' if bar.greater_is_better else '≤'} {bar.threshold:g}")
    if bar is not None and bar.min_absolute_change is not None:
        labels.append(f"improves by ≥ {bar.min_absolute_change:g}")
    if bar is not None and bar.min_relative_change is not None:
        labels.append(f"improves by ≥ {bar.min_relative_change * 100:g}%")
    return tuple(labels)
