"""The webhook app's work queue: deliveries become jobs that run outside the request.

A `Job` is one handled delivery (event name, payload, delivery id): plain JSON, so
it can travel through Redis. Two queues run jobs:

- `InProcessQueue` (the default): a pool of worker threads over a bounded queue.
  Jobs for the same pull request run in order, one at a time; a newer job for a PR
  supersedes an older one still waiting (the running one finishes). A job that
  raises is logged with its delivery id and the worker carries on.
- the Redis queue (`MODEL_REVIEW_QUEUE=redis://...`, bot.app.queue.redisqueue) for
  deployments on several machines; `model-review worker` runs its workers.

Jobs that carry a `/model-review reassign` command (or an invalid command, whose
answer the comment shows) are never superseded: a later review would not repeat
them. Every other job is a full review of the PR, so only the latest one matters.

The job itself (App auth, then the shared handler) is bot.app.queue.runner.JobRunner.

Every log line of a job carries its delivery id (bot.app.logcontext), and each job
ends with one line: delivery id, PR, outcome and duration (`log_job`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from bot.app import metrics
from bot.app.logcontext import delivery_context
from bot.errors import ModelReviewError
from bot.handlers.router import Action, Event, route
from bot.review.reviewers import CommandKind

if TYPE_CHECKING:
    from bot.ports import GitHubPort

log = logging.getLogger(__name__)

# --- jobs -----------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    """One handled delivery, as plain JSON-able values."""

    event_name: str
    payload: Mapping[str, Any]
    delivery_id: str

    def event(self) -> Event:
        return Event(name=self.event_name, payload=self.payload, delivery_id=self.delivery_id)

    @property
    def key(self) -> str:
        """The pull request the job is about ("owner/name#7"): jobs with one key run in
        order, one at a time."""
        event = self.event()
        if event.pr_number is None:
            return f"{event.repo}@{self.delivery_id}"
        return f"{event.repo}#{event.pr_number}"

    @property
    def supersedable(self) -> bool:
        """Whether a newer job for the same PR makes this one pointless: true for
        reviews (and refresh); false for commands a later review would not repeat, for
        closing (the merge record and promotion happen once), and for a comment, which
        only its job reads (it may hold a command)."""
        decision = route(self.event())
        if decision.action in (Action.CLOSED, Action.COMMENT, Action.ACCESS):
            return False
        command = decision.command
        return command is None or command.kind is CommandKind.REFRESH

    @property
    def supersedes(self) -> bool:
        """Whether this job surely handles the PR anew, so that waiting supersedable
        jobs may be dropped for it: not a comment, whose text may ask for nothing."""
        return route(self.event()).action is not Action.COMMENT


@dataclass(frozen=True)
class QueueStatus:
    """What the readiness endpoint reports: counts only, nothing about repositories."""

    depth: int  # jobs waiting
    oldest_wait: float  # seconds the oldest waiting job has waited (0: none waits)
    workers: int  # workers seen in the last minute (threads of this process in-process)
    failed: int  # jobs that failed for good (kept a week on Redis, since start in-process)
    full: bool = False  # no room for another job: deliveries are answered 503


class JobQueue(Protocol):
    """Where the webhook puts jobs."""

    def submit(self, job: Job) -> bool:
        """Queue `job`; False when the queue is full (the webhook answers 503)."""
        ...

    def depth(self) -> int:
        """Jobs waiting (not counting the ones running)."""
        ...

    def status(self) -> QueueStatus:
        """Depth, oldest waiting job, live workers and failed jobs."""
        ...

    def busy(self, key: str) -> bool:
        """Whether a job for the PR `key` ("owner/name#7") waits or runs."""
        ...


class Installations(Protocol):
    """GitHub App installations (bot.githost.installations.AppInstallations; fakes in tests):
    what a job acts as (bot.app.queue.runner), what reconcile walks."""

    def installation_id(self, full_name: str) -> int: ...

    def repo(self, installation_id: int, full_name: str) -> GitHubPort: ...


class TransientFailure(ModelReviewError):
    """The review failed closed because GitHub or MLflow was down or busy (refused,
    timed out, 5xx, 429): its job is retried after a delay (`MODEL_REVIEW_RETRY_DELAYS`,
    on either queue), and reconcile reviews the PR again once the dependency answers."""

    transient = True


Handler = Callable[[Job], object]
# called once per finished job: (job, True when it succeeded)
Settle = Callable[[Job, bool], None]


# --- the in-process queue -----------------------------------------------------------


class InProcessQueue:
    """A bounded queue served by `workers` threads (started at the first job)."""

    def __init__(
        self,
        handler: Handler,
        workers: int = 4,
        capacity: int = 100,
        *,
        settle: Settle | None = None,
        clock: Callable[[], float] = time.monotonic,
        retry_delays: tuple[float, ...] = (),
    ) -> None:
        if workers < 1 or capacity < 1:
            raise ValueError("workers and capacity must be at least 1")
        self._handler = handler
        self._settle = settle
        self._delays = retry_delays  # after a TransientFailure, one retry per entry
        self._attempts: dict[str, int] = {}  # delivery id -> retries so far
        self._clock = clock
        self._queued_at: dict[str, float] = {}  # delivery id -> when it was submitted
        self._failed = 0
        self._workers = workers
        self._capacity = capacity
        self._cond = threading.Condition()
        self._pending: dict[str, deque[Job]] = {}  # per PR, oldest first
        self._ready: deque[str] = deque()  # PRs with waiting jobs and none running
        self._running: set[str] = set()
        self._count = 0
        self._threads: list[threading.Thread] = []
        self._closed = False

    def submit(self, job: Job) -> bool:
        key = job.key
        with self._cond:
            if self._closed:
                return False
            waiting = self._pending.get(key, deque())
            dropped = [j for j in waiting if j.supersedable] if job.supersedes else []
            if self._count - len(dropped) + 1 > self._capacity:
                log.warning(
                    "queue full (%d jobs): refusing delivery %s", self._count, job.delivery_id
                )
                return False
            kept = deque(j for j in waiting if j not in dropped)
            kept.append(job)
            self._queued_at[job.delivery_id] = self._clock()
            for old in dropped:
                self._queued_at.pop(old.delivery_id, None)
            self._pending[key] = kept
            self._count += 1 - len(dropped)
            if key not in self._running and key not in self._ready:
                self._ready.append(key)
            self._start_workers()
            self._cond.notify()
        for old in dropped:
            log.info("delivery %s for %s superseded by %s", old.delivery_id, key, job.delivery_id)
            if self._settle is not None:
                self._settle(old, True)
        return True

    def depth(self) -> int:
        with self._cond:
            return self._count

    def status(self) -> QueueStatus:
        with self._cond:
            oldest = min(self._queued_at.values(), default=None)
            alive = sum(1 for t in self._threads if t.is_alive())
            wait = 0.0 if oldest is None else max(0.0, self._clock() - oldest)
            full = self._closed or self._count >= self._capacity
            return QueueStatus(self._count, wait, alive, self._failed, full=full)

    def busy(self, key: str) -> bool:
        with self._cond:
            return key in self._pending or key in self._running

    def join(self, timeout: float | None = None) -> bool:
        """Wait until no job is waiting or running; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._count and not self._running, timeout)

    def close(self, timeout: float | None = None) -> None:
        """Accept no more jobs; the workers finish what is queued, then stop. Waits
        at most `timeout` seconds in all (None: until they are done)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))

    def _start_workers(self) -> None:
        while len(self._threads) < self._workers:
            name = f"model-review-worker-{len(self._threads) + 1}"
            thread = threading.Thread(target=self._work, name=name, daemon=True)
            self._threads.append(thread)
            thread.start()

    def _next(self) -> Job | None:
        with self._cond:
            self._cond.wait_for(lambda: self._ready or self._closed)
            if not self._ready:
                return None
            key = self._ready.popleft()
            waiting = self._pending[key]
            job = waiting.popleft()
            if not waiting:
                del self._pending[key]
            self._count -= 1
            self._queued_at.pop(job.delivery_id, None)
            self._running.add(key)
            return job

    def _work(self) -> None:
        while (job := self._next()) is not None:
            outcome = run_logged(self._handler, job)
            ok = outcome == DONE
            retried = outcome == TRANSIENT and self._retry_later(job)
            if self._settle is not None and not retried:
                self._settle(job, ok)
            with self._cond:
                self._failed += 0 if ok else 1
                self._running.discard(job.key)
                if job.key in self._pending:
                    self._ready.append(job.key)
                self._cond.notify_all()

    def _retry_later(self, job: Job) -> bool:
        """Submit `job` again after its next delay; False when no retry is left."""
        tried = self._attempts.get(job.delivery_id, 0)
        if tried >= len(self._delays):
            self._attempts.pop(job.delivery_id, None)
            return False
        self._attempts[job.delivery_id] = tried + 1
        delay = self._delays[tried]
        metrics.retry("transient")
        log.warning(RETRYING, job.delivery_id, job.key, tried + 1, delay)
        timer = threading.Timer(delay, self._resubmit, (job,))
        timer.daemon = True
        timer.start()
        return True

    def _resubmit(self, job: Job) -> None:
        with self._cond:
            newer = job.key in self._pending  # a newer delivery reviews the PR anyway
        if newer or not self.submit(job):
            self._attempts.pop(job.delivery_id, None)
            if self._settle is not None:
                self._settle(job, newer)


DONE, FAILED, TRANSIENT = "done", "failed", "failed (transient)"
RETRYING = "delivery %s (%s): retry %d in %g s"


def run_guarded(handler: Handler, job: Job) -> bool:
    """Run one job with its delivery id on every log line; a failure is logged, never
    raised. True when the job finished."""
    return run_logged(handler, job) == DONE


def run_logged(handler: Handler, job: Job) -> str:
    """`run_guarded`, saying how the job ended: DONE, FAILED or TRANSIENT (a failure
    worth a retry)."""
    started = time.monotonic()
    outcome = FAILED
    with delivery_context(job.delivery_id):
        try:
            handler(job)
            outcome = DONE
        except TransientFailure as exc:
            outcome = TRANSIENT
            log.warning("delivery %s (%s) failed: %s", job.delivery_id, job.key, exc)
        except ModelReviewError as exc:
            log.error("delivery %s (%s) failed: %s", job.delivery_id, job.key, exc)
        except Exception:
            log.exception("delivery %s (%s) crashed", job.delivery_id, job.key)
        finally:
            log_job(job, outcome, time.monotonic() - started)
    return outcome


def log_job(job: Job, outcome: str, seconds: float) -> None:
    """The one line every job ends with (and its count and duration in the metrics)."""
    metrics.job(outcome, seconds)
    log.info(
        "job delivery=%s pr=%s outcome=%s duration=%.2fs",
        job.delivery_id,
        job.key,
        outcome,
        seconds,
    )
