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
from collections.abc import Callable, Mapping
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
_CHUNK_CELLS = 4_000_000  # resample weights held at once
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


# --- metrics under resampling weights (one row of `w` per resample) ---------------------


def _divide(top: Array, bottom: Array) -> Array:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(bottom > 0, top / np.where(bottom > 0, bottom, 1.0), np.nan)


def _classification(y: Array, s: Array, threshold: float) -> dict[str, Callable[[Array], Array]]:
    pred = (s >= threshold).astype(float)
    tp, fp, fn = pred * y, pred * (1 - y), (1 - pred) * y
    p = np.clip(s, _CLIP, 1 - _CLIP)
    loss = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    order = np.argsort(s, kind="stable")
    _, starts = np.unique(s[order], return_index=True)
    pos, neg = y[order], 1 - y[order]

    def auc(w: Array) -> Array:
        ws = w[:, order]
        wp = np.add.reduceat(ws * pos, starts, axis=1)
        wn = np.add.reduceat(ws * neg, starts, axis=1)
        below = np.cumsum(wn, axis=1) - wn
        pairs = (wp * (below + 0.5 * wn)).sum(axis=1)
        return _divide(pairs, wp.sum(axis=1) * wn.sum(axis=1))

    return {
        "accuracy": lambda w: w @ (pred == y).astype(float) / w.sum(axis=1),
        "precision": lambda w: _divide(w @ tp, w @ pred),
        "recall": lambda w: _divide(w @ tp, w @ y),
        "f1": lambda w: _divide(2 * (w @ tp), 2 * (w @ tp) + w @ fp + w @ fn),
        "roc_auc": auc,
        "log_loss": lambda w: w @ loss / w.sum(axis=1),
    }


def _regression(y: Array, s: Array) -> dict[str, Callable[[Array], Array]]:
    err = s - y
    return {
        "rmse": lambda w: np.sqrt(w @ (err * err) / w.sum(axis=1)),
        "mae": lambda w: w @ np.abs(err) / w.sum(axis=1),
    }


def _metrics(
    y: Array, s: Array, config: EvalTableConfig, binary: bool
) -> dict[str, Callable[[Array], Array]]:
    return _classification(y, s, config.threshold) if binary else _regression(y, s)


def _weights(rng: np.random.Generator, n: int, count: int) -> Array:
    return np.stack([np.bincount(rng.integers(0, n, n), minlength=n) for _ in range(count)]).astype(
        float
    )


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
    mine, theirs = _metrics(y, sc, config, binary), _metrics(y, sb, config, binary)
    wanted = dict(config.metrics) or {name: name for name in mine}
    usable = {key: name for key, name in wanted.items() if name in mine}
    estimates = _resample(y, mine, theirs, usable)
    return Result(estimates, tuple(notes))


def _resample(
    y: Array,
    mine: Mapping[str, Callable[[Array], Array]],
    theirs: Mapping[str, Callable[[Array], Array]],
    usable: Mapping[str, str],
) -> dict[str, Estimate]:
    n = len(y)
    ones = np.ones((1, n))
    names = sorted(set(usable.values()))
    points = {m: float(mine[m](ones)[0] - theirs[m](ones)[0]) for m in names}
    rng = np.random.default_rng(SEED)
    chunk = max(1, min(RESAMPLES, _CHUNK_CELLS // n))
    diffs: dict[str, list[Array]] = {m: [] for m in names}
    for start in range(0, RESAMPLES, chunk):
        w = _weights(rng, n, min(chunk, RESAMPLES - start))
        for m in names:
            diffs[m].append(mine[m](w) - theirs[m](w))
    out: dict[str, Estimate] = {}
    for key, m in usable.items():
        d = np.concatenate(diffs[m])
        if math.isfinite(points[m]) and np.isfinite(d).sum() >= RESAMPLES // 2:
            out[key] = _interval(points[m], d, n)
    return out
