"""The small files beside a logged model (MLmodel, requirements.txt, python_env.yaml or
conda.yaml), read for the review of what changed (issue #15).

Reading rules: one listing of the model's folder, then at most MAX_DOWNLOADS files,
each at most MAX_FILE_BYTES, all through the adapter's one artifact-reading path
(`Session.read_file`) and only from the tracking server itself: a model whose
artifacts the server does not proxy (`mlflow server --serve-artifacts`) is skipped
with a line saying so. A file that is absent or too large is skipped the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import urlparse

import yaml

from bot.domain import ArtifactInfo, LoggedModelInfo, ModelFiles
from bot.errors import TrackingError
from bot.tracking import data as td
from bot.tracking import errors as te

log = logging.getLogger(__name__)

MAX_DOWNLOADS = 3  # files read per model: MLmodel (when not read yet) and two environment files
MAX_FILE_BYTES = 64 * 1024
MLMODEL = "MLmodel"
REQUIREMENTS = "requirements.txt"
PYTHON_ENV = "python_env.yaml"
CONDA = "conda.yaml"
NOT_SERVED = (
    "the files of model {model} were not read: the tracking server does not serve its "
    "artifacts (start it with `mlflow server --serve-artifacts`)"
)


class ModelStore(Protocol):
    """What this module reads through: the session's primitives
    (bot.tracking.session.Session), never the adapter that composes them."""

    def model_location(self, model_id: str) -> str | None: ...
    def known_model(self, model_id: str) -> LoggedModelInfo | None: ...
    def rest_api(self) -> bool: ...
    def get(self, endpoint: str, params: Mapping[str, Any], doing: str) -> Any: ...
    def read_file(self, location: str, relpath: str, doing: str) -> bytes: ...
    def model_listing(self, model_id: str, doing: str) -> list[ArtifactInfo]: ...


def read_model_files(
    session: ModelStore, model_id: str
) -> tuple[ModelFiles, LoggedModelInfo | None]:
    """The environment files of logged model `model_id` and (when it was not read with
    the run) its MLmodel facts."""
    location = session.model_location(model_id)
    if location is None:
        return ModelFiles(model_id, skipped=(f"logged model {model_id} was not found",)), None
    listing = _listing(session, model_id, location)
    if listing is None:
        return ModelFiles(model_id, skipped=(NOT_SERVED.format(model=model_id),)), None
    reader = _Reader(session, model_id, location, listing)
    model = session.known_model(model_id)
    if model is None or (model.signature is None and model.size_bytes is None):
        meta = reader.text(MLMODEL)
        model = td.logged_model(_Named(model_id), _yaml(meta)) if meta else model
    absent = [name for name in (REQUIREMENTS, PYTHON_ENV) if name not in listing]
    if PYTHON_ENV in absent and CONDA in listing:
        absent.remove(PYTHON_ENV)
    elif PYTHON_ENV in absent:
        absent[-1] = f"{PYTHON_ENV}` or `{CONDA}"
    if absent:
        names = " and no ".join(f"`{name}`" for name in absent)
        reader.skipped.append(f"model {model_id} has no {names}")
    requirements = reader.text(REQUIREMENTS)
    python_env = reader.text(PYTHON_ENV)
    conda = None if PYTHON_ENV in listing else reader.text(CONDA)
    files = ModelFiles(model_id, requirements, python_env, conda, tuple(reader.skipped))
    return files, model


class _Named:
    """The two attributes `td.logged_model` reads from a LoggedModel."""

    def __init__(self, model_id: str) -> None:
        self.model_id = model_id
        self.name = None
        self.metrics = None


def _yaml(text: str) -> object:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return None


def _listing(session: ModelStore, model_id: str, location: str) -> dict[str, int | None] | None:
    """File name -> size in the model's folder; None when the server does not serve it."""
    doing = f"listing the files of model {model_id}"
    if session.rest_api():
        parsed = urlparse(location)
        if parsed.scheme != "mlflow-artifacts" or parsed.netloc:
            return None
        params = {"path": parsed.path.strip("/")}
        try:
            body = session.get("/api/2.0/mlflow-artifacts/artifacts", params, doing).json()
        except te.Missing:
            return None
        files, _ = td.artifact_page(body)
    else:  # a local store (files, sqlite): nothing leaves this machine
        files = session.model_listing(model_id, doing)
    return {f.path.rpartition("/")[2]: f.size for f in files if not f.is_dir}


class _Reader:
    def __init__(
        self, session: ModelStore, model_id: str, location: str, listing: dict[str, int | None]
    ) -> None:
        self._session, self._model, self._location, self._listing = (
            session,
            model_id,
            location,
            listing,
        )
        self.downloads = 0
        self.skipped: list[str] = []

    def text(self, name: str) -> str | None:
        if name not in self._listing:
            return None  # said once by read_model_files
        size = self._listing[name]
        if size is not None and size > MAX_FILE_BYTES:
            self.skipped.append(
                f"`{name}` of model {self._model} not read: {size} bytes, "
                f"over the limit of {MAX_FILE_BYTES}"
            )
            return None
        if self.downloads >= MAX_DOWNLOADS:
            self.skipped.append(
                f"{name} of model {self._model} not read: {MAX_DOWNLOADS} files read"
            )
            return None
        self.downloads += 1
        return self._download(name)

    def _download(self, name: str) -> str | None:
        doing = f"reading {name} of model {self._model}"
        try:
            data: Any = self._session.read_file(self._location, name, doing)
        except (TrackingError, te.Missing) as exc:
            log.warning("%s failed: %s", doing, exc)
            self.skipped.append(f"`{name}` of model {self._model} could not be read")
            return None
        return bytes(data[:MAX_FILE_BYTES]).decode("utf-8", "replace")
