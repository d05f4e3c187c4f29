"""From references to runs: the candidates under review and the production baseline.

Talks to MLflow only through the RunsPort, and batches: registry references are
resolved first, then every run is fetched in one `fetch_runs` call.
"""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from bot.config import BaselineConfig, Config
from bot.domain import (
    Baseline,
    Candidate,
    ModelVersionInfo,
    RefKind,
    RunRef,
    RunSnapshot,
    Unresolved,
)
from bot.ports import RunsPort

log = logging.getLogger(__name__)

MAX_COMMIT_RUNS = 5  # runs found through the PR's commits, newest first
MAX_COMMITS = 20  # the PR's newest commits searched (MLflow needs one search per commit)

NO_RUN = "no run with this id on the tracking server (deleted, or logged to another server?)"
NO_VERSION = "registered model `{name}` has no version {version}"
NO_ALIAS = "registered model `{name}` has no alias `{alias}`"
NO_STAGE = "registered model `{name}` has no version in stage `{stage}`"
NO_LOGGED_MODEL = "no logged model with this id, or it was not logged from a run"
NOT_ALLOWED = "not allowed by this repository's config (`mlflow.experiments` / `mlflow.models`)"
NO_RUN_BEHIND = "model version {name} v{version} has no source run"


@dataclass(frozen=True)
class Resolution:
    candidates: tuple[Candidate, ...]
    unresolved: tuple[Unresolved, ...]


@dataclass
class _Pending:
    """A reference on its way to a run id."""

    refs: list[RunRef]
    run_id: str
    version: ModelVersionInfo | None = None


def resolve_candidates(
    refs: Sequence[RunRef],
    runs: RunsPort,
    config: Config,
    commits: Sequence[str] | None = None,
) -> Resolution:
    """Turn references into candidate runs; with no reference, look up the commits."""
    pending, unresolved = _registry_pass(refs, runs)
    fetched = runs.fetch_runs([p.run_id for p in pending]) if pending else {}
    candidates: list[Candidate] = []
    for item in pending:
        run = fetched.get(item.run_id)
        strong = [r for r in item.refs if r.kind is not RefKind.BARE_RUN_ID]
        if run is None:
            if strong:  # a bare id that does not resolve was never a reference
                unresolved.append(Unresolved(strong[0], NO_RUN))
            continue
        refusal = _allowed(run, item.version, config)
        if refusal:
            unresolved.append(Unresolved(item.refs[0], refusal))
            continue
        candidates.append(Candidate(run=run, refs=tuple(item.refs), model_version=item.version))
    if not refs and commits:
        candidates = [
            Candidate(run=run, from_commit=True)
            for run in runs.runs_for_commits(list(commits)[-MAX_COMMITS:])[:MAX_COMMIT_RUNS]
            if not _allowed(run, None, config)
        ]
    return Resolution(tuple(candidates), tuple(unresolved))


def _registry_pass(
    refs: Sequence[RunRef], runs: RunsPort
) -> tuple[list[_Pending], list[Unresolved]]:
    """Resolve registry and logged-model references to run ids; merge by run id."""
    by_run: dict[str, _Pending] = {}
    unresolved: list[Unresolved] = []
    for ref in refs:
        run_id, version, reason = _run_id_of(ref, runs)
        if run_id is None:
            unresolved.append(Unresolved(ref, reason or NO_RUN))
            continue
        item = by_run.setdefault(run_id, _Pending(refs=[], run_id=run_id))
        item.refs.append(ref)
        item.version = item.version or version
    return list(by_run.values()), unresolved


def _run_id_of(
    ref: RunRef, runs: RunsPort
) -> tuple[str | None, ModelVersionInfo | None, str | None]:
    name = ref.model_name or ""
    if ref.kind in (RefKind.RUN, RefKind.BARE_RUN_ID):
        return ref.run_id, None, None
    if ref.kind is RefKind.LOGGED_MODEL:
        return runs.logged_model_run(ref.model_id or ""), None, NO_LOGGED_MODEL
    version: ModelVersionInfo | None
    if ref.kind is RefKind.MODEL_VERSION:
        version = runs.model_version(name, ref.version or "")
        missing = NO_VERSION.format(name=name, version=ref.version)
    elif ref.kind is RefKind.MODEL_ALIAS:
        version = runs.model_version_by_alias(name, ref.alias or "")
        missing = NO_ALIAS.format(name=name, alias=ref.alias)
    else:
        stage = None if (ref.version or "").lower() == "latest" else ref.version
        version = runs.latest_version(name, stage)
        missing = NO_STAGE.format(name=name, stage=ref.version)
    if version is None:
        return None, None, missing
    if not version.run_id:
        return None, None, NO_RUN_BEHIND.format(name=name, version=version.version)
    return version.run_id, version, None


def _allowed(run: RunSnapshot, version: ModelVersionInfo | None, config: Config) -> str | None:
    """None when the repository's allow-lists admit this run, else the refusal."""
    experiments = config.mlflow.experiments
    if experiments and not any(
        _matches(pattern, run.experiment_name or "") or pattern == run.experiment_id
        for pattern in experiments
    ):
        return NOT_ALLOWED
    models = config.mlflow.models
    names = [v.name for v in run.model_versions] + ([version.name] if version else [])
    if models and names and not any(_matches(p, n) for p in models for n in names):
        return NOT_ALLOWED
    return None


def _matches(pattern: str, value: str) -> bool:
    return fnmatch.fnmatchcase(value, pattern)


# --- the production baseline --------------------------------------------------


def registered_model_for(candidates: Sequence[Candidate], config: BaselineConfig) -> str | None:
    """Which registered model the candidates belong to, by order of evidence."""
    for candidate in candidates:
        if candidate.model_version:
            return candidate.model_version.name
    for candidate in candidates:
        if candidate.run.model_versions:
            return candidate.run.model_versions[0].name
    mapping = dict(config.models)
    for candidate in candidates:
        for key in (candidate.run.experiment_name, candidate.run.experiment_id):
            if key and key in mapping:
                return mapping[key]
    return config.model


def find_baseline(
    candidates: Sequence[Candidate], runs: RunsPort, config: BaselineConfig
) -> Baseline:
    """The production run to compare with, or a Baseline(None, reason) saying why not."""
    if config.run:
        return _fetch_baseline(runs, config.run, "pinned in config (`baseline.run`)", None, None)
    name = registered_model_for(candidates, config)
    if name is None:
        return Baseline(
            None,
            how="",
            reason="no registered model is linked to these runs: register the model, "
            "link a `models:/` URI, or set `baseline.model` in the config",
        )
    version, how = _production_version(name, runs, config)
    if version is None:
        return Baseline(
            None,
            how="",
            model_name=name,
            reason=f"registered model `{name}` has no version with alias `{config.alias}` yet",
        )
    if not version.run_id:
        return Baseline(
            None,
            how=how,
            model_name=name,
            model_version=version,
            reason=NO_RUN_BEHIND.format(name=name, version=version.version),
        )
    return _fetch_baseline(runs, version.run_id, how, version, name)


def _production_version(
    name: str, runs: RunsPort, config: BaselineConfig
) -> tuple[ModelVersionInfo | None, str]:
    version = runs.model_version_by_alias(name, config.alias)
    if version is not None:
        return version, f"alias `{config.alias}`"
    if config.stage_fallback:
        version = runs.latest_version(name, "Production")
        if version is not None:
            return version, "stage `Production` (deprecated: set the alias instead)"
    return None, ""


def _fetch_baseline(
    runs: RunsPort, run_id: str, how: str, version: ModelVersionInfo | None, name: str | None
) -> Baseline:
    run = runs.fetch_runs([run_id]).get(run_id)
    if run is None:
        return Baseline(
            None,
            how=how,
            model_version=version,
            model_name=name,
            reason=f"the production run `{run_id}` does not exist on the tracking server",
        )
    return Baseline(run, how=how, model_version=version, model_name=name)
