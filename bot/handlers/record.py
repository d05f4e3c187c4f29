"""The review's record in MLflow: `model_review.*` tags on the runs under review.

When the gate turns green, every run under review (and each registered version of
it) is tagged with who approved it, in which PR, when, and against which
production run. When that approval no longer holds, the status tag says so; runs
the PR stopped linking are marked stale too. bot.handlers.closed records the merge.

Writes go to the model versions first and to the run last: the run's tags (read
with the run, at no extra cost) are the commit point. When they already say what
an event would write, nothing is written, so a repeated event costs no write.
MLflow failures are retried a few times, then reported as a problem line in the
comment; they never change the gate. The run's own notes are never touched; with
`record.notes: append` a short dated section goes into the version's description.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial

from bot.config.schema import Config, NotesMode
from bot.constants import iso_seconds, login_key
from bot.domain import (
    GateDecision,
    GateState,
    PullRequest,
    Review,
    ReviewReport,
)
from bot.handlers.mlflowwrite import GaveUp, Writer, versions_of, write_record
from bot.handlers.state import BotState
from bot.ports import RunsPort
from bot.review.gate import latest_reviews, parse_time
from bot.review.ledger import (
    APPROVED_AT,
    APPROVERS,
    COMPARED_TO,
    PR,
    REVIEWED,
    STATUS,
    Status,
)
from bot.review.verdict import verdict_line

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecordInputs:
    """What one event knows about the review: the PR, the report and the gate."""

    pr: PullRequest
    report: ReviewReport
    decision: GateDecision
    reviews: Sequence[Review]
    config: Config

    @property
    def url(self) -> str:
        pr = self.pr
        return pr.html_url or f"https://github.com/{pr.repo}/pull/{pr.number}"

    @property
    def green(self) -> bool:
        return self.decision.state is GateState.SUCCESS

    @property
    def approved_at(self) -> str:
        """When the gate turned green: the newest counted approval (UTC ISO); the
        same for every event, so the tags do not change while the approvals hold."""
        latest = latest_reviews(self.reviews, self.pr.author)
        keys = {login_key(login) for login in self.decision.approved_by}
        times = [parse_time(r.submitted_at) for k, r in latest.items() if k in keys]
        found = [t for t in times if t is not None]
        return iso_seconds(max(found)) if found else "unknown"

    def approval(self) -> dict[str, str]:
        """The tags of an approved review (only meaningful when `green`)."""
        base = self.report.baseline.run
        return {
            STATUS: Status.APPROVED.value,
            PR: self.url,
            APPROVERS: ",".join(self.decision.approved_by),
            APPROVED_AT: self.approved_at,
            COMPARED_TO: base.run_id if base else "none",
        }

    def note(self) -> str:
        """The dated section `record.notes: append` adds to a version's description."""
        who = " and ".join(self.decision.approved_by) or "nobody"
        report, at = self.report, self.approved_at
        base = report.baseline.run
        against = f"production run {base.run_id}" if base else "no production run"
        verdict = verdict_line(report.metric_rows, base is not None, len(report.candidates))
        return (
            f"### Model review: approved {at[:10]} in {self.url}\n\n"
            f"Approved by {who} at {at}, compared with {against}. {verdict}."
        )


@dataclass(frozen=True)
class Recorded:
    """What recording a review event did: the state to keep, problems for the comment."""

    state: BotState
    problems: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()


# --- what to write ------------------------------------------------------------


def review_tags(tags: Mapping[str, str], facts: RecordInputs) -> dict[str, str]:
    """The tags a review event wants on a run (empty: leave it alone). Only a record
    of this PR is downgraded; another PR's record stays until this PR's approval."""
    if facts.green:
        approval = facts.approval()
        same = all(tags.get(k) == v for k, v in approval.items() if k != COMPARED_TO)
        if same and COMPARED_TO in tags:  # the same approval: keep what its reviewers saw,
            approval[COMPARED_TO] = tags[COMPARED_TO]  # even if production moved since
        return approval
    if tags.get(PR) != facts.url or tags.get(STATUS) not in REVIEWED:
        return {}
    if facts.decision.state is GateState.FAILURE:
        return {STATUS: Status.CHANGES_REQUESTED.value}
    if facts.decision.state is GateState.PENDING:
        return {STATUS: Status.STALE.value}
    return {}  # ERROR: the bot could not tell


def record_review(
    runs: RunsPort,
    facts: RecordInputs,
    state: BotState,
    *,
    pause: Callable[[float], None] = time.sleep,
) -> Recorded:
    """Bring the record of every run under review in line with the gate, and mark
    runs the PR no longer links stale. Never raises for MLflow's sake: failures come
    back as problems for the comment. `state` is the PR's state for this event; the
    returned one remembers which runs hold a record of this PR."""
    w = Writer(runs, pause)
    appending = facts.config.record.notes is NotesMode.APPEND
    note = facts.note() if facts.green and appending else None
    current = [c.run.run_id for c in facts.report.candidates]
    previous = list(state.recorded)
    kept: set[str] = set()
    try:
        for candidate in facts.report.candidates:
            run = candidate.run
            desired = review_tags(run.tags, facts)
            write_record(w, run, versions_of(candidate), desired, note=note)
            if {**run.tags, **desired}.get(PR) == facts.url:
                kept.add(run.run_id)
        _left_the_review(w, [i for i in previous if i not in current], facts.url)
    except GaveUp:
        kept |= {*previous, *current}  # look at all of them again next time
    recorded = tuple(sorted(kept))
    return Recorded(replace(state, recorded=recorded), tuple(w.problems), tuple(w.writes))


def _left_the_review(w: Writer, run_ids: list[str], url: str) -> None:
    """Runs this PR recorded and no longer links: their approval is stale."""
    if not run_ids:
        return
    fetch = partial(w.runs.fetch_runs, run_ids)
    fetched = w.do("reading the runs that left the review", fetch, write=False)
    for run in fetched.values():
        if run.tags.get(PR) == url and run.tags.get(STATUS) in REVIEWED:
            write_record(w, run, run.model_versions, {STATUS: Status.STALE.value})
