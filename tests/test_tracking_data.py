"""bot.tracking.data: the pure helpers of the MLflow adapter.

Translation is exercised with MLflow's own entity classes (what the client hands
the adapter); the round trip through a real server is in tests/test_tracking.py.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mlflow.entities.model_registry import ModelVersion

from bot.domain import ArtifactInfo
from bot.errors import TrackingError
from bot.tracking.data import (
    CLIENT_ENV_DEFAULTS,
    aliases_by_version,
    artifact_page,
    bulk_history,
    check_relative,
    configure_client_env,
    even_sample,
    in_list,
    model_version,
    newest_version,
    proxied_artifact,
    valid_ids,
)

values = st.floats(allow_nan=True, allow_infinity=False, width=32)
histories = st.lists(st.tuples(st.integers(0, 10**6), values), max_size=300).map(
    lambda pts: list({s: (s, v) for s, v in pts}.values())  # one value per step
)


@given(histories, st.integers(1, 60))
def test_even_sample_keeps_ends_and_extremes_within_budget(
    points: list[tuple[int, float]], max_points: int
) -> None:
    out = even_sample(points, max_points)
    ordered = sorted(points)

    assert len(out) == min(len(points), max_points)
    assert out == sorted(out) and set(out) <= set(points)
    if ordered:
        assert out[-1] == ordered[-1]
    if ordered and max_points >= 2:
        assert out[0] == ordered[0]
    finite = [v for _, v in points if not math.isnan(v)]
    if finite and max_points >= 4:
        kept = [v for _, v in out]
        assert min(finite) in kept and max(finite) in kept


def test_valid_ids_drop_anything_that_could_change_a_filter() -> None:
    good = "0123456789abcdef0123456789abcdef"
    ids = [good, "x' OR '1'='1", "run id", "", "a)", good, "databricks-run_1"]

    assert valid_ids(ids) == [good, "databricks-run_1"]
    assert in_list(valid_ids(ids)) == f"('{good}', 'databricks-run_1')"


@pytest.mark.parametrize("path", ["", "/etc/passwd", "../up", "a/../../b", "a\\b"])
def test_check_relative_refuses_paths_leaving_the_run(path: str) -> None:
    with pytest.raises(TrackingError, match="not a relative path"):
        check_relative(path)


def test_check_relative_accepts_nested_paths() -> None:
    check_relative("plots/roc curve.png")
    check_relative("a..b/c.txt")


def test_model_version_translation() -> None:
    mv = ModelVersion(
        name="fraud", version="4", creation_timestamp=1, current_stage="None",
        source="models:/m-0123456789abcdef0123456789abcdef", run_id="r1", aliases=["b", "a"],
    )  # fmt: skip

    info = model_version(mv)

    assert (info.name, info.version, info.run_id, info.stage) == ("fraud", "4", "r1", None)
    assert info.aliases == ("a", "b")
    assert info.model_id == "m-0123456789abcdef0123456789abcdef"
    assert model_version(mv, ["production"]).aliases == ("production",)


def test_aliases_by_version() -> None:
    assert aliases_by_version({"production": "3", "blue": 3, "canary": "4"}) == {
        "3": ["production", "blue"],
        "4": ["canary"],
    }
    assert aliases_by_version(None) == {}


def test_newest_version_of_a_stage_whatever_its_case() -> None:
    def version(number: str, stage: str | None) -> ModelVersion:
        return ModelVersion("fraud", number, 1, current_stage=stage)

    latest = [version("3", "Staging"), version("12", "Production"), version("9", None)]
    assert newest_version(latest, "production").version == "12"
    assert newest_version(latest, None).version == "12"
    assert newest_version(latest[:1], "Production") is None
    assert newest_version([], None) is None


def test_bulk_history_groups_points_by_run_within_the_limit() -> None:
    metrics = [{"run_id": "a", "step": s, "value": s / 10} for s in range(9, -1, -1)]
    metrics.append({"run_id": "b", "value": 1})  # MLflow leaves out step 0
    found = bulk_history({"metrics": metrics}, 4)
    assert found["b"] == [(0, 1.0)]
    assert len(found["a"]) == 4 and found["a"][0] == (0, 0.0) and found["a"][-1] == (9, 0.9)
    assert bulk_history({}, 4) == {}


def test_artifact_page_reads_files_and_the_next_token() -> None:
    body = {
        "files": [{"path": "plots", "is_dir": True}, {"path": "m.pkl", "file_size": "42"}],
        "next_page_token": "t2",
    }
    assert artifact_page(body) == (
        [ArtifactInfo("plots", True, None), ArtifactInfo("m.pkl", False, 42)],
        "t2",
    )
    assert artifact_page({}) == ([], "")


def test_proxied_artifact_only_for_this_servers_artifact_store() -> None:
    assert proxied_artifact("mlflow-artifacts:/1/abc/artifacts", "plots/roc curve.png") == (
        "/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts/plots/roc%20curve.png"
    )
    assert proxied_artifact("mlflow-artifacts://other:5000/1/abc", "x.png") is None
    assert proxied_artifact("s3://bucket/1/abc/artifacts", "x.png") is None


def test_configure_client_env_keeps_what_the_user_set() -> None:
    env = {"MLFLOW_HTTP_REQUEST_TIMEOUT": "300", "MLFLOW_HTTP_REQUEST_MAX_RETRIES": " "}

    configure_client_env(env)

    assert env["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "300"
    assert (
        env["MLFLOW_HTTP_REQUEST_MAX_RETRIES"]
        == CLIENT_ENV_DEFAULTS["MLFLOW_HTTP_REQUEST_MAX_RETRIES"]
    )
    assert env["MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR"] == "1"
    assert env["MLFLOW_DISABLE_TELEMETRY"] == "true"
