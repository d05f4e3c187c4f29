"""bot.tracking.errors: what MLflow's failures mean and the errors they become.

Exceptions are MLflow's own (what its client raises); the adapter's use of them
against a real server is in tests/test_tracking.py.
"""

from __future__ import annotations

import requests
from mlflow.exceptions import MlflowException, RestException

from bot.errors import TrackingError
from bot.tracking.errors import (
    DETAIL_CHARS,
    Missing,
    detail,
    error_for,
    is_connection_error,
    is_missing,
    is_transient,
    not_found,
    status_of,
)

SHOWN = "http://mlflow.test:5000"


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


def wrapped_connection_error() -> MlflowException:
    try:
        try:
            raise requests.ConnectionError("refused")
        except requests.ConnectionError:
            raise MlflowException("API request failed") from None
    except MlflowException as wrapped:
        return wrapped


def test_connection_errors_are_found_through_mlflow_wrapping() -> None:
    assert is_connection_error(wrapped_connection_error())
    assert not is_connection_error(MlflowException("bad request"))


def test_error_for_missing_things_is_missing() -> None:
    found = error_for(RestException({"error_code": "RESOURCE_DOES_NOT_EXIST"}), "reading", SHOWN)
    assert isinstance(found, Missing) and not isinstance(found, TrackingError)


def test_error_for_an_unreachable_server() -> None:
    found = error_for(wrapped_connection_error(), "listing experiments", SHOWN)
    assert isinstance(found, TrackingError)
    assert found.message == f"MLflow at {SHOWN} cannot be reached while listing experiments"
    assert found.hint is not None and "MLFLOW_TRACKING_URI" in found.hint


def test_error_for_a_failing_server_keeps_only_the_first_line() -> None:
    exc = MlflowException("database is locked\nTraceback ...")
    found = error_for(exc, "searching runs", SHOWN)
    assert isinstance(found, TrackingError)
    assert found.message == (
        f"MLflow at {SHOWN} failed while searching runs: INTERNAL_ERROR: database is locked"
    )
    assert found.hint is not None and "server's logs" in found.hint


def test_error_for_a_failing_server_shows_the_code_and_a_short_redacted_message() -> None:
    echo = "Rejected request with Authorization: Bearer tok-123456789 " + "x" * 500
    found = error_for(RestException({"error_code": "BAD_REQUEST", "message": echo}), "x", SHOWN)
    assert isinstance(found, TrackingError)
    detail = found.message.split("failed while x: ", 1)[1]
    assert detail.startswith("BAD_REQUEST: Rejected request with Authorization: Bearer ***")
    assert "tok-123456789" not in detail and len(detail) == DETAIL_CHARS


def test_not_found_points_at_the_uri_and_the_names() -> None:
    err = not_found(Missing("no such run"), "tagging run r1", SHOWN)
    assert err.message == f"MLflow at {SHOWN} found nothing while tagging run r1: no such run"
    assert err.hint is not None and "path prefix" in err.hint


def test_detail_drops_the_response_body_and_bounds_the_length() -> None:
    said = "API request to /x failed with code 500 != 200. Response body: '<html>...'"
    assert detail(MlflowException(said)) == (
        "INTERNAL_ERROR: API request to /x failed with code 500 != 200"
    )
    assert len(detail(ValueError("y" * 1000))) == DETAIL_CHARS


def test_transient_failures_are_told_from_permanent_ones() -> None:
    busy = RestException({"error_code": "TEMPORARILY_UNAVAILABLE", "message": "try later"})
    internal = RestException({"error_code": "INTERNAL_ERROR", "message": "db down"})
    retried = MlflowException("API request failed: too many 503 error responses")
    timed_out = MlflowException("API request failed")
    timed_out.__cause__ = requests.Timeout("read timed out")
    for exc in (wrapped_connection_error(), busy, internal, retried, timed_out):
        found = error_for(exc, "reading", SHOWN)
        assert isinstance(found, TrackingError) and found.transient, exc
    denied = RestException({"error_code": "PERMISSION_DENIED", "message": "no"})
    bad = RestException({"error_code": "INVALID_PARAMETER_VALUE", "message": "bad filter"})
    for exc in (denied, bad):
        found = error_for(exc, "reading", SHOWN)
        assert isinstance(found, TrackingError) and not found.transient, exc
    assert not is_transient(ValueError("x"))


def test_github_errors_are_transient_when_github_was_down_or_busy() -> None:
    from bot.errors import GitHubError

    assert GitHubError("x", status=502).transient
    assert GitHubError("x", status=429).transient
    assert GitHubError("x", status=403, rate_limited=True).transient
    assert GitHubError("x", unreachable=True).transient
    assert not GitHubError("x", status=403).transient  # a permission: retrying will not help
    assert not GitHubError("x", status=404).transient
    assert not GitHubError("x").transient
