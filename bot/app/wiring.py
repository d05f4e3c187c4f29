"""The one wiring point: the only module that builds the real adapters.

Both entry points (the Action and the webhook's jobs) and the offline renderer get
their MLflow client, GitHub client and image host from here, so tests and benchmarks
replace an adapter by passing a factory, never by patching a module global.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, MutableMapping
from datetime import UTC, datetime

from bot.config.schema import Config
from bot.domain import PullRequest
from bot.errors import TrackingError
from bot.ports import GitHubPort, ImagePort, RunsPort

NO_TRACKING = "MLFLOW_TRACKING_URI is not set"
NO_TRACKING_HINT = "pass `mlflow-tracking-uri` to the model-review action"
MLFLOW_AUTH = ("MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")
ISO_SECONDS = "%Y-%m-%dT%H:%M:%SZ"

# (config, PR, MLflow, the bot's previous comment body) -> where plots go (None: nowhere)
ImagesFor = Callable[[Config, PullRequest, RunsPort, "str | None"], "ImagePort | None"]

_ENV_LOCK = threading.Lock()  # worker threads share os.environ


def utc_now() -> str:
    """The clock both entry points give the handlers (UTC, whole seconds)."""
    return datetime.now(UTC).strftime(ISO_SECONDS)


def prepare_mlflow_env(env: MutableMapping[str, str] | None = None) -> None:
    """Drop empty MLflow credentials (the Action maps empty inputs to empty variables)
    and bound MLflow's retries and timeouts where the user set none. MLflow's client
    reads os.environ (the default target), so this is process-wide by nature; it is
    idempotent and serialised, so any thread may call it before building a client."""
    from bot.tracking.data import configure_client_env

    with _ENV_LOCK:
        target = os.environ if env is None else env
        for name in MLFLOW_AUTH:
            if target.get(name) == "":
                del target[name]
        configure_client_env(target)


def make_runs(tracking_uri: str, config: Config) -> RunsPort:
    """The MLflow adapter for one review (the process environment prepared once)."""
    from bot.tracking.client import MlflowRuns

    if not tracking_uri:
        raise TrackingError(NO_TRACKING, hint=NO_TRACKING_HINT)
    prepare_mlflow_env()
    return MlflowRuns(tracking_uri, ui_url=config.mlflow.ui_url)


def images_for(github: GitHubPort) -> ImagesFor:
    """Where plots go for reviews published through `github` (by `plots.host`)."""
    from bot.app.images import image_host

    def build(
        config: Config, pr: PullRequest, runs: RunsPort, previous: str | None
    ) -> ImagePort | None:
        return image_host(config, pr, github, runs, previous)

    return build
