"""Closed pull requests (bot.handlers.closed): the merge in the record, promotion, the final
line of the comment. Against the REAL MLflow test server (tests/record_world.py),
plus one end-to-end run of `model-review action` with the GitHub stand-in.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import responses
from mlflow.tracking import MlflowClient
from mlflow_helpers import RequestLog

from bot.errors import TrackingError
from bot.handlers.closed import OUTCOME, Closing, with_outcome
from bot.handlers.state import BotState, decode_state, encode_state, strip_state
from bot.tracking.client import MlflowRuns
from tests.action_runner import Runner, now, pr_event, review_event
from tests.github_sim import GitHubSim
from tests.record_world import MERGE, URL, World, build_world


@pytest.fixture
def world(mlflow_client: MlflowClient, mlflow_server: str) -> World:
    return build_world(mlflow_client, mlflow_server)


@pytest.fixture
def requests_log(monkeypatch: pytest.MonkeyPatch) -> RequestLog:
    return RequestLog.install(monkeypatch)


def approved(world: World, config: str = "") -> None:
    """Reviewed, approved by both reviewers, and the gate green on GitHub."""
    world.configure(config)
    world.review()
    world.approve_both()
    outcome = world.review()
    assert outcome.gate is not None and outcome.gate.state.value == "success"


def outcome_line(body: str) -> str:
    return body.split(OUTCOME, 1)[1].strip().splitlines()[0]


def test_merge_records_the_commit_and_leaves_production_alone_by_default(world: World) -> None:
    approved(world)
    state, review = decode_state(world.body), strip_state(world.body)

    outcome = world.close(merged=True)

    tags = world.tags(world.first)
    assert tags["model_review.merged_commit"] == MERGE
    assert tags["model_review.status"] == "approved" and tags["model_review.pr"] == URL
    assert world.version_tags("2")["model_review.merged_commit"] == MERGE
    assert world.production_version() == "1"
    line = outcome_line(world.body)
    assert "Merged in `3333333`" in line and "not promoted: `promote` is off" in line
    assert outcome.notice.startswith("Merged in")
    assert world.body.split(OUTCOME, 1)[0].rstrip() == review  # the review stays as it was
    assert decode_state(world.body) == state


def test_merge_with_promote_moves_the_alias_and_records_what_it_replaced(
    world: World, requests_log: RequestLog
) -> None:
    approved(world, "promote: true\n")

    world.close(merged=True)

    assert world.production_version() == "2"
    assert world.tags(world.first)["model_review.previous_production"] == "1"
    assert world.version_tags("2")["model_review.previous_production"] == "1"
    assert world.version_tags("2")["model_review.merged_commit"] == MERGE
    assert "is now `production` (replacing v1)" in outcome_line(world.body)
    ((name, value),) = world.ledger().items()  # one entry in production's history
    assert name.startswith("model_review.history.") and name.endswith(".2")
    entry = json.loads(value)
    assert entry["action"] == "promote" and entry["previous"] == "1"
    assert entry["key"] == f"merge:{MERGE}" and entry["pr"] == URL
    assert entry["approvers"] == ["bob", "carol"] and len(value) < 500

    writes, github_writes = len(requests_log.writes), list(world.github.writes)
    body = world.body
    world.close(merged=True)  # the same delivery again
    assert len(requests_log.writes) == writes and world.github.writes == github_writes
    assert world.body == body and world.production_version() == "2"
    assert len(world.ledger()) == 1


def test_promotion_is_refused_when_the_review_was_not_approved(world: World) -> None:
    world.configure("promote: true\n")
    world.review()
    world.approve("bob", "2026-11-27T11:00:00Z")
    world.review()

    world.close(merged=True)

    assert world.production_version() == "1"
    assert "not promoted: the review was not approved at merge time" in world.body
    assert "waiting for" in outcome_line(world.body)
    assert world.tags(world.first) == {"model_review.merged_commit": MERGE, "model_review.pr": URL}


def test_promotion_is_refused_when_the_status_github_merged_on_was_not_green(
    world: World,
) -> None:
    world.configure("promote: true\n")
    world.review()
    world.approve_both()  # no event ran since: the status GitHub saw is still pending

    world.close(merged=True)

    assert world.production_version() == "1"
    assert "status of the merged commit was pending, not success" in outcome_line(world.body)
    assert world.tags(world.first)["model_review.status"] == "approved"  # the reviews were


def test_promotion_is_refused_when_the_run_changed_after_the_approval(
    world: World, mlflow_client: MlflowClient
) -> None:
    approved(world, "promote: true\n")
    mlflow_client.log_metric(world.first, "val_f1", 0.70, step=3)
    world.d.now = lambda: "2026-11-27T12:00:00Z"

    world.close(merged=True)

    assert world.production_version() == "1"
    line = outcome_line(world.body)
    assert "not approved at merge time" in line and "older than the current runs" in line


def test_promotion_is_refused_when_several_versions_are_under_review(world: World) -> None:
    world.link(f"runs:/{world.first}/model and runs:/{world.second}/model")
    approved(world, "promote: true\n")

    world.close(merged=True)

    assert world.production_version() == "1"
    assert "2 model versions are under review" in outcome_line(world.body)
    assert world.tags(world.first)["model_review.merged_commit"] == MERGE
    assert world.tags(world.second)["model_review.merged_commit"] == MERGE


def test_closed_without_merging(world: World) -> None:
    approved(world, "promote: true\n")

    world.close(merged=False)

    tags = world.tags(world.first)
    assert tags["model_review.status"] == "closed" and "model_review.merged_commit" not in tags
    assert world.version_tags("2")["model_review.status"] == "closed"
    assert world.production_version() == "1"
    assert outcome_line(world.body).startswith("🏁 **Closed without merging")


def test_a_pr_closed_before_any_review_is_left_alone(world: World) -> None:
    outcome = world.close(merged=True)
    assert world.github.writes == [] and world.github.comment_list == []
    assert "before model-review reviewed it" in outcome.notice
    assert world.tags(world.first) == {}


def test_mlflow_failing_at_merge_is_reported_and_the_next_delivery_completes_it(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    approved(world, "promote: true\n")

    def refuse(self: MlflowRuns, name: str, alias: str, version: str) -> None:
        raise TrackingError("MLflow at test refused access (403) while setting an alias")

    with monkeypatch.context() as patch:
        patch.setattr(MlflowRuns, "set_alias", refuse)
        world.close(merged=True)

    assert world.pauses == [1.0, 2.0]  # retried, then given up
    assert world.production_version() == "1"
    section = world.body.split(OUTCOME, 1)[1]
    assert "not promoted, and the record in MLflow is incomplete" in section
    assert "could not record the review (moving alias production" in section
    assert "model_review.merged_commit" not in world.tags(world.first)  # the commit point

    world.close(merged=True)  # a redelivery once MLflow accepts the write
    assert world.production_version() == "2"
    assert "is now `production` (replacing v1)" in outcome_line(world.body)
    assert "could not record" not in world.body
    assert len(world.ledger()) == 1


def test_a_promotion_cut_short_after_the_alias_moved_is_completed_by_the_redelivery(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    approved(world, "promote: true\n")

    def refuse(self: MlflowRuns, name: str, key: str, value: str) -> None:
        raise TrackingError("MLflow at test answered 503 while tagging a registered model")

    with monkeypatch.context() as patch:
        patch.setattr(MlflowRuns, "set_model_tag", refuse)
        world.close(merged=True)
    assert world.production_version() == "2" and world.ledger() == {}
    assert "model_review.merged_commit" not in world.tags(world.first)  # not committed

    world.close(merged=True)

    (value,) = world.ledger().values()
    assert json.loads(value)["previous"] == "1" and json.loads(value)["version"] == "2"
    assert "is now `production` (replacing v1)" in outcome_line(world.body)
    assert world.tags(world.first)["model_review.previous_production"] == "1"


def test_the_outcome_section_replaces_an_earlier_one_and_keeps_the_state() -> None:
    state = BotState(changed_at="2026-11-27T10:00:00Z", primary="bob")
    body = f"<!-- model-review -->\nreview\n\n{encode_state(state)}\n"
    first = with_outcome(body, Closing("Merged: one"), state)
    second = with_outcome(first, Closing("Merged: @two", problems=("MLflow down",)), state)
    assert second.count(OUTCOME) == 1 and "one" not in second
    assert "@two" not in second  # no mention is ever made by the bot's text
    assert "MLflow down" in second and decode_state(second) == state
    big = "<!-- model-review -->\n" + "row\n" * 20_000 + encode_state(state)
    assert len(with_outcome(big, Closing("Merged"), state)) <= 65_536


# --- end to end: `model-review action` on a merged pull_request ---------------------


@pytest.fixture
def sim(world: World) -> Iterator[tuple[GitHubSim, responses.RequestsMock]]:
    config = "reviewers:\n  primary: [alice, bob]\n  secondary: [carol]\n"
    config += "plots:\n  host: none\npromote: true\n"
    github = GitHubSim(body=f"Retrain: runs:/{world.first}/model", config=config)
    with github.mocked("http://127.0.0.1") as rsps:  # MLflow: the real server
        yield github, rsps


def test_action_end_to_end_merged_and_promoted(
    sim, world: World, tmp_path: Path, tracking_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    github, _ = sim
    action = Runner(tmp_path, tracking_env)
    action("pull_request", pr_event(github, "opened"))
    for login in ("bob", "carol"):
        out = action(
            "pull_request_review", review_event(github, github.add_review(login, "APPROVED", now()))
        )
    assert out["gate"] == "success"
    assert world.tags(world.first)["model_review.approvers"] == "bob,carol"

    github.state, github.merged, github.merge_commit_sha = "closed", True, "f" * 40
    payload = copy.deepcopy(pr_event(github, "closed"))
    payload["pull_request"].update(state="closed", merged=True, merge_commit_sha="f" * 40)
    out = action("pull_request", payload)

    assert world.production_version() == "2"
    assert world.tags(world.first)["model_review.merged_commit"] == "f" * 40
    assert world.tags(world.first)["model_review.previous_production"] == "1"
    body = github.bot_comments[0]["body"]
    assert "Merged in `fffffff`" in body and "is now `production` (replacing v1)" in body
    assert "is now `production`" in out["description"]
    assert len(github.bot_comments) == 1 and github.writes.count("create_comment") == 1
    assert github.status is not None and github.status["state"] == "success"  # untouched
    # the file list is read only for `require_review_for`, which this config does not set
    assert "pulls/N/files" not in {route for _, route in github.calls}
    assert github.writes == [
        "create_comment", "request bob,carol", "status pending",  # opened
        "update_comment", "status pending",  # bob approved
        "update_comment", "status success",  # carol approved
        "update_comment",  # merged: the outcome section; the status stays
    ]  # fmt: skip


def test_a_promotion_cut_short_after_its_history_entry_writes_it_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    approved(world, "promote: true\n")

    def refuse(self: MlflowRuns, run_id: str, tags: object) -> None:
        raise TrackingError("MLflow at test answered 503 while tagging a run")

    with monkeypatch.context() as patch:
        patch.setattr(MlflowRuns, "set_run_tags", refuse)
        world.close(merged=True)
    assert world.production_version() == "2" and len(world.ledger()) == 1

    world.close(merged=True)  # the alias already moved: the record is completed

    assert len(world.ledger()) == 1  # the entry is not written twice
    assert world.tags(world.first)["model_review.previous_production"] == "1"
    assert "is now `production` (replacing v1)" in outcome_line(world.body)
