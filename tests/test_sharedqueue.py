"""bot.app.queue.redisqueue against a REAL redis-server (the session's, tests/conftest.py): delivery
de-duplication, jobs enqueued by import path with JSON arguments, order and
supersession per PR, one job per PR at a time, crashes, and the webhook on Redis."""

from __future__ import annotations

import copy
import json
import logging
import shutil
import signal
import threading
import time
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
from redis import Redis

from bot.app.logcontext import DeliveryFilter
from bot.app.queue.jobs import Job
from bot.app.queue.prlock import PrLock
from bot.app.queue.redisqueue import (
    JOB_FUNCTION,
    RedisDeliveries,
    RedisQueue,
    Tuning,
    connect,
    rq_queue,
)
from bot.app.queue.redisworker import configure, make_worker, run_worker
from bot.app.settings import Settings
from bot.app.webhook import create_app, signature_for
from bot.errors import UsageError
from tests import github_payloads as gp
from tests.redis_server import garbage_kept, redis_binary

REPO = "Codertocat/Hello-World"
WAIT = 30.0


class Recorder:
    def __init__(self, crash: frozenset[str] = frozenset()) -> None:
        self.done: list[str] = []
        self.crash = crash

    def __call__(self, job: Job) -> None:
        if job.delivery_id in self.crash:
            raise RuntimeError(f"boom in {job.delivery_id}")
        self.done.append(job.delivery_id)


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    """The worker process's runner for the test; signal handlers restored after."""
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    found = Recorder()
    configure(found)
    yield found
    configure(None)
    for sig, handler in handlers.items():
        signal.signal(sig, handler)


def review_job(delivery: str, number: int = 2) -> Job:
    payload = copy.deepcopy(gp.webhook("pull_request", "synchronize"))
    payload["number"] = payload["pull_request"]["number"] = number
    return Job("pull_request", payload, delivery)


def reassign_job(delivery: str, number: int = 2) -> Job:
    payload = copy.deepcopy(gp.webhook("issue_comment", "created"))
    payload["issue"]["number"] = number
    payload["issue"]["pull_request"] = {"url": f"https://api.github.com/repos/{REPO}/pulls/2"}
    payload["comment"]["body"] = "/model-review reassign primary @bob"
    return Job("issue_comment", payload, delivery)


def results(redis: Redis) -> dict[str, Any]:
    """delivery id -> what `perform` returned (None when it failed)."""
    queue = rq_queue(redis)
    out: dict[str, Any] = {}
    for job_id in (
        queue.finished_job_registry.get_job_ids() + queue.failed_job_registry.get_job_ids()
    ):
        job = queue.fetch_job(job_id)
        assert job is not None
        out[job.args[2]] = job.return_value()
    return out


# --- the redis-server of the tests ----------------------------------------------------------


def test_in_ci_a_missing_redis_server_fails_instead_of_skipping(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="must run, not skip"):
        redis_binary()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        redis_binary()


# --- de-duplication -----------------------------------------------------------------------


def test_a_delivery_id_is_claimed_once_with_an_expiry(redis: Redis, redis_url: str) -> None:
    deliveries = RedisDeliveries(redis)
    elsewhere = RedisDeliveries(connect(redis_url))  # another web process
    assert deliveries.claim("d-1", "d-1")
    assert not deliveries.claim("d-1", "d-1")  # being queued (its job is not there yet)
    assert not elsewhere.claim("d-1", "d-1")
    assert 0 < redis.ttl("model-review:claim:d-1") <= 3 * 24 * 3600
    deliveries.release("d-1")
    assert elsewhere.claim("d-1", "d-1")


# --- the queue ---------------------------------------------------------------------------


def test_a_job_is_enqueued_by_import_path_with_plain_json_arguments(redis: Redis) -> None:
    job = review_job("d-json")
    assert RedisQueue(redis).submit(job)

    raw = redis.hget(f"rq:job:{rq_queue(redis).job_ids[0]}", "data")
    assert raw is not None
    data = json.loads(zlib.decompress(raw))  # RQ compresses the serialized call
    assert data[0] == JOB_FUNCTION == "bot.sharedqueue.perform"
    assert data[2] == ["pull_request", job.payload, "d-json"]
    assert redis.get("model-review:latest:Codertocat/Hello-World#2") == b"d-json"


def test_jobs_run_in_order_and_a_newer_review_supersedes_a_waiting_one(
    redis: Redis, recorder: Recorder
) -> None:
    queue = RedisQueue(redis)
    for job in (
        review_job("old"),
        reassign_job("reassign"),
        review_job("other-pr", number=5),
        review_job("new"),
    ):
        assert queue.submit(job)
    assert queue.depth() == 4

    make_worker(redis).work(burst=True)

    assert recorder.done == ["reassign", "other-pr", "new"]
    assert results(redis) == {
        "old": "superseded",
        "reassign": "done",
        "other-pr": "done",
        "new": "done",
    }
    assert queue.depth() == 0


def test_a_crashing_job_is_logged_with_its_delivery_id_and_the_worker_goes_on(
    redis: Redis, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.handler.addFilter(DeliveryFilter())
    recorder.crash = frozenset({"d-bad"})
    queue = RedisQueue(redis, tuning=Tuning(retry_delays=()))  # no retry: fails for good
    queue.submit(review_job("d-bad", number=1))
    queue.submit(review_job("d-good", number=2))

    with caplog.at_level(logging.INFO, logger="bot"):
        make_worker(redis).work(burst=True)

    assert recorder.done == ["d-good"]
    assert rq_queue(redis).failed_job_registry.count == 1
    [crash] = [
        r
        for r in caplog.records
        if r.name == "bot.app.queue.redisworker" and r.levelno == logging.ERROR
    ]
    assert "d-bad" in crash.getMessage() and crash.delivery_id == "d-bad"  # type: ignore[attr-defined]


def test_a_full_queue_refuses(redis: Redis) -> None:
    queue = RedisQueue(redis, capacity=1)
    assert queue.submit(review_job("first", number=1))
    assert not queue.submit(review_job("second", number=2))
    assert queue.depth() == 1


def test_a_job_waits_while_another_job_for_its_pr_holds_the_lock(
    redis: Redis, recorder: Recorder
) -> None:
    job = review_job("d-waits")
    RedisQueue(redis).submit(job)
    lock = PrLock(redis, job.key, lease_ms=int(WAIT * 1000))
    assert lock.acquire(wait=0)  # as if a worker elsewhere ran a job for this PR
    worker = threading.Thread(target=make_worker(redis).work, kwargs={"burst": True})
    worker.start()
    try:
        deadline = time.monotonic() + WAIT
        while rq_queue(redis).started_job_registry.count == 0:
            assert time.monotonic() < deadline, "the worker never started the job"
            time.sleep(0.02)
        assert recorder.done == []  # started, but waiting for the PR's lock
    finally:
        lock.release()
        worker.join(WAIT)
    assert recorder.done == ["d-waits"]


# --- the webhook and the worker command on Redis -----------------------------------------


def test_the_webhook_on_redis_queues_a_delivery_once(redis: Redis, redis_url: str) -> None:
    settings = Settings(
        app_id=1, private_key="unused", webhook_secret="s3", tracking_uri="x", queue_url=redis_url
    )
    client = create_app(settings).test_client()
    raw = json.dumps(gp.webhook("pull_request", "opened")).encode()
    headers = {
        "X-GitHub-Event": "pull_request",
        "X-GitHub-Delivery": "d-redis",
        "X-Hub-Signature-256": signature_for("s3", raw),
    }
    first = client.post("/webhook", data=raw, headers=headers, content_type="application/json")
    again = client.post("/webhook", data=raw, headers=headers, content_type="application/json")
    headers["X-GitHub-Delivery"] = "d-replayed"  # the id is not signed: the body hash is
    replay = client.post("/webhook", data=raw, headers=headers, content_type="application/json")

    assert (first.status_code, again.status_code, replay.status_code) == (202, 200, 200)
    assert client.get("/readyz").json["queue"] == 1
    assert rq_queue(redis).count == 1


APP_ENV = {
    "GITHUB_APP_ID": "1",
    "GITHUB_APP_PRIVATE_KEY": "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----",
    "GITHUB_WEBHOOK_SECRET": "s3",
    "MLFLOW_TRACKING_URI": "http://mlflow.test",
}


@pytest.fixture
def worker_process() -> Iterator[None]:
    """Undo what `run_worker` does to this process: runner, logging, signal handlers."""
    root = logging.getLogger()
    formats = [(h, h.formatter) for h in root.handlers]
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    yield
    configure(None)
    for handler, formatter in formats:
        handler.setFormatter(formatter)
    for sig, previous in handlers.items():
        signal.signal(sig, previous)


def test_the_worker_command_needs_the_redis_queue() -> None:
    with pytest.raises(UsageError, match="MODEL_REVIEW_QUEUE is not set") as caught:
        run_worker(APP_ENV)
    assert caught.value.hint and "redis://" in caught.value.hint


@pytest.mark.usefixtures("worker_process")
def test_the_worker_command_runs_queued_jobs_with_the_app_runner(
    redis: Redis, redis_url: str
) -> None:
    labeled = copy.deepcopy(gp.webhook("pull_request", "opened")) | {"action": "labeled"}
    RedisQueue(redis).submit(Job("pull_request", labeled, "d-labeled"))

    worker_env = {k: v for k, v in APP_ENV.items() if k != "GITHUB_WEBHOOK_SECRET"}
    with garbage_kept(redis) as still_open:
        assert run_worker({**worker_env, "MODEL_REVIEW_QUEUE": redis_url}, burst=True) == 0
        assert still_open() == set()  # the command closed its connections when it stopped

    assert results(redis) == {"d-labeled": "done"}  # the App runner: nothing to do, no GitHub
