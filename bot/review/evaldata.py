"""The comparability guard: were candidate and production measured on the same
evaluation data? Pure.

MLflow 3 metrics may name the dataset of each value (`dataset_name`/`dataset_digest`,
kept with the logged model's metrics): then each metric is compared on its own.
Otherwise the runs' dataset inputs whose `mlflow.data.context` is an evaluation
context (configurable, in order of preference) are compared: those of the first
context both runs name (`evaluation` first: what `mlflow.models.evaluate` scored, see
bot.tracking.inputs; autolog's `eval` inputs are the estimator's validation set, which
two libraries fill differently), else every evaluation input of each. Both sides
name their data and it differs: DIFFERENT (the verdict and the metrics table say so;
`compare.require_same_eval_data: fail` turns the gate red). Only one side names it:
ONE_SIDED, a softer note. Neither: UNKNOWN, only the checklist line says so.

Data is compared by its rows, not its columns (bot.review.datadiff.same_rows): the
same held-out rows with a feature column added or removed are the same evaluation
data (the signature section carries that change), so no warning.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.config.schema import CompareConfig, EvalDataRule
from bot.domain import DatasetInfo, GateDecision, GateState, RunSnapshot
from bot.domain.modelchanges import EvalData, EvalDataCheck
from bot.review.datadiff import same_rows

SHORT_DIGEST = 8
DIFFERENT_DATA = "Metrics measured on different evaluation data than production"
ONE_SIDED_DATA = "Evaluation data named on one side only"
GATE_TEXT = "metrics measured on different evaluation data than production"
NOT_CHECKED = "not checked (compare.require_same_eval_data: off)"


def _named(name: str | None, digest: str | None) -> str:
    shown = f"`{name}`" if name else "a dataset"
    return f"{shown} ({digest[:SHORT_DIGEST]})" if digest else shown


Named = tuple[str | None, str | None]  # (dataset name, digest)


def _input(run: RunSnapshot | None, named: Named) -> DatasetInfo | None:
    """The dataset input of `run` that a metric's (name, digest) points to."""
    if run is None or not named[1]:
        return None
    return next((d for d in run.datasets if d.digest == named[1]), None)


def _differ(a: Named, b: Named, runs: tuple[RunSnapshot | None, RunSnapshot | None]) -> bool:
    """Two (name, digest) pairs name different data: the names differ, or the digests
    do and the runs' inputs with those digests do not hold the same rows."""
    if a[0] and b[0] and a[0] != b[0]:
        return True
    if not (a[1] and b[1] and a[1] != b[1]):
        return False
    mine, theirs = _input(runs[0], a), _input(runs[1], b)
    return mine is None or theirs is None or not same_rows(theirs, mine)


MetricData = Mapping[str, Named]  # metric -> (dataset name, digest)


def _per_metric(
    cand: MetricData,
    prod: MetricData,
    runs: tuple[RunSnapshot | None, RunSnapshot | None] = (None, None),
) -> EvalDataCheck | None:
    shared = sorted(set(cand) & set(prod))
    if not shared:
        return None
    different = [k for k in shared if _differ(cand[k], prod[k], runs)]
    if not different:
        return EvalDataCheck(EvalData.SAME, f"{len(shared)} metrics name the same dataset")
    first = different[0]
    detail = f"`{first}`: candidate on {_named(*cand[first])}, production on {_named(*prod[first])}"
    return EvalDataCheck(EvalData.DIFFERENT, detail, tuple(different))


def eval_datasets(run: RunSnapshot, contexts: Sequence[str]) -> list[DatasetInfo]:
    wanted = {c.lower() for c in contexts}
    return [d for d in run.datasets if (d.context or "").lower() in wanted]


def _listed(datasets: Sequence[DatasetInfo]) -> str:
    return ", ".join(_named(d.name, d.digest) for d in datasets)


def _matched(mine: Sequence[DatasetInfo], theirs: Sequence[DatasetInfo]) -> bool:
    """Every evaluation input of either side has a twin of the same name with the same
    rows on the other (as sets: an input logged twice counts once)."""

    def covered(these: Sequence[DatasetInfo], those: Sequence[DatasetInfo]) -> bool:
        return all(any(t.name == d.name and same_rows(t, d) for t in those) for d in these)

    return covered(mine, theirs) and covered(theirs, mine)


def _compared(
    cand: RunSnapshot, prod: RunSnapshot, contexts: Sequence[str]
) -> tuple[list[DatasetInfo], list[DatasetInfo]]:
    """The inputs of the first evaluation context both runs name; else all of each."""
    for context in contexts:
        mine, theirs = eval_datasets(cand, (context,)), eval_datasets(prod, (context,))
        if mine and theirs:
            return mine, theirs
    return eval_datasets(cand, contexts), eval_datasets(prod, contexts)


def _by_inputs(cand: RunSnapshot, prod: RunSnapshot, contexts: Sequence[str]) -> EvalDataCheck:
    mine, theirs = _compared(cand, prod, contexts)
    if not mine and not theirs:
        detail = (
            "neither run names its evaluation data: log it with "
            "mlflow.log_input(dataset, context='evaluation')"
        )
        return EvalDataCheck(EvalData.UNKNOWN, detail)
    if not theirs:
        detail = f"only the candidate names its evaluation data ({_listed(mine)})"
        return EvalDataCheck(EvalData.ONE_SIDED, detail)
    if not mine:
        detail = f"only production names its evaluation data ({_listed(theirs)})"
        return EvalDataCheck(EvalData.ONE_SIDED, detail)
    if _matched(mine, theirs):
        return EvalDataCheck(EvalData.SAME, _listed(mine))
    detail = f"candidate on {_listed(mine)}, production on {_listed(theirs)}"
    return EvalDataCheck(EvalData.DIFFERENT, detail)


def check_eval_data(
    cand: RunSnapshot,
    prod: RunSnapshot | None,
    config: CompareConfig,
    metric_data: tuple[MetricData, MetricData] = ({}, {}),
) -> EvalDataCheck:
    """The comparability of one candidate with production; `metric_data`: the datasets
    the (candidate, production) models' metrics name, when MLflow 3 recorded them."""
    if config.require_same_eval_data is EvalDataRule.OFF:
        return EvalDataCheck(EvalData.UNKNOWN, NOT_CHECKED)
    if prod is None:
        return EvalDataCheck(EvalData.UNKNOWN, "no production run to compare with")
    return _per_metric(*metric_data, (cand, prod)) or _by_inputs(cand, prod, config.eval_contexts)


def worst(checks: Sequence[EvalDataCheck]) -> EvalDataCheck | None:
    """The check the verdict talks about: a DIFFERENT one first, then ONE_SIDED."""
    for state in (EvalData.DIFFERENT, EvalData.ONE_SIDED):
        found = next((c for c in checks if c.state is state), None)
        if found is not None:
            return found
    return None


def verdict_prefix(checks: Sequence[EvalDataCheck]) -> str:
    """What the verdict line says first when the data differs ("" otherwise)."""
    found = worst(checks)
    return f"{DIFFERENT_DATA}: " if found and found.state is EvalData.DIFFERENT else ""


def apply_rule(
    decision: GateDecision, checks: Sequence[EvalDataCheck], rule: EvalDataRule
) -> GateDecision:
    """`fail`: different evaluation data makes the status `failure` (an ERROR stays)."""
    found = worst(checks)
    if rule is not EvalDataRule.FAIL or found is None or found.state is not EvalData.DIFFERENT:
        return decision
    if decision.state is GateState.ERROR:
        return decision
    return GateDecision(
        GateState.FAILURE,
        GATE_TEXT,
        approved_by=decision.approved_by,
        waiting_for=decision.waiting_for,
        changes_requested_by=decision.changes_requested_by,
        stale=decision.stale,
    )
