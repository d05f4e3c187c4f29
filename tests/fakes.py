"""The one set of typed fakes for the ports (bot.ports). Never redefine a fake in a
test module: extend these. They keep the real signatures, so mypy checks that they
still match the Protocols."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from bot.domain import (
    ArtifactInfo,
    HostedImage,
    ModelVersionInfo,
    PlotImage,
    RunSnapshot,
)
from bot.errors import TrackingError
from bot.ports import ImagePort, Point, RunsPort


@dataclass
class FakeRuns:
    """An in-memory MLflow: runs, registered versions, histories and artifacts."""

    runs: dict[str, RunSnapshot] = field(default_factory=dict)
    versions: list[ModelVersionInfo] = field(default_factory=list)
    logged_models: dict[str, str] = field(default_factory=dict)  # model id -> run id
    histories: dict[tuple[str, str], list[Point]] = field(default_factory=dict)
    files: dict[tuple[str, str], bytes] = field(default_factory=dict)  # (run, path) -> bytes
    base_url: str | None = "http://mlflow.test"
    down: bool = False
    calls: list[str] = field(default_factory=list)

    # --- building the fake ---
    def add_run(self, run: RunSnapshot) -> RunSnapshot:
        self.runs[run.run_id] = run
        return run

    def register(self, name: str, run_id: str, aliases: Sequence[str] = (),
                 stage: str | None = None) -> ModelVersionInfo:
        version = str(1 + sum(1 for v in self.versions if v.name == name))
        info = ModelVersionInfo(name=name, version=version, run_id=run_id,
                                aliases=tuple(aliases), stage=stage,
                                source=f"runs:/{run_id}/model")
        self.versions.append(info)
        run = self.runs.get(run_id)
        if run is not None:
            self.runs[run_id] = replace(run, model_versions=(*run.model_versions, info))
        return info

    def _check(self, call: str) -> None:
        self.calls.append(call)
        if self.down:
            raise TrackingError("MLflow at http://mlflow.test cannot be reached",
                                hint="check MLFLOW_TRACKING_URI")

    # --- RunsPort ---
    def fetch_runs(self, run_ids: Sequence[str]) -> dict[str, RunSnapshot]:
        self._check("fetch_runs")
        return {rid: self.runs[rid] for rid in run_ids if rid in self.runs}

    def runs_for_commits(self, shas: Sequence[str]) -> list[RunSnapshot]:
        self._check("runs_for_commits")
        found = [r for r in self.runs.values() if r.git_commit in set(shas)]
        return sorted(found, key=lambda r: r.start_time or 0, reverse=True)

    def model_version(self, name: str, version: str) -> ModelVersionInfo | None:
        self._check("model_version")
        return next((v for v in self.versions if v.name == name and v.version == version), None)

    def model_version_by_alias(self, name: str, alias: str) -> ModelVersionInfo | None:
        self._check("model_version_by_alias")
        return next((v for v in self.versions if v.name == name and alias in v.aliases), None)

    def latest_version(self, name: str, stage: str | None) -> ModelVersionInfo | None:
        self._check("latest_version")
        matching = [v for v in self.versions
                    if v.name == name and (stage is None or (v.stage or "").lower() == stage.lower())]
        return max(matching, key=lambda v: int(v.version), default=None)

    def logged_model_run(self, model_id: str) -> str | None:
        self._check("logged_model_run")
        return self.logged_models.get(model_id)

    def metric_histories(self, run_ids: Sequence[str], key: str,
                         max_points: int) -> dict[str, list[Point]]:
        self._check("metric_histories")
        out: dict[str, list[Point]] = {}
        for rid in run_ids:
            points = self.histories.get((rid, key))
            if points:
                out[rid] = points[:max_points]
        return out

    def list_artifacts(self, run_id: str, path: str = "") -> list[ArtifactInfo]:
        self._check("list_artifacts")
        prefix = f"{path.rstrip('/')}/" if path else ""
        return [ArtifactInfo(path=p, is_dir=False, size=len(data))
                for (rid, p), data in self.files.items()
                if rid == run_id and p.startswith(prefix) and "/" not in p[len(prefix):]]

    def download_artifact(self, run_id: str, path: str) -> bytes:
        self._check("download_artifact")
        try:
            return self.files[(run_id, path)]
        except KeyError:
            raise TrackingError(f"artifact {path} of run {run_id} not found") from None

    def ui_base(self) -> str | None:
        return self.base_url


@dataclass
class FakeImages:
    """An image host that remembers what it was given."""

    published: list[PlotImage] = field(default_factory=list)
    base_url: str = "https://images.test"

    def publish(self, images: Sequence[PlotImage]) -> list[HostedImage]:
        self.published.extend(images)
        return [HostedImage(name=i.name, title=i.title, alt=i.alt,
                            url=f"{self.base_url}/{i.name}", primary=i.primary, group=i.group)
                for i in images]


def _typecheck() -> None:  # mypy proves the fakes still match the ports
    runs: RunsPort = FakeRuns()
    images: ImagePort = FakeImages()
    del runs, images
