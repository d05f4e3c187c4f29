"""The gate for one event: who counts, asked on GitHub (bot.handlers.trust), and the
state's record of when what is under review last changed, handed to the one pure
decision (bot.review.decision). The PR review and the merge-time re-check both decide
through here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from bot.config.schema import Config
from bot.domain import PullRequest, Review, ReviewReport
from bot.handlers.state import BotState, next_state
from bot.handlers.trust import People
from bot.review.basis import basis_of
from bot.review.decision import (
    SINGLE,
    Decision,
    GateInputs,
    decide_gate,
    gate_groups,
    per_model,
)
from bot.review.identity import run_fingerprint


def decide_event(people: People, state: BotState, inputs: GateInputs) -> Decision:
    """The decision for `inputs`, with each group's standing and, from `state` (of this
    event), when and why what is under review last changed."""
    author, teams = inputs.pr.author, inputs.config.reviewers.teams
    standings = {
        label: people.standing(inputs.reviews, assignment, author, teams)
        for label, assignment in inputs.assignments.items()
        if inputs.report.candidates  # nothing resolved: nobody to ask about
    }
    filled = replace(inputs, standings=standings, changed_at=state.changed_at, why=state.why)
    return decide_gate(filled)


def decide_again(
    people: People,
    state: BotState,
    report: ReviewReport,
    *,
    pr: PullRequest,
    config: Config,
    reviews: Sequence[Review],
    now: str,
) -> Decision:
    """The gate re-checked with nothing written (at merge time, for a merge group):
    the runs in `report` compared with what the bot's `state` remembers (a run changed
    since makes earlier approvals stale), each group's slots as assigned, nobody new."""
    basis = basis_of(report)
    fresh = next_state(state, run_fingerprint(report), now, head_sha=pr.head_sha, basis=basis)
    groups = gate_groups(report.candidates, config)
    memory = state.models
    if per_model(groups):
        assignments = {g.label: memory[g.label].assignment for g in groups if g.label in memory}
    else:
        assignments = {SINGLE: state.assignment}
    inputs = GateInputs(report, groups, assignments, pr, config, now, tuple(reviews), memory)
    return decide_event(people, fresh, inputs)
