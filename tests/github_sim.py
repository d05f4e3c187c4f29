"""The one stateful stand-in for the GitHub REST endpoints the bot uses.

One state (a repository with one pull request: comments, reviews, statuses, the
assets branch as a little git object store) and one router, served two ways:

- in-process through `responses` (`install(rsps)` or the `mocked()` context), with a
  JSON matcher on every write, for the end-to-end tests;
- on a loopback socket (`serve()`), HTTP/1.1 with keep-alive, for a bot that runs as
  its own process: the benchmarks and the composite-action test.

Answers have GitHub's shapes (tests/github_payloads.py, built from GitHub's own
examples), lists are paged with GitHub's `Link` headers, and every request is recorded
as ("METHOD", "route/template") in `calls`, every write as a short line in `writes`,
so a test asserts on exactly the writes it expects, and no others. A request no route
knows is answered 404 and recorded in `unknown`; a write whose body GitHub would refuse
is answered 422 and recorded in `refused`. Both must stay empty.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import responses
from requests import PreparedRequest

from bot.constants import ACTIONS_BOT_LOGIN, COMMENT_LIMIT, MARKER, STATUS_DESCRIPTION_LIMIT
from tests import github_contract
from tests import github_payloads as gp
from tests.github_git import GitData, GitStore

WIRE = "https://api.github.com:443"  # PyGithub names the port in the URLs it sends
_HOST = re.compile(r"^https://api\.github\.com(:443)?")
STATES = {"pending", "success", "failure", "error"}
WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})

Json = dict[str, Any]
Answer = tuple[int, Any, dict[str, str]]  # status, JSON body (None: empty), headers
Check = Callable[[Json], "str | None"]


# --- what GitHub accepts in a write ---------------------------------------------------


def _shape(keys: set[str], check: Check, optional: frozenset[str] = frozenset()) -> Check:
    def checked(data: Json) -> str | None:
        if not keys <= set(data) <= keys | optional:
            return f"body keys {sorted(data)} != {sorted(keys)} (+{sorted(optional)})"
        return check(data)

    return checked


def _comment_ok(data: Json) -> str | None:
    body = data["body"]
    if not isinstance(body, str) or not body.startswith(MARKER):
        return "a bot comment must start with the marker"
    return None if len(body) <= COMMENT_LIMIT else "comment longer than GitHub allows"


def _status_ok(data: Json) -> str | None:
    if data["state"] not in STATES:
        return f"bad state {data['state']}"
    if len(data["description"]) > STATUS_DESCRIPTION_LIMIT:
        return "description over 140 characters"
    return None if data["context"] == "model-review" else f"context {data['context']}"


def _reviewers_ok(data: Json) -> str | None:
    names = [*data.get("reviewers", []), *data.get("team_reviewers", [])]
    if not names or not all(isinstance(n, str) and n and "@" not in n for n in names):
        return f"bad reviewer list {names}"
    return None


def _any(data: Json) -> str | None:
    return None


COMMENT = _shape({"body"}, _comment_ok)
STATUS = _shape({"state", "description", "context"}, _status_ok, frozenset({"target_url"}))
REVIEWERS = _shape(set(), _reviewers_ok, optional=frozenset({"reviewers", "team_reviewers"}))


def _matcher(check: Check) -> Any:
    def match(request: PreparedRequest) -> tuple[bool, str]:
        problem = check(_json_body(request.body))
        return problem is None, problem or ""

    return match


def _json_body(body: object) -> Json:
    raw = body or b"{}"
    data: Json = json.loads(raw.decode() if isinstance(raw, bytes) else str(raw))
    return data


# --- the simulator ---------------------------------------------------------------------


@dataclass
class GitHubSim(GitData):
    repo: str = "acme/models"
    number: int = 7
    title: str = "Retrain fraud model"
    author: str = "dave"
    body: str = ""
    head_sha: str = "a" * 40
    base_sha: str = "b" * 40
    head_repo: str | None = None
    commits: list[str] = field(default_factory=lambda: ["a" * 40])
    files: list[str] = field(default_factory=lambda: ["models/train.py"])
    config: str | None = None
    requested: list[str] = field(default_factory=list)
    requested_teams: list[str] = field(default_factory=list)  # slugs
    comments: list[Json] = field(default_factory=list)
    reviews: list[Json] = field(default_factory=list)
    statuses: list[Json] = field(default_factory=list)
    state: str = "open"  # "closed" once a test closes the PR
    merged: bool = False
    merge_commit_sha: str | None = None
    bot_login: str = ACTIONS_BOT_LOGIN
    next_id: int = 9000
    git: GitStore = field(default_factory=GitStore)
    # what happened
    calls: list[tuple[str, str]] = field(default_factory=list)
    writes: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    # where the API answers (links in answers lead back here)
    url: str = gp.API
    # who may do what: role by login (else `role`); team "org/slug" -> {login: state}
    # ("active" or "pending"); `teams_refused`: GitHub answers 403 (no Members: read)
    roles: dict[str, str] = field(default_factory=dict)
    role: str = "write"
    members: dict[str, dict[str, str]] = field(default_factory=dict)
    teams_refused: bool = False
    # other open pull requests of the same repository (`add_pull`): requests about
    # them (by number, head commit or comment id) are answered from their own state
    others: list[GitHubSim] = field(default_factory=list)
    # GitHub's API description (tests/github_contract.py): every request served and
    # every answer is held against it; what breaks it is in `off_contract` (must stay
    # empty). None: unchecked (benchmarks, which time the bot, not the checks)
    contract: github_contract.Contract | None = field(default_factory=github_contract.contract)
    off_contract: list[str] = field(default_factory=list)
    # (base, head) -> the commits GitHub made between them (a merge group's)
    compares: dict[tuple[str, str], list[Json]] = field(default_factory=dict)
    # check runs (GitHub Apps), oldest first; `check_app`: the App that writes them
    check_runs: list[Json] = field(default_factory=list)
    check_app: str = "model-review"
    # GitHub's rate limit, sent on every answer as GitHub does (X-RateLimit-*): each
    # answer spends one request; `rate_remaining` is what the last answer said
    rate_limit: int = 5000
    rate_remaining: int = 5000
    installation_id: int = 1  # the App's installation (POST .../access_tokens)

    def __post_init__(self) -> None:
        self._lock = threading.RLock()
        self._routes = self._route_table()
        self._server: ThreadingHTTPServer | None = None

    # --- state changes a test or benchmark makes between events -----------------------
    def add_review(self, login: str, state: str, at: str) -> Json:
        self.next_id += 1
        review = gp.review(
            self.next_id, login, state, commit_id=self.head_sha, submitted_at=at,
            repo=self.repo, number=self.number,
        )  # fmt: skip
        self.reviews.append(review)
        self.requested = [r for r in self.requested if r != login]
        return review

    def add_comment(self, body: str, login: str, association: str = "OWNER") -> Json:
        self.next_id += 1
        comment = gp.issue_comment(
            self.next_id, body, login, repo=self.repo, number=self.number, association=association
        )
        self.comments.append(comment)
        return comment

    def add_comments(self, count: int, login: str = "erin") -> None:
        """`count` comments by people (one template copied: the builders are slow)."""
        template = gp.issue_comment(1, "", login, repo=self.repo, number=self.number)
        for n in range(count):
            self.next_id += 1
            comment = json.loads(json.dumps(template))
            comment.update(id=self.next_id, body=f"Comment {n}: looks reasonable, one question.")
            self.comments.append(comment)

    def add_pull(self, **pr: Any) -> GitHubSim:
        """Another pull request of this repository (fields as keyword arguments; a
        `number` of its own), with comment ids apart from this one's."""
        start = self.next_id + 100_000 * (len(self.others) + 1)
        other = GitHubSim(repo=self.repo, url=self.url, next_id=start, **pr)
        self.others.append(other)
        return other

    def reset(self, *, keep_git: bool = False, **pr: Any) -> None:
        """A fresh pull request (fields as keyword arguments), no calls recorded."""
        with self._lock:
            fresh = GitHubSim(repo=self.repo, url=self.url, contract=self.contract, **pr)
            for name in (f.name for f in fresh.__dataclass_fields__.values()):
                if name != "git" or not keep_git:
                    setattr(self, name, getattr(fresh, name))

    @property
    def bot_comments(self) -> list[Json]:
        return [c for c in self.comments if c["user"]["login"] == self.bot_login]

    @property
    def status(self) -> Json | None:
        return self.statuses[-1] if self.statuses else None

    def take_calls(self) -> list[tuple[str, str]]:
        with self._lock:
            calls, self.calls = self.calls, []
        return calls

    def check(self) -> None:
        """Nothing reached the stand-in that GitHub would not have answered."""
        assert self.unknown == [], f"requests no route knows: {self.unknown}"
        assert self.refused == [], f"writes GitHub would refuse: {self.refused}"
        for other in self.others:
            other.check()
        assert self.off_contract == [], f"off GitHub's API description: {self.off_contract}"

    # --- routing --------------------------------------------------------------------------
    def _route_table(self) -> list[tuple[str, re.Pattern[str], str, Callable[..., Answer], Check]]:
        n = r"(\d+)"
        table: list[tuple[str, str, str, Callable[..., Answer], Check]] = [
            ("GET", r"/pulls", "pulls", self._open_pulls, _any),
            ("GET", rf"/pulls/{n}", "pulls/N", self._pull, _any),
            ("GET", rf"/pulls/{n}/commits", "pulls/N/commits", self._commits, _any),
            ("GET", rf"/pulls/{n}/files", "pulls/N/files", self._files, _any),
            ("GET", rf"/pulls/{n}/reviews", "pulls/N/reviews", self._reviews, _any),
            ("POST", rf"/pulls/{n}/requested_reviewers", "pulls/N/requested_reviewers",
             self._request_reviewers, REVIEWERS),
            ("GET", rf"/issues/{n}", "issues/N", self._issue, _any),
            ("GET", rf"/issues/{n}/comments", "issues/N/comments", self._comments, _any),
            ("POST", rf"/issues/{n}/comments", "issues/N/comments", self._create_comment,
             COMMENT),
            ("PATCH", rf"/issues/comments/{n}", "issues/comments/N", self._update_comment,
             COMMENT),
            ("DELETE", rf"/issues/comments/{n}", "issues/comments/N", self._delete_comment, _any),
            ("GET", r"/contents/(.+)", "contents/PATH", self._contents, _any),
            ("GET", r"/commits/([0-9a-f]{40})", "commits/SHA", self._commit, _any),
            ("GET", r"/commits/([0-9a-f]{40})/status", "commits/SHA/status", self._combined,
             _any),
            ("GET", r"/commits/([0-9a-f]{40})/check-runs", "commits/SHA/check-runs",
             self._list_checks, _any),
            ("POST", r"/check-runs", "check-runs", self._create_check, _any),
            ("PATCH", rf"/check-runs/{n}", "check-runs/N", self._update_check, _any),
            ("POST", r"/statuses/([0-9a-f]{40})", "statuses/SHA", self._set_status, STATUS),
            ("GET", r"/compare/([0-9a-f]{40})\.\.\.([0-9a-f]{40})", "compare/BASE...HEAD",
             self._compare, _any),
            ("GET", r"/git/ref/heads/(.+)", "git/ref/heads/BRANCH", self._get_ref, _any),
            ("PATCH", r"/git/refs/heads/(.+)", "git/refs/heads/BRANCH", self._move_ref, _any),
            ("POST", r"/git/refs", "git/refs", self._create_ref, _any),
            ("GET", r"/git/trees/([0-9a-f]{40})", "git/trees/SHA", self._get_tree, _any),
            ("POST", r"/git/trees", "git/trees", self._create_tree, _any),
            ("POST", r"/git/blobs", "git/blobs", self._create_blob, _any),
            ("POST", r"/git/commits", "git/commits", self._create_commit, _any),
            ("GET", r"/git/commits/([0-9a-f]{40})", "git/commits/SHA", self._git_commit, _any),
            ("GET", r"/collaborators/([^/]+)/permission", "collaborators/U/permission",
             self._permission, _any),
            ("GET", r"", "repos/R", self._repository, _any),
        ]  # fmt: skip
        repo = re.escape(f"/repos/{self.repo}")
        routes = [(m, re.compile(rf"{repo}{p}"), name, fn, ok) for m, p, name, fn, ok in table]
        team = re.compile(r"/orgs/([^/]+)/teams/([^/]+)/memberships/([^/]+)")
        token = re.compile(r"/app/installations/(\d+)/access_tokens")
        return [
            *routes,
            ("GET", team, "orgs/O/teams/T/memberships/U", self._membership, _any),
            ("GET", re.compile(r"/app"), "app", self._app, _any),
            ("POST", token, "app/installations/I/access_tokens", self._access_token, _any),
        ]

    def rate_headers(self) -> dict[str, str]:
        """The X-RateLimit-* headers of the next answer (it spends one request)."""
        with self._lock:
            self.rate_remaining = max(0, self.rate_remaining - 1)
            return {
                "X-RateLimit-Limit": str(self.rate_limit),
                "X-RateLimit-Remaining": str(self.rate_remaining),
                "X-RateLimit-Used": str(self.rate_limit - self.rate_remaining),
                "X-RateLimit-Reset": str(int(time.time()) + 3600),
                "X-RateLimit-Resource": "core",
            }

    def handle(self, method: str, target: str, body: object) -> Answer:
        """Answer one request: `target` is the path and query after the host."""
        parts = urlsplit(target)
        other = self._other_for(parts.path)
        if other is not None:
            return other.handle(method, target, body)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        data = _json_body(body) if body else {}
        with self._lock:
            for verb, pattern, name, answer, ok in self._routes:
                found = pattern.fullmatch(parts.path)
                if verb == method and found:
                    self.calls.append((method, name))
                    problem = ok(data) if method in WRITE_METHODS else None
                    if problem is None:
                        problem = self._off_contract(method, parts.path, query, body and data)
                    if problem is not None:
                        self.refused.append(f"{method} {name}: {problem}")
                        return 422, gp.error(f"Validation Failed: {problem}"), {}
                    status, answered, headers = answer(*found.groups(), query=query, data=data)
                    if self.contract is not None:
                        found_off = self.contract.response(method, parts.path, status, answered)
                        self.off_contract += found_off
                    return status, answered, headers
            self.calls.append((method, f"UNKNOWN {parts.path}"))
            self.unknown.append(f"{method} {target}")
        return 404, gp.error("Not Found"), {}

    def _other_for(self, path: str) -> GitHubSim | None:
        """The other pull request a request is about (None: this one, or the repository)."""
        if not self.others:
            return None
        prefix = f"/repos/{self.repo}/"
        found = re.match(r"(?:pulls|issues)/(\d+)(?:/|$)", path.removeprefix(prefix))
        if found:
            return next((o for o in self.others if o.number == int(found[1])), None)
        found = re.match(r"(?:statuses|commits)/([0-9a-f]{40})", path.removeprefix(prefix))
        if found:
            return next((o for o in self.others if found[1] in (o.head_sha, *o.commits)), None)
        found = re.match(r"issues/comments/(\d+)$", path.removeprefix(prefix))
        if found:
            return next((o for o in self.others if o._find_comment(found[1])), None)
        return None

    def _open_pulls(self, query: dict[str, str], **_: Any) -> Answer:
        if query.get("state", "open") != "open":  # the next pages' links do not repeat it
            return 418, gp.error("the bot lists open pull requests only"), {}
        pulls = [p.pull_json() for p in (self, *self.others) if p.state == "open"]
        return self._page(pulls, "pulls", query)

    def _off_contract(self, method: str, path: str, query: Json, body: Any) -> str | None:
        """What GitHub's description says is wrong with a request (kept in `off_contract`)."""
        if self.contract is None:
            return None
        problems = self.contract.request(method, path, query, body or None)
        self.off_contract += problems
        return "; ".join(problems) or None

    # --- in-process, through responses -----------------------------------------------------
    def install(self, rsps: responses.RequestsMock) -> None:
        """Answer requests to api.github.com made through `rsps`; a JSON matcher on
        every write (a refused body never reaches the state)."""
        wire = r"https://api\.github\.com(?::443)?"
        for method, pattern, _, _, ok in self._routes:
            match = () if method not in WRITE_METHODS or ok is _any else (_matcher(ok),)
            rsps.add_callback(
                method,
                re.compile(rf"{wire}{pattern.pattern}(\?.*)?$"),
                callback=self._respond,
                match=match,
            )

    def _respond(self, request: PreparedRequest) -> tuple[int, dict[str, str], str]:
        target = _HOST.sub("", request.url or "")
        status, data, headers = self.handle(request.method or "GET", target, request.body)
        headers = {"Content-Type": "application/json", **self.rate_headers(), **headers}
        return status, headers, _dump(data, self.url)

    @contextlib.contextmanager
    def mocked(self, *passthru: str, install: bool = True) -> Iterator[responses.RequestsMock]:
        """`responses` with this stand-in installed (and `passthru` prefixes, e.g. the
        real MLflow server's; `install=False`: the test installs it after registering
        faults to be served first). The stand-in is a server with many routes, so routes a
        test never reaches are not errors; what the test expects is asserted on
        `calls`/`writes`, and `check()` runs at the end."""
        with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
            for prefix in passthru:
                rsps.add_passthru(prefix)
            if install:
                self.install(rsps)
            yield rsps
        self.check()

    # --- on a loopback socket ----------------------------------------------------------------
    def serve(self) -> str:
        """Start answering on 127.0.0.1 (a thread); returns the API address."""
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads = True
        self._server = server
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # --- pages -------------------------------------------------------------------------------
    def _page(self, items: list[Any], path: str, query: dict[str, str]) -> Answer:
        per_page = max(1, min(100, int(query.get("per_page", "30"))))
        page = max(1, int(query.get("page", "1")))
        last = max(1, -(-len(items) // per_page))
        headers: dict[str, str] = {}
        if page < last:
            url = f"{self.url}/repos/{self.repo}/{path}"
            headers["Link"] = (
                f'<{url}?per_page={per_page}&page={page + 1}>; rel="next", '
                f'<{url}?per_page={per_page}&page={last}>; rel="last"'
            )
        return 200, items[(page - 1) * per_page : page * per_page], headers

    # --- the pull request --------------------------------------------------------------------
    def _repository(self, **_: Any) -> Answer:
        repo = gp.pull(repo=self.repo)["base"]["repo"]
        repo.update(has_discussions=False, network_count=0, subscribers_count=0)  # GET-only
        return 200, repo, {}

    def pull_json(self) -> Json:
        return gp.pull(
            self.number, repo=self.repo, title=self.title, body=self.body, author=self.author,
            head_sha=self.head_sha, base_sha=self.base_sha, head_repo=self.head_repo,
            reviewers=self.requested, teams=self.requested_teams, state=self.state,
            merged=self.merged, merge_commit_sha=self.merge_commit_sha,
        )  # fmt: skip

    def _pull(self, number: str, **_: Any) -> Answer:
        return 200, self.pull_json(), {}

    def _issue(self, number: str, **_: Any) -> Answer:
        pull = self.pull_json()
        keep = ("id", "node_id", "number", "title", "body", "user", "state", "created_at",
                "updated_at", "closed_at", "html_url", "labels", "locked", "milestone",
                "assignee", "assignees", "author_association")  # fmt: skip
        issue = {k: pull[k] for k in keep}
        issue["url"] = url = f"{gp.API}/repos/{self.repo}/issues/{number}"
        issue.update(
            repository_url=f"{gp.API}/repos/{self.repo}", comments_url=f"{url}/comments",
            events_url=f"{url}/events", labels_url=f"{url}/labels{{/name}}",
            comments=len(self.comments),
        )  # fmt: skip
        issue["pull_request"] = {
            "url": pull["url"], "html_url": pull["html_url"], "diff_url": pull["diff_url"],
            "patch_url": pull["patch_url"], "merged_at": pull["merged_at"],
        }  # fmt: skip
        return 200, issue, {}

    def _commits(self, number: str, query: dict[str, str], **_: Any) -> Answer:
        items = [gp.pr_commit(sha, self.repo) for sha in self.commits]
        return self._page(items, f"pulls/{number}/commits", query)

    def _files(self, number: str, query: dict[str, str], **_: Any) -> Answer:
        items = [gp.pr_file(name, self.repo) for name in self.files]
        return self._page(items, f"pulls/{number}/files", query)

    def _reviews(self, number: str, query: dict[str, str], **_: Any) -> Answer:
        return self._page(self.reviews, f"pulls/{number}/reviews", query)

    def _request_reviewers(self, number: str, data: Json, **_: Any) -> Answer:
        teams = data.get("team_reviewers", [])
        if teams and self.bot_login == ACTIONS_BOT_LOGIN:
            # the Actions GITHUB_TOKEN has no organisation permissions: GitHub cannot
            # resolve the team and refuses the whole request, users included
            self.writes.append(f"refused team request {','.join(teams)}")
            return 422, gp.team_request_refused(), {}
        names = [r for r in data.get("reviewers", []) if r not in self.requested]
        self.requested += names
        self.requested_teams += [t for t in teams if t not in self.requested_teams]
        self.writes.append(f"request {','.join([*data.get('reviewers', []), *teams])}")
        return 201, self.pull_json(), {}

    def _contents(self, path: str, query: dict[str, str], **_: Any) -> Answer:
        path = unquote(path)
        if path != ".github/model-review.yml":
            return 404, gp.error("Not Found"), {}
        if query.get("ref") != self.base_sha:
            return 418, gp.error("config must be read at the base sha"), {}
        if self.config is None:
            return 404, gp.error("Not Found"), {}
        return 200, gp.content_file(path, self.config, repo=self.repo, ref=self.base_sha), {}

    def _compare(self, base: str, head: str, **_: Any) -> Answer:
        commits = self.compares.get((base, head))
        if commits is None:
            return 404, gp.error("Not Found"), {}
        return 200, gp.comparison(base, head, commits, repo=self.repo), {}

    def _commit(self, sha: str, **_: Any) -> Answer:
        return 200, {**gp.pr_commit(sha, self.repo), "files": [], "stats": {}}, {}

    # --- comments ------------------------------------------------------------------------------
    def _comments(self, number: str, query: dict[str, str], **_: Any) -> Answer:
        return self._page(self.comments, f"issues/{number}/comments", query)

    def _create_comment(self, number: str, data: Json, **_: Any) -> Answer:
        comment = self.add_comment(data["body"], self.bot_login)
        self.writes.append("create_comment")
        return 201, comment, {}

    def _find_comment(self, comment_id: str) -> Json | None:
        return next((c for c in self.comments if c["id"] == int(comment_id)), None)

    def _update_comment(self, comment_id: str, data: Json, **_: Any) -> Answer:
        comment = self._find_comment(comment_id)
        if comment is None:
            return 404, gp.error("Not Found"), {}
        comment["body"] = data["body"]
        self.writes.append("update_comment")
        return 200, comment, {}

    def _delete_comment(self, comment_id: str, **_: Any) -> Answer:
        comment = self._find_comment(comment_id)
        if comment is None:
            return 404, gp.error("Not Found"), {}
        self.comments.remove(comment)
        self.writes.append("delete_comment")
        return 204, None, {}

    # --- people -------------------------------------------------------------------------------
    def _permission(self, login: str, **_: Any) -> Answer:
        login = unquote(login)
        return 200, gp.collaborator_permission(login, self.roles.get(login, self.role)), {}

    # --- the App (its JWT): who it is, and its installation's token -------------------------
    def _app(self, **_: Any) -> Answer:
        return 200, gp.app(self.check_app), {}

    def _access_token(self, installation: str, **_: Any) -> Answer:
        if int(installation) != self.installation_id:
            return 404, gp.error("Not Found"), {}
        return 201, gp.access_token(f"ghs_installation{installation}"), {}

    def _membership(self, org: str, slug: str, login: str, **_: Any) -> Answer:
        if self.teams_refused:
            return 403, gp.error("Resource not accessible by integration"), {}
        state = self.members.get(f"{unquote(org)}/{unquote(slug)}", {}).get(unquote(login))
        if state is None:
            return 404, gp.error("Not Found"), {}
        return 200, gp.team_membership(org, slug, login, state), {}

    # --- statuses ------------------------------------------------------------------------------
    def _combined(self, sha: str, **_: Any) -> Answer:
        latest: dict[str, Json] = {}
        for status in self.statuses:
            if status["sha"] == sha:
                latest[status["context"]] = status
        shown = [
            gp.commit_status(
                sha, s["state"], s.get("description", ""), s["context"],
                target_url=s.get("target_url"), repo=self.repo,
            )
            for s in list(latest.values())[::-1]
        ]  # fmt: skip
        return 200, gp.combined_status(sha, shown, repo=self.repo), {}

    # --- check runs (GitHub Apps) ----------------------------------------------------------
    def _list_checks(self, sha: str, query: dict[str, str], **_: Any) -> Answer:
        name = query.get("check_name")
        found = [c for c in self.check_runs if c["head_sha"] == sha and name in (None, c["name"])]
        found = found[::-1]  # newest first
        return 200, {"total_count": len(found), "check_runs": found}, {}

    def _create_check(self, data: Json, **_: Any) -> Answer:
        self.next_id += 1
        run = gp.check_run(self.next_id, data["head_sha"], data, app_slug=self.check_app)
        self.check_runs.append(run)
        self.writes.append(f"check created {data.get('status', 'queued')}")
        return 201, run, {}

    def _update_check(self, check_id: str, data: Json, **_: Any) -> Answer:
        run = next((c for c in self.check_runs if c["id"] == int(check_id)), None)
        if run is None:
            return 404, gp.error("Not Found"), {}
        fresh = gp.check_run(
            run["id"], run["head_sha"], {**_check_body(run), **data}, app_slug=self.check_app
        )
        run.clear()
        run.update(fresh)
        self.writes.append(f"check {data.get('conclusion') or data.get('status')}")
        return 200, run, {}

    def _set_status(self, sha: str, data: Json, **_: Any) -> Answer:
        status = gp.commit_status(
            sha, data["state"], data.get("description", ""), data.get("context", "default"),
            target_url=data.get("target_url"), repo=self.repo,
        )  # fmt: skip
        self.statuses.append({**data, "sha": sha})
        self.writes.append(f"status {data['state']}")
        return 201, status, {}


def _check_body(run: Json) -> Json:
    """What a check run says, as a write would set it."""
    keep = ("name", "status", "conclusion", "details_url", "output")
    return {k: run[k] for k in keep if run.get(k) is not None}


def _dump(data: Any, url: str) -> str:
    text = "" if data is None else json.dumps(data)
    return text if url == gp.API else text.replace(gp.API, url)  # links lead back here


def _handler_for(sim: GitHubSim) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, like api.github.com
        # headers and body go out in two writes: without TCP_NODELAY the body waits for
        # the client's delayed ACK (~40 ms a request), a stall GitHub does not have
        disable_nagle_algorithm = True

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, data, headers = sim.handle(self.command, self.path, body)
            payload = _dump(data, sim.url).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            for key, value in {**sim.rate_headers(), **headers}.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


def tally(calls: list[tuple[str, str]]) -> dict[str, int]:
    """{"GET pulls/N": 1, ...} in a stable order."""
    return dict(sorted(Counter(f"{m} {p}" for m, p in calls).items()))


def write_count(calls: list[tuple[str, str]]) -> int:
    return sum(1 for method, _ in calls if method in WRITE_METHODS)
