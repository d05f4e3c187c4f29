"""`.github/model-review.yml`: dataclasses with defaults, and a validating parser.

Every key is known; an unknown or mistyped key is a ConfigError that names the key
and its line. A missing file means the defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from bot.domain import Direction, Threshold

CONFIG_PATH = ".github/model-review.yml"


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


@dataclass(frozen=True)
class MetricsConfig:
    threshold: Threshold = field(default_factory=Threshold)
    rules: tuple[MetricRule, ...] = ()
    include: tuple[str, ...] = ()  # globs; empty = all
    exclude: tuple[str, ...] = ()


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
class ReviewersConfig:
    primary: tuple[str, ...] = ()  # logins or org/team slugs
    secondary: tuple[str, ...] = ()


@dataclass(frozen=True)
class GateConfig:
    context: str = "model-review"
    stale_on_new_commits: bool = False
    review_drafts: bool = False


@dataclass(frozen=True)
class PlotsConfig:
    host: ImageHost | None = None  # None: branch on GitHub, files for `render`
    branch: str = "model-review-assets"
    curves: tuple[str, ...] = ()  # metric names; empty = the longest histories
    max_curves: int = 4
    images: tuple[str, ...] = ("*.png", "*.jpg", "*.jpeg", "*.svg")


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
