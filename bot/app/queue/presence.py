"""Which `model-review worker`s are alive: a heartbeat key per worker in Redis.

Each worker writes `model-review:worker:{name}`
(its host name, process id and a random part)
with a TTL of PRESENCE_TTL seconds at every RQ heartbeat: while idle (every ~30 s,
between two waits for a job), during a job (every `lease / 3`), and at once when Redis
answers again after an outage, so a restarted Redis (empty) sees its workers again
within one heartbeat. The web process counts the keys for `/readyz` (reported, not
required); `model-review worker --check` (the worker pod's probe) exits 0 when a
worker of this host has beaten within the TTL.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Mapping
from typing import Any

PRESENCE = "model-review:worker:"  # under bot.app.queue.redisqueue.PREFIX
PRESENCE_TTL = 60  # "seen in the last minute"; an idle worker beats every ~30 s
CHECK_TIMEOUT = 5.0  # seconds the probe waits for Redis

ALIVE = "worker alive: {name}"
NOT_SEEN = "no worker of host {host} has reported in the last {ttl} s"
NO_QUEUE = "MODEL_REVIEW_QUEUE is not set: there is no worker to check"
NO_REDIS = "Redis does not answer: {error}"


def worker_name(host: str | None = None, pid: int | None = None) -> str:
    """A new worker's name: its host (the pod's name on Kubernetes), process id and a
    random part (several workers may share a process in tests)."""
    return f"{host or socket.gethostname()}.{pid or os.getpid()}.{uuid.uuid4().hex[:6]}"


def host_of(name: str) -> str:
    return name.rsplit(".", 2)[0]


def beat(connection: Any, name: str) -> None:
    """Say `name` is alive for the next PRESENCE_TTL seconds (a client or a pipeline)."""
    connection.set(PRESENCE + name, "1", ex=PRESENCE_TTL)


def gone(connection: Any, name: str) -> None:
    """The worker stopped: it no longer counts."""
    connection.delete(PRESENCE + name)


def live_workers(connection: Any) -> list[str]:
    """The names of the workers that beat within PRESENCE_TTL."""
    keys = connection.scan_iter(match=f"{PRESENCE}*", count=500)
    return sorted(_text(key)[len(PRESENCE) :] for key in keys)


def check(env: Mapping[str, str], host: str | None = None) -> tuple[bool, str]:
    """`model-review worker --check`: whether a worker of this host is alive, and why."""
    url = env.get("MODEL_REVIEW_QUEUE", "").strip()
    if not url:
        return False, NO_QUEUE
    host = host or socket.gethostname()
    try:
        from redis import Redis

        connection = Redis.from_url(
            url, socket_connect_timeout=CHECK_TIMEOUT, socket_timeout=CHECK_TIMEOUT
        )
        mine = [n for n in live_workers(connection) if host_of(n) == host]
    except Exception as exc:  # any failure to ask is a failed probe
        return False, NO_REDIS.format(error=exc)
    if not mine:
        return False, NOT_SEEN.format(host=host, ttl=PRESENCE_TTL)
    return True, ALIVE.format(name=", ".join(mine))


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


def run_check(env: Mapping[str, str]) -> int:
    """`model-review worker --check`: prints why, exits 0 (alive) or 1."""
    alive, why = check(env)
    print(why)
    return 0 if alive else 1
