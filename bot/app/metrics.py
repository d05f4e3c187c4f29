"""The App's Prometheus metrics: `GET /metrics` on the web process, and on a worker
`MODEL_REVIEW_METRICS_PORT` (prometheus_client's own HTTP server).

Counters and histograms live in this process; under gunicorn with several processes
set PROMETHEUS_MULTIPROC_DIR (an empty directory, the same for every process of the
host, emptied at start) and each scrape adds up every process's values
(prometheus_client's multiprocess mode). The queue's gauges (depth, oldest waiting
job, workers, failed jobs) are read from the queue at each scrape.

Names: model_review_deliveries_total{event,outcome}, model_review_jobs_total{outcome},
model_review_job_duration_seconds{outcome}, model_review_retries_total{reason},
model_review_dependency_calls_total{dependency,outcome} (a job's calls to GitHub and
MLflow through their ports),
model_review_github_rate_limit_remaining{installation} and
model_review_github_rate_limit{installation} (X-RateLimit-Remaining and -Limit of
GitHub's last answer to the installation; in multiprocess mode the most recent value
any process saw),
model_review_queue_depth, model_review_queue_oldest_job_age_seconds,
model_review_workers, model_review_failed_jobs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MULTIPROC = "PROMETHEUS_MULTIPROC_DIR"
BUCKETS = (0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600)

_metrics: dict[str, Any] = {}


def _get(name: str) -> Any:
    """The metric `name`, made at first use (prometheus_client is imported only then)."""
    if not _metrics:
        from prometheus_client import Counter, Gauge, Histogram

        _metrics.update(
            deliveries=Counter(
                "model_review_deliveries", "Webhook deliveries by event and answer",
                ["event", "outcome"],
            ),
            jobs=Counter("model_review_jobs", "Jobs finished, by outcome", ["outcome"]),
            duration=Histogram(
                "model_review_job_duration_seconds", "How long jobs ran", ["outcome"],
                buckets=BUCKETS,
            ),
            retries=Counter("model_review_retries", "Jobs queued again, by reason", ["reason"]),
            calls=Counter(
                "model_review_dependency_calls", "Calls of a job to GitHub or MLflow, by outcome",
                ["dependency", "outcome"],
            ),
            rate_remaining=Gauge(
                "model_review_github_rate_limit_remaining",
                "GitHub requests left to the installation in the current hour (last answer)",
                ["installation"], multiprocess_mode="mostrecent",
            ),
            rate_limit=Gauge(
                "model_review_github_rate_limit",
                "GitHub requests the installation may make per hour (last answer)",
                ["installation"], multiprocess_mode="mostrecent",
            ),
        )  # fmt: skip
    return _metrics[name]


def delivery(event: str, outcome: str) -> None:
    _get("deliveries").labels(event or "-", outcome).inc()


def job(outcome: str, seconds: float) -> None:
    kind = outcome.split(" ", 1)[0]  # "done", "failed", "superseded", "requeued", "lost"
    _get("jobs").labels(kind).inc()
    _get("duration").labels(kind).observe(seconds)


def retry(reason: str) -> None:
    _get("retries").labels(reason).inc()


def github_rate_limit(installation: int, remaining: int, limit: int) -> None:
    """GitHub's rate limit for `installation`, as its last answer gave it."""
    _get("rate_remaining").labels(str(installation)).set(remaining)
    _get("rate_limit").labels(str(installation)).set(limit)


class Counted:
    """A port whose every method call is counted as a call to `dependency` ("github",
    "mlflow"), `ok` or `error` (it raised). A call may make several requests."""

    def __init__(self, inner: Any, dependency: str) -> None:
        self._inner, self._dependency = inner, dependency

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._inner, name)
        if not callable(found):
            return found

        def counted(*args: Any, **kwargs: Any) -> Any:
            outcome = "error"
            try:
                result = found(*args, **kwargs)
                outcome = "ok"
                return result
            finally:
                _get("calls").labels(self._dependency, outcome).inc()

        return counted


class _QueueCollector:
    """The queue's state as gauges, read at each scrape (nothing when it does not answer)."""

    def __init__(self, status: Callable[[], Any]) -> None:  # -> bot.app.queue.jobs.QueueStatus
        self._status = status

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        try:
            state = self._status()
        except Exception:  # Redis down: /readyz says so; the scrape still answers
            return
        for name, what, value in (
            ("model_review_queue_depth", "Jobs waiting", state.depth),
            ("model_review_queue_oldest_job_age_seconds", "Oldest waiting job", state.oldest_wait),
            ("model_review_workers", "Workers seen in the last minute", state.workers),
            ("model_review_failed_jobs", "Jobs that failed for good", state.failed),
        ):
            yield GaugeMetricFamily(name, what, value=float(value))


def exposition(status: Callable[[], Any] | None = None) -> bytes:
    """The text of a scrape: this process's metrics (every process's in multiprocess
    mode) and the queue's gauges."""
    from prometheus_client import REGISTRY, CollectorRegistry, generate_latest

    registry = REGISTRY
    if os.environ.get(MULTIPROC):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    _get("jobs")  # the metrics exist (at zero) from the first scrape on
    if status is None:
        return bytes(generate_latest(registry))
    scrape = CollectorRegistry()
    scrape.register(_QueueCollector(status))
    return bytes(generate_latest(registry)) + bytes(generate_latest(scrape))


def serve_worker_metrics(port: int) -> None:
    """A worker's metrics on `port` (prometheus_client's HTTP server, a daemon thread)."""
    from prometheus_client import start_http_server

    _get("jobs")
    start_http_server(port)
