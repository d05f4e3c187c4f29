"""The webhook App's settings, read from the environment once at start-up.

A missing or malformed variable is a UsageError that names it and says what to set,
so a misconfigured server stops at start-up instead of failing on the first delivery.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.app.wiring import pacing_on
from bot.constants import DEFAULT_API_URL
from bot.errors import UsageError
from bot.tracking.data import check_local_store

DEFAULT_MAX_BODY = 26 * 1024 * 1024  # GitHub caps payloads at 25 MB
DEFAULT_WORKERS = 4
DEFAULT_QUEUE_SIZE = 100
DEFAULT_LEASE_SECONDS = 15
DEFAULT_SWEEP_SECONDS = 5
DEFAULT_RETRY_DELAYS = (5, 30, 120)
DEFAULT_RECONCILE_REQUESTS = 300
DEFAULT_MLFLOW_MAX_PRS = 50  # re-reviews one registry event may queue
QUEUE_SCHEMES = ("redis://", "rediss://", "unix://")

# What the App reads from the environment (shown by `model-review serve --help`).
ENVIRONMENT: tuple[tuple[str, str], ...] = (
    ("GITHUB_APP_ID", "required: the App ID from the App's settings page"),
    ("GITHUB_APP_PRIVATE_KEY", "required: the App's private key (PEM text), or"),
    ("GITHUB_APP_PRIVATE_KEY_PATH", "the path of its .pem file"),
    ("GITHUB_WEBHOOK_SECRET", "required (web): the secret entered when the App was created"),
    ("MLFLOW_TRACKING_URI", "required: the address of the MLflow tracking server"),
    ("MLFLOW_TRACKING_TOKEN", "MLflow credentials if the server needs them (or"),
    ("MLFLOW_TRACKING_USERNAME", "and MLFLOW_TRACKING_PASSWORD)"),
    ("GITHUB_API_URL", f"GitHub's API (default {DEFAULT_API_URL})"),
    ("GITHUB_SERVER_URL", "GitHub's web address, for links (GitHub Enterprise)"),
    ("MODEL_REVIEW_GITHUB_PACING", "off: no pacing between GitHub writes (default on)"),
    ("MODEL_REVIEW_QUEUE", "redis://HOST:PORT/DB: reviews run by `model-review worker`"),
    ("MODEL_REVIEW_WORKERS", f"else review threads in this process (default {DEFAULT_WORKERS})"),
    ("MODEL_REVIEW_QUEUE_SIZE", f"deliveries that may wait (default {DEFAULT_QUEUE_SIZE})"),
    ("MODEL_REVIEW_MAX_BODY", f"largest delivery in bytes (default {DEFAULT_MAX_BODY})"),
    ("MODEL_REVIEW_LEASE_SECONDS", f"Redis: a PR lock's lease (default {DEFAULT_LEASE_SECONDS})"),
    (
        "MODEL_REVIEW_SWEEP_SECONDS",
        f"Redis: sweep for dead workers (default {DEFAULT_SWEEP_SECONDS})",
    ),
    ("MODEL_REVIEW_RETRY_DELAYS", "seconds before each retry (default 5,30,120)"),
    ("MODEL_REVIEW_RECONCILE_SECONDS", "run reconcile every N seconds (default: off)"),
    ("MODEL_REVIEW_LOG_FORMAT", "json: one JSON object per log line (default: text)"),
    ("MODEL_REVIEW_METRICS_PORT", "worker: serve Prometheus metrics on this port"),
    ("PROMETHEUS_MULTIPROC_DIR", "gunicorn with several processes: a shared metrics dir"),
    (
        "MODEL_REVIEW_RECONCILE_REQUESTS",
        f"GitHub requests a reconcile run may spend (default {DEFAULT_RECONCILE_REQUESTS})",
    ),
    ("MODEL_REVIEW_MLFLOW_WEBHOOK_SECRET", "MLflow registry webhooks' secret (unset: off, 404)"),
    (
        "MODEL_REVIEW_MLFLOW_MAX_PRS",
        f"re-reviews one registry event may queue (default {DEFAULT_MLFLOW_MAX_PRS})",
    ),
)


@dataclass(frozen=True)
class Settings:
    """What the App needs to run; `from_env` reads it at start-up."""

    app_id: int
    private_key: str = field(repr=False)
    webhook_secret: str = field(repr=False)
    tracking_uri: str
    api_url: str = DEFAULT_API_URL
    server_url: str | None = None
    queue_url: str = ""  # empty: in-process worker threads
    max_body: int = DEFAULT_MAX_BODY
    workers: int = DEFAULT_WORKERS
    queue_size: int = DEFAULT_QUEUE_SIZE
    github_throttle: bool = True  # PyGithub's pacing between requests
    # the Redis queue's timings (bot.app.queue.redisqueue.Tuning) and the periodic reconcile
    lease_seconds: int = DEFAULT_LEASE_SECONDS
    sweep_seconds: int = DEFAULT_SWEEP_SECONDS
    retry_delays: tuple[int, ...] = DEFAULT_RETRY_DELAYS
    reconcile_seconds: int = 0  # 0: the App does not reconcile by itself
    reconcile_requests: int = DEFAULT_RECONCILE_REQUESTS  # GitHub requests a run may spend
    # MLflow registry webhooks (bot.app.mlflowhook): "" turns POST /mlflow/webhook off
    mlflow_webhook_secret: str = field(default="", repr=False)
    mlflow_max_prs: int = DEFAULT_MLFLOW_MAX_PRS  # re-reviews one registry event may queue

    def secrets(self) -> tuple[str, ...]:
        """The values bot.redaction keeps out of every output: the webhook secret, the
        private key and its lines, and the queue's URL when it holds a password."""
        lines = [ln.strip() for ln in self.private_key.splitlines() if len(ln.strip()) >= 16]
        password = self.queue_url.rpartition("@")[0].rpartition(":")[2]
        return (self.webhook_secret, self.mlflow_webhook_secret, self.private_key, *lines, password)

    @classmethod
    def from_env(cls, env: Mapping[str, str], *, webhook: bool = True) -> Settings:
        """Settings from environment variables; a missing or malformed one is a
        UsageError naming the variable and what to set. `webhook=False` for the
        processes that receive no delivery (`model-review worker`, `reconcile`): they
        never check a signature, so GITHUB_WEBHOOK_SECRET is not required there."""
        return cls(
            app_id=_positive(env, "GITHUB_APP_ID", None, "the App ID from the App's settings page"),
            private_key=_private_key(env),
            webhook_secret=_webhook_secret(env) if webhook else "",
            tracking_uri=_tracking_uri(env),
            api_url=(env.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/"),
            server_url=env.get("GITHUB_SERVER_URL") or None,
            queue_url=_queue_url(env),
            github_throttle=pacing_on(env),
            max_body=_positive(env, "MODEL_REVIEW_MAX_BODY", DEFAULT_MAX_BODY, "a size in bytes"),
            workers=_positive(env, "MODEL_REVIEW_WORKERS", DEFAULT_WORKERS, "a thread count"),
            queue_size=_positive(
                env, "MODEL_REVIEW_QUEUE_SIZE", DEFAULT_QUEUE_SIZE, "how many deliveries may wait"
            ),
            lease_seconds=_positive(
                env, "MODEL_REVIEW_LEASE_SECONDS", DEFAULT_LEASE_SECONDS, "seconds, e.g. 15"
            ),
            sweep_seconds=_positive(
                env, "MODEL_REVIEW_SWEEP_SECONDS", DEFAULT_SWEEP_SECONDS, "seconds, e.g. 5"
            ),
            retry_delays=_delays(env),
            reconcile_seconds=_seconds_or_off(env, "MODEL_REVIEW_RECONCILE_SECONDS"),
            reconcile_requests=_positive(
                env,
                "MODEL_REVIEW_RECONCILE_REQUESTS",
                DEFAULT_RECONCILE_REQUESTS,
                "the GitHub requests one reconcile run may spend, e.g. 300",
            ),
            mlflow_webhook_secret=env.get("MODEL_REVIEW_MLFLOW_WEBHOOK_SECRET", "").strip(),
            mlflow_max_prs=_positive(
                env,
                "MODEL_REVIEW_MLFLOW_MAX_PRS",
                DEFAULT_MLFLOW_MAX_PRS,
                "how many re-reviews one MLflow registry event may queue, e.g. 50",
            ),
        )


def _required(env: Mapping[str, str], name: str, what: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise UsageError(f"{name} is not set", hint=f"set it to {what}")
    return value


def _webhook_secret(env: Mapping[str, str]) -> str:
    return _required(
        env, "GITHUB_WEBHOOK_SECRET", "the webhook secret entered when the App was created"
    )


def _tracking_uri(env: Mapping[str, str]) -> str:
    uri = _required(env, "MLFLOW_TRACKING_URI", "the address of the MLflow tracking server")
    check_local_store(uri, "MLFLOW_TRACKING_URI")
    return uri


def _positive(env: Mapping[str, str], name: str, default: int | None, what: str) -> int:
    raw = env.get(name, "").strip()
    if not raw and default is not None:
        return default
    if not raw:
        raise UsageError(f"{name} is not set", hint=f"set it to {what}")
    if not raw.isdigit() or int(raw) < 1:
        raise UsageError(
            f"{name} is `{raw}`, not a positive whole number", hint=f"set it to {what}"
        )
    return int(raw)


def _private_key(env: Mapping[str, str]) -> str:
    text, path = env.get("GITHUB_APP_PRIVATE_KEY", ""), env.get("GITHUB_APP_PRIVATE_KEY_PATH", "")
    source = "GITHUB_APP_PRIVATE_KEY"
    if not text.strip() and path.strip():
        source = f"GITHUB_APP_PRIVATE_KEY_PATH ({path})"
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(
                f"cannot read the App's private key: {exc}",
                hint="check GITHUB_APP_PRIVATE_KEY_PATH",
            ) from None
    if not text.strip():
        raise UsageError(
            "neither GITHUB_APP_PRIVATE_KEY nor GITHUB_APP_PRIVATE_KEY_PATH is set",
            hint="generate a private key on the App's settings page and pass its PEM text "
            "or the path of the .pem file",
        )
    text = text.strip().replace("\\n", "\n")  # one-line variables often escape newlines
    if not text.startswith("-----BEGIN") or "PRIVATE KEY-----" not in text:
        raise UsageError(
            f"{source} does not hold a PEM private key",
            hint="use the .pem file GitHub generated for the App, unchanged",
        )
    return text + "\n"


def _queue_url(env: Mapping[str, str]) -> str:
    url = env.get("MODEL_REVIEW_QUEUE", "").strip()
    if url and not url.startswith(QUEUE_SCHEMES):
        raise UsageError(
            f"MODEL_REVIEW_QUEUE is `{url}`, not a Redis URL",
            hint="leave it empty for the in-process queue or set redis://HOST:PORT/DB",
        )
    return url


def _delays(env: Mapping[str, str]) -> tuple[int, ...]:
    name = "MODEL_REVIEW_RETRY_DELAYS"
    raw = env.get(name, "").strip()
    if not raw:
        return DEFAULT_RETRY_DELAYS
    parts = [p.strip() for p in raw.split(",")]
    if not all(p.isdigit() for p in parts):
        raise UsageError(
            f"{name} is `{raw}`, not a list of seconds",
            hint="set it to whole seconds between retries, e.g. 5,30,120 (0: at once)",
        )
    return tuple(int(p) for p in parts)


def _seconds_or_off(env: Mapping[str, str], name: str) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return 0
    if not raw.isdigit():
        raise UsageError(
            f"{name} is `{raw}`, not a whole number of seconds",
            hint="set it to the seconds between runs, e.g. 600 (0 or empty: off)",
        )
    return int(raw)
