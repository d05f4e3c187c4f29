"""A paired bootstrap of the difference between two runs' per-example predictions.

Both runs logged an evaluation table (MLflow's table JSON `{"columns", "data"}` as
`mlflow.log_table` writes it, or CSV) over the same examples. Rows are matched by the
`id` column (or by position, when there is none); tables over different rows, or with
different labels for one row, are refused with a line that says so. At most MAX_ROWS
rows are used (a fixed random subset, noted) and RESAMPLES resamples are drawn with a
fixed seed, so a review is deterministic. numpy only.

Binary classification: accuracy, precision, recall, f1 (score >= threshold), roc_auc
and log_loss (from the score as a probability). Regression: rmse and mae.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from bot.config.uncertainty import EvalTableConfig, TableTask
from bot.domain import Estimate
from bot.review.stats import ALPHA

MAX_ROWS = 200_000
RESAMPLES = 1000
SEED = 14  # fixed: the same tables always give the same interval
MAX_TABLE_BYTES = 256 * 1024 * 1024
CLASSIFICATION = ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss")
REGRESSION = ("rmse", "mae")
_CLIP = 1e-15
Array = npt.NDArray[np.float64]


class TableError(ValueError):
    """A table that cannot be compared; the message is user-facing."""


@dataclass(frozen=True)
class Table:
    ids: list[str] | None
    labels: Array
    scores: Array


@dataclass(frozen=True)
class Result:
    estimates: dict[str, Estimate] = field(default_factory=dict)  # logged key -> estimate
    notes: tuple[str, ...] = ()


# --- reading -------------------------------------------------------------------------


def _rows(data: bytes, path: str) -> tuple[list[str], list[list[object]]]:
    if len(data) > MAX_TABLE_BYTES:
        raise TableError(f"the evaluation table is larger than {MAX_TABLE_BYTES >> 20} MB")
    text = data.decode("utf-8-sig", errors="replace")
    if path.lower().endswith(".csv"):
        reader = csv.reader(io.StringIO(text))
        header = next(reader, [])
        return header, [list(row) for row in reader]
    try:
        body = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TableError(f"the evaluation table is not JSON ({exc.msg})") from None
    if not isinstance(body, dict) or not isinstance(body.get("columns"), list):
        raise TableError('the evaluation table is not MLflow table JSON ({"columns", "data"})')
    rows = body.get("data")
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise TableError("the evaluation table's `data` is not a list of rows")
    return [str(c) for c in body["columns"]], rows


def _numbers(values: list[object], column: str) -> Array:
    try:
        return np.array([float(v) if not isinstance(v, str) else float(v.strip()) for v in values])  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise TableError(f"column `{column}` of the evaluation table is not numeric") from None


def read_table(data: bytes, config: EvalTableConfig) -> Table:
    header, rows = _rows(data, config.path)
    wanted = [config.label, config.score, *([config.id] if config.id else [])]
    missing = [c for c in wanted if c not in header]
    if missing:
        raise TableError(f"the evaluation table has no column `{missing[0]}`")
    at = {name: header.index(name) for name in wanted}
    if any(len(row) <= max(at.values()) for row in rows):
        raise TableError("some rows of the evaluation table are shorter than its header")
    labels = _numbers([row[at[config.label]] for row in rows], config.label)
    scores = _numbers([row[at[config.score]] for row in rows], config.score)
    if not (np.isfinite(labels).all() and np.isfinite(scores).all()):
        raise TableError("the evaluation table holds NaN or infinite labels or scores")
    ids = [str(row[at[config.id]]) for row in rows] if config.id else None
    return Table(ids, labels, scores)


# --- matching --------------------------------------------------------------------------


def match(cand: Table, base: Table) -> tuple[Array, Array, Array]:
    """(labels, candidate scores, production scores) over the same rows, or TableError."""
    if cand.ids is None or base.ids is None:
        if len(cand.labels) != len(base.labels) or not np.array_equal(cand.labels, base.labels):
            raise TableError("the two runs were evaluated on different data (rows or labels)")
        return cand.labels, cand.scores, base.scores
    for table, whose in ((cand, "candidate"), (base, "production")):
        if len(set(table.ids or ())) != len(table.ids or ()):
            raise TableError(f"ids repeat in the {whose}'s evaluation table")
    only_cand, only_base = set(cand.ids) - set(base.ids), set(base.ids) - set(cand.ids)
    if only_cand or only_base:
        raise TableError(
            "the two runs were evaluated on different data: "
            f"{len(only_cand)} rows only in the candidate's table, "
            f"{len(only_base)} only in production's"
        )
    order_c, order_b = np.argsort(cand.ids, kind="stable"), np.argsort(base.ids, kind="stable")
    labels = cand.labels[order_c]
    differ = int((labels != base.labels[order_b]).sum())
    if differ:
        raise TableError(f"the two runs were evaluated on different data: {differ} labels differ")
    return labels, cand.scores[order_c], base.scores[order_b]


# --- metrics under resampling weights ---------------------------------------------------
# A resample is a weight per row (how often it was drawn). Most metrics are ratios of
# weighted sums of per-row columns, so one matrix product per resample gives them all;
# roc_auc sums weights per tied-score group (exact, ties count half).

Sums = dict[str, float]
Draw = npt.NDArray[np.intp]  # the rows of one resample (row indices, with repeats)


@dataclass(frozen=True)
class Scorer:
    """One model's per-row columns and how each metric follows from their sums."""

    names: tuple[str, ...]
    columns: Array  # names x rows (contiguous per name)
    metrics: dict[str, Callable[[Sums, Draw], float]]


def _ratio(top: float, bottom: float) -> float:
    return top / bottom if bottom > 0 else math.nan


def _auc(groups: npt.NDArray[np.intp], y: Array) -> Callable[[Sums, Draw], float]:
    """roc_auc of a resample: negatives and positives counted per tied-score group."""
    code = groups * 2 + y.astype(np.intp)
    size = 2 * (int(groups.max()) + 1)

    def auc(_: Sums, draw: Draw) -> float:
        counts = np.bincount(code[draw], minlength=size).reshape(-1, 2)
        wn, wp = counts[:, 0], counts[:, 1]
        below = np.cumsum(wn) - wn  # integers: exact, and no BLAS call
        twice = int((wp * (2 * below + wn)).sum())
        return _ratio(twice / 2, float(wp.sum()) * float(wn.sum()))

    return auc


def classification(y: Array, s: Array, threshold: float) -> Scorer:
    pred = (s >= threshold).astype(float)
    p = np.clip(s, _CLIP, 1 - _CLIP)
    cols = {
        "n": np.ones_like(y),
        "correct": (pred == y).astype(float),
        "tp": pred * y,
        "fp": pred * (1 - y),
        "fn": (1 - pred) * y,
        "pred": pred,
        "pos": y,
        "loss": -(y * np.log(p) + (1 - y) * np.log(1 - p)),
    }
    _, groups = np.unique(s, return_inverse=True)
    metrics: dict[str, Callable[[Sums, Draw], float]] = {
        "accuracy": lambda t, _: _ratio(t["correct"], t["n"]),
        "precision": lambda t, _: _ratio(t["tp"], t["pred"]),
        "recall": lambda t, _: _ratio(t["tp"], t["pos"]),
        "f1": lambda t, _: _ratio(2 * t["tp"], 2 * t["tp"] + t["fp"] + t["fn"]),
        "roc_auc": _auc(groups.ravel().astype(np.intp), y),
        "log_loss": lambda t, _: _ratio(t["loss"], t["n"]),
    }
    return Scorer(tuple(cols), np.vstack(list(cols.values())), metrics)


def regression(y: Array, s: Array) -> Scorer:
    err = s - y
    cols = {"n": np.ones_like(y), "se": err * err, "ae": np.abs(err)}
    metrics: dict[str, Callable[[Sums, Draw], float]] = {
        "rmse": lambda t, _: math.sqrt(t["se"] / t["n"]),
        "mae": lambda t, _: _ratio(t["ae"], t["n"]),
    }
    return Scorer(tuple(cols), np.vstack(list(cols.values())), metrics)


def _scores(scorer: Scorer, draw: Draw, wanted: Sequence[str]) -> list[float]:
    # einsum, not BLAS: OpenBLAS threads crawl on a busy machine
    w = np.bincount(draw, minlength=scorer.columns.shape[1]).astype(float)
    sums = dict(zip(scorer.names, np.einsum("kn,n->k", scorer.columns, w).tolist(), strict=True))
    return [scorer.metrics[m](sums, draw) for m in wanted]


def _interval(point: float, diffs: Array, rows: int) -> Estimate:
    finite = diffs[np.isfinite(diffs)]
    low, high = np.percentile(finite, [100 * ALPHA / 2, 100 * (1 - ALPHA / 2)])
    below, above = int((finite <= 0).sum()), int((finite >= 0).sum())
    p = min(1.0, 2 * min(below + 1, above + 1) / (len(finite) + 1))
    return Estimate(point, float(low), float(high), p, "paired bootstrap", rows=rows)


def compare_tables(cand_data: bytes, base_data: bytes, config: EvalTableConfig) -> Result:
    """Per logged metric key, the bootstrap estimate of candidate - production."""
    try:
        y, sc, sb = match(read_table(cand_data, config), read_table(base_data, config))
    except TableError as exc:
        return Result(notes=(f"no bootstrap: {exc}",))
    notes: list[str] = []
    if len(y) > MAX_ROWS:
        keep = np.sort(np.random.default_rng(SEED).choice(len(y), MAX_ROWS, replace=False))
        notes.append(f"the bootstrap uses a fixed sample of {MAX_ROWS:,} of {len(y):,} rows")
        y, sc, sb = y[keep], sc[keep], sb[keep]
    if len(y) < 2:
        return Result(notes=("no bootstrap: the evaluation table has fewer than 2 rows",))
    zero_one = bool(np.isin(y, (0.0, 1.0)).all())
    if config.task is TableTask.CLASSIFICATION and not zero_one:
        return Result(notes=("no bootstrap: classification labels must be 0 or 1",))
    binary = zero_one and config.task is not TableTask.REGRESSION
    if binary:
        mine, theirs = (
            classification(y, sc, config.threshold),
            classification(y, sb, config.threshold),
        )
    else:
        mine, theirs = regression(y, sc), regression(y, sb)
    wanted = dict(config.metrics) or {name: name for name in mine.metrics}
    usable = {key: name for key, name in wanted.items() if name in mine.metrics}
    return Result(_resample(len(y), mine, theirs, usable), tuple(notes))


def _resample(
    n: int, mine: Scorer, theirs: Scorer, usable: Mapping[str, str]
) -> dict[str, Estimate]:
    names = sorted(set(usable.values()))
    every = np.arange(n, dtype=np.intp)
    points = np.subtract(_scores(mine, every, names), _scores(theirs, every, names))
    rng = np.random.default_rng(SEED)
    diffs = np.empty((RESAMPLES, len(names)))
    for b in range(RESAMPLES):
        draw = rng.integers(0, n, n, dtype=np.intp)
        diffs[b] = np.subtract(_scores(mine, draw, names), _scores(theirs, draw, names))
    out: dict[str, Estimate] = {}
    for key, m in usable.items():
        j = names.index(m)
        if math.isfinite(points[j]) and np.isfinite(diffs[:, j]).sum() >= RESAMPLES // 2:
            out[key] = _interval(float(points[j]), diffs[:, j], n)
    return out
