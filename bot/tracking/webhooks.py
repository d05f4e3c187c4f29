"""MLflow's registry webhooks, through MLflow's client (part of the MLflow adapter):
create, list, test and delete the webhook that tells the App when production moves.

Webhooks live in the tracking server's SQL store (a file store has none). The secret
goes to MLflow once, at creation; nothing here returns or logs it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from bot.errors import TrackingError, UsageError
from bot.tracking import data as td
from bot.tracking import errors as te

P = ParamSpec("P")
T = TypeVar("T")

# what the App follows (bot.handlers.following.FOLLOWED), in MLflow's spelling
DEFAULT_EVENTS = (
    "model_version_alias.created",
    "model_version_alias.deleted",
    "model_version.created",
    "model_version_tag.set",
    "model_version_tag.deleted",
)
TEST_EVENT = "registered_model.created"  # the App checks its signature, then ignores it
SQL_HINT = (
    "MLflow keeps webhooks in a SQL backend (`mlflow server --backend-store-uri "
    "sqlite:///... or postgresql://...`); a URL on a private address also needs "
    "MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS=true on the MLflow server (and "
    "MLFLOW_WEBHOOK_ALLOWED_SCHEMES=http,https for a plain http URL)"
)
PAGE = 100


@dataclass(frozen=True)
class RegistryHook:
    """A webhook as MLflow lists it (MLflow never gives its secret back)."""

    webhook_id: str
    name: str
    url: str
    events: tuple[str, ...]
    status: str


@dataclass(frozen=True)
class HookTest:
    """What MLflow's test delivery got back."""

    success: bool
    status: int | None
    error: str | None


def _hook(webhook: Any) -> RegistryHook:
    return RegistryHook(
        webhook_id=str(webhook.webhook_id),
        name=str(webhook.name),
        url=str(webhook.url),
        events=tuple(str(e) for e in webhook.events),
        status=str(webhook.status),
    )


class MlflowWebhooks:
    """The registry webhooks of one tracking server."""

    def __init__(self, tracking_uri: str, source: str = "MLFLOW_TRACKING_URI") -> None:
        from mlflow.tracking import MlflowClient

        td.check_local_store(tracking_uri, source)
        self._shown = td.without_credentials(tracking_uri)
        self._client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)

    def _call(self, doing: str, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            error = te.error_for(exc, doing, self._shown)
            if isinstance(error, te.Missing):
                raise TrackingError(
                    f"MLflow at {self._shown} has no such webhook, or no webhooks at all, "
                    f"while {doing}: {te.detail(exc)}",
                    hint="see `model-review mlflow-webhook list`; " + SQL_HINT,
                ) from None
            if te.status_of(exc)[1] in ("INVALID_PARAMETER_VALUE", "FEATURE_DISABLED"):
                raise UsageError(
                    f"MLflow refused {doing}: {te.detail(exc)}", hint=SQL_HINT
                ) from None
            raise error from None

    def create(
        self, name: str, url: str, events: Sequence[str], secret: str, description: str
    ) -> RegistryHook:
        created = self._call(
            f"creating the webhook {name!r}",
            self._client.create_webhook,
            name=name,
            url=url,
            events=list(events),  # type: ignore[arg-type]  # MLflow checks the names
            description=description,
            secret=secret,
        )
        return _hook(created)

    def list(self) -> list[RegistryHook]:
        found: list[RegistryHook] = []
        token: str | None = None
        while True:
            page = self._call(
                "listing the webhooks",
                self._client.list_webhooks,
                max_results=PAGE,
                page_token=token,
            )
            found += [_hook(w) for w in page]
            token = getattr(page, "token", None)
            if not token:
                return found

    def test(self, webhook_id: str, event: str = TEST_EVENT) -> HookTest:
        result = self._call(
            f"testing webhook {webhook_id}",
            self._client.test_webhook,
            webhook_id,
            event=event,  # type: ignore[arg-type]  # MLflow checks the name
        )
        return HookTest(bool(result.success), result.response_status, result.error_message)

    def delete(self, webhook_id: str) -> None:
        self._call(f"deleting webhook {webhook_id}", self._client.delete_webhook, webhook_id)
