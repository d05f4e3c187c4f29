"""The RQ worker class of `model-review worker`, and the sweep it runs.

- Jobs run in the worker's own process (no fork per job, so the App's tokens stay
  cached) with thread-safe timeouts and a heartbeat during each job that renews the
  job's registry entry every `lease / 3` with a TTL of one lease.
- A sweep thread: every `sweep` seconds one worker (a Redis key decides which)
  requeues the jobs whose worker stopped renewing them (one log line each) and the
  retries now due.
- Presence (bot.app.queue.presence): every RQ heartbeat also writes the worker's
  heartbeat key and puts the worker back in RQ's registries, so a Redis that
  restarted empty sees its workers again at their next heartbeat.
- Stopping: SIGTERM (or SIGINT) while idle exits at once; during a job the worker
  lets it finish for `grace` seconds, then stops it (ShutdownRequested: RQ's retry
  requeues it) and exits. RQ's pub/sub thread waits at most PUBSUB_WAIT for a
  message, so joining it at exit takes about that long (RQ's own 60 s wait, with
  redis-py 8 joining the thread without a timeout, kept a stopped worker alive a
  minute).
"""

from __future__ import annotations

import logging
import math
import signal
import threading
from types import FrameType
from typing import TYPE_CHECKING, Any

from bot.app import metrics
from bot.app.logcontext import delivery_context
from bot.app.queue import presence
from bot.app.queue.jobs import Job
from bot.app.queue.prlock import Heartbeat
from bot.app.queue.redisqueue import PREFIX, QUEUE_NAME, Tuning, rq_queue

if TYPE_CHECKING:
    from redis import Redis
    from rq import SimpleWorker

log = logging.getLogger(__name__)

WORKER_TTL = 45  # an idle worker reports itself every 30 s ("seen in the last minute")
PUBSUB_WAIT = 1.0  # seconds RQ's pub/sub thread blocks between checks of its stop flag
REQUEUED = "requeued delivery %s (%s): its worker stopped renewing it (%d retries left)"
ABANDONED = "delivery %s (%s): its worker stopped renewing it and no retry is left"


class ShutdownRequested(Exception):
    """The worker was asked to stop and the job ran past the grace period: the job
    stops here and RQ's retry requeues it."""


def sweep(connection: Redis, name: str = QUEUE_NAME) -> None:
    """Requeue jobs whose worker stopped renewing them, and retries now due."""
    from rq.registry import StartedJobRegistry
    from rq.scheduler import RQScheduler
    from rq.serializers import JSONSerializer

    queue = rq_queue(connection, name)
    StartedJobRegistry(queue=queue).cleanup(exception_handlers=[_log_abandoned])
    scheduler = RQScheduler(
        [queue], connection=connection, serializer=JSONSerializer, logging_level=logging.WARNING
    )
    try:
        scheduler.acquire_locks()  # type: ignore[no-untyped-call]
        if scheduler.acquired_locks:
            try:
                scheduler.enqueue_scheduled_jobs()  # type: ignore[no-untyped-call]
            finally:
                scheduler.release_locks()  # type: ignore[no-untyped-call]
    finally:
        # RQ's scheduler opens a connection of its own (a copy of ours), held in a
        # reference cycle: closed here, not at some later garbage collection
        scheduler.connection.connection_pool.disconnect()


def _log_abandoned(job: Any, *exc_info: Any) -> bool:
    """The sweep's log line for an abandoned job (RQ then requeues or fails it)."""
    args = list(job.args or ())
    delivery = str(args[2]) if len(args) > 2 else job.id
    key = Job(str(args[0]), args[1], delivery).key if len(args) > 2 else "?"
    left = int(job.retries_left or 0)
    with delivery_context(delivery):
        if left > 0:
            log.warning(REQUEUED, delivery, key, left)
            metrics.retry("abandoned")
        else:
            log.error(ABANDONED, delivery, key)
    return True


def _sweeper(connection: Redis, name: str, every: float, stop: threading.Event) -> None:
    while not stop.wait(every):
        try:
            if connection.set(f"{PREFIX}sweep:{name}", "1", nx=True, px=int(every * 900)):
                sweep(connection, name)
        except Exception as exc:  # Redis out of reach: try again next time
            log.warning("sweep failed: %s", exc)


def build_worker(connection: Redis, name: str, timing: Tuning) -> SimpleWorker:
    """The worker (see the module's docstring)."""
    from rq import SimpleWorker, worker_registration
    from rq.serializers import JSONSerializer
    from rq.timeouts import TimerDeathPenalty
    from rq.worker.base import WorkerStatus

    class Worker(SimpleWorker):
        death_penalty_class = TimerDeathPenalty

        def get_heartbeat_ttl(self, job: Any, working_time: float = 0.0) -> int:
            # RQ keeps whole seconds: under 2 s an entry renewed in time could expire
            return max(2, math.ceil(timing.lease))

        def execute_job(self, job: Any, queue: Any) -> None:
            execution = self.prepare_execution(job)

            def beat() -> bool:
                self.maintain_heartbeats(job, execution)
                return True

            try:
                with Heartbeat(beat, timing.beat):
                    self.perform_job(job, queue, execution)
            finally:
                _disarm()
            self.set_state(WorkerStatus.IDLE)

        def heartbeat(self, timeout: int | None = None, pipeline: Any = None) -> None:
            super().heartbeat(timeout, pipeline)
            target = self.connection if pipeline is None else pipeline
            presence.beat(target, self.name)
            worker_registration.register(self, pipeline)
            if pipeline is None and not self.connection.hexists(self.key, "birth"):
                self.connection.hset(self.key, mapping=self.serialize())
                log.info("worker %s registered again (Redis had lost its record)", self.name)

        def register_death(self) -> None:
            super().register_death()  # type: ignore[no-untyped-call]
            presence.gone(self.connection, self.name)

        def subscribe(self) -> None:
            self.pubsub = self.connection.pubsub()
            self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
            self.pubsub_thread = self.pubsub.run_in_thread(  # type: ignore[assignment]
                sleep_time=PUBSUB_WAIT,
                daemon=True,
                exception_handler=self._pubsub_exception_handler,
            )

        def request_stop(self, signum: int, frame: FrameType | None) -> None:
            busy = self.get_state() == WorkerStatus.BUSY
            log.info("worker %s: stopping (%s)", self.name, "after its job" if busy else "idle")
            if busy:
                _arm(timing.grace)
            super().request_stop(signum, frame)  # type: ignore[no-untyped-call]

        def work(self, *args: Any, **kwargs: Any) -> bool:
            stop = threading.Event()
            sweeper = threading.Thread(
                target=_sweeper,
                args=(self.connection, name, timing.sweep, stop),
                name="model-review-sweep",
                daemon=True,
            )
            sweeper.start()
            try:
                return bool(super().work(*args, **kwargs))
            finally:
                stop.set()

        def _install_signal_handlers(self) -> None:
            # Python only lets the main thread set signal handlers (a worker thread
            # is stopped by its owner instead).
            if _main_thread():
                super()._install_signal_handlers()  # type: ignore[no-untyped-call]

    return Worker(
        [rq_queue(connection, name)],
        name=presence.worker_name(),
        connection=connection,
        serializer=JSONSerializer,
        worker_ttl=WORKER_TTL,
    )


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _arm(grace: float) -> None:
    """In `grace` seconds, stop the job running in the main thread."""
    if not _main_thread():
        return

    def give_up(signum: int, frame: FrameType | None) -> None:
        raise ShutdownRequested(f"the worker is stopping; the job ran {grace:g} s past the request")

    signal.signal(signal.SIGALRM, give_up)
    signal.setitimer(signal.ITIMER_REAL, max(grace, 0.001))


def _disarm() -> None:
    if _main_thread():
        signal.setitimer(signal.ITIMER_REAL, 0)
