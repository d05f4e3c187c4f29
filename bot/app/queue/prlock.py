"""The per-pull-request lock of the Redis queue: a short lease with a fencing token.

One job per PR runs at a time, on any worker. The lock is a Redis key holding the
holder's token, set with `SET NX PX lease`; the holder's heartbeat renews it every
`lease / 3`, so a worker that dies (SIGKILL, OOM, node loss) frees the PR within one
lease, seconds rather than the job timeout.

Fencing: every token is new (`INCR` of a per-PR counter). Before each write to
GitHub or MLflow the job checks that the lock still holds ITS token and has at least
half a lease left (`Fence.check`). A worker that stalled past its lease (a long GC
pause, a frozen VM, Redis out of reach) finds another token there and stops before
writing: a slow live worker and its replacement never both publish. The check and
the write are two steps; the half-lease margin bounds that window by the time one
GitHub request takes (15 s timeout < default lease / 2).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from redis import Redis

PREFIX = "model-review:"

# KEYS[1] = lock; ARGV[1] = token, ARGV[2] = lease in ms: extend only our own lock
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
# KEYS[1] = lock; ARGV[1] = token: delete only our own lock
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class LockLost(RuntimeError):
    """The job no longer holds its PR's lock: another worker took over."""


class PrLock:
    """The lock of one PR (`key`, e.g. "owner/name#7"), `lease_ms` long."""

    def __init__(self, connection: Redis, key: str, lease_ms: int) -> None:
        self._redis = connection
        self.name = f"{PREFIX}lock:{key}"
        self._counter = f"{PREFIX}fence:{key}"
        self.lease_ms = lease_ms
        self.token: str | None = None

    def acquire(self, wait: float, poll: float = 0.05) -> bool:
        """Take the lock, waiting up to `wait` seconds for its holder; True when held.
        Each attempt draws a new fencing token."""
        deadline = time.monotonic() + wait
        while True:
            token = str(self._redis.incr(self._counter))
            if self._redis.set(self.name, token, nx=True, px=self.lease_ms):
                self.token = token
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(min(poll, max(0.0, deadline - time.monotonic())))

    def renew(self) -> bool:
        """Extend the lease; False when the lock is no longer ours."""
        if self.token is None:
            return False
        return bool(self._redis.eval(_RENEW, 1, self.name, self.token, str(self.lease_ms)))

    def check(self) -> None:
        """The fence: raise LockLost unless the lock is ours with half a lease left."""
        with self._redis.pipeline() as pipe:
            pipe.get(self.name)
            pipe.pttl(self.name)
            holder, left = pipe.execute()
        mine = holder is not None and holder.decode() == self.token
        if not mine or int(left) < self.lease_ms // 2:
            raise LockLost(f"{self.name} is no longer held by token {self.token}")

    def release(self) -> None:
        if self.token is not None:
            self._redis.eval(_RELEASE, 1, self.name, self.token)
            self.token = None


class Heartbeat:
    """Calls `beat` every `interval` seconds in a daemon thread until stopped; stops
    by itself when `beat` returns False (the lease is lost)."""

    def __init__(self, beat: Callable[[], bool], interval: float) -> None:
        self._beat = beat
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="model-review-heartbeat", daemon=True
        )

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(self._interval + 5)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                if not self._beat():
                    return
            except Exception:  # Redis out of reach: the fence stops the writes
                continue
