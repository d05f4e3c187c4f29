"""From a routed event to the handler that does the work (shared by both entry points)."""

from __future__ import annotations

import logging

from bot.handlers.closed import close_pull_request
from bot.handlers.context import Deps, Outcome
from bot.handlers.pull_request import review_pull_request
from bot.handlers.router import Action, Decision, Event

log = logging.getLogger(__name__)


def handle(event: Event, decision: Decision, deps: Deps) -> Outcome:
    """Run the handler for a routed event; IGNORE must be filtered out by the caller."""
    number = event.pr_number
    if number is None or decision.action is Action.IGNORE:
        return Outcome(notice=decision.reason)
    log.info("#%s: %s", number, decision.reason)
    if decision.action is Action.CLOSED:  # the merge (or not) in the MLflow record
        return close_pull_request(number, deps)
    return review_pull_request(number, deps, command=decision.command)
