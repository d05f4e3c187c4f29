"""Intervals end to end against a REAL MLflow server: each source of repeated measures
(child runs, sibling repeats, per-fold steps, per-example evaluation tables), paired and
unpaired, within noise, an absolute bar without production, and the single-run case
unchanged. Runs are logged with MLflow's own client and read back through the adapter;
requests are counted at `requests.Session.send` (mlflow_helpers.RequestLog).
"""

from __future__ import annotations

import json

import pytest
from matrix import row
from mlflow.tracking import MlflowClient
from mlflow_helpers import RequestLog, make_run, register, unique_name

from bot.config.schema import load_config
from bot.domain import Change, MetricRow, ReviewReport
from bot.review import tables
from bot.review.pipeline import ReviewRequest, build_review
from bot.tracking.client import MlflowRuns

CAND = [0.884, 0.879, 0.891, 0.886, 0.881]
PROD = [0.871, 0.874, 0.869, 0.877, 0.866]
COMMIT = "9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a"


def _parent(client: MlflowClient, exp: str, value: float, **kw: object) -> str:
    return make_run(client, exp, params={"depth": 3}, metrics={"accuracy": value}, **kw)  # type: ignore[arg-type]


def _children(
    client: MlflowClient, exp: str, parent: str, values: list[float], seeds: bool = True
) -> None:
    for i, v in enumerate(values):
        params = {"seed": i} if seeds else {}
        make_run(
            client, exp, params=params, metrics={"accuracy": v}, tags={"mlflow.parentRunId": parent}
        )


def _review(
    server: str, client: MlflowClient, cand: str, prod: str | None, config: str = ""
) -> ReviewReport:
    model = unique_name("model")
    if prod is not None:
        register(client, model, prod, aliases=["production"])
    cfg = load_config(f"baseline: {{model: {model}}}\n{config}")
    return build_review(ReviewRequest(texts=[f"runs:/{cand}/model"]), MlflowRuns(server), cfg)


def _row(report: ReviewReport, key: str) -> MetricRow:
    return next(r for r in report.metric_rows if r.key == key)


def _searches(log: RequestLog) -> int:
    return sum(1 for _, path in log.sent if path.endswith("/runs/search"))


def test_child_runs_with_the_same_seeds_are_paired(
    mlflow_server: str, mlflow_client: MlflowClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    exp = unique_name("exp")
    prod, cand = _parent(mlflow_client, exp, 0.87), _parent(mlflow_client, exp, 0.88)
    _children(mlflow_client, exp, prod, PROD)
    _children(mlflow_client, exp, cand, CAND)
    log = RequestLog.install(monkeypatch)
    report = _review(mlflow_server, mlflow_client, cand, prod)
    with_children = _searches(log)
    log.sent.clear()
    _review(mlflow_server, mlflow_client, cand, prod, "uncertainty: {children: false}")
    assert with_children - _searches(log) == 2  # one search per side, no more
    row = _row(report, "accuracy")
    cell = row.cells[0]
    assert cell.spread is not None and cell.spread.n == 5
    assert cell.value == pytest.approx(sum(CAND) / 5)
    assert cell.logged == 0.88  # the parent's own value is noted
    assert row.baseline_spread is not None and row.baseline == pytest.approx(sum(PROD) / 5)
    assert cell.estimate is not None and cell.estimate.method == "paired t"
    assert cell.estimate.significant and cell.change is Change.BETTER
    assert any("child runs" in note for note in report.uncertainty_notes)


def test_children_without_shared_labels_use_welch(
    mlflow_server: str, mlflow_client: MlflowClient
) -> None:
    exp = unique_name("exp")
    prod, cand = _parent(mlflow_client, exp, 0.87), _parent(mlflow_client, exp, 0.88)
    _children(mlflow_client, exp, prod, PROD, seeds=False)
    _children(mlflow_client, exp, cand, CAND, seeds=False)
    cell = _row(_review(mlflow_server, mlflow_client, cand, prod), "accuracy").cells[0]
    assert cell.estimate is not None and cell.estimate.method == "Welch t"
    assert cell.change is Change.BETTER


def test_a_noisy_drop_beyond_threshold_is_within_noise_not_a_regression(
    mlflow_server: str, mlflow_client: MlflowClient
) -> None:
    exp = unique_name("exp")
    prod, cand = _parent(mlflow_client, exp, 0.87), _parent(mlflow_client, exp, 0.86)
    _children(mlflow_client, exp, prod, [0.87, 0.90, 0.84, 0.88, 0.86])
    _children(mlflow_client, exp, cand, [0.85, 0.89, 0.83, 0.88, 0.86])
    report = _review(mlflow_server, mlflow_client, cand, prod, "metrics: {threshold: 0.001}")
    cell = _row(report, "accuracy").cells[0]
    assert cell.estimate is not None and cell.estimate.low < 0 < cell.estimate.high
    assert cell.change is Change.NOISE
    assert report.regressions == 0


def test_sibling_repeats_of_one_commit_against_a_single_production_value(
    mlflow_server: str, mlflow_client: MlflowClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    exp = unique_name("exp")
    prod = make_run(mlflow_client, exp, params={"depth": 3}, metrics={"accuracy": 0.85})
    ids = [
        make_run(
            mlflow_client,
            exp,
            params={"depth": 5, "seed": i},
            metrics={"accuracy": v},
            commit=COMMIT,
        )
        for i, v in enumerate(CAND)
    ]
    # same commit, another recipe: not a repeat
    make_run(
        mlflow_client, exp, params={"depth": 9, "seed": 0}, metrics={"accuracy": 0.5}, commit=COMMIT
    )
    log = RequestLog.install(monkeypatch)
    report = _review(mlflow_server, mlflow_client, ids[0], prod, "uncertainty: {vary: [seed]}")
    cell = _row(report, "accuracy").cells[0]
    assert cell.spread is not None and cell.spread.n == 5  # the depth-9 run is left out
    assert cell.estimate is not None and cell.estimate.method == "one-sample t"
    assert cell.estimate.delta == pytest.approx(sum(CAND) / 5 - 0.85)
    assert cell.change is Change.BETTER
    with_vary = _searches(log)
    log.sent.clear()
    _review(mlflow_server, mlflow_client, ids[0], prod, "uncertainty: {children: false}")
    assert with_vary - _searches(log) == 2  # one search by commit per side, no more


def test_fold_steps_are_paired_by_step_and_cost_one_history_request_per_key(
    mlflow_server: str, mlflow_client: MlflowClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    exp = unique_name("exp")
    prod = make_run(mlflow_client, exp, history={"cv_auc": PROD, "loss": [0.5, 0.4, 0.3]})
    cand = make_run(mlflow_client, exp, history={"cv_auc": CAND, "loss": [0.5, 0.4, 0.3]})
    log = RequestLog.install(monkeypatch)
    report = _review(
        mlflow_server, mlflow_client, cand, prod, 'uncertainty: {step_samples: ["cv_*"]}'
    )
    histories = [p for _, p in log.sent if "get-history" in p]
    assert len(histories) == 1
    cell = _row(report, "cv_auc").cells[0]
    assert cell.estimate is not None and cell.estimate.method == "paired t"
    assert cell.spread is not None and cell.spread.n == 5
    assert _row(report, "loss").cells[0].estimate is None  # not in step_samples


def _table(rows: list[tuple[str, int, float]]) -> bytes:
    return json.dumps({"columns": ["id", "label", "p"], "data": rows}).encode()


EVAL = "uncertainty:\n  eval_table: {path: eval/predictions.json, label: label, score: p, id: id}"


def test_evaluation_tables_give_a_paired_bootstrap(
    mlflow_server: str, mlflow_client: MlflowClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    exp = unique_name("exp")
    labels = [i % 2 for i in range(400)]
    base_rows = [
        (f"r{i}", y, 0.7 if (y == 1) == (i % 5 != 0) else 0.3) for i, y in enumerate(labels)
    ]
    cand_rows = [
        (f"r{i}", y, 0.7 if (y == 1) == (i % 10 != 0) else 0.3) for i, y in enumerate(labels)
    ]
    prod = make_run(
        mlflow_client,
        exp,
        metrics={"accuracy": 0.8},
        artifacts={"eval/predictions.json": _table(base_rows[::-1])},
    )
    cand = make_run(
        mlflow_client,
        exp,
        metrics={"accuracy": 0.9},
        artifacts={"eval/predictions.json": _table(cand_rows)},
    )
    log = RequestLog.install(monkeypatch)
    report = _review(mlflow_server, mlflow_client, cand, prod, EVAL)
    downloads = [p for _, p in log.sent if "mlflow-artifacts/artifacts" in p and "predictions" in p]
    assert len(downloads) == 2  # one per side
    cell = _row(report, "accuracy").cells[0]
    assert cell.estimate is not None and cell.estimate.method == "McNemar mid-p"
    assert cell.estimate.delta == pytest.approx(0.1)
    assert 0 < cell.estimate.low < 0.1 < cell.estimate.high
    assert cell.change is Change.BETTER and cell.estimate.rows == 400


def test_tables_over_different_rows_are_refused_with_a_line(
    mlflow_server: str, mlflow_client: MlflowClient
) -> None:
    exp = unique_name("exp")
    rows = [(f"r{i}", i % 2, 0.6) for i in range(50)]
    prod = make_run(
        mlflow_client,
        exp,
        metrics={"accuracy": 0.8},
        artifacts={"eval/predictions.json": _table(rows)},
    )
    cand = make_run(
        mlflow_client,
        exp,
        metrics={"accuracy": 0.9},
        artifacts={"eval/predictions.json": _table(rows[5:])},
    )
    report = _review(mlflow_server, mlflow_client, cand, prod, EVAL)
    assert _row(report, "accuracy").cells[0].estimate is None
    assert _row(report, "accuracy").cells[0].change is Change.BETTER  # today's verdict
    assert any(
        "different data" in n and "5 only in production" in n for n in report.uncertainty_notes
    )


def test_an_absolute_bar_is_checked_without_production(
    mlflow_server: str, mlflow_client: MlflowClient
) -> None:
    exp = unique_name("exp")
    cand = make_run(mlflow_client, exp, metrics={"accuracy": 0.81, "latency_ms": 12.0})
    rules = "metrics:\n  rules:\n    accuracy: {min: 0.85}\n    latency_ms: {max: 20}"
    report = _review(mlflow_server, mlflow_client, cand, None, rules)
    assert report.baseline.run is None
    assert _row(report, "accuracy").cells[0].missed == ("below min 0.85",)
    assert _row(report, "latency_ms").cells[0].missed == ()
    assert report.missed_bars == 1


def test_single_runs_keep_todays_verdicts(mlflow_server: str, mlflow_client: MlflowClient) -> None:
    exp = unique_name("exp")
    prod = make_run(mlflow_client, exp, metrics={"accuracy": 0.9, "val_loss": 0.2, "f1": 0.5})
    cand = make_run(mlflow_client, exp, metrics={"accuracy": 0.91, "val_loss": 0.25, "f1": 0.5})
    report = _review(mlflow_server, mlflow_client, cand, prod)
    assert [(r.key, r.cells[0].change) for r in report.metric_rows] == [
        ("val_loss", Change.REGRESSION),
        ("accuracy", Change.BETTER),
        ("f1", Change.SAME),
    ]
    assert all(
        r.cells[0].estimate is None and r.cells[0].spread is None for r in report.metric_rows
    )
    assert report.uncertainty_notes == ()


@row(
    "input",
    "An evaluation table listed above the size cap (192 MB)",
    "Not downloaded (no artifact request): the note names its size and the cap, and the "
    "review goes on without its intervals",
)
def test_a_table_listed_above_the_cap_is_refused_before_download(
    mlflow_server: str, mlflow_client: MlflowClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    exp = unique_name("exp")
    rows = [(f"r{i:07d}", i % 2, 0.6) for i in range(60_000)]  # about 1.5 MB of JSON
    table = {"eval/predictions.json": _table(rows)}
    prod = make_run(mlflow_client, exp, metrics={"accuracy": 0.8}, artifacts=table)
    cand = make_run(mlflow_client, exp, metrics={"accuracy": 0.9}, artifacts=table)
    monkeypatch.setattr(tables, "MAX_TABLE_BYTES", 1 << 20)
    log = RequestLog.install(monkeypatch)
    report = _review(mlflow_server, mlflow_client, cand, prod, EVAL)
    assert not [p for _, p in log.sent if "mlflow-artifacts/artifacts" in p]
    assert _row(report, "accuracy").cells[0].estimate is None
    assert any("is 2 MB, above the 1 MB cap" in n for n in report.uncertainty_notes)
