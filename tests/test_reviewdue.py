"""bot.handlers.reviewdue: which open PRs need a review they have not had (reconcile), over
the typed fakes: no status although runs are linked or model paths changed; runs or
the production baseline changed since the status; nothing due otherwise."""

from __future__ import annotations

from dataclasses import replace

from bot.config.schema import Config
from bot.domain import RunSnapshot
from bot.handlers.reviewdue import review_due
from tests.fakes import FakeGitHub, FakeRuns
from tests.test_jobs import REPO, RUN_ID, review_job, runner_with_fakes

HEAD = "e" * 40
PRODUCTION = "f" * 32


def listed(github: FakeGitHub, number: int = 2) -> object:
    """The PR as GitHub's open-PR list gives it: no commits, no files."""
    return replace(github.pulls[number], commits=(), changed_files=())


def due(github: FakeGitHub, runs: FakeRuns) -> str:
    return review_due(github, listed(github), lambda config: runs, {}).reason  # type: ignore[arg-type]


def test_a_pr_that_links_runs_and_has_no_status_is_due() -> None:
    _, apps, runs = runner_with_fakes()
    github = apps.repos[REPO]
    assert due(github, runs) == "no status on the head commit, and the PR links MLflow runs"
    assert github.writes == []  # the check writes nothing


def test_without_links_only_model_paths_make_it_due() -> None:
    _, apps, runs = runner_with_fakes()
    github = apps.repos[REPO]
    github.pulls[2] = replace(github.pulls[2], body="docs", changed_files=("README.md",))
    assert due(github, runs) == ""
    github.files[(".github/model-review.yml", "b" * 40)] = "require_review_for: ['models/**']\n"
    assert due(github, runs) == ""
    github.pulls[2] = replace(github.pulls[2], changed_files=("models/train.py",))
    assert due(github, runs) == "no status on the head commit, and the PR changes model paths"


def test_a_draft_is_not_due() -> None:
    _, apps, runs = runner_with_fakes()
    github = apps.repos[REPO]
    github.pulls[2] = replace(github.pulls[2], draft=True)
    assert due(github, runs) == ""


def test_a_review_is_due_again_when_its_runs_or_the_baseline_changed() -> None:
    runner, apps, runs = runner_with_fakes()
    runs.add_run(RunSnapshot(run_id=PRODUCTION, experiment_id="1", metrics={"auc": 0.8}))
    runs.register("churn", PRODUCTION, aliases=("production",))
    runs.register("churn", RUN_ID)
    github = apps.repos[REPO]
    runner(review_job("d-1"))
    assert github.status_of(HEAD) is not None
    assert due(github, runs) == ""  # reviewed, nothing changed

    runs.add_run(replace(runs.runs[RUN_ID], metrics={"auc": 0.95}))
    assert due(github, runs) == "the runs under review changed since the status was set"
    runner(review_job("d-2"))
    assert due(github, runs) == ""

    other = runs.add_run(RunSnapshot(run_id="a" * 32, experiment_id="1", metrics={"auc": 0.7}))
    runs.register("churn", other.run_id)
    runs.set_alias("churn", "production", "3")
    assert due(github, runs) == "the production baseline changed since the status was set"


def test_a_broken_config_does_not_stop_the_check() -> None:
    _, apps, runs = runner_with_fakes()
    github = apps.repos[REPO]
    github.files[(".github/model-review.yml", "b" * 40)] = "gate: [not a mapping\n"
    configs: dict[str, Config] = {}
    assert review_due(github, listed(github), lambda c: runs, configs)  # type: ignore[arg-type]
    assert configs["b" * 40] == Config()
