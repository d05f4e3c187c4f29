"""`POST /mlflow/webhook`: MLflow's model-registry webhooks (open-source MLflow 3).

When someone moves a registered model's alias, MLflow posts
`{"entity", "action", "timestamp", "data"}` with the headers `X-MLflow-Delivery-Id`,
`X-MLflow-Timestamp` (unix seconds) and `X-MLflow-Signature: v1,<base64 of the
HMAC-SHA256 of "<delivery id>.<timestamp>.<body>">`, keyed with the webhook's secret.

The endpoint exists only when MODEL_REVIEW_MLFLOW_WEBHOOK_SECRET is set (else 404:
unsigned deliveries are never accepted). A delivery is refused when its body is over
MAX_BODY bytes (413), its signature is missing or wrong (constant-time compare), or
its timestamp is older than MAX_AGE seconds or ahead of this clock by more than
MAX_SKEW (401; the signature covers the timestamp, so an old delivery cannot be made
young), or its JSON nests deeper than /webhook allows (400). A delivery id seen
before is answered `{"duplicate": true}` and not queued again (the same de-duplication
as /webhook: Redis with the Redis queue, this process otherwise); together with the
age limit a captured delivery cannot be replayed. Events the bot does not follow get
204; the rest become one `mlflow_registry` job (202), which finds the pull requests
to review again (bot.app.queue.registry).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from bot.app.logcontext import delivery_context
from bot.app.queue.jobs import Job, JobQueue
from bot.constants import MLFLOW_WEBHOOK_PATH
from bot.handlers.following import REGISTRY_JOB, BadEvent, registry_event

if TYPE_CHECKING:
    from flask import Response

log = logging.getLogger(__name__)

PATH = MLFLOW_WEBHOOK_PATH
SIGNATURE = "X-MLflow-Signature"
TIMESTAMP = "X-MLflow-Timestamp"
DELIVERY = "X-MLflow-Delivery-Id"
VERSION = "v1"
MAX_AGE = 300  # seconds: older deliveries are refused (MLflow retries within ~15 s)
MAX_SKEW = 30  # seconds a sender's clock may run ahead of ours
MAX_BODY = 1024 * 1024  # registry payloads are a few hundred bytes
JOB_PREFIX = "mlflow-"  # job delivery ids: never equal to a GitHub delivery's

NOT_SIGNED = "missing or wrong X-MLflow-Signature"
TOO_OLD = f"the delivery is older than {MAX_AGE} seconds (X-MLflow-Timestamp)"
IN_FUTURE = "the delivery's X-MLflow-Timestamp is in the future"
NO_TIMESTAMP = "X-MLflow-Timestamp is missing or not unix seconds"
NO_DELIVERY = "X-MLflow-Delivery-Id is missing"
UNREADABLE = "the body is not a JSON object"


class Claims(Protocol):
    """bot.app.webhook.DeliveryLog: a delivery is queued once."""

    def claim(self, key: str, delivery_id: str) -> bool: ...

    def release(self, key: str) -> None: ...


class HookDeps(Protocol):
    """bot.app.webhook.AppDeps: the queue and the de-duplication /webhook uses."""

    @property
    def queue(self) -> JobQueue: ...

    @property
    def deliveries(self) -> Claims: ...


def mlflow_signature(secret: str, delivery_id: str, timestamp: str, body: bytes) -> str:
    """The `X-MLflow-Signature` MLflow sends for this delivery."""
    signed = f"{delivery_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).digest()
    return f"{VERSION},{base64.b64encode(digest).decode('ascii')}"


def signed_by(secret: str, delivery_id: str, timestamp: str, body: bytes, header: str) -> bool:
    """Whether one of the space-separated signatures in `header` is ours (each compared
    in constant time)."""
    expected = mlflow_signature(secret, delivery_id, timestamp, body).encode()
    found = False
    for candidate in header.split():
        found |= hmac.compare_digest(expected, candidate.encode("utf-8", "replace"))
    return found


def age_problem(timestamp: str, now: float) -> str | None:
    """Why a delivery's timestamp is refused (None: it is fresh)."""
    if not timestamp.isdigit():
        return NO_TIMESTAMP
    sent = int(timestamp)
    if now - sent > MAX_AGE:
        return TOO_OLD
    if sent - now > MAX_SKEW:
        return IN_FUTURE
    return None


class MlflowHook:
    """The view behind PATH; `clock` (unix seconds) for tests."""

    def __init__(
        self,
        secret: str,
        deps: HookDeps,
        parts: WebhookParts,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._secret, self._deps, self._parts, self._clock = secret, deps, parts, clock
        self._max_body = min(parts.max_body, MAX_BODY)

    def _answer(self, status: int, **body: Any) -> Response:
        return self._parts.answer(status, None, **body)

    def receive(self) -> Response:
        from flask import request

        delivery = request.headers.get(DELIVERY, "").strip()
        with delivery_context(f"{JOB_PREFIX}{delivery}"):
            return self._receive(delivery)

    def _receive(self, delivery: str) -> Response:
        from flask import request

        body = _bounded_body(self._max_body)
        if body is None:
            log.warning("mlflow delivery refused: body over %d bytes", self._max_body)
            return self._answer(413, error=f"the body is over {self._max_body} bytes")
        headers = request.headers
        timestamp = headers.get(TIMESTAMP, "").strip()
        if not delivery:
            return self._answer(400, error=NO_DELIVERY)
        if not signed_by(self._secret, delivery, timestamp, body, headers.get(SIGNATURE, "")):
            log.warning("mlflow delivery refused: %s", NOT_SIGNED)
            return self._answer(401, error=NOT_SIGNED)
        problem = age_problem(timestamp, self._clock())
        if problem is not None:
            log.warning("mlflow delivery refused: %s", problem)
            return self._answer(401, error=problem)
        return self._accept(delivery, timestamp, body)

    def _accept(self, delivery: str, timestamp: str, body: bytes) -> Response:
        text, deepest = body.decode("utf-8", "replace"), self._parts.max_depth
        if self._parts.depth(text) > deepest:
            log.warning("mlflow delivery refused: JSON nested deeper than %d", deepest)
            return self._answer(400, error=f"the JSON is nested deeper than {deepest} levels")
        payload = _json_object(text)
        if payload is None:
            return self._answer(400, error=UNREADABLE)
        try:
            event = registry_event(payload)
        except BadEvent as exc:
            log.warning("mlflow delivery refused: %s", exc)
            return self._answer(400, error=str(exc))
        if event is None:
            what = f"{payload.get('entity')}.{payload.get('action')}"
            log.info("mlflow %s: not an event model-review follows", what)
            return self._answer(204)
        job = Job(REGISTRY_JOB, {**payload, "sent_at": timestamp}, JOB_PREFIX + delivery)
        return self._queue(job, event.describe())

    def _queue(self, job: Job, what: str) -> Response:
        deliveries = self._deps.deliveries
        if not deliveries.claim(job.delivery_id, job.delivery_id):
            log.info("duplicate mlflow delivery: already queued once")
            return self._answer(200, duplicate=True)
        try:
            queued = self._deps.queue.submit(job)
        except Exception:
            deliveries.release(job.delivery_id)
            raise
        if not queued:
            deliveries.release(job.delivery_id)
            return self._answer(503, error="the work queue is full; MLflow retries later")
        log.info("queued mlflow %s", what)
        return self._answer(202, queued=True, delivery=job.delivery_id)


def _bounded_body(limit: int) -> bytes | None:
    """The raw body, or None when it is over `limit` bytes (read no further)."""
    from flask import request
    from werkzeug.exceptions import RequestEntityTooLarge

    try:
        if (request.content_length or 0) > limit:
            return None
        body = request.stream.read(limit + 1)
    except RequestEntityTooLarge:
        return None
    return None if len(body) > limit else body


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


@dataclass(frozen=True)
class WebhookParts:
    """What /mlflow/webhook shares with /webhook (bot.app.webhook): the body bound,
    the JSON depth bound and how it is measured, and how answers are written."""

    max_body: int
    max_depth: int
    depth: Callable[[str], int]
    answer: Callable[..., Response]


def register(app: Any, secret: str, deps: HookDeps, parts: WebhookParts) -> MlflowHook | None:
    """Add PATH to the Flask `app` when `secret` is set (else the path stays 404)."""
    if not secret:
        return None
    hook = MlflowHook(secret, deps, parts)
    app.add_url_rule(PATH, "mlflow_webhook", hook.receive, methods=["POST"])
    return hook
