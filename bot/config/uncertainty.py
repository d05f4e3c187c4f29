"""The config's statistics settings: where repeated measures come from (`uncertainty:`)
and the per-metric absolute bars (`min`, `max`) and MLflow `MetricThreshold` block.

bot.config.schema puts these readers into the file's grammar; the pipeline asks the
dataclasses below.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

import yaml

from bot.config.yamlnodes import NodeReader, Read, show

DEFAULT_LABELS = ("seed", "random_state", "fold")  # params that name a repeat


class TableTask(Enum):
    AUTO = "auto"  # binary classification when every label is 0 or 1, else regression
    CLASSIFICATION = "classification"
    REGRESSION = "regression"


@dataclass(frozen=True)
class EvalTableConfig:
    """A per-example evaluation table both runs logged as an artifact."""

    path: str
    label: str
    score: str  # predicted probability (classification) or prediction (regression)
    id: str | None = None  # column matching rows; None: row order (same labels required)
    threshold: float = 0.5
    task: TableTask = TableTask.AUTO
    # logged metric key -> what to recompute ("accuracy", "f1", ...); empty: same names
    metrics: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class UncertaintyConfig:
    children: bool = True  # child runs (tag mlflow.parentRunId) are repeats
    vary: tuple[str, ...] = ()  # params that may differ between sibling repeats
    step_samples: tuple[str, ...] = ()  # metric globs logged once per fold as steps
    eval_table: EvalTableConfig | None = None


@dataclass(frozen=True)
class MlflowThreshold:
    """MLflow's `MetricThreshold`, with MLflow's meaning."""

    greater_is_better: bool
    threshold: float | None = None  # absolute bar
    min_absolute_change: float | None = None  # improvement over production REQUIRED
    min_relative_change: float | None = None  # the same, as a fraction of |production|


RECOMPUTABLE = ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss", "rmse", "mae")


def number(r: NodeReader, path: str, node: yaml.Node) -> float:
    value = r.value(path, node)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        r.fail(path, node, f"expected a finite number, got {show(node)}")
    return float(value)


def _section(r: NodeReader, make: Callable[..., object], reads: dict[str, Read]) -> Read:
    return lambda path, node: r.build(path, node, make, reads)


def _eval_table(r: NodeReader, path: str, node: yaml.Node) -> EvalTableConfig:
    def metric_map(path: str, node: yaml.Node) -> tuple[tuple[str, str], ...]:
        allowed = {name: name for name in RECOMPUTABLE}
        pairs = r.entries(path, node)
        return tuple((key, r.choice(full, value, allowed)) for key, full, _, value in pairs)

    def threshold(path: str, node: yaml.Node) -> float:
        value = number(r, path, node)
        if not 0.0 <= value <= 1.0:
            r.fail(path, node, f"a score threshold is between 0 and 1, got {show(node)}")
        return value

    reads: dict[str, Read] = {
        "path": r.text,
        "label": r.text,
        "score": r.text,
        "id": r.text,
        "threshold": threshold,
        "task": lambda p, n: r.choice(p, n, {t.value: t for t in TableTask}),
        "metrics": metric_map,
    }
    found = {name for name, _, _, _ in r.entries(path, node)}
    for needed in ("path", "label", "score"):
        if needed not in found:
            r.fail(path, node, f"`{needed}` is required in eval_table")
    table = r.build(path, node, EvalTableConfig, reads)
    if not table.path.lower().endswith((".json", ".csv")):
        r.fail(f"{path}.path", node, "the table must be MLflow table JSON (.json) or CSV (.csv)")
    return table


def uncertainty_reader(r: NodeReader) -> Read:
    reads: dict[str, Read] = {
        "children": r.boolean,
        "vary": r.texts,
        "step_samples": r.texts,
        "eval_table": lambda p, n: _eval_table(r, p, n),
    }
    return _section(r, UncertaintyConfig, reads)


def mlflow_threshold(r: NodeReader, path: str, node: yaml.Node) -> MlflowThreshold:
    """MLflow's checks: greater_is_better required, at least one bar, a positive
    min_absolute_change and a min_relative_change between 0 and 1."""
    reads: dict[str, Read] = {
        "greater_is_better": r.boolean,
        "threshold": lambda p, n: number(r, p, n),
        "min_absolute_change": lambda p, n: number(r, p, n),
        "min_relative_change": lambda p, n: number(r, p, n),
    }
    found = {name for name, _, _, value in r.entries(path, node) if not r.is_null(value)}
    if "greater_is_better" not in found:
        r.fail(path, node, "`greater_is_better` is required, as in MLflow's MetricThreshold")
    if not found & {"threshold", "min_absolute_change", "min_relative_change"}:
        r.fail(path, node, "set threshold, min_absolute_change or min_relative_change")
    bar = r.build(path, node, MlflowThreshold, reads)
    if bar.min_absolute_change is not None and bar.min_absolute_change <= 0:
        r.fail(f"{path}.min_absolute_change", node, "min_absolute_change must be positive")
    if bar.min_relative_change is not None and not 0 <= bar.min_relative_change <= 1:
        r.fail(f"{path}.min_relative_change", node, "min_relative_change is between 0 and 1")
    return bar
