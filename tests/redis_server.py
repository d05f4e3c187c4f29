"""A throw-away redis-server for the Redis queue tests (tests/conftest.py `redis_url`).

Started on a free localhost port without persistence and stopped afterwards. When
`redis-server` is not installed the tests are skipped, except in CI (`CI=true`),
where they fail: the queue's guarantees must be tested there.
"""

from __future__ import annotations

import gc
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from redis import Redis

START_TIMEOUT = 30.0
# The lease of a queue test's worker whose lock must NOT run out. A worker's lock wants
# half a lease left at each write and is renewed every third of a lease, so a short
# lease (2 s) leaves a third of a second for a busy machine to delay a heartbeat; this
# one leaves five. Only a test about a lease running out uses a shorter one.
STEADY_LEASE = 30.0


@contextmanager
def garbage_kept(redis: Redis) -> Iterator[Callable[[], set[str]]]:
    """Cyclic garbage collection off within the block, so a connection left for the GC
    to close stays open; yields what tells the connections opened since the block
    began and still open (CLIENT LIST)."""
    gc.collect()
    gc.disable()
    try:
        before = {str(c["id"]) for c in redis.client_list()}
        yield lambda: {str(c["id"]) for c in redis.client_list()} - before
    finally:
        gc.enable()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def redis_binary() -> str:
    binary = shutil.which("redis-server")
    if binary is None:
        missing = "redis-server is not installed (apt-get install redis-server; .ci/run does)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{missing}: in CI the Redis tests must run, not skip")
        pytest.skip(missing)
    return binary


@contextmanager
def running_redis(folder: Path) -> Iterator[str]:
    """A redis-server in `folder`; yields its URL."""
    port = free_port()
    command = [redis_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    command += ["--appendonly", "no", "--dir", str(folder)]
    with (folder / "redis.log").open("wb") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        _wait_for(url, proc, folder / "redis.log")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_for(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisDown

    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            with Redis.from_url(url) as client:
                if client.ping():
                    return
        except RedisDown:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"redis-server did not start:\n{log.read_text(errors='replace')}")
        time.sleep(0.05)


class RedisProcess:
    """A redis-server on a fixed port that a test can stop and start again (empty:
    no persistence), for outages."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [redis_binary(), "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.folder)]
        with (self.folder / "redis.log").open("ab") as log:
            self._proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        _wait_for(self.url, self._proc, self.folder / "redis.log")

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None


@contextmanager
def restartable_redis(folder: Path) -> Iterator[RedisProcess]:
    """A RedisProcess, started, and stopped at the end."""
    server = RedisProcess(folder)
    server.start()
    try:
        yield server
    finally:
        server.stop()
