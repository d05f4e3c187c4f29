"""The closed pull request: the merge in the review's record, and promotion.

Merged: every run under review (and its registered versions) gets
`model_review.merged_commit`. With `promote: true` the production alias
(`baseline.alias`) moves to the one registered version under review, and
`model_review.previous_production` names the version it replaced; the move gets its
entry in production's history on the registered model (bot.review.ledger), once per
merge commit however often the event is delivered. Closed unmerged:
`model_review.status` becomes `closed`. The bot's comment gets a final line saying
what happened (what was promoted, or why not).

Was the gate green at merge time? Promotion changes production, so two independent
answers must both be yes:

1. the review re-evaluated now: the runs are fetched again and compared with the
   fingerprint in the bot's state (a run changed since the approvals makes them
   stale), and the reviews are judged against the assignment in that state;
2. the `model-review` commit status of the merged head commit is `success`: that is
   what GitHub let through. An admin can merge past a pending or failing status,
   and a status can lag behind an event still in flight.

The re-evaluation alone would promote a model the merge never saw approved; the
status alone would miss a run changed in MLflow after the approval (no GitHub event
fires for that). Fail closed: anything else leaves production alone and says why.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from bot.constants import COMMENT_BUDGET
from bot.domain import (
    GateDecision,
    GateState,
    HistoryEntry,
    LedgerAction,
    ModelVersionInfo,
    RunSnapshot,
    VersionRecord,
)
from bot.errors import ModelReviewError
from bot.handlers.context import (
    Conversation,
    Deps,
    Outcome,
    load_conversation,
    load_pr_config,
    publisher_for,
)
from bot.handlers.gating import decide_again
from bot.handlers.mlflowwrite import (
    GaveUp,
    Writer,
    versions_of,
    versions_under_review,
    write_record,
)
from bot.handlers.record import RecordInputs, review_tags
from bot.handlers.state import (
    BotState,
    strip_state,
    with_state,
)
from bot.ports import RunsPort
from bot.render.comment import OUTCOME, render_outcome
from bot.review.gate import parse_time
from bot.review.ledger import (
    MERGED_COMMIT,
    PR,
    PREVIOUS_PRODUCTION,
    STATUS,
    Status,
    has_key,
    ledger_tag,
    merge_key,
)
from bot.review.pipeline import ReviewRequest, build_review
from bot.review.privacy import must_not_publish

log = logging.getLogger(__name__)

MAX_PROBLEMS = 3


@dataclass(frozen=True)
class Closing:
    """What recording a closed PR did; `text` is the comment's final line."""

    text: str
    problems: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()
    promoted: ModelVersionInfo | None = None


def promotion_refusal(
    decision: GateDecision,
    status: tuple[GateState, str] | None,
    versions: Sequence[ModelVersionInfo],
    context: str,
) -> str | None:
    """Why the merge may not promote; None when it may."""
    if decision.state is not GateState.SUCCESS:
        return f"the review was not approved at merge time ({decision.description})"
    if status is None or status[0] is not GateState.SUCCESS:
        seen = status[0].value if status else "missing"
        return f"the `{context}` status of the merged commit was {seen}, not success"
    if not versions:
        return (
            "no registered model version is under review (register the run's model, "
            "or link `models:/NAME/VERSION`)"
        )
    if len(versions) > 1:
        listed = ", ".join(f"`{v.name}` v{v.version}" for v in versions)
        return f"{len(versions)} model versions are under review ({listed}); promotion needs one"
    return None


@dataclass
class _Promotion:
    version: ModelVersionInfo
    alias: str
    at: datetime  # when, for production's history
    previous: str | None = None  # the version replaced ("none"); None: it already was
    moved: bool = False

    def text(self) -> str:
        v = self.version
        if self.previous is None:
            return f"`{v.name}` v{v.version} already carried alias `{self.alias}`"
        before = f"replacing v{self.previous}" if self.previous != "none" else "the first one"
        return f"`{v.name}` v{v.version} is now `{self.alias}` ({before})"


def record_closed(
    runs: RunsPort,
    facts: RecordInputs,
    status: tuple[GateState, str] | None,
    *,
    pause: Callable[[float], None] = time.sleep,
    now: datetime,
) -> Closing:
    """Record a closed PR. `facts.decision` is the gate re-evaluated now; `status`
    the commit status of the head GitHub merged (needed only to promote); `now` (from
    Deps.now) dates a promotion's entry in production's history."""
    w = Writer(runs, pause)
    pr = facts.pr
    if not pr.merged:
        return _closed(w, facts)
    head = f"Merged in `{(pr.merge_commit_sha or pr.head_sha)[:7]}`"
    versions = versions_under_review(facts.report.candidates)
    refusal = promotion_refusal(facts.decision, status, versions, facts.config.gate.context)
    if not facts.config.promote:
        refusal = "`promote` is off in the config"
    plan = None if refusal else _Promotion(versions[0], facts.config.baseline.alias, now)
    try:
        _merged(w, facts, plan)
    except GaveUp:
        done = f"{plan.text()}, but" if plan is not None and plan.moved else "not promoted, and"
        text = f"{head}: {done} the record in MLflow is incomplete"
        return Closing(text, tuple(w.problems), tuple(w.writes))
    if plan is None:
        return Closing(f"{head}: recorded in MLflow; not promoted: {refusal}", (), tuple(w.writes))
    promoted = plan.version if plan.previous is not None else None
    text = f"{head}: {plan.text()}; recorded in MLflow"
    return Closing(text, (), tuple(w.writes), promoted)


def _merged(w: Writer, facts: RecordInputs, plan: _Promotion | None) -> None:
    sha = facts.pr.merge_commit_sha or facts.pr.head_sha
    for candidate in facts.report.candidates:
        run = candidate.run
        approval = review_tags(run.tags, facts) if facts.green else {}
        desired = {**approval, MERGED_COMMIT: sha}
        if not run.tags.get(PR):
            desired[PR] = facts.url
        move = None
        if plan is not None and _key(plan.version) in map(_key, versions_of(candidate)):
            move = _plan_promotion(w, plan, run, facts, desired)
        write_record(w, run, versions_of(candidate), desired, before_run=move)


def _key(version: ModelVersionInfo) -> tuple[str, str]:
    return version.name, version.version


def _plan_promotion(
    w: Writer, plan: _Promotion, run: RunSnapshot, facts: RecordInputs, desired: dict[str, str]
) -> Callable[[], None] | None:
    """Complete the plan: add the replaced version to `desired` and return the alias
    move (and its entry in production's history) to make just before the run's tags
    are written (None: nothing to move)."""
    v = plan.version
    sha = facts.pr.merge_commit_sha or facts.pr.head_sha
    if run.tags.get(MERGED_COMMIT) == sha and PREVIOUS_PRODUCTION in run.tags:
        plan.previous = run.tags[PREVIOUS_PRODUCTION]  # an earlier delivery promoted it
        desired[PREVIOUS_PRODUCTION] = plan.previous
        return partial(_history_entry, w, plan, facts, sha)  # in case it was cut short
    read = partial(w.runs.model_version_by_alias, v.name, plan.alias)
    holder = w.do(f"reading alias {plan.alias} of {v.name}", read, write=False)
    if holder is not None and holder.version == v.version:  # maybe moved by a delivery
        return partial(_resumed, w, plan, facts, desired)  # cut short before its record
    plan.previous = holder.version if holder is not None else "none"
    desired[PREVIOUS_PRODUCTION] = plan.previous

    def move() -> None:
        set_alias = partial(w.runs.set_alias, v.name, plan.alias, v.version)
        w.do(f"moving alias {plan.alias} of {v.name} to v{v.version}", set_alias)
        plan.moved = True
        _history_entry(w, plan, facts, sha)

    return move


def _resumed(w: Writer, plan: _Promotion, facts: RecordInputs, desired: dict[str, str]) -> None:
    """The alias already names the version: when its tags say this merge was
    promoting it (written just before the move), finish that promotion's record."""
    v, sha = plan.version, desired[MERGED_COMMIT]
    read = partial(w.runs.model_record, v.name)
    record = w.do(f"reading the record of {v.name}", read, write=False)
    tags = (record.version(v.version) if record else None) or VersionRecord(v.version)
    if tags.tags.get(MERGED_COMMIT) != sha or PREVIOUS_PRODUCTION not in tags.tags:
        return
    plan.previous = desired[PREVIOUS_PRODUCTION] = tags.tags[PREVIOUS_PRODUCTION]
    _history_entry(w, plan, facts, sha)


def _history_entry(w: Writer, plan: _Promotion, facts: RecordInputs, sha: str) -> None:
    """The promotion's entry in production's history (bot.review.ledger), unless an
    earlier delivery of this merge wrote it already."""
    v, key = plan.version, merge_key(sha)
    read = partial(w.runs.model_record, v.name, versions=False)
    record = w.do(f"reading the production history of {v.name}", read, write=False)
    if record is None or has_key(record.tags, key):
        return
    entry = HistoryEntry(
        version=v.version,
        action=LedgerAction.PROMOTE,
        previous=plan.previous,
        pr=facts.url,
        approvers=facts.decision.approved_by,
        key=key,
    )
    name, value = ledger_tag(entry, plan.at)
    write = partial(w.runs.set_model_tag, v.name, name, value)
    w.do(f"recording v{v.version} in the production history of {v.name}", write)


def _closed(w: Writer, facts: RecordInputs) -> Closing:
    """Closed unmerged: runs with no record, or a record of this PR, say `closed`."""
    head = "Closed without merging"
    try:
        for candidate in facts.report.candidates:
            run = candidate.run
            if run.tags.get(PR, facts.url) == facts.url:
                desired = {STATUS: Status.CLOSED.value, PR: facts.url}
                write_record(w, run, versions_of(candidate), desired)
    except GaveUp:
        text = f"{head}; the record in MLflow is incomplete"
        return Closing(text, tuple(w.problems), tuple(w.writes))
    return Closing(f"{head}: the record in MLflow says `closed`", (), tuple(w.writes))


# --- the handler ----------------------------------------------------------------


def close_pull_request(number: int, deps: Deps) -> Outcome:
    """Handle `pull_request` closed: record it in MLflow, maybe promote, and end the
    bot's comment with what happened. PRs the bot never reviewed are left alone."""
    pr = deps.github.pull_request(number, with_files=False)
    if pr.state == "open":
        return Outcome(notice=f"#{number} is open again: nothing to record")
    thread = load_conversation(deps, pr)
    mine, state, publisher = thread.mine, thread.previous, publisher_for(deps, thread)
    if mine is None or state is None:
        return Outcome(notice=f"#{number} was closed before model-review reviewed it")
    if publisher.dry_run:
        return publisher.finish(Outcome(notice=f"#{number} was closed: nothing recorded"))
    try:
        closing = _record(thread, state, deps)
    except ModelReviewError as exc:
        head = "Merged" if pr.merged else "Closed without merging"
        closing = Closing(f"{head}; nothing was recorded in MLflow", problems=(str(exc),))
    body = with_outcome(mine.body, closing, state)
    outcome = Outcome(notice=closing.text, markdown=body)
    outcome.comment_url = publisher.comment(body)
    return publisher.finish(outcome)


def _record(thread: Conversation, state: BotState, deps: Deps) -> Closing:
    gh, pr = deps.github, thread.pr
    config = load_pr_config(deps, pr)
    if must_not_publish(pr.private, config.mlflow):  # not even asked: see bot.review.resolve
        return Closing("Closed: nothing recorded, this public repository has no allow-list")
    runs = deps.runs(config)
    request = ReviewRequest(texts=thread.texts, commits=pr.commits, pr_url=pr.html_url or None)
    report = build_review(request, runs, config)
    if not report.candidates:
        return Closing("Closed with no model under review: nothing to record in MLflow")
    now = deps.now()
    reviews = gh.reviews(pr.number)
    # at merge time nobody new is assigned: each group keeps the slots it had
    again = decide_again(
        thread.people, state, report, pr=pr, config=config, reviews=reviews, now=now
    )
    decision = again.gate
    merging = pr.merged and config.promote
    status = gh.current_status(pr.head_sha, config.gate.context) if merging else None
    facts = RecordInputs(pr, report, decision, reviews, config)
    at = parse_time(now)
    if at is None:
        raise ModelReviewError(f"the clock gave an unreadable time: {now!r}")
    return record_closed(runs, facts, status, pause=deps.pause, now=at)


def with_outcome(body: str, closing: Closing, state: BotState) -> str:
    """The bot's comment with its final section (replacing an earlier one) and state."""
    section = render_outcome(closing.text, closing.problems[:MAX_PROBLEMS])
    text = strip_state(body)
    cut = text.rfind(OUTCOME)
    if cut >= 0:
        text = text[:cut].rstrip()
    room = COMMENT_BUDGET - len(section) - len(with_state("", state)) - 8
    if len(text) > room:  # a review at the size limit: cut its end, keep the outcome
        text = text[: text.rfind("\n", 0, room - 2)] + "\n…"
    return with_state(f"{text}\n\n{section}", state)
