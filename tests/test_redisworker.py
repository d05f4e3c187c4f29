"""bot.app.queue.redisworker against a REAL redis-server: jobs run at least once.

A worker SIGKILLed while it holds a PR's lock and runs its job: the review completes on
another worker. A transient error is retried after its delay. A worker whose lease ran
out (stalled) is fenced: it writes nothing more, its replacement publishes, and the PR
ends with one bot comment. Completed deliveries stay duplicates; a delivery whose job
failed for good is taken again (Redeliver). Short sweeps keep these fast; a lease is
short only where a test means it to run out (STEADY_LEASE elsewhere).
"""

from __future__ import annotations

import copy
import logging
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from matrix import row
from redis import Redis

from bot.app.queue.jobs import Job
from bot.app.queue.prlock import PrLock
from bot.app.queue.redisqueue import (
    PREFIX,
    RedisDeliveries,
    RedisQueue,
    Tuning,
    job_state,
    rq_queue,
)
from bot.app.queue.redisworker import configure, make_worker
from bot.app.queue.rqworker import sweep
from bot.domain import GateState
from tests import github_payloads as gp
from tests.redis_server import STEADY_LEASE, garbage_kept
from tests.test_jobs import runner_with_fakes

ROOT = Path(__file__).resolve().parents[1]
REPO = "Codertocat/Hello-World"
STEADY = Tuning(lease=STEADY_LEASE, sweep=0.3, retry_delays=(0, 1))
DYING_LEASE = 5.0  # the killed worker's: its lock frees within it (heartbeats every 1.7 s)
WAIT = 60.0  # generous bound for hand-offs; never a timing assertion
SCHEDULED = "rq:scheduled:model-review"  # RQ's schedule of retries: job id -> when due


def review_job(delivery: str, number: int = 2) -> Job:
    payload = copy.deepcopy(gp.webhook("pull_request", "synchronize"))
    payload["number"] = payload["pull_request"]["number"] = number
    return Job("pull_request", payload, delivery)


def wait_until(check: Any, what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


STALLING_WORKER = """
import sys, time
from bot.app.queue.redisqueue import Tuning, connect
from bot.app.queue.redisworker import configure, make_worker

url, lease, sweep = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
redis = connect(url)

def stall(job):
    redis.set("test:running", job.delivery_id)
    time.sleep(3600)  # until SIGKILL

tuning = Tuning(lease=lease, sweep=sweep, retry_delays=(0,))
configure(stall, tuning)
make_worker(redis, tuning=tuning).work()
"""


@row(
    "queue",
    "A `model-review worker` is SIGKILLed while it holds a PR's lock and runs the review "
    "(Redis queue, another worker alive)",
    "The lock frees within one lease; the live worker's sweep requeues the job and runs "
    "it: one comment, the status set, the delivery marked completed",
)
@pytest.mark.usefixtures("restore_signals")
def test_a_worker_killed_mid_review_loses_nothing(
    redis: Redis, redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    runner, apps, _ = runner_with_fakes()
    configure(runner, STEADY)
    queue = RedisQueue(redis, tuning=STEADY)
    job = review_job("d-killed")
    assert queue.submit(job)
    doomed = subprocess.Popen(
        [sys.executable, "-c", STALLING_WORKER, redis_url, str(DYING_LEASE), str(STEADY.sweep)],
        cwd=ROOT,
    )
    try:
        wait_until(lambda: redis.get("test:running") == b"d-killed", "the first worker")
        assert redis.exists(f"{PREFIX}lock:{job.key}")  # it holds the PR's lock
        assert queue.busy(job.key)
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(WAIT)
    finally:
        if doomed.poll() is None:
            doomed.kill()
            doomed.wait()
    # another worker, alive: its sweep finds the dead worker's job and runs it again
    survivor = make_worker(redis, tuning=STEADY)
    until_its_job = {"max_jobs": 1, "max_idle_time": int(WAIT)}
    thread = threading.Thread(target=survivor.work, kwargs=until_its_job)
    github = apps.repos[REPO]
    with caplog.at_level(logging.INFO, logger="bot"):
        thread.start()
        try:
            wait_until(lambda: github.status_of("e" * 40) is not None, "the review")
        finally:
            thread.join(WAIT)
    requeued = [r.getMessage() for r in caplog.records if "stopped renewing" in r.getMessage()]
    assert requeued == [
        f"requeued delivery d-killed ({job.key}): its worker stopped renewing it (2 retries left)"
    ]
    assert len(github.comment_list) == 1
    assert github.status_of("e" * 40) is GateState.PENDING
    assert job_state(redis, "d-killed") == "finished"
    assert RedisDeliveries(redis).claim("d-killed", "d-killed") is False  # completed


@pytest.mark.usefixtures("restore_signals")
def test_a_review_longer_than_its_lease_keeps_its_lock_and_runs_once(redis: Redis) -> None:
    runner, apps, _ = runner_with_fakes()
    calls: list[str] = []

    # 9 s: the lock wants 4.5 s left at a write and is renewed every 3 s, so a busy
    # machine may delay a heartbeat by 1.5 s (a 1 s lease left it a sixth of a second)
    tuning = Tuning(lease=9.0, sweep=0.2, retry_delays=(0,))

    def slow(job: Job) -> object:
        calls.append(job.delivery_id)
        time.sleep(tuning.lease + 1)  # past its lease: only the heartbeats keep the lock
        return runner(job)

    configure(slow, tuning)
    RedisQueue(redis, tuning=tuning).submit(review_job("d-slow"))
    make_worker(redis, tuning=tuning).work(burst=True)

    assert calls == ["d-slow"]  # never taken for abandoned while it ran
    assert apps.repos[REPO].status_of("e" * 40) is GateState.PENDING  # the fence held
    assert job_state(redis, "d-slow") == "finished"


@row(
    "queue",
    "A job raises a transient error (GitHub hung up)",
    "Retried after its delay (`rq.Retry`, `MODEL_REVIEW_RETRY_DELAYS`), not before; the "
    "second run completes",
)
@pytest.mark.usefixtures("restore_signals")
def test_a_transient_error_is_retried_after_its_delay(redis: Redis) -> None:
    calls: list[str] = []

    def flaky(job: Job) -> None:
        calls.append(job.delivery_id)
        if len(calls) == 1:
            raise ConnectionError("GitHub hung up")

    # a delay no busy machine outlasts before the sweep below; its end is then brought
    # forward in RQ's schedule rather than waited for
    tuning = Tuning(lease=STEADY_LEASE, sweep=0.3, retry_delays=(600,))
    configure(flaky, tuning)
    RedisQueue(redis, tuning=tuning).submit(review_job("d-flaky"))

    failed_at = time.time()
    make_worker(redis, tuning=tuning).work(burst=True)
    assert calls == ["d-flaky"]
    assert job_state(redis, "d-flaky") == "scheduled"  # waits for its retry delay
    [(job_id, due)] = redis.zrange(SCHEDULED, 0, -1, withscores=True)
    assert due >= int(failed_at) + 600  # RQ keeps whole seconds
    sweep(redis)
    assert rq_queue(redis).count == 0  # not due yet
    redis.zadd(SCHEDULED, {job_id: int(time.time()) - 1})  # the delay has passed
    sweep(redis)
    assert rq_queue(redis).count == 1  # the sweep queued the retry
    make_worker(redis, tuning=tuning).work(burst=True)

    assert calls == ["d-flaky", "d-flaky"]
    assert job_state(redis, "d-flaky") == "finished"


@row(
    "queue",
    "A worker stalls past its lease (another worker takes the PR's lock), then resumes its review",
    "Fenced: it writes nothing more to GitHub or MLflow; its job is retried and publishes "
    "once: one comment, one status",
)
@pytest.mark.usefixtures("restore_signals")
def test_a_stalled_worker_is_fenced_and_its_replacement_publishes(redis: Redis) -> None:
    runner, apps, _ = runner_with_fakes()
    stolen = threading.Event()

    def stalls_once(job: Job) -> object:
        if not stolen.is_set():
            # the lease ran out while this worker stalled; another worker took the PR
            redis.set(f"{PREFIX}lock:{job.key}", "another-token", px=60_000)
            stolen.set()
        return runner(job)

    # a lease far longer than the review: on a busy machine a 2 s lease can run out while
    # the review holds the interpreter, and the sweep would requeue the job (`queued`)
    tuning = Tuning(lease=30.0, sweep=0.3, retry_delays=(60,))
    configure(stalls_once, tuning)
    RedisQueue(redis, tuning=tuning).submit(review_job("d-stall"))

    make_worker(redis, tuning=tuning).work(burst=True)
    github = apps.repos[REPO]
    assert github.writes == []  # fenced: not one write after the lock was lost
    assert job_state(redis, "d-stall") == "scheduled"  # to be retried
    redis.delete(f"{PREFIX}lock:{review_job('d-stall').key}")  # the other holder finished
    rq_queue(redis).scheduled_job_registry.requeue("delivery-d-stall")  # the retry is due
    make_worker(redis, tuning=tuning).work(burst=True)

    assert len(github.comment_list) == 1
    assert github.status_of("e" * 40) is GateState.PENDING


@row(
    "queue",
    "The same review runs twice (a retry, a requeue, reconcile)",
    "The second run changes nothing: the same one comment, the same status",
)
@pytest.mark.usefixtures("restore_signals")
def test_running_a_review_twice_leaves_one_comment_and_the_same_status(redis: Redis) -> None:
    runner, apps, _ = runner_with_fakes()
    configure(runner, STEADY)
    queue = RedisQueue(redis, tuning=STEADY)
    queue.submit(review_job("d-first"))
    make_worker(redis, tuning=STEADY).work(burst=True)
    github = apps.repos[REPO]
    first = (list(github.comment_list), github.status_of("e" * 40))

    queue.submit(review_job("d-again"))  # a re-run (a retry, a requeue, reconcile)
    make_worker(redis, tuning=STEADY).work(burst=True)

    assert (github.comment_list, github.status_of("e" * 40)) == first
    assert github.writes.count("create_comment") == 1


def test_a_sweep_leaves_no_connection_open(redis: Redis) -> None:
    RedisQueue(redis, tuning=STEADY).submit(review_job("d-due"))
    with garbage_kept(redis) as still_open:
        for _ in range(3):  # a worker sweeps every few seconds
            sweep(redis)
        assert still_open() == set()  # RQ's scheduler's own connection is closed each time


def test_a_delivery_is_a_duplicate_until_its_job_failed_for_good(redis: Redis) -> None:
    now = [1000.0]
    deliveries = RedisDeliveries(redis, clock=lambda: now[0])
    queue = RedisQueue(redis, tuning=Tuning(retry_delays=()))
    assert deliveries.claim("d-1", "d-1") and queue.submit(review_job("d-1"))
    assert not deliveries.claim("d-1", "d-1")  # waiting
    assert deliveries.claim("body:abc", "d-1")  # its body's hash, owned by d-1 too
    assert not deliveries.claim("body:abc", "d-2")  # the same body under another id
    rq_queue(redis).fetch_job("delivery-d-1").delete()  # its job vanished (Redis lost it)
    assert not deliveries.claim("d-1", "d-1")  # as if another web process were queueing it
    now[0] += 60
    assert deliveries.claim("d-1", "d-1")  # a Redeliver is queued again
    deliveries.finish("d-1")
    assert not deliveries.claim("d-1", "d-1")  # completed: a duplicate for 3 days
    assert not deliveries.claim("body:abc", "d-2")  # its body too (its job is long gone)
    assert deliveries.claim("d-3", "d-3") and queue.submit(review_job("d-3"))
    now[0] += 60
    assert not deliveries.claim("d-3", "d-3")  # still waiting
    rq_queue(redis).fetch_job("delivery-d-3").set_status("failed")  # no retry left
    assert deliveries.claim("d-3", "d-3")


def test_the_lock_is_renewed_by_its_holder_only(redis: Redis) -> None:
    lease_ms = int(STEADY_LEASE * 1000)  # runs out only when the test deletes it
    mine = PrLock(redis, "o/r#1", lease_ms=lease_ms)
    other = PrLock(redis, "o/r#1", lease_ms=lease_ms)
    assert mine.acquire(wait=0)
    assert not other.acquire(wait=0.1)
    assert mine.renew() and not other.renew()
    mine.check()
    redis.delete(mine.name)
    assert other.acquire(wait=0)
    assert int(other.token or 0) > int(mine.token or 0)  # a new fencing token
    assert not mine.renew()
    with pytest.raises(RuntimeError, match="no longer held"):
        mine.check()
    mine.release()  # not ours: nothing happens
    assert redis.get(other.name) == (other.token or "").encode()
