"""A run's artifacts: listings, the tree within caps, downloads and uploads, and the
files beside a logged model (bot.tracking.modelfiles); all through the session's one
file-reading path.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from bot.domain import (
    ArtifactInfo,
    LoggedModelInfo,
    ModelFiles,
)
from bot.errors import TrackingError
from bot.tracking import data as td
from bot.tracking import errors as te
from bot.tracking import locations, modelfiles
from bot.tracking.session import Session

log = logging.getLogger(__name__)


class ArtifactAccess(Session):
    """Reading and writing a run's artifacts."""

    def list_artifacts(self, run_id: str, path: str = "") -> list[ArtifactInfo]:
        """[] for a run whose artifacts live elsewhere: even the server would have to
        ask that host for the listing."""
        if not td.RUN_ID.fullmatch(run_id):
            return []
        doing = f"listing the artifacts of run {run_id}"
        location = self.location(run_id, doing)
        if location is None or not self.served(location):
            return []
        if self.host_creds() is None:
            files = self.lookup(doing, self.client.list_artifacts, run_id, path or None)
            return [ArtifactInfo(f.path, bool(f.is_dir), f.file_size) for f in files or []]
        out: list[ArtifactInfo] = []
        token = ""
        while True:
            params = {"run_id": run_id, "path": path, "page_token": token}
            try:
                body = self.get("/api/2.0/mlflow/artifacts/list", params, doing).json()
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
        location = self.location(run_id, doing)
        if location is None:
            raise missing
        try:
            return self.read_file(location, path, doing)
        except (te.Missing, IsADirectoryError):
            raise missing from None

    # --- the files beside a logged model -----------------------------------------
    def model_files(self, model_id: str) -> tuple[ModelFiles, LoggedModelInfo | None]:
        if not td.MODEL_ID.fullmatch(model_id):
            return ModelFiles(model_id, skipped=(f"`{model_id}` is not a logged model id",)), None
        return modelfiles.read_model_files(self, model_id)

    # --- writes -----------------------------------------------------------------
    def log_artifact_bytes(self, run_id: str, path: str, data: bytes) -> None:
        td.check_relative(path)
        doing = f"uploading artifact {path} to run {run_id}"
        location = self.location(run_id, doing)
        if location is not None and not self.served(location):
            raise locations.elsewhere(doing)
        folder, _, filename = path.rpartition("/")
        with tempfile.TemporaryDirectory(prefix="model-review-") as tmp:
            local = Path(tmp) / filename
            local.write_bytes(data)
            self.call(doing, self.client.log_artifact, run_id, str(local), folder or None)
