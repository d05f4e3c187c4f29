"""bot.app.webhook: signed GitHub deliveries (built from GitHub's example payloads in
tests/fixtures/github/) through Flask's test client, with the typed FakeQueue; the
settings; and one end-to-end delivery through the in-process queue, App auth and
GitHub mocked with `responses`, and a real MLflow server."""

from __future__ import annotations

import copy
import dataclasses
import io
import json
import logging
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient
from matrix import row
from werkzeug.test import TestResponse

from bot.app.logcontext import DeliveryFilter
from bot.app.queue.jobs import InProcessQueue, QueueStatus
from bot.app.webhook import (
    AppDeps,
    MemoryDeliveries,
    Settings,
    create_app,
    json_depth,
    serve,
    signature_for,
    verify_signature,
)
from bot.errors import UsageError
from bot.handlers import router
from bot.handlers.router import HANDLED_EVENTS
from tests import github_payloads as gp
from tests.app_env import ENV
from tests.fakes import FakeQueue

SECRET = "webhook-test-secret"
LIMIT = 64 * 1024
SETTINGS = Settings(
    app_id=31337,
    private_key="unused here",
    webhook_secret=SECRET,
    tracking_uri="http://mlflow.test",
    max_body=LIMIT,
)


@pytest.fixture
def queue() -> FakeQueue:
    return FakeQueue()


@pytest.fixture
def deliveries() -> MemoryDeliveries:
    return MemoryDeliveries()


@pytest.fixture
def client(queue: FakeQueue, deliveries: MemoryDeliveries) -> FlaskClient:
    return create_app(SETTINGS, AppDeps(queue, deliveries)).test_client()


def deliver(
    client: FlaskClient,
    event: str,
    payload: dict[str, Any] | bytes,
    delivery: str = "72d3162e-cc78-11e3-81ab-4c9367dc0958",
    *,
    signature: str | None = "",
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
) -> TestResponse:
    """POST a delivery as GitHub does; `signature=""` signs it with SECRET,
    None sends no signature, any other text is sent as is."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    sent = {"X-GitHub-Event": event, "X-GitHub-Delivery": delivery, **(headers or {})}
    if signature is not None:
        sent["X-Hub-Signature-256"] = signature or signature_for(SECRET, body)
    return client.post("/webhook", data=body, headers=sent, content_type=content_type)


def pr_comment(body: str = "/model-review refresh") -> dict[str, Any]:
    """GitHub's issue_comment example, made a comment on a pull request."""
    payload = copy.deepcopy(gp.webhook("issue_comment", "created"))
    number = payload["issue"]["number"]
    payload["issue"]["pull_request"] = {
        "url": f"https://api.github.com/repos/Codertocat/Hello-World/pulls/{number}",
        "html_url": f"https://github.com/Codertocat/Hello-World/pull/{number}",
    }
    payload["comment"]["body"] = body
    payload["installation"] = {"id": 1}
    return payload


# --- the signature ---------------------------------------------------------------------


def test_signature_matches_githubs_published_test_vector() -> None:
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert signature_for("It's a Secret to Everybody", b"Hello, World!") == expected
    assert verify_signature("It's a Secret to Everybody", b"Hello, World!", expected)
    assert not verify_signature("It's a Secret to Everybody", b"Hello, World?", expected)
    assert not verify_signature("another secret", b"Hello, World!", expected)
    assert not verify_signature("It's a Secret to Everybody", b"Hello, World!", None)
    assert not verify_signature("It's a Secret to Everybody", b"Hello, World!", expected[7:])


def test_delivery_ids_are_forgotten_after_their_retention_or_when_too_many() -> None:
    now = [0.0]
    seen = MemoryDeliveries(ttl=60.0, max_entries=2, clock=lambda: now[0])
    assert seen.claim("a", "a") and not seen.claim("a", "a")
    now[0] = 60.0
    assert seen.claim("a", "a")  # retention over: a redelivery days later is processed
    assert seen.claim("b", "b") and seen.claim("c", "c")  # "a" makes room for "c"
    assert seen.claim("a", "a") and not seen.claim("c", "c")


# --- deliveries the bot acts on ----------------------------------------------------------


def test_ping_is_answered_with_githubs_zen(client: FlaskClient, queue: FakeQueue) -> None:
    payload = gp.webhook("ping", "payload")
    answer = deliver(client, "ping", payload)
    assert answer.status_code == 200
    assert answer.json == {"ok": True, "zen": payload["zen"]}
    assert queue.jobs == []


@pytest.mark.parametrize(
    ("event", "payload"),
    [
        ("pull_request", gp.webhook("pull_request", "opened")),
        ("pull_request", gp.webhook("pull_request", "synchronize")),
        ("pull_request_review", gp.webhook("pull_request_review", "submitted")),
        ("issue_comment", pr_comment()),
        ("issue_comment", pr_comment("thanks, looks good")),  # read in the job
    ],
    ids=["pr-opened", "pr-synchronize", "review-submitted", "pr-comment-command", "pr-chatter"],
)
def test_a_handled_delivery_is_queued_and_acknowledged_at_once(
    client: FlaskClient, queue: FakeQueue, event: str, payload: dict[str, Any]
) -> None:
    answer = deliver(client, event, payload, delivery="d-handled")

    assert answer.status_code == 202
    assert answer.json == {"queued": True, "delivery": "d-handled"}
    [job] = queue.jobs
    assert (job.event_name, job.delivery_id) == (event, "d-handled")
    assert job.payload == payload
    assert job.key.startswith("Codertocat/Hello-World#")


@pytest.mark.parametrize("action", ["edited", "deleted"])
def test_an_edited_or_deleted_comment_with_a_reference_is_queued_for_a_review(
    client: FlaskClient, queue: FakeQueue, action: str
) -> None:
    payload = pr_comment("no run after all") | {"action": action}
    payload["changes"] = {"body": {"from": "runs:/" + "c" * 32 + "/model"}}
    answer = deliver(client, "issue_comment", payload, delivery=f"d-{action}")
    assert answer.status_code == 202
    assert [job.delivery_id for job in queue.jobs] == [f"d-{action}"]


@row(
    "input",
    "Eight `issue_comment.edited` deliveries whose body and `changes.body.from` are "
    "compare-bombs of issue #22 (21 KB each, under the test app's 64 KB body limit; at "
    "64 KB each took 7.6 s to route when the web process parsed comment text)",
    "Each is answered 202 and queued without reading the text: the reference and "
    "command parsers are never called in the web process; the job reads the comment",
)
def test_the_app_answers_before_reading_a_comments_text(
    client: FlaskClient, queue: FakeQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unread(*args: object) -> None:
        raise AssertionError("the web process read a comment's text")

    monkeypatch.setattr(router, "find_refs", unread)
    monkeypatch.setattr(router, "parse_command", unread)
    bomb = "https://m/#/compare-runs?" + "&runs=[" * 3000
    for n in range(8):
        payload = pr_comment(bomb + f" {n}") | {"action": "edited"}
        payload["changes"] = {"body": {"from": bomb}}
        answer = deliver(client, "issue_comment", payload, delivery=f"d-bomb-{n}")
        assert answer.status_code == 202
    assert len(queue.jobs) == 8


def test_a_form_encoded_delivery_is_read_from_its_payload_field(
    client: FlaskClient, queue: FakeQueue
) -> None:
    payload = gp.webhook("pull_request", "opened")
    body = urlencode({"payload": json.dumps(payload)}).encode()
    answer = deliver(client, "pull_request", body, content_type="application/x-www-form-urlencoded")
    assert answer.status_code == 202
    assert queue.jobs[0].payload == payload


# --- deliveries refused or ignored: the right status and no side effect -----------------


def assert_untouched(queue: FakeQueue, deliveries: MemoryDeliveries, delivery: str) -> None:
    """Nothing was queued and the delivery id was not used up."""
    assert queue.jobs == []
    assert deliveries.claim(delivery, delivery)


def test_a_wrong_signature_is_refused(
    client: FlaskClient, queue: FakeQueue, deliveries: MemoryDeliveries
) -> None:
    payload = gp.webhook("pull_request", "opened")
    wrong = signature_for("not the secret", json.dumps(payload).encode())
    answer = deliver(client, "pull_request", payload, "d-wrong", signature=wrong)
    assert answer.status_code == 401
    assert "X-Hub-Signature-256" in answer.json["error"]  # type: ignore[index]
    assert_untouched(queue, deliveries, "d-wrong")


def test_a_signature_of_other_bytes_is_refused(
    client: FlaskClient, queue: FakeQueue, deliveries: MemoryDeliveries
) -> None:
    payload = gp.webhook("pull_request", "opened")
    reformatted = json.dumps(payload, indent=2).encode()  # same JSON, other raw bytes
    signature = signature_for(SECRET, json.dumps(payload).encode())
    answer = deliver(client, "pull_request", reformatted, "d-other", signature=signature)
    assert answer.status_code == 401
    assert_untouched(queue, deliveries, "d-other")


def test_a_missing_signature_is_refused(
    client: FlaskClient, queue: FakeQueue, deliveries: MemoryDeliveries
) -> None:
    answer = deliver(
        client, "pull_request", gp.webhook("pull_request", "opened"), "d-unsigned", signature=None
    )
    assert answer.status_code == 401
    assert_untouched(queue, deliveries, "d-unsigned")


@row(
    "input",
    "A signed delivery replayed: under its own delivery id, and under a new one (the id "
    "is not signed); then the next event, under a new id",
    "Each replay is answered `{duplicate: true}` and queued once: deliveries are "
    "de-duplicated by id and by a hash of the signed body, for the same window "
    "(3 days); a new body is queued",
)
def test_a_replayed_delivery_is_queued_once_whatever_its_id(
    client: FlaskClient, queue: FakeQueue, deliveries: MemoryDeliveries
) -> None:
    payload = gp.webhook("pull_request", "opened")
    first = deliver(client, "pull_request", payload, "d-twice")
    again = deliver(client, "pull_request", payload, "d-twice")
    replayed = deliver(client, "pull_request", payload, "d-another")
    following = deliver(client, "pull_request", payload | {"action": "synchronize"}, "d-next")

    assert [first.status_code, again.status_code, replayed.status_code] == [202, 200, 200]
    assert again.json == replayed.json == {"duplicate": True}
    assert following.status_code == 202
    assert [job.delivery_id for job in queue.jobs] == ["d-twice", "d-next"]
    assert deliveries.claim("d-another", "d-another")  # the replay's id was not used up


def test_replays_are_remembered_for_the_delivery_window() -> None:
    now = [0.0]
    queue = FakeQueue()
    app = create_app(SETTINGS, AppDeps(queue, MemoryDeliveries(ttl=60.0, clock=lambda: now[0])))
    payload = gp.webhook("pull_request", "opened")
    codes = [deliver(app.test_client(), "pull_request", payload, "d-1").status_code]
    now[0] = 59.0
    codes.append(deliver(app.test_client(), "pull_request", payload, "d-2").status_code)
    now[0] = 120.0
    codes.append(deliver(app.test_client(), "pull_request", payload, "d-3").status_code)
    assert codes == [202, 200, 202]
    assert [job.delivery_id for job in queue.jobs] == ["d-1", "d-3"]


@pytest.fixture
def roomy(queue: FakeQueue, deliveries: MemoryDeliveries) -> FlaskClient:
    """A client whose app takes GitHub's full 25 MB bodies."""
    settings = dataclasses.replace(SETTINGS, max_body=26 * 1024 * 1024)
    return create_app(settings, AppDeps(queue, deliveries)).test_client()


def nested(depth: int) -> bytes:
    """A signed-looking pull_request payload with one field nested `depth` deep."""
    head = json.dumps(gp.webhook("pull_request", "opened"))[:-1]
    return f'{head}, "deep": {"[" * (depth - 1)}"[{{"{"]" * (depth - 1)}}}'.encode()


@row(
    "input",
    "Signed JSON nested 50,000 levels deep (and 401); a string holding 50,000 `[`",
    "400 `the JSON is nested deeper than 400 levels`, nothing queued, no RecursionError "
    "or 500; 400 levels and brackets inside strings are accepted",
)
@pytest.mark.parametrize(("depth", "status"), [(50_000, 400), (401, 400), (400, 202)])
def test_deeply_nested_json_is_refused_with_a_clear_message(
    roomy: FlaskClient, queue: FakeQueue, deliveries: MemoryDeliveries, depth: int, status: int
) -> None:
    body = nested(depth)
    assert json_depth(body.decode()) == depth
    answer = deliver(roomy, "pull_request", body, "d-deep")
    assert answer.status_code == status
    if status == 400:
        assert answer.json == {"error": "the JSON is nested deeper than 400 levels"}
        assert_untouched(queue, deliveries, "d-deep")
    else:
        assert len(queue.jobs) == 1


def test_brackets_inside_json_strings_do_not_count_as_nesting(
    roomy: FlaskClient, queue: FakeQueue
) -> None:
    payload = gp.webhook("pull_request", "opened")
    payload["pull_request"]["body"] = '[{\\"' * 50_000
    assert deliver(roomy, "pull_request", payload, "d-brackets").status_code == 202
    assert queue.jobs[0].payload == payload


def test_an_oversized_body_is_refused_before_it_is_read(
    client: FlaskClient, queue: FakeQueue, deliveries: MemoryDeliveries
) -> None:
    body = b'{"padding": "' + b"x" * LIMIT + b'"}'
    answer = deliver(client, "pull_request", body, "d-big")
    assert answer.status_code == 413
    assert_untouched(queue, deliveries, "d-big")


def test_an_oversized_body_without_a_length_is_refused_while_read(
    client: FlaskClient, queue: FakeQueue, deliveries: MemoryDeliveries
) -> None:
    body = b'{"padding": "' + b"x" * LIMIT + b'"}'
    headers = {
        "X-GitHub-Event": "pull_request",
        "X-GitHub-Delivery": "d-chunked",
        "X-Hub-Signature-256": signature_for(SECRET, body),
    }
    answer = client.post(  # a chunked upload: no Content-Length, the stream just ends
        "/webhook",
        input_stream=io.BytesIO(body),
        headers=headers,
        content_type="application/json",
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert answer.status_code == 413
    assert_untouched(queue, deliveries, "d-chunked")


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[1, 2, 3]", b"\xff\xfe", b""],
    ids=["broken", "array", "bytes", "empty"],
)
def test_a_body_that_is_not_a_json_object_is_refused(
    client: FlaskClient, queue: FakeQueue, deliveries: MemoryDeliveries, body: bytes
) -> None:
    answer = deliver(client, "pull_request", body, "d-malformed")
    assert answer.status_code == 400
    assert answer.json == {"error": "the body is not a JSON object"}
    assert_untouched(queue, deliveries, "d-malformed")


@pytest.mark.parametrize("form", [False, True], ids=["json-as-form", "form-as-json"])
def test_a_signed_delivery_with_the_wrong_content_type_says_so(
    client: FlaskClient, queue: FakeQueue, deliveries: MemoryDeliveries, form: bool
) -> None:
    text = json.dumps(gp.webhook("pull_request", "opened"))
    body = urlencode({"payload": text}).encode() if form else text.encode()
    content_type = "application/json" if form else "application/x-www-form-urlencoded"
    answer = deliver(client, "pull_request", body, "d-type", content_type=content_type)
    assert answer.status_code == 400
    assert answer.json is not None
    says = "form-encoded but" if form else "JSON but"
    assert f"the body is {says} the Content-Type is {content_type}" in answer.json["error"]
    assert "set the webhook's content type to application/json" in answer.json["error"]
    assert_untouched(queue, deliveries, "d-type")


def test_a_delivery_without_event_or_id_is_refused(client: FlaskClient, queue: FakeQueue) -> None:
    payload = gp.webhook("pull_request", "opened")
    assert deliver(client, "", payload).status_code == 400
    assert deliver(client, "pull_request", payload, delivery="").status_code == 400
    assert queue.jobs == []


@pytest.mark.parametrize(
    ("event", "payload"),
    [
        ("workflow_run", gp.webhook("workflow_run", "completed")),
        ("star", {"action": "created", "repository": {"full_name": "o/r"}}),
        ("pull_request", gp.webhook("pull_request", "closed") | {"action": "labeled"}),
        ("issue_comment", gp.webhook("issue_comment", "created")),  # on an issue
    ],
    ids=["workflow-run", "unknown-event", "pr-labeled", "issue-comment"],
)
def test_events_the_bot_does_not_handle_are_ignored(
    client: FlaskClient,
    queue: FakeQueue,
    deliveries: MemoryDeliveries,
    event: str,
    payload: dict[str, Any],
) -> None:
    answer = deliver(client, event, payload, "d-ignored")
    assert answer.status_code == 204
    assert answer.data == b""
    assert_untouched(queue, deliveries, "d-ignored")


def test_a_full_queue_answers_503_and_the_delivery_can_come_again(
    client: FlaskClient, queue: FakeQueue
) -> None:
    payload = gp.webhook("pull_request", "opened")
    queue.full = True
    refused = deliver(client, "pull_request", payload, "d-busy")
    queue.full = False
    redelivered = deliver(client, "pull_request", payload, "d-busy")

    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "30"
    assert redelivered.status_code == 202
    assert [job.delivery_id for job in queue.jobs] == ["d-busy"]


def test_healthz_asks_nothing_but_the_process(client: FlaskClient, queue: FakeQueue) -> None:
    def down() -> QueueStatus:
        raise AssertionError("the liveness check asked the queue")

    queue.status = down  # type: ignore[method-assign]
    queue.depth = down  # type: ignore[assignment, method-assign]
    assert client.get("/healthz").json == {"ok": True}
    assert client.get("/webhook").status_code == 405


def test_readyz_reports_counts_only_and_healthz_stays_a_liveness_check(
    client: FlaskClient, queue: FakeQueue
) -> None:
    deliver(client, "pull_request", gp.webhook("pull_request", "opened"))
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json == {
        "ready": True,
        "queue": 1,
        "oldest_wait_seconds": 0.0,
        "workers": 1,
        "failed": 0,
    }
    assert "Codertocat" not in ready.get_data(as_text=True)  # nothing about repositories

    def down() -> QueueStatus:
        raise ConnectionError("Redis went away")

    queue.status = down  # type: ignore[method-assign]
    assert client.get("/readyz").status_code == 503
    assert client.get("/healthz").status_code == 200


def test_readyz_needs_room_in_the_queue_not_workers(client: FlaskClient, queue: FakeQueue) -> None:
    queue.status = lambda: QueueStatus(3, 1.0, 0, 0)  # type: ignore[method-assign]
    ready = client.get("/readyz")
    assert (ready.status_code, ready.json["workers"]) == (200, 0)  # reported, not required
    queue.status = lambda: QueueStatus(100, 1.0, 2, 0, full=True)  # type: ignore[method-assign]
    assert client.get("/readyz").status_code == 503
    assert client.get("/readyz").json["ready"] is False


@row(
    "queue",
    "GitHub's Redeliver of a delivery whose job failed; of one whose job completed",
    "De-duplication on completion: the failed one is queued again (the review is "
    "recovered), the completed one is answered `{duplicate: true}`",
)
def test_a_redelivery_of_a_failed_job_is_queued_again_but_not_of_a_finished_one(
    client: FlaskClient, queue: FakeQueue, deliveries: MemoryDeliveries
) -> None:
    payload = gp.webhook("pull_request", "opened")
    assert deliver(client, "pull_request", payload, "d-lost").status_code == 202
    assert deliver(client, "pull_request", payload, "d-lost").json == {"duplicate": True}
    deliveries.settle(queue.jobs[-1], False)  # its job failed: "Redeliver" recovers it
    assert deliver(client, "pull_request", payload, "d-lost").status_code == 202
    deliveries.settle(queue.jobs[-1], True)
    assert deliver(client, "pull_request", payload, "d-lost").json == {"duplicate": True}
    assert [job.delivery_id for job in queue.jobs] == ["d-lost", "d-lost"]


def test_log_lines_of_a_request_carry_its_delivery_id(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.handler.addFilter(DeliveryFilter())
    with caplog.at_level(logging.INFO, logger="bot"):
        deliver(client, "pull_request", gp.webhook("pull_request", "opened"), "d-logged")
        deliver(
            client,
            "pull_request",
            gp.webhook("pull_request", "opened"),
            "d-bad",
            signature="sha256=00",
        )
    mine = [r for r in caplog.records if r.name.startswith("bot.")]
    assert {r.delivery_id for r in mine} == {"d-logged", "d-bad"}  # type: ignore[attr-defined]
    assert any("queued pull_request.opened" in r.getMessage() for r in mine)


# --- the app built from the environment ---------------------------------------------


def test_create_app_reads_the_environment_and_runs_jobs_in_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("MODEL_REVIEW_QUEUE", raising=False)
    app = create_app()
    deps = app.extensions["model_review"]
    assert isinstance(deps.queue, InProcessQueue)
    assert app.test_client().get("/healthz").json == {"ok": True}

    monkeypatch.delenv("GITHUB_WEBHOOK_SECRET")
    with pytest.raises(UsageError, match="GITHUB_WEBHOOK_SECRET is not set"):
        create_app()


def test_importing_the_module_starts_nothing_and_loads_no_flask() -> None:
    code = (
        "import sys, bot.webhook, bot.app.webhook, bot.app.queue.jobs; "
        "print('flask' in sys.modules, 'rq' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


@pytest.fixture
def restore_root_handlers() -> Iterator[None]:
    root = logging.getLogger()
    saved = [(h, h.formatter, list(h.filters)) for h in root.handlers]
    yield
    for handler, formatter, filters in saved:
        handler.setFormatter(formatter)
        handler.filters[:] = filters


@pytest.mark.usefixtures("restore_root_handlers")
def test_serve_runs_the_development_server_and_points_to_gunicorn(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    ran: list[dict[str, Any]] = []
    monkeypatch.setattr(Flask, "run", lambda self, **kwargs: ran.append(kwargs))
    with caplog.at_level(logging.INFO, logger="bot"):
        assert serve("127.0.0.1", 8099) == 0
    assert ran == [{"host": "127.0.0.1", "port": 8099, "threaded": True, "use_reloader": False}]
    assert "gunicorn 'bot.webhook:create_app()'" in caplog.text


# --- end to end: a signed delivery to a published review ---------------------------------


WIRE = "https://api.github.com:443"  # PyGithub names the port in the URLs it sends
REPO = "Codertocat/Hello-World"  # the repository of GitHub's example payloads
R = f"{WIRE}/repos/{REPO}"
HEAD, BASE = "e" * 40, "b" * 40
BOT = "model-review[bot]"
COMMENT_URL = f"https://github.com/{REPO}/pull/2#issuecomment-9001"
JWT = re.compile(r"Bearer [\w-]+\.[\w-]+\.[\w-]+")
CONFIG = """\
baseline:
  model: {model}
reviewers:
  primary: [bob]
  secondary: [carol]
plots:
  host: none
"""


def json_body(check: Any) -> Any:
    """A responses matcher: the request's JSON body passes `check` (which asserts)."""

    def match(request: Any) -> tuple[bool, str]:
        try:
            check(json.loads(request.body))
        except AssertionError as exc:
            return False, f"body does not match: {exc}"
        return True, ""

    return match


@pytest.fixture
def mlflow_review(mlflow_server: str) -> tuple[str, str]:
    """A candidate run and a production model in the real MLflow; (run id, model name)."""
    from mlflow.tracking import MlflowClient
    from mlflow_helpers import make_run, register, unique_name

    client = MlflowClient(tracking_uri=mlflow_server)
    experiment, model = unique_name("webhook-e2e"), unique_name("fraud")
    production = make_run(client, experiment, {"lr": 0.1}, {"val_auc": 0.91}, None, None)
    register(client, model, production, aliases=["production"])
    candidate = make_run(client, experiment, {"lr": 0.05}, {"val_auc": 0.93}, None, None)
    return candidate, model


def github_answers(rsps: Any, candidate: str, model: str) -> None:
    """Every call the review makes as the App, each write matched on its JSON body."""
    from responses import matchers

    as_app = [matchers.header_matcher({"Authorization": JWT})]
    as_installation = [matchers.header_matcher({"Authorization": "token ghs_e2e"})]
    no_permissions = matchers.json_params_matcher({"permissions": {}})
    tokens = f"{WIRE}/app/installations/1/access_tokens"
    rsps.get(f"{WIRE}/app", json=gp.app("model-review"), match=as_app)
    rsps.post(tokens, status=201, json=gp.access_token("ghs_e2e"), match=[*as_app, no_permissions])
    body = f"Retrained: runs:/{candidate}/model"
    pull = gp.pull(2, repo=REPO, body=body, author="Codertocat", head_sha=HEAD, base_sha=BASE)
    rsps.get(f"{R}/pulls/2", json=pull, match=as_installation)
    rsps.get(f"{R}/pulls/2/commits", json=[gp.pr_commit(HEAD, repo=REPO)], match=as_installation)
    rsps.get(f"{R}/issues/2/comments", json=[])
    config = gp.content_file(
        ".github/model-review.yml", CONFIG.format(model=model), repo=REPO, ref=BASE
    )
    at_base = [matchers.query_param_matcher({"ref": BASE})]
    rsps.get(f"{R}/contents/.github/model-review.yml", json=config, match=at_base)
    rsps.get(f"{R}/pulls/2/reviews", json=[])

    def comment(sent: dict[str, Any]) -> None:
        assert set(sent) == {"body"}
        assert candidate[:8] in sent["body"] and "val_auc" in sent["body"]
        assert "bob" in sent["body"] and "carol" in sent["body"]  # the assigned reviewers
        assert "model-review:state" in sent["body"]  # the bot's hidden state block

    created = gp.issue_comment(9001, "(the review)", BOT, repo=REPO, number=2)
    comments = f"{R}/issues/2/comments"
    rsps.post(comments, status=201, json=created, match=[*as_installation, json_body(comment)])
    reviewers = [matchers.json_params_matcher({"reviewers": ["bob", "carol"]})]
    rsps.post(f"{R}/pulls/2/requested_reviewers", status=201, json=pull, match=reviewers)
    rsps.get(f"{R}/commits/{HEAD}/status", json=gp.combined_status(HEAD, [], repo=REPO))

    def status(sent: dict[str, Any]) -> None:
        assert set(sent) == {"state", "description", "context", "target_url"}
        assert (sent["state"], sent["context"]) == ("pending", "model-review")
        assert sent["target_url"] == COMMENT_URL and len(sent["description"]) <= 140

    answer = gp.commit_status(HEAD, "pending", "", "model-review", repo=REPO)
    match = [*as_installation, json_body(status)]
    rsps.post(f"{R}/statuses/{HEAD}", status=201, json=answer, match=match)
    check_run_answers(rsps, as_installation)


def check_run_answers(rsps: Any, as_installation: list[Any]) -> None:
    """The App's check run: none yet, created `in_progress`, then completed in place."""
    listing = {"total_count": 0, "check_runs": []}
    rsps.get(f"{R}/commits/{HEAD}/check-runs", json=listing, match=as_installation)

    def started(sent: dict[str, Any]) -> None:
        assert (sent["head_sha"], sent["name"], sent["status"]) == (
            HEAD,
            "model-review",
            "in_progress",
        )

    def done(sent: dict[str, Any]) -> None:
        assert (sent["status"], sent["conclusion"]) == ("completed", "action_required")
        assert sent["details_url"] == COMMENT_URL and "head_sha" not in sent
        assert sent["output"]["title"].startswith("waiting for @bob")

    run = gp.check_run(4, HEAD, {"status": "in_progress"}, repo=REPO)
    rsps.post(f"{R}/check-runs", status=201, json=run, match=[*as_installation, json_body(started)])
    finished = gp.check_run(4, HEAD, {"status": "completed"}, repo=REPO)
    rsps.patch(f"{R}/check-runs/4", json=finished, match=[*as_installation, json_body(done)])


@pytest.mark.slow
def test_a_signed_delivery_becomes_the_review_comment_and_the_gate(
    app_key: str, mlflow_server: str, mlflow_review: tuple[str, str]
) -> None:
    import responses

    candidate, model = mlflow_review
    settings = Settings(
        app_id=31337,
        private_key=app_key,
        webhook_secret=SECRET,
        tracking_uri=mlflow_server,
        github_throttle=False,
    )
    app = create_app(settings)
    queue = app.extensions["model_review"].queue
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.add_passthru(mlflow_server)
        github_answers(rsps, candidate, model)
        answer = deliver(
            app.test_client(), "pull_request", gp.webhook("pull_request", "opened"), "d-e2e"
        )
        assert answer.status_code == 202
        assert queue.join(120.0)
        queue.close(30.0)
        writes = [c.request.url for c in rsps.calls if c.request.method in ("POST", "PATCH")]
    assert [str(url).split(":443/")[-1] for url in writes] == [
        "app/installations/1/access_tokens",
        f"repos/{REPO}/check-runs",
        f"repos/{REPO}/issues/2/comments",
        f"repos/{REPO}/pulls/2/requested_reviewers",
        f"repos/{REPO}/statuses/{HEAD}",
        f"repos/{REPO}/check-runs/4",
    ]


# --- the App manifest --------------------------------------------------------------------


def test_the_app_manifest_asks_for_exactly_what_the_bot_uses() -> None:
    manifest = yaml.safe_load((Path(__file__).parents[1] / "app.yml").read_text())
    assert manifest["default_permissions"] == {
        "pull_requests": "write",
        "statuses": "write",
        "checks": "write",
        "contents": "write",
        "issues": "write",
        "metadata": "read",
        "members": "read",
    }
    # every event the router handles, except the Actions-only pull_request_target
    assert set(manifest["default_events"]) == HANDLED_EVENTS - {"pull_request_target"}
    assert manifest["hook_attributes"]["url"].endswith("/webhook")
    assert manifest["public"] is False
