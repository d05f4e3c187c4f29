"""Pure helpers of the MLflow adapter (bot.tracking.client): the client's settings, safe
filter strings, history downsampling, and the translation of MLflow objects and REST
answers into `bot.domain` dataclasses (its errors: bot.tracking.errors).

Nothing here imports mlflow: the adapter hands its objects in and only domain
dataclasses come out (the objects are read by attribute, so they are typed `Any`).
"""

from __future__ import annotations

import json
import posixpath
import re
from collections import deque
from collections.abc import Callable, Collection, Iterator, Mapping, MutableMapping, Sequence
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlparse, urlsplit, urlunsplit

from bot.constants import BOT_FOLDER
from bot.domain import (
    TAG_LOG_MODEL_HISTORY,
    ArtifactInfo,
    LoggedModelInfo,
    ModelRecord,
    ModelVersionInfo,
    RunSnapshot,
    VersionRecord,
)
from bot.errors import TrackingError, UsageError
from bot.ports import Point
from bot.tracking import inputs

T = TypeVar("T")

RUN_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
SHA = re.compile(r"[0-9a-fA-F]{7,64}")
FULL_SHA = 40
MODEL_ID = re.compile(r"m-[A-Za-z0-9_-]{1,64}")
VERSION = re.compile(r"[0-9]{1,12}")
ARTIFACT_DEPTH = 3  # folder levels below a run's root whose files are listed
ARTIFACT_LISTINGS = 20  # folder listings per run, the root's included
MODEL_FILE = "MLmodel"
# the tags `related_runs` may filter on, and what their values must look like
RELATED_TAGS: Mapping[str, re.Pattern[str]] = {
    "mlflow.parentRunId": RUN_ID,
    "mlflow.source.git.commit": SHA,
}
CLIENT_ENV_DEFAULTS: Mapping[str, str] = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "20",
    "MLFLOW_DISABLE_TELEMETRY": "true",
}


def configure_client_env(env: MutableMapping[str, str]) -> None:
    """Bound MLflow's retries and timeouts (its defaults wait minutes on a dead server)
    and turn off its usage telemetry, leaving every value the user set alone."""
    for key, value in CLIENT_ENV_DEFAULTS.items():
        if not env.get(key, "").strip():
            env[key] = value


def valid_ids(ids: Sequence[str], pattern: re.Pattern[str] = RUN_ID) -> list[str]:
    """The ids that are safe to put in a filter string, de-duplicated, in order.
    Anything else (quotes, spaces, operators) is dropped, never sent."""
    return list(dict.fromkeys(i for i in ids if pattern.fullmatch(i)))


def chunks(items: Sequence[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def commit_filter(sha: str) -> str:
    """The search filter for runs logged from a commit: equal to a full SHA, starting
    with a shorter one. Only for values checked by `valid_ids(..., SHA)` (hex)."""
    if len(sha) >= FULL_SHA:
        return f"tags.mlflow.source.git.commit = '{sha}'"
    return f"tags.mlflow.source.git.commit LIKE '{sha}%'"


def in_list(values: Sequence[str]) -> str:
    """`('a', 'b')` for a filter string; only for values checked by `valid_ids`."""
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def even_sample(points: Sequence[Point], max_points: int) -> list[Point]:
    """At most `max_points` points in step order, keeping the first, last, minimum and
    maximum and spreading the rest evenly."""
    ordered = sorted(points, key=lambda p: p[0])
    if len(ordered) <= max(max_points, 1):
        return ordered
    if max_points <= 1:
        return [ordered[-1]]
    keep = {0, len(ordered) - 1}
    finite = [i for i, p in enumerate(ordered) if p[1] == p[1]]  # NaN != NaN
    if finite and max_points >= 4:
        keep |= {min(finite, key=lambda i: ordered[i][1]), max(finite, key=lambda i: ordered[i][1])}
    rest = [i for i in range(len(ordered)) if i not in keep]
    spare = max_points - len(keep)  # fewer than len(rest): the picks below are distinct
    if spare == 1:
        keep.add(rest[len(rest) // 2])
    elif spare > 1:
        stride = (len(rest) - 1) / (spare - 1)
        keep |= {rest[round(stride * k)] for k in range(spare)}
    return [ordered[i] for i in sorted(keep)]


def check_relative(path: str) -> None:
    """Refuse artifact paths that could leave the run's folder."""
    parts = path.split("/")
    if not path or path.startswith("/") or ".." in parts or "\\" in path:
        raise TrackingError(
            f"artifact path `{path}` is not a relative path inside the run",
            hint="use a path as shown in the run's Artifacts tab, e.g. plots/roc.png",
        )


def int_or_none(value: object) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


# --- the artifact tree -------------------------------------------------------------


def skipped_folders(tags: Mapping[str, str]) -> set[str]:
    """Folders not worth listing: the bot's own, and those of models logged the MLflow 2
    way (their `artifact_path`s in the tag `mlflow.log-model.history`)."""
    skip = {BOT_FOLDER}
    try:
        history = json.loads(tags.get(TAG_LOG_MODEL_HISTORY) or "[]")
    except ValueError:
        return skip
    for entry in history if isinstance(history, list) else []:
        path = entry.get("artifact_path") if isinstance(entry, dict) else None
        if isinstance(path, str) and path.strip("/"):
            skip.add(path.strip("/"))
    return skip


def walk_artifacts(
    list_folder: Callable[[str], list[ArtifactInfo]],
    skip: Collection[str] = (BOT_FOLDER,),
    depth: int = ARTIFACT_DEPTH,
    listings: int = ARTIFACT_LISTINGS,
) -> list[ArtifactInfo]:
    """A run's files and folders, breadth first: folders up to `depth` levels below the
    root, at most `listings` folders listed, `skip`ped folders and model folders (those
    holding an MLmodel file) not descended into."""
    found: list[ArtifactInfo] = []
    queue: deque[tuple[str, int]] = deque([("", 0)])
    while queue and listings > 0:
        folder, level = queue.popleft()
        entries = list_folder(folder)
        listings -= 1
        found += entries
        if folder and any(posixpath.basename(e.path) == MODEL_FILE for e in entries):
            continue  # a model's own folder: its files are the model, not plots
        queue.extend(
            (e.path, level + 1)
            for e in sorted(entries, key=lambda e: e.path)
            if e.is_dir and level < depth and e.path.strip("/") not in skip
        )
    return found


# --- translation ------------------------------------------------------------------


def snapshot(
    run: Any,
    experiment_name: str | None,
    artifacts: tuple[ArtifactInfo, ...],
    logged_models: tuple[LoggedModelInfo, ...],
    versions: tuple[ModelVersionInfo, ...],
) -> RunSnapshot:
    """A RunSnapshot from an `mlflow.entities.Run` and what was fetched beside it."""
    info, data = run.info, run.data
    # RunData keeps the Metric objects (with their steps) only in this attribute
    metric_objs = getattr(data, "_metric_objs", None) or []
    dataset_inputs = run.inputs.dataset_inputs if run.inputs else []
    return RunSnapshot(
        run_id=info.run_id,
        experiment_id=str(info.experiment_id),
        name=info.run_name or "",
        status=str(info.status),
        start_time=info.start_time,
        end_time=info.end_time,
        experiment_name=experiment_name,
        params=dict(data.params),
        metrics={k: float(v) for k, v in data.metrics.items()},
        metric_steps={m.key: int(m.step) for m in metric_objs},
        tags=dict(data.tags),
        artifacts=artifacts,
        datasets=inputs.datasets(dataset_inputs or [], data.tags),
        logged_models=logged_models,
        model_versions=versions,
    )


def model_version(mv: Any, aliases: Sequence[str] | None = None) -> ModelVersionInfo:
    """A ModelVersionInfo from an `mlflow.entities.model_registry.ModelVersion`;
    `aliases` replaces the version's own (search results carry none)."""
    source = mv.source or None
    model_id = getattr(mv, "model_id", None)
    if not model_id and source and source.startswith("models:/m-"):
        model_id = source.removeprefix("models:/").split("/")[0]
    stage = mv.current_stage
    return ModelVersionInfo(
        name=mv.name,
        version=str(mv.version),
        run_id=mv.run_id or None,
        aliases=tuple(sorted(aliases if aliases is not None else mv.aliases or ())),
        stage=None if not stage or stage == "None" else stage,
        source=source,
        model_id=model_id or None,
    )


def logged_model(model: Any, meta: object) -> LoggedModelInfo:
    """A LoggedModelInfo from an `mlflow.entities.LoggedModel` and its parsed MLmodel
    file (None when it could not be read: the signature is then unknown)."""
    datasets = inputs.metric_datasets(getattr(model, "metrics", None) or [])
    if not isinstance(meta, dict):
        return LoggedModelInfo(model.model_id, model.name or None, metric_datasets=datasets)
    flavors = meta.get("flavors")
    signature = meta.get("signature")
    size = meta.get("model_size_bytes")
    return LoggedModelInfo(
        model_id=model.model_id,
        name=model.name or None,
        has_signature=bool(signature),
        flavors=tuple(flavors) if isinstance(flavors, dict) else (),
        signature=(
            {str(k): str(v) for k, v in signature.items() if isinstance(v, str)}
            if isinstance(signature, dict)
            else None
        ),
        size_bytes=size if isinstance(size, int) and not isinstance(size, bool) else None,
        metric_datasets=datasets,
    )


def name_filter(name: str) -> str:
    """`name = '...'` for search_model_versions, quoted the way MLflow's parser reads it."""
    if "'" in name and '"' not in name:
        return f'name = "{name}"'
    return "name = '" + name.replace("'", "\\'") + "'"


def model_record(model: Any, versions: Sequence[Any]) -> ModelRecord:
    """A ModelRecord from a `RegisteredModel` and `ModelVersion`s of a search."""
    return ModelRecord(
        name=model.name,
        tags={str(k): str(v) for k, v in dict(model.tags or {}).items()},
        aliases={str(k): str(v) for k, v in dict(model.aliases or {}).items()},
        versions=tuple(
            VersionRecord(
                version=str(v.version),
                run_id=v.run_id or None,
                tags={str(k): str(t) for k, t in dict(v.tags or {}).items()},
                created_at=v.creation_timestamp,
            )
            for v in sorted(versions, key=lambda v: int(v.version))
        ),
    )


def aliases_by_version(aliases: Any) -> dict[str, list[str]]:
    """Invert a registered model's `{alias: version}`."""
    out: dict[str, list[str]] = {}
    for alias, version in dict(aliases or {}).items():
        out.setdefault(str(version), []).append(str(alias))
    return out


def newest_version(versions: Sequence[Any], stage: str | None) -> Any | None:
    """The newest of a registered model's `latest_versions` in `stage` (None: any)."""
    wanted = [
        v for v in versions if stage is None or (v.current_stage or "").lower() == stage.lower()
    ]
    return max(wanted, key=lambda v: int(v.version)) if wanted else None


# --- REST answers and addresses ------------------------------------------------------


def bulk_history(body: Mapping[str, Any], limit: int) -> dict[str, list[Point]]:
    """Points per run from get-history-bulk-interval, at most `limit` a run."""
    out: dict[str, list[Point]] = {}
    for m in body.get("metrics", []):
        out.setdefault(m["run_id"], []).append((int(m.get("step", 0)), float(m["value"])))
    return {rid: even_sample(points, limit) for rid, points in out.items()}


def artifact_page(body: Mapping[str, Any]) -> tuple[list[ArtifactInfo], str]:
    """The files of one page of artifacts/list, and the next page's token ("": none)."""
    files = [
        ArtifactInfo(f["path"], bool(f.get("is_dir")), int_or_none(f.get("file_size")))
        for f in body.get("files", [])
    ]
    return files, body.get("next_page_token", "")


def proxied_artifact(location: str, relpath: str, server: str = "") -> str | None:
    """The REST endpoint of a file below an artifact location this tracking server
    proxies (`mlflow-artifacts:/...`, or `mlflow-artifacts://SERVER/...` naming the
    server's own `host:port`); None for other stores and hosts."""
    parsed = urlparse(location)
    if parsed.scheme != "mlflow-artifacts" or parsed.netloc.lower() not in ("", server.lower()):
        return None
    root = quote(parsed.path.strip("/"))
    return f"/api/2.0/mlflow-artifacts/artifacts/{root}/{quote(relpath)}"


def ui_base(uri: str, ui_url: str | None) -> str | None:
    """The MLflow UI's address for links: `ui_url`, else the tracking URI's own
    (without credentials and an `/api` suffix) when it is http(s), else None."""
    if ui_url:
        return ui_url.rstrip("/")
    if urlparse(uri).scheme not in ("http", "https"):
        return None
    return without_credentials(uri).rstrip("/").removesuffix("/api").rstrip("/")


def sqlite_file(uri: str) -> str | None:
    """The file a `sqlite:` tracking URI names (`sqlite:///rel.db`, `sqlite:////abs.db`);
    None for other URIs and for an in-memory database."""
    if not uri.lower().startswith("sqlite:"):
        return None
    path = uri[len("sqlite:") :].split("?", 1)[0]
    if not path.startswith("///"):
        return None  # `sqlite://`: in memory
    path = path[3:]
    return path if path and path != ":memory:" else None


def check_local_store(uri: str, source: str) -> None:
    """Refuse a sqlite URI whose file does not exist: MLflow would quietly create an
    empty store there and every review would find nothing. `source` names where the
    URI came from (a flag or a variable)."""
    path = sqlite_file(uri)
    if path is not None and not Path(path).is_file():
        raise UsageError(
            f"{source} `{without_credentials(uri)}` names the sqlite file {path}, "
            "which does not exist",
            hint="check the path (sqlite:/// and a relative path, sqlite://// and an "
            "absolute one); `model-review demo` creates a store to try",
        )


HOST_PORT = re.compile(r"[A-Za-z0-9.-]+:\d{1,5}(/.*)?")  # an address without its scheme


def uri_hint(uri: str) -> str:
    """What to use instead of a tracking URI MLflow refused."""
    if HOST_PORT.fullmatch(uri):
        return f"an MLflow server's address starts with its scheme: http://{uri}"
    scheme = urlsplit(uri).scheme.lower()
    if len(scheme) > 1 and scheme != "file":
        return "use the http(s) address of your MLflow server"
    path = Path(uri.removeprefix("file://")).expanduser()
    example = f"sqlite:///{path.resolve()}" if path.suffix == ".db" else "sqlite:///mlflow.db"
    return f"for a sqlite store use {example}; for an MLflow server, its http(s) address"


def without_credentials(uri: str) -> str:
    """The URI without `user:password@`: what may be shown in messages and links."""
    parts = urlsplit(uri)
    if "@" not in parts.netloc:
        return uri
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=host))
