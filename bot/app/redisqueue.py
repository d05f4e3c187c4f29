"""The Redis work queue (`MODEL_REVIEW_QUEUE=redis://...`): the same jobs as the
in-process queue, run by RQ workers (`model-review worker`) on any machine.

- The webhook enqueues `bot.sharedqueue.perform` (this perform) by import path, plain JSON
  arguments (event name, payload, delivery id) on one FIFO RQ queue.
- Delivery ids are claimed with `SET NX EX` (3 days), so a delivery is queued once
  whichever web process receives it.
- Per pull request: the webhook records the PR's latest delivery id; a job that
  starts and is no longer the latest, and that a later review makes pointless, is
  skipped (superseded). A Redis lock per PR makes jobs for one PR run one at a time
  even with many workers; with one FIFO queue they start in order.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from bot.app.jobs import Handler, Job, JobRunner
from bot.app.logcontext import delivery_context, setup_logging
from bot.app.settings import Settings
from bot.constants import DEDUPE_SECONDS
from bot.errors import UsageError

if TYPE_CHECKING:
    from redis import Redis
    from rq import Queue, SimpleWorker


log = logging.getLogger(__name__)

QUEUE_NAME = "model-review"
PREFIX = "model-review:"
JOB_FUNCTION = "bot.sharedqueue.perform"  # a stable name: see bot/sharedqueue.py
JOB_TIMEOUT = 600  # seconds a review may take before RQ stops it
LOCK_WAIT = JOB_TIMEOUT + 60  # how long a job waits for the PR's running one
LATEST_TTL = 24 * 3600
RESULT_TTL = 3600
FAILURE_TTL = 7 * 24 * 3600

_runner: Handler | None = None  # the worker process's job runner (see `configure`)


def connect(url: str) -> Redis:
    """A Redis client for `url` (connects at the first command, not here)."""
    from redis import Redis

    return Redis.from_url(url)


def latest_key(job: Job) -> str:
    return f"{PREFIX}latest:{job.key}"


def lock_key(job: Job) -> str:
    return f"{PREFIX}lock:{job.key}"


class RedisDeliveries:
    """DeliveryLog in Redis: one key per delivery id, `SET NX` with an expiry."""

    def __init__(self, connection: Redis, ttl: int = DEDUPE_SECONDS) -> None:
        self._redis = connection
        self._ttl = ttl

    def claim(self, delivery_id: str) -> bool:
        return bool(self._redis.set(f"{PREFIX}delivery:{delivery_id}", "1", nx=True, ex=self._ttl))

    def release(self, delivery_id: str) -> None:
        self._redis.delete(f"{PREFIX}delivery:{delivery_id}")


def rq_queue(connection: Redis, name: str = QUEUE_NAME) -> Queue:
    from rq import Queue
    from rq.serializers import JSONSerializer

    return Queue(name, connection=connection, serializer=JSONSerializer)


class RedisQueue:
    """JobQueue on RQ: at most `capacity` jobs wait."""

    def __init__(self, connection: Redis, capacity: int = 100, name: str = QUEUE_NAME) -> None:
        self._redis = connection
        self._capacity = capacity
        self._queue = rq_queue(connection, name)

    def submit(self, job: Job) -> bool:
        if self._queue.count >= self._capacity:
            log.warning(
                "queue full (%d jobs): refusing delivery %s", self._queue.count, job.delivery_id
            )
            return False
        self._redis.set(latest_key(job), job.delivery_id, ex=LATEST_TTL)
        self._queue.enqueue(
            JOB_FUNCTION,
            job.event_name,
            dict(job.payload),
            job.delivery_id,
            job_timeout=JOB_TIMEOUT,
            result_ttl=RESULT_TTL,
            failure_ttl=FAILURE_TTL,
            description=f"{job.event_name} {job.key} (delivery {job.delivery_id})",
        )
        return True

    def depth(self) -> int:
        return int(self._queue.count)


def redis_deps(settings: Settings) -> tuple[RedisQueue, RedisDeliveries]:
    connection = connect(settings.queue_url)
    return RedisQueue(connection, settings.queue_size), RedisDeliveries(connection)


# --- the worker side ------------------------------------------------------------------


def configure(runner: Handler | None) -> None:
    """Set the job runner of this worker process (None: built from the environment
    at the first job)."""
    global _runner  # noqa: PLW0603 (one runner per worker process, caches inside)
    _runner = runner


def _current_runner() -> Handler:
    if _runner is None:
        configure(JobRunner(Settings.from_env(os.environ)))
    assert _runner is not None
    return _runner


def perform(event_name: str, payload: Mapping[str, Any], delivery_id: str) -> str:
    """The RQ job: wait for the PR's lock, skip when superseded, else run the job.
    Returns "done" or "superseded"; a failure is logged and raised (RQ records it)."""
    from rq import get_current_job

    job = Job(event_name, payload, delivery_id)
    current = get_current_job()
    if current is None:
        raise RuntimeError("perform() runs inside an RQ worker (model-review worker)")
    connection: Redis = current.connection
    lock = connection.lock(lock_key(job), timeout=LOCK_WAIT, blocking_timeout=LOCK_WAIT)
    with delivery_context(delivery_id), lock:
        latest = connection.get(latest_key(job))
        newer = latest.decode() if isinstance(latest, bytes) else None
        if job.supersedable and newer not in (None, delivery_id):
            log.info("%s: superseded by delivery %s", job.key, newer)
            return "superseded"
        try:
            _current_runner()(job)
        except Exception:
            log.exception("delivery %s (%s) crashed", delivery_id, job.key)
            raise
    return "done"


def make_worker(connection: Redis, name: str = QUEUE_NAME) -> SimpleWorker:
    """An RQ worker that runs jobs in its own process (no fork per job, so the App's
    tokens stay cached) with thread-safe timeouts."""
    from rq import SimpleWorker
    from rq.serializers import JSONSerializer
    from rq.timeouts import TimerDeathPenalty

    class Worker(SimpleWorker):
        death_penalty_class = TimerDeathPenalty

        def _install_signal_handlers(self) -> None:
            # Python only lets the main thread set signal handlers (a worker thread
            # is stopped by its owner instead).
            if threading.current_thread() is threading.main_thread():
                super()._install_signal_handlers()  # type: ignore[no-untyped-call]

    return Worker([rq_queue(connection, name)], connection=connection, serializer=JSONSerializer)


def run_worker(env: Mapping[str, str] | None = None, *, burst: bool = False) -> int:
    """`model-review worker`: run jobs from the Redis queue until stopped."""

    settings = Settings.from_env(os.environ if env is None else env)
    if not settings.queue_url:
        raise UsageError(
            "MODEL_REVIEW_QUEUE is not set: `model-review worker` serves the Redis queue",
            hint="set MODEL_REVIEW_QUEUE=redis://HOST:PORT/DB, the same as for the webhook "
            "app (without it the app runs reviews in its own threads and needs no worker)",
        )
    setup_logging(reformat=True)
    configure(JobRunner(settings))
    connection = connect(settings.queue_url)
    log.info("worker for queue %r at %s", QUEUE_NAME, settings.queue_url.split("@")[-1])
    make_worker(connection).work(burst=burst)
    return 0
