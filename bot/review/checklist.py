"""The reproducibility checklist for one candidate run. Pure: reads a RunSnapshot.

Each item says what was found (or what is missing and how to log it). `ok` is None
when the bot cannot tell from what MLflow returned.
"""

from __future__ import annotations

import posixpath
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain import (
    TAG_DOCKER_IMAGE,
    TAG_SOURCE_NAME,
    TAG_SOURCE_TYPE,
    CheckItem,
    LoggedModelInfo,
    RunSnapshot,
)

LABEL_GIT = "Git commit logged"
LABEL_SOURCE = "Source / entry point recorded"
LABEL_ENVIRONMENT = "Environment captured"
LABEL_DATASETS = "Dataset inputs logged"
LABEL_SIGNATURE = "Model logged with a signature"
LABEL_FINISHED = "Run finished"
LABEL_NOTES = "Notes written"
LABELS = (
    LABEL_GIT,
    LABEL_SOURCE,
    LABEL_ENVIRONMENT,
    LABEL_DATASETS,
    LABEL_SIGNATURE,
    LABEL_FINISHED,
    LABEL_NOTES,
)

TAG_ENTRY_POINT = "mlflow.project.entryPoint"
ENVIRONMENT_FILES = ("requirements.txt", "conda.yaml", "python_env.yaml")
MODEL_FILE = "MLmodel"
MIN_SHA_PREFIX = 7
MAX_LISTED = 3
SHORT_MODEL_ID = 8  # "m-2d2a1b"


def _listing(items: Sequence[str]) -> str:
    shown = ", ".join(items[:MAX_LISTED])
    extra = len(items) - MAX_LISTED
    return f"{shown} +{extra} more" if extra > 0 else shown


def _model_dirs(run: RunSnapshot) -> list[str]:
    """Artifact folders holding an MLmodel file (models logged the MLflow 2 way)."""
    return [
        posixpath.dirname(a.path) or "."
        for a in run.artifacts
        if not a.is_dir and posixpath.basename(a.path) == MODEL_FILE
    ]


def _model_name(model: LoggedModelInfo) -> str:
    return f"{model.name} ({model.model_id})" if model.name else model.model_id


def model_label(model: LoggedModelInfo, version: str | None = None) -> str:
    """The reviewed model, short: `model` (m-2d2a…, registered as v2)."""
    short = model.model_id[:SHORT_MODEL_ID] + ("…" if len(model.model_id) > SHORT_MODEL_ID else "")
    name = f"`{model.name}` " if model.name else ""
    registered = f", registered as v{version}" if version else ""
    return f"{name}({short}{registered})"


@dataclass(frozen=True)
class Reviewed:
    """The logged model under review when the run logs several (None: look at all)."""

    model: LoggedModelInfo
    version: str | None = None

    @property
    def label(self) -> str:
        return model_label(self.model, self.version)


def _models(run: RunSnapshot, reviewed: Reviewed | None) -> list[LoggedModelInfo]:
    return [reviewed.model] if reviewed else list(run.logged_models)


def _name(model: LoggedModelInfo, reviewed: Reviewed | None) -> str:
    return reviewed.label if reviewed else _model_name(model)


# --- the items ----------------------------------------------------------------------


def _in_pr(sha: str, pr_commits: Sequence[str]) -> bool:
    logged = sha.lower()
    for commit in pr_commits:
        full = commit.lower()
        shorter, longer = sorted((full, logged), key=len)  # either may be abbreviated
        if full == logged or (len(shorter) >= MIN_SHA_PREFIX and longer.startswith(shorter)):
            return True
    return False


def check_git(run: RunSnapshot, pr_commits: Sequence[str] | None) -> CheckItem:
    sha = (run.git_commit or "").strip()
    if not sha:
        return CheckItem(LABEL_GIT, False, "no git commit tag: run training from a git checkout")
    short = sha[:MIN_SHA_PREFIX]
    if pr_commits is None:
        return CheckItem(LABEL_GIT, True, f"{short}, not checked against the PR")
    if _in_pr(sha, pr_commits):
        return CheckItem(LABEL_GIT, True, f"{short}, part of this PR")
    return CheckItem(LABEL_GIT, False, f"{short}, not in this PR: retrain from the PR's code")


def check_source(run: RunSnapshot) -> CheckItem:
    name = run.tags.get(TAG_SOURCE_NAME, "").strip()
    kind = run.tags.get(TAG_SOURCE_TYPE, "").strip()
    entry = run.tags.get(TAG_ENTRY_POINT, "").strip()
    if not name:
        return CheckItem(LABEL_SOURCE, False, "no source recorded: log the run from a script")
    detail = f"{name} ({kind.lower()})" if kind else name
    if entry:
        detail += f", entry point {entry}"
    return CheckItem(LABEL_SOURCE, True, detail)


def check_environment(run: RunSnapshot, reviewed: Reviewed | None = None) -> CheckItem:
    files = [a.path for a in run.artifacts if posixpath.basename(a.path) in ENVIRONMENT_FILES]
    if files:
        return CheckItem(LABEL_ENVIRONMENT, True, _listing(files))
    image = run.tags.get(TAG_DOCKER_IMAGE, "").strip()
    if image:
        return CheckItem(LABEL_ENVIRONMENT, True, f"docker image {image}")
    with_flavors = [m for m in _models(run, reviewed) if m.flavors]
    if with_flavors:
        model = with_flavors[0]
        return CheckItem(
            LABEL_ENVIRONMENT,
            True,
            f"logged model environment: {_name(model, reviewed)} ({', '.join(model.flavors)}); "
            "MLflow saves the environment with the model",
        )
    if _models(run, reviewed):
        return CheckItem(
            LABEL_ENVIRONMENT,
            None,
            "could not tell: a model is logged but its flavors are unknown",
        )
    return CheckItem(
        LABEL_ENVIRONMENT,
        False,
        "no requirements.txt, conda.yaml, python_env.yaml or docker image: log the model "
        "with MLflow or log the environment file as an artifact",
    )


def check_datasets(run: RunSnapshot) -> CheckItem:
    if not run.datasets:
        return CheckItem(LABEL_DATASETS, False, "no dataset inputs: log them with mlflow.log_input")
    counts = Counter(f"{d.name} ({d.context})" if d.context else d.name for d in run.datasets)
    names = [f"{n} ×{k}" if k > 1 else n for n, k in counts.items()]  # repeats listed once
    return CheckItem(LABEL_DATASETS, True, _listing(names))


def check_signature(run: RunSnapshot, reviewed: Reviewed | None = None) -> CheckItem:
    models = _models(run, reviewed)
    signed = [_name(m, reviewed) for m in models if m.has_signature is True]
    if signed:
        return CheckItem(LABEL_SIGNATURE, True, _listing(signed))
    unknown = [_name(m, reviewed) for m in models if m.has_signature is None]
    if unknown:
        return CheckItem(LABEL_SIGNATURE, None, f"could not tell for {_listing(unknown)}")
    if models:
        verb = "has" if len(models) == 1 else "have"
        return CheckItem(
            LABEL_SIGNATURE,
            False,
            f"{_listing([_name(m, reviewed) for m in models])} {verb} no signature: "
            "pass signature= or input_example= to log_model",
        )
    dirs = _model_dirs(run)
    if dirs:
        return CheckItem(LABEL_SIGNATURE, None, f"could not tell: model files in {_listing(dirs)}")
    return CheckItem(LABEL_SIGNATURE, False, "no model logged")


_STATUS_DETAIL = {
    "RUNNING": "still running: review it once it has finished",
    "SCHEDULED": "scheduled, not started yet",
    "FAILED": "the run failed: check its logs and retrain",
    "KILLED": "the run was killed before it finished",
}


def _duration(run: RunSnapshot) -> str:
    if run.start_time is None or run.end_time is None or run.end_time < run.start_time:
        return "finished"
    seconds = (run.end_time - run.start_time) // 1000
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"finished in {hours}h {minutes}m"
    if minutes:
        return f"finished in {minutes}m {secs}s"
    return f"finished in {secs}s"


def check_finished(run: RunSnapshot) -> CheckItem:
    status = run.status.strip().upper()
    if status == "FINISHED":
        return CheckItem(LABEL_FINISHED, True, _duration(run))
    detail = _STATUS_DETAIL.get(status)
    if detail is None:
        return CheckItem(LABEL_FINISHED, False, f"status is {status or 'unknown'}")
    return CheckItem(LABEL_FINISHED, False, f"{status}: {detail}")


def check_notes(run: RunSnapshot) -> CheckItem:
    words = sum(1 for w in (run.notes or "").split() if any(ch.isalnum() for ch in w))
    if not words:
        return CheckItem(
            LABEL_NOTES, False, "no notes: describe the change in the run's description in MLflow"
        )
    return CheckItem(LABEL_NOTES, True, f"{words} {'word' if words == 1 else 'words'}")


def reproducibility(
    candidate: RunSnapshot, pr_commits: Sequence[str] | None, reviewed: Reviewed | None = None
) -> tuple[CheckItem, ...]:
    """The checklist for one candidate, in LABELS order.

    pr_commits None means the PR's commits are unknown (offline render): the git item
    then only checks that a commit was logged. `reviewed`: the model under review when
    the run logs several; the environment and signature items are about it alone.
    """
    return (
        check_git(candidate, pr_commits),
        check_source(candidate),
        check_environment(candidate, reviewed),
        check_datasets(candidate),
        check_signature(candidate, reviewed),
        check_finished(candidate),
        check_notes(candidate),
    )
