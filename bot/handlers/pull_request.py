"""The pull-request review handler, top to bottom: load (the thread and the config,
bot.handlers.context) → review (bot.review.pipeline, the plots) → decide (one call to
bot.review.decision through bot.handlers.gating) → record in MLflow
(bot.handlers.record) → render → publish (bot.handlers.publish).

The record comes before the comment is rendered because the comment shows what the
record could not write and its state block keeps the runs the record wrote. Outcomes
without a review (no run linked, no allow-list) are in bot.handlers.noreview, a review
that failed in bot.handlers.failed. Shared by the Action and the webhook app. Reads
GitHub and MLflow only through the ports, and writes only what differs from what is
already there (comment, status, review requests). When unsure it fails closed: the
gate is never green by mistake.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from bot.config.schema import Config
from bot.domain import (
    Assignment,
    GateDecision,
    PullRequest,
    Review,
    ReviewReport,
)
from bot.errors import ConfigError, ModelReviewError
from bot.handlers.context import (
    Deps,
    Outcome,
    Reviewing,
    load_conversation,
    load_pr_config,
    publisher_for,
)
from bot.handlers.failed import fail_closed
from bot.handlers.gating import decide_event
from bot.handlers.moved import retell
from bot.handlers.noreview import no_model, unpublished, with_problems
from bot.handlers.plotcache import cached_images, plots_key, published
from bot.handlers.record import RecordInputs, record_review
from bot.handlers.state import BotState, encode_state, next_state
from bot.handlers.stateparts import PlotCache
from bot.handlers.trust import verified_command
from bot.ports import ImagePort, RunsPort
from bot.render.comment import render_comment
from bot.review.basis import basis_of
from bot.review.decision import SINGLE, GateInputs, gate_groups, per_model
from bot.review.identity import baseline_key, run_fingerprint
from bot.review.permodel import ModelGroup, ModelSlots, Pools, SlotMemory
from bot.review.pipeline import ReviewRequest, build_review, with_images
from bot.review.privacy import must_not_publish
from bot.review.reviewers import Command, CommandKind, apply_reassign, assign

MODELS_REASSIGN = (
    "`{raw}` was not applied: with several models under review, each model's reviewers "
    "come from `reviewers.models`; change the pools there"
)
PLOTS_OFF = (
    "Plots are off for this repository (`plots.host: none`): the training curves and the "
    "runs' images are in MLflow, see the links below."
)


def review_pull_request(number: int, deps: Deps, command: Command | None = None) -> Outcome:
    """Full review of PR `number`: the comment, the review requests and the gate."""
    pr = deps.github.pull_request(number, with_files=False)  # files: if require_review_for
    if pr.state != "open":
        return Outcome(notice=f"pull request #{number} is {pr.state}: nothing to review")
    thread = load_conversation(deps, pr)
    try:
        config = load_pr_config(deps, pr)
    except ConfigError as exc:
        return fail_closed(publisher_for(deps, thread), Config(), thread.previous, deps, exc)
    if pr.draft and not config.gate.review_drafts:
        return Outcome(notice=f"#{number} is a draft: the review starts when it is ready")
    publisher = publisher_for(deps, thread)
    publisher.use_surface(config.gate.surface)
    publisher.begin(config.gate.context)  # the App's check run: in progress
    command, refused = verified_command(command, thread.people, pr.author)
    problems = tuple(p for p in (thread.ignored, refused) if p)
    rv = Reviewing(thread, config, publisher, deps, problems)
    if must_not_publish(pr.private, config.mlflow):
        return unpublished(rv)
    try:
        return _review(rv, command)
    except ModelReviewError as exc:
        return fail_closed(rv.publisher, config, thread.previous, deps, exc)


def _review(rv: Reviewing, command: Command | None) -> Outcome:
    """Load the runs, review them, decide the gate, then record, render, publish."""
    thread, config, deps, dry = rv.thread, rv.config, rv.deps, rv.publisher.dry_run
    pr, previous = thread.pr, thread.previous
    request = ReviewRequest(
        texts=thread.texts,
        commits=pr.commits,
        pr_url=pr.html_url or None,
        problems=rv.problems,
        repo_url=repo_web_url(pr),
    )
    runs = deps.runs(config)
    images = None if dry else deps.images(config, pr, runs, published(previous))
    report = build_review(request, runs, config)
    if not report.candidates and not report.unresolved:
        return no_model(rv, report, runs)
    report, plots = _plots(rv, report, runs, images)
    groups = gate_groups(report.candidates, config)
    memory = previous.models if previous else {}
    assignments, problem = _assignments(rv, command, groups, memory)
    if problem:
        report = with_problems(report, (problem,))
    now = deps.now()
    state = next_state(
        previous,
        run_fingerprint(report),
        now,
        assignment=assignments.get(SINGLE, Assignment(None, None)),  # several: per model
        head_sha=pr.head_sha,
        basis=basis_of(report),
    )
    # reconcile asks whether production moved since this review
    state = replace(state, plots=plots, compared_with=baseline_key(report))
    state = retell(previous, state, deps.trigger)
    reviews = deps.github.reviews(pr.number) if report.candidates else []
    inputs = GateInputs(report, groups, assignments, pr, config, now, tuple(reviews), memory)
    decision = decide_event(thread.people, state, inputs)
    report = with_problems(report, decision.notes)
    if per_model(groups):
        state = replace(state, models=decision.memory)
        before = [memory[s.label].assignment if s.label in memory else None for s in decision.slots]
    else:
        before = [previous.assignment if previous else None]
    gated = _Gated(report, runs, state, decision.gate, reviews)
    return _finish(rv, gated, slots=decision.slots, previous=before)


@dataclass(frozen=True)
class _Gated:
    """A review with its gate decided, ready for the record and the comment."""

    report: ReviewReport
    runs: RunsPort
    state: BotState
    decision: GateDecision
    reviews: list[Review]


def _finish(
    rv: Reviewing,
    gated: _Gated,
    *,
    slots: tuple[ModelSlots, ...],
    previous: list[Assignment | None],
) -> Outcome:
    """Record in MLflow, render the comment, request the reviewers, set the status.
    The record comes before the comment: what it could not write is a problem line
    in the comment, and the runs it wrote are kept in the state block."""
    config, publisher, decision = rv.config, rv.publisher, gated.decision
    report, state = gated.report, gated.state
    if not publisher.dry_run:  # the review's record in MLflow; never changes the gate
        facts = RecordInputs(rv.thread.pr, report, decision, gated.reviews, config)
        recorded = record_review(gated.runs, facts, state, pause=rv.deps.pause)
        report, state = with_problems(report, recorded.problems), recorded.state
    single = len(slots) == 1 and not slots[0].label
    body = render_comment(
        report,
        gate=decision,
        assignment=slots[0].assignment if single else None,
        models=() if single else slots,
        state_block=encode_state(state),
        mention=publisher.unrequestable_teams([s.assignment for s in slots]),
    )
    outcome = Outcome(gate=decision, regressions=report.regressions, markdown=body)
    outcome.comment_url = publisher.comment(body)
    for slot, before in zip(slots, previous, strict=True):
        if report.candidates:  # nothing resolved: nobody to request yet
            publisher.request_reviewers(slot.assignment, before, config.reviewers.teams)
    publisher.status(decision, config.gate.context)
    return publisher.finish(outcome)


def _plots(
    rv: Reviewing, report: ReviewReport, runs: RunsPort, images: ImagePort | None
) -> tuple[ReviewReport, PlotCache | None]:
    """The plots: reused from the previous event when nothing they show changed."""
    previous, dry = rv.thread.previous, rv.publisher.dry_run
    cache = previous.plots if previous else None
    if images is None:
        return replace(report, images_note=None if dry else PLOTS_OFF), cache
    if not report.candidates:
        return report, cache
    key = plots_key(report, rv.config.plots)
    cached = cached_images(previous, key)
    if cached is not None:
        return replace(report, images=cached), cache
    report = with_images(report, runs, rv.config, images)
    return report, PlotCache(key, report.images) if report.images else cache


def _assignments(
    rv: Reviewing,
    command: Command | None,
    groups: Sequence[ModelGroup],
    memory: Mapping[str, SlotMemory],
) -> tuple[dict[str, Assignment], str | None]:
    """Who reviews each group (a command may change the one pair of a single model)."""
    if not per_model(groups):
        assignment, problem = _assignment(rv, command, groups[0].pools)
        return {SINGLE: assignment}, problem
    pr = rv.thread.pr
    chosen = {}
    for group in groups:
        before = memory[group.label].assignment if group.label in memory else None
        primary, secondary = group.pools.primary, group.pools.secondary
        chosen[group.label] = assign(
            primary, secondary, pr.author, pr.number, before, pr.requested_reviewers
        )
    if command is not None and command.kind is not CommandKind.REFRESH:
        return chosen, MODELS_REASSIGN.format(raw=command.raw)
    return chosen, None


def _assignment(
    rv: Reviewing, command: Command | None, chosen: Pools
) -> tuple[Assignment, str | None]:
    pools = replace(rv.config.reviewers, primary=chosen.primary, secondary=chosen.secondary)
    pr, state = rv.thread.pr, rv.thread.previous
    previous = state.assignment if state else None
    current = assign(
        pools.primary, pools.secondary, pr.author, pr.number, previous, pr.requested_reviewers
    )
    if command is not None and command.kind is CommandKind.INVALID:
        return current, f"`{command.raw}` is not a command model-review knows: {command.problem}"
    if command is None or command.kind is not CommandKind.REASSIGN:
        return current, None
    try:
        return apply_reassign(current, command, pools, pr.author), None
    except ModelReviewError as exc:
        return current, f"`{command.raw}` was not applied: {exc}"


def repo_web_url(pr: PullRequest) -> str | None:
    """The repository's web address, from the PR's (`https://HOST/OWNER/NAME/pull/N`)."""
    head, sep, _ = pr.html_url.rpartition("/pull/")
    return head if sep and head.startswith(("http://", "https://")) else None
