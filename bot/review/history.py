"""The model's story for the review: production's history, whether production was
ever reviewed, earlier reviews of the model, and the search behind the candidate.

Costs at most two MLflow requests beyond the comparison: the model's versions with
their tags (one search; the registered model itself is usually read already) and
one capped run search in the candidate's experiment. Everything passes the
allow-lists: no history for a model outside `mlflow.models`, no count for an
experiment outside `mlflow.experiments`. A failure here costs these sections, never
the review (it becomes a problem line).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from bot.config.schema import Config
from bot.domain import Baseline, Candidate, ModelHistory, ModelRecord, RunCount, RunSnapshot
from bot.errors import ModelReviewError
from bot.ports import RunsPort
from bot.review import ledger as lg
from bot.review.privacy import Guard
from bot.review.resolve import registered_model_for

log = logging.getLogger(__name__)

MAX_HISTORY = 5  # versions shown in "Production history"
RUN_COUNT_CAP = 1000  # one search; beyond it the comment says "1,000+"
NOT_READ = "production's history and earlier reviews could not be read from MLflow: {error}"


def model_history(
    candidates: Sequence[Candidate],
    baseline: Baseline,
    runs: RunsPort,
    config: Config,
    pr_url: str | None = None,
) -> tuple[ModelHistory | None, str | None]:
    """The story of the candidates' registered model (None when there is none), and
    a problem line when MLflow failed on the way."""
    if not candidates:
        return None, None
    guard = Guard(config.mlflow)
    name = baseline.model_name or registered_model_for(candidates, config.baseline)
    try:
        count = _run_count(candidates[0].run, baseline.run, runs, guard)
        if name is None or not guard.model_allowed(name):
            return (ModelHistory(model="", runs_since=count) if count else None), None
        record = runs.model_record(name)
    except ModelReviewError as exc:
        log.warning("model history skipped: %s", exc)
        return None, NOT_READ.format(error=exc)
    if record is None:
        return ModelHistory(model=name, runs_since=count), None
    return _story(record, baseline, config.baseline.alias, pr_url, count), None


def _story(
    record: ModelRecord, baseline: Baseline, alias: str, pr_url: str | None, count: RunCount | None
) -> ModelHistory:
    production = record.aliases.get(alias)
    if baseline.model_version is not None and baseline.model_version.name == record.name:
        production = baseline.model_version.version  # e.g. the deprecated stage fallback
    reviewed = None
    if baseline.run is not None:
        version = record.version(production) if production else None
        reviewed = lg.is_approved(version.tags if version else {}, baseline.run.tags)
    return ModelHistory(
        model=record.name,
        production=production,
        reviewed=reviewed,
        history=lg.production_history(record, alias)[:MAX_HISTORY],
        prior_reviews=lg.prior_reviews(record.versions, skip_pr=pr_url),
        runs_since=count,
        repo_url=_repo_of(pr_url),
    )


def _repo_of(pr_url: str | None) -> str | None:
    """`https://HOST/OWNER/NAME` of a PR's address (`…/pull/N`), None when not one."""
    head, sep, number = (pr_url or "").rpartition("/pull/")
    return head if sep and number.strip("/").isdigit() else None


def _run_count(
    candidate: RunSnapshot, production: RunSnapshot | None, runs: RunsPort, guard: Guard
) -> RunCount | None:
    """Runs in the candidate's experiment since production's run started: only for
    an experiment the allow-lists name (or with no allow-list at all)."""
    if guard.active and not guard.experiment_listed(candidate):
        return None
    since = production.start_time if production is not None else None
    count, more = runs.count_runs(candidate.experiment_id, since, RUN_COUNT_CAP)
    return RunCount(candidate.experiment_id, candidate.experiment_name, count, more, since)
