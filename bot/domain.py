"""The bot's vocabulary: frozen dataclasses and enums shared by every step.

Pure steps take and return these types; adapters translate library objects into
them at the edge, so no MLflow or GitHub object ever travels past an adapter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

from bot.changes import ChangeReport

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


@dataclass(frozen=True)
class Candidate:
    """A run under review and the references that named it."""

    run: RunSnapshot
    refs: tuple[RunRef, ...] = ()
    model_version: ModelVersionInfo | None = None  # when named through the registry
    from_commit: bool = False  # found through the PR's commits, not a reference


# --- diffs ------------------------------------------------------------------


class Direction(Enum):
    HIGHER = "higher"  # higher is better
    LOWER = "lower"  # lower is better


class Change(Enum):
    BETTER = "better"
    WORSE = "worse"  # worse, but within the threshold
    REGRESSION = "regression"  # worse beyond the threshold
    SAME = "same"
    NEW = "new"  # only on the candidate
    MISSING = "missing"  # only on the baseline
    UNDEFINED = "undefined"  # NaN/inf or no baseline to compare with
    NOISE = "noise"  # the difference is not significant: within seed/sampling noise


@dataclass(frozen=True)
class Threshold:
    """How much worse a metric may get before it counts as a regression."""

    value: float = 0.0
    relative: bool = False  # True: value is a fraction of the baseline (0.02 = 2%)

    def describe(self) -> str:
        if self.relative:
            return f"{self.value * 100:g}%"
        return f"{self.value:g}"


@dataclass(frozen=True)
class Spread:
    """A mean of repeated measures with the half-width of its 95% t-interval."""

    mean: float
    half_width: float
    n: int


@dataclass(frozen=True)
class Estimate:
    """The difference candidate - production with its 95% interval and p-value."""

    delta: float
    low: float
    high: float
    p_value: float
    method: str  # "paired t", "Welch t", "one-sample t", "paired bootstrap"
    significant: bool = False  # after Holm's correction across the review's metrics
    rows: int | None = None  # evaluation-table rows behind a bootstrap


@dataclass(frozen=True)
class MetricCell:
    """One candidate's value of one metric, compared with the baseline."""

    value: float | None  # the mean of the samples when there are enough
    delta: float | None  # value - baseline
    rel_delta: float | None  # delta / |baseline|
    change: Change
    spread: Spread | None = None
    estimate: Estimate | None = None
    logged: float | None = None  # the run's own value when it differs from the mean
    missed: tuple[str, ...] = ()  # absolute bars not met, user-facing ("min 0.9")


@dataclass(frozen=True)
class MetricRow:
    key: str
    direction: Direction
    threshold: Threshold
    baseline: float | None
    cells: tuple[MetricCell, ...]  # one per candidate, in candidate order
    baseline_spread: Spread | None = None
    baseline_logged: float | None = None  # production's own value when it differs

    @property
    def missed(self) -> bool:
        return any(c.missed for c in self.cells)

    @property
    def worst(self) -> Change:
        order = [
            Change.REGRESSION,
            Change.WORSE,
            Change.MISSING,
            Change.UNDEFINED,
            Change.NOISE,
        ]
        for change in order:
            if any(c.change is change for c in self.cells):
                return change
        if any(c.change is Change.BETTER for c in self.cells):
            return Change.BETTER
        return self.cells[0].change if self.cells else Change.UNDEFINED


class ParamChangeKind(Enum):
    CHANGED = "changed"
    ADDED = "added"
    REMOVED = "removed"


@dataclass(frozen=True)
class ParamChange:
    key: str
    kind: ParamChangeKind
    before: str | None
    after: str | None


@dataclass(frozen=True)
class ParamDiff:
    """Parameter changes of one candidate against the baseline."""

    run_id: str
    changes: tuple[ParamChange, ...]
    unchanged: int  # how many params are equal on both sides


# --- checklist and notes ----------------------------------------------------


@dataclass(frozen=True)
class CheckItem:
    label: str
    ok: bool | None  # None: not applicable / could not tell
    detail: str = ""


@dataclass(frozen=True)
class NotesSummary:
    heading: str | None
    paragraph: str | None
    full: str | None  # the whole note (escaped at render time)
    truncated: bool = False


# --- plots ------------------------------------------------------------------


@dataclass(frozen=True)
class PlotImage:
    """A picture for the comment: PNG bytes plus what to say about it."""

    name: str  # stable file name, e.g. "metrics.png", "curve-val_loss.png"
    title: str
    alt: str
    png: bytes
    primary: bool = True  # False: goes into the collapsed section
    group: str = "plots"  # "metrics", "curves", "artifacts"


@dataclass(frozen=True)
class HostedImage:
    name: str
    title: str
    alt: str
    url: str
    primary: bool = True
    group: str = "plots"


# --- the gate ---------------------------------------------------------------


class GateState(Enum):
    PENDING = "pending"
    SUCCESS = "success"
    FAILURE = "failure"
    ERROR = "error"


class ReviewState(Enum):
    APPROVED = "APPROVED"
    CHANGES_REQUESTED = "CHANGES_REQUESTED"
    DISMISSED = "DISMISSED"
    COMMENTED = "COMMENTED"
    PENDING = "PENDING"

    @classmethod
    def parse(cls, raw: str) -> ReviewState:
        """Accept the REST API's UPPERCASE and the webhooks' lowercase spelling."""
        return cls(raw.upper())


@dataclass(frozen=True)
class Review:
    """A pull-request review as the gate sees it."""

    user: str
    state: ReviewState
    submitted_at: str  # ISO 8601 UTC, e.g. "2026-11-27T10:00:00Z"
    commit_id: str | None = None
    review_id: int | None = None
    bot: bool = False  # the reviewer's account is a bot (`user.type` "Bot"): never counts


@dataclass(frozen=True)
class Assignment:
    """Who must review: one primary and one secondary (logins, or org/team)."""

    primary: str | None
    secondary: str | None


@dataclass(frozen=True)
class GateDecision:
    state: GateState
    description: str  # <= 140 characters, for the commit status
    approved_by: tuple[str, ...] = ()
    waiting_for: tuple[str, ...] = ()
    changes_requested_by: tuple[str, ...] = ()
    stale: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # why reviews did not count, for the comment


@dataclass(frozen=True)
class Standing:
    """What was verified on GitHub about the people who reviewed, for the gate.

    Logins and teams ("org/slug") are casefolded. A reviewer not in `writers` never
    counts; a team slot is held only by `members[team]`; a team in `unverified`
    (membership could not be read) holds no one and the value says how to enable it.
    """

    writers: frozenset[str] = frozenset()  # write, maintain or admin on the repository
    members: Mapping[str, frozenset[str]] = field(default_factory=dict)  # active members
    unverified: Mapping[str, str] = field(default_factory=dict)


# --- the pull request -------------------------------------------------------


@dataclass(frozen=True)
class Comment:
    comment_id: int
    author: str
    body: str
    url: str = ""
    created_at: str = ""
    updated_at: str = ""
    association: str = ""  # author_association: OWNER, MEMBER, COLLABORATOR, NONE, ...
    bot: bool = False  # written by a bot account (`user.type` "Bot")


@dataclass(frozen=True)
class PullRequest:
    number: int
    title: str
    body: str
    author: str
    head_sha: str
    base_sha: str
    head_ref: str
    base_ref: str
    repo: str  # "owner/name"
    draft: bool = False
    html_url: str = ""
    head_repo: str | None = None  # "owner/name" of the head; differs for forks
    commits: tuple[str, ...] = ()
    changed_files: tuple[str, ...] = ()
    requested_reviewers: tuple[str, ...] = ()
    state: str = "open"
    merged: bool = False
    merge_commit_sha: str | None = None
    # the base repository's visibility: False = public (anyone can read the comment);
    # None = not known (offline, fakes). The GitHub adapter always fills it.
    private: bool | None = None

    @property
    def from_fork(self) -> bool:
        return self.head_repo is not None and self.head_repo != self.repo


# --- helpers ----------------------------------------------------------------


# --- the model's record: production history, earlier reviews, the search ------


class LedgerAction(Enum):
    """How a version came to hold the production alias."""

    PROMOTE = "promote"  # a merged, approved PR (model-review moved the alias)
    ROLLBACK = "rollback"  # `model-review rollback`
    RECORDED = "recorded"  # known from the version's tags only (before the ledger)
    OUTSIDE = "outside"  # holds the alias now, with no record: set by hand


@dataclass(frozen=True)
class HistoryEntry:
    """One version that held the production alias, and how it got there."""

    version: str
    action: LedgerAction
    at: str = ""  # ISO 8601 UTC; "" when not known
    previous: str | None = None  # the version it replaced ("none": the first one)
    pr: str | None = None  # the PR that promoted it
    approvers: tuple[str, ...] = ()
    by: str | None = None  # who rolled back
    reason: str | None = None
    key: str | None = None  # idempotency key: "merge:<sha>", "rollback:<id>"


@dataclass(frozen=True)
class PriorReview:
    """A PR that reviewed a version of the model (from the version's tags)."""

    version: str
    pr: str
    status: str  # model_review.status
    approvers: tuple[str, ...] = ()
    at: str = ""  # when approved, if it was


@dataclass(frozen=True)
class RunCount:
    """How many runs the candidate's experiment holds since production was trained."""

    experiment_id: str
    experiment_name: str | None
    count: int
    capped: bool = False  # more than `count` exist: shown as "1,000+"
    since: int | None = None  # ms since epoch: production run's start; None: all runs


@dataclass(frozen=True)
class ModelHistory:
    """The registered model's story for the review: production's history, whether
    production was ever reviewed, earlier reviews, and the search behind the candidate."""

    model: str
    production: str | None = None  # the version holding the alias now
    reviewed: bool | None = None  # production approved through model-review (None: no prod)
    history: tuple[HistoryEntry, ...] = ()  # newest first
    prior_reviews: tuple[PriorReview, ...] = ()  # newest first
    runs_since: RunCount | None = None


# --- the review as a whole ---------------------------------------------------


@dataclass(frozen=True)
class ReviewReport:
    """Everything the comment shows about the model(s) under review."""

    candidates: tuple[Candidate, ...]
    baseline: Baseline
    metric_rows: tuple[MetricRow, ...] = ()
    param_diffs: tuple[ParamDiff, ...] = ()  # one per candidate
    notes: tuple[NotesSummary | None, ...] = ()  # one per candidate
    checklists: tuple[tuple[CheckItem, ...], ...] = ()  # one per candidate
    unresolved: tuple[Unresolved, ...] = ()
    ui_base: str | None = None  # MLflow UI address for links, no trailing slash
    images: tuple[HostedImage, ...] = ()
    images_note: str | None = None  # why there are no images, where to look instead
    problems: tuple[str, ...] = ()  # user-facing errors met while reviewing
    history: ModelHistory | None = None  # production's history, earlier reviews (issue #16)
    uncertainty_notes: tuple[str, ...] = ()  # where the intervals came from, what was refused
    changes: tuple[ChangeReport, ...] = ()  # what changed besides metrics, per candidate

    @property
    def regressions(self) -> int:
        return sum(
            1 for row in self.metric_rows for c in row.cells if c.change is Change.REGRESSION
        )

    @property
    def missed_bars(self) -> int:
        return sum(1 for row in self.metric_rows for c in row.cells if c.missed)
