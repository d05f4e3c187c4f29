"""bot.review.configcheck: every metric the config names exists."""

from __future__ import annotations

from bot.config.schema import Config, MetricRoles, MetricRule, MetricsConfig, PlotsConfig
from bot.config.uncertainty import UncertaintyConfig
from bot.domain import Direction, RunSnapshot
from bot.review.configcheck import bars_not_logged, check_names
from bot.review.diff import metric_rows

CANDIDATE = RunSnapshot("c", "1", metrics={"roc_auc": 0.99, "log_loss": 0.1, "val_acc": 0.9})
PRODUCTION = RunSnapshot("p", "1", metrics={"roc_auc": 0.98, "log_loss": 0.12, "f1": 0.9})


def _config(*rules: MetricRule, **kw: object) -> Config:
    metrics = MetricsConfig(rules=rules, roles=kw.pop("roles", MetricRoles()))  # type: ignore[arg-type]
    return Config(metrics=metrics, **kw)  # type: ignore[arg-type]


def test_a_typo_in_a_bar_is_named_with_a_did_you_mean() -> None:
    check = check_names(_config(MetricRule("rocauc", min=0.98)), [CANDIDATE, PRODUCTION])
    assert check.misnamed == ("bar `rocauc`: no run logs it — did you mean `roc_auc`?",)
    assert check.unmatched == ()


def test_names_logged_by_production_only_or_close_to_nothing() -> None:
    config = _config(MetricRule("f1", direction=Direction.HIGHER), MetricRule("zzzz", max=1.0))
    check = check_names(config, [CANDIDATE, PRODUCTION])
    assert check.misnamed == ("bar `zzzz`: no run logs it",)


def test_curves_and_step_samples_are_checked_too() -> None:
    config = Config(
        plots=PlotsConfig(curves=("log_los", "val_*")),
        uncertainty=UncertaintyConfig(step_samples=("cv_auc", "cv_*")),
    )
    check = check_names(config, [CANDIDATE, None])
    assert check.misnamed == (
        "plots.curves names `log_los`: no run logs it — did you mean `log_loss`?",
        "uncertainty.step_samples names `cv_auc`: no run logs it",
    )
    assert check.unmatched == (
        "uncertainty.step_samples names glob `cv_*` matches no metric of the reviewed runs",
    )


def test_globs_that_match_nothing_are_mentioned_not_failed() -> None:
    roles = MetricRoles(training=("valid_0-*",), informational=("log_loss",))
    config = _config(MetricRule("test_*", min=0.5), roles=roles)
    check = check_names(config, [CANDIDATE, PRODUCTION])
    assert check.misnamed == ()
    assert check.unmatched == (
        "bar glob `test_*` matches no metric of the reviewed runs",
        "metrics.roles.training `valid_0-*` matches no metric of the reviewed runs",
    )
    assert check_names(config, [RunSnapshot("x", "1")]) == check_names(Config(), [])


def test_bars_on_metrics_a_candidate_lacks() -> None:
    config = _config(
        MetricRule("rocauc", min=0.98),  # nobody logs it
        MetricRule("f1", min=0.8),  # production logs it, the candidate does not
        MetricRule("roc_auc", min=0.9),  # logged: not listed
        MetricRule("val_*", min=0.5),  # a glob the candidate matches
        MetricRule("log_loss", direction=Direction.LOWER),  # no bar
    )
    rows = metric_rows([CANDIDATE], PRODUCTION, config.metrics)
    assert bars_not_logged(config, rows, [CANDIDATE]) == ("f1", "rocauc")
    plain = metric_rows([CANDIDATE], PRODUCTION, MetricsConfig())
    assert bars_not_logged(_config(), plain, [CANDIDATE]) == ()
