"""The review's record in MLflow (bot.handlers.record), written by the PR handler.

Against the REAL MLflow test server (tests/record_world.py); MLflow's own client
reads the tags back. Failures are simulated with the typed fake (FakeRuns).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from mlflow.tracking import MlflowClient
from mlflow_helpers import RequestLog

from bot.config.schema import Config
from bot.domain import (
    Baseline,
    GateDecision,
    GateState,
    PullRequest,
    Review,
    ReviewReport,
    ReviewState,
    RunSnapshot,
)
from bot.handlers.context import Deps
from bot.handlers.mlflowwrite import ATTEMPTS
from bot.handlers.pull_request import review_pull_request
from bot.handlers.record import RecordInputs, review_tags
from bot.handlers.state import decode_state
from tests.fakes import FakeGitHub, FakeRuns
from tests.record_world import CONFIG, HEAD, URL, World, build_world

APPROVED = {
    "model_review.status": "approved",
    "model_review.pr": URL,
    "model_review.approvers": "bob,carol",
    "model_review.approved_at": "2026-11-27T11:05:00Z",
}


@pytest.fixture
def world(mlflow_client: MlflowClient, mlflow_server: str) -> World:
    return build_world(mlflow_client, mlflow_server)


@pytest.fixture
def requests_log(monkeypatch: pytest.MonkeyPatch) -> RequestLog:
    return RequestLog.install(monkeypatch)


def test_nothing_is_recorded_before_the_gate_is_green(world: World) -> None:
    world.review()
    world.approve("bob", "2026-11-27T11:00:00Z")
    world.review()
    assert world.tags(world.first) == {}
    assert world.version_tags("2") == {}


def test_approval_tags_the_run_and_its_model_version(world: World) -> None:
    world.review()
    world.approve_both()
    outcome = world.review()

    assert outcome.gate is not None and outcome.gate.state is GateState.SUCCESS
    expected = {**APPROVED, "model_review.compared_to": world.production}
    assert world.tags(world.first) == expected
    assert world.version_tags("2") == expected
    notes = world.client.get_run(world.first).data.tags["mlflow.note.content"]
    assert notes == "# Deeper\n\nSix levels."  # the run's notes are never touched
    assert world.tags(world.production) == {} and world.version_tags("1") == {}
    state = decode_state(world.body)
    assert state is not None and state.recorded == (world.first,)


def test_repeated_events_make_no_mlflow_write(world: World, requests_log: RequestLog) -> None:
    world.review()
    world.approve_both()
    world.review()
    writes, sent = len(requests_log.writes), len(requests_log.sent)
    assert writes >= 6  # the approval: 5 version tags and one batch of run tags
    github_writes = list(world.github.writes)

    outcome = world.review()
    world.review()

    assert outcome.gate is not None and outcome.gate.state is GateState.SUCCESS
    assert len(requests_log.sent) > sent  # the bot read MLflow again ...
    assert len(requests_log.writes) == writes  # ... and wrote nothing there ...
    assert world.github.writes == github_writes  # ... nor on GitHub


def test_a_run_changed_after_the_approval_is_stale_until_approved_again(
    world: World, mlflow_client: MlflowClient
) -> None:
    world.review()
    world.approve_both()
    world.review()
    mlflow_client.log_metric(world.first, "val_f1", 0.86, step=1)
    world.d.now = lambda: "2026-11-27T12:00:00Z"

    outcome = world.review()

    assert outcome.gate is not None and outcome.gate.state is GateState.PENDING
    tags = world.tags(world.first)
    assert tags["model_review.status"] == "stale"
    assert tags["model_review.approvers"] == "bob,carol"  # who approved the old model
    assert world.version_tags("2")["model_review.status"] == "stale"

    world.approve("bob", "2026-11-27T12:10:00Z")
    world.approve("carol", "2026-11-27T12:20:00Z")
    world.review()
    tags = world.tags(world.first)
    assert tags["model_review.status"] == "approved"
    assert tags["model_review.approved_at"] == "2026-11-27T12:20:00Z"


def test_a_run_the_pr_stops_linking_is_marked_stale(world: World, requests_log: RequestLog) -> None:
    world.review()
    world.approve_both()
    world.review()
    world.link(f"Better one: runs:/{world.second}/model")
    world.d.now = lambda: "2026-11-27T12:00:00Z"

    outcome = world.review()

    assert outcome.gate is not None and outcome.gate.state is GateState.PENDING
    assert world.tags(world.first)["model_review.status"] == "stale"
    assert world.version_tags("2")["model_review.status"] == "stale"
    assert world.tags(world.second) == {}  # never approved: no record
    state = decode_state(world.body)
    assert state is not None and state.recorded == ()  # nothing left to watch
    writes = len(requests_log.writes)
    world.review()
    assert len(requests_log.writes) == writes


def test_a_pr_that_drops_every_run_marks_its_approved_runs_stale(world: World) -> None:
    world.review()
    world.approve_both()
    world.review()
    assert world.tags(world.first)["model_review.status"] == "approved"
    world.link("No model in this PR after all.")

    outcome = world.review()

    assert outcome.gate is not None and outcome.gate.state is GateState.SUCCESS  # no model
    assert world.tags(world.first)["model_review.status"] == "stale"
    assert world.version_tags("2")["model_review.status"] == "stale"
    state = decode_state(world.body)
    assert state is not None and state.recorded == ()


def test_changes_requested_after_the_approval(world: World) -> None:
    world.review()
    world.approve_both()
    world.review()
    world.approve("carol", "2026-11-27T11:30:00Z", state="CHANGES_REQUESTED")

    outcome = world.review()

    assert outcome.gate is not None and outcome.gate.state is GateState.FAILURE
    assert world.tags(world.first)["model_review.status"] == "changes_requested"
    assert world.version_tags("2")["model_review.status"] == "changes_requested"


def test_another_prs_record_is_kept_while_this_pr_is_pending(world: World) -> None:
    world.review()
    world.approve_both()
    world.review()
    other = replace(world.github.pulls[7], number=8, html_url=URL.replace("/7", "/8"))
    world.github.pulls[8] = other
    world.github.comment_list.clear()

    review_pull_request(8, world.d)

    assert world.tags(world.first)["model_review.pr"] == URL
    assert world.tags(world.first)["model_review.status"] == "approved"


def test_notes_append_adds_one_dated_section_to_the_version(world: World) -> None:
    world.client.update_model_version(world.model, "2", description="Trained on November data.")
    world.configure("record:\n  notes: append\n")
    world.review()
    world.approve_both()
    world.review()
    world.review()

    description = world.client.get_model_version(world.model, "2").description
    assert description.startswith("Trained on November data.\n\n### Model review: approved")
    assert description.count("### Model review") == 1
    assert f"in {URL}" in description and "bob and carol" in description
    assert world.production in description
    assert world.client.get_run(world.first).data.tags["mlflow.note.content"].startswith("# Deeper")


def test_notes_are_left_alone_by_default(world: World) -> None:
    world.review()
    world.approve_both()
    world.review()
    assert not world.client.get_model_version(world.model, "2").description


# --- failures (the typed fake) ------------------------------------------------


@pytest.fixture
def fake() -> Iterator[tuple[FakeGitHub, FakeRuns, Deps, list[float]]]:
    runs = FakeRuns()
    prod = runs.add_run(RunSnapshot("a" * 32, "1", name="prod", metrics={"val_f1": 0.8}))
    cand = runs.add_run(RunSnapshot("c" * 32, "1", name="cand", metrics={"val_f1": 0.9}))
    runs.register("fraud", prod.run_id, aliases=["production"])
    runs.register("fraud", cand.run_id)
    github = FakeGitHub()
    github.pulls[7] = PullRequest(
        7, "Retrain", f"runs:/{cand.run_id}/model", "dave", HEAD, "2" * 40, "r", "main",
        "acme/fraud", html_url=URL,
    )  # fmt: skip
    github.files[(".github/model-review.yml", "2" * 40)] = CONFIG
    pauses: list[float] = []
    deps = Deps(github, lambda c: runs, lambda *a: None, lambda: "2026-11-27T10:00:00Z")
    deps.pause = pauses.append
    review_pull_request(7, deps)
    for user, at in (("bob", "2026-11-27T11:00:00Z"), ("carol", "2026-11-27T11:05:00Z")):
        github.add_review(7, Review(user, ReviewState.APPROVED, at, commit_id=HEAD))
    yield github, runs, deps, pauses


def test_a_failing_write_is_retried_then_reported_and_the_gate_stays_green(fake) -> None:
    github, runs, deps, pauses = fake
    runs.failing_writes = 100

    outcome = review_pull_request(7, deps)

    assert outcome.gate is not None and outcome.gate.state is GateState.SUCCESS
    assert github.status_of(HEAD) is GateState.SUCCESS
    assert "MLflow could not record the review" in github.comment_list[0].body
    assert runs.calls.count("set_model_version_tag") == ATTEMPTS  # stopped at the first
    assert pauses == [1.0, 2.0]
    assert "model_review.status" not in runs.runs["c" * 32].tags

    runs.failing_writes = 0  # MLflow is back: the next event completes the record
    review_pull_request(7, deps)
    assert runs.runs["c" * 32].tags["model_review.status"] == "approved"
    assert runs.version_tags[("fraud", "2")]["model_review.approvers"] == "bob,carol"
    assert "MLflow could not record" not in github.comment_list[0].body


def test_a_passing_glitch_is_retried_silently(fake) -> None:
    github, runs, deps, pauses = fake
    runs.failing_writes = 1
    review_pull_request(7, deps)
    assert pauses == [1.0]
    assert runs.runs["c" * 32].tags["model_review.status"] == "approved"
    assert "MLflow could not record" not in github.comment_list[0].body


# --- pure rules -----------------------------------------------------------------


def _facts(state: GateState, reviews: tuple[Review, ...] = ()) -> RecordInputs:
    pr = PullRequest(7, "t", "b", "dave", HEAD, "2" * 40, "r", "main", "acme/f", html_url=URL)
    report = ReviewReport(candidates=(), baseline=Baseline(None, how=""))
    decision = GateDecision(state, "", approved_by=("bob", "carol"))
    return RecordInputs(pr, report, decision, reviews, Config())


def test_a_record_of_this_pr_follows_the_gate_and_others_are_left_alone() -> None:
    mine = {"model_review.pr": URL, "model_review.status": "approved"}
    theirs = {"model_review.pr": URL + "0", "model_review.status": "approved"}
    stale = {"model_review.status": "stale"}
    assert review_tags(mine, _facts(GateState.PENDING)) == stale
    assert review_tags(mine, _facts(GateState.FAILURE)) == {
        "model_review.status": "changes_requested"
    }
    assert review_tags(mine, _facts(GateState.ERROR)) == {}  # could not tell: keep it
    assert review_tags(theirs, _facts(GateState.PENDING)) == {}
    assert review_tags({}, _facts(GateState.FAILURE)) == {}
    closed = {"model_review.pr": URL, "model_review.status": "closed"}
    assert review_tags(closed, _facts(GateState.PENDING)) == {}
    assert review_tags(theirs, _facts(GateState.SUCCESS))["model_review.pr"] == URL


def test_approved_at_is_the_newest_counted_approval() -> None:
    reviews = (
        Review("bob", ReviewState.APPROVED, "2026-11-27T11:00:00+00:00"),
        Review("carol", ReviewState.APPROVED, "2026-11-27T09:05:00-03:00"),  # 12:05 UTC
        Review("dave", ReviewState.APPROVED, "2026-11-27T13:00:00Z"),  # the author
        Review("erin", ReviewState.APPROVED, "2026-11-27T14:00:00Z"),  # not counted
        Review("bob", ReviewState.COMMENTED, "2026-11-27T15:00:00Z"),
    )
    assert _facts(GateState.SUCCESS, reviews).approved_at == "2026-11-27T12:05:00Z"
