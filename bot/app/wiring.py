"""The one wiring point: the only module that builds the real adapters.

Both entry points (the Action and the webhook's jobs) and the offline renderer get
their MLflow client, GitHub client and image host from here, so tests and benchmarks
replace an adapter by passing a factory, never by patching a module global.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from datetime import UTC, datetime

from bot.config.schema import Config
from bot.constants import iso_seconds
from bot.domain import HostedImage, PullRequest
from bot.errors import TrackingError
from bot.ports import GitHubPort, ImagePort, RunsPort

NO_TRACKING = "MLFLOW_TRACKING_URI is not set"
NO_TRACKING_HINT = "pass `mlflow-tracking-uri` to the model-review action"
MLFLOW_AUTH = ("MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")

PACING_VARIABLE = "MODEL_REVIEW_GITHUB_PACING"

# (repository, token, API address, the bot's login, web address) -> the GitHub adapter
GitHubFactory = Callable[[str, str, str, str, "str | None"], GitHubPort]

# (config, PR, MLflow, the images the bot published before) -> where plots go (None: nowhere)
ImagesFor = Callable[[Config, PullRequest, RunsPort, "Sequence[HostedImage]"], "ImagePort | None"]

_ENV_LOCK = threading.Lock()  # worker threads share os.environ


def utc_now() -> str:
    """The clock both entry points give the handlers (UTC, whole seconds)."""
    return iso_seconds(datetime.now(UTC))


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


def pacing_on(env: Mapping[str, str]) -> bool:
    """Whether GitHub writes are paced (the default: GitHub's secondary rate limits).
    `MODEL_REVIEW_GITHUB_PACING=off` turns it off, for a GitHub Enterprise server
    without those limits, or a test or benchmark against a local stand-in."""
    return env.get(PACING_VARIABLE, "").strip().lower() not in {"off", "0", "false", "no"}


def github_for(env: Mapping[str, str]) -> GitHubFactory:
    """The GitHub adapter factory for the Action, paced as `env` says."""
    from bot.githost.client import GitHubRepo

    throttle = pacing_on(env)
    org_token = env.get("MODEL_REVIEW_ORG_TOKEN") or None  # reads team membership

    def build(
        repo: str, token: str, base_url: str, bot_login: str, server_url: str | None
    ) -> GitHubPort:
        return GitHubRepo(
            repo,
            token,
            base_url=base_url,
            bot_login=bot_login,
            server_url=server_url,
            throttle=throttle,
            org_token=org_token,
        )

    return build


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
        config: Config, pr: PullRequest, runs: RunsPort, published: Sequence[HostedImage]
    ) -> ImagePort | None:
        return image_host(config, pr, github, runs, published)

    return build
