"""The one set of typed fakes for the ports (bot.ports). Never redefine a fake in a
test module: extend these. They keep the real signatures, so mypy checks that they
still match the Protocols."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from bot.app.queue.jobs import Job, JobQueue, QueueStatus
from bot.app.queue.reconcile import Inventory
from bot.app.queue.runner import Installations
from bot.domain import (
    TAG_PARENT_RUN,
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
    VersionRecord,
)
from bot.errors import GitHubError, TrackingError
from bot.githost.inventory import Installation
from bot.ports import Admit, GitHubPort, ImagePort, Point, RunsPort


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
    version_tags: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    descriptions: dict[tuple[str, str], str] = field(default_factory=dict)
    failing_writes: int = 0  # the next N writes fail (reads still work)
    model_files_by_id: dict[str, ModelFiles] = field(default_factory=dict)
    model_tags: dict[str, dict[str, str]] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)  # run ids `admit` refused

    # --- building the fake ---
    def add_run(self, run: RunSnapshot) -> RunSnapshot:
        self.runs[run.run_id] = run
        return run

    def register(
        self, name: str, run_id: str, aliases: Sequence[str] = (), stage: str | None = None
    ) -> ModelVersionInfo:
        version = str(1 + sum(1 for v in self.versions if v.name == name))
        info = ModelVersionInfo(
            name=name,
            version=version,
            run_id=run_id,
            aliases=tuple(aliases),
            stage=stage,
            source=f"runs:/{run_id}/model",
        )
        self.versions.append(info)
        run = self.runs.get(run_id)
        if run is not None:
            self.runs[run_id] = replace(run, model_versions=(*run.model_versions, info))
        return info

    def _check(self, call: str) -> None:
        self.calls.append(call)
        if self.down:
            raise TrackingError(
                "MLflow at http://mlflow.test cannot be reached", hint="check MLFLOW_TRACKING_URI"
            )

    # --- RunsPort ---
    def fetch_runs(
        self, run_ids: Sequence[str], admit: Admit | None = None
    ) -> dict[str, RunSnapshot]:
        self._check("fetch_runs")
        found = {rid: self.runs[rid] for rid in run_ids if rid in self.runs}
        return {rid: self._admitted(run, admit) for rid, run in found.items()}

    def runs_for_commits(
        self, shas: Sequence[str], admit: Admit | None = None
    ) -> list[RunSnapshot]:
        self._check("runs_for_commits")
        found = [
            r
            for r in self.runs.values()
            if any((r.git_commit or "").startswith(sha) for sha in shas if sha)
        ]
        newest = sorted(found, key=lambda r: r.start_time or 0, reverse=True)
        return [self._admitted(run, admit) for run in newest]

    def _admitted(self, run: RunSnapshot, admit: Admit | None) -> RunSnapshot:
        """As the adapter does: a refused run comes back without what is read later."""
        if admit is None or admit(run):
            return run
        self.refused.append(run.run_id)
        return replace(run, artifacts=(), logged_models=())

    def related_runs(
        self, experiment_id: str, tag: str, value: str, limit: int
    ) -> list[RunSnapshot]:
        self._check("related_runs")
        found = [
            replace(r, artifacts=(), logged_models=(), model_versions=(), datasets=())
            for r in self.runs.values()
            if r.experiment_id == experiment_id and r.tags.get(tag) == value
        ]
        return sorted(found, key=lambda r: r.start_time or 0, reverse=True)[:limit]

    def model_version(self, name: str, version: str) -> ModelVersionInfo | None:
        self._check("model_version")
        return next((v for v in self.versions if v.name == name and v.version == version), None)

    def model_version_by_alias(self, name: str, alias: str) -> ModelVersionInfo | None:
        self._check("model_version_by_alias")
        return next((v for v in self.versions if v.name == name and alias in v.aliases), None)

    def latest_version(self, name: str, stage: str | None) -> ModelVersionInfo | None:
        self._check("latest_version")
        matching = [
            v
            for v in self.versions
            if v.name == name and (stage is None or (v.stage or "").lower() == stage.lower())
        ]
        return max(matching, key=lambda v: int(v.version), default=None)

    def logged_model_run(self, model_id: str) -> str | None:
        self._check("logged_model_run")
        return self.logged_models.get(model_id)

    def metric_histories(
        self, run_ids: Sequence[str], key: str, max_points: int
    ) -> dict[str, list[Point]]:
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
        return [
            ArtifactInfo(path=p, is_dir=False, size=len(data))
            for (rid, p), data in self.files.items()
            if rid == run_id and p.startswith(prefix) and "/" not in p[len(prefix) :]
        ]

    def download_artifact(self, run_id: str, path: str) -> bytes:
        self._check("download_artifact")
        try:
            return self.files[(run_id, path)]
        except KeyError:
            raise TrackingError(f"artifact {path} of run {run_id} not found") from None

    def model_files(self, model_id: str) -> tuple[ModelFiles, LoggedModelInfo | None]:
        self._check("model_files")
        found = self.model_files_by_id.get(model_id)
        return found or ModelFiles(model_id, skipped=(f"no files for {model_id}",)), None

    def log_artifact_bytes(self, run_id: str, path: str, data: bytes) -> None:
        self._check("log_artifact_bytes")
        self.files[(run_id, path)] = data

    def _check_write(self, call: str) -> None:
        self._check(call)
        if self.failing_writes > 0:
            self.failing_writes -= 1
            raise TrackingError(f"MLflow at http://mlflow.test failed while {call}: 503")

    def set_run_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        self._check_write("set_run_tags")
        run = self.runs.get(run_id)
        if run is None:
            raise TrackingError(f"run {run_id} not found")
        self.runs[run_id] = replace(run, tags={**run.tags, **tags})

    def set_model_version_tag(self, name: str, version: str, key: str, value: str) -> None:
        self._check_write("set_model_version_tag")
        self._version(name, version)
        self.version_tags.setdefault((name, version), {})[key] = value

    def set_alias(self, name: str, alias: str, version: str) -> None:
        self._check_write("set_alias")
        self._version(name, version)
        for index, info in enumerate(self.versions):
            if info.name == name:
                kept = tuple(a for a in info.aliases if a != alias)
                aliases = (*kept, alias) if info.version == version else kept
                self.versions[index] = replace(info, aliases=aliases)
        for run_id, run in self.runs.items():
            mine = tuple(v for v in self.versions if v.run_id == run_id)
            self.runs[run_id] = replace(run, model_versions=mine)

    def model_version_description(self, name: str, version: str) -> str:
        self._check("model_version_description")
        self._version(name, version)
        return self.descriptions.get((name, version), "")

    def set_model_version_description(self, name: str, version: str, text: str) -> None:
        self._check_write("set_model_version_description")
        self._version(name, version)
        self.descriptions[(name, version)] = text

    def model_record(self, name: str, *, versions: bool = True) -> ModelRecord | None:
        self._check("model_record")
        mine = [v for v in self.versions if v.name == name]
        if not mine:
            return None
        aliases = {a: v.version for v in mine for a in v.aliases}
        records = tuple(
            VersionRecord(v.version, v.run_id, dict(self.version_tags.get((name, v.version), {})))
            for v in mine
        )
        tags = dict(self.model_tags.get(name, {}))
        return ModelRecord(name, tags, aliases, records if versions else ())

    def set_model_tag(self, name: str, key: str, value: str) -> None:
        self._check_write("set_model_tag")
        self.model_tags.setdefault(name, {})[key] = value

    def count_runs(self, experiment_id: str, since: int | None, cap: int) -> tuple[int, bool]:
        self._check("count_runs")
        found = [
            r
            for r in self.runs.values()
            if r.experiment_id == experiment_id
            and (since is None or (r.start_time or 0) > since)
            and TAG_PARENT_RUN not in r.tags
        ]
        return min(len(found), cap), len(found) > cap

    def _version(self, name: str, version: str) -> ModelVersionInfo:
        found = next((v for v in self.versions if (v.name, v.version) == (name, version)), None)
        if found is None:
            raise TrackingError(f"model {name} has no version {version}")
        return found

    def ui_base(self) -> str | None:
        return self.base_url


@dataclass
class FakeImages:
    """An image host that remembers what it was given."""

    published: list[PlotImage] = field(default_factory=list)
    base_url: str = "https://images.test"

    def publish(self, images: Sequence[PlotImage], run_id: str | None = None) -> list[HostedImage]:
        self.published.extend(images)
        return [
            HostedImage(
                name=i.name,
                title=i.title,
                alt=i.alt,
                url=f"{self.base_url}/{i.name}",
                primary=i.primary,
                group=i.group,
            )
            for i in images
        ]


@dataclass
class FakeGitHub:
    """One repository's pull requests, comments, reviews, files and statuses."""

    pulls: dict[int, PullRequest] = field(default_factory=dict)
    comment_list: list[Comment] = field(default_factory=list)
    review_list: dict[int, list[Review]] = field(default_factory=dict)
    files: dict[tuple[str, str], str] = field(default_factory=dict)  # (path, ref) -> text
    statuses: list[tuple[str, GateState, str, str]] = field(default_factory=list)
    requested: list[tuple[int, tuple[str, ...], tuple[str, ...]]] = field(default_factory=list)
    branches: dict[str, dict[str, bytes]] = field(default_factory=dict)
    branch_commits: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    login: str = "github-actions[bot]"
    read_only: bool = False
    writes: list[str] = field(default_factory=list)
    reads: list[str] = field(default_factory=list)
    # who may do what: permission by login (else `default_permission`), active members
    # by team ("org/slug"); `teams=None`: membership cannot be read (no org token)
    permissions: dict[str, str] = field(default_factory=dict)
    default_permission: str = "write"
    teams: dict[str, set[str]] | None = field(default_factory=dict)
    request_teams: bool = True  # False: the Actions token (team requests refused)
    # (base, head) -> the messages of the commits GitHub made between them (merge queues)
    queue_commits: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    # (sha, name) -> the bot's check run; every write of one, in order
    check_runs: dict[tuple[str, str], CheckRun] = field(default_factory=dict)
    check_writes: list[tuple[str, str, CheckRun]] = field(default_factory=list)
    _next_id: int = 1000

    def _write(self, what: str) -> None:
        if self.read_only:
            raise GitHubError("GitHub refused the write (403): the token is read-only", status=403)
        self.writes.append(what)

    def bot_login(self) -> str:
        return self.login

    def pull_request(
        self, number: int, *, with_commits: bool = True, with_files: bool = True
    ) -> PullRequest:
        try:
            pull = self.pulls[number]
        except KeyError:
            raise GitHubError(f"pull request #{number} not found", status=404) from None
        return replace(
            pull,
            commits=pull.commits if with_commits else (),
            changed_files=pull.changed_files if with_files else (),
        )

    def open_pulls(self) -> list[PullRequest]:
        self.reads.append("open_pulls")
        pulls = [p for p in self.pulls.values() if p.state == "open"]
        return [replace(p, commits=(), changed_files=()) for p in pulls]

    def changed_files(self, number: int) -> tuple[str, ...]:
        self.reads.append("changed_files")
        return self.pulls[number].changed_files

    def comments(self, number: int) -> list[Comment]:
        return list(self.comment_list)

    def reviews(self, number: int) -> list[Review]:
        return list(self.review_list.get(number, []))

    def file_at(self, path: str, ref: str) -> str | None:
        return self.files.get((path, ref))

    def permission(self, login: str) -> str:
        self.reads.append(f"permission {login}")
        return self.permissions.get(login, self.default_permission)

    def team_membership(self, team: str, login: str) -> bool | None:
        if self.teams is None:
            return None
        self.reads.append(f"membership {team} {login}")
        return login in self.teams.get(team, set())

    def create_comment(self, number: int, body: str) -> Comment:
        self._write("create_comment")
        self._next_id += 1
        comment = Comment(
            comment_id=self._next_id,
            author=self.login,
            body=body,
            url=f"https://github.test/pull/{number}#issuecomment-{self._next_id}",
        )
        self.comment_list.append(comment)
        return comment

    def update_comment(self, comment_id: int, body: str) -> Comment:
        self._write("update_comment")
        for index, comment in enumerate(self.comment_list):
            if comment.comment_id == comment_id:
                self.comment_list[index] = replace(comment, body=body)
                return self.comment_list[index]
        raise GitHubError(f"comment {comment_id} not found", status=404)

    def delete_comment(self, comment_id: int) -> None:
        self._write("delete_comment")
        self.comment_list = [c for c in self.comment_list if c.comment_id != comment_id]

    def set_status(
        self, sha: str, state: GateState, description: str, context: str, target_url: str | None
    ) -> None:
        self._write("set_status")
        self.statuses.append((sha, state, description, context))

    def request_reviewers(self, number: int, users: Sequence[str], teams: Sequence[str]) -> None:
        self._write("request_reviewers")
        self.requested.append((number, tuple(users), tuple(teams)))
        pull = self.pulls[number]
        names = (*pull.requested_reviewers, *users, *teams)
        self.pulls[number] = replace(pull, requested_reviewers=names)

    def can_request_teams(self) -> bool:
        return self.request_teams

    def check_run(self, sha: str, name: str) -> CheckRun | None:
        self.reads.append(f"check_run {name}")
        return self.check_runs.get((sha, name))

    def write_check_run(self, sha: str, name: str, run: CheckRun) -> CheckRun:
        self._write("write_check_run")
        if run.check_id == 0:
            self._next_id += 1
            run = replace(run, check_id=self._next_id)
        self.check_runs[(sha, name)] = run
        self.check_writes.append((sha, name, run))
        return run

    def group_messages(self, base_sha: str, head_sha: str) -> tuple[str, ...]:
        self.reads.append("group_messages")
        return self.queue_commits.get((base_sha, head_sha), ())

    def current_status(self, sha: str, context: str) -> tuple[GateState, str] | None:
        for status_sha, state, description, status_context in reversed(self.statuses):
            if status_sha == sha and status_context == context:
                return state, description
        return None

    def commit_files(self, branch: str, files: Mapping[str, bytes], message: str) -> str:
        new = {
            path: data
            for path, data in files.items()
            if self.branches.get(branch, {}).get(path) != data
        }
        if new:
            self._write("commit_files")
            self.branches.setdefault(branch, {}).update(new)
            self.branch_commits.append((branch, tuple(sorted(new))))
        return f"{len(self.branch_commits):040x}"

    def blob_url(self, sha: str, path: str) -> str:
        return f"https://github.test/owner/repo/blob/{sha}/{path}?raw=true"

    # --- helpers for tests ---
    def status_of(self, sha: str, context: str = "model-review") -> GateState | None:
        found = self.current_status(sha, context)
        return found[0] if found else None

    def add_review(self, number: int, review: Review) -> None:
        self.review_list.setdefault(number, []).append(review)
        pull = self.pulls[number]
        remaining = tuple(r for r in pull.requested_reviewers if r != review.user)
        self.pulls[number] = replace(pull, requested_reviewers=remaining)


def _typecheck() -> None:  # mypy proves the fakes still match the ports
    runs: RunsPort = FakeRuns()
    images: ImagePort = FakeImages()
    github: GitHubPort = FakeGitHub()
    del runs, images, github


@dataclass
class FakeQueue:
    """A work queue (bot.app.queue.jobs.JobQueue) that only records what the webhook gave it."""

    jobs: list[Job] = field(default_factory=list)
    full: bool = False  # True: refuse every job, as a full queue does

    def submit(self, job: Job) -> bool:
        if self.full:
            return False
        self.jobs.append(job)
        return True

    def depth(self) -> int:
        return len(self.jobs)

    def status(self) -> QueueStatus:
        return QueueStatus(depth=len(self.jobs), oldest_wait=0.0, workers=1, failed=0)

    def busy(self, key: str) -> bool:
        return any(job.key == key for job in self.jobs)


@dataclass
class FakeInstallations:
    """GitHub App installations (bot.app.queue.runner.Installations): one FakeGitHub per
    repository."""

    repos: dict[str, FakeGitHub] = field(default_factory=dict)
    installed: dict[str, int] = field(default_factory=dict)  # repo -> installation id
    used: list[tuple[int, str]] = field(default_factory=list)  # (installation, repo) asked

    def installation_id(self, full_name: str) -> int:
        try:
            return self.installed[full_name]
        except KeyError:
            raise GitHubError(f"the App is not installed on {full_name}", status=404) from None

    def repo(self, installation_id: int, full_name: str) -> GitHubPort:
        self.used.append((installation_id, full_name))
        return self.repos.setdefault(full_name, FakeGitHub(login="model-review[bot]"))


def _typecheck_jobs() -> None:
    """The job fakes match the Protocols of bot.app.queue.jobs and .runner."""
    queue: JobQueue = FakeQueue()
    installations: Installations = FakeInstallations()
    del queue, installations


@dataclass
class FakeModelStore:
    """The adapter surface bot.tracking.modelfiles reads logged-model files through
    (`modelfiles.ModelStore`): one model folder, every read recorded."""

    location: str = "mlflow-artifacts:/1/models/m-1/artifacts"
    files: dict[str, bytes] = field(default_factory=dict)
    rest: bool = True
    model: LoggedModelInfo | None = None
    reads: list[str] = field(default_factory=list)

    def model_location(self, model_id: str) -> str | None:
        return self.location

    def known_model(self, model_id: str) -> LoggedModelInfo | None:
        return self.model

    def rest_api(self) -> bool:
        return self.rest

    def get(self, endpoint: str, params: Mapping[str, object], doing: str) -> object:
        self.reads.append(f"list {params.get('path')}")
        files = [
            {"path": n, "is_dir": False, "file_size": str(len(d))} for n, d in self.files.items()
        ]
        return _Json({"files": files})

    def read_file(self, location: str, relpath: str, doing: str) -> bytes:
        self.reads.append(relpath)
        return self.files[relpath]

    def model_listing(self, model_id: str, doing: str) -> list[ArtifactInfo]:
        self.reads.append("list (local)")
        return [ArtifactInfo(n, False, len(d)) for n, d in self.files.items()]


@dataclass(frozen=True)
class _Json:
    body: object

    def json(self) -> object:
        return self.body


@dataclass
class FakeInventory:
    """The App's installations, repositories and open PRs (bot.app.queue.reconcile.Inventory),
    read from FakeInstallations: every installed repository's open pulls."""

    apps: FakeInstallations
    accounts: dict[int, str] = field(default_factory=dict)

    def installations(self) -> list[Installation]:
        ids = sorted(set(self.apps.installed.values()))
        return [Installation(i, self.accounts.get(i, f"account-{i}")) for i in ids]

    def repositories(self, installation_id: int) -> list[str]:
        return sorted(r for r, i in self.apps.installed.items() if i == installation_id)

    def open_pulls(self, installation_id: int, full_name: str) -> list[PullRequest]:
        github = self.apps.repos.get(full_name)
        return github.open_pulls() if github else []


def _typecheck_inventory() -> None:
    inventory: Inventory = FakeInventory(FakeInstallations())
    del inventory
