"""Who people are on GitHub, for the gate: a user's permission on the repository and
their membership of a team (bot.githost.client delegates here).

Both are one GET each; the handler asks once per distinct user and team within one
event (bot.handlers.trust). Team membership needs a token that may read the
organisation's teams: the App's installation token with the organisation permission
"Members: read", or in the Action a separate `org-token` (Members: read / `read:org`).
GITHUB_TOKEN cannot read teams, so without such a token the answer is None (cannot
verify) and no request is made.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from bot.errors import GitHubError

if TYPE_CHECKING:
    from github import Github

Calling = Callable[[str, str], AbstractContextManager[None]]  # (action, permission)
NOT_READABLE = frozenset({401, 403})
BASE_ROLES = frozenset({"admin", "maintain", "write", "triage", "read"})


def permission_from_json(data: Mapping[str, Any]) -> str:
    """A user's permission on a repository (GET /collaborators/USER/permission):
    `role_name` when it is one of GitHub's base roles (it tells maintain and triage
    apart), else the legacy `permission` (admin, write, read or none)."""
    role = str(data.get("role_name") or "")
    if role in BASE_ROLES:
        return role
    return str(data.get("permission") or "none")


def active_membership(data: Mapping[str, Any]) -> bool:
    """A team membership (GET /orgs/O/teams/T/memberships/USER) that counts: `active`;
    a `pending` invitation does not."""
    return bool(data.get("state") == "active")


def permission(gh: Github, calling: Calling, repo: str, login: str) -> str:
    """1 request (GET /repos/O/R/collaborators/LOGIN/permission): admin, maintain,
    write, triage, read or none; a 404 (no such user) is none."""
    url = f"/repos/{repo}/collaborators/{quote(login, safe='')}/permission"
    try:
        with calling(f"reading the permission of @{login} on {repo}", "metadata: read"):
            data = gh.requester.requestJsonAndCheck("GET", url)[1]
    except GitHubError as err:
        if err.status == 404:
            return "none"
        raise
    return permission_from_json(data)


def is_member(gh: Github | None, calling: Calling, team: str, login: str) -> bool | None:
    """Whether LOGIN is an active member of TEAM ("org/slug"; members of child teams
    count, pending invitations do not): 1 request (GET /orgs/O/teams/T/memberships/
    LOGIN). None when it cannot be verified: no token that may read teams (no
    request), or GitHub refused (401/403). A 404 means not a member (or a team the
    token cannot see): False."""
    if gh is None:
        return None
    org, _, slug = team.partition("/")
    url = f"/orgs/{quote(org, safe='')}/teams/{quote(slug, safe='')}/memberships/"
    try:
        with calling(f"reading @{login}'s membership of @{team}", "members: read"):
            data = gh.requester.requestJsonAndCheck("GET", url + quote(login, safe=""))[1]
    except GitHubError as err:
        if err.status == 404:
            return False
        if err.status in NOT_READABLE and not err.rate_limited:
            return None
        raise
    return active_membership(data)
