"""The GitHub adapter: the only module that talks to GitHub (through PyGithub).

`GitHubRepo` implements `bot.ports.GitHubPort` for one repository (with a token, or
as a GitHub App installation made by bot.githost.installations). PyGithub is
imported inside functions (nothing happens at import time) and no PyGithub object
leaves this module: answers become `bot.domain` types, failures `GitHubError`s that
say what went wrong and what to do.

Objects are lazy (`Github(lazy=True)`): naming a repository, PR, issue or commit
costs nothing, only reading fields or calling an endpoint does; each method's
docstring counts its requests. 5xx answers are retried; rate limits (403/429 with
`Retry-After` or `X-RateLimit-Reset`) are waited out (bot.githost.retry). What needs
no PyGithub and no request (translating answers and errors, building bodies) is in bot.githost.data.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from bot.constants import ACTIONS_BOT_LOGIN, DEFAULT_API_URL
from bot.domain import CheckRun, Comment, GateState, PullRequest, Review
from bot.errors import GitHubError
from bot.githost import data as gd
from bot.githost import people
from bot.githost.data import RetryPolicy
from bot.githost.pacing import WritePacer
from bot.githost.retry import PER_PAGE, calling, make_retry

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)

# told GitHub's rate limit after each call: (requests remaining, requests per hour)
RateLimitSeen = Callable[[int, int], None]


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
        request_teams: bool = False,
        on_rate_limit: RateLimitSeen | None = None,
    ) -> None:
        """`auth` (a github.Auth.Auth, e.g. an App installation) wins over `token`;
        `throttle=False` drops the pacing of writes (tests; reads are never paced,
        see bot.githost.pacing); `server_url` overrides the web address derived from `base_url`.
        Team membership is read with `org_token` when given, else with the main
        credentials if `read_teams` (an App with Members: read), else not at all;
        `request_teams`: the credentials may request a team's review (an App).
        `on_rate_limit` is told the rate limit GitHub's last answer gave after each
        call (see `_rate_limit_seen`)."""
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
        self._request_teams = request_teams
        self._on_rate_limit = on_rate_limit
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

    def can_request_teams(self) -> bool:
        """No request: an App installation may request teams, a plain token (the
        Action's GITHUB_TOKEN) may not."""
        return self._request_teams

    @contextmanager
    def _calling(
        self, action: str, permission: str, hints: Mapping[int, str] | None = None
    ) -> Iterator[None]:
        try:
            with calling(self.base_url, action, permission, hints):
                yield
        finally:
            self._rate_limit_seen()

    def _rate_limit_seen(self) -> None:
        """No request: the X-RateLimit-Remaining and X-RateLimit-Limit of GitHub's last
        answer to these credentials (GitHub sends them on every REST answer; PyGithub's
        requester keeps them) go to `on_rate_limit`, if any answer carried them."""
        if self._on_rate_limit is None:
            return
        remaining, limit = self._gh.requester.rate_limiting  # (-1, -1) until an answer
        if limit >= 0:
            self._on_rate_limit(remaining, limit)

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

    def open_pulls(self) -> list[PullRequest]:
        """1 request per 100 open pull requests (GET /pulls?state=open), as the list
        gives them: without commits or files."""
        with self._calling("listing the open pull requests", "pull-requests: read"):
            pulls = self._repo.get_pulls(state="open")
            return [gd.pull_from_json(p.raw_data, self.repo_full_name) for p in pulls]

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

    def check_run(self, sha: str, name: str) -> CheckRun | None:
        """1 request (GET /commits/SHA/check-runs?check_name=NAME&filter=latest): the
        bot's own run, see gd.check_run_in."""
        params = {"check_name": name, "filter": "latest", "per_page": PER_PAGE}
        with self._calling(f"reading the `{name}` check of {sha[:7]}", "checks: read"):
            data = self._send("GET", f"commits/{sha}/check-runs", params=params)
        return gd.check_run_in(data, self.bot_login())

    def write_check_run(self, sha: str, name: str, run: CheckRun) -> CheckRun:
        """1 request: POST /check-runs (`run.check_id` 0) or PATCH /check-runs/ID."""
        body = gd.check_body(sha, name, run)
        with self._calling(f"setting the `{name}` check on {sha[:7]}", "checks: write"):
            if run.check_id:
                data = self._send("PATCH", f"check-runs/{run.check_id}", body)
            else:
                data = self._send("POST", "check-runs", body)
        return replace(run, check_id=int(data["id"]))

    def group_messages(self, base_sha: str, head_sha: str) -> tuple[str, ...]:
        """1 request (GET /compare/BASE...HEAD, the first 100 commits): the messages of
        the commits GitHub made between them (a merge queue's, see gd.queue_messages)."""
        action = f"comparing {base_sha[:7]}...{head_sha[:7]}"
        with self._calling(action, "contents: read"):
            data = self._send("GET", f"compare/{base_sha}...{head_sha}", params={"per_page": 100})
        return gd.queue_messages(data)

    def request_reviewers(self, number: int, users: Sequence[str], teams: Sequence[str]) -> None:
        """1 request (POST /pulls/N/requested_reviewers), none when both lists are
        empty. Teams are "org/slug" (or just "slug")."""
        if not users and not teams:
            return
        names = ", ".join(f"`{n}`" for n in (*users, *teams))
        action = f"requesting reviews from {names} on #{number}"
        hints = {422: gd.reviewers_hint(self.repo_full_name, teams=bool(teams))}
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
