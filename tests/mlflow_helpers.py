"""Helpers that put real data into the real MLflow server of the test session
(tests/conftest.py: `mlflow_server`, `mlflow_client`).

Everything goes through MLflow's own client, so what the bot reads back is exactly
what MLflow stores (except `move_artifacts`, which writes what the API refuses).
Test modules import these (`from mlflow_helpers import ...`).
"""

from __future__ import annotations

import contextlib
import http.server
import json
import socketserver
import sqlite3
import tempfile
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import requests
from mlflow.entities import (
    Dataset,
    DatasetInput,
    InputTag,
    LoggedModelOutput,
    LoggedModelStatus,
    Metric,
    Param,
)
from mlflow.models import Model
from mlflow.models.signature import ModelSignature
from mlflow.tracking import MlflowClient
from mlflow.types import ColSpec, Schema

BATCH = 1000  # MLflow accepts at most 1,000 metrics per log_batch


def unique_name(prefix: str) -> str:
    """A name no other test uses (the server is shared by the whole session)."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def experiment_id(client: MlflowClient, name: str) -> str:
    """The id of experiment `name`, created when it does not exist yet."""
    found = client.get_experiment_by_name(name)
    return str(found.experiment_id) if found else str(client.create_experiment(name))


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    digest: str
    context: str | None = "training"
    source_type: str = "code"
    source: str = "{}"
    schema: str = ""  # e.g. '{"mlflow_colspec": [{"type": "double", "name": "x"}]}'
    profile: str = ""  # e.g. '{"num_rows": 100}'


def make_run(  # noqa: PLR0917 (the shape other test modules call)
    client: MlflowClient,
    experiment: str,
    params: Mapping[str, object] | None = None,
    metrics: Mapping[str, float] | None = None,
    tags: Mapping[str, str] | None = None,
    notes: str | None = None,
    history: Mapping[str, Sequence[float]] | None = None,
    artifacts: Mapping[str, bytes] | None = None,
    *,
    run_name: str | None = None,
    commit: str | None = None,
    datasets: Sequence[DatasetSpec] = (),
    start_time: int | None = None,
) -> str:
    """Create a finished run and return its id.

    `metrics` are logged at step 0 unless `history` has the same key; `history`
    values are logged at steps 0, 1, 2, ... (the last one is the run's metric).
    `artifacts` maps artifact paths ("plots/roc.png") to their bytes.
    """
    all_tags = dict(tags or {})
    if notes is not None:
        all_tags["mlflow.note.content"] = notes
    if commit is not None:
        all_tags["mlflow.source.git.commit"] = commit
    run = client.create_run(
        experiment_id(client, experiment),
        start_time=start_time,
        tags=all_tags,
        run_name=run_name or unique_name("run"),
    )
    run_id = str(run.info.run_id)
    now = int(time.time() * 1000)
    points = [
        Metric(key, float(value), now, 0)
        for key, value in (metrics or {}).items()
        if key not in (history or {})
    ]
    for key, values in (history or {}).items():
        points += [Metric(key, float(v), now + i, i) for i, v in enumerate(values)]
    client.log_batch(run_id, params=[Param(k, str(v)) for k, v in (params or {}).items()])
    for start in range(0, len(points), BATCH):
        client.log_batch(run_id, metrics=points[start : start + BATCH])
    log_datasets(client, run_id, *datasets)
    for path, data in (artifacts or {}).items():
        upload_bytes(client, run_id, path, data)
    client.set_terminated(run_id, "FINISHED")
    return run_id


def log_datasets(client: MlflowClient, run_id: str, *datasets: DatasetSpec) -> None:
    """Log `datasets` as the run's inputs (a finished run takes them too)."""
    if datasets:
        client.log_inputs(run_id, datasets=[_dataset_input(d) for d in datasets])


def _dataset_input(spec: DatasetSpec) -> DatasetInput:
    dataset = Dataset(
        name=spec.name,
        digest=spec.digest,
        source_type=spec.source_type,
        source=spec.source,
        schema=spec.schema or None,
        profile=spec.profile or None,
    )
    tags = [InputTag("mlflow.data.context", spec.context)] if spec.context else []
    return DatasetInput(dataset=dataset, tags=tags)


def upload_bytes(client: MlflowClient, run_id: str, path: str, data: bytes) -> None:
    folder, _, filename = path.rpartition("/")
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(tmp) / filename
        local.write_bytes(data)
        client.log_artifact(run_id, str(local), folder or None)


def log_model(
    client: MlflowClient,
    run_id: str,
    name: str = "model",
    signature: bool = True,
    *,
    inputs: Sequence[ColSpec] | None = None,
    size_bytes: int | None = None,
    files: Mapping[str, bytes] | None = None,
    metrics: Mapping[str, tuple[float, str, str]] | None = None,
) -> str:
    """Log an MLflow 3 logged model for `run_id` (an MLmodel file written by MLflow's
    own `Model` class, with or without a signature) and return its id. `inputs`
    replaces the signature's two double columns; `files` are put beside the MLmodel
    (requirements.txt, python_env.yaml, ...); `metrics` are logged on the model as
    MLflow 3 does, each naming its dataset: key -> (value, dataset name, digest)."""
    run = client.get_run(run_id)
    model = client.create_logged_model(
        run.info.experiment_id, name=name, source_run_id=run_id, model_type="classifier"
    )
    meta = Model(model_id=model.model_id, run_id=run_id)
    meta.add_flavor("python_function", loader_module="mlflow.sklearn", python_version="3.11")
    meta.add_flavor("sklearn", pickled_model="model.pkl", serialization_format="cloudpickle")
    if signature:
        columns = list(inputs or [ColSpec("double", "x1"), ColSpec("double", "x2")])
        meta.signature = ModelSignature(inputs=Schema(columns), outputs=Schema([ColSpec("long")]))
    if size_bytes is not None:
        meta.model_size_bytes = size_bytes
    with tempfile.TemporaryDirectory() as tmp:
        meta.save(str(Path(tmp) / "MLmodel"))
        for file_name, data in (files or {}).items():
            (Path(tmp) / file_name).write_bytes(data)
        client.log_model_artifacts(model.model_id, tmp)
    client.finalize_logged_model(model.model_id, LoggedModelStatus.READY)
    client.log_outputs(run_id, [LoggedModelOutput(model.model_id, 0)])
    now = int(time.time() * 1000)
    points = [
        Metric(k, v, now, 0, model.model_id, n, d) for k, (v, n, d) in (metrics or {}).items()
    ]
    if points:
        client.log_batch(run_id, metrics=points)
    return str(model.model_id)


def register(
    client: MlflowClient,
    name: str,
    run_id: str,
    model_id: str | None = None,
    aliases: Sequence[str] = (),
) -> str:
    """Register a version of `name` (created if needed) from a run or logged model;
    return the version number."""
    if not client.search_registered_models(filter_string=f"name = '{name}'"):
        client.create_registered_model(name)
    source = f"models:/{model_id}" if model_id else f"runs:/{run_id}/model"
    version = client.create_model_version(name, source, run_id=run_id, model_id=model_id)
    for alias in aliases:
        client.set_registered_model_alias(name, alias, version.version)
    return str(version.version)


@dataclass
class RequestLog:
    """Every HTTP request this process sends to MLflow: (method, path). Install it
    with `RequestLog.install(monkeypatch)`; it counts at `requests.Session.send`, the
    point every MLflow client request passes through."""

    sent: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def install(cls, monkeypatch: pytest.MonkeyPatch) -> RequestLog:
        log = cls()
        real_send = requests.Session.send

        def send(session: requests.Session, request: Any, **kwargs: Any) -> Any:
            path = urlparse(request.url or "").path
            if "/api/2.0/mlflow" in path or "/ajax-api/" in path:
                log.sent.append((str(request.method), path))
            return real_send(session, request, **kwargs)

        monkeypatch.setattr(requests.Session, "send", send)
        return log

    @property
    def writes(self) -> list[tuple[str, str]]:
        """The requests that change something (searches are POSTs that only read)."""
        return [
            (method, path)
            for method, path in self.sent
            if method != "GET" and not path.endswith("/search")
        ]


def move_artifacts(store: Path, experiment: str, location: str) -> None:
    """Point experiment `experiment`'s artifact location at `location` in the server's
    sqlite store: MLflow 3.17 refuses to create a location naming another host over
    its API, older servers did not. Runs created afterwards store their artifacts there."""
    with contextlib.closing(sqlite3.connect(store)) as db, db:
        db.execute(
            "UPDATE experiments SET artifact_location = ? WHERE experiment_id = ?",
            (location, int(experiment)),
        )


def bare_logged_model(client: MlflowClient, experiment: str, run_id: str) -> str:
    """A logged model of the run with no files (no upload anywhere): its id."""
    model = client.create_logged_model(experiment, name="model", source_run_id=run_id)
    client.log_outputs(run_id, [LoggedModelOutput(model.model_id, 0)])
    return str(model.model_id)


class Listener:
    """A TCP listener on a free loopback port that records every request reaching it
    (and answers 404): proof that nothing was sent to that host."""

    def __init__(self) -> None:
        self.received: list[bytes] = []
        received = self.received

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                self.request.settimeout(10)  # a client sends at once, even on a busy box
                with contextlib.suppress(OSError):
                    received.append(self.request.recv(65536))
                    self.request.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> Listener:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


class EchoingProxy:
    """A loopback HTTP proxy in front of the real MLflow server that answers requests
    whose path contains `fail` with `status` and MLflow's JSON error shape, its message
    repeating the request's Authorization header (as a careless server or proxy does);
    everything else is forwarded. `uri` is the tracking URI to give the bot."""

    def __init__(self, upstream: str, fail: str, status: int = 500) -> None:
        self.echoed: list[str] = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                if fail in self.path:
                    header = str(self.headers.get("Authorization"))
                    proxy.echoed.append(header)
                    message = f"Rejected request with Authorization: {header}"
                    code = "INTERNAL_ERROR" if status >= 500 else "INVALID_PARAMETER_VALUE"
                    self._send(status, json.dumps({"error_code": code, "message": message}))
                    return
                sent = requests.request(
                    self.command, upstream + self.path, data=body, timeout=30,
                    headers={k: v for k, v in self.headers.items() if k.lower() != "host"},
                )  # fmt: skip
                self._send(sent.status_code, sent.content, sent.headers.get("Content-Type"))

            def _send(self, status: int, body: str | bytes, kind: str | None = None) -> None:
                data = body.encode() if isinstance(body, str) else body
                self.send_response(status)
                self.send_header("Content-Type", kind or "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_DELETE = _answer

            def log_message(self, *args: Any) -> None:  # quiet
                return

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.uri = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> EchoingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
