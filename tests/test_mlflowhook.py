"""bot.app.mlflowhook: POST /mlflow/webhook through Flask's test client, signed as
MLflow signs (its own signing function is the reference), with the typed FakeQueue;
each refusal (signature, age, replay, size, depth) queues nothing, and the replay
refusal holds on the Redis de-duplication too (a real redis-server)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from flask.testing import FlaskClient
from matrix import row
from redis import Redis
from werkzeug.test import TestResponse

from bot.app.mlflowhook import (
    IN_FUTURE,
    MAX_AGE,
    MAX_BODY,
    NOT_SIGNED,
    TOO_OLD,
    age_problem,
    mlflow_signature,
)
from bot.app.queue.redisqueue import RedisDeliveries
from bot.app.settings import DEFAULT_MAX_BODY
from bot.app.webhook import AppDeps, MemoryDeliveries, Settings, create_app
from bot.handlers.following import REGISTRY_JOB, RegistryEvent, registry_event
from tests.fakes import FakeQueue

SECRET = "mlflow-hook-secret"
LIMIT = 64 * 1024
SETTINGS = Settings(
    app_id=31337,
    private_key="unused here",
    webhook_secret="github-secret",
    tracking_uri="http://mlflow.test",
    max_body=LIMIT,
    mlflow_webhook_secret=SECRET,
)
ALIAS_MOVED = {
    "entity": "model_version_alias",
    "action": "created",
    "timestamp": "2026-12-06T14:02:11.123456+00:00",
    "data": {"name": "fraud-model", "alias": "production", "version": "4"},
}


@pytest.fixture
def queue() -> FakeQueue:
    return FakeQueue()


def client_for(
    queue: FakeQueue, deliveries: Any = None, settings: Settings = SETTINGS
) -> FlaskClient:
    deps = AppDeps(queue, deliveries or MemoryDeliveries())
    return create_app(settings, deps).test_client()


def post(
    client: FlaskClient,
    payload: dict[str, Any] | bytes,
    delivery: str = "5c8f0c6e-1f7b-4e0c-9a51-0d1c2b3a4f5e",
    *,
    sent: int | None = None,
    secret: str = SECRET,
    signature: str | None = None,
) -> TestResponse:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    stamp = str(int(time.time()) if sent is None else sent)
    headers = {"X-MLflow-Delivery-Id": delivery, "X-MLflow-Timestamp": stamp}
    signed = mlflow_signature(secret, delivery, stamp, body) if signature is None else signature
    if signed:
        headers["X-MLflow-Signature"] = signed
    return client.post(
        "/mlflow/webhook", data=body, headers=headers, content_type="application/json"
    )


def test_our_signature_is_the_one_mlflow_sends() -> None:
    from mlflow.webhooks.delivery import _generate_hmac_signature

    body = json.dumps(ALIAS_MOVED)
    ours = mlflow_signature(SECRET, "d-1", "1765029731", body.encode())
    assert ours == _generate_hmac_signature(SECRET, "d-1", "1765029731", body)


def test_an_alias_move_is_queued_as_one_registry_job(queue: FakeQueue) -> None:
    answer = post(client_for(queue), ALIAS_MOVED, "d-1")

    assert answer.status_code == 202
    [job] = queue.jobs
    assert (job.event_name, job.delivery_id) == (REGISTRY_JOB, "mlflow-d-1")
    assert registry_event(job.payload) == RegistryEvent(
        "model_version_alias", "created", "fraud-model", "production", "4", "2026-12-06T14:02:11Z"
    )


@row(
    "input",
    "An MLflow registry delivery unsigned, or signed with another secret",
    "401, nothing queued",
)
@pytest.mark.parametrize(
    ("secret", "signature"),
    [("another-secret", None), (SECRET, ""), (SECRET, "v1,AAAA"), (SECRET, "garbage")],
)
def test_a_delivery_not_signed_with_the_secret_is_refused(
    queue: FakeQueue, secret: str, signature: str | None
) -> None:
    answer = post(client_for(queue), ALIAS_MOVED, secret=secret, signature=signature)
    assert (answer.status_code, answer.json) == (401, {"error": NOT_SIGNED})
    assert queue.jobs == []


def test_a_changed_body_breaks_the_signature(queue: FakeQueue) -> None:
    body = json.dumps(ALIAS_MOVED).encode()
    stamp = str(int(time.time()))
    signed = mlflow_signature(SECRET, "d-1", stamp, body)
    forged = body.replace(b'"4"', b'"5"')
    answer = post(client_for(queue), forged, "d-1", sent=int(stamp), signature=signed)
    assert answer.status_code == 401 and queue.jobs == []


@row(
    "input",
    "A signed MLflow delivery older than 5 minutes, or from the future",
    "401, nothing queued",
)
@pytest.mark.parametrize(
    ("offset", "problem"), [(-MAX_AGE - 5, TOO_OLD), (-3600 * 24, TOO_OLD), (120, IN_FUTURE)]
)
def test_a_signed_delivery_too_old_or_from_the_future_is_refused(
    queue: FakeQueue, offset: int, problem: str
) -> None:
    answer = post(client_for(queue), ALIAS_MOVED, sent=int(time.time()) + offset)
    assert (answer.status_code, answer.json) == (401, {"error": problem})
    assert queue.jobs == []


def test_the_age_window() -> None:
    assert age_problem("1000", 1000 + MAX_AGE) is None
    assert age_problem("1000", 1000 + MAX_AGE + 1) == TOO_OLD
    assert age_problem("1000", 1000 - 31) == IN_FUTURE
    assert age_problem("", 1000) is not None and age_problem("12.5", 1000) is not None


def test_a_replayed_delivery_is_queued_once(queue: FakeQueue) -> None:
    client = client_for(queue)
    first = post(client, ALIAS_MOVED, "d-replay")
    again = post(client, ALIAS_MOVED, "d-replay")

    assert first.status_code == 202
    assert (again.status_code, again.json) == (200, {"duplicate": True})
    assert len(queue.jobs) == 1


@row(
    "input",
    "A captured MLflow delivery replayed, to the same or another web process",
    "200 `duplicate`, queued once (Redis)",
)
def test_a_replay_to_another_web_process_is_refused_through_redis(
    queue: FakeQueue, redis: Redis
) -> None:
    one = client_for(queue, RedisDeliveries(redis))
    other = client_for(queue, RedisDeliveries(redis))
    assert post(one, ALIAS_MOVED, "d-redis").status_code == 202
    assert post(other, ALIAS_MOVED, "d-redis").json == {"duplicate": True}
    assert len(queue.jobs) == 1


@row(
    "input",
    "An MLflow delivery over 1 MiB (or MODEL_REVIEW_MAX_BODY)",
    "413, before the body is read",
)
@pytest.mark.parametrize("max_body", [LIMIT, DEFAULT_MAX_BODY])
def test_a_body_over_the_bound_is_refused_before_it_is_read(
    queue: FakeQueue, max_body: int
) -> None:
    """The App's MODEL_REVIEW_MAX_BODY when smaller, else the endpoint's own MAX_BODY
    (GitHub's 26 MB allowance is far more than a registry event needs)."""
    settings = Settings(**{**vars(SETTINGS), "max_body": max_body})
    padded = {**ALIAS_MOVED, "padding": "x" * min(max_body, MAX_BODY)}
    answer = post(client_for(queue, settings=settings), padded)
    assert answer.status_code == 413 and queue.jobs == []


def test_json_nested_too_deep_is_refused(queue: FakeQueue) -> None:
    deep = json.dumps(ALIAS_MOVED)[:-1] + ', "deep": ' + "[" * 1000 + "]" * 1000 + "}"
    answer = post(client_for(queue), deep.encode())
    assert answer.status_code == 400 and "nested deeper" in answer.json["error"]
    assert queue.jobs == []


@pytest.mark.parametrize(
    ("entity", "action"),
    [("registered_model", "created"), ("prompt_alias", "created"), ("webhook", "test")],
)
def test_events_the_bot_does_not_follow_get_204_and_nothing_else(
    queue: FakeQueue, entity: str, action: str
) -> None:
    payload = {**ALIAS_MOVED, "entity": entity, "action": action}
    answer = post(client_for(queue), payload)
    assert (answer.status_code, answer.data) == (204, b"")
    assert queue.jobs == []


def test_a_followed_event_without_its_data_is_a_clear_400(queue: FakeQueue) -> None:
    payload = {**ALIAS_MOVED, "data": {"alias": "production", "version": "4"}}
    answer = post(client_for(queue), payload)
    assert (answer.status_code, answer.json) == (400, {"error": "the event's data has no `name`"})
    assert queue.jobs == []


def test_without_its_secret_the_endpoint_does_not_exist(queue: FakeQueue) -> None:
    client = client_for(queue, settings=Settings(**{**vars(SETTINGS), "mlflow_webhook_secret": ""}))
    assert post(client, ALIAS_MOVED).status_code == 404
    assert queue.jobs == []


def test_a_full_queue_answers_503_and_a_retry_is_queued(queue: FakeQueue) -> None:
    client = client_for(queue)
    queue.full = True
    assert post(client, ALIAS_MOVED, "d-full").status_code == 503
    queue.full = False
    assert post(client, ALIAS_MOVED, "d-full").status_code == 202
    assert len(queue.jobs) == 1
