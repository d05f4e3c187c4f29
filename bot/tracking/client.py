"""The MLflow adapter: the only module of the bot that imports mlflow.

`MlflowRuns` implements `bot.ports.RunsPort` with `mlflow.tracking.MlflowClient`
(mlflow-skinny is enough) plus the few REST calls the client has no method for.
MLflow objects are translated into `bot.domain` dataclasses (bot.tracking.data)
before they leave; MLflow failures leave as `TrackingError`s written for the user
(bot.tracking.errors).
Every request goes to the tracking server: artifacts are read through it, never from
another host their location names (bot.tracking.locations). `fetch_runs` reads
artifacts and logged models only of runs the allow-lists admit.
mlflow is imported lazily, so importing this module stays cheap.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar
from urllib.parse import urlsplit

import yaml

from bot.domain import (
    ArtifactInfo,
    LoggedModelInfo,
    ModelFiles,
    ModelRecord,
    ModelVersionInfo,
    RunSnapshot,
)
from bot.errors import TrackingError, UsageError
from bot.ports import Admit, Point
from bot.tracking import data as td
from bot.tracking import errors as te
from bot.tracking import locations, modelfiles

if TYPE_CHECKING:
    from mlflow.entities import Run

log = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")

IDS_PER_SEARCH = 200  # run ids per `IN (...)` filter
EXPERIMENTS_PER_SEARCH = 500
HISTORY_RUNS_PER_CALL = 100  # server limit of get-history-bulk-interval
HISTORY_MAX_POINTS = 2500  # server limit per run
COMMIT_RUNS_LIMIT = 50  # runs_for_commits returns at most this many runs
MODEL_META_LIMIT = 20  # MLmodel files read per fetch (for signature and flavors)


class MlflowRuns:
    """`RunsPort` for an MLflow tracking server (or any store MlflowClient accepts)."""

    def __init__(
        self, tracking_uri: str, ui_url: str | None = None, source: str = "MLFLOW_TRACKING_URI"
    ) -> None:
        """`source`: where the URI came from (a flag, a variable), for error messages."""
        from mlflow.tracking import MlflowClient  # lazy: keep importing this module cheap

        td.check_local_store(tracking_uri, source)
        self._uri = tracking_uri
        self._shown = td.without_credentials(tracking_uri)  # for messages and links
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
            self._client = MlflowClient(tracking_uri=tracking_uri)
        except Exception as exc:
            raise UsageError(
                f"{source} `{self._shown}` is not a tracking URI MLflow accepts",
                hint=td.uri_hint(tracking_uri),
            ) from exc

    # --- calling MLflow ---------------------------------------------------------
    def _invoke(self, doing: str, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Call MLflow once: `Missing` for "does not exist", else TrackingError."""
        self.request_count += 1
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            raise te.error_for(exc, doing, self._shown) from exc

    def _call(self, doing: str, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`_invoke` where "does not exist" is an error too: for searches it means
        the URI does not lead to MLflow's API; for writes, that the target is gone."""
        try:
            return self._invoke(doing, fn, *args, **kwargs)
        except te.Missing as exc:
            raise te.not_found(exc, doing, self._shown) from exc

    def _lookup(
        self, doing: str, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs
    ) -> T | None:
        """`_invoke`, but None when MLflow says the thing does not exist."""
        try:
            return self._invoke(doing, fn, *args, **kwargs)
        except te.Missing:
            return None

    def _host_creds(self) -> Any | None:
        """Host credentials of a REST store (auth variables applied); None for others."""
        get_creds = getattr(self._client._tracking_client.store, "get_host_creds", None)
        return get_creds() if callable(get_creds) else None

    def _get(self, endpoint: str, params: Mapping[str, Any], doing: str) -> Any:
        """One GET on the tracking server's REST API (a `requests.Response`)."""
        from mlflow.utils.rest_utils import (  # lazy
            http_request,
            verify_rest_response,
        )

        creds = self._host_creds()
        if creds is None:
            raise te.Missing(f"{self._shown} has no REST API")
        response = self._invoke(doing, http_request, creds, endpoint, "GET", params=params)
        if response.status_code != 200:
            try:
                verify_rest_response(response, endpoint)
            except Exception as exc:
                raise te.error_for(exc, doing, self._shown) from exc
        return response

    def _pages(
        self, doing: str, fn: Callable[..., Any], *args: Any, strict: bool = False, **kwargs: Any
    ) -> list[Any]:
        """Every page of a paged client call; [] when the server lacks the resource
        (unless `strict`: then that is an error)."""
        call = self._call if strict else self._lookup
        items: list[Any] = []
        token: str | None = None
        while True:
            page = call(doing, fn, *args, page_token=token, **kwargs)
            items.extend(page or [])
            token = page.token if page is not None else None
            if not token:
                return items

    # --- runs ---------------------------------------------------------------------
    def _experiment_names(self, refresh: bool = False) -> dict[str, str]:
        if self._experiments is None or refresh:
            found = self._pages(
                "listing experiments",
                self._client.search_experiments,
                max_results=1000,
                strict=True,
            )
            self._experiments = {e.experiment_id: e.name for e in found}
        return self._experiments

    def _search(self, experiment_ids: Sequence[str], where: str, limit: int) -> list[Run]:
        runs: list[Run] = []
        for exp_chunk in td.chunks(sorted(experiment_ids), EXPERIMENTS_PER_SEARCH):
            page = self._call(
                "searching runs",
                self._client.search_runs,
                exp_chunk,
                filter_string=where,
                max_results=limit,
                order_by=["attributes.start_time DESC"],
            )
            runs.extend(r for r in page if r.info.lifecycle_stage == "active")
        return runs

    def fetch_runs(
        self, run_ids: Sequence[str], admit: Admit | None = None
    ) -> dict[str, RunSnapshot]:
        ids = td.valid_ids(run_ids)
        if not ids:
            return {}
        cached = self._experiments is not None
        experiments = set(self._experiment_names())
        runs = self._runs_by_id(experiments, ids)
        missing = [i for i in ids if i not in {r.info.run_id for r in runs}]
        if missing and cached:  # a run may sit in an experiment created since we listed
            runs += self._runs_by_id(set(self._experiment_names(True)) - experiments, missing)
        found = {s.run_id: s for s in self._snapshots(runs, admit)}
        return {i: found[i] for i in ids if i in found}

    def _runs_by_id(self, experiment_ids: set[str], ids: list[str]) -> list[Run]:
        runs: list[Run] = []
        for chunk in td.chunks(ids, IDS_PER_SEARCH) if experiment_ids else ():
            where = f"attributes.run_id IN {td.in_list(chunk)}"
            runs += self._search(list(experiment_ids), where, len(chunk))
        return runs

    def runs_for_commits(
        self, shas: Sequence[str], admit: Admit | None = None
    ) -> list[RunSnapshot]:
        """Newest first, at most COMMIT_RUNS_LIMIT; costs one search per SHA. A SHA
        shorter than 40 hex digits (at least 7) matches the commits it starts."""
        wanted = [s.lower() for s in td.valid_ids(shas, td.SHA)]
        experiments = list(self._experiment_names()) if wanted else []
        runs: list[Run] = []
        for sha in wanted:  # tag filters have no IN: one search per commit
            runs += self._search(experiments, td.commit_filter(sha), COMMIT_RUNS_LIMIT)
        runs.sort(key=lambda r: r.info.start_time or 0, reverse=True)
        return self._snapshots(runs[:COMMIT_RUNS_LIMIT], admit)

    def related_runs(
        self, experiment_id: str, tag: str, value: str, limit: int
    ) -> list[RunSnapshot]:
        """One search; only the tags and values the repeats need are ever sent."""
        pattern = td.RELATED_TAGS.get(tag)
        if pattern is None or not pattern.fullmatch(value):
            return []
        if not td.RUN_ID.fullmatch(experiment_id):
            return []
        where = f"tags.{tag} = '{value}'"
        names = self._experiments or {}
        found = self._search([experiment_id], where, max(1, min(limit, 1000)))
        return [td.snapshot(r, names.get(experiment_id), (), (), ()) for r in found]

    def _snapshots(self, runs: list[Run], admit: Admit | None) -> list[RunSnapshot]:
        """Runs as looked up, with their registered versions (the allow-lists need
        them); then, for the runs `admit` lets through, logged models and artifacts."""
        versions = self._versions_of([r.info.run_id for r in runs]) if runs else []
        names = self._experiments or {}
        looked_up = [
            td.snapshot(
                run,
                names.get(run.info.experiment_id),
                (),
                (),
                tuple(v for v in versions if v.run_id == run.info.run_id),
            )
            for run in runs
        ]
        admitted = [r for r, s in zip(runs, looked_up, strict=True) if not admit or admit(s)]
        models = self._logged_models(admitted) if admitted else {}
        details = {r.info.run_id: self._artifacts_of(r) for r in admitted}
        return [
            replace(
                snap,
                artifacts=details[snap.run_id][0],
                artifacts_elsewhere=details[snap.run_id][1],
                logged_models=tuple(models.get(snap.run_id, ())),
            )
            if snap.run_id in details
            else snap
            for snap in looked_up
        ]

    def _artifacts_of(self, run: Run) -> tuple[tuple[ArtifactInfo, ...], bool]:
        """A run's artifact tree, and whether its artifacts live elsewhere (not read)."""
        self._artifact_uris[run.info.run_id] = run.info.artifact_uri
        if not self._served(run.info.artifact_uri):
            return (), True
        skip = td.skipped_folders(run.data.tags)
        return tuple(self.artifact_tree(run.info.run_id, skip)), False

    def _served(self, location: str) -> bool:
        return locations.served(location, self._uri, rest=self._host_creds() is not None)

    # --- logged models and registered versions -------------------------------------
    def _logged_models(self, runs: list[Run]) -> dict[str, list[LoggedModelInfo]]:
        """Logged models per run: one search for all runs, then one MLmodel read per
        model (signature, flavors), at most MODEL_META_LIMIT per fetch."""
        producers = [r for r in runs if r.outputs and r.outputs.model_outputs]
        if not producers:
            return {}
        where = f"source_run_id IN {td.in_list([r.info.run_id for r in producers])}"
        experiments = sorted({r.info.experiment_id for r in producers})
        found = self._pages(
            "searching logged models",
            self._client.search_logged_models,
            experiments,
            filter_string=where,
        )
        out: dict[str, list[LoggedModelInfo]] = {}
        for n, model in enumerate(sorted(found, key=lambda m: m.creation_timestamp or 0)):
            readable = n < MODEL_META_LIMIT and self._served(model.artifact_location)
            meta = self._model_meta(model.model_id, model.artifact_location) if readable else None
            info = td.logged_model(model, meta)
            self._logged[model.model_id] = (model.artifact_location, info)
            out.setdefault(model.source_run_id, []).append(info)
        return out

    def _model_meta(self, model_id: str, location: str) -> object:
        """The parsed MLmodel file below a logged model's location, or None."""
        try:
            return yaml.safe_load(self._read_file(location, "MLmodel", "reading an MLmodel file"))
        except (TrackingError, te.Missing, yaml.YAMLError) as exc:
            log.warning("could not read the MLmodel file of logged model %s: %s", model_id, exc)
            return None

    def _versions_of(self, run_ids: list[str]) -> list[ModelVersionInfo]:
        """Registered versions built from these runs: one search, then one read per
        registered model for the aliases (search results carry none)."""
        found: list[Any] = []
        for chunk in td.chunks(run_ids, IDS_PER_SEARCH):
            where = f"run_id IN {td.in_list(chunk)}"
            found += self._pages(
                "searching model versions", self._client.search_model_versions, where
            )
        aliases: dict[tuple[str, str], list[str]] = {}
        for name in sorted({v.name for v in found}):
            model = self._registered_model(name)
            for version, names in td.aliases_by_version(model and model.aliases).items():
                aliases[(name, version)] = names
        return [td.model_version(v, aliases.get((v.name, str(v.version)), ())) for v in found]

    def _registered_model(self, name: str) -> Any:
        """The registered model (aliases, newest version per stage), read once per
        instance: an instance serves one review."""
        if name not in self._models:
            doing = f"reading registered model {name}"
            self._models[name] = self._lookup(doing, self._client.get_registered_model, name)
        return self._models[name]

    def model_version(self, name: str, version: str) -> ModelVersionInfo | None:
        if not td.VERSION.fullmatch(version):
            return None
        doing = f"reading version {version} of model {name}"
        found = self._lookup(doing, self._client.get_model_version, name, version)
        return td.model_version(found) if found else None

    def model_version_by_alias(self, name: str, alias: str) -> ModelVersionInfo | None:
        doing = f"reading alias {alias} of model {name}"
        found = self._lookup(doing, self._client.get_model_version_by_alias, name, alias)
        return td.model_version(found) if found else None

    def latest_version(self, name: str, stage: str | None) -> ModelVersionInfo | None:
        """One read: a registered model lists the newest version of every stage."""
        model = self._registered_model(name)
        newest = td.newest_version(model.latest_versions or [] if model else [], stage)
        if not model or newest is None:
            return None
        aliases = td.aliases_by_version(model.aliases).get(str(newest.version), [])
        return td.model_version(newest, aliases)

    def logged_model_run(self, model_id: str) -> str | None:
        if not td.MODEL_ID.fullmatch(model_id):
            return None
        doing = f"reading logged model {model_id}"
        model = self._lookup(doing, self._client.get_logged_model, model_id)
        return (model.source_run_id or None) if model else None

    def model_record(self, name: str, *, versions: bool = True) -> ModelRecord | None:
        """Two reads at most: the registered model (shared with the review's other
        registry reads) and one search for its versions with their tags."""
        model = self._registered_model(name)
        if model is None:
            return None
        found: list[Any] = []
        if versions:
            doing = f"searching the versions of model {name}"
            where = td.name_filter(name)
            found = self._pages(doing, self._client.search_model_versions, where, strict=True)
        return td.model_record(model, found)

    def count_runs(self, experiment_id: str, since: int | None, cap: int) -> tuple[int, bool]:
        if not td.RUN_ID.fullmatch(experiment_id):
            return 0, False
        where = f"attributes.start_time > {int(since)}" if since is not None else ""
        page = self._call(
            f"counting the runs of experiment {experiment_id}",
            self._client.search_runs,
            [experiment_id],
            filter_string=where,
            max_results=cap,
        )
        return len(page), bool(page.token)

    # --- histories and artifacts ---------------------------------------------------
    def metric_histories(
        self, run_ids: Sequence[str], key: str, max_points: int
    ) -> dict[str, list[Point]]:
        ids = td.valid_ids(run_ids)
        limit = max(1, min(max_points, HISTORY_MAX_POINTS))
        out: dict[str, list[Point]] = {}
        for chunk in td.chunks(ids, HISTORY_RUNS_PER_CALL):
            try:
                out.update(self._bulk_history(chunk, key, limit))
            except te.Missing:  # a server without the bulk endpoint
                out.update(self._histories_one_by_one(chunk, key, limit))
        return {rid: out[rid] for rid in ids if out.get(rid)}

    def _bulk_history(self, run_ids: list[str], key: str, limit: int) -> dict[str, list[Point]]:
        params = {"run_ids": run_ids, "metric_key": key, "max_results": limit}
        endpoint = "/api/2.0/mlflow/metrics/get-history-bulk-interval"
        body = self._get(endpoint, params, f"reading the history of metric {key}").json()
        return td.bulk_history(body, limit)

    def _histories_one_by_one(
        self, run_ids: list[str], key: str, limit: int
    ) -> dict[str, list[Point]]:
        doing = f"reading the history of metric {key}"
        out: dict[str, list[Point]] = {}
        for rid in run_ids:
            metrics = self._lookup(doing, self._client.get_metric_history, rid, key) or []
            out[rid] = td.even_sample([(m.step, m.value) for m in metrics], limit)
        return out

    def list_artifacts(self, run_id: str, path: str = "") -> list[ArtifactInfo]:
        """[] for a run whose artifacts live elsewhere: even the server would have to
        ask that host for the listing."""
        if not td.RUN_ID.fullmatch(run_id):
            return []
        doing = f"listing the artifacts of run {run_id}"
        location = self._location(run_id, doing)
        if location is None or not self._served(location):
            return []
        if self._host_creds() is None:
            files = self._lookup(doing, self._client.list_artifacts, run_id, path or None)
            return [ArtifactInfo(f.path, bool(f.is_dir), f.file_size) for f in files or []]
        out: list[ArtifactInfo] = []
        token = ""
        while True:
            params = {"run_id": run_id, "path": path, "page_token": token}
            try:
                body = self._get("/api/2.0/mlflow/artifacts/list", params, doing).json()
            except te.Missing:
                return out
            page, token = td.artifact_page(body)
            out += page
            if not token:
                return out

    def artifact_tree(self, run_id: str, skip: set[str]) -> list[ArtifactInfo]:
        """Files in subfolders too (images logged under `plots/`), within the caps of
        `td.walk_artifacts`: one listing per folder."""
        return td.walk_artifacts(lambda folder: self.list_artifacts(run_id, folder), skip)

    def download_artifact(self, run_id: str, path: str) -> bytes:
        td.check_relative(path)
        doing = f"downloading artifact {path} of run {run_id}"
        missing = TrackingError(
            f"artifact `{path}` of run {run_id} does not exist in MLflow at {self._shown}",
            hint="check the path in the run's Artifacts tab",
        )
        location = self._location(run_id, doing)
        if location is None:
            raise missing
        try:
            return self._read_file(location, path, doing)
        except (te.Missing, IsADirectoryError):
            raise missing from None

    def _location(self, run_id: str, doing: str) -> str | None:
        """The run's artifact location (one lookup on the tracking server unless this
        instance fetched the run); None when the run does not exist."""
        if run_id not in self._artifact_uris:
            run = self._lookup(doing, self._client.get_run, run_id)
            if run is None:
                return None
            self._artifact_uris[run_id] = run.info.artifact_uri
        return self._artifact_uris[run_id]

    def _read_file(self, location: str, relpath: str, doing: str) -> bytes:
        """One file below an artifact location: a single GET when this server proxies
        the artifacts, a local copy for a local store; anything else is refused
        before a request is made (bot.tracking.locations)."""
        td.check_relative(relpath)
        creds = self._host_creds()
        if not locations.served(location, self._uri, rest=creds is not None):
            raise locations.elsewhere(doing)
        if creds is not None:
            server = urlsplit(creds.host).netloc
            endpoint = td.proxied_artifact(location, relpath, server)
            if endpoint is None:  # unreachable: `served` admits only these
                raise locations.elsewhere(doing)
            return bytes(self._get(endpoint, {}, doing).content)
        from mlflow.artifacts import download_artifacts  # lazy

        with tempfile.TemporaryDirectory(prefix="model-review-") as tmp:
            uri = f"{location.rstrip('/')}/{relpath}"
            local = self._invoke(
                doing, download_artifacts, artifact_uri=uri, dst_path=tmp, tracking_uri=self._uri
            )
            return Path(local).read_bytes()

    def ui_base(self) -> str | None:
        return td.ui_base(self._uri, self._ui_url)

    # --- the files beside a logged model (bot.tracking.modelfiles) ---------------------
    def model_files(self, model_id: str) -> tuple[ModelFiles, LoggedModelInfo | None]:
        if not td.MODEL_ID.fullmatch(model_id):
            return ModelFiles(model_id, skipped=(f"`{model_id}` is not a logged model id",)), None
        return modelfiles.read_model_files(self, model_id)

    def model_location(self, model_id: str) -> str | None:
        """A logged model's artifact location (one read unless seen with its run)."""
        if model_id not in self._logged:
            doing = f"reading logged model {model_id}"
            model = self._lookup(doing, self._client.get_logged_model, model_id)
            return str(model.artifact_location) if model else None
        return self._logged[model_id][0]

    def known_model(self, model_id: str) -> LoggedModelInfo | None:
        return self._logged[model_id][1] if model_id in self._logged else None

    def rest_store(self) -> bool:
        return self._host_creds() is not None

    def rest_get(self, endpoint: str, params: Mapping[str, Any], doing: str) -> Any:
        return self._get(endpoint, params, doing)

    def read_file(self, location: str, relpath: str, doing: str) -> bytes:
        return self._read_file(location, relpath, doing)

    def local_model_listing(self, model_id: str, doing: str) -> list[ArtifactInfo]:
        files = self._lookup(doing, self._client.list_logged_model_artifacts, model_id) or []
        return [ArtifactInfo(f.path, bool(f.is_dir), f.file_size) for f in files]

    # --- writes ---------------------------------------------------------------------
    def set_run_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        from mlflow.entities import RunTag  # lazy

        batch = [RunTag(k, v) for k, v in tags.items()]
        self._call(f"tagging run {run_id}", self._client.log_batch, run_id, tags=batch)

    def set_model_version_tag(self, name: str, version: str, key: str, value: str) -> None:
        doing = f"tagging version {version} of model {name}"
        self._call(doing, self._client.set_model_version_tag, name, version, key, value)

    def set_model_tag(self, name: str, key: str, value: str) -> None:
        doing = f"tagging registered model {name}"
        self._models.pop(name, None)  # its tags change: read it again when asked
        self._call(doing, self._client.set_registered_model_tag, name, key, value)

    def set_alias(self, name: str, alias: str, version: str) -> None:
        doing = f"setting alias {alias} of model {name}"
        self._models.pop(name, None)  # its aliases change: read it again when asked
        self._call(doing, self._client.set_registered_model_alias, name, alias, version)

    def model_version_description(self, name: str, version: str) -> str:
        doing = f"reading version {version} of model {name}"
        found = self._call(doing, self._client.get_model_version, name, version)
        return str(found.description or "")

    def set_model_version_description(self, name: str, version: str, text: str) -> None:
        doing = f"updating the description of version {version} of model {name}"
        self._call(doing, self._client.update_model_version, name, version, description=text)

    def log_artifact_bytes(self, run_id: str, path: str, data: bytes) -> None:
        td.check_relative(path)
        doing = f"uploading artifact {path} to run {run_id}"
        location = self._location(run_id, doing)
        if location is not None and not self._served(location):
            raise locations.elsewhere(doing)
        folder, _, filename = path.rpartition("/")
        with tempfile.TemporaryDirectory(prefix="model-review-") as tmp:
            local = Path(tmp) / filename
            local.write_bytes(data)
            self._call(doing, self._client.log_artifact, run_id, str(local), folder or None)
