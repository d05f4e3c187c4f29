"""The GitHub adapter: the only module that talks to GitHub (through PyGithub).

`GitHubRepo` implements `bot.ports.GitHubPort` for one repository (with a token, or
as a GitHub App installation made by `AppInstallations`). PyGithub is
imported inside functions (nothing happens at import time) and no PyGithub object
leaves this module: answers become `bot.domain` types, failures `GitHubError`s that
say what went wrong and what to do.

Objects are lazy (`Github(lazy=True)`): naming a repository, PR, issue or commit
costs nothing, only reading fields or calling an endpoint does; each method's
docstring counts its requests. 5xx answers are retried; rate limits (403/429 with
`Retry-After` or `X-RateLimit-Reset`) are waited out up to
`RetryPolicy.max_rate_limit_wait` seconds, beyond that the call fails at once with a
GitHubError saying when the limit resets. What needs no PyGithub and no request
(translating answers and errors, building bodies) is in bot.githost.data.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from bot.constants import ACTIONS_BOT_LOGIN, DEFAULT_API_URL
from bot.domain import Comment, GateState, PullRequest, Review
from bot.errors import GitHubError
from bot.githost import data as gd
from bot.githost import people
from bot.githost.data import RetryPolicy
from bot.githost.pacing import WritePacer

if TYPE_CHECKING:
    from github import GithubIntegration
    from github.Auth import AppInstallationAuth
    from github.GithubException import GithubException
    from urllib3.util.retry import Retry

log = logging.getLogger(__name__)

PER_PAGE = 100
# PyGithub's pacing for the App's own requests (rare). A repository's writes are paced
# by bot.githost.pacing.WritePacer instead: a review's few writes at once, then one a second.
SECONDS_BETWEEN_REQUESTS = 0.25
SECONDS_BETWEEN_WRITES = 1.0


def make_retry(policy: RetryPolicy) -> Retry:
    """PyGithub's GithubRetry, plus: 429s are retried after their reset, and a wait
    longer than the policy allows raises RateLimitExceededExceedsMaxWait at once."""
    from github import GithubRetry
    from github.GithubException import RateLimitExceededExceedsMaxWait

    class CappedRetry(GithubRetry):
        rate_limit_wait: float | None = None  # a 429's reset, used as the next backoff

        def get_backoff_time(self) -> float:
            wait = self.rate_limit_wait
            return float(super().get_backoff_time()) if wait is None else wait

        def increment(
            self,
            method: Any = None,
            url: Any = None,
            response: Any = None,
            error: Any = None,
            _pool: Any = None,
            _stacktrace: Any = None,
        ) -> Any:
            wait = (
                None if response is None else gd.rate_limit_wait(response.status, response.headers)
            )
            cap = self.max_rate_limit_wait
            if wait is not None and cap is not None and wait > cap:
                headers = dict(response.headers)
                raise RateLimitExceededExceedsMaxWait(response.status, None, headers, wait=wait)
            retry = super().increment(method, url, response, error, _pool, _stacktrace)
            if wait is not None and response.status == 429 and isinstance(retry, CappedRetry):
                retry.rate_limit_wait = wait
            return retry

    return CappedRetry(
        total=policy.total,
        backoff_factor=policy.backoff_factor,
        status_forcelist=[*range(500, 600), 429],
        allowed_methods={"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "POST", "PATCH"},
        raise_on_status=False,  # the last answer reaches PyGithub, which raises with it
        max_rate_limit_wait=policy.max_rate_limit_wait,
        secondary_rate_wait=policy.secondary_rate_wait,
    )


def _rate_limit(exc: GithubException) -> tuple[float | None, bool]:
    """How long the rate limit behind `exc` lasts (None: unknown, or no limit), and
    whether PyGithub called the failure a rate limit."""
    from github.GithubException import RateLimitExceededExceedsMaxWait as TooLong
    from github.GithubException import RateLimitExceededException as Limited

    wait = exc.wait if isinstance(exc, TooLong) else gd.rate_limit_wait(exc.status, exc.headers)
    return wait, isinstance(exc, Limited)


@contextmanager
def calling(
    base_url: str, action: str, permission: str, hints: Mapping[int, str] | None = None
) -> Iterator[None]:
    """Turn PyGithub and transport failures inside the block into GitHubErrors."""
    import requests
    from github.GithubException import GithubException

    try:
        yield
    except GithubException as exc:
        wait, limited = _rate_limit(exc)
        error = gd.translate_error(exc, action, permission, hints, wait=wait, limited=limited)
        raise error from exc
    except requests.RequestException as exc:
        message = f"could not reach GitHub at {base_url} while {action}: {exc}"
        raise GitHubError(message, hint="check GITHUB_API_URL and the network") from exc


class GitHubRepo:
    """GitHubPort for one repository, over PyGithub."""

    def __init__(
        self,
        repo_full_name: str,
        token: str | None = None,
        *,
        auth: object | None = None,
        base_url: str = DEFAULT_API_URL,
        bot_login: str | None = None,
        throttle: bool = True,
        retry: RetryPolicy | None = None,
        server_url: str | None = None,
        org_token: str | None = None,
        read_teams: bool = False,
    ) -> None:
        """`auth` (a github.Auth.Auth, e.g. an App installation) wins over `token`;
        `throttle=False` drops the pacing of writes (tests; reads are never paced,
        see bot.githost.pacing); `server_url` overrides the web address derived from `base_url`.
        Team membership is read with `org_token` when given, else with the main
        credentials if `read_teams` (an App with Members: read), else not at all."""
        from github import Auth

        gd.check_repo_name(repo_full_name)
        if auth is not None and not isinstance(auth, Auth.Auth):
            raise TypeError(f"auth must be a github.Auth.Auth, not {type(auth).__name__}")
        policy = retry or RetryPolicy()
        self.repo_full_name = repo_full_name
        self.base_url = base_url.rstrip("/")
        self.server_url = (server_url or gd.web_url_for(self.base_url)).rstrip("/")
        self._bot_login = bot_login
        self._gh = self._client(
            auth if auth is not None else (Auth.Token(token) if token else None), policy
        )
        self._teams = self._client(Auth.Token(org_token), policy) if org_token else None
        if self._teams is None and read_teams:
            self._teams = self._gh
        self._pacer = WritePacer() if throttle else None
        self._repo = self._gh.get_repo(repo_full_name)  # lazy: no request

    def _client(self, auth: Any, policy: RetryPolicy) -> Any:
        from github import Github

        return Github(
            auth=auth,
            base_url=self.base_url,
            timeout=policy.timeout,
            per_page=PER_PAGE,
            retry=make_retry(policy),
            seconds_between_requests=None,
            seconds_between_writes=None,
            lazy=True,
        )

    def permission(self, login: str) -> str:
        """1 request: see bot.githost.people.permission."""
        return people.permission(self._gh, self._calling, self.repo_full_name, login)

    def team_membership(self, team: str, login: str) -> bool | None:
        """1 request, none without a token that may read teams: see
        bot.githost.people.is_member."""
        return people.is_member(self._teams, self._calling, team, login)

    def _calling(
        self, action: str, permission: str, hints: Mapping[int, str] | None = None
    ) -> AbstractContextManager[None]:
        return calling(self.base_url, action, permission, hints)

    def _write(self) -> None:
        """Before every write: the pacing GitHub asks of a client (bot.githost.pacing)."""
        if self._pacer is not None:
            self._pacer.wait()

    def _send(
        self,
        verb: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        params: dict[str, Any] | None = None,
    ) -> Any:
        """One REST call under /repos/OWNER/NAME/ through PyGithub's requester, for the
        git data calls that PyGithub models only with extra requests (a tree by path,
        a ref moved without reading it first); returns the decoded JSON."""
        if verb != "GET":
            self._write()
        url = f"/repos/{self.repo_full_name}/{path}"
        return self._gh.requester.requestJsonAndCheck(verb, url, params, None, body)[1]

    def _comment(self, comment_id: int) -> Any:
        """The comment as a PyGithub object that has not been fetched (no request)."""
        from github.IssueComment import IssueComment

        url = f"{self._repo.url}/issues/comments/{comment_id}"
        return IssueComment(self._repo.requester, url=url)

    def blob_url(self, sha: str, path: str) -> str:
        """Web address of a committed file that renders in comments, also in private
        repositories (raw.githubusercontent.com links do not)."""
        return f"{self.server_url}/{self.repo_full_name}/blob/{sha}/{quote(path)}?raw=true"

    def bot_login(self) -> str:
        """No request: the login given, else the Actions bot (GET /user 403s for it)."""
        return self._bot_login or ACTIONS_BOT_LOGIN

    def pull_request(
        self, number: int, *, with_commits: bool = True, with_files: bool = True
    ) -> PullRequest:
        """1 request (GET /pulls/N), plus 1 per 100 commits and 1 per 100 files when
        asked (GitHub lists at most 250 commits and 3000 files)."""
        with self._calling(f"reading pull request #{number}", "pull-requests: read"):
            pull = self._repo.get_pull(number)
            found = gd.pull_from_json(pull.raw_data, self.repo_full_name)
            commits = tuple(c.sha for c in pull.get_commits()) if with_commits else ()
            files = tuple(f.filename for f in pull.get_files()) if with_files else ()
        return replace(found, commits=commits, changed_files=files)

    def changed_files(self, number: int) -> tuple[str, ...]:
        """1 request per 100 files (GET /pulls/N/files; GitHub lists at most 3000)."""
        with self._calling(f"listing the files of #{number}", "pull-requests: read"):
            return tuple(f.filename for f in self._repo.get_pull(number).get_files())

    def comments(self, number: int) -> list[Comment]:
        """1 request per 100 comments (GET /issues/N/comments, every page)."""
        with self._calling(f"listing the comments of #{number}", "pull-requests: read"):
            return [gd.comment_from_object(c) for c in self._repo.get_issue(number).get_comments()]

    def reviews(self, number: int) -> list[Review]:
        """1 request per 100 reviews (GET /pulls/N/reviews, every page), oldest first;
        pending reviews and reviews by deleted users are left out."""
        with self._calling(f"listing the reviews of #{number}", "pull-requests: read"):
            found = [gd.review_from_object(r) for r in self._repo.get_pull(number).get_reviews()]
        return [r for r in found if r is not None]

    def file_at(self, path: str, ref: str) -> str | None:
        """1 request (GET /contents/PATH?ref=REF); None when the path or ref is absent."""
        try:
            with self._calling(f"reading `{path}` at `{ref}`", "contents: read"):
                found = self._repo.get_contents(path, ref=ref)
                if isinstance(found, list) or found.type != "file" or found.encoding != "base64":
                    raise GitHubError(f"`{path}` at `{ref}` is not a file GitHub can return")
                content = found.content
        except GitHubError as err:
            if err.status == 404:
                return None
            raise
        return base64.b64decode(content).decode("utf-8", errors="replace")

    def create_comment(self, number: int, body: str) -> Comment:
        """1 request (POST /issues/N/comments)."""
        with self._calling(f"commenting on #{number}", "pull-requests: write"):
            self._write()
            return gd.comment_from_object(self._repo.get_issue(number).create_comment(body))

    def update_comment(self, comment_id: int, body: str) -> Comment:
        """1 request (PATCH /issues/comments/ID)."""
        with self._calling(f"updating comment {comment_id}", "pull-requests: write"):
            self._write()
            comment = self._comment(comment_id)
            comment.edit(body)  # PyGithub keeps the answer in the object
            return gd.comment_from_object(comment)

    def delete_comment(self, comment_id: int) -> None:
        """1 request (DELETE /issues/comments/ID)."""
        with self._calling(f"deleting comment {comment_id}", "pull-requests: write"):
            self._write()
            self._comment(comment_id).delete()

    def set_status(
        self, sha: str, state: GateState, description: str, context: str, target_url: str | None
    ) -> None:
        """1 request (POST /statuses/SHA); the description is cut to 140 characters."""
        body = gd.status_body(state, description, context, target_url)
        with self._calling(f"setting the `{context}` status on {sha[:7]}", "statuses: write"):
            self._write()
            self._repo.get_commit(sha).create_status(**body)  # lazy commit: 1 request

    def current_status(self, sha: str, context: str) -> tuple[GateState, str] | None:
        """1 request (GET /commits/SHA/status: the latest status of each context, up
        to 100 contexts); (state, description) of `context`, or None."""
        with self._calling(f"reading the statuses of {sha[:7]}", "statuses: read"):
            # PyGithub's get_combined_status cannot ask for more than GitHub's default 30
            data = self._send("GET", f"commits/{sha}/status", params={"per_page": PER_PAGE})
        return gd.status_in(data, context)

    def request_reviewers(self, number: int, users: Sequence[str], teams: Sequence[str]) -> None:
        """1 request (POST /pulls/N/requested_reviewers), none when both lists are
        empty. Teams are "org/slug" (or just "slug")."""
        if not users and not teams:
            return
        names = ", ".join(f"`{n}`" for n in (*users, *teams))
        action = f"requesting reviews from {names} on #{number}"
        hints = {422: gd.reviewers_hint(self.repo_full_name)}
        with self._calling(action, "pull-requests: write", hints):
            self._write()
            self._repo.get_pull(number).create_review_request(**gd.reviewers_body(users, teams))

    def commit_files(self, branch: str, files: Mapping[str, bytes], message: str) -> str:
        """Commit `files` (path -> bytes) to `branch`; return the branch's new head SHA.

        A missing branch is created as an orphan that holds only these files. Paths
        that already hold the same bytes are not sent again; when nothing changed,
        nothing is written and the current head SHA is returned. Requests: 1 GET ref,
        1 GET tree when the branch exists, then only if something changed: 1 POST
        per changed file (blob) + POST tree + POST commit + PATCH ref (POST ref for a
        new branch). If the branch moved meanwhile (422), it tries once more.
        """
        wanted = {path.strip("/"): data for path, data in files.items()}
        if not wanted:
            raise ValueError("commit_files needs at least one file")
        try:
            return self._commit_once(branch, wanted, message)
        except GitHubError as err:
            if err.status != 422:
                raise
            log.info("branch %s moved while committing (%s); trying again", branch, err)
        return self._commit_once(branch, wanted, message)

    def _commit_once(self, branch: str, wanted: Mapping[str, bytes], message: str) -> str:
        head = self._branch_head(branch)
        with self._calling(f"committing files to branch `{branch}`", "contents: write"):
            todo, base_tree = dict(wanted), None
            if head is not None:
                tree = self._send("GET", f"git/trees/{head}", params={"recursive": 1})
                if tree.get("truncated"):
                    log.warning("the tree of %s is truncated; some files may be re-sent", branch)
                todo, base_tree = gd.changed_files(tree, wanted), tree["sha"]
                if not todo:
                    return head
            blobs = {p: self._blob(d) for p, d in sorted(todo.items())}
            new_tree = self._send("POST", "git/trees", gd.tree_body(blobs, base_tree))["sha"]
            commit_body = {"message": message, "tree": new_tree, "parents": [head] if head else []}
            commit = str(self._send("POST", "git/commits", commit_body)["sha"])
            if head is not None:
                self._send(
                    "PATCH", f"git/refs/heads/{quote(branch)}", {"sha": commit, "force": False}
                )
            else:
                self._send("POST", "git/refs", {"ref": f"refs/heads/{branch}", "sha": commit})
        return commit

    def _branch_head(self, branch: str) -> str | None:
        try:
            with self._calling(f"reading branch `{branch}`", "contents: read"):
                return str(self._send("GET", f"git/ref/heads/{quote(branch)}")["object"]["sha"])
        except GitHubError as err:
            if err.status == 404:
                return None
            raise

    def _blob(self, data: bytes) -> str:
        body = {"content": base64.b64encode(data).decode("ascii"), "encoding": "base64"}
        return str(self._send("POST", "git/blobs", body)["sha"])


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
    ) -> None:
        """`bot_login` ("<app-slug>[bot]") saves the GET /app that finds it; one auth
        per installation is kept `cache_seconds` (by `clock`), so repositories and
        jobs of one installation share its token."""
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
        return GitHubRepo(
            repo_full_name,
            auth=auth,
            bot_login=self.bot_login(),
            read_teams=True,  # the App asks for Members: read (app.yml)
            **self._repo_options,
        )
