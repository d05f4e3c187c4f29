"""The evaluation data of `model-review evaluate`: a CSV or Parquet file read in
batches (pandas / pyarrow, installed with MLflow), its columns, and its digest."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.domain import DatasetInfo, RunSnapshot
from bot.errors import UsageError

SUFFIXES = (".csv", ".parquet", ".pq")
EVAL_CONTEXTS = ("eval", "evaluation", "test", "testing", "validation", "holdout")
NOT_A_FILE = "--data {path}: no such file"
NOT_A_FORMAT = "--data {path}: not a CSV or Parquet file (.csv, .parquet)"
NO_DATASET = (
    "the candidate run logged no evaluation dataset (an MLflow dataset whose context is "
    "eval, test or validation)"
)
NOT_LOADABLE = (
    "the candidate's evaluation dataset `{name}` cannot be loaded from here: its source is {source}"
)
DATA_HINT = "pass the evaluation data with --data FILE (CSV or Parquet)"


@dataclass(frozen=True)
class Source:
    """Where the rows come from: a local file, or a run's artifact to fetch first."""

    path: Path | None = None
    run_id: str | None = None  # with artifact: the run that holds it
    artifact: str | None = None
    name: str = ""


def check_file(raw: str) -> Path:
    path = Path(raw)
    if not path.is_file():
        raise UsageError(NOT_A_FILE.format(path=raw), hint=DATA_HINT)
    if path.suffix.lower() not in SUFFIXES:
        raise UsageError(NOT_A_FORMAT.format(path=raw), hint=DATA_HINT)
    return path


def logged_source(run: RunSnapshot) -> Source:
    """The candidate's logged evaluation dataset, when its source is a local file or an
    artifact on this tracking server; else a UsageError that says plainly why not."""
    found = [d for d in run.datasets if (d.context or "").lower() in EVAL_CONTEXTS]
    if not found:
        raise UsageError(NO_DATASET, hint=DATA_HINT)
    dataset = found[0]
    where = _location(dataset)
    if where.startswith("mlflow-artifacts:"):
        parts = where.split("/artifacts/", 1)
        run_part = parts[0].rstrip("/").rsplit("/", 1)[-1] if len(parts) == 2 else ""
        if run_part and parts[1].lower().endswith(SUFFIXES):
            return Source(run_id=run_part, artifact=parts[1], name=dataset.name)
    local = Path(where.removeprefix("file://"))
    remote = where.startswith(("http:", "https:", "s3:", "gs:", "dbfs:", "mlflow-artifacts:"))
    if where and not remote and local.is_file() and local.suffix.lower() in SUFFIXES:
        return Source(path=local, name=dataset.name)
    shown = f"`{where}`" if where else f"of type {dataset.source_type or 'unknown'}"
    raise UsageError(NOT_LOADABLE.format(name=dataset.name, source=shown), hint=DATA_HINT)


def _location(dataset: DatasetInfo) -> str:
    try:
        source = json.loads(dataset.source or "")
    except ValueError:
        return dataset.source or ""
    if isinstance(source, dict):
        for key in ("uri", "path", "url"):
            if isinstance(source.get(key), str):
                return str(source[key])
    return ""


def columns(path: Path) -> list[str]:
    if path.suffix.lower() == ".csv":
        import pandas as pd

        return [str(c) for c in pd.read_csv(path, nrows=0).columns]
    import pyarrow.parquet as pq

    return [str(name) for name in pq.ParquetFile(path).schema_arrow.names]


def batches(path: Path, size: int) -> Iterator[Any]:
    """pandas DataFrames of at most `size` rows, in file order."""
    if path.suffix.lower() == ".csv":
        import pandas as pd

        with pd.read_csv(path, chunksize=size) as reader:
            yield from reader
        return
    import pyarrow.parquet as pq

    for batch in pq.ParquetFile(path).iter_batches(batch_size=size):
        yield batch.to_pandas()


def digest(path: Path) -> str:
    """sha256 of the file's bytes (read 1 MB at a time)."""
    hasher = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            hasher.update(block)
    return hasher.hexdigest()
