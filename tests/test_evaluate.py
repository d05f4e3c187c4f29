"""`model-review evaluate` on the REAL MLflow server: two logged scikit-learn models (the
candidate drops a feature) scored on a CSV, the paired table on the candidate run, and
the review's paired intervals checked against the table; the error cases and their exit
codes."""

from __future__ import annotations

from pathlib import Path

import pytest
from matrix import row
from mlflow.tracking import MlflowClient

from bot.cli import main
from bot.config.schema import Config
from bot.domain import ReviewReport
from bot.review import paired, predictions, tables
from bot.review.pipeline import ReviewRequest, build_review
from bot.tracking.client import MlflowRuns
from tests.mlflow_helpers import register
from tests.paired_project import PairedProject, log_paired_project, log_pinned_version


@pytest.fixture(scope="module")
def project(mlflow_server: str) -> PairedProject:
    return log_paired_project(mlflow_server)


def _csv(tmp_path: Path, frame: object, name: str = "holdout.csv") -> str:
    path = tmp_path / name
    frame.to_csv(path, index=False)  # type: ignore[attr-defined]
    return str(path)


def _evaluate(server: str, candidate: str, data: str, *extra: str) -> int:
    return main(
        [
            "evaluate",
            "--candidate",
            candidate,
            "--data",
            data,
            "--target",
            "label",
            "--tracking-uri",
            server,
            *extra,
        ]
    )


def _review(server: str, project: PairedProject) -> ReviewReport:
    request = ReviewRequest(texts=[f"models:/{project.model_name}/2"])
    return build_review(request, MlflowRuns(server), Config())


def test_evaluate_logs_the_paired_table_and_the_review_uses_it(
    mlflow_server: str,
    mlflow_client: MlflowClient,
    project: PairedProject,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = _review(mlflow_server, project)
    assert all(c.estimate is None for r in before.metric_rows for c in r.cells)
    data = _csv(tmp_path, project.holdout)
    code = _evaluate(mlflow_server, f"models:/{project.model_name}/2", data, "--id", "id")
    assert code == 0, capsys.readouterr().err
    assert "paired predictions of 170 rows" in capsys.readouterr().out
    run = mlflow_client.get_run(project.candidate_run)
    assert run.data.tags[predictions.TAG_PRODUCTION] == f"{project.model_name}/1"
    assert run.data.tags[predictions.TAG_ROWS] == "170"
    assert len(run.data.tags[predictions.TAG_DIGEST]) == 64
    raw = MlflowRuns(mlflow_server).download_artifact(project.candidate_run, predictions.PATH)
    wanted = tables.Wanted(("label", "candidate", "production"), "id", ("production_version",))
    table = tables.read_table(raw, predictions.PATH, wanted)
    holdout = project.holdout
    assert table.ids == holdout["id"].tolist()
    assert table.texts["production_version"] == {f"{project.model_name}/1"}
    cand = project.models["candidate"].predict_proba(holdout[["a", "b"]])[:, 1]
    prod = project.models["production"].predict_proba(holdout[["a", "b", "c"]])[:, 1]
    assert table.numbers["candidate"] == pytest.approx(cand, abs=1e-12)
    assert table.numbers["production"] == pytest.approx(prod, abs=1e-12)

    after = _review(mlflow_server, project)
    y = holdout["label"].to_numpy(dtype=float)
    expected = paired.compare(y, cand, prod, list(paired.CLASSIFICATION), paired.Task(True))
    cells = {r.key: r.cells[0].estimate for r in after.metric_rows}
    for key, method in (
        ("accuracy", "McNemar mid-p"),
        ("roc_auc", "DeLong"),
        ("f1", "paired bootstrap"),
        ("log_loss", "paired bootstrap"),
    ):
        found = cells[key]
        assert found is not None and found.method == method and found.rows == 170
        assert (found.delta, found.low, found.high) == pytest.approx(
            (expected[key].delta, expected[key].low, expected[key].high), abs=1e-9
        )
    assert any("paired on 170 rows against production v1" in n for n in after.uncertainty_notes)


def test_a_table_made_against_an_older_production_is_named_stale(
    mlflow_server: str, mlflow_client: MlflowClient, project: PairedProject, tmp_path: Path
) -> None:
    data = _csv(tmp_path, project.holdout)
    assert _evaluate(mlflow_server, f"models:/{project.model_name}/2", data) == 0
    # production moves: the production run registered again, the alias on the new version
    moved = register(mlflow_client, project.model_name, project.production_run, aliases=[])
    mlflow_client.set_registered_model_alias(project.model_name, "production", moved)
    try:
        report = _review(mlflow_server, project)
    finally:
        mlflow_client.set_registered_model_alias(project.model_name, "production", "1")
    assert any(
        "made against production v1 of" in n
        and f"production is now v{moved} of" in n
        and "not used" in n
        for n in report.uncertainty_notes
    ), report.uncertainty_notes
    assert all(c.estimate is None for r in report.metric_rows for c in r.cells)


@row(
    "input",
    "`model-review evaluate` on data with missing labels, repeated ids, or without a "
    "model's input columns",
    "Exit 4, 6 or 5 with a message that counts the rows or names the columns; nothing "
    "is logged to the candidate run",
)
@pytest.mark.parametrize(
    ("change", "code", "words"),
    [
        (
            lambda f: f.assign(label=f["label"].where(f.index % 40 != 3)),
            4,
            "5 rows have no label in `label` (the first is data row 4)",
        ),
        (
            lambda f: f.assign(id=f["id"].where(f.index != 7, f["id"][0])),
            6,
            "1 rows repeat an id of column `id`",
        ),
        (
            lambda f: f.drop(columns=["a", "b", "c"]).assign(x=1.0),
            5,
            "no column of the data is an input of the candidate model",
        ),
        (lambda f: f.drop(columns=["c"]), 5, "the data lacks the production model's inputs: `c`"),
    ],
)
def test_bad_data_gets_its_message_and_exit_code(  # noqa: PLR0917
    mlflow_server: str,
    project: PairedProject,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    change,
    code: int,
    words: str,  # type: ignore[no-untyped-def]
) -> None:
    data = _csv(tmp_path, change(project.holdout.copy()))
    before = MlflowClient(mlflow_server).list_artifacts(project.candidate_run, "model-review")
    assert _evaluate(mlflow_server, f"models:/{project.model_name}/2", data, "--id", "id") == code
    assert words in capsys.readouterr().err
    after = MlflowClient(mlflow_server).list_artifacts(project.candidate_run, "model-review")
    assert [a.file_size for a in after] == [a.file_size for a in before]  # nothing logged


def test_an_unloadable_model_exits_3(
    mlflow_server: str, project: PairedProject, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _csv(tmp_path, project.holdout)
    assert _evaluate(mlflow_server, f"runs:/{project.candidate_run}/no-such-model", data) == 3
    err = capsys.readouterr().err
    assert "the candidate model runs:/" in err and "could not be loaded" in err


def test_a_requirements_mismatch_is_named_and_exits_7(
    mlflow_server: str, project: PairedProject, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    version = log_pinned_version(mlflow_server, project, ["scikit-learn==0.24.2"])
    data = _csv(tmp_path, project.holdout)
    assert _evaluate(mlflow_server, f"models:/{project.model_name}/{version}", data) == 7
    err = capsys.readouterr().err
    assert "warning: the candidate model was logged with scikit-learn 0.24.2 (here: " in err
    assert (
        _evaluate(
            mlflow_server, f"models:/{project.model_name}/{version}", data, "--ignore-requirements"
        )
        == 0
    )
