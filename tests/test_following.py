"""When production moves, open reviews follow (bot.handlers.following, .moved and
bot.app.queue.registry) over the typed fakes: the registry job finds the approved PR
whose review compared with the moved alias, queues its review, and the review sets
the status back to pending and says why; a PR about another model is not touched;
the bounds hold; alias links follow their alias."""

from __future__ import annotations

import logging
import re
from dataclasses import replace

import pytest
from matrix import row
from redis import Redis

from bot.app.queue.jobs import Job
from bot.app.queue.reconcile import reconcile
from bot.app.queue.recovery import InlineQueue
from bot.app.queue.redisqueue import RedisQueue, Tuning
from bot.app.queue.redisworker import configure, make_worker
from bot.app.queue.registry import follow, follow_event
from bot.app.queue.runner import JobRunner
from bot.app.settings import Settings
from bot.domain import GateState, RunSnapshot
from bot.handlers.following import (
    REGISTRY_JOB,
    BadEvent,
    RegistryEvent,
    linked_aliases,
    registry_event,
)
from bot.handlers.moved import REGISTRY, SCHEDULE, TRIGGER_KEY, Trigger, moved_words
from tests.fakes import FakeInventory, FakeQueue, FakeRuns
from tests.redis_server import STEADY_LEASE
from tests.registry_world import CHURN, FRAUD, alias_event, approved, installation

SETTINGS = Settings(
    app_id=1, private_key="unused", webhook_secret="unused", tracking_uri="http://mlflow.test"
)
MOVED = "production moved from v1 to v3 at 14:02 UTC by the registry"
AGAIN = "approvals must be given again"


def _run(run_id: str) -> RunSnapshot:
    return RunSnapshot(run_id=run_id, experiment_id="1", metrics={"val_auc": 0.9})


def _world() -> tuple[FakeRuns, JobRunner]:
    """fraud-model v1 is production, v2 the candidate of FRAUD; churn-model likewise
    for CHURN; both PRs approved."""
    runs = FakeRuns()
    for run_id in ("p" * 32, "c" * 32, "q" * 32, "d" * 32, "n" * 32):
        runs.add_run(_run(run_id))
    runs.register("fraud-model", "p" * 32, aliases=["production"])
    runs.register("fraud-model", "c" * 32)
    runs.register("churn-model", "q" * 32, aliases=["production"])
    runs.register("churn-model", "d" * 32)
    apps = installation({FRAUD: f"runs:/{'c' * 32}/model", CHURN: f"runs:/{'d' * 32}/model"})
    for pull in (FRAUD, CHURN):
        approved(apps.repos[pull.repo], pull, lambda config: runs)
    runner = JobRunner(SETTINGS, apps, runs=lambda config: runs, images=lambda gh: lambda *a: None)
    runner.inventory = FakeInventory(apps)
    runner.queue = InlineQueue(runner)  # the re-reviews run at once, here
    return runs, runner


def _apps(runner: JobRunner) -> FakeInventory:
    assert isinstance(runner.inventory, FakeInventory)
    return runner.inventory


def test_moving_production_sends_the_approved_pr_back_to_pending_and_says_why() -> None:
    runs, runner = _world()
    apps = _apps(runner).apps
    fraud, churn = apps.repos[FRAUD.repo], apps.repos[CHURN.repo]
    churn_before = (list(churn.writes), churn.comment_list[0].body)
    runs.register("fraud-model", "n" * 32)  # v3
    runs.set_alias("fraud-model", "production", "3")

    runner(Job(REGISTRY_JOB, alias_event("fraud-model", "3"), "mlflow-d-1"))

    assert fraud.status_of(FRAUD.head) is GateState.PENDING
    body = fraud.comment_list[0].body
    assert f"{MOVED}; {AGAIN}" in body
    assert (churn.writes, churn.comment_list[0].body) == churn_before  # not touched


@row(
    "queue",
    "Production moves while the App runs with the Redis queue",
    "the worker's registry job queues the re-review; the PR is pending, the comment says why",
)
@pytest.mark.usefixtures("restore_signals")
def test_on_the_redis_queue_the_worker_queues_and_runs_the_re_review(
    redis: Redis, redis_url: str
) -> None:
    runs, local = _world()
    apps = _apps(local).apps
    steady = Tuning(lease=STEADY_LEASE, sweep=0.3, retry_delays=(0,))
    settings = replace(SETTINGS, queue_url=redis_url)
    runner = JobRunner(settings, apps, runs=lambda config: runs, images=lambda gh: lambda *a: None)
    runner.inventory = FakeInventory(apps)  # no queue given: the worker's own, on Redis
    configure(runner, steady)
    runs.register("fraud-model", "n" * 32)
    runs.set_alias("fraud-model", "production", "3")

    RedisQueue(redis, tuning=steady).submit(
        Job(REGISTRY_JOB, alias_event("fraud-model", "3"), "mlflow-r")
    )
    make_worker(redis, tuning=steady).work(burst=True)  # the registry job, then the review

    fraud = apps.repos[FRAUD.repo]
    assert fraud.status_of(FRAUD.head) is GateState.PENDING
    assert f"{MOVED}; {AGAIN}" in fraud.comment_list[0].body


def test_reconcile_the_safety_net_words_a_moved_production_too() -> None:
    runs, runner = _world()
    apps = _apps(runner)
    runs.register("fraud-model", "n" * 32)
    runs.set_alias("fraud-model", "production", "3")  # no delivery arrived

    report = reconcile(apps, apps.apps, lambda config: runs, InlineQueue(runner))

    assert [line.split(":")[0] for line in report.queued] == [f"{FRAUD.repo}#{FRAUD.number}"]
    fraud = apps.apps.repos[FRAUD.repo]
    assert fraud.status_of(FRAUD.head) is GateState.PENDING
    found = re.search(
        r"production moved from v1 to v3 \(found at \d\d:\d\d UTC by reconcile\)",
        fraud.comment_list[0].body,
    )
    assert found and AGAIN in fraud.comment_list[0].body


def test_an_event_about_another_alias_or_model_queues_nothing() -> None:
    _, runner = _world()
    queue = FakeQueue()
    runner.queue = queue
    for payload in (
        {
            **alias_event("fraud-model", "2"),
            "data": {"name": "fraud-model", "alias": "staging", "version": "2"},
        },
        alias_event("unknown-model", "1"),
    ):
        follow_event(runner, Job(REGISTRY_JOB, payload, "mlflow-d-2"))
    assert queue.jobs == []


def test_a_deleted_production_alias_is_followed_too() -> None:
    _, runner = _world()
    queue = FakeQueue()
    runner.queue = queue
    done = follow_event(runner, Job(REGISTRY_JOB, alias_event("churn-model", None, "deleted"), "m"))

    assert done is not None and [line.split(":")[0] for line in done.queued] == [
        f"{CHURN.repo}#{CHURN.number}"
    ]
    [job] = queue.jobs
    assert job.key == f"{CHURN.repo}#{CHURN.number}" and job.supersedable
    assert job.payload[TRIGGER_KEY] == {"source": REGISTRY, "at": "2026-12-06T14:02:11Z"}


@row(
    "queue",
    "A registry event about more open PRs than MODEL_REVIEW_MLFLOW_MAX_PRS",
    "that many re-reviews queued; the rest left to reconcile, with a warning",
)
def test_at_most_n_reviews_per_event_and_the_rest_is_left_to_reconcile(
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, runner = _world()
    apps = _apps(runner)
    queue = FakeQueue()
    event = RegistryEvent("model_version_alias", "deleted", "fraud-model", "production")
    extra = apps.apps.repos[FRAUD.repo]
    for number in (11, 12):  # more PRs of the same repository compared with fraud-model
        extra.pulls[number] = replace(extra.pulls[FRAUD.number], number=number)
    with caplog.at_level(logging.INFO):
        done = follow(event, apps, apps.apps, queue, lambda *_: None, max_prs=1, max_requests=300)

    assert len(queue.jobs) == 1 and done.left == 2  # churn's PR first: not about fraud-model
    assert "2 open PRs left to reconcile: at most 1 re-reviews per event" in caplog.text


def test_the_request_budget_bounds_an_event() -> None:
    _, runner = _world()
    apps = _apps(runner)
    event = RegistryEvent("model_version_alias", "deleted", "fraud-model", "production")
    done = follow(event, apps, apps.apps, FakeQueue(), lambda *_: None, max_prs=50, max_requests=5)
    assert done.requests <= 5 and done.left >= 1
    assert done.stopped == "the request budget (5) is spent"


def test_a_pr_linking_the_model_by_alias_follows_that_alias() -> None:
    _, runner = _world()
    apps = _apps(runner)
    fraud = apps.apps.repos[FRAUD.repo]
    pull = fraud.pulls[FRAUD.number]
    fraud.pulls[FRAUD.number] = type(pull)(
        **{**vars(pull), "body": "models:/fraud-model@challenger"}
    )
    lookup = {("fraud-model", "challenger"): "2"}

    def run(event: RegistryEvent) -> list[Job]:
        queue = FakeQueue()
        follow(
            event,
            apps,
            apps.apps,
            queue,
            lambda n, a: lookup.get((n, a)),
            max_prs=9,
            max_requests=99,
        )
        return queue.jobs

    challenger = RegistryEvent("model_version_alias", "created", "fraud-model", "challenger", "2")
    [job] = run(challenger)
    assert TRIGGER_KEY not in job.payload  # the runs under review changed: today's words
    assert len(run(RegistryEvent("model_version_tag", "set", "fraud-model", None, "2"))) == 1
    assert run(RegistryEvent("model_version_tag", "set", "fraud-model", None, "1")) == []
    assert run(RegistryEvent("model_version", "created", "fraud-model", None, "4")) == []


def test_reading_events() -> None:
    assert registry_event({"entity": "registered_model", "action": "created"}) is None
    deleted = registry_event(alias_event("m", None, "deleted"))
    assert deleted == RegistryEvent(
        "model_version_alias", "deleted", "m", "production", None, "2026-12-06T14:02:11Z"
    )
    with pytest.raises(BadEvent, match="no `version`"):
        registry_event({"entity": "model_version", "action": "created", "data": {"name": "m"}})
    with pytest.raises(BadEvent, match="no `data`"):
        registry_event({"entity": "model_version", "action": "created", "data": []})


def test_the_words_of_a_move() -> None:
    at = "2026-12-06T14:02:11Z"
    registry, schedule = Trigger(REGISTRY, at), Trigger(SCHEDULE, at)
    before, after = "v3 (run `a`) | 1a2b3c4d", "v4 (run `b`) | 1a2b3c4d"
    assert (
        moved_words(before, after, registry)
        == "production moved from v3 to v4 at 14:02 UTC by the registry"
    )
    assert moved_words(before, after, schedule) == (
        "production moved from v3 to v4 (found at 14:02 UTC by the scheduled check)"
    )
    assert moved_words(before, "none", registry) == (
        "production no longer names a version (it was v3) at 14:02 UTC by the registry"
    )
    assert moved_words("run `a`", "run `b`", registry) is None  # a pinned baseline


def test_links_by_alias() -> None:
    texts = ["see models:/fraud-model@challenger and models:/churn@production", "runs:/x/model"]
    assert linked_aliases(texts, "fraud-model") == {"challenger"}
    assert linked_aliases(texts, "other") == set()
