"""Recovery without hands: a review that fails because MLflow is down is retried, and a
PR left at `error` for that reason is reviewed again by reconcile once MLflow answers.

A REAL MLflow server of the test's own (tests/mlflow_server.py, not the session's
shared one) is stopped and started again on the same port and store; the queue is a
REAL redis-server; GitHub is the typed FakeGitHub behind the App's runner.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from matrix import row
from redis import Redis

from bot.app.queue.jobs import InProcessQueue, Job, TransientFailure
from bot.app.queue.reconcile import reconcile
from bot.app.queue.redisqueue import RedisQueue, Tuning, job_state, rq_queue
from bot.app.queue.redisworker import configure, make_worker
from bot.app.queue.rqworker import sweep
from bot.app.queue.runner import JobRunner
from bot.domain import GateState
from bot.handlers.reviewdue import RETRY_DUE
from bot.handlers.state import decode_state
from bot.handlers.stateparts import Failure
from tests.conftest import CLIENT_ENV
from tests.fakes import FakeGitHub, FakeInstallations, FakeInventory, FakeQueue
from tests.mlflow_server import free_port, running_server
from tests.redis_server import STEADY_LEASE
from tests.test_jobs import REPO, SETTINGS, linked_pull
from tests.test_operations import wait_until
from tests.test_redisworker import review_job

HEAD = "e" * 40
UNREACHABLE = "cannot be reached"


@dataclass
class World:
    """A private MLflow server (stopped between `up()` blocks), one run in it, and
    the App's runner over a FakeGitHub whose PR #2 links that run."""

    folder: Path
    port: int
    run_id: str
    runner: JobRunner
    github: FakeGitHub
    apps: FakeInstallations

    def up(self) -> object:
        return running_server(self.folder, port=self.port)

    def last_status(self) -> tuple[GateState, str]:
        sha, state, description, _ = self.github.statuses[-1]
        assert sha == HEAD
        return state, description

    def failure(self) -> Failure | None:
        state = decode_state(self.github.comment_list[-1].body)
        return state.failure if state else None


@pytest.fixture(scope="module")
def stopped_mlflow(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, str]:
    """A private MLflow server's store and port, with one run in it; the server is
    stopped (tests start it again with `World.up`)."""
    from mlflow.tracking import MlflowClient
    from mlflow_helpers import make_run

    folder, port = tmp_path_factory.mktemp("recovery") / "mlflow", free_port()
    with pytest.MonkeyPatch.context() as env:
        for key, value in CLIENT_ENV.items():
            env.setenv(key, value)
        with running_server(folder, port=port) as server:
            run_id = make_run(MlflowClient(server.uri), "recovery", {"lr": 0.1}, {"auc": 0.9})
    return folder, port, run_id


@pytest.fixture
def world(stopped_mlflow: tuple[Path, int, str], monkeypatch: pytest.MonkeyPatch) -> World:
    for key, value in CLIENT_ENV.items():  # a dead server fails in seconds
        monkeypatch.setenv(key, value)
    folder, port, run_id = stopped_mlflow
    github = FakeGitHub(login="model-review[bot]")
    github.pulls[2] = linked_pull(run_id)
    apps = FakeInstallations(repos={REPO: github}, installed={REPO: 77})
    settings = replace(SETTINGS, tracking_uri=f"http://127.0.0.1:{port}")
    runner = JobRunner(settings, apps, images=lambda github: lambda *args: None)
    return World(folder, port, run_id, runner, github, apps)


@row(
    "queue",
    "MLflow is down during a review (connection refused) and comes back",
    "The status is `error` with the reason and the state keeps it as transient; the job is "
    "retried after its delay and, MLflow back, the review is published and the failure "
    "forgotten",
)
@pytest.mark.slow
@pytest.mark.usefixtures("restore_signals")
def test_a_review_failing_while_mlflow_is_down_is_retried(world: World, redis: Redis) -> None:
    tuning = Tuning(lease=STEADY_LEASE, sweep=0.3, retry_delays=(1,))
    configure(world.runner, tuning)
    RedisQueue(redis, tuning=tuning).submit(review_job("d-mlflow-down"))
    make_worker(redis, tuning=tuning).work(burst=True)  # MLflow is stopped

    state, description = world.last_status()
    assert state is GateState.ERROR and UNREACHABLE in description
    failure = world.failure()
    assert failure is not None and failure.transient and UNREACHABLE in failure.why
    assert job_state(redis, "d-mlflow-down") in {"scheduled", "queued"}  # retried, not done

    with world.up():
        wait_until(lambda: (sweep(redis), rq_queue(redis).count)[1] == 1, "the retry")
        make_worker(redis, tuning=tuning).work(burst=True)
    assert world.last_status()[0] is GateState.PENDING  # reviewed: waiting for approvals
    assert world.run_id[:8] in world.github.comment_list[-1].body
    assert world.failure() is None
    assert job_state(redis, "d-mlflow-down") == "finished"


@row(
    "queue",
    "A PR was left at `error` because MLflow was down, after its retries",
    "Reconcile leaves it while MLflow is still down and queues its review once MLflow "
    "answers; the review is published",
)
@pytest.mark.slow
def test_reconcile_reviews_a_pr_left_at_error_once_mlflow_answers(world: World) -> None:
    with pytest.raises(TransientFailure, match=UNREACHABLE):
        world.runner(review_job("d-down"))
    assert world.last_status()[0] is GateState.ERROR
    inventory = FakeInventory(world.apps)

    queue = FakeQueue()
    still_down = reconcile(inventory, world.apps, world.runner.tracking, queue)
    assert (still_down.checked, still_down.queued) == (1, [])

    with world.up():
        report = reconcile(inventory, world.apps, world.runner.tracking, queue)
        failure = world.failure()
        assert failure is not None and failure.transient
        assert [line.split(": ", 1)[1] for line in report.queued] == [f"{RETRY_DUE}: {failure.why}"]
        [job] = queue.jobs
        world.runner(job)
    assert world.last_status()[0] is GateState.PENDING
    assert world.failure() is None


@row(
    "queue",
    "A review fails for a permanent reason (the config on the base branch is broken)",
    "Not retried: the job completes with the status `error` and the reason, the state says "
    "`permanent`, and reconcile does not queue it again",
)
@pytest.mark.usefixtures("restore_signals")
def test_a_permanent_failure_is_not_retried(world: World, redis: Redis) -> None:
    world.github.files[(".github/model-review.yml", "b" * 40)] = "gate: [unclosed\n"
    tuning = Tuning(lease=STEADY_LEASE, sweep=0.3, retry_delays=(0,))
    configure(world.runner, tuning)
    RedisQueue(redis, tuning=tuning).submit(review_job("d-config"))
    make_worker(redis, tuning=tuning).work(burst=True)

    assert job_state(redis, "d-config") == "finished"  # no retry scheduled
    assert world.last_status()[0] is GateState.ERROR
    failure = world.failure()
    assert failure is not None and not failure.transient
    assert failure.why.startswith(".github/model-review.yml")
    queue = FakeQueue()
    assert (
        reconcile(FakeInventory(world.apps), world.apps, world.runner.tracking, queue).queued == []
    )


def test_the_in_process_queue_retries_a_transient_failure() -> None:
    calls: list[str] = []
    settled: list[bool] = []

    def flaky(job: Job) -> None:
        calls.append(job.delivery_id)
        if len(calls) < 3:
            raise TransientFailure("MLflow at x cannot be reached")

    queue = InProcessQueue(
        flaky, workers=1, settle=lambda job, ok: settled.append(ok), retry_delays=(0.0, 0.0, 0.0)
    )
    queue.submit(review_job("d-flaky"))
    wait_until(lambda: settled, "the job to settle")
    queue.close(5.0)
    assert (calls, settled) == (["d-flaky"] * 3, [True])
