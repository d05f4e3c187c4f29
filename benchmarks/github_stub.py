"""A stateful stand-in for the GitHub REST endpoints the bot uses, on a real socket.

`http.server` in a thread on 127.0.0.1 (HTTP/1.1, keep-alive), so PyGithub talks to it
exactly as to api.github.com (GITHUB_API_URL points the bot at it). Answers have
GitHub's shapes (tests/github_payloads.py), lists are paged with GitHub's `Link`
headers, the assets branch is a real little git object store (blobs, trees, commits,
refs), and every request is recorded as "METHOD /route/template" for the counts.
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from benchmarks.github_git import GitData, GitStore
from tests import github_payloads as gp

Json = dict[str, Any]
Answer = tuple[int, Any, dict[str, str]]
BOT = "github-actions[bot]"
WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})


@dataclass
class PullState:
    """Everything the stand-in knows about the one pull request."""

    number: int = 7
    title: str = "Retrain churn model"
    body: str = ""
    author: str = "dave"
    head_sha: str = "a" * 40
    base_sha: str = "b" * 40
    commits: list[str] = field(default_factory=lambda: ["a" * 40])
    files: list[str] = field(default_factory=lambda: ["models/train.py"])
    config: str | None = None
    requested: list[str] = field(default_factory=list)
    comments: list[Json] = field(default_factory=list)
    reviews: list[Json] = field(default_factory=list)
    statuses: list[Json] = field(default_factory=list)


class GitHubStub(GitData):
    """Start with `start()`, point GITHUB_API_URL at `url`, stop with `stop()`."""

    def __init__(self, repo: str = "acme/models") -> None:
        self.repo = repo
        self.pr = PullState()
        self.git = GitStore()
        self.calls: list[tuple[str, str]] = []
        self.next_id = 10_000
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""
        self._routes = self._route_table()

    # --- life cycle ----------------------------------------------------------------
    def start(self) -> str:
        handler = _handler_for(self)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # --- state a benchmark sets up -------------------------------------------------
    def reset(self, pr: PullState, *, keep_git: bool = False) -> None:
        with self._lock:
            self.pr = pr
            if not keep_git:
                self.git = GitStore()
            self.calls = []

    def add_comments(self, count: int, login: str = "erin") -> None:
        """`count` earlier comments by people (built once: the builders are slow)."""
        template = gp.issue_comment(1, "", login, repo=self.repo, number=self.pr.number)
        for n in range(count):
            self.next_id += 1
            comment = json.loads(json.dumps(template))
            comment.update(id=self.next_id, body=f"Comment {n}: looks reasonable, one question.")
            self.pr.comments.append(comment)

    def take_calls(self) -> list[tuple[str, str]]:
        with self._lock:
            calls, self.calls = self.calls, []
        return calls

    def bot_comments(self) -> list[Json]:
        return [c for c in self.pr.comments if c["user"]["login"] == BOT]

    # --- routing -------------------------------------------------------------------
    def _route_table(self) -> list[tuple[str, re.Pattern[str], str, Callable[..., Answer]]]:
        repo = re.escape(f"/repos/{self.repo}")
        table = [
            ("GET", r"/pulls/(\d+)", "pulls/N", self._pull),
            ("GET", r"/pulls/(\d+)/commits", "pulls/N/commits", self._commits),
            ("GET", r"/pulls/(\d+)/files", "pulls/N/files", self._files),
            ("GET", r"/pulls/(\d+)/reviews", "pulls/N/reviews", self._reviews),
            ("POST", r"/pulls/(\d+)/requested_reviewers", "pulls/N/requested_reviewers",
             self._request_reviewers),
            ("GET", r"/issues/(\d+)", "issues/N", self._issue),
            ("GET", r"/issues/(\d+)/comments", "issues/N/comments", self._comments),
            ("POST", r"/issues/(\d+)/comments", "issues/N/comments", self._create_comment),
            ("PATCH", r"/issues/comments/(\d+)", "issues/comments/N", self._update_comment),
            ("DELETE", r"/issues/comments/(\d+)", "issues/comments/N", self._delete_comment),
            ("GET", r"/contents/(.+)", "contents/PATH", self._contents),
            ("GET", r"/commits/([0-9a-f]{40})", "commits/SHA", self._commit),
            ("GET", r"/commits/([0-9a-f]{40})/status", "commits/SHA/status", self._combined),
            ("POST", r"/statuses/([0-9a-f]{40})", "statuses/SHA", self._set_status),
            ("GET", r"/git/ref/heads/(.+)", "git/ref/heads/BRANCH", self._get_ref),
            ("PATCH", r"/git/refs/heads/(.+)", "git/refs/heads/BRANCH", self._move_ref),
            ("POST", r"/git/refs", "git/refs", self._create_ref),
            ("GET", r"/git/trees/([0-9a-f]{40})", "git/trees/SHA", self._get_tree),
            ("POST", r"/git/trees", "git/trees", self._create_tree),
            ("POST", r"/git/blobs", "git/blobs", self._create_blob),
            ("POST", r"/git/commits", "git/commits", self._create_commit),
            ("GET", r"/git/commits/([0-9a-f]{40})", "git/commits/SHA", self._git_commit),
            ("GET", r"", "repos/R", self._repository),
        ]  # fmt: skip
        return [(m, re.compile(rf"{repo}{p}"), name, fn) for m, p, name, fn in table]

    def handle(self, method: str, target: str, body: bytes) -> Answer:
        parts = urlsplit(target)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        data = json.loads(body) if body else {}
        with self._lock:
            for verb, pattern, name, answer in self._routes:
                found = pattern.fullmatch(parts.path)
                if verb == method and found:
                    self.calls.append((method, name))
                    return answer(*found.groups(), query=query, data=data)
            self.calls.append((method, f"UNKNOWN {parts.path}"))
        return 404, gp.error("Not Found"), {}

    # --- pages -----------------------------------------------------------------------
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

    # --- pull request ------------------------------------------------------------------
    def _repository(self, **_: Any) -> Answer:
        return 200, gp.pull(repo=self.repo)["base"]["repo"], {}

    def _pull_json(self) -> Json:
        pr = self.pr
        return gp.pull(
            pr.number, repo=self.repo, title=pr.title, body=pr.body, author=pr.author,
            head_sha=pr.head_sha, base_sha=pr.base_sha, reviewers=pr.requested,
        )  # fmt: skip

    def _issue(self, number: str, **_: Any) -> Answer:
        pull = self._pull_json()
        keep = ("id", "node_id", "number", "title", "body", "user", "state", "created_at",
                "updated_at", "html_url")  # fmt: skip
        issue = {k: pull[k] for k in keep}
        issue["url"] = f"{gp.API}/repos/{self.repo}/issues/{number}"
        issue["comments_url"] = f"{issue['url']}/comments"
        issue["pull_request"] = {"url": pull["url"], "html_url": pull["html_url"]}
        return 200, issue, {}

    def _pull(self, number: str, **_: Any) -> Answer:
        return 200, self._pull_json(), {}

    def _commits(self, number: str, query: dict[str, str], **_: Any) -> Answer:
        items = [gp.pr_commit(sha, self.repo) for sha in self.pr.commits]
        return self._page(items, f"pulls/{number}/commits", query)

    def _files(self, number: str, query: dict[str, str], **_: Any) -> Answer:
        items = [gp.pr_file(name, self.repo) for name in self.pr.files]
        return self._page(items, f"pulls/{number}/files", query)

    def _reviews(self, number: str, query: dict[str, str], **_: Any) -> Answer:
        return self._page(self.pr.reviews, f"pulls/{number}/reviews", query)

    def _request_reviewers(self, number: str, data: Json, **_: Any) -> Answer:
        self.pr.requested += [r for r in data.get("reviewers", []) if r not in self.pr.requested]
        return 201, self._pull_json(), {}

    def _contents(self, path: str, query: dict[str, str], **_: Any) -> Answer:
        path = unquote(path)
        if path != ".github/model-review.yml" or self.pr.config is None:
            return 404, gp.error("Not Found"), {}
        ref = query.get("ref", "main")
        return 200, gp.content_file(path, self.pr.config, repo=self.repo, ref=ref), {}

    # --- comments ------------------------------------------------------------------------
    def _comments(self, number: str, query: dict[str, str], **_: Any) -> Answer:
        return self._page(self.pr.comments, f"issues/{number}/comments", query)

    def _create_comment(self, number: str, data: Json, **_: Any) -> Answer:
        self.next_id += 1
        comment = gp.issue_comment(
            self.next_id, data["body"], BOT, repo=self.repo, number=self.pr.number
        )
        self.pr.comments.append(comment)
        return 201, comment, {}

    def _find_comment(self, comment_id: str) -> Json | None:
        return next((c for c in self.pr.comments if c["id"] == int(comment_id)), None)

    def _update_comment(self, comment_id: str, data: Json, **_: Any) -> Answer:
        comment = self._find_comment(comment_id)
        if comment is None:
            return 404, gp.error("Not Found"), {}
        comment["body"] = data["body"]
        return 200, comment, {}

    def _delete_comment(self, comment_id: str, **_: Any) -> Answer:
        comment = self._find_comment(comment_id)
        if comment is None:
            return 404, gp.error("Not Found"), {}
        self.pr.comments.remove(comment)
        return 204, None, {}

    def _commit(self, sha: str, **_: Any) -> Answer:
        return 200, {**gp.pr_commit(sha, self.repo), "files": [], "stats": {}}, {}

    # --- statuses ------------------------------------------------------------------------
    def _combined(self, sha: str, **_: Any) -> Answer:
        latest: dict[str, Json] = {}
        for status in self.pr.statuses:
            if status["sha"] == sha:
                latest[status["context"]] = status
        return 200, gp.combined_status(sha, list(latest.values())[::-1], repo=self.repo), {}

    def _set_status(self, sha: str, data: Json, **_: Any) -> Answer:
        status = gp.commit_status(
            sha, data["state"], data.get("description", ""), data.get("context", "default"),
            target_url=data.get("target_url"), repo=self.repo,
        )  # fmt: skip
        self.pr.statuses.append({**status, "sha": sha})
        return 201, status, {}


def _handler_for(stub: GitHubStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, like api.github.com
        # headers and body go out in two writes: without TCP_NODELAY the body waits for
        # the client's delayed ACK (~40 ms a request), a stall GitHub does not have
        disable_nagle_algorithm = True

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, data, headers = stub.handle(self.command, self.path, body)
            text = "" if data is None else json.dumps(data)
            payload = text.replace(gp.API, stub.url).encode()  # links lead back here
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("X-RateLimit-Remaining", "4999")
            for key, value in headers.items():
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


def writes(calls: list[tuple[str, str]]) -> int:
    return sum(1 for method, _ in calls if method in WRITE_METHODS)
