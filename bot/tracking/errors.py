"""Pure helpers of the MLflow adapter (bot.tracking.client) for its failures: what an
MLflow exception means (missing, refused, unreachable) and the `TrackingError` it
becomes, written for the user.

Nothing here imports mlflow: exceptions are read by attribute.
"""

from __future__ import annotations

from typing import Any

import requests

from bot.errors import TrackingError
from bot.redaction import redact

_AUTH_HINT = "check MLFLOW_TRACKING_TOKEN / MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD"
UNREACHABLE_HINT = "check {source} and that the server is up"
NOTHING_FOUND_HINT = (
    "check {source} (the server's address, with its path prefix if it has one) "
    "and the names and ids you asked for"
)


def status_of(exc: BaseException) -> tuple[int | None, str | None]:
    """HTTP status and MLflow error code of an MLflow exception (None when unknown)."""
    code = getattr(exc, "error_code", None)
    get_status = getattr(exc, "get_http_status_code", None)
    status = get_status() if callable(get_status) else None
    return (int(status) if status else None), (str(code) if code else None)


def is_missing(exc: BaseException) -> bool:
    """MLflow's ways of saying "no such thing": 404, RESOURCE_DOES_NOT_EXIST, and for
    an unknown alias INVALID_PARAMETER_VALUE "Registered model alias ... not found"."""
    status, code = status_of(exc)
    if code == "INVALID_PARAMETER_VALUE":
        return "alias" in str(exc) and "not found" in str(exc)
    return code in ("RESOURCE_DOES_NOT_EXIST", "ENDPOINT_NOT_FOUND") or status == 404


def is_connection_error(exc: BaseException) -> bool:
    """True when the server could not be reached (refused, DNS, timeout), however
    deep MLflow wrapped the original error."""
    return _caused_by(exc, requests.ConnectionError | requests.Timeout | ConnectionError)


def is_transient(exc: BaseException) -> bool:
    """True when the server was down or busy: unreachable, timed out, 5xx or 429
    (also once MLflow's own retries of those ran out)."""
    status, _ = status_of(exc)
    if status is not None and (status >= 500 or status == 429):
        return True
    busy = requests.ConnectionError | requests.Timeout | requests.exceptions.RetryError
    # MLflow's retries of 5xx answers end in urllib3's "too many 500 error responses"
    return _caused_by(exc, busy | ConnectionError) or "too many 5" in str(exc)


def _caused_by(exc: BaseException, kinds: Any) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, kinds):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class Missing(Exception):
    """MLflow said the thing does not exist (404 / RESOURCE_DOES_NOT_EXIST)."""


def error_for(
    exc: BaseException, doing: str, shown: str, source: str = "MLFLOW_TRACKING_URI"
) -> Exception:
    """What a failed call to MLflow at `shown` becomes: `Missing` for "does not exist",
    else a TrackingError that says what to check (`source`: where the URI came from,
    a flag or a variable)."""
    status, _ = status_of(exc)
    where = f"MLflow at {shown}"
    if is_missing(exc):
        return Missing(redact(str(exc)))
    if status in (401, 403):
        return TrackingError(f"{where} refused access ({status}) while {doing}", _AUTH_HINT)
    if is_connection_error(exc):
        hint = UNREACHABLE_HINT.format(source=source)
        return TrackingError(f"{where} cannot be reached while {doing}", hint, transient=True)
    hint = "check the server's logs and re-run once it is healthy"
    return TrackingError(
        f"{where} failed while {doing}: {detail(exc)}", hint, transient=is_transient(exc)
    )


def not_found(
    exc: BaseException, doing: str, shown: str, source: str = "MLFLOW_TRACKING_URI"
) -> TrackingError:
    """The error for "does not exist" where something must exist: for searches it
    means the URI does not lead to MLflow's API; for writes, that the target is gone."""
    return TrackingError(
        f"MLflow at {shown} found nothing while {doing}: {detail(exc)}",
        hint=NOTHING_FOUND_HINT.format(source=source),
    )


DETAIL_CHARS = 200


def detail(exc: BaseException) -> str:
    """MLflow's error code and the first line of its message, redacted, then cut to
    DETAIL_CHARS: never the raw response body, and never a credential the server or a
    proxy in front of it echoed (an `Authorization` header repeated in an error)."""
    _, code = status_of(exc)
    text = str(getattr(exc, "message", exc)).strip().split("\n")[0]
    text = redact(text.split(". Response body:")[0])
    if code and not text.startswith(code):
        text = f"{code}: {text}"
    return text if len(text) <= DETAIL_CHARS else text[: DETAIL_CHARS - 1] + "…"
