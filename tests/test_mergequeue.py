"""Which PRs a merge group holds, and the group's gate (bot.review.mergequeue)."""

from __future__ import annotations

from bot.domain import GateDecision, GateState
from bot.handlers.router import Action, Event, route
from bot.review.decision import merge_group_gate
from bot.review.mergequeue import group_from_payload, numbers_in, prs_of
from tests import github_payloads as gp

SHA = "f" * 40


def test_github_s_example_names_its_entry_in_the_head_ref() -> None:
    group = group_from_payload(gp.webhook("merge_group", "checks_requested"))
    assert group is not None and group.entry == 104
    assert group.head_ref.startswith("refs/heads/gh-readonly-queue/main/pr-104-")
    assert group_from_payload({"merge_group": {"head_sha": SHA}}) is None
    assert group_from_payload({}) is None


def test_merge_and_squash_commits_name_the_prs_ahead_in_the_queue() -> None:
    messages = [
        "Merge pull request #12 from acme/retrain\n\nRetrain (#99 in the body is ignored)",
        "Tune the thresholds (#15)",
        "Fix a typo",
        "Tune the thresholds again (#15)",
    ]
    assert numbers_in(messages) == [12, 15]
    group = group_from_payload(gp.merge_group(SHA, 16, "b" * 40))
    assert group is not None
    assert prs_of(group, messages) == [12, 15, 16]
    assert prs_of(group, ["Merge pull request #16 from acme/x"]) == [16]


def test_the_group_is_green_only_when_every_pr_is() -> None:
    group = group_from_payload(gp.merge_group(SHA, 8, "b" * 40))
    assert group is not None
    ok = GateDecision(GateState.SUCCESS, "approved")
    waiting = GateDecision(GateState.PENDING, "waiting for @carol (secondary)")
    broken = GateDecision(GateState.ERROR, "could not be checked: MLflow is down")
    assert merge_group_gate(group.head_ref, [(7, ok), (8, ok)]) == GateDecision(
        GateState.SUCCESS, "every PR in the merge group is approved: #7, #8"
    )
    assert merge_group_gate(group.head_ref, [(7, ok), (8, waiting)]) == GateDecision(
        GateState.FAILURE, "#8 pending: waiting for @carol (secondary)"
    )
    assert merge_group_gate(group.head_ref, [(7, broken), (8, ok)]).state is GateState.FAILURE
    nothing = merge_group_gate(group.head_ref, [])
    assert nothing.state is GateState.FAILURE  # nothing found: never green


def test_merge_group_events_are_routed_checks_requested_only() -> None:
    payload = gp.webhook("merge_group", "checks_requested")
    assert route(Event("merge_group", payload)).action is Action.MERGE_GROUP
    destroyed = {**payload, "action": "destroyed"}
    assert route(Event("merge_group", destroyed)).action is Action.IGNORE
