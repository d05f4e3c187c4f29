"""Candidate against production on the same examples, from per-example tables.

Both runs logged an evaluation table (MLflow's table JSON `{"columns", "data"}` as
`mlflow.log_table` writes it, or CSV) over the same examples (`uncertainty.eval_table`),
or `model-review evaluate` logged one table with both models' scores (bot.review.
predictions). Rows are matched by the `id` column (or by position, when there is none);
tables over different rows, or with different labels for one row, are refused with a
line that says so. Tables are read in bounded memory (bot.review.tables: at most
MAX_ROWS rows, a fixed sample, noted); the comparison itself is bot.review.paired.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from bot.config.uncertainty import EvalTableConfig, TableTask
from bot.domain import Estimate
from bot.review import paired, tables
from bot.review.tables import TableError

CLASSIFICATION = paired.CLASSIFICATION
REGRESSION = paired.REGRESSION
SAMPLED = "the comparison uses a fixed sample of {kept:,} of {rows:,} rows"
Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Table:
    ids: list[str] | None
    labels: Array
    scores: Array
    rows: int = 0  # rows in the whole table (0: as many as kept)
    digest: int = 0


@dataclass(frozen=True)
class Result:
    estimates: dict[str, Estimate] = field(default_factory=dict)  # logged key -> estimate
    notes: tuple[str, ...] = ()


def read_table(data: bytes, config: EvalTableConfig) -> Table:
    wanted = tables.Wanted((config.label, config.score), config.id)
    found = tables.read_table(data, config.path, wanted)
    labels, scores = found.numbers[config.label], found.numbers[config.score]
    return Table(found.ids, labels, scores, found.rows, found.digest)


# --- matching --------------------------------------------------------------------------


def match(cand: Table, base: Table) -> tuple[Array, Array, Array]:
    """(labels, candidate scores, production scores) over the same rows, or TableError."""
    sampled = len(cand.labels) < cand.rows or len(base.labels) < base.rows
    if sampled and (cand.rows, cand.digest) != (base.rows, base.digest):
        raise TableError(
            "the two runs were evaluated on different data: "
            f"{cand.rows:,} rows in the candidate's table, {base.rows:,} in production's"
            + (" (with other ids)" if cand.rows == base.rows else "")
        )
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


def compare_arrays(
    y: Array, cand: Array, base: Array, config: EvalTableConfig
) -> tuple[dict[str, Estimate], str | None]:
    """Per logged metric key, the estimate of candidate - production; or why none."""
    if len(y) < 2:
        return {}, "the evaluation table has fewer than 2 rows"
    zero_one = bool(np.isin(y, (0.0, 1.0)).all())
    if config.task is TableTask.CLASSIFICATION and not zero_one:
        return {}, "classification labels must be 0 or 1"
    binary = zero_one and config.task is not TableTask.REGRESSION
    able = CLASSIFICATION if binary else REGRESSION
    wanted = dict(config.metrics) or {name: name for name in able}
    usable = {key: name for key, name in wanted.items() if name in able}
    found = paired.compare(
        y, cand, base, sorted(set(usable.values())), paired.Task(binary, config.threshold)
    )
    return {key: found[name] for key, name in usable.items() if name in found}, None


def compare_tables(cand_data: bytes, base_data: bytes, config: EvalTableConfig) -> Result:
    """Per logged metric key, the estimate of candidate - production."""
    try:
        cand, base = read_table(cand_data, config), read_table(base_data, config)
        y, sc, sb = match(cand, base)
    except TableError as exc:
        return Result(notes=(f"no bootstrap: {exc}",))
    notes = [SAMPLED.format(kept=len(y), rows=cand.rows)] if len(y) < cand.rows else []
    estimates, why = compare_arrays(y, sc, sb, config)
    if why:
        return Result(notes=(f"no bootstrap: {why}",))
    return Result(estimates, tuple(notes))
