"""What a GitHub App is installed on: installations, repositories, open pull requests.

`model-review reconcile` walks these. Lists are read 100 to a page (bot.githost.retry.PER_PAGE):

- GET /app/installations (as the App): 1 request per 100 installations;
- per installation, its token (POST /app/installations/ID/access_tokens, 1 request)
  and GET /installation/repositories: 1 request per 100 repositories;
- per repository, GET /repos/O/R/pulls?state=open: 1 request per 100 open PRs.

The PRs come back as domain PullRequests (title, body, head and base commits, draft):
what the list gives, without commits or files.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.domain import PullRequest
from bot.githost import data as gd
from bot.githost.installations import APP_KEY_HINT
from bot.githost.retry import calling

if TYPE_CHECKING:
    from bot.githost.installations import AppInstallations


@dataclass(frozen=True)
class Installation:
    installation_id: int
    account: str


class AppInventory:
    """Reads the App's installations, repositories and open PRs."""

    def __init__(self, apps: AppInstallations) -> None:
        self._apps = apps
        self._found: dict[int, Any] = {}  # installation id -> PyGithub Installation

    def installations(self) -> list[Installation]:
        found: list[Installation] = []
        hints = {401: APP_KEY_HINT, 403: APP_KEY_HINT}
        with calling(self._apps.base_url, "listing the App's installations", "", hints):
            for item in self._apps.integration.get_installations():
                self._found[int(item.id)] = item
                account = item.raw_data.get("account") or {}
                found.append(Installation(int(item.id), str(account.get("login") or "")))
        return found

    def repositories(self, installation_id: int) -> list[str]:
        item = self._installation(installation_id)
        action = f"listing the repositories of installation {installation_id}"
        with calling(self._apps.base_url, action, "", {401: APP_KEY_HINT}):
            return [repo.full_name for repo in item.get_repos()]

    def open_pulls(self, installation_id: int, full_name: str) -> list[PullRequest]:
        item = self._installation(installation_id)
        action = f"listing the open pull requests of {full_name}"
        with calling(self._apps.base_url, action, "pull-requests: read", {}):
            github = item.get_github_for_installation()
            repo = github.get_repo(full_name, lazy=True)
            pulls = repo.get_pulls(state="open")
            return [gd.pull_from_json(p.raw_data, full_name) for p in pulls]

    def _installation(self, installation_id: int) -> Any:
        if installation_id not in self._found:
            action = f"reading installation {installation_id}"
            with calling(self._apps.base_url, action, "", {401: APP_KEY_HINT}):
                found = self._apps.integration.get_app_installation(installation_id)
            self._found[installation_id] = found
        return self._found[installation_id]
