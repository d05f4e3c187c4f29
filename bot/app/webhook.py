"""The webhook GitHub App: a Flask application factory and `serve`.

The only module that imports Flask (inside functions: nothing happens at import).
`POST /webhook` checks the delivery (size, signature, JSON), answers `ping`, drops
events the bot does not handle (204), and queues the rest (202) for bot.app.queue.jobs to
run in the background: GitHub gives up on a delivery after 10 seconds, a review
takes longer. A delivery whose job waits, runs or completed is answered
`{"duplicate": true}` and not queued again: by its id, and by a hash of its signed
body (the id is not signed, so a replay under a new id is caught by the hash, within
the same window). De-duplication is on completion: a copy of a delivery whose job
failed for good or was lost is queued again, so "Redeliver" recovers a review. JSON
nested deeper than MAX_JSON_DEPTH is refused (400) before it is parsed.
`GET /healthz` is the liveness check: 200 while the process answers, nothing else
asked (a Redis outage must not restart every web process). `GET /readyz` is the web
process's readiness: 200 when it can accept deliveries (Redis answers, or the
in-process queue has room), 503 otherwise; it reports the queue's state (depth, oldest
waiting job's age, workers seen in the last minute, failed jobs; counts only). Workers
are reported, not required: they have a probe of their own (bot.app.queue.presence).
A delivery while Redis does not answer is answered 503 with `Retry-After` and a JSON
body, logged with its delivery id; nothing was queued, so GitHub's Redeliver (or
reconcile) brings it back.

Production: `gunicorn 'bot.webhook:create_app()'` (settings from the environment).
"""

from __future__ import annotations

import atexit
import hashlib
import hmac
import json
import logging
import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from itertools import accumulate
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qs

from bot import redaction
from bot.app import metrics
from bot.app.logcontext import delivery_context, setup_logging
from bot.app.queue.jobs import InProcessQueue, Job, JobQueue
from bot.app.queue.runner import JobRunner
from bot.app.settings import Settings
from bot.constants import DEDUPE_SECONDS
from bot.handlers.router import Action, Event, route

if TYPE_CHECKING:
    from flask import Flask, Response

__all__ = [
    "AppDeps",
    "DeliveryLog",
    "MemoryDeliveries",
    "Settings",
    "build_deps",
    "create_app",
    "serve",
    "signature_for",
    "verify_signature",
]

log = logging.getLogger(__name__)

RETRY_AFTER = "30"
OUTCOMES = {  # the deliveries counter's outcome label, by answer
    200: "answered",  # ping, or a duplicate
    202: "queued",
    204: "ignored",
    400: "unreadable",
    401: "unsigned",
    413: "too_large",
    503: "unavailable",
}
QUEUE_FULL = "the work queue is full; redeliver later"
QUEUE_DOWN = "the work queue does not answer; redeliver later"
SHUTDOWN_SECONDS = 25.0  # under gunicorn's default graceful timeout (30 s)
GUNICORN = "gunicorn 'bot.webhook:create_app()'"
FORM = "application/x-www-form-urlencoded"
JSON_HINT = "set the webhook's content type to application/json"
MAX_JSON_DEPTH = 400  # GitHub's payloads nest about 6 deep
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_NESTING = {"[": 1, "{": 1, "]": -1, "}": -1}


# --- de-duplication ---------------------------------------------------------------


class DeliveryLog(Protocol):
    """Remembers deliveries until their job completed: the same delivery is queued once."""

    def claim(self, key: str, delivery_id: str) -> bool:
        """Claim `key` (the delivery id, or another key of the delivery) for
        `delivery_id`: False while the delivery that claimed it before has its job
        waiting or running, or completed it (within the retention)."""
        ...

    def release(self, key: str) -> None:
        """Forget a claim (the delivery could not be queued: a redelivery may retry)."""
        ...


class MemoryDeliveries:
    """Deliveries seen by this process, kept `ttl` seconds, at most `max_entries`;
    `settle` (the in-process queue's hook) frees the claims of a failed job."""

    def __init__(
        self,
        ttl: float = DEDUPE_SECONDS,
        max_entries: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl, self._max, self._clock = ttl, max_entries, clock
        self._seen: OrderedDict[str, tuple[str, float]] = OrderedDict()  # key -> owner
        self._failed: set[str] = set()  # deliveries whose job failed
        self._lock = threading.Lock()

    def claim(self, key: str, delivery_id: str) -> bool:
        now = self._clock()
        with self._lock:
            while self._seen and next(iter(self._seen.values()))[1] <= now:
                _, (owner, _) = self._seen.popitem(last=False)  # oldest first: expired
                self._failed.discard(owner)
            found = self._seen.get(key)
            if found is not None and found[0] not in self._failed:
                return False
            if found is None and len(self._seen) >= self._max:
                self._seen.popitem(last=False)
            self._seen.pop(key, None)
            self._seen[key] = (delivery_id, now + self._ttl)
            return True

    def release(self, key: str) -> None:
        with self._lock:
            self._seen.pop(key, None)

    def settle(self, job: Job, ok: bool) -> None:
        """The in-process queue finished `job`: a failed one may be delivered again."""
        with self._lock:
            if ok:
                self._failed.discard(job.delivery_id)
            else:
                self._failed.add(job.delivery_id)


@dataclass
class AppDeps:
    """The webhook's collaborators; `build_deps` makes the real ones. `unavailable`:
    the errors of a queue that does not answer (Redis down), answered 503."""

    queue: JobQueue
    deliveries: DeliveryLog
    unavailable: tuple[type[Exception], ...] = ()


def build_deps(settings: Settings) -> AppDeps:
    """The Redis queue when MODEL_REVIEW_QUEUE is set, else in-process threads."""
    runner = JobRunner(settings)
    if settings.queue_url:
        from bot.app.queue.redisqueue import redis_deps, unavailable

        deps = AppDeps(*redis_deps(settings), unavailable=unavailable())
    else:
        deliveries = MemoryDeliveries()
        threads = InProcessQueue(
            runner,
            settings.workers,
            settings.queue_size,
            settle=deliveries.settle,
            retry_delays=tuple(map(float, settings.retry_delays)),
        )
        atexit.register(threads.close, SHUTDOWN_SECONDS)  # let queued reviews finish
        runner.queue = threads  # a registry event's re-reviews (bot.app.queue.registry)
        deps = AppDeps(threads, deliveries)
    if settings.reconcile_seconds:
        from bot.app.queue.recovery import start_periodic

        start_periodic(settings, runner, deps.queue)
    return deps


# --- the application --------------------------------------------------------------


def signature_for(secret: str, body: bytes) -> str:
    """The `X-Hub-Signature-256` value GitHub sends for `body`."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(secret: str, body: bytes, header: str | None) -> bool:
    """Whether `header` is the HMAC-SHA256 of the raw body (constant-time compare)."""
    if not header:
        return False
    return hmac.compare_digest(signature_for(secret, body), header.strip())


def create_app(settings: Settings | None = None, deps: AppDeps | None = None) -> Flask:
    """The Flask app. With no settings they come from the environment (gunicorn)."""
    from flask import Flask

    settings = settings or Settings.from_env(os.environ)
    setup_logging()
    redaction.install(extra=settings.secrets())
    app = Flask("model-review")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body
    hooks = _Webhook(settings, deps or build_deps(settings))
    app.add_url_rule("/webhook", "webhook", hooks.receive, methods=["POST"])
    app.add_url_rule("/healthz", "healthz", hooks.health, methods=["GET"])
    app.add_url_rule("/readyz", "readyz", hooks.ready, methods=["GET"])
    app.add_url_rule("/metrics", "metrics", hooks.metrics, methods=["GET"])
    from bot.app.mlflowhook import WebhookParts, register

    parts = WebhookParts(settings.max_body, MAX_JSON_DEPTH, json_depth, _answer)
    register(app, settings.mlflow_webhook_secret, hooks.deps, parts)
    app.extensions["model_review"] = hooks.deps
    return app


class _Webhook:
    def __init__(self, settings: Settings, deps: AppDeps) -> None:
        self.settings = settings
        self.deps = deps

    def receive(self) -> Response:
        from flask import request

        delivery = request.headers.get("X-GitHub-Delivery", "").strip()
        with delivery_context(delivery):
            answer = self._receive(delivery)
        event = request.headers.get("X-GitHub-Event", "").strip()[:40]
        metrics.delivery(event, OUTCOMES.get(answer.status_code, str(answer.status_code)))
        return answer

    def metrics(self) -> Response:
        """Prometheus' text format (bot.app.metrics)."""
        from flask import Response

        text = metrics.exposition(self.deps.queue.status)
        return Response(text, status=200, content_type=metrics.CONTENT_TYPE)

    def _receive(self, delivery: str) -> Response:
        from flask import request
        from werkzeug.exceptions import RequestEntityTooLarge

        limit = self.settings.max_body
        try:
            too_big = (request.content_length or 0) > limit
            body = b"" if too_big else request.get_data(cache=False)
        except RequestEntityTooLarge:
            too_big, body = True, b""
        if too_big or len(body) > limit:
            log.warning("delivery refused: body over %d bytes", limit)
            return _answer(413, error=f"the body is over {limit} bytes")
        if not verify_signature(
            self.settings.webhook_secret, body, request.headers.get("X-Hub-Signature-256")
        ):
            log.warning("delivery refused: missing or wrong X-Hub-Signature-256")
            return _answer(401, error="missing or wrong X-Hub-Signature-256")
        name = request.headers.get("X-GitHub-Event", "").strip()
        if not name or not delivery:
            return _answer(400, error="X-GitHub-Event and X-GitHub-Delivery are required")
        try:
            payload = _payload(body, request.mimetype)
        except _TooDeep:
            log.warning("delivery refused: JSON nested deeper than %d levels", MAX_JSON_DEPTH)
            return _answer(400, error=f"the JSON is nested deeper than {MAX_JSON_DEPTH} levels")
        if payload is None:
            why = _unreadable(body, request.mimetype)
            log.warning("delivery refused: %s", why)
            return _answer(400, error=why)
        event = Event(name=name, payload=payload, delivery_id=delivery)
        return self._dispatch(event, body_key(body))

    def _dispatch(self, event: Event, body_hash: str) -> Response:
        if event.name == "ping":
            log.info("ping from hook %s", event.payload.get("hook_id"))
            return _answer(200, ok=True, zen=event.payload.get("zen"))
        decision = route(event)
        if decision.action is Action.IGNORE:
            log.info("ignored %s.%s: %s", event.name, event.action, decision.reason)
            return _answer(204)
        try:
            return self._queue(event, body_hash, decision.reason)
        except self.deps.unavailable as exc:
            log.error("delivery not queued: the queue does not answer (%s)", _first_line(exc))
            return _unavailable(QUEUE_DOWN, delivery=event.delivery_id)

    def _queue(self, event: Event, body_hash: str, reason: str) -> Response:
        deliveries, delivery = self.deps.deliveries, event.delivery_id
        if not deliveries.claim(delivery, delivery):
            log.info("duplicate delivery: already queued once")
            return _answer(200, duplicate=True)
        if not deliveries.claim(body_hash, delivery):
            deliveries.release(delivery)
            log.warning("duplicate delivery: the same signed body came under another id")
            return _answer(200, duplicate=True)
        job = Job(event.name, event.payload, delivery)
        try:
            queued = self.deps.queue.submit(job)
        except Exception:
            _release(deliveries, delivery, body_hash)
            raise
        if not queued:
            _release(deliveries, delivery, body_hash)
            return _unavailable(QUEUE_FULL, delivery=delivery)
        log.info("queued %s.%s for %s: %s", event.name, event.action, job.key, reason)
        return _answer(202, queued=True, delivery=delivery)

    def health(self) -> Response:
        """Liveness: the process answers. Nothing else is asked."""
        return _answer(200, ok=True)

    def ready(self) -> Response:
        """Readiness: deliveries can be queued (the queue answers and has room); the
        queue's state, counts only. Workers are reported, not required."""
        try:
            state = self.deps.queue.status()
        except Exception as exc:
            log.error("readiness: the queue does not answer: %s", _first_line(exc))
            return _answer(503, ready=False, error=QUEUE_DOWN)
        return _answer(
            503 if state.full else 200,
            ready=not state.full,
            queue=state.depth,
            oldest_wait_seconds=round(state.oldest_wait, 1),
            workers=state.workers,
            failed=state.failed,
        )


def body_key(body: bytes) -> str:
    """The de-duplication key of a delivery's signed body."""
    return "body:" + hashlib.sha256(body).hexdigest()


def _release(deliveries: DeliveryLog, *keys: str) -> None:
    for key in keys:
        try:
            deliveries.release(key)
        except Exception as exc:  # the claim expires on its own (CLAIM_GRACE on Redis)
            log.warning("could not release the claim of %s: %s", key, _first_line(exc))


def _unavailable(error: str, **body: Any) -> Response:
    return _answer(503, headers={"Retry-After": RETRY_AFTER}, error=error, **body)


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


class _TooDeep(ValueError):
    """The JSON nests deeper than MAX_JSON_DEPTH."""


def json_depth(text: str) -> int:
    """How deep the arrays and objects of a JSON text nest (brackets in strings aside);
    linear, no recursion."""
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    return max(accumulate(map(_NESTING.__getitem__, brackets)), default=0)


def _unreadable(body: bytes, mimetype: str) -> str:
    """Why a delivery's body could not be read: its content type, or not JSON at all."""
    if mimetype == FORM and body.lstrip()[:1] == b"{":
        return f"the body is JSON but the Content-Type is {FORM}: {JSON_HINT}"
    if mimetype != FORM and body.startswith(b"payload="):
        return (
            f"the body is form-encoded but the Content-Type is {mimetype or 'missing'}: {JSON_HINT}"
        )
    return "the body is not a JSON object"


def _payload(body: bytes, mimetype: str) -> dict[str, Any] | None:
    """The JSON object of a delivery (form-encoded `payload=` accepted too);
    `_TooDeep` when it nests deeper than MAX_JSON_DEPTH."""
    try:
        text = body.decode("utf-8")
        if mimetype == FORM:
            text = parse_qs(text, strict_parsing=True)["payload"][0]
        if json_depth(text) > MAX_JSON_DEPTH:
            raise _TooDeep(text[:40])
        data = json.loads(text)
    except _TooDeep:
        raise
    except (UnicodeDecodeError, ValueError, KeyError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def _answer(status: int, headers: Mapping[str, str] | None = None, **body: Any) -> Response:
    """A JSON answer (empty with no `body`)."""
    from flask import Response

    text = redaction.redact(json.dumps(body)) if body else ""
    return Response(
        text,
        status=status,
        headers=dict(headers or {}),
        mimetype="application/json" if body else None,
    )


def serve(host: str = "127.0.0.1", port: int = 8080) -> int:
    """`model-review serve`: Flask's development server, for local use."""
    settings = Settings.from_env(os.environ)
    setup_logging(reformat=True)
    app = create_app(settings)
    log.info(
        "webhook at http://%s:%d/webhook on Flask's development server; in production run: %s",
        host,
        port,
        GUNICORN,
    )
    app.run(host=host, port=port, threaded=True, use_reloader=False)
    return 0
