"""Translation of a run's inputs for the MLflow adapter (bot.tracking.client): dataset
inputs (name, digest, context, source, schema columns, rows) and the dataset each MLflow 3
metric value names. Pure: MLflow objects are read by attribute (typed `Any`).

`mlflow.models.evaluate` logs its dataset as an input WITHOUT a context (unless an
evaluator has a `metric_prefix`) and lists it in the run's `mlflow.datasets` tag
(name, hash, model); autolog logs its own inputs with contexts `train` and `eval` (the
estimator's validation set, or the rows a post-training metric saw). An input without
a context that the tag lists is evaluate()'s: it is read with the context
`evaluation`, so the comparability check and the data diff see the data the team
evaluated on, not only autolog's.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from bot.domain import DatasetInfo

CONTEXT_TAG = "mlflow.data.context"
EVALUATE_TAG = "mlflow.datasets"  # evaluate()'s record: [{"name", "hash", "model"}, ...]
EVALUATION = "evaluation"  # the context of an input evaluate() lists


def metric_datasets(metric_objs: Sequence[Any]) -> dict[str, tuple[str | None, str | None]]:
    """MLflow 3 metrics name the dataset each value was measured on: key -> (name,
    digest), for the metrics that carry one."""
    out: dict[str, tuple[str | None, str | None]] = {}
    for m in metric_objs:
        name = getattr(m, "dataset_name", None) or None
        digest = getattr(m, "dataset_digest", None) or None
        if name or digest:
            out[m.key] = (name, digest)
    return out


def evaluated_names(tags: Mapping[str, str]) -> frozenset[str]:
    """The names of the datasets evaluate() lists in the run's `mlflow.datasets` tag."""
    listed = _json(tags.get(EVALUATE_TAG))
    if not isinstance(listed, list):
        return frozenset()
    return frozenset(
        d["name"] for d in listed if isinstance(d, dict) and isinstance(d.get("name"), str)
    )


def datasets(dataset_inputs: Sequence[Any], tags: Mapping[str, str]) -> tuple[DatasetInfo, ...]:
    """The run's dataset inputs; evaluate()'s (see the module docstring) as `evaluation`."""
    evaluated = evaluated_names(tags)
    return tuple(dataset(d, evaluated) for d in dataset_inputs)


def dataset(dataset_input: Any, evaluated: Collection[str] = ()) -> DatasetInfo:
    """A DatasetInfo from an `mlflow.entities.DatasetInput`; `evaluated`: the names
    evaluate() lists (an input of those without a context is read as `evaluation`)."""
    ds = dataset_input.dataset
    context = next((t.value for t in dataset_input.tags or [] if t.key == CONTEXT_TAG), None)
    if not context and ds.name in evaluated:
        context = EVALUATION
    return DatasetInfo(
        name=ds.name,
        digest=ds.digest or None,
        context=context,
        source_type=ds.source_type or None,
        source=_source_text(ds.source),
        columns=schema_columns(ds.schema),
        rows=_profile_rows(ds.profile),
    )


def _json(text: object) -> Any:
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _source_text(source: object) -> str | None:
    """A dataset source as a short text: its uri/path/url when the JSON has one."""
    parsed = _json(source)
    if isinstance(parsed, dict):
        for key in ("uri", "url", "path", "table_name", "hf_hub_path"):
            if isinstance(parsed.get(key), str) and parsed[key]:
                return str(parsed[key])
        return None
    return source[:500] if isinstance(source, str) and source.strip() else None


def _profile_rows(profile: object) -> int | None:
    parsed = _json(profile)
    rows = parsed.get("num_rows") if isinstance(parsed, dict) else None
    return rows if isinstance(rows, int) and not isinstance(rows, bool) else None


def schema_columns(schema: object) -> tuple[tuple[str, str], ...] | None:
    """(column, type) pairs of a dataset schema: MLflow column specs, or one pseudo
    column per named tensor ("features": "float64 [-1, 30]"); None when unknown."""
    parsed = _json(schema)
    if not isinstance(parsed, dict):
        return None
    if isinstance(parsed.get("mlflow_colspec"), list):
        return tuple(
            (str(c.get("name", f"#{i}")), str(c.get("type", "?")))
            for i, c in enumerate(parsed["mlflow_colspec"])
            if isinstance(c, dict)
        )
    tensors = parsed.get("mlflow_tensorspec")
    if isinstance(tensors, dict):
        return tuple((str(k), _tensor_text(v)) for k, v in tensors.items() if v)
    return None


def _tensor_text(spec: object) -> str:
    parsed = _json(spec) if isinstance(spec, str) else spec
    if isinstance(parsed, list) and parsed and isinstance(parsed[0], dict):
        parsed = parsed[0]
    inner = parsed.get("tensor-spec") if isinstance(parsed, dict) else None
    if isinstance(inner, dict):
        return f"{inner.get('dtype', '?')} {inner.get('shape', '?')}"
    return "tensor"
