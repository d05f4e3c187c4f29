"""`.github/model-review.yml`: dataclasses with defaults, and a validating parser.

Every key is known; an unknown or mistyped key is a ConfigError that names the key
and its line. A missing file means the defaults. The YAML nodes are read by
bot.config.yamlnodes; this module says which keys exist and what each one holds.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum
from fnmatch import fnmatchcase
from functools import partial

import yaml

from bot.config.uncertainty import (
    MlflowThreshold,
    UncertaintyConfig,
    mlflow_threshold,
    number,
    uncertainty_reader,
)
from bot.config.yamlnodes import NodeReader, Read, compose, show
from bot.domain import Direction, Threshold
from bot.errors import ConfigError

CONFIG_PATH = ".github/model-review.yml"
EXPERIMENT_PREFIX = "experiment:"  # reviewers.models keys that match experiment names
MAX_CONFIG_BYTES = 256 * 1024


class ImageHost(Enum):
    BRANCH = "branch"
    MLFLOW = "mlflow"
    NONE = "none"


@dataclass(frozen=True)
class MetricRule:
    """Per-metric settings; the key in config is a metric name or a glob."""

    pattern: str
    direction: Direction | None = None  # None: guessed from the name
    threshold: Threshold | None = None  # None: metrics.threshold
    min: float | None = None  # absolute bars the candidate must meet
    max: float | None = None
    mlflow: MlflowThreshold | None = None  # MLflow's MetricThreshold, MLflow's meaning


@dataclass(frozen=True)
class MetricRoles:
    """`metrics.roles`: globs per role, checked before the defaults (bot.review.roles)."""

    evaluation: tuple[str, ...] = ()
    training: tuple[str, ...] = ()
    informational: tuple[str, ...] = ()


# A difference smaller than this is "unchanged" (MLflow's min_relative_change meaning).
DEFAULT_MIN_CHANGE = Threshold(0.001, relative=True)


@dataclass(frozen=True)
class MetricsConfig:
    threshold: Threshold = field(default_factory=Threshold)
    rules: tuple[MetricRule, ...] = ()
    include: tuple[str, ...] = ()  # globs; empty = all
    exclude: tuple[str, ...] = ()
    roles: MetricRoles = field(default_factory=MetricRoles)
    min_change: Threshold = DEFAULT_MIN_CHANGE  # smaller differences are "unchanged"


@dataclass(frozen=True)
class ParamsConfig:
    ignore: tuple[str, ...] = ()  # globs of params never shown as changes


@dataclass(frozen=True)
class BaselineConfig:
    alias: str = "production"
    stage_fallback: bool = True  # also try the deprecated "Production" stage
    run: str | None = None  # a pinned baseline run id: wins over the registry
    model: str | None = None  # the registered model when nothing else says
    models: tuple[tuple[str, str], ...] = ()  # (experiment name or id, registered model)


@dataclass(frozen=True)
class MlflowConfig:
    ui_url: str | None = None  # where people open MLflow, if not the tracking URI
    experiments: tuple[str, ...] = ()  # allow-list (names or globs); empty = all
    models: tuple[str, ...] = ()  # allow-list of registered models; empty = all


@dataclass(frozen=True)
class ModelPools:
    """`reviewers.models.<pattern>`: the pools of the models the pattern matches."""

    pattern: str  # a registered-model name or glob, or `experiment:<name or glob>`
    primary: tuple[str, ...] = ()
    secondary: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReviewersConfig:
    primary: tuple[str, ...] = ()  # logins or org/team slugs
    secondary: tuple[str, ...] = ()
    models: tuple[ModelPools, ...] = ()  # in file order: the first match wins
    # org/team -> its members, listed by hand: used instead of asking GitHub (whose
    # team membership the Action's GITHUB_TOKEN cannot read)
    teams: tuple[tuple[str, tuple[str, ...]], ...] = ()


class GateSurface(Enum):
    """Where the gate is published: the commit status, the App's check run, or both."""

    STATUS = "status"
    CHECK = "check"
    BOTH = "both"


@dataclass(frozen=True)
class GateConfig:
    context: str = "model-review"
    stale_on_new_commits: bool = False
    review_drafts: bool = False
    fail_on_regression: bool = False  # failure while a significant regression or missed bar stands
    # None: the App publishes both, the Action the status only (its check runs are forgeable)
    surface: GateSurface | None = None


@dataclass(frozen=True)
class PlotsConfig:
    host: ImageHost | None = None  # None: branch on GitHub, files for `render`
    branch: str = "model-review-assets"
    curves: tuple[str, ...] = ()  # metric names; empty = the longest histories
    max_curves: int = 4
    images: tuple[str, ...] = ("*.png", "*.jpg", "*.jpeg", "*.svg")


class NotesMode(Enum):
    OFF = "off"
    APPEND = "append"  # a dated section in the model version's description


@dataclass(frozen=True)
class RecordConfig:
    """The review's record in MLflow (the `model_review.*` tags are always written)."""

    notes: NotesMode = NotesMode.OFF


class EvalDataRule(Enum):
    """What to do when candidate and production were evaluated on different data."""

    WARN = "warn"  # say so above the verdict and the metrics table
    FAIL = "fail"  # ... and the gate's status is `failure`
    OFF = "off"  # do not check


DEFAULT_EVAL_CONTEXTS = ("evaluation", "eval", "validation", "val", "test")


@dataclass(frozen=True)
class CompareConfig:
    require_same_eval_data: EvalDataRule = EvalDataRule.WARN
    eval_contexts: tuple[str, ...] = DEFAULT_EVAL_CONTEXTS  # `mlflow.data.context` values
    max_candidates: int = 3  # training runs reviewed when a PR's commits find them


@dataclass(frozen=True)
class SectionsConfig:
    """The sections about what changed besides metrics; each can be turned off."""

    data: bool = True
    signature: bool = True
    environment: bool = True
    size: bool = True
    code: bool = True


@dataclass(frozen=True)
class Config:
    mlflow: MlflowConfig = field(default_factory=MlflowConfig)
    baseline: BaselineConfig = field(default_factory=BaselineConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    params: ParamsConfig = field(default_factory=ParamsConfig)
    reviewers: ReviewersConfig = field(default_factory=ReviewersConfig)
    gate: GateConfig = field(default_factory=GateConfig)
    plots: PlotsConfig = field(default_factory=PlotsConfig)
    require_review_for: tuple[str, ...] = ()  # path globs that need a linked run
    record: RecordConfig = field(default_factory=RecordConfig)
    uncertainty: UncertaintyConfig = field(default_factory=UncertaintyConfig)
    promote: bool = False  # on merge, move baseline.alias to the approved version
    compare: CompareConfig = field(default_factory=CompareConfig)
    sections: SectionsConfig = field(default_factory=SectionsConfig)


# --- questions the pipeline asks of the config --------------------------------


def metric_rule(config: MetricsConfig, key: str) -> MetricRule | None:
    """The rule for metric `key`: an exact name wins over the first matching glob."""
    exact = next((rule for rule in config.rules if rule.pattern == key), None)
    if exact is not None:
        return exact
    return next((rule for rule in config.rules if fnmatchcase(key, rule.pattern)), None)


def metric_included(config: MetricsConfig, key: str) -> bool:
    """Whether metric `key` is shown: it matches `include` (if any) and not `exclude`."""
    if config.include and not _matches_any(key, config.include):
        return False
    return not _matches_any(key, config.exclude)


def param_ignored(config: ParamsConfig, key: str) -> bool:
    return _matches_any(key, config.ignore)


def _matches_any(key: str, patterns: Iterable[str]) -> bool:
    return any(fnmatchcase(key, pattern) for pattern in patterns)


# --- the parser -----------------------------------------------------------------


def load_config(text: str | None, source: str = CONFIG_PATH) -> Config:
    """Parse `.github/model-review.yml`; None or blank text means the defaults.

    Raises ConfigError naming the dotted key and the 1-based line of the problem.
    """
    if text is None or not text.strip():
        return Config()
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_CONFIG_BYTES:
        raise ConfigError(
            f"config too large ({size} bytes, the limit is {MAX_CONFIG_BYTES}); "
            "keep only model-review settings in it",
            source=source,
        )
    root = compose(text, source)
    reader = NodeReader(source)
    if root is None or reader.is_null(root):
        return Config()
    if not isinstance(root, yaml.MappingNode):
        reader.fail(None, root, f"the top level must be `key: value` settings, got {show(root)}")
    return reader.build("", root, Config, _sections(reader))


_LOGIN = (re.compile(r"@?[A-Za-z0-9-]+(?:/[A-Za-z0-9_.-]+)?"), "a GitHub login or org/team")
_TEAM = re.compile(r"[A-Za-z0-9-]+/[A-Za-z0-9_.-]+")
_ALIAS = (re.compile(r"[A-Za-z0-9_-]+"), "an MLflow alias")
_RUN_ID = (re.compile(r"[A-Za-z0-9_-]+"), "an MLflow run id")
_BRANCH = (re.compile(r"[A-Za-z0-9_][A-Za-z0-9._/-]{0,199}"), "a usable branch name")
_PERCENT = re.compile(r"\s*(-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))\s*%\s*")
_DIRECTIONS = {d.value: d for d in Direction}
_ROLE_NAMES = tuple(MetricRoles.__dataclass_fields__)
_HOSTS = {h.value: h for h in ImageHost}
_NOTES = {m.value: m for m in NotesMode}
_EVAL_RULES = {m.value: m for m in EvalDataRule}
_SURFACES = {m.value: m for m in GateSurface}


def _threshold(r: NodeReader, path: str, node: yaml.Node) -> Threshold:
    """A number >= 0 (absolute) or "N%" (relative, kept as a fraction)."""
    value = r.value(path, node)
    percent = _PERCENT.fullmatch(value) if isinstance(value, str) else None
    if percent is not None:
        number = float(percent[1])
    elif isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    else:
        expected = 'expected a number (absolute) or a percentage like "2%" (relative)'
        r.fail(path, node, f"{expected}, got {show(node)}")
    if not math.isfinite(number) or number < 0:
        r.fail(path, node, f"a threshold must be a finite number >= 0, got {show(node)}")
    return Threshold(number / 100, relative=True) if percent else Threshold(number)


def _checked_rule(r: NodeReader, path: str, node: yaml.Node, rule: MetricRule) -> MetricRule:
    """`min` <= `max`; `mlflow.greater_is_better` sets the direction unless it disagrees."""
    if rule.min is not None and rule.max is not None and rule.min > rule.max:
        r.fail(path, node, f"min ({rule.min:g}) is above max ({rule.max:g})")
    if rule.direction is Direction.NONE and (rule.min, rule.max, rule.mlflow) != (None,) * 3:
        r.fail(path, node, "a metric with `direction: none` has no better or worse: no bars")
    if rule.mlflow is None:
        return rule
    implied = Direction.HIGHER if rule.mlflow.greater_is_better else Direction.LOWER
    if rule.direction is not None and rule.direction is not implied:
        r.fail(path, node, "direction disagrees with mlflow.greater_is_better; keep one")
    return MetricRule(rule.pattern, implied, rule.threshold, rule.min, rule.max, rule.mlflow)


def _sections(r: NodeReader) -> dict[str, Read]:
    """What each key of the file holds, section by section."""
    threshold = partial(_threshold, r)

    def url(path: str, node: yaml.Node) -> str:
        value = r.text(path, node)
        if not value.startswith(("http://", "https://")) or any(c.isspace() for c in value):
            r.fail(path, node, f"expected an http(s):// address, got {show(node)}")
        return value.rstrip("/")

    def logins(path: str, node: yaml.Node) -> tuple[str, ...]:
        found = (item.removeprefix("@") for item in r.texts(path, node, like=_LOGIN))
        return tuple(dict.fromkeys(found))  # once each, in order

    def team_lists(path: str, node: yaml.Node) -> tuple[tuple[str, tuple[str, ...]], ...]:
        found = []
        for name, full, key, value in r.entries(path, node):
            if not _TEAM.fullmatch(name.removeprefix("@")):
                r.fail(full, key, f"`{name}` is not an org/team slug")
            found.append((name.removeprefix("@"), logins(full, value)))
        return tuple(found)

    def direction(path: str, node: yaml.Node) -> Direction:
        return r.choice(path, node, _DIRECTIONS)

    def rule(path: str, pattern: str, node: yaml.Node) -> MetricRule:
        if isinstance(node, yaml.ScalarNode) and not r.is_null(node):
            return MetricRule(pattern, direction=direction(path, node))  # `val_loss: lower`
        reads: dict[str, Read] = {
            "direction": direction,
            "threshold": threshold,
            "min": partial(number, r),
            "max": partial(number, r),
            "mlflow": partial(mlflow_threshold, r),
        }
        found = r.build(path, node, lambda **kw: MetricRule(pattern, **kw), reads)
        return _checked_rule(r, path, node, found)

    def rules(path: str, node: yaml.Node) -> tuple[MetricRule, ...]:
        return tuple(rule(full, name, value) for name, full, _, value in r.entries(path, node))

    def model_map(path: str, node: yaml.Node) -> tuple[tuple[str, str], ...]:
        pairs = r.entries(path, node)
        return tuple((name, r.text(full, value, ids=True)) for name, full, _, value in pairs)

    def model_pools(path: str, node: yaml.Node) -> tuple[ModelPools, ...]:
        pools: list[ModelPools] = []
        for name, full, key_node, value in r.entries(path, node):
            if not name.strip() or name.strip() == EXPERIMENT_PREFIX:
                r.fail(full, key_node, "expected a model name or glob, or experiment:NAME")
            make = partial(ModelPools, name.strip())
            pools.append(r.build(full, value, make, {"primary": logins, "secondary": logins}))
        return tuple(pools)

    def notes_mode(path: str, node: yaml.Node) -> NotesMode:
        if r.value(path, node) is False:  # YAML 1.1 reads a bare `off` as false
            return NotesMode.OFF
        return r.choice(path, node, _NOTES)

    def eval_rule(path: str, node: yaml.Node) -> EvalDataRule:
        if r.value(path, node) is False:  # YAML 1.1 reads a bare `off` as false
            return EvalDataRule.OFF
        return r.choice(path, node, _EVAL_RULES)

    def section(make: Callable[..., object], reads: dict[str, Read]) -> Read:
        return lambda path, node: r.build(path, node, make, reads)

    return {
        "mlflow": section(
            MlflowConfig,
            {"ui_url": url, "experiments": partial(r.texts, ids=True), "models": r.texts},
        ),
        "baseline": section(
            BaselineConfig,
            {
                "alias": partial(r.text, ids=True, like=_ALIAS),
                "stage_fallback": r.boolean,
                "run": partial(r.text, ids=True, like=_RUN_ID),
                "model": r.text,
                "models": model_map,
            },
        ),
        "metrics": section(
            MetricsConfig,
            {
                "threshold": threshold,
                "include": r.texts,
                "exclude": r.texts,
                "rules": rules,
                "roles": section(
                    MetricRoles, dict.fromkeys(MetricRoles.__dataclass_fields__, r.texts)
                ),
                "min_change": threshold,
            },
        ),
        "params": section(ParamsConfig, {"ignore": r.texts}),
        "reviewers": section(
            ReviewersConfig,
            {"primary": logins, "secondary": logins, "models": model_pools, "teams": team_lists},
        ),
        "gate": section(
            GateConfig,
            {
                "context": r.text,
                "stale_on_new_commits": r.boolean,
                "review_drafts": r.boolean,
                "fail_on_regression": r.boolean,
                "surface": partial(r.choice, allowed=_SURFACES),
            },
        ),
        "plots": section(
            PlotsConfig,
            {
                "host": partial(r.choice, allowed=_HOSTS),
                "branch": partial(r.text, like=_BRANCH),
                "curves": r.texts,
                "max_curves": r.count,
                "images": r.texts,
            },
        ),
        "require_review_for": r.texts,
        "record": section(RecordConfig, {"notes": notes_mode}),
        "uncertainty": uncertainty_reader(r),
        "promote": r.boolean,
        "compare": section(
            CompareConfig,
            {
                "require_same_eval_data": eval_rule,
                "eval_contexts": r.texts,
                "max_candidates": r.count,
            },
        ),
        "sections": section(
            SectionsConfig, dict.fromkeys(SectionsConfig.__dataclass_fields__, r.boolean)
        ),
    }
