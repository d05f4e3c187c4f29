"""bot.app.queue.reconcile and bot.app.queue.recovery: a PR whose delivery never arrived is
found and reviewed (on a REAL redis-server with a worker), PRs with a job in flight are skipped,
a run is bounded in GitHub requests, and the App runs it periodically with one leader."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest
from redis import Redis

from bot.app.queue.reconcile import Report, reconcile
from bot.app.queue.recovery import InlineQueue, RedisLeader, reconcile_with, run_periodically
from bot.app.queue.redisqueue import RedisQueue, Tuning
from bot.app.queue.redisworker import configure, make_worker
from bot.domain import GateState, PullRequest
from tests.fakes import FakeInventory, FakeQueue
from tests.redis_server import STEADY_LEASE
from tests.test_jobs import REPO, SETTINGS, runner_with_fakes

HEAD = "e" * 40
STEADY = Tuning(lease=STEADY_LEASE, sweep=0.3, retry_delays=(0,))


@pytest.mark.usefixtures("restore_signals")
def test_a_pr_whose_delivery_never_arrived_is_reviewed(redis: Redis) -> None:
    runner, apps, runs = runner_with_fakes()
    configure(runner, STEADY)
    queue = RedisQueue(redis, tuning=STEADY)
    github = apps.repos[REPO]
    assert github.status_of(HEAD) is None  # GitHub never sent the delivery

    report = reconcile(FakeInventory(apps), apps, lambda config: runs, queue)
    assert report.queued == [
        f"{REPO}#2: no status on the head commit, and the PR links MLflow runs"
    ]
    assert queue.depth() == 1
    make_worker(redis, tuning=STEADY).work(burst=True)

    assert len(github.comment_list) == 1
    assert github.status_of(HEAD) is GateState.PENDING
    again = reconcile(FakeInventory(apps), apps, lambda config: runs, queue)
    assert (again.checked, again.queued) == (1, [])  # reviewed: nothing more to do


def test_a_pr_with_a_job_in_flight_is_skipped(redis: Redis) -> None:
    _, apps, runs = runner_with_fakes()
    queue = RedisQueue(redis, tuning=STEADY)
    first = reconcile(FakeInventory(apps), apps, lambda config: runs, queue)
    second = reconcile(FakeInventory(apps), apps, lambda config: runs, queue)

    assert len(first.queued) == 1
    assert (second.busy, second.queued) == (1, [])
    assert queue.depth() == 1


def test_a_dry_run_queues_nothing_and_one_repository_can_be_chosen() -> None:
    _, apps, runs = runner_with_fakes()
    apps.installed["acme/other"] = 78
    queue = FakeQueue()
    report = reconcile(
        FakeInventory(apps), apps, lambda config: runs, queue, repo=REPO, dry_run=True
    )
    assert [line.split(":")[0] for line in report.queued] == [f"{REPO}#2"]
    assert queue.jobs == [] and "acme/other" not in apps.repos


def test_a_run_stops_at_its_request_budget() -> None:
    _, apps, runs = runner_with_fakes()
    github = apps.repos[REPO]
    for number in range(3, 40):
        github.pulls[number] = replace(github.pulls[2], number=number, body="no runs here")
    queue = FakeQueue()
    report = reconcile(FakeInventory(apps), apps, lambda config: runs, queue, max_requests=30)

    assert report.stopped == "the request budget (30) is spent"
    assert report.requests <= 30 and 0 < report.checked < 38
    assert [job.key for job in queue.jobs] == [f"{REPO}#2"]


def test_the_reconcile_job_is_a_review_of_the_pull_request() -> None:
    _, apps, runs = runner_with_fakes()
    queue = FakeQueue()
    reconcile(FakeInventory(apps), apps, lambda config: runs, queue)
    [job] = queue.jobs
    assert job.key == f"{REPO}#2" and job.supersedable
    assert job.delivery_id.startswith("reconcile-")
    assert job.event().installation_id == 77  # the installation it was found under


def test_without_redis_the_command_reviews_in_place() -> None:
    runner, apps, _ = runner_with_fakes()
    queue = InlineQueue(runner)
    report = reconcile_with(SETTINGS, runner, queue, FakeInventory(apps))

    assert len(report.queued) == 1 and queue.failed == 0
    assert apps.repos[REPO].status_of(HEAD) is GateState.PENDING


def test_one_leader_per_period_across_processes(redis: Redis, redis_url: str) -> None:
    from bot.app.queue.redisqueue import connect

    here, there = RedisLeader(redis), RedisLeader(connect(redis_url))
    assert here.take(60) and not there.take(60) and not here.take(60)
    redis.delete(RedisLeader.KEY)  # the period is over
    assert there.take(60)


def test_the_periodic_run_calls_reconcile_while_it_leads() -> None:
    ran = threading.Event()
    stop = threading.Event()

    class Always:
        def take(self, seconds: int) -> bool:
            return True

    thread = run_periodically(1, Always(), ran.set, stop)
    try:
        assert ran.wait(30)
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive()


def test_the_report_says_what_happened() -> None:
    report = Report(checked=3, queued=["o/r#1: x"], busy=1, requests=9, stopped="budget")
    assert report.summary() == (
        "reconcile: 3 open PRs checked, 1 queued, 1 with a job in flight, 9 GitHub requests; "
        "stopped early: budget"
    )
    assert PullRequest  # the inventory speaks the domain's PullRequest
