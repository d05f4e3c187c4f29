"""The walk over a repository's open pull requests that queues a review of each one an
event concerns: a registry event's (bot.app.queue.registry) and an access change's
(bot.app.queue.access).

Each PR is checked by the event's own `Check`; a PR it picks gets a review job like
reconcile's (a `synchronize` delivery) under a delivery id that starts with the
event's. Bounded: at most `max_prs` reviews queued and `max_requests` GitHub requests
(counted as the adapters make them); the PRs past a bound are left to reconcile and
counted in `left`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from bot.app.queue.jobs import Installations, Job, JobQueue
from bot.app.queue.reconcile import Counted, Inventory, Report, pages, review_job

if TYPE_CHECKING:
    from bot.domain import PullRequest
    from bot.handlers.moved import Trigger
    from bot.ports import GitHubPort

log = logging.getLogger(__name__)

QUEUE_FULL = "the work queue is full"


@dataclass
class Walked(Report):
    """What one walk did (PR keys and counts only); `stopped` says which bound was
    reached."""

    left: int = 0  # open PRs not checked: over a bound, left to reconcile

    def log(self, subject: str, queued: str) -> None:
        """The walk's log line (a warning when a bound stopped it): `subject`, what
        happened; `queued`, what a queued job is (plural)."""
        text = (
            f"{subject}: {self.checked} open PRs checked, "
            f"{len(self.queued)} {queued} queued, {self.requests} GitHub requests"
        )
        if self.stopped:
            text += f"; {self.left} open PRs left to reconcile: {self.stopped}"
        (log.warning if self.stopped else log.info)("%s", text)


@dataclass(frozen=True)
class Pick:
    """A PR to review: why (logged and listed), and who noticed (the comment's words of
    stale approvals, bot.handlers.moved)."""

    reason: str
    trigger: Trigger | None = None


Check = Callable[["GitHubPort", "PullRequest"], "Pick | None"]


@dataclass(frozen=True)
class Walk:
    """Where a walk queues, what it may spend, and how its log names a queued job."""

    inventory: Inventory
    installations: Installations
    queue: JobQueue
    parent: str  # the event's delivery id
    noun: str  # a queued job, in the log: "review", "re-decision"
    max_prs: int
    too_many: str  # why the walk stops at `max_prs`
    max_requests: int
    per_pr: int  # the GitHub requests one PR's check takes at least

    def repository(self, installation_id: int, full_name: str, check: Check, done: Walked) -> None:
        """Check the open PRs of `full_name` and queue the reviews `check` picks."""
        pulls = self.inventory.open_pulls(installation_id, full_name)
        done.requests += pages(len(pulls))
        repo = self.installations.repo(installation_id, full_name)
        github = cast("GitHubPort", Counted(repo, done))
        for pull in pulls:
            stop = self._bound(done)
            if stop:
                done.stopped = done.stopped or stop
                done.left += 1
                continue
            done.checked += 1
            pick = check(github, pull)
            if pick is not None:
                self._queue(pull, installation_id, pick, done)

    def _bound(self, done: Walked) -> str:
        if len(done.queued) >= self.max_prs:
            return self.too_many
        if done.requests + self.per_pr > self.max_requests:
            return f"the request budget ({self.max_requests}) is spent"
        return done.stopped

    def _queue(self, pull: PullRequest, installation_id: int, pick: Pick, done: Walked) -> None:
        job = review_job(pull, installation_id, pick.trigger)
        delivery = f"{self.parent}-{job.delivery_id.removeprefix('reconcile-')[:12]}"
        if not self.queue.submit(Job(job.event_name, dict(job.payload), delivery)):
            done.stopped = QUEUE_FULL
            done.left += 1
            return
        key = f"{pull.repo}#{pull.number}"
        log.info("%s: %s queued: %s", key, self.noun, pick.reason)
        done.queued.append(f"{key}: {pick.reason}")
