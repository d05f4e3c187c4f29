"""The web process as deployed: real gunicorn with the deployed settings
(deploy/gunicorn.conf.py), the App on a REAL redis-server.

On SIGTERM, a delivery is held in flight without sleeping: it is sent with `Expect: 100-continue`,
gunicorn's `100 Continue` says a worker thread has it, and its body is sent only once
SIGTERM has reached gunicorn and its worker stopped accepting connections (a file the
worker writes then, from the test's own gunicorn hook). Deadlines are generous bounds
on waiting, never assertions on elapsed time.

With two processes and PROMETHEUS_MULTIPROC_DIR, `/metrics` adds up both, from zero at
each start.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from redis import Redis

from bot.app.queue.redisqueue import job_state
from bot.app.webhook import signature_for
from tests import github_payloads as gp
from tests.app_env import ENV, SECRET
from tests.mlflow_server import free_port

ROOT = Path(__file__).resolve().parents[1]
DEPLOYED = ROOT / "deploy" / "gunicorn.conf.py"
WAIT = 120.0  # generous bound on waiting on a busy machine; never a timing assertion

# The deployed settings, plus a file the worker writes once it stops accepting
# connections after SIGTERM (gunicorn's gthread worker, `set_accept_enabled(False)`
# while no longer alive).
TEST_CONF = """
import os, runpy
from pathlib import Path

globals().update(
    (k, v) for k, v in runpy.run_path(os.environ["DEPLOYED_CONF"]).items() if k[0] != "_"
)

def post_worker_init(worker):
    accept = worker.set_accept_enabled

    def noted(enabled):
        accept(enabled)
        if not enabled and not worker.alive:
            Path(os.environ["DRAINING_FILE"]).touch()

    worker.set_accept_enabled = noted
"""


def wait_until(check: Any, what: str) -> Any:
    deadline = time.monotonic() + WAIT
    while not (found := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return found


def answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


@contextlib.contextmanager
def serving(
    conf: Path, redis_url: str, tmp_path: Path, workers: int = 1, **env: str
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """gunicorn serving the App (the Redis queue) on a free port, with `conf`."""
    port = free_port()
    environment = {**os.environ, **ENV, "MODEL_REVIEW_QUEUE": redis_url, **env}
    command = [
        str(Path(sys.executable).parent / "gunicorn"), "-c", str(conf),
        "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "bot.webhook:create_app()",
    ]  # fmt: skip
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=log, stderr=log)
        try:
            wait_until(lambda: answers(port) or proc.poll() is not None, "gunicorn to answer")
            assert proc.poll() is None, log_path.read_text()
            yield proc, port
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


@pytest.fixture
def gunicorn(redis_url: str, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """One gunicorn process with the deployed settings and the test's drain hook."""
    conf = tmp_path / "gunicorn.conf.py"
    conf.write_text(TEST_CONF)
    draining = str(tmp_path / "draining")
    with serving(
        conf, redis_url, tmp_path, DEPLOYED_CONF=str(DEPLOYED), DRAINING_FILE=draining
    ) as running:
        yield running


def signed(delivery: str, number: int = 2) -> tuple[bytes, dict[str, str]]:
    """A pull_request delivery's body and GitHub's headers for it."""
    payload = gp.webhook("pull_request", "synchronize")
    payload["number"] = payload["pull_request"]["number"] = number
    body = json.dumps(payload).encode()
    return body, {
        "Content-Type": "application/json",
        "X-GitHub-Event": "pull_request",
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": signature_for(SECRET, body),
    }


def held_delivery(port: int, delivery: str) -> tuple[socket.socket, bytes]:
    """A signed pull_request delivery whose headers are sent and taken by a worker
    thread (gunicorn answered `100 Continue`); its body is returned, not sent."""
    body, headers = signed(delivery)
    lines = [f"{k}: {v}" for k, v in headers.items()]
    head = "\r\n".join(
        ["POST /webhook HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}",
         "Expect: 100-continue", *lines, "", ""]
    )  # fmt: skip
    conn = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    conn.sendall(head.encode())
    interim = b""
    while not interim.endswith(b"\r\n\r\n"):
        chunk = conn.recv(1)
        assert chunk, f"the connection closed before 100 Continue: {interim!r}"
        interim += chunk
    assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
    return conn, body


def read_answer(conn: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (b"" when reset)."""
    received = b""
    try:
        while chunk := conn.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    return received


def test_sigterm_lets_a_delivery_in_flight_finish_and_takes_no_new_connection(
    gunicorn: tuple[subprocess.Popen[bytes], int], redis: Redis, tmp_path: Path
) -> None:
    proc, port = gunicorn
    held, body = held_delivery(port, "d-in-flight")

    proc.send_signal(signal.SIGTERM)
    draining = tmp_path / "draining"
    wait_until(lambda: draining.exists() or proc.poll() is not None, "the worker to drain")
    try:  # a connection after SIGTERM: never served (the listener is closed, or the
        # worker no longer accepts and the kernel resets the connection at its exit)
        late: socket.socket | None = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
        late.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    except ConnectionRefusedError:
        late = None

    held.sendall(body)
    answer = read_answer(held)
    held.close()
    head, _, text = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 202"), answer
    length = next(
        int(line.split(b":")[1]) for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )  # fmt: skip
    assert len(text) == length and json.loads(text)["delivery"] == "d-in-flight"
    assert proc.wait(WAIT) == 0
    assert job_state(redis, "d-in-flight") == "queued"  # the delivery is not lost

    if late is not None:
        assert read_answer(late) == b""
        late.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    assert (tmp_path / "draining").exists()  # the delivery was answered while draining


def test_metrics_of_several_gunicorn_processes_add_up_from_zero_at_each_start(
    redis_url: str, redis: Redis, tmp_path: Path
) -> None:
    """Two gunicorn processes with the deployed settings and PROMETHEUS_MULTIPROC_DIR:
    a scrape counts the deliveries of both, and none of an earlier start (the
    settings empty the directory when gunicorn starts)."""
    from prometheus_client.parser import text_string_to_metric_families

    folder = tmp_path / "metrics"
    folder.mkdir()
    earlier = (
        "from bot.app import metrics\nfor _ in range(5): metrics.delivery('pull_request', 'queued')"
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    subprocess.run([sys.executable, "-c", earlier], cwd=ROOT, env=env, check=True)
    assert list(folder.glob("counter_*.db"))  # what an earlier start left

    with serving(
        DEPLOYED, redis_url, tmp_path, workers=2, PROMETHEUS_MULTIPROC_DIR=str(folder)
    ) as (
        _,
        port,
    ):
        for number in range(1, 7):
            body, headers = signed(f"d-multi-{number}", number)
            sent = urllib.request.Request(
                f"http://127.0.0.1:{port}/webhook", data=body, headers=headers
            )
            with urllib.request.urlopen(sent, timeout=WAIT) as answer:
                assert answer.status == 202
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=WAIT) as answer:
            text = answer.read().decode()
    queued = [
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "model_review_deliveries_total"
        and sample.labels == {"event": "pull_request", "outcome": "queued"}
    ]
    assert queued == [6]
