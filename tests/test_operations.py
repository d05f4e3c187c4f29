"""Running the App: probes, a Redis outage, worker presence and shutdown, against a
REAL redis-server (one of the test's own, stopped and started again) and real
`model-review worker` processes.

- Redis stops: deliveries are answered 503 with Retry-After and a JSON body, logged
  with their delivery id; `/healthz` stays 200. Redis comes back (empty): the worker
  registers again, `/readyz` is 200 and counts it, the redelivered delivery runs.
- SIGTERM: an idle worker exits; a worker in a job lets it finish (grace) or stops it
  and the job is requeued, then runs elsewhere. `model-review worker --check` follows
  the worker. RQ's pub/sub thread wakes every second (exit is not held a minute).

Deadlines here are generous bounds on waiting, never assertions on elapsed time
(benchmarks/shutdown.py measures it).
"""

from __future__ import annotations

import dataclasses
import logging
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from matrix import row
from redis import Redis

from bot.app.logcontext import DeliveryFilter
from bot.app.queue import presence
from bot.app.queue.redisqueue import RedisQueue, Tuning, connect, job_state, rq_queue
from bot.app.queue.redisworker import configure, make_worker
from bot.app.queue.rqworker import PUBSUB_WAIT, sweep
from bot.app.webhook import QUEUE_DOWN, create_app
from tests.redis_server import STEADY_LEASE, RedisProcess, restartable_redis
from tests.test_jobs import runner_with_fakes
from tests.test_redisworker import review_job
from tests.test_webhook import SETTINGS, deliver

ROOT = Path(__file__).resolve().parents[1]
WAIT = 120.0  # generous bound for a hand-off on a busy machine; never a timing assertion

WORKER = """
import sys, time
from bot.app.queue.redisqueue import Tuning, connect
from bot.app.queue.redisworker import configure, make_worker

url, grace, hold, lease = sys.argv[1], *map(float, sys.argv[2:5])
redis = connect(url)

def run(job):
    redis.set("test:running", job.delivery_id)
    time.sleep(hold)
    redis.rpush("test:done", job.delivery_id)

tuning = Tuning(lease=lease, sweep=0.3, retry_delays=(1,), grace=grace)
configure(run, tuning)
make_worker(redis, tuning=tuning).work()
"""


def wait_until(check: Any, what: str, timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
    return found


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisProcess]:
    with restartable_redis(tmp_path) as redis_server:
        yield redis_server


def start_worker(url: str, grace: float = 8.0, hold: float = 0.0) -> subprocess.Popen[bytes]:
    args = [url, str(grace), str(hold), str(STEADY_LEASE)]
    return subprocess.Popen([sys.executable, "-c", WORKER, *args], cwd=ROOT)


def stop(proc: subprocess.Popen[bytes]) -> int:
    """SIGTERM, then wait (generously) for the exit; its return code."""
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(WAIT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def done(redis: Redis) -> list[str]:
    return [d.decode() for d in redis.lrange("test:done", 0, -1)]


def web(url: str) -> FlaskClient:
    return create_app(dataclasses.replace(SETTINGS, queue_url=url)).test_client()


def ready_with_worker(client: FlaskClient) -> bool:
    answer = client.get("/readyz")
    return answer.status_code == 200 and answer.json["workers"] == 1


@row(
    "queue",
    "Redis stops while the App runs, then comes back empty (no persistence)",
    "Deliveries meanwhile get `503` with `Retry-After: 30` and a JSON body, logged with "
    "their delivery id; `/healthz` stays 200 and `/readyz` is 503; once Redis answers, the "
    "worker registers again, `/readyz` is 200 counting it, and the redelivery runs",
)
@pytest.mark.slow
def test_a_redis_outage_is_answered_503_and_the_app_recovers_by_itself(
    server: RedisProcess, caplog: pytest.LogCaptureFixture
) -> None:
    client = web(server.url)
    worker = start_worker(server.url)
    try:
        wait_until(lambda: ready_with_worker(client), "the worker to register")
        server.stop()
        caplog.handler.addFilter(DeliveryFilter())
        payload = review_job("d-outage").payload
        with caplog.at_level(logging.INFO, logger="bot"):
            refused = deliver(client, "pull_request", dict(payload), "d-outage")
        assert refused.status_code == 503
        assert refused.headers["Retry-After"] == "30"
        assert refused.json == {"error": QUEUE_DOWN, "delivery": "d-outage"}
        [line] = [r for r in caplog.records if "not queued" in r.getMessage()]
        assert line.delivery_id == "d-outage"  # type: ignore[attr-defined]
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 503

        server.start()  # empty: the worker's registration is gone with the data
        wait_until(lambda: ready_with_worker(client), "the worker to register again")
        redelivered = deliver(client, "pull_request", dict(payload), "d-outage")
        assert redelivered.status_code == 202
        redis = connect(server.url)
        wait_until(lambda: done(redis) == ["d-outage"], "the redelivered review")
    finally:
        assert stop(worker) == 0


@row(
    "queue",
    "A `model-review worker` gets SIGTERM while idle, or in a review that finishes within "
    "the grace period, or in one that does not",
    "It exits; the review is finished, or stopped and requeued (run by another worker); "
    "`model-review worker --check` is 0 while it lives and 1 once it stopped",
)
@pytest.mark.slow
@pytest.mark.usefixtures("restore_signals")
@pytest.mark.parametrize("case", ["idle", "finishes", "requeued"])
def test_sigterm_stops_a_worker_and_its_job_is_finished_or_requeued(
    redis: Redis, redis_url: str, case: str
) -> None:
    env = {"MODEL_REVIEW_QUEUE": redis_url}
    hold, grace = {"idle": (0.0, 8.0), "finishes": (2.0, 60.0), "requeued": (3600.0, 0.5)}[case]
    worker = start_worker(redis_url, grace=grace, hold=hold)
    try:
        wait_until(lambda: presence.check(env)[0], "the worker's heartbeat")
        if case != "idle":
            RedisQueue(redis, tuning=Tuning(retry_delays=(1,))).submit(review_job("d-stop"))
            wait_until(lambda: redis.get("test:running") == b"d-stop", "the job to start")
    finally:
        assert stop(worker) == 0
    assert presence.check(env) == (
        False,
        presence.NOT_SEEN.format(
            host=presence.host_of(presence.worker_name()), ttl=presence.PRESENCE_TTL
        ),
    )
    if case == "finishes":
        assert (job_state(redis, "d-stop"), done(redis)) == ("finished", ["d-stop"])
    if case == "requeued":
        assert done(redis) == []
        assert job_state(redis, "d-stop") in {"scheduled", "queued"}
        configure(lambda job: redis.rpush("test:done", job.delivery_id), Tuning())
        wait_until(lambda: (sweep(redis), rq_queue(redis).count)[1] == 1, "the retry")
        make_worker(redis).work(burst=True)
        assert (job_state(redis, "d-stop"), done(redis)) == ("finished", ["d-stop"])


def test_the_pubsub_thread_of_a_worker_wakes_every_second(redis: Redis) -> None:
    worker = make_worker(redis)
    worker.subscribe()
    try:
        assert worker.pubsub_thread.sleep_time == PUBSUB_WAIT <= 1.0
    finally:
        worker.unsubscribe()


def test_the_worker_probe_without_a_queue_or_redis() -> None:
    assert presence.check({}) == (False, presence.NO_QUEUE)
    alive, why = presence.check({"MODEL_REVIEW_QUEUE": "redis://127.0.0.1:1/0"})
    assert not alive and why.startswith("Redis does not answer")
    assert presence.PRESENCE.startswith("model-review:")


def scrape(client: FlaskClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of `/metrics`, parsed by prometheus_client's own parser."""
    from prometheus_client.parser import text_string_to_metric_families

    answer = client.get("/metrics")
    assert answer.status_code == 200 and answer.content_type.startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.get_data(as_text=True))
        for sample in family.samples
    }


def test_metrics_parse_as_prometheus_text_and_move_with_deliveries() -> None:
    from bot.app.queue.jobs import run_guarded
    from bot.app.webhook import AppDeps, MemoryDeliveries
    from tests.fakes import FakeQueue

    client = create_app(SETTINGS, AppDeps(FakeQueue(), MemoryDeliveries())).test_client()
    queued = ("model_review_deliveries_total", (("event", "pull_request"), ("outcome", "queued")))
    unsigned = (
        "model_review_deliveries_total",
        (("event", "pull_request"), ("outcome", "unsigned")),
    )
    done = ("model_review_jobs_total", (("outcome", "done"),))
    before = scrape(client)
    payload = dict(review_job("d-metrics").payload)
    assert deliver(client, "pull_request", payload, "d-metrics").status_code == 202
    deliver(client, "pull_request", payload, "d-forged", signature="sha256=00")
    run_guarded(lambda job: None, review_job("d-metrics"))
    runner, _, _ = runner_with_fakes()
    runner(review_job("d-reviewed"))  # GitHub and MLflow (fakes) through the ports
    after = scrape(client)
    for dependency in ("github", "mlflow"):
        calls = (
            "model_review_dependency_calls_total",
            (("dependency", dependency), ("outcome", "ok")),
        )
        assert after[calls] > before.get(calls, 0.0)

    assert after[queued] - before.get(queued, 0.0) == 1
    assert after[unsigned] - before.get(unsigned, 0.0) == 1
    assert after[done] - before.get(done, 0.0) == 1
    assert after[("model_review_queue_depth", ())] == 1  # the FakeQueue holds the job
    assert ("model_review_job_duration_seconds_count", (("outcome", "done"),)) in after


def test_the_operating_guide_names_every_metric_the_app_exports() -> None:
    import re

    from prometheus_client.parser import text_string_to_metric_families

    from bot.app.webhook import AppDeps, MemoryDeliveries
    from tests.fakes import FakeQueue

    client = create_app(SETTINGS, AppDeps(FakeQueue(), MemoryDeliveries())).test_client()
    payload = dict(review_job("d-named").payload)
    assert deliver(client, "pull_request", payload, "d-named").status_code == 202  # samples
    text = client.get("/metrics").get_data(as_text=True)
    exported = {
        family.name + ("_total" if family.type == "counter" else "")
        for family in text_string_to_metric_families(text)
        # a counter's or histogram's `_created` timestamp comes as a gauge of its own
        if family.name.startswith("model_review_") and not family.name.endswith("_created")
    }
    documented = set(re.findall(r"`(model_review_\w+)", (ROOT / "docs/github-app.md").read_text()))
    assert exported - documented == set()  # every metric is explained
    assert documented - exported == set()  # and the guide names none that does not exist


def test_json_logs_are_one_object_per_line_with_the_delivery_id() -> None:
    import json

    from bot.app.logcontext import JsonFormatter, OneLineFormatter, log_formatter

    formatter = log_formatter({"MODEL_REVIEW_LOG_FORMAT": "json"})
    assert isinstance(formatter, JsonFormatter)
    assert isinstance(log_formatter({}), OneLineFormatter)
    record = logging.LogRecord("bot.x", logging.INFO, __file__, 1, "two\nlines %s", ("x",), None)
    record.delivery_id = "d-json"
    line = formatter.format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert (entry["delivery"], entry["message"], entry["level"]) == (
        "d-json",
        "two\nlines x",
        "INFO",
    )


def test_github_rate_limit_in_metrics_is_what_githubs_last_answer_said(
    app_key: str, tracking_env: str, mlflow_client: Any
) -> None:
    """The App's runner, as deployed (its own AppInstallations: JWT, installation token),
    reviews a PR on the GitHub simulator, which sends X-RateLimit-* on every answer."""
    from mlflow_helpers import make_run

    from bot.app.queue.jobs import Job
    from bot.app.queue.runner import JobRunner
    from bot.app.webhook import AppDeps, MemoryDeliveries
    from tests.action_runner import pr_event
    from tests.fakes import FakeQueue
    from tests.github_sim import GitHubSim

    run_id = make_run(mlflow_client, "rate-limit", {"lr": 0.1}, {"auc": 0.9})
    sim = GitHubSim(
        body=f"Retrain: runs:/{run_id}/model",
        bot_login="model-review[bot]",
        installation_id=4242,
        rate_remaining=4321,
    )
    settings = dataclasses.replace(
        SETTINGS, private_key=app_key, tracking_uri=tracking_env, github_throttle=False
    )
    runner = JobRunner(settings, images=lambda github: lambda *args: None)
    client = create_app(SETTINGS, AppDeps(FakeQueue(), MemoryDeliveries())).test_client()
    remaining = ("model_review_github_rate_limit_remaining", (("installation", "4242"),))
    limit = ("model_review_github_rate_limit", (("installation", "4242"),))

    def review(delivery: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        payload = pr_event(sim, "synchronize")
        payload["installation"]["id"] = 4242
        runner(Job("pull_request", payload, delivery))
        return scrape(client)

    with sim.mocked("http://127.0.0.1"):  # MLflow: the real server
        first = review("d-rate-1")
        assert sim.bot_comments and run_id[:8] in sim.bot_comments[0]["body"]
        assert first[remaining] == sim.rate_remaining < 4321  # the last answer's value
        assert first[limit] == 5000
        sim.rate_remaining = 17  # the installation spent its hour elsewhere meanwhile
        second = review("d-rate-2")
    assert second[remaining] == sim.rate_remaining < 17
    assert ("POST", "app/installations/I/access_tokens") in sim.calls


def test_the_rate_limit_gauge_keeps_the_most_recent_value_across_gunicorn_processes(
    tmp_path: Path,
) -> None:
    """In multiprocess mode (PROMETHEUS_MULTIPROC_DIR) each process writes its own file;
    the scrape shows the value seen last by any of them, not a sum or a maximum."""
    import os

    from prometheus_client.parser import text_string_to_metric_families

    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    seen = "import sys; from bot.app import metrics; metrics.github_rate_limit(9, {}, 5000)"
    for remaining in (4000, 3000):  # two processes, one after the other
        subprocess.run([sys.executable, "-c", seen.format(remaining)], env=env, check=True)
    scraped = subprocess.run(
        [sys.executable, "-c", "from bot.app import metrics; print(metrics.exposition().decode())"],
        env=env, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    values = {
        sample.name: sample.value
        for family in text_string_to_metric_families(scraped)
        for sample in family.samples
        if sample.labels.get("installation") == "9"
    }
    assert values == {
        "model_review_github_rate_limit_remaining": 3000,
        "model_review_github_rate_limit": 5000,
    }
