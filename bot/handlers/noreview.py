"""The outcomes of a pull request without a review of its runs: no run linked (maybe
though model code changed, or the references were capped) and a public repository
without an allow-list. Each still writes the comment and the status (a review that
failed: bot.handlers.failed)."""

from __future__ import annotations

import fnmatch
import logging
from dataclasses import replace

from bot.domain import GateDecision, GateState, ReviewReport
from bot.handlers.context import Outcome, Reviewing
from bot.handlers.record import RecordInputs, record_review
from bot.handlers.state import BotState, encode_state, next_state
from bot.ports import RunsPort
from bot.render.comment import render_no_model, render_notice
from bot.review.basis import basis_of
from bot.review.decision import no_model as no_model_decision
from bot.review.identity import run_fingerprint
from bot.review.privacy import (
    PUBLIC_NO_ALLOW_LIST,
    PUBLIC_NO_ALLOW_LIST_HINT,
    PUBLIC_NO_ALLOW_LIST_STATUS,
)
from bot.review.refs import find_refs

log = logging.getLogger(__name__)


def with_problems(report: ReviewReport, problems: tuple[str, ...]) -> ReviewReport:
    """`report` with `problems` added to the comment's problem lines."""
    return replace(report, problems=(*report.problems, *problems)) if problems else report


def no_model(rv: Reviewing, report: ReviewReport, runs: RunsPort) -> Outcome:
    """No run linked: green, unless the PR changes paths that need one or references
    were capped."""
    config, deps, publisher, thread = rv.config, rv.deps, rv.publisher, rv.thread
    touched = _touched(rv)
    decision = no_model_decision(touched, report.capped)
    outcome = Outcome(gate=decision, notice=decision.description)
    if touched or thread.mine is not None or report.capped:
        state = next_state(
            thread.previous,
            run_fingerprint(report),
            deps.now(),
            head_sha=thread.pr.head_sha,
            basis=basis_of(report),
        )
        if state.recorded and not publisher.dry_run:
            # the runs this PR had approved left the review: their record goes stale
            facts = RecordInputs(thread.pr, report, decision, [], config)
            recorded = record_review(runs, facts, state, pause=deps.pause)
            report, state = with_problems(report, recorded.problems), recorded.state
        capped = report.problems if report.capped else ()
        body = render_no_model(touched, capped, state_block=encode_state(state))
        outcome.markdown = body
        outcome.comment_url = publisher.comment(body)
    publisher.status(decision, config.gate.context)
    return publisher.finish(outcome)


def _touched(rv: Reviewing) -> list[str]:
    """The PR's changed paths that need a linked run (`require_review_for`); the file
    list is fetched only when the config has such paths."""
    globs = rv.config.require_review_for
    if not globs:
        return []
    files = rv.deps.github.changed_files(rv.thread.pr.number)
    return [f for f in files if any(fnmatch.fnmatchcase(f, g) for g in globs)]


def unpublished(rv: Reviewing) -> Outcome:
    """A public repository without an allow-list: MLflow is not even asked, nothing
    about any run is shown, and the gate fails closed (`error`) until the config
    lists what may be published. The comment appears only where a review would."""
    thread, publisher = rv.thread, rv.publisher
    decision = GateDecision(GateState.ERROR, PUBLIC_NO_ALLOW_LIST_STATUS)
    outcome = Outcome(gate=decision, notice=PUBLIC_NO_ALLOW_LIST)
    if thread.mine is not None or find_refs(thread.texts) or _touched(rv):
        state = thread.previous or BotState(changed_at=rv.deps.now())
        outcome.markdown = render_notice(
            PUBLIC_NO_ALLOW_LIST,
            hint=PUBLIC_NO_ALLOW_LIST_HINT,
            warning=True,
            state_block=encode_state(state),
        )
        outcome.comment_url = publisher.comment(outcome.markdown)
    publisher.status(decision, rv.config.gate.context)
    return publisher.finish(outcome)
