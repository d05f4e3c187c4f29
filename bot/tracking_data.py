"""Pure helpers of the MLflow adapter (bot.tracking): safe filter strings, history
downsampling, error classification, and the translation of MLflow objects into
`bot.domain` dataclasses.

Nothing here imports mlflow: the adapter hands its objects in and only domain
dataclasses come out (the objects are read by attribute, so they are typed `Any`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import requests

from bot.domain import ArtifactInfo, DatasetInfo, LoggedModelInfo, ModelVersionInfo, RunSnapshot
from bot.errors import TrackingError
from bot.ports import Point

T = TypeVar("T")

RUN_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
SHA = re.compile(r"[0-9a-fA-F]{7,64}")
MODEL_ID = re.compile(r"m-[A-Za-z0-9_-]{1,64}")
VERSION = re.compile(r"[0-9]{1,12}")
CONTEXT_TAG = "mlflow.data.context"


def valid_ids(ids: Sequence[str], pattern: re.Pattern[str] = RUN_ID) -> list[str]:
    """The ids that are safe to put in a filter string, de-duplicated, in order.
    Anything else (quotes, spaces, operators) is dropped, never sent."""
    return list(dict.fromkeys(i for i in ids if pattern.fullmatch(i)))


def chunks(items: Sequence[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def in_list(values: Sequence[str]) -> str:
    """`('a', 'b')` for a filter string; only for values checked by `valid_ids`."""
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def downsample(points: Sequence[Point], max_points: int) -> list[Point]:
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


# --- errors ---------------------------------------------------------------------


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
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, requests.ConnectionError | requests.Timeout | ConnectionError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


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
    inputs = run.inputs.dataset_inputs if run.inputs else []
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
        datasets=tuple(dataset(d) for d in inputs or []),
        logged_models=logged_models,
        model_versions=versions,
    )


def dataset(dataset_input: Any) -> DatasetInfo:
    """A DatasetInfo from an `mlflow.entities.DatasetInput`."""
    ds = dataset_input.dataset
    context = next((t.value for t in dataset_input.tags or [] if t.key == CONTEXT_TAG), None)
    return DatasetInfo(
        name=ds.name,
        digest=ds.digest or None,
        context=context,
        source_type=ds.source_type or None,
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
    if not isinstance(meta, dict):
        return LoggedModelInfo(model_id=model.model_id, name=model.name or None)
    flavors = meta.get("flavors")
    return LoggedModelInfo(
        model_id=model.model_id,
        name=model.name or None,
        has_signature=bool(meta.get("signature")),
        flavors=tuple(flavors) if isinstance(flavors, dict) else (),
    )


def aliases_by_version(aliases: Any) -> dict[str, list[str]]:
    """Invert a registered model's `{alias: version}`."""
    out: dict[str, list[str]] = {}
    for alias, version in dict(aliases or {}).items():
        out.setdefault(str(version), []).append(str(alias))
    return out


def without_credentials(uri: str) -> str:
    """The URI without `user:password@`: what may be shown in messages and links."""
    parts = urlsplit(uri)
    if "@" not in parts.netloc:
        return uri
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=host))
