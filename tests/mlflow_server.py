"""A real MLflow tracking server (sqlite store, proxied artifacts) for the test suite's
session fixture and for the benchmarks.

Started in its own process group on a free loopback port and stopped as a group.
Nothing happens at import time, and mlflow itself is not imported here.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

START_TIMEOUT = 300.0  # seconds; /health answers after ~5 s idle, minutes on a loaded machine


def free_port() -> int:
    """A localhost TCP port nobody listens on (for a server, or a dead address)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class MlflowServer:
    uri: str
    folder: Path

    @property
    def db_path(self) -> Path:
        return self.folder / "mlflow.db"


def _healthy(uri: str) -> bool:
    try:
        with urllib.request.urlopen(f"{uri}/health", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _stop(proc: subprocess.Popen[bytes]) -> None:
    for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        if proc.poll() is not None:
            break
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=wait)
    proc.wait()
    with contextlib.suppress(ProcessLookupError):  # a worker may outlive the leader
        os.killpg(proc.pid, signal.SIGKILL)


@contextlib.contextmanager
def running_server(folder: Path, port: int | None = None) -> Iterator[MlflowServer]:
    """`mlflow server` on 127.0.0.1 with a sqlite backend in `folder`; on `port` (a
    free one when None: give the same folder and port to start it again after a stop)."""
    folder.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    uri = f"http://127.0.0.1:{port}"
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
        # registry webhooks to the App under test on 127.0.0.1 (plain http), seen at once
        "MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS": "true",
        "MLFLOW_WEBHOOK_ALLOWED_SCHEMES": "http,https",
        "MLFLOW_WEBHOOK_CACHE_TTL": "0",
    }
    env.pop("MLFLOW_TRACKING_URI", None)
    log = folder / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=env,
            cwd=folder, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _healthy(uri):
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
                raise RuntimeError(f"mlflow server did not start; log tail:\n{tail}")
            time.sleep(0.25)
        yield MlflowServer(uri, folder)
    finally:
        _stop(proc)
