"""Compare candidate runs with the baseline: metric cells and rows, parameter changes,
and the one-line verdict. Pure functions over bot.domain types.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace

from bot.config.schema import (
    MetricsConfig,
    ParamsConfig,
    metric_included,
    metric_rule,
    param_ignored,
)
from bot.domain import (
    Change,
    Direction,
    Estimate,
    MetricCell,
    MetricRow,
    ParamChange,
    ParamChangeKind,
    ParamDiff,
    Role,
    RunSnapshot,
    Threshold,
)
from bot.review import noise
from bot.review.bars import bar_labels, missed_bars
from bot.review.names import base_name, guess_direction
from bot.review.roles import metric_role

SAME_REL_TOL = 1e-12  # values this close (relative) count as unchanged
_AT_THRESHOLD_REL_TOL = 1e-9  # float noise allowed when a change sits exactly on a threshold


# --- one cell -----------------------------------------------------------------


def _allowed_worsening(baseline: float, threshold: Threshold) -> float:
    limit = threshold.value
    if math.isnan(limit) or limit < 0:
        limit = 0.0
    if not threshold.relative:
        return limit
    if baseline == 0 or limit == 0:
        return 0.0  # a fraction of nothing: any worsening counts
    return limit * abs(baseline)


def _worse_change(worsening: float, allowed: float) -> Change:
    if worsening <= allowed or math.isclose(worsening, allowed, rel_tol=_AT_THRESHOLD_REL_TOL):
        return Change.WORSE
    return Change.REGRESSION


def _practical(baseline: float, min_change: Threshold | None) -> float:
    """The smallest difference that counts (MLflow's min_relative_change meaning for a
    relative one: a fraction of |baseline|; with a zero baseline every change counts)."""
    if min_change is None or not min_change.value > 0:
        return 0.0
    return min_change.value * abs(baseline) if min_change.relative else min_change.value


def _same(value: float, baseline: float, min_change: Threshold | None) -> bool:
    """Equal up to float noise, or closer than the practical threshold."""
    close = math.isclose(value, baseline, rel_tol=SAME_REL_TOL)
    return close or abs(value - baseline) < _practical(baseline, min_change)


def compare_metric(
    value: float | None,
    baseline: float | None,
    direction: Direction,
    threshold: Threshold,
    estimate: Estimate | None = None,
    *,
    min_change: Threshold | None = None,
) -> MetricCell:
    """Compare one candidate value with the baseline value of the same metric.

    A change exactly at the threshold is WORSE; beyond it, REGRESSION. A relative
    threshold is a fraction of |baseline|; with a zero baseline any worsening regresses.
    With an `estimate` (repeated measures), a difference that is not significant is
    NOISE: only a significant change is better, worse or a regression. A difference
    smaller than `min_change` is SAME; a metric with Direction.NONE is SAME or CHANGED.
    """
    if value is None:
        return MetricCell(value=None, delta=None, rel_delta=None, change=Change.MISSING)
    if baseline is None:
        return MetricCell(value=value, delta=None, rel_delta=None, change=Change.NEW)
    if not (math.isfinite(value) and math.isfinite(baseline)):
        return MetricCell(value=value, delta=None, rel_delta=None, change=Change.UNDEFINED)
    delta = value - baseline
    rel_delta = delta / abs(baseline) if baseline != 0 else None
    if estimate is not None and not estimate.significant:
        change = Change.NOISE
    elif _same(value, baseline, min_change):
        change = Change.SAME
    elif direction is Direction.NONE:
        change = Change.CHANGED
    else:
        worsening = delta if direction is Direction.LOWER else -delta
        if worsening < 0:
            change = Change.BETTER
        else:
            change = _worse_change(worsening, _allowed_worsening(baseline, threshold))
    return MetricCell(
        value=value, delta=delta, rel_delta=rel_delta, change=change, estimate=estimate
    )


# --- rows -----------------------------------------------------------------------


_GROUPS = (Change.REGRESSION, Change.WORSE, Change.BETTER, Change.NOISE)

# (metric key, candidate index) -> the estimate of the difference
Estimates = dict[tuple[str, int], Estimate]
# run id -> metric key -> a per-example bootstrap estimate (bot.review.bootstrap)
Paired = Mapping[str, Mapping[str, Estimate]]


def _group(row: MetricRow) -> int:
    if row.missed:
        return 0
    for rank, change in enumerate(_GROUPS):
        if any(c.change is change for c in row.cells):
            return rank
    return len(_GROUPS)


def _estimates(
    keys: Sequence[str],
    candidates: Sequence[RunSnapshot],
    baseline: RunSnapshot | None,
    paired: Paired,
) -> Estimates:
    """Every difference with an interval in this review, Holm-corrected together."""
    found: Estimates = {}
    for key in keys:
        base = noise.shown(baseline, key)
        for i, cand in enumerate(candidates):
            boot = paired.get(cand.run_id, {}).get(key)
            est = boot or noise.estimate(noise.shown(cand, key), base)
            if est is not None and baseline is not None:
                found[(key, i)] = est
    return noise.with_holm(found)


def _row(
    key: str,
    candidates: Sequence[RunSnapshot],
    baseline: RunSnapshot | None,
    config: MetricsConfig,
    estimates: Estimates,
) -> MetricRow:
    rule = metric_rule(config, key)
    role = metric_role(config, key, [*candidates, *([baseline] if baseline else [])])
    direction = (rule.direction if rule else None) or guess_direction(key)
    if role is Role.INFORMATIONAL:
        direction = Direction.NONE
    threshold = (rule.threshold if rule else None) or config.threshold
    base = noise.shown(baseline, key)
    cells = []
    for i, cand in enumerate(candidates):
        mine = noise.shown(cand, key)
        est = estimates.get((key, i))
        cell = compare_metric(
            mine.value, base.value, direction, threshold, est, min_change=config.min_change
        )
        missed = missed_bars(mine.value, base.value, rule)
        cells.append(replace(cell, spread=mine.spread, logged=mine.logged, missed=missed))
    return MetricRow(
        key=key,
        direction=direction,
        threshold=threshold,
        baseline=base.value,
        cells=tuple(cells),
        baseline_spread=base.spread,
        baseline_logged=base.logged,
        role=role,
        bars=bar_labels(rule),
    )


def metric_rows(
    candidates: Sequence[RunSnapshot],
    baseline: RunSnapshot | None,
    config: MetricsConfig,
    paired: Paired | None = None,
) -> tuple[MetricRow, ...]:
    """One row per metric on any candidate or the baseline, worst news first.

    Rows are grouped (any missed bar, else any regression, else any worse, else any
    better, else any within noise, else the rest) and alphabetical within a group; one
    metric measured on several sets stays together. No candidates: no rows.
    """
    if not candidates:
        return ()
    keys = {k for c in candidates for k in (*c.metrics, *c.samples)}
    if baseline is not None:
        keys.update((*baseline.metrics, *baseline.samples))
    shown = sorted(k for k in keys if metric_included(config, k))
    estimates = _estimates(shown, candidates, baseline, paired or {})
    rows = [_row(key, candidates, baseline, config, estimates) for key in shown]
    return tuple(_grouped(rows))


def _grouped(rows: Sequence[MetricRow]) -> list[MetricRow]:
    """Worst news first; the same metric on several evaluation sets (`valid_0-l2`,
    `valid_1-l2`) stays together, at the place of its worst member."""
    first: dict[tuple[Role, str], tuple[int, str]] = {}
    for row in sorted(rows, key=lambda r: (_group(r), r.key)):
        first.setdefault((row.role, base_name(row.key)), (_group(row), row.key))
    return sorted(rows, key=lambda r: (*first[(r.role, base_name(r.key))], r.key))


# --- params -----------------------------------------------------------------------


def _param_diff(candidate: RunSnapshot, baseline: RunSnapshot, config: ParamsConfig) -> ParamDiff:
    changes: list[ParamChange] = []
    unchanged = 0
    for key in sorted(set(candidate.params) | set(baseline.params)):
        if param_ignored(config, key):
            continue
        before, after = baseline.params.get(key), candidate.params.get(key)
        if before == after:
            unchanged += 1
        elif before is None:
            changes.append(ParamChange(key, ParamChangeKind.ADDED, None, after))
        elif after is None:
            changes.append(ParamChange(key, ParamChangeKind.REMOVED, before, None))
        else:
            changes.append(ParamChange(key, ParamChangeKind.CHANGED, before, after))
    return ParamDiff(run_id=candidate.run_id, changes=tuple(changes), unchanged=unchanged)


def param_diffs(
    candidates: Sequence[RunSnapshot],
    baseline: RunSnapshot | None,
    config: ParamsConfig,
) -> tuple[ParamDiff, ...]:
    """Per candidate, the params that changed, appeared or disappeared, sorted by key.

    Ignored globs are skipped entirely (neither shown nor counted). Without a baseline
    every diff is empty: the renderer shows the candidate's own params instead.
    """
    if baseline is None:
        return tuple(ParamDiff(run_id=c.run_id, changes=(), unchanged=0) for c in candidates)
    return tuple(_param_diff(c, baseline, config) for c in candidates)
