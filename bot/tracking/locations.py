"""Where a run's artifacts live, and whether the bot reads them: one host for credentials.

MLflow's client sends the tracking credentials (`MLFLOW_TRACKING_TOKEN`, basic auth)
to whatever host an artifact location names, and a location can name any host
(`mlflow-artifacts://OTHER/...`, `http://...`; older servers let anyone create such
experiments). So the bot reads artifacts only through the tracking server itself:
locations it proxies (`mlflow-artifacts:/...`, or naming the server's own address)
over its REST API, or, for a local store without a server, local folders. Anything
else (another host, S3, GCS, Azure) is not read: nothing is sent there. Pure.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from bot.errors import TrackingError
from bot.tracking.data import without_credentials

ARTIFACTS_ELSEWHERE = "artifacts stored outside the tracking server are not read"
SERVE_ARTIFACTS_HINT = (
    "let the tracking server serve them (`mlflow server --serve-artifacts`, the default "
    "since MLflow 2): runs logged since then are read through it"
)


def served(location: str, tracking_uri: str, *, rest: bool) -> bool:
    """Whether artifacts at `location` are read through the tracking server (`rest`:
    a server's REST API) or, for a local store, from a local folder."""
    parts = urlsplit(location)
    if not rest:
        return parts.scheme in ("", "file") and parts.netloc in ("", "localhost")
    own = urlsplit(without_credentials(tracking_uri)).netloc.lower()
    return parts.scheme == "mlflow-artifacts" and parts.netloc.lower() in ("", own)


def elsewhere(what: str) -> TrackingError:
    """The error for a read refused because the artifacts live on another host."""
    return TrackingError(f"{ARTIFACTS_ELSEWHERE} ({what})", hint=SERVE_ARTIFACTS_HINT)
