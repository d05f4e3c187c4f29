"""Compare candidate runs with the baseline: metric cells and rows, parameter changes,
and the one-line verdict. Pure functions over bot.domain types.
"""

from __future__ import annotations

import math
import re
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
    RunSnapshot,
    Threshold,
)
from bot.review import noise
from bot.review.bars import missed_bars

SAME_REL_TOL = 1e-12  # values this close (relative) count as unchanged
_AT_THRESHOLD_REL_TOL = 1e-9  # float noise allowed when a change sits exactly on a threshold

# Name tokens that mean "lower is better".
LOWER_TOKENS = frozenset(
    {
        "loss", "losses", "logloss", "nll", "error", "errors", "err", "rmse", "mse", "mae",
        "mape", "smape", "rmsle", "msle", "medae", "wape", "perplexity", "ppl", "latency",
        "duration", "time", "seconds", "secs", "sec", "ms", "millis", "milliseconds",
        "wer", "cer", "fpr", "fnr", "far", "frr", "eer", "ece", "brier", "hinge", "cost",
        "regret", "divergence", "kl", "distance", "fid", "drift", "memory",
    }
)  # fmt: skip
# Token sequences that mean "lower is better" although no single token says so.
LOWER_PHRASES: tuple[tuple[str, ...], ...] = (
    ("false", "positive"),
    ("false", "positives"),
    ("false", "negative"),
    ("false", "negatives"),
    ("false", "alarm"),
    ("cross", "entropy"),
    ("miss", "rate"),
    ("negative", "log", "likelihood"),
)
# sklearn's scorers negate losses ("neg_log_loss") so that higher is better.
NEGATED_PREFIXES = frozenset({"neg"})

_SEPARATORS = re.compile(r"[\s_\-./:]+")
_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


def name_tokens(key: str) -> list[str]:
    """Split a metric name into lowercase words: `trainingLogLoss` -> training, log, loss."""
    return [w.lower() for part in _SEPARATORS.split(key) for w in _WORDS.findall(part)]


def _has_phrase(tokens: Sequence[str], phrase: Sequence[str]) -> bool:
    n = len(phrase)
    return any(tuple(tokens[i : i + n]) == tuple(phrase) for i in range(len(tokens) - n + 1))


def guess_direction(key: str) -> Direction:
    """Guess from the name whether higher or lower values are better (default: higher)."""
    tokens = name_tokens(key)
    if tokens and tokens[0] in NEGATED_PREFIXES:
        return Direction.HIGHER
    if any(t in LOWER_TOKENS for t in tokens):
        return Direction.LOWER
    if any(_has_phrase(tokens, p) for p in LOWER_PHRASES):
        return Direction.LOWER
    return Direction.HIGHER


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


def compare_metric(
    value: float | None,
    baseline: float | None,
    direction: Direction,
    threshold: Threshold,
    estimate: Estimate | None = None,
) -> MetricCell:
    """Compare one candidate value with the baseline value of the same metric.

    A change exactly at the threshold is WORSE; beyond it, REGRESSION. A relative
    threshold is a fraction of |baseline|; with a zero baseline any worsening regresses.
    With an `estimate` (repeated measures), a difference that is not significant is
    NOISE: only a significant change is better, worse or a regression.
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
    elif math.isclose(value, baseline, rel_tol=SAME_REL_TOL):
        change = Change.SAME
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
    direction = (rule.direction if rule else None) or guess_direction(key)
    threshold = (rule.threshold if rule else None) or config.threshold
    base = noise.shown(baseline, key)
    cells = []
    for i, cand in enumerate(candidates):
        mine = noise.shown(cand, key)
        cell = compare_metric(mine.value, base.value, direction, threshold, estimates.get((key, i)))
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
    )


def metric_rows(
    candidates: Sequence[RunSnapshot],
    baseline: RunSnapshot | None,
    config: MetricsConfig,
    paired: Paired | None = None,
) -> tuple[MetricRow, ...]:
    """One row per metric on any candidate or the baseline, worst news first.

    Rows are grouped (any missed bar, else any regression, else any worse, else any
    better, else any within noise, else the rest) and alphabetical within a group.
    No candidates: no rows.
    """
    if not candidates:
        return ()
    keys = {k for c in candidates for k in (*c.metrics, *c.samples)}
    if baseline is not None:
        keys.update((*baseline.metrics, *baseline.samples))
    shown = sorted(k for k in keys if metric_included(config, k))
    estimates = _estimates(shown, candidates, baseline, paired or {})
    rows = [_row(key, candidates, baseline, config, estimates) for key in shown]
    rows.sort(key=lambda r: (_group(r), r.key))
    return tuple(rows)


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


# --- summary and verdict ------------------------------------------------------------


def summary(rows: Sequence[MetricRow]) -> dict[Change, int]:
    """How many cells have each change; every Change is a key (0 when absent)."""
    counts = dict.fromkeys(Change, 0)
    for row in rows:
        for cell in row.cells:
            counts[cell.change] += 1
    return counts


# (change, words after the count, whether the noun goes before those words)
_PHRASES: tuple[tuple[Change, str, bool], ...] = (
    (Change.BETTER, "improved", False),
    (Change.REGRESSION, "regressed beyond threshold", False),
    (Change.WORSE, "worse within threshold", False),
    (Change.NOISE, "within noise (not significant)", False),
    (Change.SAME, "unchanged", False),
    (Change.NEW, "new", True),
    (Change.MISSING, "missing (only in production)", False),
    (Change.UNDEFINED, "not comparable (NaN or infinite)", False),
)


def _plural(n: int, word: str) -> str:
    return word if n == 1 else f"{word}s"


def _counted(counts: dict[Change, int], noun: str) -> list[str]:
    parts: list[str] = []
    for change, words, noun_first in _PHRASES:
        n = counts[change]
        if not n:
            continue
        if parts:
            parts.append(f"{n} {words}")
        elif noun_first:
            parts.append(f"{n} {words} {_plural(n, noun)}")
        else:
            parts.append(f"{n} {_plural(n, noun)} {words}")
    return parts


def verdict_line(rows: Sequence[MetricRow], has_baseline: bool, n_candidates: int) -> str:
    """One line for the top of the comment, e.g. "2 metrics improved, 1 regressed ..."."""
    if n_candidates == 0:
        return "No runs to review"
    if not rows:
        return "No metrics logged"
    missed = sum(1 for row in rows for cell in row.cells if cell.missed)
    bars = f"; {missed} {_plural(missed, 'value')} below {'its' if missed == 1 else 'their'} bar"
    bars = bars if missed else ""
    if not has_baseline:
        whose = "the candidate's" if n_candidates == 1 else f"the {n_candidates} candidates'"
        return f"No production model to compare with: showing {whose} metrics{bars}"
    counts = summary(rows)
    total = sum(counts.values())
    noun = "metric" if n_candidates == 1 else "metric value"
    if counts[Change.SAME] == total and total > 1:
        line = f"All {total} {noun}s unchanged"
    else:
        line = ", ".join(_counted(counts, noun))
    line += bars
    return line if n_candidates == 1 else f"Across {n_candidates} runs: {line}"
