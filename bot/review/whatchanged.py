"""What changed besides the metrics, per candidate (issue #15): the comparability guard,
data, signature, environment, size and code. `read_models` fetches the model files
through the RunsPort (a fixed number of small downloads per model); everything else
is pure.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from bot.config.schema import Config, SectionsConfig
from bot.domain import (
    TAG_GIT_REPO,
    Baseline,
    Candidate,
    CheckItem,
    LoggedModelInfo,
    ModelFiles,
    ModelVersionInfo,
    RunSnapshot,
)
from bot.domain.modelchanges import ChangeReport, CodeChange, EvalData, SizeChange
from bot.errors import ModelReviewError
from bot.ports import RunsPort
from bot.review import checklist
from bot.review.datadiff import data_diff
from bot.review.envdiff import environment_diff
from bot.review.evaldata import MetricData, check_eval_data
from bot.review.signature import signature_diff

log = logging.getLogger(__name__)

MAX_MODELS_READ = 4  # models whose files are read per review (production + 3 candidates)
FULL_SHA = re.compile(r"[0-9a-f]{40}")
LABEL_EVAL_DATA = "Same evaluation data as production"


@dataclass(frozen=True)
class ModelFacts:
    """One run's model as the review of changes sees it."""

    model: LoggedModelInfo | None
    files: ModelFiles | None = None


# --- which model, and reading its files -----------------------------------------------


def logged_model_of(
    run: RunSnapshot, version: ModelVersionInfo | None, named: str | None = None
) -> tuple[str | None, LoggedModelInfo | None]:
    """The model under review: the registered version's, else the one the link names
    (`models:/m-…`), else the run's latest logged one."""
    known = {m.model_id: m for m in run.logged_models}
    wanted = version.model_id if version and version.model_id else None
    wanted = wanted or (named if named in known else None)
    if wanted:
        return wanted, known.get(wanted)
    latest = run.logged_models[-1] if run.logged_models else None
    return (latest.model_id if latest else None), latest


def version_of(candidate: Candidate) -> ModelVersionInfo | None:
    """The registered version under review: the one linked, else the run's first."""
    return candidate.model_version or next(iter(candidate.run.model_versions), None)


def named_model(candidate: Candidate) -> str | None:
    """The logged model a `models:/m-…` link names, if any."""
    return next((r.model_id for r in candidate.refs if r.model_id), None)


def reviewed(candidate: Candidate) -> checklist.Reviewed | None:
    """The model under review when the run logs several (which one the checklist and
    the sections are about); None when there is no choice to make."""
    if len(candidate.run.logged_models) < 2:
        return None
    version = version_of(candidate)
    _, model = logged_model_of(candidate.run, version, named_model(candidate))
    if model is None:
        return None
    registered = version.version if version and version.model_id == model.model_id else None
    return checklist.Reviewed(model, registered)


def read_models(
    candidates: Sequence[Candidate],
    baseline: Baseline | None,
    runs: RunsPort,
    sections: SectionsConfig,
) -> dict[str, ModelFacts]:
    """run id -> its model's facts; environment files only when that section is on."""
    pairs = [(c.run, version_of(c), named_model(c)) for c in candidates]
    if baseline is not None and baseline.run is not None:
        pairs.insert(0, (baseline.run, baseline.model_version, None))
    out: dict[str, ModelFacts] = {}
    for n, (run, version, named) in enumerate(pairs):
        model_id, model = logged_model_of(run, version, named)
        needs_files = sections.environment or (model is None and model_id is not None)
        if model_id is None or n >= MAX_MODELS_READ or not needs_files:
            out[run.run_id] = ModelFacts(model)
            continue
        try:
            files, read = runs.model_files(model_id)
        except ModelReviewError as exc:
            log.warning("model files of %s skipped: %s", model_id, exc)
            files, read = ModelFiles(model_id, skipped=(f"files of model {model_id}: {exc}",)), None
        out[run.run_id] = ModelFacts(model or read, files)
    return out


# --- the pieces -------------------------------------------------------------------------


def _repo_path(url: str) -> str | None:
    """`host/owner/name` of a git remote or web address (https, ssh, scp-like)."""
    text = url.strip().removesuffix("/").removesuffix(".git").lower()
    found = re.fullmatch(r"(?:[a-z+]+://)?(?:[^@/]+@)?([^/:]+)(?::\d+)?[/:](.+)", text)
    return f"{found[1]}/{found[2].strip('/')}" if found else None


def code_change(cand: RunSnapshot, prod: RunSnapshot, repo_url: str | None) -> CodeChange | None:
    before, after = prod.git_commit, cand.git_commit
    if (not before and not after) or before == after:
        return None
    here = _repo_path(repo_url) if repo_url else None
    both_here = here is not None and all(
        _repo_path(run.tags.get(TAG_GIT_REPO, "")) == here for run in (cand, prod)
    )
    full = all(FULL_SHA.fullmatch((sha or "").lower()) for sha in (before, after))
    url = (
        f"{repo_url.rstrip('/')}/compare/{before}...{after}"
        if both_here and full and repo_url
        else None
    )
    return CodeChange(before, after, url)


def size_change(prod: LoggedModelInfo | None, cand: LoggedModelInfo | None) -> SizeChange | None:
    before = prod.size_bytes if prod else None
    after = cand.size_bytes if cand else None
    if before is None or after is None or before == after:
        return None
    return SizeChange(before, after)


def change_report(
    cand: RunSnapshot,
    prod: RunSnapshot | None,
    models: Mapping[str, ModelFacts],
    config: Config,
    repo_url: str | None,
) -> ChangeReport:
    none = ModelFacts(None)
    mine = models.get(cand.run_id, none)
    theirs = models.get(prod.run_id, none) if prod else none
    metric_data = (
        mine.model.metric_datasets if mine.model else {},
        theirs.model.metric_datasets if theirs.model else {},
    )
    eval_data = check_eval_data(cand, prod, config.compare, metric_data)
    if prod is None:
        return ChangeReport(eval_data)
    on = config.sections
    sig_before = theirs.model.signature if theirs.model else None
    sig_after = mine.model.signature if mine.model else None
    files_ok = mine.files is not None and theirs.files is not None
    return ChangeReport(
        eval_data=eval_data,
        datasets=(
            data_diff(cand.datasets, prod.datasets, _evaluated(metric_data)) if on.data else ()
        ),
        signature=signature_diff(sig_before, sig_after) if on.signature else None,
        signature_known=sig_before is not None and sig_after is not None,
        environment=(
            environment_diff(theirs.files, mine.files)  # type: ignore[arg-type]
            if on.environment and files_ok
            else None
        ),
        size=size_change(theirs.model, mine.model) if on.size else None,
        code=code_change(cand, prod, repo_url) if on.code else None,
        skipped=_skipped(mine, "candidate") + _skipped(theirs, "production")
        if on.environment
        else (),
    )


def _evaluated(metric_data: tuple[MetricData, MetricData]) -> set[str]:
    """The digests the models' metrics name (evaluate() records its dataset there)."""
    return {digest for side in metric_data for _, digest in side.values() if digest}


def _skipped(facts: ModelFacts, side: str) -> tuple[str, ...]:
    return tuple(f"{side}: {line}" for line in (facts.files.skipped if facts.files else ()))


# --- the checklist, with these facts ---------------------------------------------------


def with_changes(items: tuple[CheckItem, ...], changes: ChangeReport) -> tuple[CheckItem, ...]:
    """The checklist told what changed: signature compatibility and the eval data."""
    out = []
    for item in items:
        known = item.label == checklist.LABEL_SIGNATURE and item.ok and changes.signature_known
        out.append(_with_signature(item, changes) if known else item)
    out.append(eval_data_item(changes))
    return tuple(out)


def _with_signature(item: CheckItem, changes: ChangeReport) -> CheckItem:
    sig = changes.signature
    tail = sig.summary if sig else "same as production"
    detail = f"{item.detail}; {tail}" if item.detail else tail
    return replace(item, ok=not (sig and sig.breaking), detail=detail)


def eval_data_item(changes: ChangeReport) -> CheckItem:
    check = changes.eval_data
    ok = {EvalData.SAME: True, EvalData.DIFFERENT: False}.get(check.state)
    return CheckItem(LABEL_EVAL_DATA, ok, check.detail)
