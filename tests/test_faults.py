"""Faults: MLflow and GitHub failing under the Action, end to end.

MLflow is the real test server, or a loopback stand-in that fails on purpose (a port
nobody listens on, a server that accepts and never answers, a server that answers
500). GitHub is the stateful stand-in of tests/github_sim.py; a fault is registered
before it, once per failing answer (`responses` serves the first match once, then the
next one), so a test says exactly how many answers fail. Retries are bounded, then
the bot reports in the comment or the action log; the gate is never `success` by
mistake and the PR never keeps two of the bot's comments.
"""

from __future__ import annotations

import copy
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import responses
import yaml
from matrix import row
from mlflow.tracking import MlflowClient
from mlflow_helpers import make_run, register, unique_name
from requests import PreparedRequest

from bot.app.action import run_action
from bot.app.wiring import GitHubFactory
from bot.domain import Comment, PullRequest, RunSnapshot
from bot.githost.client import GitHubRepo
from bot.githost.data import RetryPolicy
from bot.handlers.context import Deps
from bot.handlers.pull_request import review_pull_request
from bot.handlers.state import decode_state
from bot.tracking.data import CLIENT_ENV_DEFAULTS
from tests import github_payloads as gp
from tests.fakes import FakeGitHub, FakeRuns
from tests.github_contract import check_webhook
from tests.github_sim import WIRE, GitHubSim
from tests.mlflow_server import free_port

GITHUB_RETRIES = 2  # each GitHub request is tried 1 + 2 times in these tests
WAIT = 120.0  # a bound for threads on a busy machine; never a timing assertion
REPO = f"{WIRE}/repos/acme/models"
CONFIG = """
reviewers:
  primary: [alice, bob]
  secondary: [carol]
plots:
  host: none
"""


def bounded_github(
    repo: str, token: str, base_url: str, bot_login: str, server_url: str | None
) -> GitHubRepo:
    """No pacing and no backoff sleeps; the production retry count would be 3."""
    policy = RetryPolicy(total=GITHUB_RETRIES, backoff_factor=0, max_rate_limit_wait=5)
    return GitHubRepo(
        repo, token, base_url=base_url, bot_login=bot_login, server_url=server_url,
        throttle=False, retry=policy,
    )  # fmt: skip


@pytest.fixture
def runs(mlflow_client: MlflowClient) -> dict[str, str]:
    return three_runs(mlflow_client, "faults")


def three_runs(mlflow_client: MlflowClient, prefix: str) -> dict[str, str]:
    """Production (v1) and two candidates (v2, v3) of a new registered model, by role;
    "model" is its name."""
    experiment, model = unique_name(prefix), unique_name(f"{prefix}-model")
    prod = make_run(mlflow_client, experiment, {"depth": 4}, {"val_f1": 0.80}, run_name="prod")
    first = make_run(mlflow_client, experiment, {"depth": 6}, {"val_f1": 0.84}, run_name="one")
    second = make_run(mlflow_client, experiment, {"depth": 8}, {"val_f1": 0.85}, run_name="two")
    register(mlflow_client, model, prod, aliases=["production"])
    register(mlflow_client, model, first)
    register(mlflow_client, model, second)
    return {"production": prod, "first": first, "second": second, "model": model}


@dataclass
class Action:
    """Runs `model-review action` for PR 7 against the GitHub stand-in."""

    tmp: Path
    tracking_uri: str
    sim: GitHubSim
    rsps: responses.RequestsMock
    env: dict[str, str] = field(default_factory=dict)
    count: int = 0
    github: GitHubFactory | None = bounded_github  # None: the production adapter

    def __call__(self) -> tuple[int, dict[str, str]]:
        self.count += 1
        payload = copy.deepcopy(gp.webhook("pull_request", "opened"))
        payload["pull_request"] = gp.pull(self.sim.number, body=self.sim.body)
        check_webhook("pull_request", payload)
        event = self.tmp / f"event-{self.count}.json"
        event.write_text(json.dumps(payload))
        outputs = self.tmp / f"outputs-{self.count}"
        env = {
            "GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(event),
            "GITHUB_REPOSITORY": self.sim.repo, "GITHUB_TOKEN": "ghs_test",
            "GITHUB_STEP_SUMMARY": str(self.tmp / "summary.md"),
            "GITHUB_OUTPUT": str(outputs), "MLFLOW_TRACKING_URI": self.tracking_uri,
            **self.env,
        }  # fmt: skip
        code = run_action(env, github=self.github)
        lines = outputs.read_text().splitlines() if outputs.exists() else []
        return code, dict(line.split("=", 1) for line in lines)

    def fail(self, method: str, path: str, status: int, times: int = 1, **answer: Any) -> None:
        """The next `times` requests to `path` (under the repository) get `status`."""
        url = re.compile(rf"{re.escape(REPO)}/{path}(\?.*)?$")
        body = answer.pop("json", gp.error(f"fault {status}"))
        for _ in range(times):
            self.rsps.add(method, url, status=status, json=body, **answer)

    def calls(self, method: str, path: str) -> int:
        pattern = re.compile(rf"{re.escape(REPO)}/{path}(\?.*)?$")
        return sum(
            1
            for c in self.rsps.calls
            if c.request.method == method and pattern.match(c.request.url or "")
        )

    def start(self) -> None:
        """Install the stand-in; faults registered before this are served first."""
        self.sim.install(self.rsps)


@contextmanager
def acting(tmp_path: Path, tracking_uri: str, run_id: str) -> Iterator[Action]:
    """The Action for PR 7, which links `run_id`, against the GitHub stand-in."""
    sim = GitHubSim(body=f"Retrain: runs:/{run_id}/model", config=CONFIG)
    with sim.mocked("http://127.0.0.1", install=False) as rsps:  # MLflow, real or failing
        yield Action(tmp_path, tracking_uri, sim, rsps)


@pytest.fixture
def action(tmp_path: Path, tracking_env: str, runs: dict[str, str]) -> Iterator[Action]:
    with acting(tmp_path, tracking_env, runs["first"]) as running:
        yield running


def states(sim: GitHubSim) -> list[str]:
    return [s["state"] for s in sim.statuses]


# --- MLflow failing -----------------------------------------------------------------------


class BlackHole:
    """A loopback TCP server that accepts connections and never answers."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self) -> None:
        self.server.close()
        self._thread.join(5)
        for conn in self.accepted:
            conn.close()


@contextmanager
def failing_mlflow(status: int = 500) -> Iterator[tuple[str, list[str]]]:
    """A loopback HTTP server answering every request with an MLflow-shaped error;
    yields its address and the list of paths it was asked for."""
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            asked.append(self.path)
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = json.dumps({"error_code": "INTERNAL_ERROR", "message": "db locked"})
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body.encode())

        do_GET = do_POST = _answer

        def log_message(self, format: str, *args: Any) -> None:
            del format, args

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", asked
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _mlflow_env(
    action: Action,
    monkeypatch: pytest.MonkeyPatch,
    uri: str,
    retries: int | None,
    timeout: int = 30,
) -> None:
    """Point the action at `uri`; `retries=None`: the bot's own bounds (as in production).
    `timeout`: a request's, short only where nothing ever answers (a busy machine can
    take over a second to answer a loopback request)."""
    action.tracking_uri = uri
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", str(timeout))
    if retries is None:
        monkeypatch.delenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", raising=False)
        monkeypatch.delenv("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", raising=False)
    else:
        monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", str(retries))
        monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "0")


def _assert_failed_closed(action: Action, out: dict[str, str], words: str) -> None:
    (comment,) = action.sim.bot_comments
    assert "could not check this pull request" in comment["body"] and words in comment["body"]
    assert out["gate"] == "error" and states(action.sim) == ["error"]
    assert action.sim.status is not None and len(action.sim.status["description"]) <= 140


@row(
    "fault",
    "MLflow unreachable (nothing listens on the tracking URI's port)",
    'Comment: "could not check this pull request: MLflow at … cannot be reached"; status '
    "`error`; step output `gate=error`; the action exits 0 so the status is what blocks",
)
def test_mlflow_unreachable(action: Action, monkeypatch: pytest.MonkeyPatch) -> None:
    _mlflow_env(action, monkeypatch, f"http://127.0.0.1:{free_port()}", retries=1)
    action.start()
    code, out = action()
    assert code == 0
    _assert_failed_closed(action, out, "cannot be reached")


@row(
    "fault",
    "MLflow accepts connections and never answers (a loopback black hole)",
    "Each request gives up after `MLFLOW_HTTP_REQUEST_TIMEOUT` and is retried "
    "`MLFLOW_HTTP_REQUEST_MAX_RETRIES` times (2 connections with 1 retry), then the "
    "review fails closed as above",
)
@pytest.mark.timeout(120)
def test_mlflow_never_answers(action: Action, monkeypatch: pytest.MonkeyPatch) -> None:
    hole = BlackHole()
    try:
        _mlflow_env(action, monkeypatch, f"http://127.0.0.1:{hole.port}", retries=1, timeout=1)
        action.start()
        code, out = action()
        # the kernel took both connections a second or more ago; the accepting thread
        # may still be catching up on a busy machine
        deadline = time.monotonic() + WAIT
        while len(hole.accepted) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        connections = len(hole.accepted)
    finally:
        hole.close()
    assert code == 0 and connections == 2
    _assert_failed_closed(action, out, "cannot be reached")


@row(
    "fault",
    "MLflow answers 500 to everything (with the bot's default bounds, as in production)",
    "Retried twice (3 requests; `MLFLOW_HTTP_REQUEST_MAX_RETRIES` changes it), then the "
    'comment says "MLflow at … failed while listing experiments" with a hint; status '
    "`error`",
)
def test_mlflow_answers_500(action: Action, monkeypatch: pytest.MonkeyPatch) -> None:
    with failing_mlflow(500) as (uri, asked):
        _mlflow_env(action, monkeypatch, uri, retries=None)
        action.start()
        code, out = action()
    retries = int(CLIENT_ENV_DEFAULTS["MLFLOW_HTTP_REQUEST_MAX_RETRIES"])
    assert code == 0 and len(asked) == 1 + retries == 3
    _assert_failed_closed(action, out, "failed while listing experiments")
    assert "check the server's logs" in action.sim.bot_comments[0]["body"]  # the hint


@row(
    "fault",
    "One run of several is missing (never existed) and one was deleted in MLflow",
    "The live run is reviewed; the others are listed as unresolved with the reason; "
    "the gate waits for review (`pending`), never `success` without approvals",
)
def test_one_run_of_several_missing_or_deleted(
    action: Action, runs: dict[str, str], mlflow_client: MlflowClient
) -> None:
    deleted = make_run(mlflow_client, unique_name("faults"), {"depth": 9}, {"val_f1": 0.1})
    mlflow_client.delete_run(deleted)
    missing = "f" * 32
    action.sim.body = f"runs:/{runs['first']}/m runs:/{deleted}/m runs:/{missing}/m"
    action.start()
    code, out = action()
    (comment,) = action.sim.bot_comments
    assert code == 0 and out["gate"] == "pending"
    assert "2 references in this PR could not be resolved" in comment["body"]
    assert comment["body"].count("no run with this id") == 2
    assert "| `val_f1` |" in comment["body"]


@row(
    "fault",
    "The only run under review is deleted after both reviewers approved it",
    'The next event turns the gate from `success` to `failure` ("could not be '
    'resolved"): an approval never outlives the model it approved',
)
def test_deleting_the_approved_run_turns_the_gate_red(
    action: Action, runs: dict[str, str], mlflow_client: MlflowClient
) -> None:
    action.start()
    action()
    time.sleep(1.1)  # GitHub's review times have whole seconds
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    action.sim.add_review("bob", "APPROVED", now)
    action.sim.add_review("carol", "APPROVED", now)
    assert action()[1]["gate"] == "success"
    mlflow_client.delete_run(runs["first"])
    code, out = action()
    assert code == 0 and out["gate"] == "failure"
    assert states(action.sim)[-1] == "failure"
    assert len(action.sim.bot_comments) == 1


# --- GitHub failing -----------------------------------------------------------------------


@row(
    "fault",
    "GitHub answers 502 once when reading the PR and 503 once when creating the comment",
    "Each request is retried (bounded: 1 + 2 tries here, 1 + 3 in production); the "
    "review is posted once",
)
def test_github_5xx_once_is_retried(action: Action) -> None:
    action.fail("GET", "pulls/7", 502)
    action.fail("POST", "issues/7/comments", 503)
    action.start()
    code, out = action()
    assert code == 0 and out["gate"] == "pending"
    assert len(action.sim.bot_comments) == 1
    assert action.calls("GET", "pulls/7") == 2 and action.calls("POST", "issues/7/comments") == 2


@row(
    "fault",
    "GitHub answers 503 to every attempt to create the comment (the production retry policy)",
    "Bounded: 4 tries (1 + 3 retries) for the review, 4 for the error notice; then "
    'status `error`, `::error::` in the action log ("GitHub failed while commenting on '
    '#7 … githubstatus.com"), exit code 1, no comment',
)
def test_github_5xx_that_persists(
    action: Action, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    action.github = None  # the production retry policy, unpaced
    action.env["MODEL_REVIEW_GITHUB_PACING"] = "off"
    tries = 4  # `responses` does not sleep, so the production backoff costs nothing here
    action.fail("POST", "issues/7/comments", 503, times=2 * tries)
    action.start()
    code, _ = action()
    printed = capsys.readouterr().out
    assert code == 1 and "::error::model-review: GitHub failed while commenting" in printed
    assert "githubstatus.com" in printed
    assert action.calls("POST", "issues/7/comments") == 2 * tries
    assert action.sim.bot_comments == [] and states(action.sim) == ["error"]


def _rate_limited(reset_in: float) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": "1000",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Resource": "core",
        "X-RateLimit-Reset": str(int(time.time() + reset_in)),
    }


@row(
    "fault",
    "Primary rate limit exhausted (403, `X-RateLimit-Remaining: 0`, reset in an hour) "
    "while reading the PR",
    "No retry storm (1 request); `::error::` says the limit resets at HH:MM UTC and to "
    "re-run then; exit code 1; nothing written",
)
def test_primary_rate_limit_far_away(action: Action, capsys: pytest.CaptureFixture[str]) -> None:
    limit = gp.error("API rate limit exceeded for installation ID 4242.")
    action.fail("GET", "pulls/7", 403, headers=_rate_limited(3600), json=limit)
    action.start()
    code, _ = action()
    printed = capsys.readouterr().out
    assert code == 1 and "rate limit" in printed and "resets at" in printed
    assert action.calls("GET", "pulls/7") == 1
    assert action.sim.writes == []


@row(
    "fault",
    "Primary rate limit that resets within a second, then secondary limits: 403 with "
    "`Retry-After: 1` on the comment, 429 with `Retry-After: 1` on the status",
    "Each is waited out and retried; one comment, one status",
)
def test_rate_limits_that_reset_soon_are_waited_out(action: Action) -> None:
    limit = gp.error("API rate limit exceeded for installation ID 4242.")
    action.fail("GET", "pulls/7", 403, headers=_rate_limited(1), json=limit)
    secondary = gp.error("You have exceeded a secondary rate limit. Please wait.")
    action.fail("POST", "issues/7/comments", 403, headers={"Retry-After": "1"}, json=secondary)
    action.fail("POST", r"statuses/[0-9a-f]{40}", 429, headers={"Retry-After": "1"}, json=secondary)
    action.start()
    code, out = action()
    assert code == 0 and out["gate"] == "pending"
    assert len(action.sim.bot_comments) == 1 and states(action.sim) == ["pending"]


@row(
    "fault",
    "Secondary rate limit on the first write (403 or 429 with `Retry-After: 600`, "
    "beyond the bot's 60 s cap)",
    "Not mistaken for a read-only token: `::error::` says GitHub's rate limit stopped "
    "the write and when to re-run; exit code 1; the gate is not left green",
)
@pytest.mark.parametrize("status", [403, 429])
def test_secondary_rate_limit_too_long_is_reported(
    action: Action, capsys: pytest.CaptureFixture[str], status: int
) -> None:
    secondary = gp.error("You have exceeded a secondary rate limit. Please wait.")
    headers = {"Retry-After": "600"}
    action.fail("POST", "issues/7/comments", status, times=2, headers=headers, json=secondary)
    action.start()
    code, _ = action()
    printed = capsys.readouterr().out
    assert code == 1 and "rate limit" in printed and "in about 10 min" in printed
    assert "read-only" not in printed
    assert "success" not in states(action.sim)


@row(
    "fault",
    "The PR is gone (404 when reading it)",
    '`::error::` "GitHub found nothing while reading pull request #7" with a hint; '
    "exit code 1; nothing written",
)
def test_pull_request_gone(action: Action, capsys: pytest.CaptureFixture[str]) -> None:
    action.fail("GET", "pulls/7", 404, json=gp.error("Not Found"))
    action.start()
    code, _ = action()
    printed = capsys.readouterr().out
    assert code == 1 and "GitHub found nothing while reading pull request #7" in printed
    assert action.sim.writes == []


@row(
    "fault",
    '409 from the assets branch when committing the plots (e.g. "Git Repository is empty.")',
    'The review is posted without plots and says why ("plots could not be made: could '
    'not commit the plots to branch …", with `plots.host: none` as a way out); the gate '
    "is unaffected (`pending`)",
)
def test_409_on_the_assets_branch(action: Action) -> None:
    action.sim.config = CONFIG.replace("host: none", "host: branch")
    empty = gp.error("Git Repository is empty.")
    action.fail("GET", "git/ref/heads/model-review-assets", 409, json=empty)
    action.start()
    code, out = action()
    (comment,) = action.sim.bot_comments
    assert code == 0 and out["gate"] == "pending"
    assert (
        "plots could not be made" in comment["body"]
        and "Git Repository is empty" in (comment["body"])
    )
    assert "`plots.host: none`" in comment["body"]


@row(
    "fault",
    'GitHub refuses the comment with 422 "body is too long" (as if its limit were '
    "lower than the 65,536 characters the renderer keeps under)",
    "Not retried; the short error notice replaces it, quoting GitHub's words; status "
    "`error`; exactly one comment",
)
def test_422_comment_too_long(action: Action) -> None:
    too_long = gp.error(
        "Validation Failed",
        errors=[{"resource": "IssueComment", "code": "custom", "field": "body",
                 "message": "body is too long (maximum is 65536 characters)"}],
    )  # fmt: skip

    def only_short(request: PreparedRequest) -> tuple[bool, str]:
        body = json.loads(request.body or b"{}")["body"]
        return len(body) > 2_500, "short bodies pass"

    action.rsps.add(
        "POST", re.compile(rf"{re.escape(REPO)}/issues/7/comments$"), status=422,
        json=too_long, match=[only_short],
    )  # fmt: skip
    action.start()
    code, out = action()
    (comment,) = action.sim.bot_comments
    assert code == 0 and out["gate"] == "error" and states(action.sim) == ["error"]
    assert "body is too long" in comment["body"]
    assert action.calls("POST", "issues/7/comments") == 2  # the review, then the notice


# --- duplicates and races -------------------------------------------------------------------


def _deletes(action: Action) -> Callable[[PreparedRequest], tuple[int, dict[str, str], str]]:
    def delete(request: PreparedRequest) -> tuple[int, dict[str, str], str]:
        comment_id = int((request.url or "").rstrip("/").split("/")[-1])
        before = len(action.sim.comments)
        action.sim.comments = [c for c in action.sim.comments if c["id"] != comment_id]
        if len(action.sim.comments) == before:
            return 404, {}, json.dumps(gp.error("Not Found"))
        action.sim.writes.append(f"delete {comment_id}")
        return 204, {}, ""

    return delete


@row(
    "fault",
    "GitHub stores the comment but the answer is lost (502), so the retried POST "
    "creates a second one",
    "The next event finds both, keeps the oldest and deletes the other: one comment",
)
def test_a_lost_answer_duplicate_is_removed_on_the_next_event(action: Action) -> None:
    def stored_then_502(request: PreparedRequest) -> tuple[int, dict[str, str], str]:
        action.sim.add_comment(json.loads(request.body or b"{}")["body"], "github-actions[bot]")
        return 502, {}, json.dumps(gp.error("Server Error"))

    url = re.compile(rf"{re.escape(REPO)}/issues/7/comments$")
    action.rsps.add_callback("POST", url, callback=stored_then_502)
    action.rsps.add_callback("DELETE", re.compile(rf"{re.escape(REPO)}/issues/comments/\d+$"),
                             callback=_deletes(action))  # fmt: skip
    action.start()
    action()
    assert len(action.sim.bot_comments) == 2
    code, out = action()
    assert code == 0 and out["gate"] == "pending"
    assert len(action.sim.bot_comments) == 1
    assert action.sim.bot_comments[0]["id"] == min(c["id"] for c in action.sim.comments)


@row(
    "race",
    "Two runs of the action for one PR at the same time (both list the comments "
    "before either writes, so both create one)",
    "Documented defence: the README's workflow runs one job per PR at a time "
    "(`concurrency:` group by PR number). Should two still race, the next event keeps "
    "the oldest comment and deletes the other: one comment, the bot's own state",
)
def test_two_concurrent_runs_converge_to_one_comment() -> None:
    github, deps = _fake_world()
    barrier = threading.Barrier(2, timeout=WAIT)
    listed = github.comments

    def comments_together(number: int) -> list[Comment]:
        found = listed(number)
        barrier.wait()  # neither run writes before both have read
        return found

    github.comments = comments_together  # type: ignore[method-assign]
    failures: list[BaseException] = []

    def run() -> None:
        try:
            review_pull_request(7, deps)
        except BaseException as exc:  # reported by the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert failures == []
    assert len(github.comment_list) == 2  # the race happened
    oldest = min(c.comment_id for c in github.comment_list)
    github.comments = listed  # type: ignore[method-assign]

    review_pull_request(7, deps)
    assert [c.comment_id for c in github.comment_list] == [oldest]
    assert decode_state(github.comment_list[0].body) is not None
    assert github.writes.count("delete_comment") == 1


def test_the_readme_workflow_serialises_runs_per_pull_request() -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    (workflow,) = [
        yaml.safe_load(block)
        for block in re.findall(r"```yaml\n(.*?)```", readme, flags=re.S)
        if "jobs:" in block
    ]
    group = workflow["concurrency"]["group"]
    assert "github.event.pull_request.number" in group and "github.event.issue.number" in group
    assert workflow["concurrency"]["cancel-in-progress"] is False  # a queued event still runs


@row(
    "race",
    "Two runs find the same two comments; the other run deletes the newer one between "
    "this run's listing and its delete (GitHub answers 404)",
    "The 404 means the desired state is reached: no error, the gate is untouched "
    "(`pending`), one comment left",
)
def test_a_duplicate_already_deleted_by_another_run_is_fine(action: Action) -> None:
    action.start()
    action()  # the review, comment 9001
    (first,) = action.sim.bot_comments
    twin = {**first, "id": first["id"] + 1}  # what the concurrent run posted
    action.sim.comments.append(twin)
    url = re.compile(rf"{re.escape(REPO)}/issues/comments/{twin['id']}$")
    action.rsps.add("DELETE", url, status=404, json=gp.error("Not Found"))
    code, out = action()
    assert code == 0 and out["gate"] == "pending"
    assert states(action.sim)[-1] == "pending" and "error" not in states(action.sim)
    assert action.calls("DELETE", rf"issues/comments/{twin['id']}") == 1


def _fake_world() -> tuple[FakeGitHub, Deps]:
    runs = FakeRuns()
    runs.add_run(RunSnapshot("c" * 32, "1", "cand", metrics={"val_auc": 0.93}))
    github = FakeGitHub()
    github.pulls[7] = PullRequest(
        number=7,
        title="Retrain",
        body=f"runs:/{'c' * 32}/m",
        author="dave",
        head_sha="1" * 40,
        base_sha="2" * 40,
        head_ref="retrain",
        base_ref="main",
        repo="acme/fraud",
    )
    github.files[(".github/model-review.yml", "2" * 40)] = CONFIG
    deps = Deps(
        github=github,
        runs=lambda config: runs,
        images=lambda config, pr, runs_port, previous: None,
        now=lambda: "2026-11-27T10:00:00Z",
    )
    return github, deps
