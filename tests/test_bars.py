"""bot.review.bars: min / max and MLflow's MetricThreshold semantics."""

from __future__ import annotations

import pytest

from bot.config.schema import MetricRule, load_config
from bot.config.uncertainty import MlflowThreshold
from bot.errors import ConfigError
from bot.review.bars import missed_bars


def _rule(**kw: object) -> MetricRule:
    return MetricRule("m", **kw)  # type: ignore[arg-type]


def test_min_and_max_are_absolute_with_or_without_production() -> None:
    rule = _rule(min=0.8, max=0.95)
    assert missed_bars(0.79, None, rule) == ("below min 0.8",)
    assert missed_bars(0.96, 0.5, rule) == ("above max 0.95",)
    assert missed_bars(0.8, None, rule) == ()
    assert missed_bars(None, 0.9, rule) == ("not logged",)
    assert missed_bars(0.1, 0.9, None) == ()


@pytest.mark.parametrize(
    ("value", "base", "bar", "missed"),
    [
        (0.84, None, MlflowThreshold(True, threshold=0.85), ("below threshold 0.85",)),
        (0.3, None, MlflowThreshold(False, threshold=0.25), ("above threshold 0.25",)),
        (
            0.905,
            0.9,
            MlflowThreshold(True, min_absolute_change=0.01),
            ("improves by less than 0.01 (min_absolute_change)",),
        ),
        (0.91, 0.9, MlflowThreshold(True, min_absolute_change=0.01), ()),
        (0.19, 0.2, MlflowThreshold(False, min_absolute_change=0.01), ()),
        (
            0.195,
            0.2,
            MlflowThreshold(False, min_relative_change=0.05),
            ("improves by less than 5% (min_relative_change)",),
        ),
        (-0.19, -0.2, MlflowThreshold(True, min_relative_change=0.05), ()),  # |baseline|
        (
            0.0,
            0.0,
            MlflowThreshold(True, min_relative_change=0.5),
            ("improves by less than 50% (min_relative_change)",),
        ),
        (0.91, None, MlflowThreshold(True, min_absolute_change=0.5), ()),  # no production
    ],
)
def test_mlflow_block_has_mlflows_meaning(
    value: float, base: float | None, bar: MlflowThreshold, missed: tuple[str, ...]
) -> None:
    assert missed_bars(value, base, _rule(mlflow=bar)) == missed


def test_mlflow_block_is_validated_like_mlflow_and_sets_the_direction() -> None:
    rule = load_config(
        "metrics:\n  rules:\n    loss: {mlflow: {greater_is_better: false, threshold: 0.3}}"
    ).metrics.rules[0]
    assert rule.direction is not None and rule.direction.value == "lower"
    for bad, words in [
        ("{threshold: 0.3}", "greater_is_better` is required"),
        ("{greater_is_better: true}", "set threshold"),
        ("{greater_is_better: true, min_absolute_change: 0}", "must be positive"),
        ("{greater_is_better: true, min_relative_change: 1.5}", "between 0 and 1"),
    ]:
        with pytest.raises(ConfigError, match=words):
            load_config(f"metrics:\n  rules:\n    loss: {{mlflow: {bad}}}")
    with pytest.raises(ConfigError, match="disagrees"):
        load_config(
            "metrics:\n  rules:\n    loss: {direction: higher, "
            "mlflow: {greater_is_better: false, threshold: 1}}"
        )
    with pytest.raises(ConfigError, match="above max"):
        load_config("metrics:\n  rules:\n    acc: {min: 0.9, max: 0.8}")
