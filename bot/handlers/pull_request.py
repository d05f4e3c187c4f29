"""The pull-request review handler: read, review, decide, publish.

Shared by the Action and the webhook app. Reads GitHub and MLflow only through the
ports, and writes only what differs from what is already there (comment, status,
review requests). When unsure it fails closed: the gate is never green by mistake.
"""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from bot.config.schema import Config
from bot.domain import (
    Assignment,
    Comment,
    GateDecision,
    GateState,
    PullRequest,
    Review,
    ReviewReport,
)
from bot.errors import ConfigError, ModelReviewError
from bot.handlers.context import Deps, Outcome, load_pr_config, load_thread
from bot.handlers.failed import fail_closed
from bot.handlers.gating import decide_event
from bot.handlers.moved import retell
from bot.handlers.plotcache import cached_images, plots_key, published
from bot.handlers.publish import Publisher
from bot.handlers.record import Facts, record_review
from bot.handlers.state import BotState, encode_state, next_state
from bot.handlers.stateparts import PlotCache
from bot.handlers.trust import People, verified_command
from bot.ports import ImagePort, RunsPort
from bot.render.comment import render_comment, render_no_model, render_notice
from bot.review.basis import basis_of
from bot.review.decision import (
    SINGLE,
    GateInputs,
    gate_groups,
    no_model,
    per_model,
)
from bot.review.identity import baseline_key, run_fingerprint
from bot.review.permodel import (
    ModelGroup,
    ModelSlots,
    Pools,
    SlotMemory,
)
from bot.review.pipeline import ReviewRequest, build_review, with_images
from bot.review.privacy import (
    PUBLIC_NO_ALLOW_LIST,
    PUBLIC_NO_ALLOW_LIST_HINT,
    PUBLIC_NO_ALLOW_LIST_STATUS,
    must_not_publish,
)
from bot.review.refs import find_refs
from bot.review.reviewers import Command, CommandKind, apply_reassign, assign

log = logging.getLogger(__name__)

MODELS_REASSIGN = (
    "`{raw}` was not applied: with several models under review, each model's reviewers "
    "come from `reviewers.models`; change the pools there"
)
PLOTS_OFF = (
    "Plots are off for this repository (`plots.host: none`): the training curves and the "
    "runs' images are in MLflow, see the links below."
)


@dataclass
class _Context:
    pr: PullRequest
    config: Config
    mine: Comment | None
    previous: BotState | None
    texts: list[str]
    people: People
    problems: tuple[str, ...] = ()  # about the PR's text, for the comment


def review_pull_request(number: int, deps: Deps, command: Command | None = None) -> Outcome:
    """Full review of PR `number`: the comment, the review requests and the gate."""
    pr = deps.github.pull_request(number, with_files=False)  # files: if require_review_for
    if pr.state != "open":
        return Outcome(notice=f"pull request #{number} is {pr.state}: nothing to review")
    thread = load_thread(deps, pr)
    publisher, previous = thread.publisher, thread.previous
    try:
        config = load_pr_config(deps, pr)
    except ConfigError as exc:
        return fail_closed(publisher, Config(), previous, deps, exc)
    if pr.draft and not config.gate.review_drafts:
        return Outcome(notice=f"#{number} is a draft: the review starts when it is ready")
    publisher.use_surface(config.gate.surface)
    publisher.begin(config.gate.context)  # the App's check run: in progress
    command, refused = verified_command(command, thread.people, pr.author)
    problems = tuple(p for p in (thread.ignored, refused) if p)
    ctx = _Context(pr, config, thread.mine, previous, thread.texts, thread.people, problems)
    if must_not_publish(pr.private, config.mlflow):
        return _unpublished(ctx, deps, publisher)
    try:
        return _review(ctx, deps, publisher, command)
    except ModelReviewError as exc:
        return fail_closed(publisher, config, previous, deps, exc)


def _review(ctx: _Context, deps: Deps, publisher: Publisher, command: Command | None) -> Outcome:
    pr, config = ctx.pr, ctx.config
    request = ReviewRequest(
        texts=ctx.texts,
        commits=pr.commits,
        pr_url=pr.html_url or None,
        problems=ctx.problems,
        repo_url=repo_web_url(pr),
    )
    runs = deps.runs(config)
    hosted = published(ctx.previous)
    images = None if publisher.dry_run else deps.images(config, pr, runs, hosted)
    report = build_review(request, runs, config)
    if not report.candidates and not report.unresolved:
        return _no_model(ctx, deps, publisher, report, runs)
    report, plots = _plots(ctx, report, runs, images, publisher.dry_run)
    groups = gate_groups(report.candidates, config)
    memory = ctx.previous.models if ctx.previous else {}
    assignments, problem = _assignments(ctx, command, groups, memory)
    if problem:
        report = _with_problem(report, problem)
    now = deps.now()
    state = next_state(
        ctx.previous,
        run_fingerprint(report),
        now,
        assignment=assignments.get(SINGLE, Assignment(None, None)),  # several: per model
        head_sha=pr.head_sha,
        basis=basis_of(report),
    )
    # reconcile asks whether production moved since this review
    state = replace(state, plots=plots, compared_with=baseline_key(report))
    state = retell(ctx.previous, state, deps.trigger)
    reviews = deps.github.reviews(pr.number) if report.candidates else []
    inputs = GateInputs(report, groups, assignments, pr, config, now, tuple(reviews), memory)
    decision = decide_event(ctx.people, state, inputs)
    report = _with_problems(report, decision.notes)
    if per_model(groups):
        state = replace(state, models=decision.memory)
        before = [memory[s.label].assignment if s.label in memory else None for s in decision.slots]
    else:
        before = [ctx.previous.assignment if ctx.previous else None]
    gated = _Gated(report, runs, state, decision.gate, reviews)
    return _finish(ctx, deps, publisher, gated, slots=decision.slots, previous=before)


@dataclass(frozen=True)
class _Gated:
    """A review with its gate decided, ready for the record and the comment."""

    report: ReviewReport
    runs: RunsPort
    state: BotState
    decision: GateDecision
    reviews: list[Review]


def _finish(
    ctx: _Context,
    deps: Deps,
    publisher: Publisher,
    gated: _Gated,
    *,
    slots: tuple[ModelSlots, ...],
    previous: list[Assignment | None],
) -> Outcome:
    """Record in MLflow, write the comment, request the reviewers, set the status."""
    pr, config, decision = ctx.pr, ctx.config, gated.decision
    report, state = gated.report, gated.state
    if not publisher.dry_run:  # the review's record in MLflow; never changes the gate
        facts = Facts(pr, report, decision, gated.reviews, config)
        recorded = record_review(gated.runs, facts, state, pause=deps.pause)
        report, state = _with_problems(report, recorded.problems), recorded.state
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
    ctx: _Context, report: ReviewReport, runs: RunsPort, images: ImagePort | None, dry: bool
) -> tuple[ReviewReport, PlotCache | None]:
    """The plots: reused from the previous event when nothing they show changed."""
    cache = ctx.previous.plots if ctx.previous else None
    if images is None:
        return replace(report, images_note=None if dry else PLOTS_OFF), cache
    if not report.candidates:
        return report, cache
    key = plots_key(report, ctx.config.plots)
    cached = cached_images(ctx.previous, key)
    if cached is not None:
        return replace(report, images=cached), cache
    report = with_images(report, runs, ctx.config, images)
    return report, PlotCache(key, report.images) if report.images else cache


def _assignments(
    ctx: _Context,
    command: Command | None,
    groups: Sequence[ModelGroup],
    memory: Mapping[str, SlotMemory],
) -> tuple[dict[str, Assignment], str | None]:
    """Who reviews each group (a command may change the one pair of a single model)."""
    if not per_model(groups):
        assignment, problem = _assignment(ctx, command, groups[0].pools)
        return {SINGLE: assignment}, problem
    pr = ctx.pr
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
    ctx: _Context, command: Command | None, chosen: Pools
) -> tuple[Assignment, str | None]:
    pools = replace(ctx.config.reviewers, primary=chosen.primary, secondary=chosen.secondary)
    previous = ctx.previous.assignment if ctx.previous else None
    current = assign(
        pools.primary,
        pools.secondary,
        ctx.pr.author,
        ctx.pr.number,
        previous,
        ctx.pr.requested_reviewers,
    )
    if command is not None and command.kind is CommandKind.INVALID:
        return current, f"`{command.raw}` is not a command model-review knows: {command.problem}"
    if command is None or command.kind is not CommandKind.REASSIGN:
        return current, None
    try:
        return apply_reassign(current, command, pools, ctx.pr.author), None
    except ModelReviewError as exc:
        return current, f"`{command.raw}` was not applied: {exc}"


def _no_model(
    ctx: _Context, deps: Deps, publisher: Publisher, report: ReviewReport, runs: RunsPort
) -> Outcome:
    config = ctx.config
    touched = _touched(ctx, deps)
    decision = no_model(touched, report.capped)
    outcome = Outcome(gate=decision, notice=decision.description)
    if touched or ctx.mine is not None or report.capped:
        state = next_state(
            ctx.previous,
            run_fingerprint(report),
            deps.now(),
            head_sha=ctx.pr.head_sha,
            basis=basis_of(report),
        )
        if state.recorded and not publisher.dry_run:
            # the runs this PR had approved left the review: their record goes stale
            facts = Facts(ctx.pr, report, decision, [], config)
            recorded = record_review(runs, facts, state, pause=deps.pause)
            report, state = _with_problems(report, recorded.problems), recorded.state
        capped = report.problems if report.capped else ()
        body = render_no_model(touched, capped, state_block=encode_state(state))
        outcome.markdown = body
        outcome.comment_url = publisher.comment(body)
    publisher.status(decision, config.gate.context)
    return publisher.finish(outcome)


def _touched(ctx: _Context, deps: Deps) -> list[str]:
    """The PR's changed paths that need a linked run (`require_review_for`); the file
    list is fetched only when the config has such paths."""
    globs = ctx.config.require_review_for
    if not globs:
        return []
    files = deps.github.changed_files(ctx.pr.number)
    return [f for f in files if any(fnmatch.fnmatchcase(f, g) for g in globs)]


def _unpublished(ctx: _Context, deps: Deps, publisher: Publisher) -> Outcome:
    """A public repository without an allow-list: MLflow is not even asked, nothing
    about any run is shown, and the gate fails closed (`error`) until the config
    lists what may be published. The comment appears only where a review would."""
    decision = GateDecision(GateState.ERROR, PUBLIC_NO_ALLOW_LIST_STATUS)
    outcome = Outcome(gate=decision, notice=PUBLIC_NO_ALLOW_LIST)
    if ctx.mine is not None or find_refs(ctx.texts) or _touched(ctx, deps):
        state = ctx.previous or BotState(changed_at=deps.now())
        outcome.markdown = render_notice(
            PUBLIC_NO_ALLOW_LIST,
            hint=PUBLIC_NO_ALLOW_LIST_HINT,
            warning=True,
            state_block=encode_state(state),
        )
        outcome.comment_url = publisher.comment(outcome.markdown)
    publisher.status(decision, ctx.config.gate.context)
    return publisher.finish(outcome)


def _with_problem(report: ReviewReport, problem: str) -> ReviewReport:
    return _with_problems(report, (problem,))


def _with_problems(report: ReviewReport, problems: tuple[str, ...]) -> ReviewReport:
    return replace(report, problems=(*report.problems, *problems)) if problems else report


def repo_web_url(pr: PullRequest) -> str | None:
    """The repository's web address, from the PR's (`https://HOST/OWNER/NAME/pull/N`)."""
    head, sep, _ = pr.html_url.rpartition("/pull/")
    return head if sep and head.startswith(("http://", "https://")) else None
