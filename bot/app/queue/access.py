"""Someone's access changed (`member` removed or edited, `membership` removed): queue
a review of the open pull requests where that person's approval or change request
counts, so the gate is decided again with GitHub's answer of now.

Without this, a reviewer whose write access is removed after approving keeps the
gate green until some later event. The job walks the open PRs of the repository
(`member`) or of every repository of the installation (`membership`: a team of the
organisation), reads each PR's reviews (1 request per 100) and queues a review job,
like reconcile's, for each PR where the person's latest review approves or requests
changes. The review asks GitHub about the person again; the gate and the merge's
closing line say that their approval stopped counting, and why.

Bounded: at most MAX_PRS reviews per event and `max_requests` GitHub requests
(MODEL_REVIEW_RECONCILE_REQUESTS); PRs past a bound are left to reconcile, and the
log line says how many.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.app.queue.jobs import Installations, Job, JobQueue
from bot.app.queue.reconcile import Counted, Inventory, Report, pages, review_job
from bot.constants import login_key
from bot.handlers.router import Event, access_login
from bot.review.gate import COUNTING, latest_reviews

if TYPE_CHECKING:
    from bot.domain import PullRequest

log = logging.getLogger(__name__)

MAX_PRS = 200  # reviews queued for one access change at most


@dataclass
class Revisited(Report):
    """What one access change did (PR keys and counts only)."""

    left: int = 0  # open PRs not checked: over a bound, left to reconcile

    def line(self, login: str) -> str:
        text = (
            f"access of @{login} changed: {self.checked} open PRs checked, "
            f"{len(self.queued)} re-decisions queued, {self.requests} GitHub requests"
        )
        return f"{text}; {self.left} left to reconcile: {self.stopped}" if self.stopped else text


@dataclass
class _Walk:
    login: str
    installations: Installations
    queue: JobQueue
    max_requests: int
    parent: str  # the access event's delivery id
    done: Revisited = field(default_factory=Revisited)

    def repository(self, installation_id: int, full_name: str, pulls: list[PullRequest]) -> None:
        github = Counted(self.installations.repo(installation_id, full_name), self.done)
        for pull in pulls:
            stop = self._bound()
            if stop:
                self.done.stopped = self.done.stopped or stop
                self.done.left += 1
                continue
            self.done.checked += 1
            latest = latest_reviews(github.reviews(pull.number), pull.author)
            review = latest.get(login_key(self.login))
            if review is not None and review.state in COUNTING:
                self._queue(pull, installation_id)

    def _bound(self) -> str:
        if len(self.done.queued) >= MAX_PRS:
            return f"at most {MAX_PRS} re-decisions per access change"
        if self.done.requests + 1 > self.max_requests:
            return f"the request budget ({self.max_requests}) is spent"
        return self.done.stopped

    def _queue(self, pull: PullRequest, installation_id: int) -> None:
        job = review_job(pull, installation_id)
        delivery = f"{self.parent}-{job.delivery_id.removeprefix('reconcile-')[:12]}"
        if not self.queue.submit(Job(job.event_name, dict(job.payload), delivery)):
            self.done.stopped = "the work queue is full"
            self.done.left += 1
            return
        key = f"{pull.repo}#{pull.number}"
        log.info("%s: re-decision queued: @%s's access changed", key, self.login)
        self.done.queued.append(key)


def revisit(
    event: Event,
    inventory: Inventory,
    installations: Installations,
    queue: JobQueue,
    *,
    max_requests: int,
) -> Revisited:
    """Queue the re-decisions an access event calls for (see the module docstring)."""
    login = access_login(event)
    walk = _Walk(login, installations, queue, max_requests, event.delivery_id or "access")
    installation = event.installation_id
    if installation is None:
        installation = installations.installation_id(event.repo)
        walk.done.requests += 1
    if event.name == "member":
        names = [event.repo]
    else:  # membership: a team of the organisation, any repository of the installation
        names = inventory.repositories(installation)
        walk.done.requests += 1 + pages(len(names))
    for name in names:
        pulls = inventory.open_pulls(installation, name)
        walk.done.requests += pages(len(pulls))
        walk.repository(installation, name, pulls)
    (log.warning if walk.done.stopped else log.info)("%s", walk.done.line(login))
    return walk.done
