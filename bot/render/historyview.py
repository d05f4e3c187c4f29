"""What the templates see of the model's story (ReviewReport.history): production's
history, the unreviewed-production warning, earlier reviews and the run count, with
every link made here. A PR link from MLflow (`model_review.pr` on a version, `pr` in
a ledger entry) is text anyone who can log may write: it is shown as a link only when
it is a pull request of this PR's repository on this GitHub server, else as text."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

from bot.domain import HistoryEntry, LedgerAction, ModelHistory, PriorReview, ReviewReport

_PR_NUMBER = re.compile(r"/pull/([0-9]{1,9})/?$")
_STATUS_WORDS = {
    "approved": "approved",
    "stale": "approval went stale",
    "changes_requested": "changes requested",
    "closed": "closed without merging",
}


@dataclass(frozen=True)
class PrLink:
    label: str  # "PR #12", or the text of a value that is not a PR link
    url: str | None


@dataclass(frozen=True)
class HistoryRow:
    version: str
    when: str  # "2026-11-27 10:00 UTC", or "" when unknown
    how: str  # plain text; rendered escaped
    pr: PrLink | None
    approvers: tuple[str, ...]
    current: bool


@dataclass(frozen=True)
class PriorRow:
    version: str
    outcome: str
    pr: PrLink
    approvers: tuple[str, ...]
    when: str


@dataclass(frozen=True)
class HistoryView:
    model: str
    production: str | None
    unreviewed: bool  # production exists and was never approved through model-review
    rows: tuple[HistoryRow, ...]
    prior: tuple[PriorRow, ...]
    runs: int | None
    runs_capped: bool
    since_production: bool
    experiment: str | None
    experiment_url: str | None

    @property
    def runs_text(self) -> str:
        if self.runs is None:
            return ""
        if self.runs_capped:
            return f"{self.runs:,}+ runs"
        return f"{self.runs:,} run{'s' if self.runs != 1 else ''}"

    @property
    def shown(self) -> bool:
        return bool(self.rows or self.prior or self.runs is not None)


def _when(at: str) -> str:
    return f"{at[:10]} {at[11:16]} UTC" if len(at) >= 16 else at


def pr_link(url: str | None, safe: str | None, repo_url: str | None = None) -> PrLink | None:
    """`safe` is `url` made safe for a link (None: not http(s)); a link only when it
    is a pull request of `repo_url` (this repository on this GitHub server), labelled
    "PR #N"; anything else is shown as the text it is."""
    if not url:
        return None
    found = _PR_NUMBER.search(url)
    if safe is None or found is None or not _in_repo(url, repo_url):
        return PrLink(url, None)
    return PrLink(f"PR #{found.group(1)}", safe)


def _in_repo(url: str, repo_url: str | None) -> bool:
    """`url` is `repo_url/pull/N` (host and owner compared without case, as GitHub does)."""
    if not repo_url:
        return False
    prefix = repo_url.rstrip("/") + "/pull/"
    return url[: len(prefix)].casefold() == prefix.casefold() and bool(
        re.fullmatch(r"[0-9]{1,9}/?", url[len(prefix) :])
    )


def _how(entry: HistoryEntry) -> str:
    replaced = f"; replaced v{entry.previous}" if entry.previous not in (None, "none") else ""
    if entry.action is LedgerAction.OUTSIDE:
        return "set outside model-review (no record of a review)"
    if entry.action is LedgerAction.ROLLBACK:
        why = f": {entry.reason}" if entry.reason else ""
        return f"rolled back by {entry.by or 'unknown'}{why}{replaced}"
    return f"promoted{replaced}"


def history_view(
    report: ReviewReport, make: Callable[[str | None], str | None], ui: str | None
) -> HistoryView | None:
    """The view of `report.history`; `make` turns a value from MLflow into a safe
    http(s) link or None; `ui` is the MLflow UI's address."""
    story: ModelHistory | None = report.history
    if story is None:
        return None
    rows = tuple(
        HistoryRow(
            version=e.version,
            when=_when(e.at),
            how=_how(e),
            pr=pr_link(e.pr, make(e.pr), story.repo_url),
            approvers=e.approvers,
            current=i == 0 and e.version == story.production,
        )
        for i, e in enumerate(story.history)
    )
    prior = tuple(_prior(r, make(r.pr), story.repo_url) for r in story.prior_reviews)
    count = story.runs_since
    exp_url = f"{ui}/#/experiments/{quote(count.experiment_id, safe='')}" if ui and count else None
    return HistoryView(
        model=story.model,
        production=story.production,
        unreviewed=story.reviewed is False,
        rows=rows,
        prior=prior,
        runs=count.count if count else None,
        runs_capped=bool(count and count.capped),
        since_production=bool(count and count.since is not None),
        experiment=(count.experiment_name or count.experiment_id) if count else None,
        experiment_url=exp_url,
    )


def _prior(review: PriorReview, safe: str | None, repo_url: str | None) -> PriorRow:
    link = pr_link(review.pr, safe, repo_url) or PrLink(review.pr, None)
    outcome = _STATUS_WORDS.get(review.status, review.status)
    return PriorRow(review.version, outcome, link, review.approvers, review.at[:10])
