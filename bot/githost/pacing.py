"""Pacing of GitHub writes, the way GitHub asks for it and no slower.

GitHub's REST best practices ask integrations to make requests one at a time and,
"if you are making a large number of POST, PATCH, PUT, or DELETE requests", to wait
at least a second between them; content creation is limited to 80 requests a minute
(docs.github.com/rest/guides/best-practices-for-using-the-rest-api, .../rate-limits).
Reads have no such rule. A review writes a handful of times (comment, status,
reviewers, and the plots: a blob each, a tree, a commit, the branch), so pacing every
write a second apart made a first review ~15 s slower for nothing (benchmarks/run.py).

`WritePacer` is a token bucket: the first `burst` writes go out at once, then one
every `interval` seconds as the bucket refills. No minute can hold more than
`burst + 60 / interval` writes: 80 with the defaults, GitHub's per-minute limit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

WRITE_BURST = 20  # writes sent without waiting; one review needs fewer
SECONDS_PER_WRITE = 1.0  # the sustained pace once the burst is spent


class WritePacer:
    """Call `wait()` before each write; it sleeps only once the burst is spent."""

    def __init__(
        self,
        burst: int = WRITE_BURST,
        interval: float = SECONDS_PER_WRITE,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if burst < 1 or interval <= 0:
            raise ValueError("a write pacer needs burst >= 1 and interval > 0")
        self.burst = burst
        self.interval = interval
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(burst)
        self._at = clock()
        self._lock = threading.Lock()  # threads of one process share the budget

    def wait(self) -> float:
        """Take one write from the budget, sleeping until there is one; the seconds slept."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._at) / self.interval)
            self._at = now
            delay = 0.0
            if self._tokens < 1:
                delay = (1 - self._tokens) * self.interval
                self._sleep(delay)
                self._tokens, self._at = 1.0, now + delay
            self._tokens -= 1
            return delay
