"""The gate for one event: who counts, asked on GitHub (bot.handlers.trust), and the
state's record of when what is under review last changed, handed to the one pure
decision (bot.review.decision). The PR review and the merge-time re-check both decide
through here."""

from __future__ import annotations

from dataclasses import replace

from bot.handlers.state import BotState
from bot.handlers.trust import People
from bot.review.decision import Decision, GateInputs, decide_gate


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
