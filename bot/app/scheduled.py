"""The Action's scheduled check (`schedule:` and `workflow_dispatch` events): reconcile
of the one repository the workflow runs in, with its GITHUB_TOKEN.

The Action has no registry webhook: it notices that production moved only at the
next GitHub event of each PR. A scheduled run lists the open pull requests, asks
bot.handlers.reviewdue whether each needs a review (its production baseline or its runs
changed since its status, or it links runs and has no status), and reviews those
here, one after the other, with the same handler as a PR event: same decision, and
the comment says "production moved from v3 to v4 (found at 14:05 UTC by the
scheduled check); approvals must be given again".

Bounded like the App's reconcile (bot.app.queue.reconcile): at most
`MODEL_REVIEW_RECONCILE_REQUESTS` GitHub requests for the checks (default 300;
about 6 per open PR with a review), and at most `MODEL_REVIEW_SCHEDULE_REVIEWS`
reviews a run (default 10). MLflow: finding the runs and production of each open PR
with a review (a handful of requests per PR), and each review's own.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace

from bot.app.queue.jobs import Job, QueueStatus
from bot.app.queue.reconcile import Report, reconcile
from bot.app.settings import DEFAULT_RECONCILE_REQUESTS
from bot.domain import PullRequest
from bot.errors import UsageError
from bot.githost.inventory import Installation
from bot.handlers.context import Deps
from bot.handlers.moved import SCHEDULE, Trigger
from bot.ports import GitHubPort

log = logging.getLogger(__name__)

SCHEDULED_EVENTS = frozenset({"schedule", "workflow_dispatch"})
DEFAULT_REVIEWS = 10
REQUESTS_VARIABLE = "MODEL_REVIEW_RECONCILE_REQUESTS"
REVIEWS_VARIABLE = "MODEL_REVIEW_SCHEDULE_REVIEWS"


class _Repository:
    """reconcile's Inventory and Installations for the workflow's one repository."""

    def __init__(self, github: GitHubPort, full_name: str) -> None:
        self._github, self._name = github, full_name

    def installations(self) -> list[Installation]:
        return []  # reconcile is given the repository

    def repositories(self, installation_id: int) -> list[str]:
        return [self._name]

    def open_pulls(self, installation_id: int, full_name: str) -> list[PullRequest]:
        return self._github.open_pulls()

    def installation_id(self, full_name: str) -> int:
        return 0

    def repo(self, installation_id: int, full_name: str) -> GitHubPort:
        return self._github


class _ReviewHere:
    """A JobQueue that reviews each due PR at once, here, at most `limit` of them."""

    def __init__(self, deps: Deps, limit: int) -> None:
        self._deps, self.limit = deps, limit
        self.reviewed: list[str] = []
        self.failed: list[str] = []

    def submit(self, job: Job) -> bool:
        from bot.handlers.pull_request import review_pull_request

        if len(self.reviewed) >= self.limit:
            return False  # reconcile stops and says why
        number = job.event().pr_number
        assert number is not None
        self.reviewed.append(f"#{number}")
        outcome = review_pull_request(number, self._deps)
        if outcome.gate is not None and outcome.gate.state.value == "error":
            self.failed.append(f"#{number}: {outcome.gate.description}")
        return True

    def depth(self) -> int:
        return 0

    def status(self) -> QueueStatus:
        return QueueStatus(0, 0.0, 1, len(self.failed))

    def busy(self, key: str) -> bool:
        return False


def _limit(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise UsageError(f"{name} is `{raw}`, not a positive whole number", hint=f"e.g. {default}")
    return int(raw)


def recheck(deps: Deps, full_name: str, env: Mapping[str, str]) -> tuple[Report, list[str]]:
    """Review the open PRs of `full_name` that need it; the run's report and the
    PRs whose review failed closed."""
    budget = _limit(env, REQUESTS_VARIABLE, DEFAULT_RECONCILE_REQUESTS)
    trigger = Trigger(SCHEDULE, deps.now())
    limit = _limit(env, REVIEWS_VARIABLE, DEFAULT_REVIEWS)
    here = _ReviewHere(replace(deps, trigger=trigger), limit)
    repository = _Repository(deps.github, full_name)
    report = reconcile(repository, repository, deps.runs, here, repo=full_name, max_requests=budget)
    if report.stopped == "the work queue is full":
        report.stopped = f"at most {limit} reviews a run ({REVIEWS_VARIABLE})"
    return report, here.failed
