"""From references to runs: the candidates under review and the production baseline.

Talks to MLflow only through the RunsPort, and batches: registry references are
resolved first, then every run is fetched in one `fetch_runs` call.

Privacy: every run passes the config's allow-lists (bot.review.privacy's Guard); a registry
reference to a model outside `mlflow.models` is refused before any lookup, and the
production baseline passes the same check. The check is handed to `fetch_runs` (`admit`),
so nothing beyond its lookup is read about a refused run. See docs/security.md.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace

from bot.config.schema import BaselineConfig, Config, MlflowConfig
from bot.domain import (
    TAG_PARENT_RUN,
    Baseline,
    Candidate,
    ModelVersionInfo,
    RefKind,
    RunRef,
    RunSnapshot,
    Unresolved,
)
from bot.ports import RunsPort
from bot.review.ledger import PR as PR_TAG
from bot.review.privacy import NOT_ALLOWED, Guard

log = logging.getLogger(__name__)

MAX_COMMITS = 20  # the PR's newest commits searched (MLflow needs one search per commit)

NO_RUN = "no run with this id on the tracking server (deleted, or logged to another server?)"
NO_MODEL = "registered model `{name}` does not exist"
NO_VERSION = "registered model `{name}` has no version {version}"
NO_ALIAS = "registered model `{name}` has no alias `{alias}`"
NO_PRODUCTION = "registered model `{name}` has no version with alias `{alias}` yet"
HAS_ALIASES = " (its aliases: {aliases})"
SET_ALIAS = (
    '; set it with `MlflowClient().set_registered_model_alias("{name}", "{alias}", '
    "VERSION)` or in the MLflow UI (the model's page, Aliases)"
)
NO_STAGE = "registered model `{name}` has no version in stage `{stage}`"
NO_LOGGED_MODEL = "no logged model with this id, or it was not logged from a run"
NO_RUN_BEHIND = "model version {name} v{version} has no source run"
BAD_NAME = "not a registered model name MLflow accepts (no `/`, `:` or control characters)"
MAX_MODEL_NAME = 256
BASELINE_NOT_ALLOWED = (
    "the production model is not allowed by this repository's config "
    "(`mlflow.experiments` / `mlflow.models`): add it to the allow-list to compare with it"
)


@dataclass(frozen=True)
class Resolution:
    candidates: tuple[Candidate, ...]
    unresolved: tuple[Unresolved, ...]
    left_out: int = 0  # training runs of the PR's commits beyond compare.max_candidates


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
    guard = Guard(config.mlflow)
    pending, unresolved = _registry_pass(refs, runs, guard)
    versions = {p.run_id: p.version for p in pending}

    def admit(run: RunSnapshot) -> bool:
        return not guard.refusal(run, versions.get(run.run_id))

    fetched = runs.fetch_runs(list(versions), admit) if pending else {}
    candidates: list[Candidate] = []
    for item in pending:
        run = fetched.get(item.run_id)
        refusal = NO_RUN if run is None else guard.refusal(run, item.version)
        if run is None or refusal:
            # a bare id that does not resolve (to an allowed run) was never a reference
            strong = [r for r in item.refs if r.kind is not RefKind.BARE_RUN_ID]
            if strong:
                unresolved.append(Unresolved(strong[0], guard.reason(refusal or NO_RUN)))
            continue
        candidates.append(
            Candidate(run=guard.redact(run), refs=tuple(item.refs), model_version=item.version)
        )
    if not refs and commits:
        return _from_commits(commits, runs, guard, config.compare.max_candidates)
    return Resolution(tuple(candidates), tuple(unresolved))


def _from_commits(commits: Sequence[str], runs: RunsPort, guard: Guard, cap: int) -> Resolution:
    """The training runs of the PR's commits: child runs (trials of a search, folds,
    repeats) are never candidates and nothing beyond their lookup is read; runs with a
    registered or logged model first, then newest first; at most `cap`."""

    def admit(run: RunSnapshot) -> bool:
        return TAG_PARENT_RUN not in run.tags and not guard.refusal(run, None)

    found = runs.runs_for_commits(list(commits)[-MAX_COMMITS:], admit)
    top = [r for r in found if TAG_PARENT_RUN not in r.tags and not guard.refusal(r, None)]
    top.sort(key=lambda r: not (r.model_versions or r.logged_models))  # stable: newest first
    chosen = [Candidate(run=guard.redact(r), from_commit=True) for r in top[:cap]]
    return Resolution(tuple(chosen), (), left_out=max(0, len(top) - cap))


def _registry_pass(
    refs: Sequence[RunRef], runs: RunsPort, guard: Guard
) -> tuple[list[_Pending], list[Unresolved]]:
    """Resolve registry and logged-model references to run ids; merge by run id.
    A model outside `mlflow.models` is refused before MLflow is asked about it."""
    by_run: dict[str, _Pending] = {}
    unresolved: list[Unresolved] = []
    for ref in refs:
        if ref.model_name is not None and not guard.model_allowed(ref.model_name):
            unresolved.append(Unresolved(ref, NOT_ALLOWED))
            continue
        run_id, version, reason = _run_id_of(ref, runs)
        if run_id is None:
            unresolved.append(Unresolved(ref, guard.reason(reason or NO_RUN, ref.model_name)))
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
    if not valid_model_name(name):  # MLflow would answer 400, failing the whole review
        return None, None, BAD_NAME
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
    if version is None:  # the model itself may be what is missing (its read is cached)
        return (
            None,
            None,
            missing if runs.latest_version(name, None) else NO_MODEL.format(name=name),
        )
    if not version.run_id:
        return None, None, NO_RUN_BEHIND.format(name=name, version=version.version)
    return version.run_id, version, None


def valid_model_name(name: str) -> bool:
    """A name MLflow's registry can hold: `models:/` URIs are URL-decoded, so a PR
    can spell `/`, `:` or a line break that MLflow rejects with an error."""
    return 0 < len(name) <= MAX_MODEL_NAME and name.isprintable() and not set(name) & set("/:")


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
    candidates: Sequence[Candidate],
    runs: RunsPort,
    config: BaselineConfig,
    allow: MlflowConfig | None = None,
) -> Baseline:
    """The production run to compare with, or a Baseline(None, reason) saying why not.
    `allow`: the allow-lists (`mlflow.*`) the production run must pass like any run."""
    guard = Guard(allow or MlflowConfig())
    if config.run:
        pinned = "pinned in config (`baseline.run`)"
        return _admitted(_fetch_baseline(runs, config.run, pinned, None, None, guard=guard), guard)
    name = registered_model_for(candidates, config)
    if name is None:
        return Baseline(
            None,
            how="",
            reason="no registered model is linked to these runs: register the model, "
            "link a `models:/` URI, or set `baseline.model` in the config",
        )
    if not guard.model_allowed(name):
        return Baseline(None, how="", reason=BASELINE_NOT_ALLOWED)
    version, how = _production_version(name, runs, config)
    if version is None:
        return Baseline(
            None,
            how="",
            model_name=name,
            reason=no_production(name, config.alias, runs),
        )
    if not version.run_id:
        return Baseline(
            None,
            how=how,
            model_name=name,
            model_version=version,
            reason=NO_RUN_BEHIND.format(name=name, version=version.version),
        )
    return _admitted(_fetch_baseline(runs, version.run_id, how, version, name, guard=guard), guard)


def without_production(
    candidates: Sequence[Candidate], baseline: Baseline, pr_url: str | None = None
) -> tuple[tuple[Candidate, ...], Baseline]:
    """Production is the baseline wherever it is named: a reference that resolves to
    the production run (its run, its version, `models:/NAME@production`) is not a
    candidate; the baseline is then marked as linked for reference. Except the run
    this PR itself promoted (its record names `pr_url`): once merged, the PR's
    candidate is production, and a redelivered close must still see it as the PR's."""
    prod = baseline.run.run_id if baseline.run else None
    kept = tuple(
        c
        for c in candidates
        if c.run.run_id != prod or (pr_url and c.run.tags.get(PR_TAG) == pr_url)
    )
    if len(kept) == len(candidates):
        return kept, baseline
    return kept, replace(baseline, linked=True)


def _admitted(baseline: Baseline, guard: Guard) -> Baseline:
    """The baseline if the allow-lists admit its run; else nothing about it."""
    if baseline.run is None or not guard.refusal(baseline.run, baseline.model_version):
        return (
            baseline if baseline.run is None else replace(baseline, run=guard.redact(baseline.run))
        )
    return Baseline(None, how="", reason=BASELINE_NOT_ALLOWED)


def no_production(name: str, alias: str, runs: RunsPort) -> str:
    """Why there is no production version, how to set the alias, and the aliases the
    model has (a team may use another name: `baseline.alias` then)."""
    record = runs.model_record(name, versions=False)
    aliases = sorted((record.aliases if record else {}).items())
    shown = ", ".join(f"`{a}` → v{v}" for a, v in aliases)
    has = HAS_ALIASES.format(aliases=shown) if aliases else ""
    how = SET_ALIAS.format(name=name, alias=alias)
    return NO_PRODUCTION.format(name=name, alias=alias) + has + how


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
    runs: RunsPort,
    run_id: str,
    how: str,
    version: ModelVersionInfo | None,
    name: str | None,
    *,
    guard: Guard,
) -> Baseline:
    run = runs.fetch_runs([run_id], lambda r: not guard.refusal(r, version)).get(run_id)
    if run is None:
        return Baseline(
            None,
            how=how,
            model_version=version,
            model_name=name,
            reason=f"the production run `{run_id}` does not exist on the tracking server",
        )
    return Baseline(run, how=how, model_version=version, model_name=name)
