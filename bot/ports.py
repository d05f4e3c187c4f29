"""The ports: what the pipeline needs from the outside world, as Protocols.

Adapters (bot.tracking.client for MLflow, bot.githost.client for GitHub, bot.app.images
for image hosting) implement them; tests pass the typed fakes in tests/fakes.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from bot.domain import (
    ArtifactInfo,
    CheckRun,
    Comment,
    GateState,
    HostedImage,
    LoggedModelInfo,
    ModelFiles,
    ModelRecord,
    ModelVersionInfo,
    PlotImage,
    PullRequest,
    Review,
    RunSnapshot,
)

# One point of a metric history: (step, value).
Point = tuple[int, float]
# Whether the allow-lists admit a run (looked up, not yet read further).
Admit = Callable[[RunSnapshot], bool]


class RunsPort(Protocol):
    """Read access to an MLflow tracking server (and the few writes issue #6 needs)."""

    def fetch_runs(
        self, run_ids: Sequence[str], admit: Admit | None = None
    ) -> dict[str, RunSnapshot]:
        """Fetch many runs in as few calls as possible. Unknown or deleted ids are
        simply absent from the result. Raises TrackingError when MLflow cannot be
        reached. A run `admit` refuses (the allow-lists) comes back as looked up, with
        its registered versions: nothing more is read about it (no artifacts, no
        logged models)."""
        ...

    def runs_for_commits(
        self, shas: Sequence[str], admit: Admit | None = None
    ) -> list[RunSnapshot]:
        """Runs whose `mlflow.source.git.commit` tag is one of `shas` (full SHAs, or
        prefixes of at least 7 hex digits), newest first; `admit` as for `fetch_runs`."""
        ...

    def related_runs(
        self, experiment_id: str, tag: str, value: str, limit: int
    ) -> list[RunSnapshot]:
        """Runs of one experiment whose tag `tag` (`mlflow.parentRunId` or
        `mlflow.source.git.commit`) equals `value`, newest first: ONE search, and light
        snapshots (params, metrics, tags; no artifacts, models or versions)."""
        ...

    def model_version(self, name: str, version: str) -> ModelVersionInfo | None:
        """A registered model version by number; None if it does not exist."""
        ...

    def model_version_by_alias(self, name: str, alias: str) -> ModelVersionInfo | None:
        """The version carrying `alias`; None if the model or alias does not exist."""
        ...

    def latest_version(self, name: str, stage: str | None) -> ModelVersionInfo | None:
        """The newest version of `name` (in `stage` if given, e.g. "Production")."""
        ...

    def logged_model_run(self, model_id: str) -> str | None:
        """The run that produced an MLflow 3 logged model ("m-<hex>"), if any."""
        ...

    def metric_histories(
        self, run_ids: Sequence[str], key: str, max_points: int
    ) -> dict[str, list[Point]]:
        """History of one metric for several runs, downsampled by the server to at
        most `max_points` per run (first and last kept)."""
        ...

    def list_artifacts(self, run_id: str, path: str = "") -> list[ArtifactInfo]: ...

    def download_artifact(self, run_id: str, path: str) -> bytes: ...

    def model_files(self, model_id: str) -> tuple[ModelFiles, LoggedModelInfo | None]:
        """The environment files beside logged model `model_id` (a fixed number of small
        downloads through the tracking server; what was skipped says why), and its
        MLmodel facts when they were not read with its run (else None)."""
        ...

    def log_artifact_bytes(self, run_id: str, path: str, data: bytes) -> None:
        """Store `data` as artifact `path` of the run (plots.host: mlflow)."""
        ...

    # --- the review's record (bot.handlers.record) ---
    def set_run_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        """Set several tags of a run in one call."""
        ...

    def set_model_version_tag(self, name: str, version: str, key: str, value: str) -> None: ...

    def set_alias(self, name: str, alias: str, version: str) -> None:
        """Point `alias` of registered model `name` at `version` (moving it if set)."""
        ...

    def model_version_description(self, name: str, version: str) -> str:
        """The description of a registered model version ("" when it has none)."""
        ...

    def set_model_version_description(self, name: str, version: str, text: str) -> None: ...

    # --- production's history and the model's record (bot.review.ledger) ---
    def model_record(self, name: str, *, versions: bool = True) -> ModelRecord | None:
        """The registered model's tags and aliases and, with `versions`, every
        version's tags; None when there is no such model."""
        ...

    def set_model_tag(self, name: str, key: str, value: str) -> None:
        """Set one tag of registered model `name`."""
        ...

    def count_runs(self, experiment_id: str, since: int | None, cap: int) -> tuple[int, bool]:
        """How many active runs (any status) experiment `experiment_id` holds that
        started after `since` (ms since epoch; None: all), counted up to `cap`, and
        whether there are more. One search."""
        ...

    def ui_base(self) -> str | None:
        """Best guess of the MLflow UI address (the tracking URI when it is http)."""
        ...


class GitHubPort(Protocol):
    """What the bot does on GitHub, for one repository."""

    def bot_login(self) -> str:
        """The login the bot's comments are authored by (e.g. github-actions[bot])."""
        ...

    def pull_request(
        self, number: int, *, with_commits: bool = True, with_files: bool = True
    ) -> PullRequest:
        """The PR. `with_commits=False` / `with_files=False` leave `commits` /
        `changed_files` empty and save the requests that list them."""
        ...

    def open_pulls(self) -> list[PullRequest]:
        """The repository's open PRs, as GitHub lists them: without `commits` or
        `changed_files` (the scheduled check reads each one it reviews)."""
        ...

    def changed_files(self, number: int) -> tuple[str, ...]:
        """The paths the PR changes (only needed for `require_review_for`)."""
        ...

    def comments(self, number: int) -> list[Comment]:
        """Every issue comment of the PR, all pages."""
        ...

    def reviews(self, number: int) -> list[Review]:
        """Every review of the PR, all pages, oldest first."""
        ...

    def file_at(self, path: str, ref: str) -> str | None:
        """A file's text at a ref; None when it does not exist."""
        ...

    def permission(self, login: str) -> str:
        """`login`'s permission on the repository: admin, maintain, write, triage, read
        or none (no such user)."""
        ...

    def team_membership(self, team: str, login: str) -> bool | None:
        """Whether `login` is an active member of `team` ("org/slug", child teams
        included, pending invitations not); None when it cannot be verified (no token
        that may read the organisation's teams)."""
        ...

    def create_comment(self, number: int, body: str) -> Comment: ...

    def update_comment(self, comment_id: int, body: str) -> Comment: ...

    def delete_comment(self, comment_id: int) -> None: ...

    def set_status(
        self, sha: str, state: GateState, description: str, context: str, target_url: str | None
    ) -> None: ...

    def request_reviewers(
        self, number: int, users: Sequence[str], teams: Sequence[str]
    ) -> None: ...

    def check_run(self, sha: str, name: str) -> CheckRun | None:
        """The bot's own latest check run named `name` on `sha` (another App's or a
        workflow's run of the same name is not the bot's), if any."""
        ...

    def write_check_run(self, sha: str, name: str, run: CheckRun) -> CheckRun:
        """Create the check run (`run.check_id` 0) or update it in place."""
        ...

    def group_messages(self, base_sha: str, head_sha: str) -> tuple[str, ...]:
        """The messages of the commits GitHub made between two commits (a merge
        group's merge or squash commits, which name their PRs)."""
        ...

    def can_request_teams(self) -> bool:
        """Whether the token may request a team's review (an App with Members: read; the
        Actions GITHUB_TOKEN has no organisation permissions and may not). No request."""
        ...

    def current_status(self, sha: str, context: str) -> tuple[GateState, str] | None:
        """The latest status with `context` on `sha` (state, description), if any;
        lets the bot skip writing a status that is already right."""
        ...

    def commit_files(self, branch: str, files: Mapping[str, bytes], message: str) -> str:
        """Commit `files` (path -> bytes) to `branch`, created on first use; nothing is
        written when every file is already there. Returns the branch's head commit."""
        ...

    def blob_url(self, sha: str, path: str) -> str:
        """A web URL of a file at a commit that renders for anyone who can read the repo."""
        ...


class ImagePort(Protocol):
    """Puts PNGs somewhere a reader of the comment can see them."""

    def publish(self, images: Sequence[PlotImage], run_id: str | None = None) -> list[HostedImage]:
        """Host the images (about run `run_id`, the first candidate) and return their URLs."""
        ...
