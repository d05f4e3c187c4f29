"""The PR review handler over the typed fakes: comment, reviewers and the gate."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from bot.config.schema import Config
from bot.constants import MARKER
from bot.domain import DatasetInfo, GateState, PullRequest, Review, ReviewState, RunSnapshot
from bot.errors import ConfigError
from bot.handlers.context import Deps
from bot.handlers.pull_request import review_pull_request
from bot.handlers.state import decode_state
from bot.ports import RunsPort
from bot.review.reviewers import Command, parse_command
from tests.fakes import FakeGitHub, FakeImages, FakeRuns

CANDIDATE = "c" * 32
OTHER = "d" * 32
PRODUCTION = "a" * 32
CONFIG = """
reviewers:
  primary: [alice, bob]
  secondary: [carol]
require_review_for: ["models/**"]
"""


def by_writer(body: str) -> Command | None:
    """A command as the router hands it over: with who wrote it (a writer, as the
    fake GitHub answers by default)."""
    command = parse_command(body)
    return replace(command, by="maintainer") if command else None


def _run(run_id: str, name: str, auc: float, loss: float, depth: str) -> RunSnapshot:
    return RunSnapshot(
        run_id=run_id,
        experiment_id="1",
        name=name,
        experiment_name="fraud",
        params={"max_depth": depth, "lr": "0.1"},
        metrics={"val_auc": auc, "val_loss": loss},
        tags={"mlflow.note.content": f"# {name}\n\nTrained for the review."},
    )


class Clock:
    def __init__(self) -> None:
        self.minute = 0

    def __call__(self) -> str:
        self.minute += 1
        return f"2026-11-27T10:{self.minute:02d}:00Z"


@pytest.fixture
def world() -> Iterator[tuple[FakeGitHub, FakeRuns, Deps]]:
    runs = FakeRuns()
    runs.add_run(_run(PRODUCTION, "prod", 0.90, 0.30, "4"))
    runs.add_run(_run(CANDIDATE, "cand", 0.93, 0.25, "6"))
    runs.add_run(_run(OTHER, "other", 0.80, 0.40, "8"))
    runs.register("fraud-model", PRODUCTION, aliases=["production"])
    runs.register("fraud-model", CANDIDATE)
    runs.register("fraud-model", OTHER)
    github = FakeGitHub()
    github.pulls[7] = PullRequest(
        number=7,
        title="Retrain",
        body=f"Model: runs:/{CANDIDATE}/model",
        author="dave",
        head_sha="1" * 40,
        base_sha="2" * 40,
        head_ref="retrain",
        base_ref="main",
        repo="acme/fraud",
        commits=("1" * 40,),
        changed_files=("models/train.py",),
    )
    github.files[(".github/model-review.yml", "2" * 40)] = CONFIG
    images: FakeImages | None = None

    def make_images(
        config: Config, pr: PullRequest, runs_port: RunsPort, previous: str | None
    ) -> FakeImages | None:
        return images

    deps = Deps(github=github, runs=lambda config: runs, images=make_images, now=Clock())
    yield github, runs, deps


def _approve(github: FakeGitHub, user: str, at: str, state: str = "APPROVED") -> None:
    github.add_review(
        7, Review(user=user, state=ReviewState.parse(state), submitted_at=at, commit_id="1" * 40)
    )


def test_first_review_posts_one_comment_requests_reviewers_and_holds_the_merge(world) -> None:
    github, _, deps = world
    outcome = review_pull_request(7, deps)

    assert len(github.comment_list) == 1
    body = github.comment_list[0].body
    assert body.startswith(MARKER)
    assert "val_auc" in body and "0.93" in body
    state = decode_state(body)
    assert state is not None and (state.primary, state.secondary) == ("bob", "carol")
    assert github.requested == [(7, ("bob", "carol"), ())]
    assert github.status_of("1" * 40) is GateState.PENDING
    assert outcome.gate is not None and "@bob" in outcome.gate.description
    assert outcome.comment_url == github.comment_list[0].url


def test_same_event_again_writes_nothing(world) -> None:
    github, _, deps = world
    review_pull_request(7, deps)
    before = list(github.writes)
    outcome = review_pull_request(7, deps)
    assert github.writes == before
    assert outcome.writes == []


def test_both_approvals_turn_the_gate_green_and_a_run_change_makes_them_stale(world) -> None:
    github, _, deps = world
    review_pull_request(7, deps)
    _approve(github, "bob", "2026-11-27T11:00:00Z")
    review_pull_request(7, deps)
    assert github.status_of("1" * 40) is GateState.PENDING  # carol still missing
    _approve(github, "carol", "2026-11-27T11:05:00Z")
    outcome = review_pull_request(7, deps)
    assert github.status_of("1" * 40) is GateState.SUCCESS
    assert outcome.gate is not None and outcome.gate.approved_by

    github.pulls[7] = replace(github.pulls[7], body=f"Now: runs:/{OTHER}/model")
    deps.now = lambda: "2026-11-27T12:00:00Z"
    outcome = review_pull_request(7, deps)
    assert github.status_of("1" * 40) is GateState.PENDING
    assert outcome.gate is not None and set(outcome.gate.stale) == {"bob", "carol"}
    assert len(github.comment_list) == 1


def test_changes_requested_fails_the_gate(world) -> None:
    github, _, deps = world
    review_pull_request(7, deps)
    _approve(github, "bob", "2026-11-27T11:00:00Z", state="changes_requested")
    review_pull_request(7, deps)
    assert github.status_of("1" * 40) is GateState.FAILURE


def test_the_author_approving_their_own_pr_counts_for_nothing(world) -> None:
    github, _, deps = world
    review_pull_request(7, deps)
    _approve(github, "dave", "2026-11-27T11:00:00Z")
    _approve(github, "bob", "2026-11-27T11:00:00Z")
    review_pull_request(7, deps)
    assert github.status_of("1" * 40) is GateState.PENDING


def test_pr_without_model_is_green_and_silent(world) -> None:
    github, _, deps = world
    github.pulls[7] = replace(github.pulls[7], body="Docs only", changed_files=("README.md",))
    outcome = review_pull_request(7, deps)
    assert github.comment_list == []
    assert github.status_of("1" * 40) is GateState.SUCCESS
    assert outcome.gate is not None and outcome.gate.description == "no model under review"


def test_model_code_without_a_run_fails_and_explains(world) -> None:
    github, _, deps = world
    github.pulls[7] = replace(github.pulls[7], body="Tweak the trainer")
    review_pull_request(7, deps)
    assert github.status_of("1" * 40) is GateState.FAILURE
    assert "links no MLflow run" in github.comment_list[0].body
    assert "models/train.py" in github.comment_list[0].body


def test_pr_that_drops_its_runs_keeps_its_comment_updated(world) -> None:
    github, _, deps = world
    review_pull_request(7, deps)
    github.pulls[7] = replace(github.pulls[7], body="never mind", changed_files=())
    review_pull_request(7, deps)
    assert len(github.comment_list) == 1
    assert "no longer links an MLflow run" in github.comment_list[0].body
    assert github.status_of("1" * 40) is GateState.SUCCESS


def test_invalid_config_fails_closed_and_names_the_key(world) -> None:
    github, _, deps = world
    github.files[(".github/model-review.yml", "2" * 40)] = "reviewers:\n  primry: [a]\n"
    outcome = review_pull_request(7, deps)
    assert github.status_of("1" * 40) is GateState.ERROR
    assert "primry" in github.comment_list[0].body
    assert outcome.gate is not None and "line 2" in outcome.gate.description


def test_config_on_the_pr_head_is_ignored(world) -> None:
    github, _, deps = world
    github.files[(".github/model-review.yml", "1" * 40)] = "reviewers:\n  primary: [dave]\n"
    review_pull_request(7, deps)
    assert github.requested == [(7, ("bob", "carol"), ())]


def test_mlflow_down_fails_closed(world) -> None:
    github, runs, deps = world
    review_pull_request(7, deps)
    _approve(github, "bob", "2026-11-27T11:00:00Z")
    _approve(github, "carol", "2026-11-27T11:00:00Z")
    runs.down = True
    review_pull_request(7, deps)
    assert github.status_of("1" * 40) is GateState.ERROR
    assert "cannot be reached" in github.comment_list[0].body


def test_a_config_error_raised_during_the_review_fails_closed_too(world) -> None:
    """Any error the bot can name, ConfigError included, ends in an `error` status
    and a comment; none escapes with the gate left as it was."""
    github, _, deps = world

    def refuse(config: Config) -> RunsPort:
        raise ConfigError("`mlflow.experiments` names an experiment that is not there")

    deps.runs = refuse
    outcome = review_pull_request(7, deps)
    assert github.status_of("1" * 40) is GateState.ERROR
    assert outcome.gate is not None and outcome.gate.state is GateState.ERROR
    assert "is not there" in github.comment_list[0].body


def test_fork_pr_with_read_only_token_writes_nothing(world) -> None:
    github, _, deps = world
    github.pulls[7] = replace(github.pulls[7], head_repo="mallory/fraud")
    github.read_only = True
    deps.forks_read_only = True
    outcome = review_pull_request(7, deps)
    assert github.writes == [] and github.comment_list == []
    assert "read-only" in outcome.notice
    assert "val_auc" in outcome.markdown  # the job summary still gets the review


def test_marker_copied_by_a_human_is_not_the_bots_comment(world) -> None:
    github, _, deps = world
    review_pull_request(7, deps)
    mine = github.comment_list[0]
    github.comment_list.insert(0, replace(mine, comment_id=5, author="mallory"))
    review_pull_request(7, deps)
    assert [c.author for c in github.comment_list].count("github-actions[bot]") == 1
    assert github.comment_list[0].author == "mallory"  # untouched


def test_duplicate_bot_comments_converge_to_one(world) -> None:
    github, _, deps = world
    review_pull_request(7, deps)
    first = github.comment_list[0]
    github.comment_list.append(
        replace(first, comment_id=first.comment_id + 50, body=first.body + "\nold")
    )
    review_pull_request(7, deps)
    assert len([c for c in github.comment_list if c.author == github.login]) == 1


def test_reassign_command_hands_the_slot_over_and_requests_the_new_reviewer(world) -> None:
    github, _, deps = world
    review_pull_request(7, deps)
    review_pull_request(7, deps, command=by_writer("/model-review reassign primary @alice"))
    state = decode_state(github.comment_list[0].body)
    assert state is not None and state.primary == "alice"
    assert github.requested[-1] == (7, ("alice",), ())


def test_reassign_outside_the_pool_is_refused_in_the_comment(world) -> None:
    github, _, deps = world
    review_pull_request(7, deps, command=by_writer("/model-review reassign primary @zed"))
    body = github.comment_list[0].body
    assert "not in the primary reviewer pool" in body
    assert decode_state(body).primary == "bob"  # type: ignore[union-attr]


def test_unknown_run_fails_the_gate_and_says_which_reference(world) -> None:
    github, _, deps = world
    github.pulls[7] = replace(github.pulls[7], body="mlflow-run: " + "e" * 32)
    review_pull_request(7, deps)
    assert github.status_of("1" * 40) is GateState.FAILURE
    assert "e" * 32 in github.comment_list[0].body


def test_draft_is_skipped_unless_configured(world) -> None:
    github, _, deps = world
    github.pulls[7] = replace(github.pulls[7], draft=True)
    outcome = review_pull_request(7, deps)
    assert github.writes == [] and "draft" in outcome.notice


def test_a_403_on_the_first_write_turns_the_run_read_only(world) -> None:
    github, _, deps = world
    github.read_only = True  # not detected up front (e.g. a token without permissions)
    outcome = review_pull_request(7, deps)
    assert github.comment_list == [] and github.statuses == []
    assert "read-only" in outcome.notice and "val_auc" in outcome.markdown


def test_with_plots_off_the_comment_says_where_the_curves_are(world) -> None:
    github, _, deps = world
    review_pull_request(7, deps)
    assert "`plots.host: none`" in github.comment_list[0].body


def test_plots_are_drawn_once_and_reused_while_nothing_they_show_changes(world) -> None:
    github, runs, deps = world
    images = FakeImages()
    deps.images = lambda config, pr, runs_port, previous: images
    review_pull_request(7, deps)
    drawn = len(images.published)
    assert drawn > 0 and "https://images.test/metrics.png" in github.comment_list[0].body
    runs.calls.clear()
    _approve(github, "bob", "2026-11-27T11:00:00Z")
    review_pull_request(7, deps)
    assert len(images.published) == drawn  # nothing drawn or hosted again
    assert "metric_histories" not in runs.calls
    assert "https://images.test/metrics.png" in github.comment_list[0].body

    runs.runs[CANDIDATE] = replace(runs.runs[CANDIDATE], metrics={"val_auc": 0.95})
    review_pull_request(7, deps)
    assert len(images.published) > drawn  # the model changed: drawn again


def test_changed_files_are_listed_only_when_the_config_asks_for_them(world) -> None:
    github, _, deps = world
    review_pull_request(7, deps)  # a model PR: no need to look at its files
    assert "changed_files" not in github.reads
    github.pulls[7] = replace(github.pulls[7], body="no run")
    review_pull_request(7, deps)  # no run linked: are model paths touched?
    assert github.reads.count("changed_files") == 1


def test_fail_on_regression_holds_an_approved_merge_while_a_bar_is_missed(world) -> None:
    github, _, deps = world
    rules = "metrics:\n  rules:\n    val_auc: {min: 0.95}\ngate:\n  fail_on_regression: true\n"
    github.files[(".github/model-review.yml", "2" * 40)] = CONFIG + rules
    review_pull_request(7, deps)
    _approve(github, "bob", "2026-11-27T11:00:00Z")
    _approve(github, "carol", "2026-11-27T11:05:00Z")
    outcome = review_pull_request(7, deps)
    assert github.status_of("1" * 40) is GateState.FAILURE
    assert outcome.gate is not None
    assert outcome.gate.description == "absolute bar missed by val_auc (gate.fail_on_regression)"
    assert "🚫 below min 0.95" in github.comment_list[0].body


def _eval_data(runs: FakeRuns, run_id: str, digest: str) -> None:
    data = (DatasetInfo("holdout", digest, context="evaluation"),)
    runs.runs[run_id] = replace(runs.runs[run_id], datasets=data)


@pytest.mark.parametrize(
    ("rule", "expected"), [("fail", GateState.FAILURE), ("warn", GateState.SUCCESS)]
)
def test_different_eval_data_with_fail_rule_keeps_the_gate_red(world, rule, expected) -> None:
    github, runs, deps = world
    github.files[(".github/model-review.yml", "2" * 40)] = (
        CONFIG + f"compare:\n  require_same_eval_data: {rule}\n"
    )
    _eval_data(runs, PRODUCTION, "d1")
    _eval_data(runs, CANDIDATE, "d2")
    review_pull_request(7, deps)
    _approve(github, "bob", "2026-11-27T11:00:00Z")
    _approve(github, "carol", "2026-11-27T11:05:00Z")
    outcome = review_pull_request(7, deps)
    assert github.status_of("1" * 40) is expected
    body = github.comment_list[0].body
    assert "**Metrics measured on different evaluation data than production: " in body
    if rule == "fail":
        assert outcome.gate is not None
        assert (
            outcome.gate.description
            == "metrics measured on different evaluation data than production"
        )


@pytest.mark.parametrize("surface", ["check", "both"])
def test_the_action_publishes_the_status_only_whatever_gate_surface_says(
    world, surface: str
) -> None:
    """A check run made with the Actions token can be forged by any workflow with
    `checks: write` (docs/security.md): the Action keeps the commit status."""
    github, _, deps = world
    github.files[(".github/model-review.yml", "2" * 40)] = (
        f"{CONFIG}\ngate:\n  surface: {surface}\n"
    )
    assert not deps.checks  # the Action's Deps

    review_pull_request(7, deps)

    assert github.status_of("1" * 40) is GateState.PENDING
    assert github.check_writes == [] and "check_run model-review" not in github.reads
