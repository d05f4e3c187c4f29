"""Which metrics the verdict is about: every metric is evaluation (held-out), training
or informational (counts, iterations, timings).

The first answer wins:
1. `metrics.roles` in the config: an exact name, then the globs of evaluation,
   training and informational, in that order;
2. a rule with `direction: none` makes it informational; so does, without a rule,
   scikit-learn's default `score` when the run also logs the `accuracy_score` or
   `r2_score` it repeats;
3. the dataset MLflow 3 recorded with the value (`log_metric(..., dataset=...)`) when
   its context on the run is training;
4. the informational defaults below (counts, iterations, timings), unless a rule
   gives the metric a direction;
5. the dataset's context when it is evaluation; else the training defaults below;
6. evaluation.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import fields
from fnmatch import fnmatchcase

from bot.config.schema import DEFAULT_EVAL_CONTEXTS, MetricRoles, MetricsConfig, metric_rule
from bot.domain import Direction, Role, RunSnapshot
from bot.review.names import base_name

DEFAULT_TRAINING = ("training_*", "training-*", "train_*", "train-*", "*_train", "*-train")
DEFAULT_INFORMATIONAL = (
    "example_count", "*_count", "num_*", "*_on_target", "*iteration", "*iterations",
    "*epoch", "*epochs", "true_positives", "true_negatives", "false_positives",
    "false_negatives", "*_time", "*_seconds", "*duration*",
)  # fmt: skip
TRAINING_CONTEXTS = ("training", "train")
# scikit-learn's `score` is the estimator's default score: accuracy for a classifier, R²
# for a regressor. Beside those (MLflow's evaluate() logs both) it would count twice.
DEFAULT_SCORE = "score"
SCORE_TWINS = ("accuracy_score", "r2_score")


def _configured(roles: MetricRoles, key: str) -> Role | None:
    pairs = [(Role(f.name), getattr(roles, f.name)) for f in fields(roles)]
    for role, patterns in pairs:
        if key in patterns:
            return role
    for role, patterns in pairs:
        if any(fnmatchcase(key, p) for p in patterns):
            return role
    return None


def _dataset_context(key: str, runs: Iterable[RunSnapshot]) -> Role | None:
    """Training or evaluation from the dataset MLflow recorded with the metric."""
    for run in runs:
        contexts: dict[tuple[str | None, str | None], str] = {
            (d.name, d.digest): (d.context or "").lower() for d in run.datasets
        }
        for model in run.logged_models:
            context = contexts.get(model.metric_datasets.get(key, (None, None)), "")
            if context in TRAINING_CONTEXTS:
                return Role.TRAINING
            if context in DEFAULT_EVAL_CONTEXTS:
                return Role.EVALUATION
    return None


def _duplicate_score(key: str, runs: Sequence[RunSnapshot]) -> bool:
    """Whether `key` is scikit-learn's default `score` (`score`, `training_score`) and a
    run logging it also logs the metric it stands for on the same set (`accuracy_score`,
    `training_r2_score`)."""
    if not key.endswith(DEFAULT_SCORE) or base_name(key) != DEFAULT_SCORE:
        return False
    twins = [key.removesuffix(DEFAULT_SCORE) + twin for twin in SCORE_TWINS]
    return any(key in r.metrics and any(t in r.metrics for t in twins) for r in runs)


def _matches(key: str, patterns: Iterable[str]) -> bool:
    return any(fnmatchcase(key, p) for p in patterns)


def metric_role(config: MetricsConfig, key: str, runs: Sequence[RunSnapshot] = ()) -> Role:
    """The role of metric `key` in this review (see the module's docstring)."""
    configured = _configured(config.roles, key)
    if configured is not None:
        return configured
    rule = metric_rule(config, key)
    if rule is not None and rule.direction is Direction.NONE:
        return Role.INFORMATIONAL
    if rule is None and _duplicate_score(key, runs):
        return Role.INFORMATIONAL
    context = _dataset_context(key, runs)
    if context is Role.TRAINING:
        return context
    if _matches(key, DEFAULT_INFORMATIONAL) and (rule is None or rule.direction is None):
        return Role.INFORMATIONAL
    if context is None and _matches(key, DEFAULT_TRAINING):
        return Role.TRAINING
    return Role.EVALUATION


def unmatched_globs(config: MetricsConfig, keys: Iterable[str]) -> list[str]:
    """The `metrics.roles` globs (and exact names) that match no metric of the review."""
    seen = list(keys)
    patterns = [p for f in fields(config.roles) for p in getattr(config.roles, f.name)]
    return [p for p in patterns if not any(fnmatchcase(k, p) for k in seen)]


# LightGBM's and XGBoost's autolog name the eval sets by position (`valid_0`, `valid_1`;
# `validation_0`, ...): with `eval_set=[train, valid]` the first is the training data
EVAL_SET_PREFIXES = (("valid_0-", "valid_1-"), ("validation_0-", "validation_1-"))
EVAL_SET_HINT = (
    "💡 `{first}*` and `{second}*` both count in the verdict. If the first eval set is the "
    'training data (`eval_set=[train, valid]`), `metrics.roles: {{training: ["{first}*"]}}` '
    "keeps it out of the verdict."
)


def eval_set_hint(config: MetricsConfig, counted: Iterable[str]) -> str:
    """The hint to give the first eval set a role, when two positional eval sets count
    and no `metrics.roles` entry says what either is; "" otherwise."""
    keys = list(counted)
    for first, second in EVAL_SET_PREFIXES:
        named = [k for k in keys if k.startswith((first, second))]
        both = {k.startswith(first) for k in named} == {True, False}
        if both and all(_configured(config.roles, k) is None for k in named):
            return EVAL_SET_HINT.format(first=first, second=second)
    return ""
