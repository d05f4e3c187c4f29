"""The paired predictions table `model-review evaluate` logs to the candidate run, and
what the review makes of it.

One CSV, PATH, with a row per evaluation example: its id, its label, the candidate's
score and production's score on it, and the production version the scores came from.
Tags on the run say which production version (TAG_PRODUCTION) and which data (TAG_DIGEST)
without a download. The review compares the metrics the table covers pairwise
(bot.review.paired) when the table was made against the current production version;
a table made against another version is named as stale and not used.
"""

from __future__ import annotations

import logging
import re

from bot.config.uncertainty import EvalTableConfig
from bot.domain import Baseline, Estimate, RunSnapshot
from bot.errors import ModelReviewError
from bot.ports import RunsPort
from bot.review import bootstrap, tables

log = logging.getLogger(__name__)

PATH = "model-review/paired-predictions.csv"
ID, LABEL, CANDIDATE, PRODUCTION, VERSION = (
    "id",
    "label",
    "candidate",
    "production",
    "production_version",
)
COLUMNS = (ID, LABEL, CANDIDATE, PRODUCTION, VERSION)
TAG_PRODUCTION = "model_review.paired.production"  # "NAME/VERSION" (or "run RUN_ID")
TAG_DIGEST = "model_review.paired.data_digest"  # sha256 of the evaluation data file
TAG_ROWS = "model_review.paired.rows"

PAIRED = "`{run}`: paired on {rows:,} rows against production {version} (`model-review evaluate`)"
STALE = (
    "`{run}`: its paired predictions were made against production {old}, but production "
    "is now {new}: not used (run `model-review evaluate` again)"
)
UNREADABLE = "`{run}`: its paired predictions could not be used: {why}"

# a logged key -> the metric recomputed for it: `accuracy`, `val_accuracy`, `test_f1_score`,
# `root_mean_squared_error` (mlflow.evaluate's names); never training metrics
_PREFIX = re.compile(r"^(?:val|valid|validation|test|eval|evaluation|holdout)_")
_ALIASES = {
    "acc": "accuracy",
    "auc": "roc_auc",
    "roc_auc": "roc_auc",
    "logloss": "log_loss",
    "root_mean_squared_error": "rmse",
    "mean_absolute_error": "mae",
}


def version_label(baseline: Baseline) -> str | None:
    """How a table names production: NAME/VERSION, or the run for a pinned run."""
    mv = baseline.model_version
    if mv is not None:
        return f"{mv.name}/{mv.version}"
    return f"run {baseline.run.run_id}" if baseline.run is not None else None


def shown_version(label: str) -> str:
    name, _, version = label.rpartition("/")
    return f"v{version} of {name}" if name and version.isdigit() else label


def recomputed(key: str) -> str | None:
    """The metric a logged key stands for, when the table can recompute it."""
    name = _PREFIX.sub("", key.lower())
    name = name.removesuffix("_score")
    name = _ALIASES.get(name, name)
    able = (*bootstrap.CLASSIFICATION, *bootstrap.REGRESSION)
    return name if name in able and not key.lower().startswith("training_") else None


def metric_keys(
    cand: RunSnapshot, base: RunSnapshot | None, config: EvalTableConfig | None
) -> tuple[tuple[str, str], ...]:
    """(logged key, recomputed metric) for every key either run logged."""
    if config is not None and config.metrics:
        return config.metrics
    keys = {*cand.metrics, *(base.metrics if base else ())}
    pairs = ((key, recomputed(key)) for key in sorted(keys))
    return tuple((key, name) for key, name in pairs if name is not None)


def has_table(run: RunSnapshot) -> bool:
    return TAG_PRODUCTION in run.tags or any(a.path == PATH for a in run.artifacts)


def compare_run(
    runs: RunsPort, cand: RunSnapshot, baseline: Baseline, config: EvalTableConfig | None
) -> tuple[dict[str, Estimate], str]:
    """The paired estimates of one candidate from its table, and the note that says
    what was used (or why nothing was)."""
    current = version_label(baseline)
    made = cand.tags.get(TAG_PRODUCTION)
    if current is None:
        return {}, UNREADABLE.format(run=cand.display_name, why="there is no production run")
    if made is not None and made != current:
        old, new = shown_version(made), shown_version(current)
        return {}, STALE.format(run=cand.display_name, old=old, new=new)
    try:
        data = runs.download_artifact(cand.run_id, PATH)
        table = tables.read_table(
            data, PATH, tables.Wanted((LABEL, CANDIDATE, PRODUCTION), ID, (VERSION,))
        )
    except (ModelReviewError, tables.TableError) as exc:
        log.info("paired predictions of %s not read: %s", cand.run_id, exc)
        return {}, UNREADABLE.format(run=cand.display_name, why=str(exc))
    versions = table.texts[VERSION]
    if versions != {current}:
        old = ", ".join(shown_version(v) for v in sorted(versions)) or "no version"
        return {}, STALE.format(run=cand.display_name, old=old, new=shown_version(current))
    table_config = config or EvalTableConfig(PATH, LABEL, CANDIDATE, ID)
    keyed = EvalTableConfig(
        PATH,
        LABEL,
        CANDIDATE,
        ID,
        table_config.threshold,
        table_config.task,
        metric_keys(cand, baseline.run, config),
    )
    n = table.numbers
    estimates, why = bootstrap.compare_arrays(n[LABEL], n[CANDIDATE], n[PRODUCTION], keyed)
    if why:
        return {}, UNREADABLE.format(run=cand.display_name, why=why)
    note = PAIRED.format(run=cand.display_name, rows=len(n[LABEL]), version=shown_version(current))
    if table.sampled:
        note += f" ({bootstrap.SAMPLED.format(kept=len(n[LABEL]), rows=table.rows)})"
    return estimates, note
