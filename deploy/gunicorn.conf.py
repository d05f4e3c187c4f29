# gunicorn's settings for the App's web process, used by the container image and the
# Kubernetes example (command-line options win over them, e.g. --bind or --workers):
#   gunicorn -c deploy/gunicorn.conf.py 'bot.webhook:create_app()'
# The number of processes is gunicorn's own default: WEB_CONCURRENCY, else 1 (with the
# in-process queue keep 1; with the Redis queue any number, and PROMETHEUS_MULTIPROC_DIR).
import os
from pathlib import Path

bind = "0.0.0.0:8080"
worker_class = "gthread"
threads = 8
timeout = 60  # a request that takes longer is cut off (deliveries are answered at once)
# SIGTERM: gunicorn stops accepting connections and lets the requests in flight finish,
# for up to 25 s: under Kubernetes' default grace period of 30 s (tests/test_drain.py)
graceful_timeout = 25
accesslog = "-"


def on_starting(server: object) -> None:
    """Metrics of several processes (prometheus_client's multiprocess mode): the
    directory exists and holds no file of an earlier start."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        for stale in Path(folder).glob("*.db"):
            stale.unlink()


def child_exit(server: object, worker: object) -> None:
    """A gunicorn process ended: its live gauges leave the scrape."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]
