"""Two approved pull requests of one App installation, each comparing a candidate with
the production model of its own registered model, for the tests and the benchmark of
"when production moves" (bot.handlers.following, bot.app.queue.registry).

GitHub is the typed FakeGitHub (one per repository: its comments are not kept per
PR); MLflow is whatever RunsPort the caller passes (FakeRuns, or the real server's
adapter). The first review and the approvals are dated 2020, so any review the test
causes later, on the real clock, makes them stale.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from bot.config.schema import Config
from bot.domain import GateState, PullRequest, Review, ReviewState
from bot.handlers.context import Deps
from bot.handlers.pull_request import review_pull_request
from bot.handlers.state import decode_state
from bot.ports import RunsPort
from tests.fakes import FakeGitHub, FakeInstallations

CONFIG = "reviewers:\n  primary: [alice]\n  secondary: [carol]\n"
REVIEWED_AT = "2020-01-01T00:00:00Z"
APPROVED_AT = "2020-01-01T01:00:00Z"
INSTALLATION = 77
BOT = "model-review[bot]"
WAIT = 180.0  # seconds: a bound for background work on a loaded machine, never a timing


@dataclass(frozen=True)
class Pull:
    repo: str
    number: int
    head: str
    base: str


FRAUD = Pull("acme/fraud", 7, "1" * 40, "2" * 40)
CHURN = Pull("acme/churn", 8, "3" * 40, "4" * 40)


def installation(pulls: dict[Pull, str]) -> FakeInstallations:
    """One installation, one repository per pull, each pull's body as given."""
    apps = FakeInstallations()
    for pull, body in pulls.items():
        github = FakeGitHub(login=BOT)
        github.pulls[pull.number] = PullRequest(
            number=pull.number,
            title="Retrain",
            body=body,
            author="dave",
            head_sha=pull.head,
            base_sha=pull.base,
            head_ref="retrain",
            base_ref="main",
            repo=pull.repo,
            commits=(pull.head,),
        )
        github.files[(".github/model-review.yml", pull.base)] = CONFIG
        apps.repos[pull.repo] = github
        apps.installed[pull.repo] = INSTALLATION
    return apps


def approved(github: FakeGitHub, pull: Pull, runs: Callable[[Config], RunsPort]) -> None:
    """Review `pull` as of 2020 and approve it by both assigned reviewers: success."""
    deps = Deps(github=github, runs=runs, images=lambda *_: None, now=lambda: REVIEWED_AT)
    review_pull_request(pull.number, deps)
    state = decode_state(github.comment_list[0].body)
    assert state is not None and state.primary and state.secondary
    for login in (state.primary, state.secondary):
        review = Review(login, ReviewState.APPROVED, APPROVED_AT, commit_id=pull.head)
        github.add_review(pull.number, review)
    review_pull_request(pull.number, deps)
    assert github.status_of(pull.head) is GateState.SUCCESS


def alias_event(name: str, version: str | None, action: str = "created") -> dict[str, object]:
    data: dict[str, object] = {"name": name, "alias": "production"}
    if version is not None:
        data["version"] = version
    return {
        "entity": "model_version_alias",
        "action": action,
        "timestamp": "2026-12-06T14:02:11.000000+00:00",
        "data": data,
    }


@contextlib.contextmanager
def serving(app: Any) -> Iterator[str]:
    """The Flask `app` on a free loopback port, in a thread; yields its address."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(30)


def wait_for(check: Callable[[], bool], what: str, deadline: float = WAIT) -> None:
    """Poll `check` until it holds; fail after `deadline` seconds (generous: MLflow
    delivers in the background and the machine may be busy)."""
    end = time.monotonic() + deadline
    while not check():
        if time.monotonic() > end:
            raise AssertionError(f"gave up after {deadline:.0f} s waiting for {what}")
        time.sleep(0.1)
