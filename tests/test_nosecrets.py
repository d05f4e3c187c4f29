"""Dependabot's PRs in the Action: no secrets, so no MLflow (bot.handlers.nosecrets)."""

from __future__ import annotations

import pytest

from bot.domain import GateState, PullRequest
from bot.handlers.context import Deps
from bot.handlers.dispatch import handle
from bot.handlers.router import Event, route
from tests import github_payloads as gp
from tests.fakes import FakeGitHub

CONFIG = 'reviewers:\n  primary: [alice]\nrequire_review_for: ["models/**"]\n'


def no_mlflow(config: object) -> object:
    raise AssertionError("MLflow must not be asked: the workflow has no secrets")


def review(author: str, files: tuple[str, ...]) -> tuple[FakeGitHub, str]:
    github = FakeGitHub()
    github.pulls[7] = PullRequest(
        number=7, title="Bump numpy", body="Bumps numpy from 1.26 to 2.0.", author=author,
        head_sha="1" * 40, base_sha="2" * 40, head_ref="dependabot/pip/numpy",
        base_ref="main", repo="acme/fraud", changed_files=files,
    )  # fmt: skip
    github.files[(".github/model-review.yml", "2" * 40)] = CONFIG
    deps = Deps(
        github=github, runs=no_mlflow, images=lambda *a: None, now=lambda: "", secrets=False
    )  # type: ignore[arg-type]
    payload = gp.webhook("pull_request", "synchronize")
    payload["pull_request"] = {**payload["pull_request"], "number": 7}
    event = Event("pull_request", payload)
    outcome = handle(event, route(event), deps)
    assert outcome.gate is not None
    return github, outcome.gate.description


def test_a_dependabot_pr_that_touches_no_model_gets_a_neutral_green_gate() -> None:
    github, description = review("dependabot[bot]", ("requirements.txt",))
    assert github.status_of("1" * 40) is GateState.SUCCESS
    assert description.startswith("no model review: Dependabot PRs get no secrets")
    assert github.comment_list == []


def test_a_dependabot_pr_that_changes_model_paths_still_needs_its_review() -> None:
    github, description = review("dependabot[bot]", ("models/requirements.txt", "README.md"))
    assert github.status_of("1" * 40) is GateState.FAILURE
    assert "`models/requirements.txt`" in description and "/model-review refresh" in description


def test_anyone_else_without_mlflow_gets_the_usual_review_which_fails_closed() -> None:
    with pytest.raises(AssertionError, match="MLflow must not be asked"):
        review("dave", ("requirements.txt",))
