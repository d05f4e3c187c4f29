"""The web process on SIGTERM: real gunicorn with the deployed settings
(deploy/gunicorn.conf.py), the App on a REAL redis-server.

A delivery is held in flight without sleeping: it is sent with `Expect: 100-continue`,
gunicorn's `100 Continue` says a worker thread has it, and its body is sent only once
SIGTERM has reached gunicorn and its worker stopped accepting connections (a file the
worker writes then, from the test's own gunicorn hook). Deadlines are generous bounds
on waiting, never assertions on elapsed time.
"""

from __future__ import annotations

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


@pytest.fixture
def gunicorn(redis_url: str, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """gunicorn serving the App (one process, the Redis queue) on a free port."""
    port = free_port()
    conf = tmp_path / "gunicorn.conf.py"
    conf.write_text(TEST_CONF)
    env = {
        **os.environ, **ENV, "MODEL_REVIEW_QUEUE": redis_url,
        "DEPLOYED_CONF": str(DEPLOYED), "DRAINING_FILE": str(tmp_path / "draining"),
    }  # fmt: skip
    command = [
        str(Path(sys.executable).parent / "gunicorn"), "-c", str(conf),
        "--bind", f"127.0.0.1:{port}", "--workers", "1", "bot.webhook:create_app()",
    ]  # fmt: skip
    log = (tmp_path / "gunicorn.log").open("wb")
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
    try:
        wait_until(lambda: answers(port) or proc.poll() is not None, "gunicorn to answer")
        assert proc.poll() is None, (tmp_path / "gunicorn.log").read_text()
        yield proc, port
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()


def held_delivery(port: int, delivery: str) -> tuple[socket.socket, bytes]:
    """A signed pull_request delivery whose headers are sent and taken by a worker
    thread (gunicorn answered `100 Continue`); its body is returned, not sent."""
    body = json.dumps(gp.webhook("pull_request", "synchronize")).encode()
    head = (
        "POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\n"
        f"X-GitHub-Event: pull_request\r\nX-GitHub-Delivery: {delivery}\r\n"
        f"X-Hub-Signature-256: {signature_for(SECRET, body)}\r\n\r\n"
    )
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
