"""Which deliveries the bot acts on, built from GitHub's real webhook payloads."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from bot.handlers.router import NOTHING_TO_DO, Action, Event, decide, route
from bot.review.reviewers import CommandKind

FIXTURES = Path(__file__).parent / "fixtures" / "github"
RUN_LINK = "runs:/" + "c" * 32 + "/model"


def payload(event: str, action: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / event / f"{action}.payload.json").read_text())
    return data


def pr_comment(
    body: str, association: str = "MEMBER", user_type: str = "User", login: str = "mallory"
) -> Event:
    """A comment by `login` on a PR opened by Codertocat (the fixture's issue author)."""
    data = copy.deepcopy(payload("issue_comment", "created"))
    data["comment"]["user"]["login"] = login
    data["issue"]["pull_request"] = {
        "url": "https://api.github.com/repos/x/y/pulls/1",
        "html_url": "https://github.com/x/y/pull/1",
    }
    data["comment"]["body"] = body
    data["comment"]["author_association"] = association
    data["comment"]["user"]["type"] = user_type
    return Event("issue_comment", data)


@pytest.mark.parametrize(
    "action", ["opened", "reopened", "synchronize", "ready_for_review", "edited"]
)
def test_pull_request_changes_trigger_a_review(action: str) -> None:
    name = "opened" if action == "edited" else action
    data = copy.deepcopy(payload("pull_request", name))
    data["action"] = action
    event = Event("pull_request", data)
    assert route(event).action is Action.REVIEW
    assert event.pr_number == data["pull_request"]["number"]
    assert event.head_sha == data["pull_request"]["head"]["sha"]
    assert event.repo == data["repository"]["full_name"]


def test_reviews_re_evaluate_the_gate() -> None:
    for action in ("submitted", "dismissed"):
        assert (
            route(Event("pull_request_review", payload("pull_request_review", action))).action
            is Action.REVIEW
        )


def test_closed_is_routed_to_the_closing_handler() -> None:
    assert route(Event("pull_request", payload("pull_request", "closed"))).action is Action.CLOSED


def test_unhandled_events_are_ignored_with_a_reason() -> None:
    decision = route(Event("ping", payload("ping", "payload") if False else {"zen": "x"}))
    assert decision.action is Action.IGNORE and "ping" in decision.reason
    labeled = copy.deepcopy(payload("pull_request", "opened"))
    labeled["action"] = "labeled"
    assert route(Event("pull_request", labeled)).action is Action.IGNORE


def test_refresh_command_from_a_collaborator_runs_the_review() -> None:
    decision = decide(pr_comment("/model-review refresh"))
    assert decision.action is Action.COMMAND
    assert decision.command is not None and decision.command.kind is CommandKind.REFRESH


@pytest.mark.parametrize("association", ["NONE", "CONTRIBUTOR", "FIRST_TIMER"])
def test_commands_from_outsiders_are_ignored(association: str) -> None:
    decision = decide(pr_comment("/model-review refresh", association))
    assert decision.action is Action.IGNORE and association in decision.reason


def test_the_pr_authors_own_refresh_runs_but_not_a_reassign() -> None:
    mine = decide(pr_comment("/model-review refresh", "CONTRIBUTOR", login="Codertocat"))
    assert mine.action is Action.COMMAND and mine.command is not None
    grab = "/model-review reassign primary @Codertocat"
    assert decide(pr_comment(grab, "CONTRIBUTOR", login="Codertocat")).action is Action.IGNORE


def test_comments_on_issues_and_by_bots_and_without_commands_are_ignored() -> None:
    on_issue = Event("issue_comment", payload("issue_comment", "created"))
    assert decide(on_issue).action is Action.IGNORE
    assert decide(pr_comment("/model-review refresh", user_type="Bot")).action is Action.IGNORE
    assert decide(pr_comment("looks good to me")).action is Action.IGNORE
    assert decide(pr_comment("looks good to me")).reason == NOTHING_TO_DO


class Untouchable(str):
    """A comment body that fails the test if anything reads it as text."""

    def __str__(self) -> str:
        raise AssertionError("the comment's text was read")


@pytest.mark.parametrize("action", ["created", "edited", "deleted"])
def test_route_reads_no_comment_text(action: str) -> None:
    event = pr_comment(Untouchable("/model-review refresh"))
    event.payload["action"] = action  # type: ignore[index]
    decision = route(event)
    assert decision.action is Action.COMMENT and decision.command is None
    with pytest.raises(AssertionError, match="was read"):
        decide(event)


@pytest.mark.parametrize(
    ("login", "association", "wanted"),
    [
        ("Codertocat", "CONTRIBUTOR", Action.REVIEW),  # the PR's author
        ("alice", "MEMBER", Action.REVIEW),  # may write: the review checks
        ("mallory", "NONE", Action.IGNORE),  # cannot write: nothing to re-run
    ],
)
def test_a_new_comment_with_a_reference_re_runs_the_review(
    login: str, association: str, wanted: Action
) -> None:
    decision = decide(pr_comment(f"a better run: {RUN_LINK}", association, login=login))
    assert decision.action is wanted, decision.reason


def test_a_command_hidden_from_readers_is_no_command() -> None:
    hidden = "LGTM!\n<!-- /model-review reassign secondary @bob -->"
    decision = decide(pr_comment(hidden, "OWNER"))
    assert decision.action is Action.IGNORE and decision.command is None


def test_a_command_carries_who_wrote_it() -> None:
    decision = decide(pr_comment("/model-review reassign primary @bob", "MEMBER", login="frank"))
    assert decision.command is not None and decision.command.by == "frank"


def test_installation_id_is_read_when_present() -> None:
    data = copy.deepcopy(payload("pull_request", "opened"))
    data["installation"] = {"id": 42}
    assert Event("pull_request", data).installation_id == 42
    data.pop("installation")
    assert Event("pull_request", data).installation_id is None


def changed_comment(action: str, body: str, before: str | None, user_type: str = "User") -> Event:
    """GitHub's `issue_comment` edited/deleted example, made a comment on a PR."""
    data = copy.deepcopy(payload("issue_comment", action))
    data["issue"]["pull_request"] = {"url": "https://api.github.com/repos/x/y/pulls/1"}
    data["comment"]["body"] = body
    data["comment"]["user"]["type"] = user_type
    if before is not None:
        data["changes"] = {"body": {"from": before}}
    return Event("issue_comment", data)


@pytest.mark.parametrize(
    ("action", "body", "before"),
    [
        ("edited", f"the better one: {RUN_LINK}", "the better one: (link to come)"),
        ("edited", "no run after all", f"try {RUN_LINK}"),
        ("edited", f"typo fixed: {RUN_LINK}", f"typo fxed: {RUN_LINK}"),
        ("deleted", f"try {RUN_LINK}", None),
    ],
    ids=["edited-adds", "edited-removes", "edited-keeps", "deleted"],
)
def test_a_comment_edited_or_deleted_that_held_or_holds_a_reference_re_runs_the_review(
    action: str, body: str, before: str | None
) -> None:
    decision = decide(changed_comment(action, body, before))
    assert decision.action is Action.REVIEW and action in decision.reason


@pytest.mark.parametrize(
    ("action", "body", "before", "user_type"),
    [
        ("edited", "looks good", "looks god", "User"),
        ("deleted", "thanks!", None, "User"),
        ("edited", "/model-review refresh", "/model-review refrsh", "User"),  # not re-run
        ("edited", f"Comparing {RUN_LINK}", f"Comparing {RUN_LINK}", "Bot"),  # the bot's own
        ("deleted", f"Comparing {RUN_LINK}", None, "Bot"),
    ],
    ids=["edited-chatter", "deleted-chatter", "edited-command", "bot-edited", "bot-deleted"],
)
def test_other_edited_or_deleted_comments_are_ignored(
    action: str, body: str, before: str | None, user_type: str
) -> None:
    assert decide(changed_comment(action, body, before, user_type)).action is Action.IGNORE
