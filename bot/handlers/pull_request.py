"""The pull-request review handler: read, review, decide, publish.

Shared by the Action and the webhook app. Reads GitHub and MLflow only through the
ports, and writes only what differs from what is already there (comment, status,
review requests). When unsure it fails closed: the gate is never green by mistake.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from bot.config.schema import Config
from bot.domain import (
    Assignment,
    Candidate,
    Comment,
    GateDecision,
    GateState,
    PullRequest,
    Review,
    ReviewReport,
)
from bot.errors import ConfigError, ModelReviewError
from bot.handlers.approved import basis_of
from bot.handlers.context import Deps, Outcome, load_pr_config, load_thread
from bot.handlers.moved import retell
from bot.handlers.plotcache import cached_images, plots_key, remember
from bot.handlers.publish import Publisher
from bot.handlers.record import Facts, record_review
from bot.handlers.state import (
    BASELINE,
    RECORDED,
    BotState,
    encode_state,
    fingerprint,
    next_state,
)
from bot.handlers.trust import People
from bot.ports import ImagePort, RunsPort
from bot.render.comment import render_comment
from bot.render.markdown import clean
from bot.review.evaldata import apply_rule
from bot.review.gate import decide
from bot.review.permodel import (
    ModelGroup,
    ModelSlots,
    Pools,
    SlotMemory,
    gate_models,
    load_slots,
    model_groups,
    save_slots,
)
from bot.review.pipeline import ReviewRequest, build_review, with_images
from bot.review.policy import hold_for_metrics
from bot.review.privacy import (
    PUBLIC_NO_ALLOW_LIST,
    PUBLIC_NO_ALLOW_LIST_HINT,
    PUBLIC_NO_ALLOW_LIST_STATUS,
    must_not_publish,
)
from bot.review.refs import find_refs
from bot.review.reviewers import Command, CommandKind, apply_reassign, assign

log = logging.getLogger(__name__)

NO_MODEL = "no model under review"
NEEDS_RUN_STATUS = "this PR changes model code but links no MLflow run"
MODELS_REASSIGN = (
    "`{raw}` was not applied: with several models under review, each model's reviewers "
    "come from `reviewers.models`; change the pools there"
)
UNRESOLVED = "the MLflow references in this PR could not be resolved"
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
        return _fail_closed(publisher, Config(), previous, deps, str(exc))
    if pr.draft and not config.gate.review_drafts:
        return Outcome(notice=f"#{number} is a draft: the review starts when it is ready")
    problems = (thread.ignored,) if thread.ignored else ()
    ctx = _Context(pr, config, thread.mine, previous, thread.texts, thread.people, problems)
    if must_not_publish(pr.private, config.mlflow):
        return _unpublished(ctx, deps, publisher)
    try:
        return _review(ctx, deps, publisher, command)
    except ModelReviewError as exc:
        return _fail_closed(publisher, config, previous, deps, str(exc))


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
    previous_body = ctx.mine.body if ctx.mine else None
    images = None if publisher.dry_run else deps.images(config, pr, runs, previous_body)
    report = build_review(request, runs, config)
    if not report.candidates and not report.unresolved:
        return _no_model(ctx, deps, publisher, report, runs)
    report, extra = _plots(ctx, report, runs, images, publisher.dry_run)
    extra = {**extra, BASELINE: baseline_key(report)}  # reconcile: did production move?
    groups = model_groups(report.candidates, config.reviewers)
    if config.reviewers.models and len(groups) > 1:
        return _review_models(ctx, deps, publisher, (report, runs, extra), groups, command=command)
    pools = (
        groups[0].pools if groups else Pools(config.reviewers.primary, config.reviewers.secondary)
    )
    assignment, problem = _assignment(ctx, command, pools)
    if problem:
        report = _with_problem(report, problem)
    state = next_state(
        ctx.previous,
        run_fingerprint(report),
        deps.now(),
        assignment=assignment,
        head_sha=pr.head_sha,
        extra=extra,
        basis=basis_of(report),
    )
    state = retell(ctx.previous, state, deps.trigger)
    reviews: list[Review] = []
    if report.candidates:
        reviews = deps.github.reviews(pr.number)
        decision = decide(
            reviews,
            assignment,
            pr.author,
            state.changed_at,
            pr.head_sha,
            config.gate.stale_on_new_commits,
            standing=ctx.people.standing(reviews, assignment, pr.author, config.reviewers.teams),
        )
        report = _with_problems(report, (*decision.notes, *_stale_why(decision, state)))
        decision = hold_for_metrics(decision, report, config.gate.fail_on_regression)
        checks = [c.eval_data for c in report.changes]
        decision = apply_rule(decision, checks, config.compare.require_same_eval_data)
    else:
        decision = GateDecision(GateState.FAILURE, UNRESOLVED)
    before = [ctx.previous.assignment if ctx.previous else None]
    slots = (ModelSlots("", assignment, decision),)
    gated = _Gated(report, runs, state, decision, reviews)
    return _finish(ctx, deps, publisher, gated, slots=slots, previous=before)


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
    )
    outcome = Outcome(gate=decision, regressions=report.regressions, markdown=body)
    outcome.comment_url = publisher.comment(body)
    for slot, before in zip(slots, previous, strict=True):
        if report.candidates:  # nothing resolved: nobody to request yet
            publisher.request_reviewers(slot.assignment, before)
    publisher.status(decision, config.gate.context)
    return publisher.finish(outcome)


def _review_models(
    ctx: _Context,
    deps: Deps,
    publisher: Publisher,
    reviewed: tuple[ReviewReport, RunsPort, dict[str, str]],
    groups: list[ModelGroup],
    *,
    command: Command | None,
) -> Outcome:
    """Several models under review (`reviewers.models`): a primary and a secondary
    per model, and a gate that waits for every model."""
    pr, config = ctx.pr, ctx.config
    report, runs, extra = reviewed
    if command is not None and command.kind is not CommandKind.REFRESH:
        report = _with_problem(report, MODELS_REASSIGN.format(raw=command.raw))
    memory = load_slots(ctx.previous.extra if ctx.previous else {})
    reviews = deps.github.reviews(pr.number)
    now = deps.now()
    decision, slots, kept = models_gate(
        report, groups, memory, reviews, pr, config, now, people=ctx.people
    )
    report = _with_problems(report, decision.notes)
    decision = hold_for_metrics(decision, report, config.gate.fail_on_regression)
    state = next_state(
        ctx.previous,
        run_fingerprint(report),
        now,
        assignment=Assignment(None, None),  # per model, in `extra`
        head_sha=pr.head_sha,
        extra=save_slots(extra, kept),
        basis=basis_of(report),
    )
    previous = [memory[s.label].assignment if s.label in memory else None for s in slots]
    gated = _Gated(report, runs, state, decision, reviews)
    return _finish(ctx, deps, publisher, gated, slots=slots, previous=previous)


def _plots(
    ctx: _Context, report: ReviewReport, runs: RunsPort, images: ImagePort | None, dry: bool
) -> tuple[ReviewReport, dict[str, str]]:
    """The plots: reused from the previous event when nothing they show changed."""
    extra = dict(ctx.previous.extra) if ctx.previous else {}
    if images is None:
        return replace(report, images_note=None if dry else PLOTS_OFF), extra
    if not report.candidates:
        return report, extra
    key = plots_key(report, ctx.config.plots)
    cached = cached_images(ctx.previous, key)
    if cached is not None:
        return replace(report, images=cached), extra
    report = with_images(report, runs, ctx.config, images)
    if report.images:
        extra = remember(extra, key, report.images)
    return report, extra


def models_gate(  # noqa: PLR0917 (every part of the decision)
    report: ReviewReport,
    groups: Sequence[ModelGroup],
    memory: Mapping[str, SlotMemory],
    reviews: Sequence[Review],
    pr: PullRequest,
    config: Config,
    now: str,
    *,
    people: People,
    reassign: bool = True,
) -> tuple[GateDecision, tuple[ModelSlots, ...], dict[str, SlotMemory]]:
    """The gate over several models; `reassign=False` keeps the remembered slots
    (at merge time nobody new is assigned). `people` verifies who counts; what each
    model's approvals are of includes its baseline and registered versions."""

    def choose(pools: Pools, before: Assignment | None) -> Assignment:
        if not reassign:
            return before or Assignment(None, None)
        return assign(
            pools.primary, pools.secondary, pr.author, pr.number, before, pr.requested_reviewers
        )

    def judge(assignment: Assignment, changed_at: str) -> GateDecision:
        stale = config.gate.stale_on_new_commits
        teams = config.reviewers.teams
        standing = people.standing(reviews, assignment, pr.author, teams)
        return decide(
            reviews, assignment, pr.author, changed_at, pr.head_sha, stale, standing=standing
        )

    def fingerprint_of(candidates: Sequence[Candidate]) -> str:
        part = replace(report, candidates=tuple(candidates))
        return fingerprint([run_fingerprint(part), *sorted(basis_of(part).values())])

    return gate_models(groups, memory, now, fingerprint=fingerprint_of, choose=choose, judge=judge)


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
    if touched:
        decision = GateDecision(GateState.FAILURE, NEEDS_RUN_STATUS)
    else:
        decision = GateDecision(GateState.SUCCESS, NO_MODEL)
    outcome = Outcome(gate=decision, notice=decision.description)
    if touched or ctx.mine is not None:
        from bot.render.comment import render_no_model

        state = next_state(
            ctx.previous,
            run_fingerprint(report),
            deps.now(),
            head_sha=ctx.pr.head_sha,
            basis=basis_of(report),
        )
        if state.extra.get(RECORDED) and not publisher.dry_run:
            # the runs this PR had approved left the review: their record goes stale
            facts = Facts(ctx.pr, report, decision, [], config)
            recorded = record_review(runs, facts, state, pause=deps.pause)
            report, state = _with_problems(report, recorded.problems), recorded.state
        body = render_no_model(touched, state_block=encode_state(state))
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
    from bot.render.comment import render_notice

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


def _fail_closed(
    publisher: Publisher, config: Config, previous: BotState | None, deps: Deps, error: str
) -> Outcome:
    """Say what went wrong in the comment and the status; never success."""
    from bot.render.comment import render_error

    # one line, no control or bidi characters: for the status, and a log line must not
    # start a `::` workflow command
    plain = clean(error, 2_000)
    log.error("review failed: %s", plain)
    decision = decide(
        [], Assignment(None, None), "", None, publisher.pr.head_sha, False, error=plain
    )
    state = previous or BotState(changed_at=deps.now())
    body = render_error(error, state_block=encode_state(state))
    outcome = Outcome(gate=decision, notice=plain, markdown=body)
    try:
        outcome.comment_url = publisher.comment(body)
    finally:
        publisher.status(decision, config.gate.context)
    return publisher.finish(outcome)


def _stale_why(decision: GateDecision, state: BotState) -> tuple[str, ...]:
    """Why approvals are stale, when some are and the state knows."""
    if not decision.stale or not state.why:
        return ()
    return (f"approvals given before {state.changed_at} no longer count: {state.why}",)


def _with_problem(report: ReviewReport, problem: str) -> ReviewReport:
    return _with_problems(report, (problem,))


def _with_problems(report: ReviewReport, problems: tuple[str, ...]) -> ReviewReport:
    return replace(report, problems=(*report.problems, *problems)) if problems else report


def repo_web_url(pr: PullRequest) -> str | None:
    """The repository's web address, from the PR's (`https://HOST/OWNER/NAME/pull/N`)."""
    head, sep, _ = pr.html_url.rpartition("/pull/")
    return head if sep and head.startswith(("http://", "https://")) else None


def baseline_key(report: ReviewReport) -> str:
    """Which production model the review compared with: "run id:version" ("" : none)."""
    base = report.baseline
    if base.run is None:
        return ""
    version = base.model_version.version if base.model_version else ""
    return f"{base.run.run_id}:{version}"


def run_fingerprint(report: ReviewReport) -> str:
    """Identity of what is under review: the runs, their versions, params and metrics.
    An approval given before this last changed is stale."""
    parts = []
    for candidate in report.candidates:
        run = candidate.run
        version = candidate.model_version.version if candidate.model_version else ""
        content = json.dumps(
            [dict(run.params), dict(run.metrics), run.status], sort_keys=True, default=str
        )
        digest = hashlib.sha256(content.encode()).hexdigest()[:12]
        parts.append(f"{run.run_id}:{version}:{digest}")
    return fingerprint(parts)
