"""The Redis work queue (`MODEL_REVIEW_QUEUE=redis://...`), web side: the same jobs as
the in-process queue, run by RQ workers (`model-review worker`, bot.app.queue.redisworker)
on any machine, at least once.

- The webhook enqueues `bot.sharedqueue.perform` by import path, plain JSON arguments
  (event name, payload, delivery id) on one FIFO RQ queue, under a job id made from
  the delivery id, with `rq.Retry`: a job that raises, or whose worker died, runs
  again (after `Tuning.retry_delays`).
- Deliveries are de-duplicated on COMPLETION: the webhook claims a delivery id (and
  its body hash) for the delivery; a later copy is refused while that delivery's job
  waits or runs, or once it finished; a copy of a delivery whose job failed for good
  or vanished (Redis flushed) is queued again, so "Redeliver" recovers a lost review.
- Per pull request: the webhook records the PR's latest delivery id; a job that
  starts and is no longer the latest, and that a later review makes pointless, is
  skipped (superseded). A short lock per PR (bot.app.queue.prlock) runs one job per PR at a
  time on any worker.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.app.queue.jobs import Job, QueueStatus
from bot.constants import DEDUPE_SECONDS

if TYPE_CHECKING:
    from redis import Redis
    from rq import Queue

    from bot.app.settings import Settings

log = logging.getLogger(__name__)

QUEUE_NAME = "model-review"
PREFIX = "model-review:"
JOB_FUNCTION = "bot.sharedqueue.perform"  # a stable name: see bot/sharedqueue.py
JOB_TIMEOUT = 600  # seconds a review may take before RQ stops it
LATEST_TTL = 24 * 3600
RESULT_TTL = 3600
FAILURE_TTL = 7 * 24 * 3600
CLAIM_GRACE = 30.0  # a claim this young whose job is not there yet is being queued
IN_FLIGHT = frozenset({"queued", "started", "scheduled", "deferred"})
CONNECT_TIMEOUT = 5.0  # seconds to connect to Redis
WEB_TIMEOUT = 5.0  # seconds a Redis command of the web side may take


@dataclass(frozen=True)
class Tuning:
    """How fast the queue notices a dead worker and retries; tests shorten it."""

    lease: float = 15.0  # seconds a PR lock and a job's registry entry live unrenewed
    sweep: float = 5.0  # seconds between sweeps for abandoned and due jobs
    retry_delays: tuple[int, ...] = (5, 30, 120)  # one retry per entry
    grace: float = 8.0  # seconds a stopping worker lets its job finish (under 10)

    @property
    def beat(self) -> float:
        return self.lease / 3


def connect(url: str, timeout: float | None = None) -> Redis:
    """A Redis client for `url` (connects at the first command, not here). A connection
    attempt gives up after CONNECT_TIMEOUT; `timeout` bounds every command too (the web
    side answers GitHub within its 10 s; never for a worker, whose wait for a job is
    itself a command that blocks)."""
    from redis import Redis

    return Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT, socket_timeout=timeout)


def unavailable() -> tuple[type[Exception], ...]:
    """The errors of a Redis that does not answer (the webhook answers 503)."""
    from redis.exceptions import ConnectionError as Refused
    from redis.exceptions import TimeoutError as TimedOut

    return (Refused, TimedOut)


def latest_key(job: Job) -> str:
    return f"{PREFIX}latest:{job.key}"


def job_id(delivery_id: str) -> str:
    """The RQ job id of a delivery (RQ allows letters, digits, `_` and `-`)."""
    return "delivery-" + re.sub(r"[^A-Za-z0-9_-]", "_", delivery_id)[:120]


def job_state(connection: Redis, delivery_id: str) -> str | None:
    """The RQ status of a delivery's job ("queued", "started", ...); None when gone."""
    from rq.exceptions import NoSuchJobError
    from rq.job import Job as RqJob

    try:
        status = RqJob.fetch(job_id(delivery_id), connection=connection).get_status()
    except NoSuchJobError:
        return None
    return None if status is None else str(getattr(status, "value", status))


class RedisDeliveries:
    """DeliveryLog in Redis. `claim:{key}` names the delivery that claimed the key;
    `done:{delivery}` marks a delivery whose job completed. Both expire."""

    def __init__(
        self, connection: Redis, ttl: int = DEDUPE_SECONDS, clock: Callable[[], float] = time.time
    ) -> None:
        self._redis = connection
        self._ttl = ttl
        self._clock = clock

    def claim(self, key: str, delivery_id: str) -> bool:
        if self._redis.exists(f"{PREFIX}done:{delivery_id}"):
            return False
        name = f"{PREFIX}claim:{key}"
        value = f"{delivery_id} {self._clock():.3f}"
        if self._redis.set(name, value, nx=True, ex=self._ttl):
            return True
        raw = self._redis.get(name)
        if raw is None:
            return bool(self._redis.set(name, value, nx=True, ex=self._ttl))
        owner, _, since = _text(raw).rpartition(" ")
        if self._alive(owner, float(since or 0)):
            return False
        log.info("delivery %s: its earlier job is gone, queued again", owner)
        self._redis.set(name, value, ex=self._ttl)
        return True

    def _alive(self, owner: str, since: float) -> bool:
        """Whether the claiming delivery completed or its job waits or runs."""
        if self._redis.exists(f"{PREFIX}done:{owner}"):
            return True
        state = job_state(self._redis, owner)
        if state is None:
            return self._clock() - since < CLAIM_GRACE
        return state in IN_FLIGHT

    def release(self, key: str) -> None:
        self._redis.delete(f"{PREFIX}claim:{key}")

    def finish(self, delivery_id: str) -> None:
        """The delivery's job completed: later copies are duplicates."""
        self._redis.set(f"{PREFIX}done:{delivery_id}", "1", ex=self._ttl)


def rq_queue(connection: Redis, name: str = QUEUE_NAME) -> Queue:
    from rq import Queue
    from rq.serializers import JSONSerializer

    return Queue(name, connection=connection, serializer=JSONSerializer)


class RedisQueue:
    """JobQueue on RQ: at most `capacity` jobs wait."""

    def __init__(
        self,
        connection: Redis,
        capacity: int = 100,
        name: str = QUEUE_NAME,
        tuning: Tuning | None = None,
    ) -> None:
        self._redis = connection
        self._capacity = capacity
        self._queue = rq_queue(connection, name)
        self._tuning = tuning or Tuning()

    def submit(self, job: Job) -> bool:
        from rq import Retry

        if self._queue.count >= self._capacity:
            log.warning(
                "queue full (%d jobs): refusing delivery %s", self._queue.count, job.delivery_id
            )
            return False
        if job.supersedes:  # a comment's job may do nothing: it supersedes no review
            self._redis.set(latest_key(job), job.delivery_id, ex=LATEST_TTL)
        delays = list(self._tuning.retry_delays)
        # a retried job is older than the ones waiting: it goes first
        retry = Retry(max=len(delays), interval=delays, enqueue_at_front=True) if delays else None
        self._queue.enqueue(
            JOB_FUNCTION,
            job.event_name,
            dict(job.payload),
            job.delivery_id,
            job_id=job_id(job.delivery_id),
            job_timeout=JOB_TIMEOUT,
            result_ttl=RESULT_TTL,
            failure_ttl=FAILURE_TTL,
            retry=retry,
            description=f"{job.event_name} {job.key} (delivery {job.delivery_id})",
        )
        return True

    def depth(self) -> int:
        return int(self._queue.count)

    def busy(self, key: str) -> bool:
        """A job for the PR waits, is scheduled for a retry, or holds the PR's lock."""
        if self._redis.exists(f"{PREFIX}lock:{key}"):
            return True
        latest = self._redis.get(f"{PREFIX}latest:{key}")
        return latest is not None and job_state(self._redis, _text(latest)) in IN_FLIGHT

    def status(self) -> QueueStatus:
        from bot.app.queue.presence import live_workers

        queue = self._queue
        first = queue.get_job_ids(0, 1)
        waiting = queue.fetch_job(first[0]) if first else None
        oldest = _age(waiting.enqueued_at) if waiting is not None else None
        depth = int(queue.count)
        return QueueStatus(
            depth,
            oldest or 0.0,
            len(live_workers(self._redis)),
            int(queue.failed_job_registry.count),
            full=depth >= self._capacity,
        )


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


def _age(when: datetime | None) -> float | None:
    """Seconds since `when` (RQ's UTC times, naive or aware)."""
    if when is None:
        return None
    aware = when if when.tzinfo else when.replace(tzinfo=UTC)
    return max(0.0, (datetime.now(UTC) - aware).total_seconds())


def tuning_of(settings: Settings) -> Tuning:
    return Tuning(
        lease=settings.lease_seconds,
        sweep=settings.sweep_seconds,
        retry_delays=settings.retry_delays,
    )


def redis_deps(settings: Settings) -> tuple[RedisQueue, RedisDeliveries]:
    connection = connect(settings.queue_url, timeout=WEB_TIMEOUT)
    queue = RedisQueue(connection, settings.queue_size, tuning=tuning_of(settings))
    return queue, RedisDeliveries(connection)
