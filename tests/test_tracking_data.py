"""bot.tracking_data: the pure helpers of the MLflow adapter.

Translation is exercised with MLflow's own entity classes (what the client hands
the adapter); the round trip through a real server is in tests/test_tracking.py.
"""

from __future__ import annotations

import math

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException, RestException

from bot.errors import TrackingError
from bot.tracking_data import (
    aliases_by_version,
    check_relative,
    downsample,
    in_list,
    is_connection_error,
    is_missing,
    model_version,
    status_of,
    valid_ids,
)

values = st.floats(allow_nan=True, allow_infinity=False, width=32)
histories = st.lists(st.tuples(st.integers(0, 10**6), values), max_size=300).map(
    lambda pts: list({s: (s, v) for s, v in pts}.values())  # one value per step
)


@given(histories, st.integers(1, 60))
def test_downsample_keeps_ends_and_extremes_within_budget(
    points: list[tuple[int, float]], max_points: int
) -> None:
    out = downsample(points, max_points)
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


def test_errors_are_classified() -> None:
    missing = RestException({"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "no run"})
    no_alias = RestException(
        {"error_code": "INVALID_PARAMETER_VALUE", "message": "Registered model alias x not found."}
    )
    bad_filter = RestException({"error_code": "INVALID_PARAMETER_VALUE", "message": "bad filter"})
    denied = RestException({"error_code": "PERMISSION_DENIED", "message": "no"})

    assert is_missing(missing) and is_missing(no_alias)
    assert not is_missing(bad_filter) and not is_missing(denied)
    assert status_of(denied) == (403, "PERMISSION_DENIED")
    assert status_of(ValueError("x")) == (None, None)


def test_connection_errors_are_found_through_mlflow_wrapping() -> None:
    try:
        try:
            raise requests.ConnectionError("refused")
        except requests.ConnectionError:
            raise MlflowException("API request failed") from None
    except MlflowException as wrapped:
        assert is_connection_error(wrapped)
    assert not is_connection_error(MlflowException("bad request"))


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
