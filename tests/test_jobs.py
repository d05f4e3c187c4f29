"""bot.app.queue.jobs: the in-process work queue (order per PR, supersession, crashes, bounds),
the delivery id on log lines, and the job runner over the typed fakes."""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bot.app.logcontext import DeliveryFilter
from bot.app.queue.jobs import InProcessQueue, Job, QueueStatus, run_guarded
from bot.app.queue.runner import JobRunner
from bot.app.settings import Settings
from bot.domain import GateState, PullRequest, Review, ReviewState, RunSnapshot
from bot.errors import GitHubError
from tests import github_payloads as gp
from tests.fakes import FakeGitHub, FakeInstallations, FakeRuns

REPO = "Codertocat/Hello-World"  # the repository of GitHub's example payloads
WAIT = 30.0  # generous bound for thread hand-offs; never a timing assertion


def review_job(delivery: str, number: int = 2, action: str = "synchronize") -> Job:
    payload = copy.deepcopy(gp.webhook("pull_request", "opened"))
    payload["action"] = action
    payload["number"] = payload["pull_request"]["number"] = number
    return Job("pull_request", payload, delivery)


def comment_job(delivery: str, body: str, number: int = 2) -> Job:
    payload = copy.deepcopy(gp.webhook("issue_comment", "created"))
    payload["issue"]["number"] = number
    payload["issue"]["pull_request"] = {
        "url": f"https://api.github.com/repos/{REPO}/pulls/{number}"
    }
    payload["comment"]["body"] = body
    return Job("issue_comment", payload, delivery)


class Recorder:
    """A job handler that records jobs, can hold chosen ones until released, can
    crash on chosen ones, and checks that one PR never has two jobs at once."""

    def __init__(
        self, hold: frozenset[str] = frozenset(), crash: frozenset[str] = frozenset()
    ) -> None:
        self.done: list[str] = []
        self.started: dict[str, threading.Event] = {}
        self.release: dict[str, threading.Event] = {d: threading.Event() for d in hold}
        self.crash = set(crash)
        self.active: dict[str, int] = {}
        self.overlap = False
        self._lock = threading.Lock()

    def started_event(self, delivery: str) -> threading.Event:
        with self._lock:
            return self.started.setdefault(delivery, threading.Event())

    def __call__(self, job: Job) -> None:
        with self._lock:
            self.active[job.key] = self.active.get(job.key, 0) + 1
            self.overlap |= self.active[job.key] > 1
        self.started_event(job.delivery_id).set()
        try:
            if job.delivery_id in self.release:
                assert self.release[job.delivery_id].wait(WAIT)
            if job.delivery_id in self.crash:
                raise RuntimeError(f"boom in {job.delivery_id}")
            with self._lock:
                self.done.append(job.delivery_id)
        finally:
            with self._lock:
                self.active[job.key] -= 1


MakeQueue = Callable[..., InProcessQueue]


@pytest.fixture
def make_queue() -> Iterator[MakeQueue]:
    """Builds queues over Recorders; afterwards releases held jobs and stops them."""
    made: list[tuple[InProcessQueue, Recorder]] = []

    def make(recorder: Recorder, **kwargs: Any) -> InProcessQueue:
        queue = InProcessQueue(recorder, **kwargs)
        made.append((queue, recorder))
        return queue

    yield make
    for queue, recorder in made:
        for event in recorder.release.values():
            event.set()
        queue.close(WAIT)


# --- jobs -------------------------------------------------------------------------------


def test_a_job_is_keyed_by_its_pull_request() -> None:
    assert review_job("d1", number=2).key == f"{REPO}#2"
    assert comment_job("d2", "/model-review refresh", number=5).key == f"{REPO}#5"
    assert review_job("d3").event().delivery_id == "d3"


def test_reviews_can_be_superseded_but_not_comments_whose_text_only_the_job_reads() -> None:
    assert review_job("d1").supersedable and review_job("d1").supersedes
    for body in ("/model-review refresh", "/model-review reassign primary @bob", "thanks!"):
        assert not comment_job("d2", body).supersedable
        assert not comment_job("d2", body).supersedes  # it may turn out to ask for nothing


def test_a_comment_job_drops_no_waiting_review(make_queue: MakeQueue) -> None:
    recorder = Recorder(hold=frozenset({"first"}))
    queue = make_queue(recorder, workers=1, capacity=10)
    assert queue.submit(review_job("first"))
    assert recorder.started_event("first").wait(WAIT)
    assert queue.submit(review_job("waiting"))
    assert queue.submit(comment_job("chatter", "thanks!"))
    assert queue.depth() == 2
    recorder.release["first"].set()
    assert queue.join(WAIT)
    assert recorder.done == ["first", "waiting", "chatter"]


# --- the in-process queue ------------------------------------------------------------------


def test_jobs_for_one_pr_run_in_order_one_at_a_time_and_newer_ones_supersede(
    make_queue: MakeQueue,
) -> None:
    recorder = Recorder(hold=frozenset({"first"}))
    queue = make_queue(recorder, workers=3, capacity=10)

    assert queue.submit(review_job("first"))
    assert recorder.started_event("first").wait(WAIT)
    assert queue.submit(review_job("older"))  # waits: the PR's first job is running
    assert queue.submit(comment_job("reassign", "/model-review reassign primary @bob"))
    assert queue.submit(review_job("newest"))  # supersedes "older", keeps "reassign"
    assert queue.depth() == 2
    recorder.release["first"].set()

    assert queue.join(WAIT)
    assert recorder.done == ["first", "reassign", "newest"]
    assert not recorder.overlap


def test_other_pull_requests_do_not_wait_for_a_busy_one(make_queue: MakeQueue) -> None:
    recorder = Recorder(hold=frozenset({"slow"}))
    queue = make_queue(recorder, workers=2, capacity=10)

    queue.submit(review_job("slow", number=1))
    assert recorder.started_event("slow").wait(WAIT)
    queue.submit(review_job("fast", number=2))

    assert recorder.started_event("fast").wait(WAIT)
    assert queue.join(0.01) is False  # "slow" is still held
    assert recorder.done == ["fast"]
    recorder.release["slow"].set()
    assert queue.join(WAIT)
    assert recorder.done == ["fast", "slow"]


def test_a_crashing_job_is_logged_with_its_delivery_id_and_the_worker_goes_on(
    make_queue: MakeQueue, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.handler.addFilter(DeliveryFilter())
    recorder = Recorder(crash=frozenset({"bad-delivery"}))
    queue = make_queue(recorder, workers=1, capacity=10)

    with caplog.at_level(logging.INFO, logger="bot"):
        queue.submit(review_job("bad-delivery", number=1))
        queue.submit(review_job("good-delivery", number=2))
        assert queue.join(WAIT)

    assert recorder.done == ["good-delivery"]  # the one worker survived the crash
    crashed = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(crashed) == 1
    assert "bad-delivery" in crashed[0].getMessage()
    assert crashed[0].delivery_id == "bad-delivery"  # type: ignore[attr-defined]
    assert crashed[0].exc_info is not None and "boom in bad-delivery" in str(crashed[0].exc_info[1])


def test_a_full_queue_refuses_but_superseding_needs_no_room(
    make_queue: MakeQueue,
) -> None:
    recorder = Recorder(hold=frozenset({"running"}))
    queue = make_queue(recorder, workers=1, capacity=1)
    queue.submit(review_job("running", number=1))
    assert recorder.started_event("running").wait(WAIT)

    assert queue.submit(review_job("waiting", number=2))
    assert not queue.submit(review_job("refused", number=3))  # full: 1 waiting
    assert queue.submit(review_job("replaces-waiting", number=2))
    assert queue.depth() == 1
    recorder.release["running"].set()

    assert queue.join(WAIT)
    assert recorder.done == ["running", "replaces-waiting"]


def test_a_closed_queue_accepts_nothing_and_rejects_bad_sizes(
    make_queue: MakeQueue,
) -> None:
    queue = make_queue(Recorder(), workers=1, capacity=5)
    queue.submit(review_job("before"))
    queue.close(WAIT)
    assert not queue.submit(review_job("after"))
    with pytest.raises(ValueError, match="at least 1"):
        InProcessQueue(Recorder(), workers=0)


def test_run_guarded_reports_a_user_error_without_raising(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def refuse(job: Job) -> None:
        raise GitHubError("GitHub refused the write", hint="grant statuses: write", status=403)

    with caplog.at_level(logging.INFO, logger="bot"):
        assert run_guarded(refuse, review_job("d-403")) is False
        assert run_guarded(lambda job: None, review_job("d-ok")) is True

    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "d-403" in record.getMessage() and "grant statuses: write" in record.getMessage()
    assert record.exc_info is None  # a user-facing error, not a traceback


# --- the job runner ----------------------------------------------------------------------


RUN_ID = "0123456789abcdef0123456789abcdef"
SETTINGS = Settings(
    app_id=1, private_key="unused", webhook_secret="unused", tracking_uri="http://mlflow.test"
)


def linked_pull(run_id: str = RUN_ID) -> PullRequest:
    """PR #2 of REPO (head e…e, base b…b), linking `run_id` in its body."""
    return PullRequest(
        number=2,
        title="Retrain",
        body=f"runs:/{run_id}/model",
        author="Codertocat",
        head_sha="e" * 40,
        base_sha="b" * 40,
        head_ref="retrain",
        base_ref="master",
        repo=REPO,
    )


def runner_with_fakes() -> tuple[JobRunner, FakeInstallations, FakeRuns]:
    github = FakeGitHub(login="model-review[bot]")
    github.pulls[2] = linked_pull()
    runs = FakeRuns()
    runs.add_run(RunSnapshot(run_id=RUN_ID, experiment_id="1", metrics={"auc": 0.9}))
    apps = FakeInstallations(repos={REPO: github}, installed={REPO: 77})
    no_images = lambda github: lambda *args: None  # noqa: E731
    runner = JobRunner(SETTINGS, apps, runs=lambda config: runs, images=no_images)
    return runner, apps, runs


def test_the_runner_reviews_as_the_payloads_installation() -> None:
    runner, apps, runs = runner_with_fakes()

    outcome = runner(review_job("d-review"))

    github = apps.repos[REPO]
    assert apps.used == [(1, REPO)]  # installation.id of the payload
    assert outcome is not None and outcome.gate is not None
    [comment] = github.comment_list
    assert comment.author == "model-review[bot]" and RUN_ID[:8] in comment.body
    assert github.status_of("e" * 40) is outcome.gate.state
    assert "fetch_runs" in runs.calls


def test_the_runner_finds_the_installation_when_the_payload_has_none() -> None:
    runner, apps, _ = runner_with_fakes()
    job = comment_job("d-refresh", "/model-review refresh")
    assert "installation" not in job.payload

    runner(job)

    assert apps.used == [(77, REPO)]
    assert apps.repos[REPO].status_of("e" * 40) in set(GateState)


def test_the_runner_does_nothing_for_an_event_it_ignores() -> None:
    runner, apps, runs = runner_with_fakes()
    chatter = comment_job("d-chat", "thanks!")

    assert runner(chatter) is None
    assert apps.used == [] and runs.calls == []


def test_a_closed_pull_request_is_never_superseded() -> None:
    from tests import github_payloads as gp

    closed = gp.webhook("pull_request", "closed")
    opened = gp.webhook("pull_request", "opened")
    assert not Job("pull_request", closed, "d-1").supersedable
    assert Job("pull_request", opened, "d-2").supersedable


def test_the_in_process_queue_reports_its_state_and_which_prs_are_busy(
    make_queue: MakeQueue, caplog: pytest.LogCaptureFixture
) -> None:
    now = [100.0]
    recorder = Recorder(hold=frozenset({"running"}))
    settled: list[tuple[str, bool]] = []
    queue = make_queue(
        recorder,
        workers=1,
        capacity=10,
        settle=lambda job, ok: settled.append((job.delivery_id, ok)),
        clock=lambda: now[0],
    )
    with caplog.at_level(logging.INFO, logger="bot"):
        queue.submit(review_job("running", number=1))
        assert recorder.started_event("running").wait(WAIT)
        queue.submit(review_job("waiting", number=2))
        now[0] += 7.5

        assert queue.status() == QueueStatus(depth=1, oldest_wait=7.5, workers=1, failed=0)
        assert queue.busy(f"{REPO}#1") and queue.busy(f"{REPO}#2")
        assert not queue.busy(f"{REPO}#3")
        recorder.crash.add("waiting")
        recorder.release["running"].set()
        assert queue.join(WAIT)

    assert queue.status() == QueueStatus(depth=0, oldest_wait=0.0, workers=1, failed=1)
    assert settled == [("running", True), ("waiting", False)]
    [line] = [r.getMessage() for r in caplog.records if "delivery=waiting" in r.getMessage()]
    assert f"pr={REPO}#2 outcome=failed duration=" in line


# --- the App's check run (issue #23) -------------------------------------------------------


def check_job(event: str, delivery: str, number: int = 2) -> Job:
    """GitHub's `rerequested` example ("Re-run"), about PR `number`."""
    payload = copy.deepcopy(gp.webhook(event, "rerequested"))
    payload[event]["pull_requests"] = [{"number": number, "id": 1, "url": ""}]
    payload["repository"]["full_name"] = REPO
    return Job(event, payload, delivery)


def test_the_app_publishes_the_gate_as_one_check_run_updated_in_place() -> None:
    runner, apps, _ = runner_with_fakes()

    outcome = runner(review_job("d-review"))

    github = apps.repos[REPO]
    assert outcome is not None and outcome.gate is not None
    runs = [run for _, _, run in github.check_writes]
    assert [(r.status, r.conclusion) for r in runs] == [
        ("in_progress", None),
        ("completed", "action_required"),  # pending: waiting for reviewers
    ]
    final = runs[-1]
    assert final.title == outcome.gate.description
    assert final.details_url == outcome.comment_url and final.details_url
    assert RUN_ID[:8] in final.summary and "model-review:state" not in final.summary
    assert github.status_of("e" * 40) is outcome.gate.state  # both, the App's default

    runner(check_job("check_run", "d-rerun"))  # "Re-run": reviewed again, same run
    runner(check_job("check_suite", "d-rerun-all"))
    assert len(github.check_writes) == 6
    assert {run.check_id for _, _, run in github.check_writes} == {final.check_id}
    assert list(github.check_runs) == [("e" * 40, "model-review")]


@pytest.mark.parametrize(
    ("surface", "statuses", "checks"), [("status", 1, 0), ("check", 0, 2), ("both", 1, 2)]
)
def test_gate_surface_chooses_the_status_the_check_run_or_both(
    surface: str, statuses: int, checks: int
) -> None:
    runner, apps, _ = runner_with_fakes()
    github = apps.repos[REPO]
    github.files[(".github/model-review.yml", "b" * 40)] = f"gate:\n  surface: {surface}\n"

    runner(review_job("d-review"))

    assert len(github.statuses) == statuses
    assert len(github.check_writes) == checks


def test_a_rerequested_check_without_a_pull_request_is_ignored() -> None:
    runner, apps, _ = runner_with_fakes()
    job = check_job("check_run", "d-rerun")
    job.payload["check_run"]["pull_requests"] = []
    assert runner(job) is None
    assert apps.repos[REPO].writes == []


def completed(github: FakeGitHub) -> list[str | None]:
    """The conclusions the App's check run was completed with, in order."""
    return [run.conclusion for _, _, run in github.check_writes if run.status == "completed"]


def test_the_check_run_concludes_as_the_gate_and_succeeds_only_with_it() -> None:
    runner, apps, _ = runner_with_fakes()
    github = apps.repos[REPO]
    github.files[(".github/model-review.yml", "b" * 40)] = (
        "reviewers:\n  primary: [alice]\n  secondary: [bob]\n"
    )
    states = [runner(review_job("d-waiting"))]
    for login in ("alice", "bob"):  # after the review (far ahead): current approvals
        github.add_review(2, Review(login, ReviewState.APPROVED, "2099-01-01T00:00:00Z"))
    states.append(runner(review_job("d-approved")))
    github.add_review(2, Review("bob", ReviewState.CHANGES_REQUESTED, "2099-01-01T00:00:01Z"))
    states.append(runner(review_job("d-changes")))

    gates = [o.gate.state if o and o.gate else None for o in states]
    assert gates == [GateState.PENDING, GateState.SUCCESS, GateState.FAILURE]
    assert completed(github) == ["action_required", "success", "failure"]
    assert len({run.check_id for _, _, run in github.check_writes}) == 1  # one run, in place


def test_a_review_that_fails_closed_completes_its_check_run_as_a_failure() -> None:
    runner, apps, _ = runner_with_fakes()
    github = apps.repos[REPO]
    github.files[(".github/model-review.yml", "b" * 40)] = "gate: [unclosed\n"

    runner(review_job("d-broken"))

    assert github.status_of("e" * 40) is GateState.ERROR
    assert completed(github) == ["failure"]  # an error is never green, nor left running
