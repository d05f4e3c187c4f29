"""A stateful stand-in for the GitHub REST endpoints the bot uses, on `responses`.

It answers with GitHub's shapes (tests/github_payloads.py, built from GitHub's own
webhook examples), keeps comments, reviews and statuses between events, checks the
JSON body of every write with a matcher, and records what was written. Used by the
end-to-end tests of the Action and the webhook app.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import responses
from requests import PreparedRequest

from tests import github_payloads as gp

WIRE = "https://api.github.com:443"  # PyGithub names the port in the URLs it sends
MARKER = "<!-- model-review -->"
STATES = {"pending", "success", "failure", "error"}

Answer = tuple[int, dict[str, str], str]


def _json(request: PreparedRequest) -> dict[str, Any]:
    body = request.body or b"{}"
    data: dict[str, Any] = json.loads(body.decode() if isinstance(body, bytes) else body)
    return data


def json_shape(
    keys: set[str], check: Callable[[dict[str, Any]], str | None], optional: set[str] = frozenset()
) -> Any:
    """A responses matcher: the JSON body has `keys` (and maybe `optional` ones) and
    passes `check`."""

    def match(request: PreparedRequest) -> tuple[bool, str]:
        data = _json(request)
        if not keys <= set(data) <= keys | optional:
            return False, f"body keys {sorted(data)} != {sorted(keys)} (+{sorted(optional)})"
        problem = check(data)
        return (problem is None), (problem or "")

    return match


def _comment_ok(data: dict[str, Any]) -> str | None:
    body = data["body"]
    if not isinstance(body, str) or not body.startswith(MARKER):
        return "a bot comment must start with the marker"
    return None if len(body) <= 65_536 else "comment longer than GitHub allows"


def _status_ok(data: dict[str, Any]) -> str | None:
    if data["state"] not in STATES:
        return f"bad state {data['state']}"
    if len(data["description"]) > 140:
        return "description over 140 characters"
    return None if data["context"] == "model-review" else f"context {data['context']}"


def _reviewers_ok(data: dict[str, Any]) -> str | None:
    names = [*data["reviewers"], *data.get("team_reviewers", [])]
    if not names or not all(isinstance(n, str) and n and "@" not in n for n in names):
        return f"bad reviewer list {names}"
    return None


@dataclass
class GitHubSim:
    repo: str = "acme/models"
    number: int = 7
    author: str = "dave"
    body: str = ""
    head_sha: str = "a" * 40
    base_sha: str = "b" * 40
    head_repo: str | None = None
    commits: list[str] = field(default_factory=lambda: ["a" * 40])
    files: list[str] = field(default_factory=lambda: ["models/train.py"])
    config: str | None = None
    requested: list[str] = field(default_factory=list)
    comments: list[dict[str, Any]] = field(default_factory=list)
    reviews: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[dict[str, Any]] = field(default_factory=list)
    writes: list[str] = field(default_factory=list)
    next_id: int = 9000
    state: str = "open"  # "closed" once a test closes the PR
    merged: bool = False
    merge_commit_sha: str | None = None

    # --- state changes a test makes between events ---
    def add_review(self, login: str, state: str, at: str) -> dict[str, Any]:
        self.next_id += 1
        review = gp.review(
            self.next_id,
            login,
            state,
            commit_id=self.head_sha,
            submitted_at=at,
            repo=self.repo,
            number=self.number,
        )
        self.reviews.append(review)
        self.requested = [r for r in self.requested if r != login]
        return review

    def add_comment(self, body: str, login: str) -> None:
        self.next_id += 1
        self.comments.append(
            gp.issue_comment(self.next_id, body, login, repo=self.repo, number=self.number)
        )

    @property
    def bot_comments(self) -> list[dict[str, Any]]:
        return [c for c in self.comments if c["user"]["login"] == "github-actions[bot]"]

    @property
    def status(self) -> dict[str, Any] | None:
        return self.statuses[-1] if self.statuses else None

    def unused(self, rsps: responses.RequestsMock) -> list[str]:
        """The endpoints registered by `install` that no request reached."""
        return [f"{r.method} {r.url}" for r in rsps.registered() if not r.call_count]

    # --- wiring ---
    def install(self, rsps: responses.RequestsMock) -> None:
        base = re.escape(f"{WIRE}/repos/{self.repo}")
        n = self.number
        get = responses.GET

        def route(
            method: str,
            path: str,
            answer: Callable[[PreparedRequest], Answer],
            match: tuple[Any, ...] = (),
        ) -> None:
            rsps.add_callback(
                method, re.compile(rf"{base}/{path}(\?.*)?$"), callback=answer, match=match
            )

        route(get, rf"pulls/{n}", lambda r: self._ok(self._pull()))
        route(
            get,
            rf"pulls/{n}/commits",
            lambda r: self._ok([gp.pr_commit(sha, self.repo) for sha in self.commits]),
        )
        route(
            get,
            rf"pulls/{n}/files",
            lambda r: self._ok([gp.pr_file(name, self.repo) for name in self.files]),
        )
        route(get, rf"issues/{n}/comments", lambda r: self._ok(self.comments))
        route(get, rf"pulls/{n}/reviews", lambda r: self._ok(self.reviews))
        route(get, r"contents/\.github/model-review\.yml", self._config)
        route(get, r"commits/[0-9a-f]{40}/status", self._combined)
        route(
            responses.POST,
            rf"issues/{n}/comments",
            self._create,
            (json_shape({"body"}, _comment_ok),),
        )
        route(
            responses.PATCH,
            r"issues/comments/\d+",
            self._update,
            (json_shape({"body"}, _comment_ok),),
        )
        route(
            responses.POST,
            rf"pulls/{n}/requested_reviewers",
            self._request,
            (json_shape({"reviewers"}, _reviewers_ok, optional={"team_reviewers"}),),
        )
        route(
            responses.POST,
            r"statuses/[0-9a-f]{40}",
            self._set_status,
            (json_shape({"state", "description", "context", "target_url"}, _status_ok),),
        )

    # --- answers ---
    @staticmethod
    def _ok(data: Any, status: int = 200) -> Answer:
        return status, {"Content-Type": "application/json"}, json.dumps(data)

    def _pull(self) -> dict[str, Any]:
        return gp.pull(
            self.number,
            repo=self.repo,
            body=self.body,
            author=self.author,
            head_sha=self.head_sha,
            base_sha=self.base_sha,
            head_repo=self.head_repo,
            reviewers=self.requested,
            state=self.state,
            merged=self.merged,
            merge_commit_sha=self.merge_commit_sha,
        )

    def _config(self, request: PreparedRequest) -> Answer:
        if f"ref={self.base_sha}" not in (request.url or ""):
            return self._ok(gp.error("config must be read at the base sha"), 418)
        if self.config is None:
            return self._ok(gp.error("Not Found"), 404)
        return self._ok(
            gp.content_file(
                ".github/model-review.yml", self.config, repo=self.repo, ref=self.base_sha
            )
        )

    def _combined(self, request: PreparedRequest) -> Answer:
        sha = (request.url or "").split("/commits/")[1][:40]
        latest: dict[str, dict[str, Any]] = {}
        for status in self.statuses:
            if status["sha"] == sha:
                latest[status["context"]] = status
        return self._ok(gp.combined_status(sha, list(latest.values()), repo=self.repo))

    def _create(self, request: PreparedRequest) -> Answer:
        self.add_comment(_json(request)["body"], "github-actions[bot]")
        self.writes.append("create_comment")
        return self._ok(self.comments[-1], 201)

    def _update(self, request: PreparedRequest) -> Answer:
        comment_id = int((request.url or "").rstrip("/").split("/")[-1])
        for comment in self.comments:
            if comment["id"] == comment_id:
                comment["body"] = _json(request)["body"]
                self.writes.append("update_comment")
                return self._ok(comment)
        return self._ok(gp.error("Not Found"), 404)

    def _request(self, request: PreparedRequest) -> Answer:
        data = _json(request)
        self.requested += data["reviewers"]
        self.writes.append(f"request {','.join(data['reviewers'])}")
        return self._ok(self._pull(), 201)

    def _set_status(self, request: PreparedRequest) -> Answer:
        data = _json(request)
        sha = (request.url or "").rstrip("/").split("/")[-1]
        data["sha"] = sha
        self.statuses.append(data)
        self.writes.append(f"status {data['state']}")
        return self._ok(
            gp.commit_status(
                sha, data["state"], data["description"], data["context"], repo=self.repo
            ),
            201,
        )
