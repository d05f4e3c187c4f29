"""bot.tracking.locations: which artifact locations are read through the tracking server."""

from __future__ import annotations

import pytest

from bot.tracking.locations import ARTIFACTS_ELSEWHERE, SERVE_ARTIFACTS_HINT, elsewhere, served

SERVER = "https://bot:s3cr3t@mlflow.acme.io:5000"


@pytest.mark.parametrize(
    ("location", "read"),
    [
        ("mlflow-artifacts:/1/abc/artifacts", True),  # proxied by the tracking server
        ("mlflow-artifacts://mlflow.acme.io:5000/1/abc", True),  # naming the server itself
        ("mlflow-artifacts://MLFLOW.acme.io:5000/1/abc", True),
        ("mlflow-artifacts://evil.example/1/abc", False),
        ("mlflow-artifacts://mlflow.acme.io:5001/1/abc", False),  # another port, another host
        ("mlflow-artifacts://bot:s3cr3t@mlflow.acme.io:5000/1", False),
        ("http://mlflow.acme.io:5000/api/2.0/mlflow-artifacts/artifacts/1", False),
        ("https://evil.example/artifacts", False),
        ("s3://bucket/1/abc/artifacts", False),
        ("gs://bucket/1", False),
        ("wasbs://c@acct.blob.core.windows.net/1", False),
        ("dbfs:/databricks/mlflow-tracking/1", False),
        ("/srv/mlruns/1/abc/artifacts", False),  # the server's disk, not ours
    ],
)
def test_a_tracking_server_reads_only_the_artifacts_it_serves(location: str, read: bool) -> None:
    assert served(location, SERVER, rest=True) is read


@pytest.mark.parametrize(
    ("location", "read"),
    [
        ("/tmp/mlruns/1/abc/artifacts", True),
        ("file:///tmp/mlruns/1/abc/artifacts", True),
        ("file://localhost/tmp/mlruns/1", True),
        ("file://fileserver/share/1", False),
        ("s3://bucket/1", False),
        ("mlflow-artifacts:/1/abc", False),
    ],
)
def test_a_local_store_reads_only_local_folders(location: str, read: bool) -> None:
    assert served(location, "sqlite:///tmp/mlflow.db", rest=False) is read


def test_the_refusal_says_what_was_skipped_and_how_to_serve_artifacts() -> None:
    error = elsewhere("reading an MLmodel file")
    assert str(error).startswith(ARTIFACTS_ELSEWHERE)
    assert error.hint == SERVE_ARTIFACTS_HINT and "--serve-artifacts" in SERVE_ARTIFACTS_HINT
