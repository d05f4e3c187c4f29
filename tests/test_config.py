from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config.schema import (
    CONFIG_PATH,
    MAX_CONFIG_BYTES,
    Config,
    ImageHost,
    MetricRule,
    MetricsConfig,
    NotesMode,
    ParamsConfig,
    load_config,
    metric_included,
    metric_rule,
    param_ignored,
)
from bot.domain import Direction, Threshold
from bot.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "model-review.yml"
RUN = "0123456789abcdef0123456789abcdef"


def error_of(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_config(text)
    return caught.value


@pytest.mark.parametrize("text", [None, "", "  \n\t\n", "# just a comment\n", "---\n", "~\n"])
def test_missing_or_empty_config_means_defaults(text: str | None) -> None:
    assert load_config(text) == Config()


def test_defaults_are_the_documented_ones() -> None:
    config = load_config(None)
    assert config.baseline.alias == "production"
    assert config.baseline.stage_fallback is True
    assert config.gate.context == "model-review"
    assert config.metrics.threshold == Threshold(0.0)
    assert config.plots.host is None


def test_example_file_parses() -> None:
    config = load_config(EXAMPLE.read_text(encoding="utf-8"), source=str(EXAMPLE))
    assert config.mlflow.ui_url == "https://mlflow.acme.io"
    assert config.mlflow.experiments == ("fraud-*",)
    assert config.baseline.models == (("fraud-detection", "fraud-model"),)
    assert config.baseline.run is None
    assert config.metrics.rules[1] == MetricRule(
        "latency_*", direction=Direction.LOWER, threshold=Threshold(0.1, relative=True)
    )
    assert config.metrics.rules[2] == MetricRule("val_auc", direction=Direction.HIGHER)
    assert config.reviewers.secondary == ("acme/ml-leads", "carol")
    assert config.reviewers.teams == (("acme/ml-leads", ("dan", "erin")),)
    assert config.plots.host is ImageHost.BRANCH
    assert config.plots.max_curves == 4
    assert config.require_review_for == ("models/**", "train/**")


FULL = f"""
mlflow:
  ui_url: https://mlflow.acme.io/
  experiments: ["fraud-*", 12]
  models: fraud-model
baseline:
  alias: champion
  stage_fallback: no
  run: {RUN}
  model: fraud-model
  models:
    fraud-detection: fraud-model
    7: other-model
metrics:
  threshold: "2.5%"
  include: ["val_*"]
  exclude: "*_timestamp"
  rules:
    val_loss: {{direction: lower, threshold: 0.01}}
    "latency_*": {{threshold: "10%"}}
    auc: higher
params:
  ignore: [seed]
reviewers:
  primary: alice
  secondary: ["@acme/ml-leads", carol-2, "@carol-2"]
gate:
  context: ci/model-review
  stale_on_new_commits: true
  review_drafts: true
plots:
  host: none
  branch: assets/model-review
  curves: []
  max_curves: 0
  images: ["*.png"]
require_review_for: "models/**"
"""


def test_every_key_is_read() -> None:
    config = load_config(FULL)
    assert config.mlflow.ui_url == "https://mlflow.acme.io"  # trailing slash dropped
    assert config.mlflow.experiments == ("fraud-*", "12")
    assert config.mlflow.models == ("fraud-model",)
    assert config.baseline.alias == "champion"
    assert config.baseline.stage_fallback is False
    assert config.baseline.run == RUN
    assert config.baseline.models == (("fraud-detection", "fraud-model"), ("7", "other-model"))
    assert config.metrics.threshold == Threshold(0.025, relative=True)
    assert config.metrics.exclude == ("*_timestamp",)
    assert config.metrics.rules == (
        MetricRule("val_loss", Direction.LOWER, Threshold(0.01)),
        MetricRule("latency_*", None, Threshold(0.1, relative=True)),
        MetricRule("auc", Direction.HIGHER, None),
    )
    assert config.params.ignore == ("seed",)
    assert config.reviewers.primary == ("alice",)
    assert config.reviewers.secondary == ("acme/ml-leads", "carol-2")
    assert (config.gate.context, config.gate.stale_on_new_commits) == ("ci/model-review", True)
    assert config.gate.review_drafts is True
    assert config.plots.host is ImageHost.NONE
    assert config.plots.branch == "assets/model-review"
    assert (config.plots.curves, config.plots.max_curves) == ((), 0)
    assert config.require_review_for == ("models/**",)


def test_record_and_promote_keys() -> None:
    config = load_config("record:\n  notes: append\npromote: true\n")
    assert config.record.notes is NotesMode.APPEND and config.promote is True
    assert load_config("record:\n  notes: off\n").record.notes is NotesMode.OFF  # YAML false
    assert load_config("record:\n  notes: 'off'\n").record.notes is NotesMode.OFF
    assert (Config().record.notes, Config().promote) == (NotesMode.OFF, False)
    assert error_of("record:\n  notes: on\n").key == "record.notes"
    assert "expected one of off, append" in error_of("record:\n  notes: replace\n").message
    assert error_of("promote: yes please\n").key == "promote"


def test_a_run_id_written_as_digits_stays_as_written() -> None:
    digits = "01234567890123456789012345678901"
    assert load_config(f"baseline:\n  run: {digits}\n").baseline.run == digits


def test_key_without_value_keeps_the_default() -> None:
    config = load_config("baseline:\n  alias:\nmetrics:\nplots:\n  images:\n")
    assert config == Config()


@pytest.mark.parametrize(
    ("text", "key", "line", "words"),
    [
        ("metrics:\n  treshold: 1\n", "metrics.treshold", 2, "did you mean `threshold`?"),
        ("gate:\n  contxt: x\n", "gate.contxt", 2, "did you mean `context`?"),
        ("metric:\n  threshold: 1\n", "metric", 1, "did you mean `metrics`?"),
        ("zzz: 1\n", "zzz", 1, "the keys allowed here are mlflow, baseline"),
        (
            "metrics:\n  rules:\n    v: {direction: lower, tresh: 1}\n",
            "metrics.rules.v.tresh",
            3,
            "did you mean `threshold`?",
        ),
        ("metrics:\n  include: 3\n", "metrics.include", 2, "expected a list of strings, got 3"),
        ("metrics:\n  include:\n    - a\n    - 3\n", "metrics.include[1]", 4, "got 3"),
        ("params:\n  ignore: {a: 1}\n", "params.ignore", 2, "expected a list of strings"),
        ("gate:\n  review_drafts: 'yes'\n", "gate.review_drafts", 2, "expected true or false"),
        ("gate:\n  stale_on_new_commits: 1\n", "gate.stale_on_new_commits", 2, "got 1"),
        ("plots:\n  host: s3\n", "plots.host", 2, "expected one of branch, mlflow, none"),
        (
            "metrics:\n  rules:\n    loss: {direction: min}\n",
            "metrics.rules.loss.direction",
            3,
            "expected one of higher, lower",
        ),
        ("metrics:\n  rules:\n    loss: down\n", "metrics.rules.loss", 3, "higher, lower"),
        ("metrics:\n  threshold: -0.5\n", "metrics.threshold", 2, ">= 0"),
        ("metrics:\n  threshold: '-2%'\n", "metrics.threshold", 2, ">= 0"),
        ("metrics:\n  threshold: .nan\n", "metrics.threshold", 2, "finite"),
        ("metrics:\n  threshold: lots\n", "metrics.threshold", 2, '"2%"'),
        ("metrics:\n  threshold: true\n", "metrics.threshold", 2, "got true"),
        ("plots:\n  max_curves: -1\n", "plots.max_curves", 2, "0 or more"),
        ("plots:\n  max_curves: 2.5\n", "plots.max_curves", 2, "whole number"),
        ("plots:\n  branch: 'a b'\n", "plots.branch", 2, "branch name"),
        ("reviewers:\n  primary: [ok, 'bad one']\n", "reviewers.primary[1]", 2, "login"),
        ("reviewers:\n  secondary: a/b/c\n", "reviewers.secondary", 2, "org/team"),
        ("reviewers:\n  teams:\n    alice: [bob]\n", "reviewers.teams.alice", 3, "org/team"),
        ("reviewers:\n  teams:\n    a/b: ['x y']\n", "reviewers.teams.a/b[0]", 3, "login"),
        ("mlflow:\n  ui_url: mlflow.acme.io\n", "mlflow.ui_url", 2, "http(s)://"),
        ("baseline:\n  run: 'runs:/abc'\n", "baseline.run", 2, "run id"),
        ("baseline:\n  models:\n    exp: [a]\n", "baseline.models.exp", 3, "non-empty string"),
        ("mlflow: 3\n", "mlflow", 1, "expected `key: value` settings, got 3"),
        ("gate:\n  context: a\n  context: b\n", "gate.context", 3, "duplicate key"),
        ("metrics:\n  threshold: !!int abc\n", "metrics.threshold", 2, "cannot read"),
        ("base: &b {alias: x}\nbaseline:\n  <<: *b\n", "base", 1, "unknown key"),
        ("baseline:\n  <<: {alias: x}\n", "baseline", 2, "merge keys"),
    ],
)
def test_errors_name_the_key_and_the_line(text: str, key: str, line: int, words: str) -> None:
    error = error_of(text)
    assert (error.key, error.line) == (key, line)
    assert words in error.message
    assert f"line {line}" in error.message
    assert f"`{key}`" in error.message


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("metrics:\n  include: [a, b\n", 3, "not valid YAML"),  # more in test_yamlnodes.py
        ("- a\n- b\n", 1, "top level must be `key: value` settings, got a list"),
        ("just words\n", 1, 'got "just words"'),
    ],
)
def test_not_yaml_or_not_a_mapping(text: str, line: int, words: str) -> None:
    error = error_of(text)
    assert error.key is None
    assert error.line == line
    assert words in error.message


def test_too_large() -> None:
    text = "# padding\n" * (MAX_CONFIG_BYTES // 10 + 1)
    error = error_of(text)
    assert "config too large" in error.message


def test_error_names_the_source_and_what_to_do() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config("gate:\n  nope: 1\n", source="conf/review.yml")
    assert caught.value.source == "conf/review.yml"
    assert str(caught.value).startswith("conf/review.yml, line 2: `gate.nope`: unknown key")
    assert "fix the config" in str(caught.value)
    assert CONFIG_PATH == ".github/model-review.yml"


RULES = MetricsConfig(
    rules=(
        MetricRule("val_*", direction=Direction.HIGHER),
        MetricRule("val_loss", direction=Direction.LOWER),
        MetricRule("*", threshold=Threshold(1.0)),
    ),
    include=("val_*", "test_*"),
    exclude=("*_timestamp",),
)


def test_metric_rule_exact_name_beats_glob_then_first_glob_wins() -> None:
    assert metric_rule(RULES, "val_loss") == RULES.rules[1]
    assert metric_rule(RULES, "val_auc") == RULES.rules[0]
    assert metric_rule(RULES, "train_loss") == RULES.rules[2]
    assert metric_rule(MetricsConfig(), "val_loss") is None


def test_metric_included() -> None:
    assert metric_included(RULES, "val_auc")
    assert metric_included(RULES, "test_f1")
    assert not metric_included(RULES, "train_loss")
    assert not metric_included(RULES, "val_timestamp")
    assert metric_included(MetricsConfig(), "anything")
    assert not metric_included(MetricsConfig(exclude=("tmp_*",)), "tmp_x")


def test_param_ignored() -> None:
    params = ParamsConfig(ignore=("seed", "*_path"))
    assert param_ignored(params, "seed")
    assert param_ignored(params, "data_path")
    assert not param_ignored(params, "learning_rate")
    assert not param_ignored(ParamsConfig(), "seed")


_YAMLISH = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "metrics:",
                "gate:",
                "plots:",
                "baseline:",
                "reviewers:",
                "mlflow:",
                "  threshold: ",
                "  rules:",
                "    val_loss: ",
                "{direction: lower}",
                "  primary: ",
                "  host: ",
                "  max_curves: ",
                "  models:",
                "  review_drafts: ",
                "[a, b]",
                '"2%"',
                "-1",
                "yes",
                "~",
                "&a ",
                "*a",
                "<<: ",
                "!!int ",
                "!!float ",
                "!!bool ",
                "!!binary ",
                "!custom ",
                "? ",
                "- ",
                "---",
                "\n",
                "\n  ",
                "'",
                '"',
                "[",
                "{",
                ":",
                "#",
            ]
        ),
        st.text(max_size=6),
    ),
    max_size=25,
).map("".join)


@settings(max_examples=400, deadline=None)
@given(_YAMLISH)
def test_any_text_parses_or_raises_config_error(text: str) -> None:
    try:
        config = load_config(text)
    except ConfigError as error:
        assert error.message
        assert error.line is None or error.line >= 1
    else:
        assert isinstance(config, Config)


def test_metric_roles_and_min_change() -> None:
    config = load_config(
        "metrics:\n  min_change: 0.5%\n  roles:\n    training: [valid_0-*]\n"
        "    informational: best_iteration\n"
    )
    assert config.metrics.min_change == Threshold(0.005, relative=True)
    assert config.metrics.roles.training == ("valid_0-*",)
    assert config.metrics.roles.informational == ("best_iteration",)
    assert config.metrics.roles.evaluation == ()
    assert load_config("metrics: {min_change: 0}").metrics.min_change == Threshold(0.0)
    assert load_config(None).metrics.min_change == Threshold(0.001, relative=True)


def test_metric_roles_errors_name_the_key() -> None:
    assert "metrics.roles.validation" in str(error_of("metrics:\n  roles:\n    validation: [x]\n"))
    assert "metrics.min_change" in str(error_of("metrics:\n  min_change: -1\n"))


def test_direction_none_and_its_bars() -> None:
    config = load_config("metrics:\n  rules:\n    best_iteration: none\n")
    assert config.metrics.rules[0].direction is Direction.NONE
    err = error_of("metrics:\n  rules:\n    best_iteration: {direction: none, min: 3}\n")
    assert "no bars" in str(err)
