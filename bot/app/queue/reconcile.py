"""`model-review reconcile`: find the open pull requests whose review was lost, and
queue their review again.

A review is lost when its job dies with a worker or the web process, when Redis is
flushed, or when GitHub never sends the delivery (it does not redeliver on its own).
Reconcile walks the App's installations (or one repository), asks
bot.handlers.reviewdue whether each open PR needs a review, and queues one for those
that do: a `pull_request` job like a `synchronize` delivery, under a delivery id
`reconcile-...`. PRs with a job waiting or running are skipped.

Bounded: each run spends at most `max_requests` GitHub requests, counted as the
adapters make them (lists 100 to a page; see docs/github-app.md for the cost per
installation); a run that reaches the bound stops and says so. The App runs it every
`MODEL_REVIEW_RECONCILE_SECONDS`, one runner at a time (bot.app.queue.recovery).
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from bot.app.queue.jobs import Installations, Job, JobQueue
from bot.app.settings import DEFAULT_RECONCILE_REQUESTS
from bot.constants import iso_seconds
from bot.domain import PullRequest
from bot.handlers.moved import RECONCILE, TRIGGER_KEY, Trigger
from bot.handlers.reviewdue import review_due

if TYPE_CHECKING:
    from bot.config.schema import Config
    from bot.githost.inventory import Installation
    from bot.ports import RunsPort

log = logging.getLogger(__name__)

PR_COST = 6  # the most one PR's check usually costs: status, comments, PR, commits, config, files
SENDER = "model-review-reconcile"


class Inventory(Protocol):
    """The App's installations, repositories and open PRs (bot.githost.inventory)."""

    def installations(self) -> list[Installation]: ...

    def repositories(self, installation_id: int) -> list[str]: ...

    def open_pulls(self, installation_id: int, full_name: str) -> list[PullRequest]: ...


@dataclass
class Report:
    """What one run did (counts and PR keys only)."""

    checked: int = 0
    queued: list[str] = field(default_factory=list)  # "owner/name#7: why"
    busy: int = 0  # skipped: a job for the PR waits or runs
    requests: int = 0  # GitHub requests spent
    stopped: str = ""  # why the run ended early ("" : it did not)

    def summary(self) -> str:
        text = (
            f"reconcile: {self.checked} open PRs checked, {len(self.queued)} queued, "
            f"{self.busy} with a job in flight, {self.requests} GitHub requests"
        )
        return f"{text}; stopped early: {self.stopped}" if self.stopped else text


def pages(count: int) -> int:
    return max(1, math.ceil(count / 100))


class Counted:
    """A GitHub port that counts the requests its calls make (lists: 1 per 100)."""

    def __init__(self, inner: Any, report: Report) -> None:
        self._inner, self._report = inner, report

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._inner, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            result = method(*args, **kwargs)
            self._report.requests += _cost(name, result)
            return result

        return counted


def _cost(name: str, result: Any) -> int:
    if name == "bot_login":
        return 0  # read once per process and kept
    if name in ("comments", "changed_files"):
        return pages(len(result))
    if name == "pull_request":
        return 1 + pages(len(result.commits))
    return 1


def reconcile(
    inventory: Inventory,
    installations: Installations,
    runs: Callable[[Config], RunsPort],
    queue: JobQueue,
    *,
    repo: str | None = None,
    max_requests: int = DEFAULT_RECONCILE_REQUESTS,
    dry_run: bool = False,
) -> Report:
    """One pass over the open PRs of every installation (or of `repo`)."""
    run = _Pass(installations, runs, queue, max_requests, dry_run)
    for installation_id, full_name in _repositories(inventory, installations, repo, run.report):
        pulls = inventory.open_pulls(installation_id, full_name)
        run.report.requests += pages(len(pulls))
        if not run.repository(installation_id, full_name, pulls):
            break
    log.info("%s", run.report.summary())
    return run.report


def _repositories(
    inventory: Inventory, installations: Installations, repo: str | None, report: Report
) -> list[tuple[int, str]]:
    if repo is not None:
        report.requests += 1
        return [(installations.installation_id(repo), repo)]
    found: list[tuple[int, str]] = []
    listed = inventory.installations()
    report.requests += pages(len(listed))
    for item in listed:
        names = inventory.repositories(item.installation_id)
        report.requests += 1 + pages(len(names))  # the installation's token, then the list
        found += [(item.installation_id, name) for name in names]
    return found


@dataclass
class _Pass:
    installations: Installations
    runs: Callable[[Config], RunsPort]
    queue: JobQueue
    max_requests: int
    dry_run: bool
    report: Report = field(default_factory=Report)

    def repository(self, installation_id: int, full_name: str, pulls: list[PullRequest]) -> bool:
        """Check a repository's open PRs; False when the run must stop."""
        github = Counted(self.installations.repo(installation_id, full_name), self.report)
        configs: dict[str, Config] = {}
        for pull in pulls:
            if self.report.requests + PR_COST > self.max_requests:
                self.report.stopped = f"the request budget ({self.max_requests}) is spent"
                return False
            if not self.pull(pull, installation_id, github, configs):
                return False
        return True

    def pull(
        self, pull: PullRequest, installation_id: int, github: Any, configs: dict[str, Config]
    ) -> bool:
        """Check one PR and queue its review when due; False when the run must stop."""
        key = f"{pull.repo}#{pull.number}"
        self.report.checked += 1
        if self.queue.busy(key):
            self.report.busy += 1
            return True
        due = review_due(github, pull, self.runs, configs)
        if not due:
            return True
        log.info("reconcile: %s needs a review: %s", key, due.reason)
        found = Trigger(RECONCILE, iso_seconds(datetime.now(UTC)))  # words a moved baseline
        if not self.dry_run and not self.queue.submit(review_job(pull, installation_id, found)):
            self.report.stopped = "the work queue is full"
            return False
        self.report.queued.append(f"{key}: {due.reason}")
        return True


def review_job(pull: PullRequest, installation_id: int, trigger: Trigger | None = None) -> Job:
    """A job that reviews `pull` as a `synchronize` delivery would; `trigger`: who
    noticed, for the words of stale approvals (bot.handlers.moved)."""
    payload: dict[str, Any] = {
        "action": "synchronize",
        "number": pull.number,
        "pull_request": {"number": pull.number, "head": {"sha": pull.head_sha}},
        "repository": {"full_name": pull.repo},
        "installation": {"id": installation_id},
        "sender": {"login": SENDER, "type": "Bot"},
    }
    if trigger is not None:
        payload[TRIGGER_KEY] = trigger.payload()
    return Job("pull_request", payload, f"reconcile-{uuid.uuid4()}")
