"""Candidate against production on the same rows: the difference of each metric with a
95% interval and a p-value. numpy only; deterministic (fixed seed).

- roc_auc: DeLong's test for two correlated ROC curves (exact AUCs, ties count half;
  the variance from the structural components, no resampling).
- accuracy: McNemar's test on the discordant rows (two-sided mid-p from the exact
  binomial), with the Wald interval of the paired difference of proportions.
- precision, recall, f1, log_loss (binary) and rmse, mae (regression): a paired
  bootstrap of rows, RESAMPLES resamples drawn as index matrices in batches, so memory
  stays near BATCH_CELLS indices whatever the number of rows.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

from bot.domain import Estimate
from bot.review.stats import ALPHA

RESAMPLES = 1000
SEED = 14  # fixed: the same rows always give the same interval
BATCH_CELLS = 2_000_000  # indices drawn at once (16 MB)
CLIP = 1e-15
CLASSIFICATION = ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss")
REGRESSION = ("rmse", "mae")
RESAMPLED = ("precision", "recall", "f1", "log_loss")  # binary metrics bootstrapped
BOOTSTRAP = "paired bootstrap"
DELONG = "DeLong"
MCNEMAR = "McNemar mid-p"
Array = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int32]


@dataclass(frozen=True)
class Task:
    binary: bool  # binary classification (labels 0/1, scores as probabilities)
    threshold: float = 0.5  # a score at or above it says 1


_Z = NormalDist().inv_cdf(1 - ALPHA / 2)


def _normal(delta: float, variance: float, method: str, rows: int) -> Estimate:
    """A z-interval and two-sided p-value; a zero variance is an exact difference."""
    if not variance > 0 or not math.isfinite(variance):
        p = 1.0 if delta == 0 else 0.0
        return Estimate(delta, delta, delta, p, method, rows=rows)
    se = math.sqrt(variance)
    p = math.erfc(abs(delta / se) / math.sqrt(2))
    return Estimate(delta, delta - _Z * se, delta + _Z * se, p, method, rows=rows)


# --- DeLong ---------------------------------------------------------------------------


def midranks(x: Array) -> Array:
    """1-based ranks, tied values sharing the mean of their ranks."""
    order = np.argsort(x, kind="mergesort")
    _, first, counts = np.unique(x[order], return_index=True, return_counts=True)
    ranks = np.empty(len(x))
    ranks[order] = np.repeat(first + (counts + 1) / 2, counts)
    return ranks


def _components(y: npt.NDArray[np.bool_], s: Array) -> tuple[float, Array, Array]:
    """The AUC and its structural components over the positives and the negatives."""
    pos, neg = s[y], s[~y]
    m, n = len(pos), len(neg)
    both = midranks(np.concatenate([pos, neg]))
    v_pos = (both[:m] - midranks(pos)) / n
    v_neg = 1 - (both[m:] - midranks(neg)) / m
    return float(v_pos.mean()), v_pos, v_neg


def delong(y: Array, cand: Array, base: Array) -> Estimate | None:
    """roc_auc(candidate) - roc_auc(production); None without 2 rows of each class."""
    positive = y == 1
    m = int(positive.sum())
    n = len(y) - m
    if m < 2 or n < 2:
        return None
    auc_c, pos_c, neg_c = _components(positive, cand)
    auc_b, pos_b, neg_b = _components(positive, base)
    variance = np.var(pos_c - pos_b, ddof=1) / m + np.var(neg_c - neg_b, ddof=1) / n
    return _normal(auc_c - auc_b, float(variance), DELONG, len(y))


# --- McNemar ----------------------------------------------------------------------------


def binomial_half(k: int, n: int) -> tuple[float, float]:
    """P(X <= k) and P(X = k) for X ~ Binomial(n, 1/2), summed in log space."""
    j = np.arange(1, k + 1, dtype=float)
    log_choose = np.concatenate([[0.0], np.cumsum(np.log((n - j + 1) / j))])
    log_pmf = log_choose - n * math.log(2)
    top = float(log_pmf.max())
    cdf = math.exp(top) * float(np.exp(log_pmf - top).sum())
    return min(1.0, cdf), math.exp(float(log_pmf[-1]))


def mcnemar_p(b: int, c: int, mid: bool = True) -> float:
    """Two-sided McNemar p-value from the discordant counts: exact, or mid-p."""
    if b + c == 0:
        return 1.0
    cdf, pmf = binomial_half(min(b, c), b + c)
    return min(1.0, 2 * (cdf - (pmf / 2 if mid else 0.0)))


def mcnemar(y: Array, cand: Array, base: Array, threshold: float) -> Estimate:
    """accuracy(candidate) - accuracy(production)."""
    right_c = (cand >= threshold) == (y == 1)
    right_b = (base >= threshold) == (y == 1)
    b = int((right_c & ~right_b).sum())
    c = int((~right_c & right_b).sum())
    n = len(y)
    delta = (b - c) / n
    se = math.sqrt(max(0.0, b + c - (b - c) ** 2 / n)) / n
    if se == 0:
        return Estimate(delta, delta, delta, mcnemar_p(b, c), MCNEMAR, rows=n)
    low, high = delta - _Z * se, delta + _Z * se
    return Estimate(delta, low, high, mcnemar_p(b, c), MCNEMAR, rows=n)


# --- paired bootstrap -------------------------------------------------------------------
# precision, recall and f1 depend only on how many resampled rows fall in each of the 8
# cells (label, candidate says 1, production says 1): a resample of rows is a multinomial
# draw over the cells, exactly. log loss and the regression errors are means of per-row
# values: the rows themselves are drawn, in batches of at most BATCH_CELLS indices.


def generator(seed: int = SEED) -> np.random.Generator:
    return np.random.Generator(np.random.SFC64(seed))


def draws(n: int, resamples: int | None = None, seed: int = SEED) -> Iterator[Ints]:
    """Row indices of the resamples, as `rng.integers(0, n, n, dtype=np.int32)` per
    resample would draw them (rng: numpy's SFC64 generator), a batch at a time."""
    rng = generator(seed)
    resamples = resamples or RESAMPLES
    batch = max(1, min(resamples, BATCH_CELLS // max(n, 1)))
    done = 0
    while done < resamples:
        size = min(batch, resamples - done)
        yield rng.integers(0, n, (size, n), dtype=np.int32)
        done += size


def _ratio(top: Array, bottom: Array) -> Array:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(bottom > 0, top / np.where(bottom > 0, bottom, 1), np.nan)


def _counted(counts: Array) -> dict[str, Array]:
    """precision/recall/f1 differences from counts of the 8 cells, one row per resample."""
    cell = counts.reshape(-1, 2, 2, 2)  # [resample, label, candidate says 1, base says 1]
    out: dict[str, Array] = {}
    for side, axis in (("c", 3), ("b", 2)):
        per = cell.sum(axis=axis)  # [resample, label, this side says 1]
        tp, fp, fn = per[:, 1, 1], per[:, 0, 1], per[:, 1, 0]
        out["precision" + side] = _ratio(tp, tp + fp)
        out["recall" + side] = _ratio(tp, tp + fn)
        out["f1" + side] = _ratio(2 * tp, 2 * tp + fp + fn)
    return {m: out[m + "c"] - out[m + "b"] for m in ("precision", "recall", "f1")}


def _log_loss(y: Array, p: Array) -> Array:
    p = np.clip(p, CLIP, 1 - CLIP)
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


def _per_row(y: Array, cand: Array, base: Array, names: Sequence[str]) -> Array:
    """The per-row values whose resampled means give the row-resampled metrics."""
    if "log_loss" in names:
        return (_log_loss(y, cand) - _log_loss(y, base))[None, :]
    return np.stack([(cand - y) ** 2, (base - y) ** 2, np.abs(cand - y) - np.abs(base - y)])


def _from_means(means: Array, binary: bool) -> dict[str, Array]:
    if binary:
        return {"log_loss": means[0]}
    return {"rmse": np.sqrt(means[0]) - np.sqrt(means[1]), "mae": means[2]}


def _resampled_means(values: Array) -> Array:
    """values: k x n per-row columns; k x RESAMPLES means. One column: gathered; more:
    the rows' counts per resample, then one product (cheaper than k gathers)."""
    k, n = values.shape
    found = []
    for idx in draws(n):
        if k == 1:
            found.append(values[0][idx].mean(axis=1)[None, :])
            continue
        shift = idx + (n * np.arange(len(idx)))[:, None]
        counts = np.bincount(shift.ravel(), minlength=n * len(idx)).reshape(len(idx), n)
        found.append(np.einsum("kn,bn->kb", values, counts.astype(float)) / n)
    return np.concatenate(found, axis=1)


def _interval(point: float, diffs: Array, rows: int) -> Estimate | None:
    finite = diffs[np.isfinite(diffs)]
    if not math.isfinite(point) or len(finite) < max(1, len(diffs) // 2):
        return None
    low, high = np.percentile(finite, [100 * ALPHA / 2, 100 * (1 - ALPHA / 2)])
    below, above = int((finite <= 0).sum()), int((finite >= 0).sum())
    p = min(1.0, 2 * min(below + 1, above + 1) / (len(finite) + 1))
    return Estimate(point, float(low), float(high), p, BOOTSTRAP, rows=rows)


def _cells(y: Array, cand: Array, base: Array, threshold: float) -> Array:
    code = 4 * (y == 1) + 2 * (cand >= threshold) + (base >= threshold)
    return np.bincount(code.astype(np.int64), minlength=8).astype(float)


def bootstrap(
    y: Array, cand: Array, base: Array, names: Sequence[str], task: Task
) -> dict[str, Estimate]:
    """The paired bootstrap of every metric in `names` it can resample."""
    n = len(y)
    wanted = [m for m in names if m in (RESAMPLED if task.binary else REGRESSION)]
    if not wanted or n < 2:
        return {}
    points: dict[str, Array] = {}
    diffs: dict[str, Array] = {}
    if task.binary and set(wanted) - {"log_loss"}:
        cells = _cells(y, cand, base, task.threshold)
        points.update(_counted(cells[None, :]))
        rng = generator()
        diffs.update(_counted(rng.multinomial(n, cells / n, size=RESAMPLES).astype(float)))
    if not task.binary or "log_loss" in wanted:
        values = _per_row(y, cand, base, wanted)
        points.update(_from_means(values.mean(axis=1)[:, None], task.binary))
        diffs.update(_from_means(_resampled_means(values), task.binary))
    out = {m: _interval(float(points[m][0]), diffs[m], n) for m in wanted}
    return {m: e for m, e in out.items() if e is not None}


def compare(
    y: Array, cand: Array, base: Array, names: Sequence[str], task: Task
) -> dict[str, Estimate]:
    """Metric name -> estimate of candidate - production, for the names asked for."""
    out = bootstrap(y, cand, base, names, task)
    if task.binary and "accuracy" in names:
        out["accuracy"] = mcnemar(y, cand, base, task.threshold)
    if task.binary and "roc_auc" in names:
        auc = delong(y, cand, base)
        if auc is not None:
            out["roc_auc"] = auc
    return out
