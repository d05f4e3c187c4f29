"""Running reconcile: `model-review reconcile` and the App's periodic run.

`run_reconcile` is the command: the App's credentials from the environment, every
installation (or `--repo`), reviews queued on the Redis queue when
MODEL_REVIEW_QUEUE is set, else run here one after the other. `start_periodic` is
what the webhook App starts when MODEL_REVIEW_RECONCILE_SECONDS is set: a thread
that runs reconcile every period, one runner at a time across every web process
(a Redis key held for the period; with the in-process queue, each process).
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from bot.app.queue.jobs import Job, JobQueue, QueueStatus, run_guarded
from bot.app.queue.reconcile import Report, reconcile
from bot.app.queue.runner import JobRunner
from bot.app.settings import Settings

if TYPE_CHECKING:
    from bot.app.queue.reconcile import Inventory

log = logging.getLogger(__name__)


class Leader(Protocol):
    """Who runs this period's reconcile: `take` is True for one caller per period."""

    def take(self, seconds: int) -> bool: ...


class RedisLeader:
    """A Redis key held for the period (never released early: one run per period)."""

    KEY = "model-review:reconcile-leader"

    def __init__(self, connection: Any) -> None:
        self._redis = connection
        self._me = uuid.uuid4().hex

    def take(self, seconds: int) -> bool:
        return bool(self._redis.set(self.KEY, self._me, nx=True, ex=max(1, seconds - 1)))


class LocalLeader:
    """The in-process queue: each process reconciles what it would run itself."""

    def take(self, seconds: int) -> bool:
        return True


def run_periodically(
    seconds: int, leader: Leader, once: Callable[[], object], stop: threading.Event
) -> threading.Thread:
    """Call `once` every `seconds` when `leader` says it is this process's turn."""

    def loop() -> None:
        while not stop.wait(seconds):
            try:
                if leader.take(seconds):
                    once()
            except Exception:
                log.exception("reconcile failed; trying again in %d s", seconds)

    thread = threading.Thread(target=loop, name="model-review-reconcile", daemon=True)
    thread.start()
    return thread


def reconcile_with(
    settings: Settings,
    runner: JobRunner,
    queue: JobQueue,
    inventory: Inventory | None = None,
    **options: Any,
) -> Report:
    """One reconcile run with the App's adapters (`inventory` for tests)."""
    apps = runner.installations()
    if inventory is None:
        from bot.githost.inventory import AppInventory

        inventory = AppInventory(apps)  # type: ignore[arg-type]
    return reconcile(inventory, apps, runner.tracking, queue, **options)


def start_periodic(settings: Settings, runner: JobRunner, queue: JobQueue) -> threading.Event:
    """The App's periodic reconcile; set the returned event to stop it."""
    stop = threading.Event()
    leader: Leader = LocalLeader()
    if settings.queue_url:
        from bot.app.queue.redisqueue import connect

        leader = RedisLeader(connect(settings.queue_url))
    limit = settings.reconcile_requests

    def once() -> None:
        reconcile_with(settings, runner, queue, max_requests=limit)

    run_periodically(settings.reconcile_seconds, leader, once, stop)
    log.info(
        "reconcile every %d s, at most %d GitHub requests a run", settings.reconcile_seconds, limit
    )
    return stop


class InlineQueue:
    """A JobQueue that runs each job at once, here (the command without Redis)."""

    def __init__(self, runner: JobRunner) -> None:
        self._runner = runner
        self.failed = 0

    def submit(self, job: Job) -> bool:
        self.failed += 0 if run_guarded(self._runner, job) else 1
        return True

    def depth(self) -> int:
        return 0

    def status(self) -> QueueStatus:
        return QueueStatus(0, 0.0, 1, self.failed)

    def busy(self, key: str) -> bool:
        return False


def run_reconcile(repo: str | None, dry_run: bool, env: Mapping[str, str] | None = None) -> int:
    """`model-review reconcile`: prints what it found and queued; 1 when a review run
    here failed or the run stopped early."""
    from bot.app.logcontext import setup_logging

    settings = Settings.from_env(os.environ if env is None else env, webhook=False)
    setup_logging(reformat=True)
    runner = JobRunner(settings)
    queue: JobQueue
    if settings.queue_url:
        from bot.app.queue.redisqueue import redis_deps

        queue = redis_deps(settings)[0]
    else:
        queue = InlineQueue(runner)
    report = reconcile_with(
        settings,
        runner,
        queue,
        repo=repo,
        dry_run=dry_run,
        max_requests=settings.reconcile_requests,
    )
    verb = "due" if dry_run else "queued"
    for line in report.queued:
        print(f"{verb}: {line}")
    print(report.summary())
    failed = isinstance(queue, InlineQueue) and queue.failed > 0
    return 1 if failed or report.stopped else 0
