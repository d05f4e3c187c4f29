"""Builders for GitHub REST API answers, shaped like the real ones.

The `pull_request`, `comment` and `review` objects of webhook payloads have the
shape of the REST answers (GET /pulls/N, GET /issues/comments/ID, GET /pulls/N/reviews),
so those builders start from the copied webhook examples in tests/fixtures/github/
and change only what a test needs. The others follow GitHub's REST reference.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

FIXTURES = Path(__file__).parent / "fixtures" / "github"
API = "https://api.github.com"
WEB = "https://github.com"
UPSTREAM_REPO = "Codertocat/Hello-World"
REPO_ID = 186853002

Json = dict[str, Any]


def webhook(event: str, name: str = "created") -> Json:
    """A webhook payload as GitHub sends it, e.g. webhook("pull_request", "opened")."""
    folder = FIXTURES / event
    path = folder / f"{name}.payload.json"
    if not path.exists():
        path = folder / f"{name}.json"
    data: Json = json.loads(path.read_text())
    return data


def _retarget(obj: Json, repo: str, api: str) -> Json:
    """The same object in another repository (and API host)."""
    text = json.dumps(obj).replace(UPSTREAM_REPO, repo).replace(API, api)
    if api != API:
        text = text.replace(f"{WEB}/", api.removesuffix("/api/v3") + "/")
    result: Json = json.loads(text)
    return result


def user(login: str, api: str = API) -> Json:
    """A user as GitHub nests it in payloads; a login ending in `[bot]` is an App's bot
    account (`type: Bot`), as GitHub reports renovate[bot] or github-actions[bot]."""
    base = copy.deepcopy(webhook("pull_request", "opened")["pull_request"]["user"])
    data = json.loads(json.dumps(base).replace("Codertocat", login).replace(API, api))
    data["id"] = zlib.crc32(login.encode()) % 10**8
    if login.endswith("[bot]"):
        data["type"] = "Bot"
    result: Json = data
    return result


ROLES = {"admin": "admin", "maintain": "write", "write": "write", "triage": "read", "read": "read"}


def collaborator_permission(login: str, role: str) -> Json:
    """GET /repos/O/R/collaborators/USER/permission (docs.github.com/rest/collaborators/
    collaborators#get-repository-permissions-for-a-user): the legacy `permission`
    (maintain reads as write, triage as read), `role_name`, and the user with their
    `permissions` and `role_name`. `role` "none": no access (public repositories)."""
    legacy = ROLES.get(role, "none")
    order = ["pull", "triage", "push", "maintain", "admin"]
    level = {"read": 1, "triage": 2, "write": 3, "maintain": 4, "admin": 5}.get(role, 0)
    person = user(login)
    person["permissions"] = {name: i < level for i, name in enumerate(order)}
    person["role_name"] = role
    return {"permission": legacy, "role_name": role, "user": person}


def team_membership(org: str, slug: str, login: str, state: str = "active") -> Json:
    """GET /orgs/O/teams/T/memberships/USER (docs.github.com/rest/teams/members#get-team-
    membership-for-a-user): 200 for an active or `pending` member (members of child
    teams included), 404 for anyone else."""
    return {
        "url": f"{API}/teams/{zlib.crc32(slug.encode()) % 10**7}/memberships/{login}",
        "role": "member",
        "state": state,
    }


def team(slug: str, org: str, api: str = API) -> Json:
    return {
        "name": slug.replace("-", " ").title(),
        "id": zlib.crc32(slug.encode()) % 10**7,
        "node_id": "MDQ6VGVhbTE=",
        "slug": slug,
        "description": "",
        "privacy": "closed",
        "notification_setting": "notifications_enabled",
        "url": f"{api}/organizations/{REPO_ID}/team/7",
        "html_url": f"{WEB}/orgs/{org}/teams/{slug}",
        "members_url": f"{api}/organizations/{REPO_ID}/team/7/members{{/member}}",
        "repositories_url": f"{api}/organizations/{REPO_ID}/team/7/repos",
        "permission": "pull",
        "parent": None,
    }


def pull(
    number: int = 7,
    *,
    repo: str = "acme/models",
    api: str = API,
    title: str = "Retrain fraud model",
    body: str | None = "Run: runs:/0123456789abcdef0123456789abcdef/model",
    author: str = "alice",
    head_sha: str = "a" * 40,
    base_sha: str = "b" * 40,
    head_ref: str = "retrain",
    base_ref: str = "main",
    head_repo: str | None = None,
    draft: bool = False,
    reviewers: Sequence[str] = (),
    teams: Sequence[str] = (),
    state: str = "open",
    merged: bool = False,
    merge_commit_sha: str | None = None,
    private: bool = True,
) -> Json:
    """GET /repos/{repo}/pulls/{number}. `head_repo=None` with a fork means deleted;
    by default the head lives in `repo` itself. `private`: the base repository's
    visibility (GitHub's examples are public; the bot's tests default to private)."""
    data = _retarget(webhook("pull_request", "opened")["pull_request"], repo, api)
    text = re.sub(r"/(pulls|pull|issues)/2\b", rf"/\g<1>/{number}", json.dumps(data))
    data = cast(Json, json.loads(text))
    data.update(number=number, title=title, body=body, draft=draft, state=state)
    data.update(merged=merged, merge_commit_sha=merge_commit_sha, user=user(author, api))
    data["requested_reviewers"] = [user(login, api) for login in reviewers]
    data["requested_teams"] = [team(slug, repo.split("/", maxsplit=1)[0], api) for slug in teams]
    data["head"].update(
        sha=head_sha, ref=head_ref, label=f"{repo.split('/', maxsplit=1)[0]}:{head_ref}"
    )
    data["base"].update(
        sha=base_sha, ref=base_ref, label=f"{repo.split('/', maxsplit=1)[0]}:{base_ref}"
    )
    data["base"]["repo"]["private"] = private
    if head_repo is None:
        data["head"]["repo"] = data["base"]["repo"]
    elif head_repo == "deleted":
        data["head"]["repo"] = None
    else:
        fork = copy.deepcopy(data["base"]["repo"])
        fork.update(full_name=head_repo, name=head_repo.split("/")[1], fork=True)
        data["head"]["repo"] = fork
    return data


def pr_commit(sha: str, repo: str = "acme/models", message: str = "Retrain") -> Json:
    """One item of GET /pulls/N/commits."""
    return {
        "sha": sha,
        "node_id": "MDY6Q29tbWl0MQ==",
        "commit": {
            "author": {
                "name": "Alice",
                "email": "alice@example.com",
                "date": "2026-11-26T09:00:00Z",
            },
            "committer": {
                "name": "Alice",
                "email": "alice@example.com",
                "date": "2026-11-26T09:00:00Z",
            },
            "message": message,
            "tree": {"sha": "c" * 40, "url": f"{API}/repos/{repo}/git/trees/{'c' * 40}"},
            "url": f"{API}/repos/{repo}/git/commits/{sha}",
            "comment_count": 0,
        },
        "url": f"{API}/repos/{repo}/commits/{sha}",
        "html_url": f"{WEB}/{repo}/commit/{sha}",
        "comments_url": f"{API}/repos/{repo}/commits/{sha}/comments",
        "author": user("alice"),
        "committer": user("alice"),
        "parents": [],
    }


def comparison(base: str, head: str, commits: Sequence[Json], repo: str = "acme/models") -> Json:
    """GET /compare/BASE...HEAD: `head` is ahead of `base` by `commits`."""
    url = f"{API}/repos/{repo}/compare/{base}...{head}"
    web = f"{WEB}/{repo}/compare/{base}...{head}"
    return {
        "url": url,
        "html_url": web,
        "permalink_url": web,
        "diff_url": f"{web}.diff",
        "patch_url": f"{web}.patch",
        "base_commit": pr_commit(base, repo),
        "merge_base_commit": pr_commit(base, repo),
        "status": "ahead",
        "ahead_by": len(commits),
        "behind_by": 0,
        "total_commits": len(commits),
        "commits": list(commits),
        "files": [],
    }


def queue_commit(sha: str, message: str, repo: str = "acme/models") -> Json:
    """A commit a merge queue made (committed by GitHub's `web-flow`)."""
    commit = pr_commit(sha, repo, message)
    commit["committer"] = user("web-flow")
    return commit


def merge_group(head_sha: str, number: int, base_sha: str, repo: str = "acme/models") -> Json:
    """GitHub's `merge_group` / `checks_requested` example, for PR `number`'s entry."""
    payload = copy.deepcopy(webhook("merge_group", "checks_requested"))
    payload["merge_group"].update(
        head_sha=head_sha,
        head_ref=f"refs/heads/gh-readonly-queue/main/pr-{number}-{base_sha}",
        base_sha=base_sha,
    )
    payload["repository"]["full_name"] = repo
    return payload


def check_run(
    check_id: int,
    sha: str,
    body: Mapping[str, Any],
    *,
    app_slug: str = "model-review",
    repo: str = "acme/models",
) -> Json:
    """A check run as GET /check-runs/ID (and POST, PATCH) answer it: GitHub's
    `check_run` example with the fields `body` (a POST or PATCH body) sets."""
    data = copy.deepcopy(webhook("check_run", "rerequested")["check_run"])
    data = _retarget(data, repo, API)
    output = dict(data["output"])
    output.update(body.get("output") or {})
    status = body.get("status", "queued")
    data.update(
        id=check_id, head_sha=sha, name=body.get("name", "model-review"), status=status,
        conclusion=body.get("conclusion"), details_url=body.get("details_url"),
        output=output, pull_requests=[], external_id="",
        url=f"{API}/repos/{repo}/check-runs/{check_id}",
        html_url=f"{WEB}/{repo}/runs/{check_id}",
        completed_at="2026-11-26T12:00:00Z" if status == "completed" else None,
    )  # fmt: skip
    data["app"] = app(app_slug)
    data.setdefault("node_id", "CR_kwDOAAAAAA")
    data.setdefault("check_suite", {"id": 1})
    return data


def pr_file(filename: str, repo: str = "acme/models", status: str = "modified") -> Json:
    """One item of GET /pulls/N/files."""
    sha = "d" * 40
    return {
        "sha": sha,
        "filename": filename,
        "status": status,
        "additions": 3,
        "deletions": 1,
        "changes": 4,
        "blob_url": f"{WEB}/{repo}/blob/{sha}/{filename}",
        "raw_url": f"{WEB}/{repo}/raw/{sha}/{filename}",
        "contents_url": f"{API}/repos/{repo}/contents/{filename}?ref={sha}",
        "patch": "@@ -1 +1 @@\n-old\n+new",
    }


def issue_comment(
    comment_id: int,
    body: str,
    login: str = "alice",
    *,
    repo: str = "acme/models",
    number: int = 7,
    created_at: str = "2026-11-26T10:00:00Z",
    updated_at: str | None = None,
    association: str = "OWNER",
) -> Json:
    """GET /issues/comments/ID (and one item of GET /issues/N/comments)."""
    data = _retarget(webhook("issue_comment", "created")["comment"], repo, API)
    data.update(id=comment_id, body=body, user=user(login), created_at=created_at)
    data["author_association"] = "NONE" if login.endswith("[bot]") else association
    data["updated_at"] = updated_at or created_at
    data["url"] = f"{API}/repos/{repo}/issues/comments/{comment_id}"
    data["html_url"] = f"{WEB}/{repo}/pull/{number}#issuecomment-{comment_id}"
    data["issue_url"] = f"{API}/repos/{repo}/issues/{number}"
    return data


def review(
    review_id: int,
    login: str | None,
    state: str = "APPROVED",
    *,
    commit_id: str = "a" * 40,
    submitted_at: str | None = "2026-11-26T11:00:00Z",
    repo: str = "acme/models",
    number: int = 7,
) -> Json:
    """One item of GET /pulls/N/reviews (REST states are UPPERCASE; `login=None` is a
    deleted user; pending reviews have no `submitted_at`)."""
    data = _retarget(webhook("pull_request_review", "submitted")["review"], repo, API)
    data.update(id=review_id, state=state, commit_id=commit_id, body="")
    data["user"] = user(login) if login else None
    data["html_url"] = f"{WEB}/{repo}/pull/{number}#pullrequestreview-{review_id}"
    data["pull_request_url"] = f"{API}/repos/{repo}/pulls/{number}"
    if submitted_at is None:
        data.pop("submitted_at", None)
    else:
        data["submitted_at"] = submitted_at
    return data


def content_file(path: str, text: str, *, repo: str = "acme/models", ref: str = "main") -> Json:
    """GET /contents/PATH?ref=REF for a file (content base64 in 60-column lines)."""
    raw = base64.b64encode(text.encode()).decode()
    sha = "e" * 40
    return {
        "type": "file",
        "encoding": "base64",
        "size": len(text.encode()),
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "content": "\n".join(raw[i : i + 60] for i in range(0, len(raw), 60)) + "\n",
        "sha": sha,
        "url": f"{API}/repos/{repo}/contents/{path}?ref={ref}",
        "git_url": f"{API}/repos/{repo}/git/blobs/{sha}",
        "html_url": f"{WEB}/{repo}/blob/{ref}/{path}",
        "download_url": f"https://raw.githubusercontent.com/{repo}/{ref}/{path}",
        "_links": {
            "self": f"{API}/repos/{repo}/contents/{path}?ref={ref}",
            "git": f"{API}/repos/{repo}/git/blobs/{sha}",
            "html": f"{WEB}/{repo}/blob/{ref}/{path}",
        },
    }


def commit_status(
    sha: str,
    state: str,
    description: str,
    context: str,
    *,
    target_url: str | None = None,
    repo: str = "acme/models",
) -> Json:
    """The answer to POST /statuses/SHA."""
    return {
        "url": f"{API}/repos/{repo}/statuses/{sha}",
        "avatar_url": "https://avatars.githubusercontent.com/in/15368?v=4",
        "id": 1,
        "node_id": "MDY6U3RhdHVzMQ==",
        "state": state,
        "description": description,
        "target_url": target_url,
        "context": context,
        "created_at": "2026-11-26T12:00:00Z",
        "updated_at": "2026-11-26T12:00:00Z",
        "creator": user("github-actions[bot]"),
    }


def git_ref(branch: str, sha: str, repo: str = "acme/models") -> Json:
    """GET /git/ref/heads/BRANCH (and the answer to creating or moving it)."""
    return {
        "ref": f"refs/heads/{branch}",
        "node_id": "MDM6UmVmcmVmcy9oZWFkcy9tYWlu",
        "url": f"{API}/repos/{repo}/git/refs/heads/{branch}",
        "object": {"type": "commit", "sha": sha, "url": f"{API}/repos/{repo}/git/commits/{sha}"},
    }


def git_tree(
    sha: str, blobs: dict[str, str], repo: str = "acme/models", truncated: bool = False
) -> Json:
    """GET /git/trees/SHA?recursive=1 (and the answer to POST /git/trees);
    `blobs` maps path -> blob sha; folders are listed as trees."""
    entries: list[Json] = []
    folders = sorted({p.rsplit("/", 1)[0] for p in blobs if "/" in p})
    for folder in folders:
        entries.append(
            {
                "path": folder,
                "mode": "040000",
                "type": "tree",
                "sha": "f" * 40,
                "url": f"{API}/repos/{repo}/git/trees/{'f' * 40}",
            }
        )
    for path, blob_sha in sorted(blobs.items()):
        entries.append(
            {
                "path": path,
                "mode": "100644",
                "type": "blob",
                "sha": blob_sha,
                "size": 10,
                "url": f"{API}/repos/{repo}/git/blobs/{blob_sha}",
            }
        )
    return {
        "sha": sha,
        "url": f"{API}/repos/{repo}/git/trees/{sha}",
        "tree": entries,
        "truncated": truncated,
    }


def git_blob(sha: str, repo: str = "acme/models") -> Json:
    """The answer to POST /git/blobs."""
    return {"url": f"{API}/repos/{repo}/git/blobs/{sha}", "sha": sha}


def git_commit(
    sha: str, tree: str, parents: Sequence[str], message: str, repo: str = "acme/models"
) -> Json:
    """The answer to POST /git/commits."""
    person = {
        "name": "github-actions[bot]",
        "email": "41898282+github-actions[bot]@users.noreply.github.com",
        "date": "2026-11-26T12:00:00Z",
    }
    return {
        "sha": sha,
        "node_id": "MDY6Q29tbWl0MQ==",
        "url": f"{API}/repos/{repo}/git/commits/{sha}",
        "html_url": f"{WEB}/{repo}/commit/{sha}",
        "author": person,
        "committer": person,
        "message": message,
        "tree": {"sha": tree, "url": f"{API}/repos/{repo}/git/trees/{tree}"},
        "parents": [
            {
                "sha": p,
                "url": f"{API}/repos/{repo}/git/commits/{p}",
                "html_url": f"{WEB}/{repo}/commit/{p}",
            }
            for p in parents
        ],
        "verification": {
            "verified": False,
            "reason": "unsigned",
            "signature": None,
            "payload": None,
            "verified_at": None,
        },
    }


def error(message: str, doc: str = "https://docs.github.com/rest", **extra: Any) -> Json:
    """An error answer: {"message": ..., "documentation_url": ..., [errors], [status]}."""
    return {"message": message, "documentation_url": doc, **extra}


def team_request_refused(node_id: str = "T_kwDOAGhwUs4BIPhU") -> Json:
    """POST /pulls/N/requested_reviewers naming a team, with a token that has no
    organisation permissions (the Actions GITHUB_TOKEN): GitHub's 422, as reported in
    actions/github-script #284 and #572 and PyGithub #1499."""
    return error(
        "Validation Failed",
        "https://docs.github.com/rest/pulls/review-requests#request-reviewers-for-a-pull-request",
        errors=[f"Could not resolve to a node with the global id of '{node_id}'."],
        status="422",
    )


def rule_violation(what: str = "create") -> Json:
    """A ref created or moved through the git API against a repository ruleset: GitHub's
    422 (its "pre_receive" refusal, as in googleapis/release-please-action #1194)."""
    verb = {"create": "creations", "update": "updates"}[what]
    return error(
        f"Repository rule violations found\n\nCannot {what} ref due to {verb} being "
        "restricted.\n\n",
        "https://docs.github.com/rest/git/refs",
        status="422",
    )


def next_link(url: str, page: int, last: int) -> dict[str, str]:
    """The Link header of a page that has a next one (GitHub names pages by number)."""
    return {
        "Link": f'<{url}?per_page=100&page={page + 1}>; rel="next", '
        f'<{url}?per_page=100&page={last}>; rel="last"'
    }


def combined_status(sha: str, statuses: Sequence[Json], repo: str = "acme/models") -> Json:
    """GET /commits/SHA/status: the latest status of each context, newest first."""
    states = {s["state"] for s in statuses}
    overall = next((s for s in ("failure", "error", "pending") if s in states), "success")
    return {
        "state": overall if statuses else "pending",
        "statuses": list(statuses),
        "sha": sha,
        "total_count": len(statuses),
        "repository": webhook("pull_request", "opened")["repository"] | {"full_name": repo},
        "commit_url": f"{API}/repos/{repo}/commits/{sha}",
        "url": f"{API}/repos/{repo}/commits/{sha}/status",
    }


def app(slug: str = "model-review", app_id: int = 31337) -> Json:
    """GET /app (authenticated as the App, with its JWT)."""
    return {
        "id": app_id,
        "slug": slug,
        "node_id": "MDM6QXBwMQ==",
        "owner": user("acme"),
        "name": slug.replace("-", " ").title(),
        "description": "",
        "external_url": "https://model-review.acme.io",
        "html_url": f"{WEB}/apps/{slug}",
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
        "permissions": {"pull_requests": "write", "statuses": "write", "contents": "write"},
        "events": ["pull_request", "pull_request_review", "issue_comment"],
        "installations_count": 1,
    }


def installation(installation_id: int, repo: str = "acme/models", app_id: int = 31337) -> Json:
    """GET /repos/{repo}/installation."""
    owner = repo.split("/", maxsplit=1)[0]
    return {
        "id": installation_id,
        "account": user(owner),
        "repository_selection": "selected",
        "access_tokens_url": f"{API}/app/installations/{installation_id}/access_tokens",
        "repositories_url": f"{API}/installation/repositories",
        "html_url": f"{WEB}/organizations/{owner}/settings/installations/{installation_id}",
        "app_id": app_id,
        "app_slug": "model-review",
        "target_id": 1,
        "target_type": "Organization",
        "permissions": {"pull_requests": "write", "statuses": "write", "contents": "write"},
        "events": ["pull_request"],
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
        "single_file_name": None,
    }


def access_token(token: str, expires_at: str = "2099-01-01T00:00:00Z") -> Json:
    """The answer to POST /app/installations/ID/access_tokens."""
    return {
        "token": token,
        "expires_at": expires_at,
        "permissions": {"pull_requests": "write", "statuses": "write", "contents": "write"},
        "repository_selection": "selected",
    }
