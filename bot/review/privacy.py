"""Which MLflow data a repository may publish: its config's allow-lists.

The allow-lists (`mlflow.experiments`, `mlflow.models`) decide which runs may be shown:
a run must be in a listed experiment when the first is set AND belong to a listed
registered model when the second is set (both set: both hold; an unregistered run is
refused whenever `mlflow.models` is set).
With a list set, a run outside it, a missing run and a registry miss all get the same
answer (NOT_ALLOWED), so a PR cannot probe MLflow for what exists. A public repository
with no allow-list gets no MLflow data at all. See docs/security.md.
"""

from __future__ import annotations

import fnmatch
from dataclasses import replace

from bot.config.schema import MlflowConfig
from bot.domain import ModelVersionInfo, RunSnapshot

NOT_ALLOWED = (
    "not found, or not allowed by this repository's config (`mlflow.experiments` / `mlflow.models`)"
)
PUBLIC_NO_ALLOW_LIST = (
    "This repository is public and its config sets no `mlflow.experiments` or "
    "`mlflow.models` allow-list, so model-review publishes no MLflow data here."
)
PUBLIC_NO_ALLOW_LIST_HINT = (
    "Anyone can read this pull request. List the experiments (or registered models) "
    "whose runs may be shown in `.github/model-review.yml` on the base branch, e.g. "
    '`mlflow: {experiments: ["fraud-*"]}`; `["*"]` publishes every run. '
    "The `model-review` status stays `error` until then."
)
PUBLIC_NO_ALLOW_LIST_STATUS = (
    "public repository: set mlflow.experiments or mlflow.models in the config to publish runs"
)


def must_not_publish(private: bool | None, mlflow: MlflowConfig) -> bool:
    """True for a public repository whose config has no allow-list: nothing from
    MLflow may be shown there (private None = not known, e.g. offline)."""
    return private is False and not (mlflow.experiments or mlflow.models)


class Guard:
    """The repository's allow-lists, applied to runs, model names and messages."""

    def __init__(self, mlflow: MlflowConfig) -> None:
        self.experiments = mlflow.experiments
        self.models = mlflow.models

    @property
    def active(self) -> bool:
        return bool(self.experiments or self.models)

    def model_allowed(self, name: str) -> bool:
        """A registered model name passes `mlflow.models` (always, without that list)."""
        return not self.models or any(_matches(p, name) for p in self.models)

    def reason(self, reason: str, model: str | None = None) -> str:
        """With allow-lists, one answer for every miss, unless the model is listed."""
        if not self.active or (model is not None and self.models and self.model_allowed(model)):
            return reason
        return NOT_ALLOWED

    def experiment_listed(self, run: RunSnapshot) -> bool:
        """The run's experiment is in `mlflow.experiments` (False without that list)."""
        return any(
            _matches(p, run.experiment_name or "") or p == run.experiment_id
            for p in self.experiments
        )

    def refusal(self, run: RunSnapshot, version: ModelVersionInfo | None) -> str | None:
        """None when the allow-lists admit this run, else NOT_ALLOWED."""
        if self.experiments and not self.experiment_listed(run):
            return NOT_ALLOWED
        names = [v.name for v in run.model_versions] + ([version.name] if version else [])
        # with `mlflow.models` set (alone or with `mlflow.experiments`), a run must be
        # linked to a listed model: an unregistered run is refused
        if self.models and not any(self.model_allowed(n) for n in names):
            return NOT_ALLOWED
        return None

    def redact(self, run: RunSnapshot) -> RunSnapshot:
        """The run without registered versions of models outside `mlflow.models`."""
        kept = tuple(v for v in run.model_versions if self.model_allowed(v.name))
        return run if kept == run.model_versions else replace(run, model_versions=kept)


def _matches(pattern: str, value: str) -> bool:
    return fnmatch.fnmatchcase(value, pattern)
