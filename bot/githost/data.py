"""Pure helpers of the GitHub adapter (bot.githost.client): the retry policy and rate-limit
waits, failed calls translated into `GitHubError`s written for the user, GitHub's
answers translated into `bot.domain` types, and the bodies of the adapter's writes.

Nothing here imports PyGithub at run time or makes a request: the adapter hands in
what GitHub answered (JSON, or PyGithub objects read by attribute) and sends what
comes out.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from bot.constants import STATUS_DESCRIPTION_LIMIT, iso_seconds
from bot.domain import CheckRun, Comment, GateState, PullRequest, Review, ReviewState
from bot.errors import GitHubError, UsageError

if TYPE_CHECKING:
    from github.GithubException import GithubException
    from github.IssueComment import IssueComment
    from github.PullRequestReview import PullRequestReview

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try before giving up."""

    total: int = 3  # retries of one request (5xx, rate limits)
    backoff_factor: float = 1.0  # exponential backoff between 5xx retries, seconds
    max_rate_limit_wait: float = 60.0  # a longer rate-limit wait fails instead
    secondary_rate_wait: float = 60.0  # wait after a secondary limit without headers
    timeout: int = 15  # seconds per request


# --- rate limits and errors ---------------------------------------------------------


def _header(headers: Mapping[str, Any] | None, name: str) -> str | None:
    found = [str(v) for k, v in (headers or {}).items() if k.lower() == name.lower()]
    return found[0] if found else None


def rate_limit_wait(status: int, headers: Mapping[str, Any] | None) -> float | None:
    """Seconds GitHub asks to wait (Retry-After, or until an exhausted limit resets,
    plus a second); None when the answer is no rate limit."""
    if status not in (403, 429):
        return None
    after = _header(headers, "Retry-After")
    if after is not None and after.strip().isdigit():
        return float(after)
    reset = _header(headers, "X-RateLimit-Reset")
    if _header(headers, "X-RateLimit-Remaining") == "0" and reset and reset.isdigit():
        return max(0.0, int(reset) - datetime.now(UTC).timestamp()) + 1
    return None


def rate_limit_hint(wait: float | None, limited: bool) -> str | None:
    """What to do about a rate limit lasting `wait` seconds (None: unknown); None when
    there is no rate limit (`limited`: PyGithub called the failure one)."""
    if wait is None:
        return "wait for the rate limit to reset, then re-run" if limited else None
    clock = datetime.fromtimestamp(datetime.now(UTC).timestamp() + wait, UTC)
    minutes = max(1, round(wait / 60))
    return f"the limit resets at {clock:%H:%M} UTC (in about {minutes} min); re-run after that"


def _github_message(exc: GithubException) -> str:
    """GitHub's own words: the `message` plus any validation `errors`."""
    data = exc.data if isinstance(exc.data, dict) else {}
    text = str(data.get("message") or exc.message or "no message")
    errors = [
        e.get("message") or e.get("code") if isinstance(e, dict) else e
        for e in data.get("errors") or []
    ]
    return f"{text}: {'; '.join(map(str, errors))}" if errors else text


_TEXTS: dict[int, tuple[str, str | None]] = {
    401: (
        "GitHub rejected the credentials while {action}",
        "the token is invalid or expired: check the token passed as GITHUB_TOKEN "
        "(or the App installation)",
    ),
    403: (
        "GitHub refused {action}",
        "the token needs the `{permission}` permission: add it under `permissions:` in "
        "the workflow (or grant it to the App); pull requests from forks get a read-only "
        "token",
    ),
    404: (
        "GitHub found nothing while {action}",
        "check the repository name and number, and that the token can see the repository",
    ),
    422: ("GitHub did not accept {action}", None),
    500: (
        "GitHub failed while {action}",
        "GitHub may be having trouble (https://www.githubstatus.com); re-run later",
    ),
}


def translate_error(
    exc: GithubException,
    action: str,
    permission: str,
    hints: Mapping[int, str] | None = None,
    *,
    wait: float | None = None,
    limited: bool = False,
) -> GitHubError:
    """A user-facing GitHubError for a failed call: what failed, and what to do.
    `wait` and `limited` describe a rate limit, as for `rate_limit_hint`."""
    status, said = exc.status, _github_message(exc)
    limit_hint = rate_limit_hint(wait, limited)
    if limit_hint is not None:
        return GitHubError(
            f"GitHub's API rate limit stopped {action}", limit_hint, status, rate_limited=True
        )
    what, hint = _TEXTS.get(min(status, 500), ("GitHub answered an error while {action}", None))
    hint = (hints or {}).get(status, hint)
    return GitHubError(
        f"{what.format(action=action)} ({status}: {said})",
        hint.format(permission=permission) if hint else None,
        status,
    )


# --- addresses and names --------------------------------------------------------------


def check_repo_name(repo_full_name: str) -> None:
    """Refuse anything but "owner/name"."""
    owner, _, name = repo_full_name.partition("/")
    if not owner or not name or "/" in name:
        raise UsageError(f"`{repo_full_name}` is not a repository", hint="use owner/name")


def web_url_for(api_url: str) -> str:
    """The web address that goes with an API address (github.com, GHES, GHE.com)."""
    parts = urlsplit(api_url.rstrip("/"))
    host, path = parts.netloc, parts.path
    if path.endswith("/api/v3"):
        path = path.removesuffix("/api/v3")
    elif host.startswith("api."):
        host = host.removeprefix("api.")
    return f"{parts.scheme}://{host}{path}"


# --- answers into domain types ----------------------------------------------------------


def _iso(moment: datetime | None) -> str:
    return "" if moment is None else iso_seconds(moment)


def sent(item: object) -> Mapping[str, Any]:
    """The JSON GitHub sent for a PyGithub object, without a request (`raw_data`
    would fetch an object of a listing again to complete it)."""
    data = getattr(item, "_rawData", None)
    return data if isinstance(data, Mapping) else {}


def comment_from_object(item: IssueComment) -> Comment:
    """A Comment from PyGithub's IssueComment (no request): who wrote it as GitHub
    sent it (`author_association`, the user's `type`) when the object came from an
    answer, "" and False for an object PyGithub built itself."""
    raw = sent(item)
    user = raw.get("user") or {}
    return Comment(
        item.id,
        item.user.login if item.user is not None else "",
        item.body or "",
        item.html_url or "",
        _iso(item.created_at),
        _iso(item.updated_at),
        association=str(raw.get("author_association") or ""),
        bot=user.get("type") == "Bot",
    )


def review_from_object(item: PullRequestReview) -> Review | None:
    """A review as the gate sees it; None for pending reviews and deleted users."""
    try:
        state = ReviewState.parse(item.state or "")
    except ValueError:
        log.warning("skipping review %s with unknown state %r", item.id, item.state)
        return None
    if state is ReviewState.PENDING or item.user is None:
        return None
    user = sent(item).get("user") or {}
    return Review(
        item.user.login,
        state,
        _iso(item.submitted_at),
        item.commit_id or None,
        item.id,
        bot=user.get("type") == "Bot",
    )


def pull_from_json(data: Mapping[str, Any], repo: str) -> PullRequest:
    """A PullRequest (without commits and files) from the REST API's pull request."""
    head, base = data["head"], data["base"]
    repo = str((base.get("repo") or {}).get("full_name") or repo)
    teams = [f"{repo.split('/')[0]}/{t['slug']}" for t in data.get("requested_teams") or []]
    users = [u["login"] for u in data.get("requested_reviewers") or []]
    return PullRequest(
        number=int(data["number"]),
        title=str(data.get("title") or ""),
        body=str(data.get("body") or ""),
        author=str((data.get("user") or {}).get("login") or ""),
        head_sha=str(head["sha"]),
        base_sha=str(base["sha"]),
        head_ref=str(head["ref"]),
        base_ref=str(base["ref"]),
        repo=repo,
        draft=bool(data.get("draft")),
        html_url=str(data.get("html_url") or ""),
        head_repo=(head.get("repo") or {}).get("full_name"),
        requested_reviewers=(*users, *teams),
        state=str(data.get("state") or "open"),
        merged=bool(data.get("merged")),
        merge_commit_sha=data.get("merge_commit_sha"),
        private=(base.get("repo") or {}).get("private") is True,  # absent: public (safe)
    )


def status_in(combined: Mapping[str, Any], context: str) -> tuple[GateState, str] | None:
    """(state, description) of `context` in a combined status, or None."""
    for status in combined.get("statuses") or []:
        if status.get("context") == context:
            return GateState(status["state"]), str(status.get("description") or "")
    return None


CHECK_TEXT_LIMIT = 65_535  # characters in a check run's output summary (and text)


def check_run_in(listing: Mapping[str, Any], bot_login: str) -> CheckRun | None:
    """The newest check run of GET /commits/SHA/check-runs made by the App whose bot
    is `bot_login` ("<slug>[bot]"); None when that App made none."""
    slug = bot_login.removesuffix("[bot]")
    for run in listing.get("check_runs") or []:
        if (run.get("app") or {}).get("slug") == slug:
            output = run.get("output") or {}
            return CheckRun(
                check_id=int(run["id"]),
                status=str(run.get("status") or ""),
                conclusion=run.get("conclusion"),
                title=str(output.get("title") or ""),
                summary=str(output.get("summary") or ""),
                details_url=run.get("details_url"),
            )
    return None


def check_body(sha: str, name: str, run: CheckRun) -> dict[str, Any]:
    """POST /check-runs (with `head_sha`) or PATCH /check-runs/ID (without): the
    summary cut to what GitHub takes; a conclusion only once completed."""
    summary = run.summary
    if len(summary) > CHECK_TEXT_LIMIT:
        summary = summary[: CHECK_TEXT_LIMIT - 1] + "…"
    body: dict[str, Any] = {
        "name": name,
        "status": run.status,
        "output": {"title": run.title[:255], "summary": summary},
    }
    if run.check_id == 0:
        body["head_sha"] = sha
    if run.details_url:
        body["details_url"] = run.details_url
    if run.status == "completed" and run.conclusion:
        body["conclusion"] = run.conclusion
    return body


QUEUE_COMMITTER = "web-flow"  # the account GitHub commits as (merge queues, web merges)


def queue_messages(comparison: Mapping[str, Any]) -> tuple[str, ...]:
    """The messages of the commits GitHub itself made in a comparison (GET
    /compare/BASE...HEAD): a merge queue's merge or squash commits, which name their
    PRs; the PRs' own commits are left out (their text may name anything)."""
    found = []
    for commit in comparison.get("commits") or []:
        committer = commit.get("committer") or {}
        if committer.get("login") == QUEUE_COMMITTER:
            found.append(str((commit.get("commit") or {}).get("message") or ""))
    return tuple(found)


# --- bodies of writes ---------------------------------------------------------------------


def status_body(
    state: GateState, description: str, context: str, target_url: str | None
) -> dict[str, str]:
    """A commit status; the description is cut to the 140 characters GitHub takes."""
    if len(description) > STATUS_DESCRIPTION_LIMIT:
        description = description[: STATUS_DESCRIPTION_LIMIT - 1] + "…"
    body = {"state": state.value, "description": description, "context": context}
    if target_url:
        body["target_url"] = target_url
    return body


def reviewers_body(users: Sequence[str], teams: Sequence[str]) -> dict[str, list[str]]:
    """A review request naming only the lists given; teams are "org/slug" or "slug"."""
    body = {"reviewers": list(users), "team_reviewers": [t.split("/")[-1] for t in teams]}
    return {k: v for k, v in body.items() if v}


TEAM_REQUEST_HINT = (
    'GitHub answers 422 "Could not resolve to a node with the global id" when the '
    "token cannot see the team: the Actions GITHUB_TOKEN has no organisation "
    "permissions and can never request a team's review. List the team's members under "
    "`reviewers.teams` (model-review then requests one of them), run model-review as a "
    "GitHub App with Members: read, or check that the team has access to {repo}"
)


def reviewers_hint(repo_full_name: str, *, teams: bool = False) -> str:
    """What to do when GitHub refuses a review request (422); `teams`: the request
    named a team, whose usual cause is a token without organisation permissions."""
    if teams:
        return TEAM_REQUEST_HINT.format(repo=repo_full_name)
    return (
        f"each reviewer needs at least read access to {repo_full_name} and cannot "
        "be the PR's author: add them as collaborators (or give the team access), or "
        "change `reviewers` in .github/model-review.yml"
    )


def git_blob_sha(data: bytes) -> str:
    """The SHA git gives `data` stored as a blob (what a tree lists for a file)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def changed_files(tree: Mapping[str, Any], wanted: Mapping[str, bytes]) -> dict[str, bytes]:
    """The files of `wanted` (path -> bytes) that a recursive git tree does not already
    hold with the same bytes."""
    have = {e["path"]: e["sha"] for e in tree["tree"] if e["type"] == "blob"}
    return {p: d for p, d in wanted.items() if have.get(p) != git_blob_sha(d)}


def tree_body(blobs: Mapping[str, str], base_tree: str | None) -> dict[str, Any]:
    """A new git tree: `blobs` (path -> blob SHA) over `base_tree` (None: nothing)."""
    entries = [
        {"path": p, "mode": "100644", "type": "blob", "sha": sha} for p, sha in blobs.items()
    ]
    return {"tree": entries, **({"base_tree": base_tree} if base_tree else {})}
