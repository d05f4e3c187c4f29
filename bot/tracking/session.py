"""The MLflow adapter's one path to the tracking server.

`Session` holds the client and what one review has read (experiments, artifact
locations, registered and logged models), and makes every call: errors leave as
`TrackingError`s written for the user (bot.tracking.errors); files are read only from
the tracking server itself, never from another host their location names
(bot.tracking.locations). mlflow is imported lazily, so importing this module stays cheap.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ParamSpec, TypeVar
from urllib.parse import urlsplit

from bot.domain import (
    ArtifactInfo,
    LoggedModelInfo,
)
from bot.errors import UsageError
from bot.tracking import data as td
from bot.tracking import errors as te
from bot.tracking import locations

log = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")


IDS_PER_SEARCH = 200  # run ids per `IN (...)` filter
EXPERIMENTS_PER_SEARCH = 500
HISTORY_RUNS_PER_CALL = 100  # server limit of get-history-bulk-interval
HISTORY_MAX_POINTS = 2500  # server limit per run
COMMIT_RUNS_LIMIT = 50  # runs_for_commits returns at most this many runs
MODEL_META_LIMIT = 20  # MLmodel files read per fetch (for signature and flavors)


class Session:
    """One tracking server, for one review: the calls and the caches."""

    def __init__(
        self, tracking_uri: str, ui_url: str | None = None, source: str = "MLFLOW_TRACKING_URI"
    ) -> None:
        """`source`: where the URI came from (a flag, a variable), for error messages."""
        from mlflow.tracking import MlflowClient  # lazy: keep importing this module cheap

        td.check_local_store(tracking_uri, source)
        self._uri = tracking_uri
        self._shown = td.without_credentials(tracking_uri)  # for messages and links
        self._source = source
        self._ui_url = ui_url
        self.request_count = 0  # API calls made: each page, listing and file is one
        self._experiments: dict[str, str] | None = None
        self._artifact_uris: dict[str, str] = {}
        # registered models read during this review (candidate and production are
        # usually versions of the same model): name -> the model, or None if absent
        self._models: dict[str, Any] = {}
        # logged models seen while fetching runs: id -> (artifact location, MLmodel facts)
        self._logged: dict[str, tuple[str, LoggedModelInfo]] = {}
        try:
            self.client = MlflowClient(tracking_uri=tracking_uri)
        except Exception as exc:
            raise UsageError(
                f"{source} `{self._shown}` is not a tracking URI MLflow accepts",
                hint=td.uri_hint(tracking_uri),
            ) from exc

    # --- calling MLflow ---------------------------------------------------------
    def invoke(self, doing: str, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Call MLflow once: `Missing` for "does not exist", else TrackingError."""
        self.request_count += 1
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            raise te.error_for(exc, doing, self._shown, self._source) from exc

    def call(self, doing: str, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`invoke` where "does not exist" is an error too: for searches it means
        the URI does not lead to MLflow's API; for writes, that the target is gone."""
        try:
            return self.invoke(doing, fn, *args, **kwargs)
        except te.Missing as exc:
            raise te.not_found(exc, doing, self._shown, self._source) from exc

    def lookup(self, doing: str, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T | None:
        """`invoke`, but None when MLflow says the thing does not exist."""
        try:
            return self.invoke(doing, fn, *args, **kwargs)
        except te.Missing:
            return None

    def host_creds(self) -> Any | None:
        """Host credentials of a REST store (auth variables applied); None for others."""
        get_creds = getattr(self.client._tracking_client.store, "get_host_creds", None)
        return get_creds() if callable(get_creds) else None

    def get(self, endpoint: str, params: Mapping[str, Any], doing: str) -> Any:
        """One GET on the tracking server's REST API (a `requests.Response`)."""
        from mlflow.utils.rest_utils import (  # lazy
            http_request,
            verify_rest_response,
        )

        creds = self.host_creds()
        if creds is None:
            raise te.Missing(f"{self._shown} has no REST API")
        response = self.invoke(doing, http_request, creds, endpoint, "GET", params=params)
        if response.status_code != 200:
            try:
                verify_rest_response(response, endpoint)
            except Exception as exc:
                raise te.error_for(exc, doing, self._shown, self._source) from exc
        return response

    def pages(
        self, doing: str, fn: Callable[..., Any], *args: Any, strict: bool = False, **kwargs: Any
    ) -> list[Any]:
        """Every page of a paged client call; [] when the server lacks the resource
        (unless `strict`: then that is an error)."""
        call = self.call if strict else self.lookup
        items: list[Any] = []
        token: str | None = None
        while True:
            page = call(doing, fn, *args, page_token=token, **kwargs)
            items.extend(page or [])
            token = page.token if page is not None else None
            if not token:
                return items

    def served(self, location: str) -> bool:
        return locations.served(location, self._uri, rest=self.host_creds() is not None)

    def location(self, run_id: str, doing: str) -> str | None:
        """The run's artifact location (one lookup on the tracking server unless this
        instance fetched the run); None when the run does not exist."""
        if run_id not in self._artifact_uris:
            run = self.lookup(doing, self.client.get_run, run_id)
            if run is None:
                return None
            self._artifact_uris[run_id] = run.info.artifact_uri
        return self._artifact_uris[run_id]

    def read_file(self, location: str, relpath: str, doing: str) -> bytes:
        """One file below an artifact location: a single GET when this server proxies
        the artifacts, a local copy for a local store; anything else is refused
        before a request is made (bot.tracking.locations)."""
        td.check_relative(relpath)
        creds = self.host_creds()
        if not locations.served(location, self._uri, rest=creds is not None):
            raise locations.elsewhere(doing)
        if creds is not None:
            server = urlsplit(creds.host).netloc
            endpoint = td.proxied_artifact(location, relpath, server)
            if endpoint is None:  # unreachable: `served` admits only these
                raise locations.elsewhere(doing)
            return bytes(self.get(endpoint, {}, doing).content)
        from mlflow.artifacts import download_artifacts  # lazy

        with tempfile.TemporaryDirectory(prefix="model-review-") as tmp:
            uri = f"{location.rstrip('/')}/{relpath}"
            local = self.invoke(
                doing, download_artifacts, artifact_uri=uri, dst_path=tmp, tracking_uri=self._uri
            )
            return Path(local).read_bytes()

    def ui_base(self) -> str | None:
        return td.ui_base(self._uri, self._ui_url)

    def model_location(self, model_id: str) -> str | None:
        """A logged model's artifact location (one read unless seen with its run)."""
        if model_id not in self._logged:
            doing = f"reading logged model {model_id}"
            model = self.lookup(doing, self.client.get_logged_model, model_id)
            return str(model.artifact_location) if model else None
        return self._logged[model_id][0]

    def known_model(self, model_id: str) -> LoggedModelInfo | None:
        return self._logged[model_id][1] if model_id in self._logged else None

    def rest_api(self) -> bool:
        """Whether the store is a tracking server's REST API (not a local store)."""
        return self.host_creds() is not None

    def model_listing(self, model_id: str, doing: str) -> list[ArtifactInfo]:
        """A logged model's files in a local store (a REST store lists through `get`)."""
        found = self.lookup(doing, self.client.list_logged_model_artifacts, model_id) or []
        return [ArtifactInfo(f.path, bool(f.is_dir), f.file_size) for f in found]
