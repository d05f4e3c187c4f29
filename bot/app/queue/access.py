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

from typing import TYPE_CHECKING

from bot.app.queue.jobs import Installations, JobQueue
from bot.app.queue.reconcile import Inventory, pages
from bot.app.queue.walk import Check, Pick, Walk, Walked
from bot.constants import login_key
from bot.handlers.router import Event, access_login
from bot.review.gate import COUNTING, latest_reviews

if TYPE_CHECKING:
    from bot.domain import PullRequest
    from bot.ports import GitHubPort


MAX_PRS = 200  # reviews queued for one access change at most


def counts_for(login: str) -> Check:
    """Picks a PR where `login`'s latest review approves or requests changes."""
    reason = f"@{login}'s access changed"

    def check(github: GitHubPort, pull: PullRequest) -> Pick | None:
        review = latest_reviews(github.reviews(pull.number), pull.author).get(login_key(login))
        return Pick(reason) if review is not None and review.state in COUNTING else None

    return check


def revisit(
    event: Event,
    inventory: Inventory,
    installations: Installations,
    queue: JobQueue,
    *,
    max_requests: int,
) -> Walked:
    """Queue the re-decisions an access event calls for (see the module docstring)."""
    login = access_login(event)
    too_many = f"at most {MAX_PRS} re-decisions per access change"
    parent = event.delivery_id or "access"
    walk = Walk(
        inventory,
        installations,
        queue,
        parent,
        noun="re-decision",
        max_prs=MAX_PRS,
        too_many=too_many,
        max_requests=max_requests,
        per_pr=1,
    )
    done = Walked()
    installation = event.installation_id
    if installation is None:
        installation = installations.installation_id(event.repo)
        done.requests += 1
    if event.name == "member":
        names = [event.repo]
    else:  # membership: a team of the organisation, any repository of the installation
        names = inventory.repositories(installation)
        done.requests += 1 + pages(len(names))
    for name in names:
        walk.repository(installation, name, counts_for(login), done)
    done.log(f"access of @{login} changed", "re-decisions")
    return done
