"""From a routed event to the handler that does the work (shared by both entry points)."""

from __future__ import annotations

import logging

from bot.handlers.closed import close_pull_request
from bot.handlers.context import Deps, Outcome
from bot.handlers.mergegroup import check_merge_group
from bot.handlers.nosecrets import review_without_secrets
from bot.handlers.pull_request import review_pull_request
from bot.handlers.router import Action, Decision, Event

log = logging.getLogger(__name__)


def handle(event: Event, decision: Decision, deps: Deps) -> Outcome:
    """Run the handler for a routed event; IGNORE must be filtered out by the caller."""
    if decision.action is Action.MERGE_GROUP:  # no comment: the group's status only
        return check_merge_group(event.payload, deps)
    number = event.pr_number
    if number is None or decision.action is Action.IGNORE:
        return Outcome(notice=decision.reason)
    log.info("#%s: %s", number, decision.reason)
    if decision.action is Action.CLOSED:  # the merge (or not) in the MLflow record
        return close_pull_request(number, deps)
    if not deps.secrets:  # the Action without MLflow: Dependabot's PRs get no secrets
        return review_without_secrets(number, deps, command=decision.command)
    return review_pull_request(number, deps, command=decision.command)
