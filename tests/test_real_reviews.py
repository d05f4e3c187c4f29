"""Reviews of projects logged the way teams log them (tests/real_projects.py, on the
REAL MLflow server): comparability by rows, candidates that are training runs and not
trials, production linked for reference, children kept apart from a run's own value,
the data section, and a preview that is the comment (issue #21)."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from bot.config.schema import Config, load_config
from bot.domain import ReviewReport
from bot.domain.modelchanges import EvalData
from bot.render.comment import render_comment, render_html
from bot.render.view import ONLY_PRODUCTION
from bot.review.evaldata import DIFFERENT_DATA
from bot.review.pipeline import ReviewRequest, build_review
from bot.tracking.client import MlflowRuns
from tests.real_projects import (
    ADDED,
    DROPPED,
    MIXED_HOLDOUT,
    LightgbmProject,
    MixedProject,
    SklearnProject,
)


def _review(
    uri: str, texts: list[str], config: Config | None = None, commits: list[str] | None = None
) -> ReviewReport:
    request = ReviewRequest(texts=texts, commits=commits)
    return build_review(request, MlflowRuns(uri), config or Config())


def _section(markdown: str, title: str) -> str:
    """From `title` to the next heading, or to the next bullet of what changed."""
    end = "\n- **" if title.startswith("**") else "\n#### "
    return markdown.split(title, 1)[1].split(end, 1)[0]


def _comparable(report: ReviewReport) -> str:
    """The comment of a review whose metrics are comparable with production's."""
    assert report.changes[0].eval_data.state is EvalData.SAME
    comment = render_comment(report)
    assert DIFFERENT_DATA not in comment and "not comparable" not in comment
    return comment


# --- finding 1: same rows, one feature fewer, is the same evaluation data ----------------


def test_same_rows_with_a_feature_removed_are_comparable(sklearn_project: SklearnProject) -> None:
    p = sklearn_project
    comment = _comparable(_review(p.tracking_uri, [f"runs:/{p.candidate_run}/model"]))
    data = _section(comment, "**Data:**")
    assert f"same rows; column removed: `{DROPPED}`" in data
    assert len([line for line in data.splitlines() if line.startswith("  - ")]) == 1
    assert "changed: `train`, `eval`\n" in data  # each context once
    assert f"input `{DROPPED}` removed" in _section(comment, "**Signature:**")


def test_two_libraries_scored_by_evaluate_on_one_holdout_are_comparable(
    mixed_project: MixedProject,
) -> None:
    """scikit-learn's and LightGBM's autolog record different `eval` inputs (the rows a
    post-training metric saw; the `eval_set`), while evaluate() scored both models on
    the same held-out set, logged without a context: the metrics are comparable."""
    p = mixed_project
    report = _review(p.tracking_uri, [f"runs:/{p.candidate_run}/model"])
    assert report.baseline.run is not None and report.baseline.run.run_id == p.production_run
    comment, check = _comparable(report), report.changes[0].eval_data
    assert MIXED_HOLDOUT in check.detail
    strict = load_config("compare:\n  require_same_eval_data: fail\n")
    assert _review(p.tracking_uri, [p.candidate_run], strict).changes[0].eval_data == check
    # autolog's own evaluation inputs still differ, and the data section says so
    data = _section(comment, "**Data:**")
    assert "`eval`" in data and MIXED_HOLDOUT not in data


# --- finding 3: commit discovery reviews the training run, not its trials -----------------


def test_commit_discovery_skips_the_trials(sklearn_project: SklearnProject) -> None:
    p = sklearn_project
    report = _review(p.tracking_uri, [], commits=[p.candidate_commit])
    assert [c.run.run_id for c in report.candidates] == [p.candidate_run]
    assert not any("not reviewed" in problem for problem in report.problems)


def test_commit_discovery_is_capped_and_says_so(lightgbm_project: LightgbmProject) -> None:
    p = lightgbm_project
    commits = [p.candidate_commit, p.overfit_commit]
    config = load_config("compare: {max_candidates: 1}")
    report = _review(p.tracking_uri, [], config, commits)
    assert len(report.candidates) == 1
    assert report.candidates[0].run.run_id in (p.candidate_run, p.overfit_run)
    left_out = [x for x in report.problems if "not reviewed" in x]
    assert left_out and left_out[0].startswith("1 more training run of this PR's commits was")
    assert "`runs:/<run id>/model`" in left_out[0]


# --- finding 4: production linked for reference is the baseline, never a candidate --------


def test_production_linked_for_reference(sklearn_project: SklearnProject) -> None:
    p = sklearn_project
    text = (
        f"Candidate: models:/{p.model_name}/2\n"
        f"For reference: {p.tracking_uri}/#/experiments/{p.experiment_id}/runs/{p.production_run}"
    )
    report = _review(p.tracking_uri, [text])
    assert [c.run.run_id for c in report.candidates] == [p.candidate_run]
    assert report.baseline.run is not None and report.baseline.run.run_id == p.production_run
    assert report.baseline.linked
    assert "(linked for reference)." in render_comment(report)


def test_linking_only_production_has_nothing_new_to_review(sklearn_project: SklearnProject) -> None:
    p = sklearn_project
    report = _review(p.tracking_uri, [f"See {p.production_uri}"])
    assert report.candidates == ()
    comment = render_comment(report)
    assert f"**{ONLY_PRODUCTION}**" in comment
    assert "link the candidate's run or model version (`runs:/<run id>/model`" in comment
    assert "#### 📊 Metrics" not in comment


# --- finding 9 (the candidate part): folds are not repeats of the run's own value ---------


def test_folds_scored_on_their_own_folds_are_kept_apart(lightgbm_project: LightgbmProject) -> None:
    p = lightgbm_project
    report = _review(p.tracking_uri, [f"runs:/{p.candidate_run}/model"])
    own = report.candidates[0].run.metrics["valid_0-l2"]
    row = next(r for r in report.metric_rows if r.key == "valid_0-l2")
    assert row.cells[0].value == own
    assert row.cells[0].spread is None
    apart = [n for n in report.uncertainty_notes if "5-fold CV" in n]
    assert apart and "`valid_0-l2`" in apart[0] and "Not used as repeats" in apart[0]


# --- runs since production: trials and folds are not tries --------------------------------


def test_children_do_not_count_as_runs_since_production(
    sklearn_project: SklearnProject, lightgbm_project: LightgbmProject
) -> None:
    sk = _review(sklearn_project.tracking_uri, [f"runs:/{sklearn_project.candidate_run}/model"])
    lg = _review(lightgbm_project.tracking_uri, [f"runs:/{lightgbm_project.candidate_run}/model"])
    assert sk.history is not None and sk.history.runs_since is not None
    assert lg.history is not None and lg.history.runs_since is not None
    assert sk.history.runs_since.count == 1  # the candidate, none of its trials
    assert lg.history.runs_since.count == 2  # the candidate and the overfit run, no fold


# --- finding 12 (data): one added column in every input is one line -----------------------


def test_one_added_column_in_every_input_is_one_line(lightgbm_project: LightgbmProject) -> None:
    p = lightgbm_project
    comment = _comparable(_review(p.tracking_uri, [f"runs:/{p.candidate_run}/model"]))
    data = _section(comment, "**Data:**")
    lines = [line for line in data.splitlines() if line.startswith("  - ")]
    assert len(lines) == 1, data
    assert f"same rows; column added: `{ADDED}`" in lines[0]
    # evaluate()'s input, logged without a context, is read as `evaluation`
    assert "`dataset` (`evaluation`)" in lines[0] and "unspecified" not in data


# --- finding 6: the preview is the comment --------------------------------------------------


def _headings_md(markdown: str) -> list[str]:
    outside_notes = re.sub(r"<pre>.*?</pre>", "", markdown, flags=re.S)
    found = re.finditer(r"^#{2,4} (.+)$", outside_notes, re.M)
    return [m.group(1).replace("`", "").strip() for m in found]


def _headings_html(page: str) -> list[str]:
    found = re.findall(r"<h[2-4]>(.*?)</h[2-4]>", page, re.S)
    return [re.sub(r"<[^>]+>", "", h).replace("&amp;", "&").strip() for h in found]


@pytest.mark.parametrize("which", ["sklearn", "lightgbm"])
def test_the_preview_shows_every_section_of_the_comment(
    which: str, sklearn_project: SklearnProject, lightgbm_project: LightgbmProject
) -> None:
    p = sklearn_project if which == "sklearn" else lightgbm_project
    report = _review(p.tracking_uri, [f"runs:/{p.candidate_run}/model"])
    comment, page = render_comment(report), render_html(report)
    assert _headings_html(page) == _headings_md(comment)
    assert "Production was never reviewed" in comment
    assert "Production was never reviewed" in page
    assert 'class="markdown-alert markdown-alert-warning"' in page
    shortened = replace(report, history=None)
    assert "Production was never reviewed" not in render_html(shortened)


# --- finding 7: with autolog's model and the team's, the reviewed one is named -----------


def test_the_reviewed_model_is_named(sklearn_project: SklearnProject) -> None:
    p = sklearn_project
    report = _review(p.tracking_uri, [f"models:/{p.model_name}/2"])
    comment = render_comment(report)
    checklist = _section(comment, "#### ✔️ Reproducibility")
    label = f"`model` ({p.candidate_model_id[:8]}…, registered as v2)"
    signature = next(line for line in checklist.splitlines() if "with a signature" in line)
    assert label in signature
    assert p.candidate_autolog_model_id[:8] not in checklist
    assert f"**Model:** reviewed: {label}" in comment
    datasets = next(line for line in checklist.splitlines() if "Dataset inputs" in line)
    assert datasets.endswith("dataset (train), dataset (eval) ×2, bc-holdout (eval)")


# --- LightGBM's training eval set: `valid_0` is the training data, say how to set its role --


def test_two_positional_eval_sets_that_count_get_the_roles_hint(
    lightgbm_project: LightgbmProject,
) -> None:
    p = lightgbm_project
    refs = [f"runs:/{p.candidate_run}/model"]
    report = _review(p.tracking_uri, refs)
    counted = {r.key for r in report.metric_rows if r.role.value == "evaluation"}
    assert {"valid_0-l2", "valid_1-l2"} <= counted
    hint = '`metrics.roles: {training: ["valid_0-*"]}` keeps it out of the verdict'
    assert hint in render_comment(report)

    config = load_config('metrics:\n  roles:\n    training: ["valid_0-*"]\n')
    with_role = _review(p.tracking_uri, refs, config)
    assert "valid_0-l2" not in {
        r.key for r in with_role.metric_rows if r.role.value == "evaluation"
    }
    assert "metrics.roles" not in render_comment(with_role)


# --- evaluate()'s `score` is its `accuracy_score` again: counted once ----------------------


def test_the_default_score_beside_accuracy_counts_once(sklearn_project: SklearnProject) -> None:
    p = sklearn_project
    report = _review(p.tracking_uri, [f"runs:/{p.candidate_run}/model"])
    roles = {r.key: r.role.value for r in report.metric_rows}
    assert roles["accuracy_score"] == "evaluation"
    assert roles["score"] == "informational"
    assert report.candidates[0].run.metrics["score"] == pytest.approx(
        report.candidates[0].run.metrics["accuracy_score"]
    )
