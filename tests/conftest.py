"""Session fixtures: a REAL MLflow tracking server for the adapter and end-to-end tests.

`mlflow_server` starts `mlflow server` (sqlite backend, proxied artifacts) from the
same virtualenv as the tests on a free localhost port, once per session, and stops
its whole process group at the end. Create runs with `mlflow_client` and the helpers
in tests/mlflow_helpers.py; keep tests apart with `mlflow_helpers.unique_name(prefix)`
(the server is shared). mlflow is imported only by the fixtures that need it, so
tests without MLflow do not pay for it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

START_TIMEOUT = 60.0  # seconds; /health usually answers after 4-5 s, more on a busy box
# Bounded client behaviour for the whole session: a dead server fails in seconds.
CLIENT_ENV = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "0",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
    "MLFLOW_DISABLE_TELEMETRY": "true",
}


def _healthy(uri: str) -> bool:
    try:
        with urllib.request.urlopen(f"{uri}/health", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _log_tail(path: Path, lines: int = 40) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the server's whole process group (uvicorn and its worker)."""
    for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        if proc.poll() is not None:
            break
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
    proc.wait()
    with contextlib.suppress(ProcessLookupError):  # a worker may outlive the leader
        os.killpg(proc.pid, signal.SIGKILL)


def _start(folder: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "mlflow", "server",
        "--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}",
        "--artifacts-destination", str(folder / "artifacts"),
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ]  # fmt: skip
    env = {
        **os.environ,
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        "MLFLOW_DISABLE_TELEMETRY": "true",
    }
    env.pop("MLFLOW_TRACKING_URI", None)
    with log.open("wb") as out:
        return subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=env,
            cwd=folder, start_new_session=True,
        )  # fmt: skip


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The tracking URI (`http://127.0.0.1:<port>`) of a real MLflow server."""
    from mlflow_helpers import free_port

    folder = tmp_path_factory.mktemp("mlflow-server")
    log = folder / "server.log"
    port = free_port()
    uri = f"http://127.0.0.1:{port}"
    proc = _start(folder, port, log)
    session_env = pytest.MonkeyPatch()
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _healthy(uri):
            if proc.poll() is not None or time.monotonic() > deadline:
                why = "exited" if proc.poll() is not None else f"not healthy after {START_TIMEOUT}s"
                raise RuntimeError(f"mlflow server {why}; log tail:\n{_log_tail(log)}")
            time.sleep(0.25)
        for key, value in CLIENT_ENV.items():
            session_env.setenv(key, value)
        yield uri
    finally:
        session_env.undo()
        _stop(proc)


@pytest.fixture
def mlflow_client(mlflow_server: str) -> MlflowClient:
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=mlflow_server)


@pytest.fixture
def tracking_env(mlflow_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """MLFLOW_TRACKING_URI and bounded client settings, for code that reads the
    environment (entry points); returns the tracking URI."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    for key, value in CLIENT_ENV.items():
        monkeypatch.setenv(key, value)
    return mlflow_server


def pytest_addoption(parser: pytest.Parser) -> None:
    """`--update-golden` rewrites tests/golden/* (same as UPDATE_GOLDEN=1)."""
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite the golden files of rendered comments instead of comparing",
    )
