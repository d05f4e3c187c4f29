"""What changed besides metrics, the pure parts (bot.review.whatchanged, evaldata, datadiff)
and their rendering (bot.render.changesview): wording, sections off, size-budget cuts."""

from __future__ import annotations

from dataclasses import replace

import pytest
import reports
from fakes import FakeRuns

from bot.config.schema import CompareConfig, Config, ConfigError, SectionsConfig, load_config
from bot.domain import DatasetInfo, LoggedModelInfo, ModelFiles, RunSnapshot
from bot.domain.modelchanges import (
    ChangeReport,
    CodeChange,
    EnvironmentDiff,
    EvalData,
    EvalDataCheck,
    FieldChange,
    SizeChange,
)
from bot.render.changesview import size_change
from bot.render.comment import render_comment
from bot.render.view import LADDER
from bot.review.datadiff import data_diff
from bot.review.evaldata import DIFFERENT_DATA, check_eval_data
from bot.review.pipeline import compare
from bot.review.whatchanged import code_change, read_models

SHA_A, SHA_B = "a" * 40, "b" * 40
HERE = "https://github.com/acme/fraud"


def run(run_id: str, **kw: object) -> RunSnapshot:
    return RunSnapshot(run_id=run_id, experiment_id="1", **kw)  # type: ignore[arg-type]


def test_eval_contexts_are_configurable() -> None:
    cand = run("c", datasets=(DatasetInfo("hold", "d2", context="Holdout"),))
    prod = run("p", datasets=(DatasetInfo("hold", "d1", context="holdout"),))
    assert check_eval_data(cand, prod, CompareConfig()).state is EvalData.UNKNOWN
    custom = CompareConfig(eval_contexts=("holdout",))
    assert check_eval_data(cand, prod, custom).state is EvalData.DIFFERENT


def test_config_keys_and_errors() -> None:
    config = load_config(
        "compare:\n  require_same_eval_data: fail\n  eval_contexts: [holdout]\n"
        "sections:\n  environment: false\n"
    )
    assert config.compare.require_same_eval_data.value == "fail"
    assert config.compare.eval_contexts == ("holdout",)
    assert config.sections == SectionsConfig(environment=False)
    assert (
        load_config(
            "compare:\n  require_same_eval_data: off\n"
        ).compare.require_same_eval_data.value
        == "off"
    )
    with pytest.raises(ConfigError, match=r"compare\.require_same_eval_data"):
        load_config("compare:\n  require_same_eval_data: sometimes\n")
    with pytest.raises(ConfigError, match=r"sections\.plots"):
        load_config("sections:\n  plots: false\n")


def test_data_diff_by_context() -> None:
    prod = (
        DatasetInfo(
            "train", "aaaaaaaaaa", "training", rows=10, columns=(("x", "double"), ("y", "long"))
        ),
    )
    cand = (
        DatasetInfo(
            "train", "bbbbbbbbbb", "training", rows=12, columns=(("x", "float"), ("z", "long"))
        ),
    )
    (change,) = data_diff(cand, prod)
    assert change.context == "training"
    assert change.fields == (
        FieldChange("digest", "aaaaaaaa", "bbbbbbbb"),
        FieldChange("rows", "10", "12"),
    )
    assert change.columns == (
        FieldChange("y", "long", None),
        FieldChange("z", None, "long"),
        FieldChange("x", "double", "float"),
    )
    assert data_diff(prod, prod) == ()


@pytest.mark.parametrize(
    ("repo_tag", "sha", "linked"),
    [
        ("https://github.com/acme/fraud.git", SHA_B, True),
        ("git@github.com:ACME/fraud", SHA_B, True),
        ("https://github.com/acme/fraud-fork", SHA_B, False),
        ("https://github.com/acme/fraud", "b" * 12, False),  # not a full commit
    ],
)
def test_compare_link_needs_this_repository_and_full_commits(
    repo_tag: str, sha: str, linked: bool
) -> None:
    tags = {"mlflow.source.git.repoURL": repo_tag}
    prod = run("p", tags={**tags, "mlflow.source.git.commit": SHA_A})
    cand = run("c", tags={**tags, "mlflow.source.git.commit": sha})
    change = code_change(cand, prod, HERE)
    assert change is not None
    assert (change.url == f"{HERE}/compare/{SHA_A}...{sha}") is linked
    assert (change.url is None) is not linked
    assert code_change(prod, prod, HERE) is None


def test_read_models_reads_files_only_when_needed() -> None:
    model = LoggedModelInfo("m-1", signature={"inputs": "[]"}, size_bytes=5)
    fake = FakeRuns()
    prod = run("p", logged_models=(model,))
    cand_run = run("c", logged_models=(replace(model, model_id="m-2"),))
    fake.model_files_by_id["m-2"] = ModelFiles("m-2", requirements="x==1\n")
    candidates = reports.one_candidate().candidates
    cands = (replace(candidates[0], run=cand_run, model_version=None),)
    baseline = replace(reports.one_candidate().baseline, run=prod, model_version=None)
    found = read_models(cands, baseline, fake, SectionsConfig())
    assert fake.calls == ["model_files", "model_files"]
    assert found["c"].files is not None and found["c"].files.requirements == "x==1\n"
    fake.calls.clear()
    found = read_models(cands, baseline, fake, SectionsConfig(environment=False))
    assert fake.calls == []  # the MLmodel facts came with the runs
    assert found["c"].model == cand_run.logged_models[0]


def _with_changes(changes: ChangeReport) -> str:
    report = reports.one_candidate()
    return render_comment(replace(report, changes=(changes,)))


BIG_ENV = EnvironmentDiff(None, tuple(FieldChange(f"pkg{i}", "==1", "==2") for i in range(400)))


def test_the_verdict_says_first_that_the_data_differs() -> None:
    check = EvalDataCheck(EvalData.DIFFERENT, "candidate on `b`, production on `a`")
    body = _with_changes(ChangeReport(check))
    assert f"**{DIFFERENT_DATA}: " in body.split("\n")[3]
    soft = _with_changes(
        ChangeReport(EvalDataCheck(EvalData.ONE_SIDED, "only production names it"))
    )
    assert DIFFERENT_DATA not in soft and "ℹ️ Evaluation data named on one side only" in soft


def test_long_lists_collapse_and_are_cut_first_saying_so() -> None:
    changes = ChangeReport(
        EvalDataCheck(EvalData.SAME), environment=BIG_ENV, code=CodeChange(SHA_A, SHA_B)
    )
    full = _with_changes(changes)
    assert "<details><summary>400 changes</summary>" in full
    report = replace(reports.one_candidate(), changes=(changes,))
    size = len(full)
    cut = render_comment(report, max_chars=size - 2000)
    assert "The package list is left out to fit GitHub's size limit." in cut
    assert "`pkg0`" not in cut
    assert "400 packages changed" in cut
    assert "Full note" in cut  # the notes are cut only after the lists of what changed
    assert LADDER[1].env_lists is False
    assert LADDER[1].full_notes is True


def test_pipeline_adds_the_eval_data_line_to_the_checklist() -> None:
    report = compare(
        reports.one_candidate().candidates, reports.one_candidate().baseline, Config(), None
    )
    labels = [item.label for item in report.checklists[0]]
    assert labels[-1] == "Same evaluation data as production"
    assert len(report.changes) == 1


def test_per_metric_datasets_win_over_dataset_inputs() -> None:
    same_inputs = (DatasetInfo("hold", "d1", context="evaluation"),)
    cand, prod = run("c", datasets=same_inputs), run("p", datasets=same_inputs)
    by_digest = (
        {"auc": ("hold", "d2"), "f1": ("hold", "d1")},
        {"auc": ("hold", "d1"), "f1": ("hold", "d1")},
    )
    check = check_eval_data(cand, prod, CompareConfig(), by_digest)
    assert check.state is EvalData.DIFFERENT and check.metrics == ("auc",)
    by_name = ({"auc": ("hold-v2", None)}, {"auc": ("hold", None)})
    assert check_eval_data(cand, prod, CompareConfig(), by_name).state is EvalData.DIFFERENT
    same = ({"auc": ("hold", "d1")}, {"auc": ("hold", "d1")})
    assert check_eval_data(cand, prod, CompareConfig(), same).state is EvalData.SAME


HOLD = (("a", "double"), ("b", "double"), ("label", "long"))


def _hold(digest: str, columns: tuple[tuple[str, str], ...] = HOLD, **kw: object) -> DatasetInfo:
    fields: dict[str, object] = {"rows": 171, "source": None, **kw}
    return DatasetInfo("holdout", digest, "eval", columns=columns, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("other", "same"),
    [
        (_hold("d2", HOLD[1:]), True),  # a feature column removed
        (_hold("d2", (*HOLD, ("c", "double"))), True),  # a feature column added
        (_hold("d1"), True),  # the same digest
        (_hold("d2"), False),  # other rows behind an identical schema
        (_hold("d2", HOLD[1:], rows=170), False),  # another row count
        (_hold("d2", HOLD[1:], source="s3://other"), False),  # another source
        (_hold("d2", (("a", "float"), *HOLD[1:])), False),  # a column retyped
        (replace(_hold("d2", HOLD[1:]), name="holdout-v2"), False),  # another name
        (_hold("d2", HOLD[1:], rows=None), False),  # the row count unknown
    ],
)
def test_same_rows_is_about_rows_not_columns(other: DatasetInfo, same: bool) -> None:
    prod = run("p", datasets=(_hold("d1"),))
    cand = run("c", datasets=(other,))
    state = EvalData.SAME if same else EvalData.DIFFERENT
    assert check_eval_data(cand, prod, CompareConfig()).state is state
    per_metric = ({"auc": (other.name, other.digest)}, {"auc": ("holdout", "d1")})
    assert check_eval_data(cand, prod, CompareConfig(), per_metric).state is state
    changes = data_diff(cand.datasets, prod.datasets)
    assert all(c.same_rows is same for c in changes)


def test_same_rows_is_said_once_for_inputs_that_changed_alike() -> None:
    def inputs(columns: tuple[tuple[str, str], ...], digest: str) -> tuple[DatasetInfo, ...]:
        return tuple(
            DatasetInfo(name, f"{digest}{i}", ctx, rows=50, columns=columns)
            for i, (name, ctx) in enumerate(
                [("train", "train"), ("dataset", "train"), ("dataset", "eval")] * 2
            )
        )

    prod, cand = inputs(HOLD, "p"), inputs((*HOLD, ("x0_x1", "double")), "c")
    report = replace(
        reports.with_changes(),
        changes=(replace(reports.with_changes().changes[0], datasets=data_diff(cand, prod)),),
    )
    data = render_comment(report).split("**Data:**", 1)[1].split("\n- **", 1)[0]
    assert data.startswith(" changed: `train`, `eval`\n")
    lines = [line for line in data.splitlines() if line.startswith("  - ")]
    assert lines == [
        "  - 6 inputs: `train` (`train` ×2), `dataset` (`train` ×2), `dataset` (`eval` ×2): "
        "same rows; column added: `x0_x1` (`double`)"
    ]


@pytest.mark.parametrize(
    ("before", "after", "shown"),
    [
        (2_000_000, 3_000_000, "+50.0%"),
        (100, 1100, "+1000%"),  # up to +1000%, a percentage
        (100, 1101, "×11"),
        (950, 2_750_000, "×2900"),  # two significant digits, not +289374%
        (1000, 10, "−99.0%"),
    ],
)
def test_a_model_that_grew_past_1000_percent_shows_a_ratio(
    before: int, after: int, shown: str
) -> None:
    assert size_change(SizeChange(before, after)) == shown
