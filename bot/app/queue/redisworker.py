"""The Redis queue's worker side (`model-review worker`): jobs run at least once.

- `perform` (the RQ job, enqueued as `bot.sharedqueue.perform`) takes the PR's lock
  (bot.app.queue.prlock), renews it from a heartbeat thread, skips a superseded review,
  runs the job with the lock as a fence before every write (bot.app.queue.fencing), and
  marks the delivery completed. It ends with one log line (delivery, PR, outcome,
  duration).
- The worker renews its job's entry in RQ's started-job registry every `lease / 3`
  with a TTL of one lease (RQ's own would be the job timeout plus a minute), and
  every `sweep` seconds one worker (a Redis lock decides which) sweeps: a job whose
  entry expired lost its worker, and RQ requeues it through its `Retry`; retries
  whose delay is over are queued too (RQ's scheduler would otherwise run them only
  from a worker that started it). A dead worker's review restarts within about
  `lease + sweep + first retry delay` seconds, on any live worker.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from bot.app import metrics
from bot.app.logcontext import delivery_context, setup_logging
from bot.app.queue.fencing import fenced
from bot.app.queue.jobs import Handler, Job, TransientFailure, log_job
from bot.app.queue.prlock import Heartbeat, LockLost, PrLock
from bot.app.queue.redisqueue import (
    JOB_TIMEOUT,
    QUEUE_NAME,
    RedisDeliveries,
    Tuning,
    connect,
    latest_key,
    tuning_of,
)
from bot.app.queue.rqworker import ShutdownRequested, build_worker
from bot.app.queue.runner import JobRunner
from bot.app.settings import Settings
from bot.errors import UsageError

if TYPE_CHECKING:
    from redis import Redis
    from rq import SimpleWorker

log = logging.getLogger(__name__)

_runner: Handler | None = None  # the worker process's job runner (see `configure`)
_tuning = Tuning()


class LockBusy(RuntimeError):
    """The PR's lock stayed taken for the whole wait: the job is retried later."""


def configure(runner: Handler | None, tuning: Tuning | None = None) -> None:
    """Set the job runner of this worker process (None: built from the environment
    at the first job) and its timings."""
    global _runner, _tuning  # noqa: PLW0603 (one runner per worker process, caches inside)
    _runner = runner
    _tuning = tuning or Tuning()


def _current_runner() -> Handler:
    if _runner is None:
        settings = Settings.from_env(os.environ, webhook=False)
        configure(JobRunner(settings), tuning_of(settings))
    assert _runner is not None
    return _runner


def perform(event_name: str, payload: Mapping[str, Any], delivery_id: str) -> str:
    """The RQ job. Returns "done" or "superseded"; raises (and RQ retries) when the job
    failed, lost its PR's lock or never got it."""
    from rq import get_current_job

    job = Job(event_name, payload, delivery_id)
    current = get_current_job()
    if current is None:
        raise RuntimeError("perform() runs inside an RQ worker (model-review worker)")
    started, outcome = time.monotonic(), "failed"
    with delivery_context(delivery_id):
        try:
            outcome = _perform(job, current.connection)
        except LockLost:
            outcome = "lost the PR's lock (retried)"
            log.warning("%s: another worker holds the PR now; nothing more written", job.key)
            raise
        except TransientFailure as exc:
            outcome = "failed (transient: retried after its delay)"
            metrics.retry("transient")
            log.warning("%s: %s", job.key, exc)
            raise
        except ShutdownRequested as exc:
            outcome = "requeued (the worker is stopping)"
            metrics.retry("shutdown")
            log.warning("%s: %s; the job goes back to the queue", job.key, exc)
            raise
        except Exception:
            log.exception("delivery %s (%s) crashed", delivery_id, job.key)
            raise
        finally:
            log_job(job, outcome, time.monotonic() - started)
    return outcome


def _perform(job: Job, connection: Redis) -> str:
    runner, tuning = _current_runner(), _tuning
    lock = PrLock(connection, job.key, int(tuning.lease * 1000))
    if not lock.acquire(wait=JOB_TIMEOUT + tuning.lease):
        raise LockBusy(f"{job.key} stayed locked for {JOB_TIMEOUT} s")
    try:
        with Heartbeat(lock.renew, tuning.beat):
            latest = connection.get(latest_key(job))
            newer = latest.decode() if isinstance(latest, bytes) else None
            if job.supersedable and newer not in (None, job.delivery_id):
                log.info("%s: superseded by delivery %s", job.key, newer)
                outcome = "superseded"
            else:
                with fenced(lock.check):
                    runner(job)
                outcome = "done"
            RedisDeliveries(connection).finish(job.delivery_id)
            return outcome
    finally:
        lock.release()


# --- the worker ----------------------------------------------------------------------------


def make_worker(
    connection: Redis, name: str = QUEUE_NAME, tuning: Tuning | None = None
) -> SimpleWorker:
    """The worker of `model-review worker` (bot.app.queue.rqworker), with this
    process's timings unless `tuning` is given."""
    return build_worker(connection, name, tuning or _tuning)


def run_worker(env: Mapping[str, str] | None = None, *, burst: bool = False) -> int:
    """`model-review worker`: run jobs from the Redis queue until stopped."""

    settings = Settings.from_env(os.environ if env is None else env, webhook=False)
    if not settings.queue_url:
        raise UsageError(
            "MODEL_REVIEW_QUEUE is not set: `model-review worker` serves the Redis queue",
            hint="set MODEL_REVIEW_QUEUE=redis://HOST:PORT/DB, the same as for the webhook "
            "app (without it the app runs reviews in its own threads and needs no worker)",
        )
    setup_logging(reformat=True)
    tuning = tuning_of(settings)
    configure(JobRunner(settings), tuning)
    log.info("worker for queue %r at %s", QUEUE_NAME, settings.queue_url.split("@")[-1])
    port = (os.environ if env is None else env).get("MODEL_REVIEW_METRICS_PORT", "").strip()
    if port.isdigit():
        metrics.serve_worker_metrics(int(port))
    connection = connect(settings.queue_url)
    try:
        make_worker(connection, tuning=tuning).work(burst=burst)
    finally:
        connection.close()  # the worker is a reference cycle: not left to the GC
    return 0
