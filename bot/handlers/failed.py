"""A review that could not be made fails closed: the comment and the status say what
went wrong, the gate is `error` (never green), and the state block keeps why and
whether it was transient (`BotState.failure`): a dependency that was down
makes the App retry the job, and reconcile reviews the PR again once the dependency
answers (bot.handlers.reviewdue)."""

from __future__ import annotations

import logging
from dataclasses import replace

from bot.config.schema import Config
from bot.errors import ModelReviewError
from bot.handlers.context import Deps, Outcome
from bot.handlers.publish import Publisher
from bot.handlers.state import BotState, encode_state
from bot.handlers.stateparts import Failure
from bot.render.comment import render_error
from bot.render.markdown import clean, neutralise_mentions
from bot.review.decision import not_checked

log = logging.getLogger("bot.handlers.pull_request")  # where these lines always came from


def fail_closed(
    publisher: Publisher,
    config: Config,
    previous: BotState | None,
    deps: Deps,
    exc: ModelReviewError,
) -> Outcome:
    """Say what went wrong in the comment and the status; never success. The state
    keeps why, and whether it was transient (a dependency down: retried, and reconcile
    reviews the PR again once the dependency answers)."""
    error = str(exc)
    # one line, no control or bidi characters: for the status, and a log line must not
    # start a `::` workflow command
    plain = clean(error, 2_000)
    log.error("review failed: %s", plain)
    decision = not_checked(plain)
    state = previous or BotState(changed_at=deps.now())
    # the state block is hidden, but the comment's text is inert everywhere: no mention
    why = neutralise_mentions(plain)
    state = replace(state, failure=Failure.of(exc.transient, why))
    body = render_error(error, state_block=encode_state(state))
    outcome = Outcome(gate=decision, notice=plain, markdown=body, transient=exc.transient)
    try:
        outcome.comment_url = publisher.comment(body)
    finally:
        publisher.status(decision, config.gate.context)
    return publisher.finish(outcome)
