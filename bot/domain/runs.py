"""References, and what MLflow holds: runs, datasets, logged models, registered
versions; the production baseline and the candidates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

# --- references -------------------------------------------------------------


class RefKind(Enum):
    """What a piece of PR text points at."""

    RUN = "run"  # a UI link, runs:/ URI or `mlflow-run:` line: a run id for sure
    BARE_RUN_ID = "bare_run_id"  # a lone 32-hex word: counted only if it resolves
    MODEL_VERSION = "model_version"  # models:/name/3 or a UI model-version link
    MODEL_ALIAS = "model_alias"  # models:/name@alias
    MODEL_STAGE = "model_stage"  # models:/name/Production or models:/name/latest
    LOGGED_MODEL = "logged_model"  # models:/m-<hex> or a UI logged-model link


@dataclass(frozen=True)
class RunRef:
    """One reference found in PR text, in order of first mention."""

    kind: RefKind
    raw: str  # the text as the user wrote it (for messages)
    run_id: str | None = None
    experiment_id: str | None = None
    model_name: str | None = None
    version: str | None = None  # version number, stage name or "latest"
    alias: str | None = None
    model_id: str | None = None  # MLflow 3 logged model id, "m-<hex>"

    @property
    def key(self) -> tuple[str, ...]:
        """Identity for de-duplication: two spellings of one target collapse."""
        target = self.run_id or self.model_id or ""
        return (
            "run" if self.kind in (RefKind.RUN, RefKind.BARE_RUN_ID) else self.kind.value,
            target,
            self.model_name or "",
            self.version or "",
            self.alias or "",
        )


@dataclass(frozen=True)
class Unresolved:
    """A reference the bot could not turn into a run, and why (user-facing)."""

    ref: RunRef
    reason: str


# --- what MLflow holds ------------------------------------------------------


@dataclass(frozen=True)
class ArtifactInfo:
    path: str
    is_dir: bool
    size: int | None = None


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    digest: str | None = None
    context: str | None = None  # e.g. "training", "eval"
    source_type: str | None = None
    source: str | None = None  # where the data came from, as MLflow recorded it
    columns: tuple[tuple[str, str], ...] | None = None  # (name, type); None: no schema
    rows: int | None = None  # from the dataset's profile, when it says


@dataclass(frozen=True)
class LoggedModelInfo:
    model_id: str
    name: str | None = None
    has_signature: bool | None = None  # None: could not tell
    flavors: tuple[str, ...] = ()
    signature: Mapping[str, str] | None = None  # MLmodel inputs/outputs/params (JSON text)
    size_bytes: int | None = None  # MLmodel `model_size_bytes`
    # MLflow 3 model metrics name the dataset of each value: key -> (name, digest)
    metric_datasets: Mapping[str, tuple[str | None, str | None]] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelFiles:
    """The small files beside a logged model, read for the review of what changed.

    A file is None when it is absent or was not read; `skipped` says why (user-facing).
    """

    model_id: str
    requirements: str | None = None  # requirements.txt
    python_env: str | None = None  # python_env.yaml
    conda: str | None = None  # conda.yaml (read only without python_env.yaml)
    skipped: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModelVersionInfo:
    name: str
    version: str
    run_id: str | None = None
    aliases: tuple[str, ...] = ()
    stage: str | None = None
    source: str | None = None
    model_id: str | None = None


@dataclass(frozen=True)
class VersionRecord:
    """One registered version as the review's record sees it: its own tags."""

    version: str
    run_id: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    created_at: int | None = None  # ms since epoch


@dataclass(frozen=True)
class ModelRecord:
    """A registered model's own tags, its aliases and every version's tags: what
    the production history and the earlier reviews are read from."""

    name: str
    tags: Mapping[str, str] = field(default_factory=dict)
    aliases: Mapping[str, str] = field(default_factory=dict)  # alias -> version
    versions: tuple[VersionRecord, ...] = ()

    def version(self, number: str) -> VersionRecord | None:
        return next((v for v in self.versions if v.version == number), None)


# well-known MLflow tags
TAG_NOTE = "mlflow.note.content"
TAG_RUN_NAME = "mlflow.runName"
TAG_GIT_COMMIT = "mlflow.source.git.commit"
TAG_GIT_REPO = "mlflow.source.git.repoURL"
TAG_SOURCE_NAME = "mlflow.source.name"
TAG_SOURCE_TYPE = "mlflow.source.type"
TAG_DOCKER_IMAGE = "mlflow.docker.image.name"
TAG_LOG_MODEL_HISTORY = "mlflow.log-model.history"  # JSON list; MLflow 2 `artifact_path`s

TAG_PARENT_RUN = "mlflow.parentRunId"


@dataclass(frozen=True)
class Samples:
    """Repeated measures of one metric of one run (per seed, fold or repeat)."""

    values: tuple[float, ...]
    labels: tuple[str, ...] = ()  # e.g. "seed=3", "step 2": pairs sides; () = unknown
    source: str = ""  # user-facing: "child runs", "repeats", "steps"


@dataclass(frozen=True)
class RunSnapshot:
    """Everything the review needs to know about one MLflow run."""

    run_id: str
    experiment_id: str
    name: str = ""
    status: str = "FINISHED"  # MLflow RunStatus name
    start_time: int | None = None  # ms since epoch
    end_time: int | None = None
    experiment_name: str | None = None
    params: Mapping[str, str] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)  # latest value per key
    metric_steps: Mapping[str, int] = field(default_factory=dict)  # step of that value
    tags: Mapping[str, str] = field(default_factory=dict)
    artifacts: tuple[ArtifactInfo, ...] = ()  # the tree, capped (tracking.data.walk_artifacts)
    datasets: tuple[DatasetInfo, ...] = ()
    logged_models: tuple[LoggedModelInfo, ...] = ()
    model_versions: tuple[ModelVersionInfo, ...] = ()
    # repeated measures per metric (child runs, repeats, folds); filled by bot.review.repeats
    samples: Mapping[str, Samples] = field(default_factory=dict)
    # its artifacts live outside the tracking server, so they were not read
    artifacts_elsewhere: bool = False

    @property
    def notes(self) -> str | None:
        return self.tags.get(TAG_NOTE) or None

    @property
    def git_commit(self) -> str | None:
        return self.tags.get(TAG_GIT_COMMIT) or None

    @property
    def display_name(self) -> str:
        return self.name or self.tags.get(TAG_RUN_NAME) or self.run_id[:8]


# --- the production baseline ------------------------------------------------


@dataclass(frozen=True)
class Baseline:
    """The run a candidate is compared with; `run is None` means none was found."""

    run: RunSnapshot | None
    how: str  # user-facing: "alias `production` of fraud-model (v3)", "pinned in config"
    model_version: ModelVersionInfo | None = None
    model_name: str | None = None
    reason: str | None = None  # when run is None: why (user-facing)
    linked: bool = False  # the PR links production too: shown "for reference", never a candidate


@dataclass(frozen=True)
class Candidate:
    """A run under review and the references that named it."""

    run: RunSnapshot
    refs: tuple[RunRef, ...] = ()
    model_version: ModelVersionInfo | None = None  # when named through the registry
    from_commit: bool = False  # found through the PR's commits, not a reference
