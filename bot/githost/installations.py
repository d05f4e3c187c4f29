"""GitHub App installations: the App signs in with its private key (a JWT) and acts as
the installation that covers each repository (`AppInstallations.repo` gives its
GitHubRepo).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from bot.constants import DEFAULT_API_URL
from bot.githost.client import GitHubRepo
from bot.githost.data import RetryPolicy
from bot.githost.retry import (
    PER_PAGE,
    SECONDS_BETWEEN_REQUESTS,
    SECONDS_BETWEEN_WRITES,
    calling,
    make_retry,
)

if TYPE_CHECKING:
    from github import GithubIntegration
    from github.Auth import AppInstallationAuth

log = logging.getLogger(__name__)


APP_KEY_HINT = "check the App's id and private key in the server's settings"
# How long one installation's auth object is reused. Its token lasts 1 h and PyGithub
# renews it shortly before it expires; the cache only bounds what a server keeps.
INSTALLATION_CACHE_SECONDS = 3600.0


class AppInstallations:
    """GitHubRepos for a GitHub App (the webhook server): the App signs in with its
    private key (a JWT), then acts as the installation that covers each repository;
    PyGithub fetches and refreshes the installation tokens (1 request per hour)."""

    def __init__(
        self,
        app_id: int | str,
        private_key: str,
        *,
        base_url: str = DEFAULT_API_URL,
        server_url: str | None = None,
        throttle: bool = True,
        retry: RetryPolicy | None = None,
        bot_login: str | None = None,
        cache_seconds: float = INSTALLATION_CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        on_rate_limit: Callable[[int, int, int], None] | None = None,
    ) -> None:
        """`bot_login` ("<app-slug>[bot]") saves the GET /app that finds it; one auth
        per installation is kept `cache_seconds` (by `clock`), so repositories and
        jobs of one installation share its token. `on_rate_limit(installation, remaining,
        limit)` is told each installation's rate limit from GitHub's answers (no
        request of its own)."""
        from github import Auth, GithubIntegration

        policy = retry or RetryPolicy()
        self.base_url = base_url.rstrip("/")
        self._auth = Auth.AppAuth(app_id, private_key)
        self._app = GithubIntegration(
            auth=self._auth,
            base_url=self.base_url,
            timeout=policy.timeout,
            retry=make_retry(policy),
            seconds_between_requests=SECONDS_BETWEEN_REQUESTS if throttle else None,
            seconds_between_writes=SECONDS_BETWEEN_WRITES if throttle else None,
            per_page=PER_PAGE,  # lists of installations and repositories (reconcile)
        )
        self._repo_options: dict[str, Any] = {
            "base_url": self.base_url,
            "server_url": server_url,
            "throttle": throttle,
            "retry": policy,
        }
        self._login = bot_login
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._installations: dict[int, tuple[AppInstallationAuth, float]] = {}
        self._lock = threading.Lock()  # worker threads share one AppInstallations
        self._on_rate_limit = on_rate_limit

    @property
    def integration(self) -> GithubIntegration:
        """PyGithub's App client (bot.githost.inventory lists installations with it)."""
        return self._app

    def bot_login(self) -> str:
        """The App's bot login, "<app-slug>[bot]": 1 request (GET /app) the first time."""
        with self._lock:
            if self._login is None:
                hints = {401: APP_KEY_HINT, 403: APP_KEY_HINT}
                with calling(self.base_url, "reading the App's name", "", hints):
                    self._login = f"{self._app.get_app().slug}[bot]"
            return self._login

    def installation_auth(self, installation_id: int) -> AppInstallationAuth:
        """The installation's auth, cached: its token is requested at its first use
        (POST /app/installations/ID/access_tokens) and renewed near its expiry."""
        now = self._clock()
        with self._lock:
            for key, (_, until) in list(self._installations.items()):
                if until <= now:
                    del self._installations[key]
            if installation_id not in self._installations:
                auth = self._auth.get_installation_auth(installation_id)
                self._installations[installation_id] = (auth, now + self._cache_seconds)
            return self._installations[installation_id][0]

    def installation_id(self, repo_full_name: str) -> int:
        """The installation that covers a repository: 1 request (GET /repos/O/R/installation)."""
        owner, _, name = repo_full_name.partition("/")
        hint = f"install the App on {repo_full_name} (or give the installation access to it)"
        action = f"finding the App's installation on {repo_full_name}"
        with calling(self.base_url, action, "", {401: APP_KEY_HINT, 404: hint}):
            return int(self._app.get_repo_installation(owner, name).id)

    def repo(self, installation_id: int, repo_full_name: str) -> GitHubRepo:
        """A GitHubRepo acting as the installation; no request of its own (but see
        bot_login)."""
        auth = self.installation_auth(installation_id)
        seen = self._on_rate_limit
        return GitHubRepo(
            repo_full_name,
            auth=auth,
            bot_login=self.bot_login(),
            read_teams=True,  # the App asks for Members: read (app.yml)
            request_teams=True,
            on_rate_limit=None if seen is None else partial(seen, installation_id),
            **self._repo_options,
        )
