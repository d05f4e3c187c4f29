"""bot.app.evalset: which logged evaluation datasets `model-review evaluate` can read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.app import evalset
from bot.domain import DatasetInfo, RunSnapshot
from bot.errors import UsageError


def _run(*datasets: DatasetInfo) -> RunSnapshot:
    return RunSnapshot(run_id="r" * 32, experiment_id="1", datasets=datasets)


def _dataset(source: dict[str, str], context: str = "eval", kind: str = "local") -> DatasetInfo:
    return DatasetInfo("holdout", "d1", context, kind, json.dumps(source))


def test_a_local_file_is_read_from_where_it_was_logged(tmp_path: Path) -> None:
    path = tmp_path / "holdout.csv"
    path.write_text("a,label\n1,0\n")
    found = evalset.logged_source(_run(_dataset({"uri": str(path)})))
    assert found.path == path and found.run_id is None


def test_an_artifact_on_the_tracking_server_is_fetched_from_its_run() -> None:
    uri = "mlflow-artifacts:/1/0123456789abcdef0123456789abcdef/artifacts/data/holdout.parquet"
    found = evalset.logged_source(_run(_dataset({"uri": uri}, kind="http")))
    assert (found.run_id, found.artifact) == (
        "0123456789abcdef0123456789abcdef",
        "data/holdout.parquet",
    )


@pytest.mark.parametrize(
    ("datasets", "words"),
    [
        ((), "logged no evaluation dataset"),
        ((_dataset({"uri": "/x.csv"}, context="training"),), "logged no evaluation dataset"),
        (
            (_dataset({"uri": "s3://bucket/holdout.csv"}, kind="s3"),),
            "its source is `s3://bucket/holdout.csv`",
        ),
        ((_dataset({"uri": "/nowhere/holdout.csv"}),), "cannot be loaded from here"),
        ((DatasetInfo("df", "d", "eval", "code", None),), "its source is of type code"),
    ],
)
def test_a_source_that_cannot_be_read_from_here_is_said_plainly(
    datasets: tuple[DatasetInfo, ...], words: str
) -> None:
    with pytest.raises(UsageError, match=words) as caught:
        evalset.logged_source(_run(*datasets))
    assert "--data FILE" in str(caught.value)
