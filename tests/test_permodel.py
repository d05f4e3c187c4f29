"""Reviewers per model (bot.review.permodel): pools chosen per model, and two models
in one PR with the gate waiting on each, against the REAL MLflow test server."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from bot.config.schema import load_config
from bot.domain import (
    Assignment,
    Candidate,
    GateDecision,
    GateState,
    ModelVersionInfo,
    RunSnapshot,
)
from bot.handlers.state import decode_state
from bot.review.permodel import ModelSlots, Pools, combine, model_groups, pools_for
from tests.action_runner import Runner, now, pr_event, review_event
from tests.github_sim import GitHubSim
from tests.record_world import BASE, World, build_world, models_config, two_models

CONFIG = """
reviewers:
  primary: [alice, bob]
  secondary: [carol]
  models:
    fraud-model: {{primary: [frank], secondary: [grace]}}
    "fraud-*": {{primary: [heidi], secondary: [ivan]}}
    "experiment:churn-*": {{primary: [judy], secondary: [ken]}}
    "{churn}": {{primary: [leo], secondary: [mallory]}}
"""


def candidate(model: str | None = None, experiment: str = "exp") -> Candidate:
    versions = (ModelVersionInfo(model, "1"),) if model else ()
    run = RunSnapshot("a" * 32, "1", experiment_name=experiment, model_versions=versions)
    return Candidate(run)


@pytest.mark.parametrize(
    ("cand", "pools"),
    [
        (candidate("fraud-model"), Pools(("frank",), ("grace",))),  # exact name, first
        (candidate("fraud-v2"), Pools(("heidi",), ("ivan",))),  # glob
        (candidate("Fraud-v2"), Pools(("alice", "bob"), ("carol",))),  # case-sensitive
        (candidate(None, "churn-weekly"), Pools(("judy",), ("ken",))),  # experiment prefix
        (candidate("churn", "churn-weekly"), Pools(("judy",), ("ken",))),  # file order
        (candidate("other", "exp"), Pools(("alice", "bob"), ("carol",))),  # the default
    ],
)
def test_pools_are_chosen_per_model(cand: Candidate, pools: Pools) -> None:
    config = load_config(CONFIG.format(churn="churn"))
    assert pools_for(config.reviewers, cand) == pools


def test_candidates_are_grouped_by_model_in_order() -> None:
    config = load_config(CONFIG.format(churn="churn")).reviewers
    groups = model_groups(
        [candidate("b-model"), candidate(None, "churn-x"), candidate("b-model")], config
    )
    assert [(g.label, len(g.candidates)) for g in groups] == [
        ("b-model", 2),
        ("experiment:churn-x", 1),
    ]


def slots(label: str, state: GateState, text: str) -> ModelSlots:
    return ModelSlots(label, Assignment("a", "b"), GateDecision(state, text))


def test_the_status_names_the_first_model_and_counts_the_rest() -> None:
    waiting = "waiting for @alice (primary), @bob (secondary)"
    decision = combine(
        [
            slots("fraud-model", GateState.SUCCESS, "approved"),
            slots("churn-" + "x" * 150, GateState.PENDING, waiting),
            slots("ranker", GateState.PENDING, waiting),
        ]
    )
    assert decision.state is GateState.PENDING and len(decision.description) <= 140
    assert decision.description.startswith("churn-xxx")
    assert decision.description.endswith("… (+1 more waiting)")
    failing = combine(
        [slots("a", GateState.PENDING, waiting), slots("b", GateState.FAILURE, "changes")]
    )
    assert failing.state is GateState.FAILURE and failing.description == "b: changes"
    done = combine([slots("a", GateState.SUCCESS, "ok"), slots("b", GateState.SUCCESS, "ok")])
    assert done.state is GateState.SUCCESS and done.description == "approved: all 2 models (a, b)"
    broken = combine([slots("a", GateState.SUCCESS, "ok"), slots("b", GateState.ERROR, "down")])
    assert broken.state is GateState.ERROR  # never green by mistake
    assert combine([]).state is GateState.PENDING


# --- two models in one PR, against the real MLflow server --------------------------------


@pytest.fixture
def world(mlflow_client: MlflowClient, mlflow_server: str) -> World:
    """PR 7 links a version of `world.model` and a run of an unregistered churn model."""
    world = build_world(mlflow_client, mlflow_server)
    world.churn = two_models(world)  # type: ignore[attr-defined]
    return world


def approve(world: World, *users: str, minute: int = 0) -> None:
    for n, user in enumerate(users):
        world.approve(user, f"2026-11-27T11:{minute + n:02d}:00Z")


def test_two_models_in_one_pr_the_gate_waits_on_each(world: World) -> None:
    churn_label = (
        "experiment:"
        + world.client.get_experiment(
            world.client.get_run(world.churn).info.experiment_id  # type: ignore[attr-defined]
        ).name
    )

    outcome = world.review()

    assert outcome.gate is not None and outcome.gate.state is GateState.PENDING
    assert outcome.gate.description == (
        f"{world.model}: waiting for @frank (primary), @grace (secondary) (+1 more waiting)"
    )
    requested = {u for _, users, _ in world.github.requested for u in users}
    assert requested == {"frank", "grace", "judy", "ken"}
    body = world.body
    assert f"- ⏳ @\u2060frank (primary for `{world.model}`): waiting for review" in body
    assert f"- ⏳ @\u2060ken (secondary for `{churn_label}`): waiting for review" in body

    approve(world, "frank", "grace")
    outcome = world.review()
    assert outcome.gate is not None and outcome.gate.state is GateState.PENDING
    assert outcome.gate.description == (
        f"{churn_label}: waiting for @judy (primary), @ken (secondary)"
    )
    assert f"- ✅ @\u2060frank (primary for `{world.model}`): approved" in world.body

    approve(world, "judy", "ken", minute=10)
    outcome = world.review()
    assert outcome.gate is not None and outcome.gate.state is GateState.SUCCESS
    assert world.github.status_of("1" * 40) is GateState.SUCCESS
    state = decode_state(world.body)
    assert state is not None and state.primary is None
    assert set(state.models) == {world.model, churn_label}


def test_staleness_is_per_model(world: World, mlflow_client: MlflowClient) -> None:
    world.review()
    approve(world, "frank", "grace", "judy", "ken")
    assert world.review().gate.state is GateState.SUCCESS  # type: ignore[union-attr]

    mlflow_client.log_metric(world.churn, "val_auc", 0.9, step=1)  # type: ignore[attr-defined]
    world.d.now = lambda: "2026-11-27T12:00:00Z"
    outcome = world.review()

    assert outcome.gate is not None and outcome.gate.state is GateState.PENDING
    assert outcome.gate.description.startswith("experiment:churn-")
    assert "approvals by @judy, @ken are older than the current runs" in outcome.gate.description
    assert f"- ✅ @\u2060frank (primary for `{world.model}`): approved" in world.body
    assert set(outcome.gate.stale) == {"judy", "ken"}


def test_one_model_uses_its_own_pools(world: World) -> None:
    world.link(f"runs:/{world.first}/model")
    outcome = world.review()
    assert outcome.gate is not None
    assert outcome.gate.description == "waiting for @frank (primary), @grace (secondary)"
    assert "(primary):" in world.body and " for `" not in world.body


def test_a_merge_promotes_only_when_every_model_was_approved(world: World) -> None:
    world.github.files[(".github/model-review.yml", BASE)] = models_config(world, "promote: true")
    world.review()
    approve(world, "frank", "grace")
    world.review()  # the status stays pending: the churn model waits

    world.close(merged=True)

    assert world.production_version() == "1"
    assert "not promoted: the review was not approved at merge time" in world.body
    assert "experiment:churn-" in world.body.split("<!-- model-review:outcome -->")[1]


def test_a_merge_approved_for_every_model_promotes(world: World) -> None:
    world.github.files[(".github/model-review.yml", BASE)] = models_config(world, "promote: true")
    world.review()
    approve(world, "frank", "grace", "judy", "ken")
    assert world.review().gate.state is GateState.SUCCESS  # type: ignore[union-attr]

    world.close(merged=True)

    assert world.production_version() == "2"
    assert "is now `production` (replacing v1)" in world.body


# --- end to end: `model-review action` with the GitHub stand-in ----------------------


def test_action_end_to_end_two_models(world: World, tmp_path: Path, tracking_env: str) -> None:
    config = models_config(world, "")
    body = f"runs:/{world.first}/model and runs:/{world.churn}/model"  # type: ignore[attr-defined]
    github = GitHubSim(body=body, config=config)
    with github.mocked("http://127.0.0.1"):  # MLflow: the real server
        action = Runner(tmp_path, tracking_env)
        out = action("pull_request", pr_event(github, "opened"))
        assert out["gate"] == "pending" and out["description"].startswith(world.model)
        assert out["description"].endswith("(+1 more waiting)")
        for login in ("frank", "grace", "judy"):
            event = review_event(github, github.add_review(login, "APPROVED", now()))
            out = action("pull_request_review", event)
        assert out["gate"] == "pending"
        assert out["description"].startswith("experiment:churn-")
        assert out["description"].endswith("waiting for @ken (secondary)")
        event = review_event(github, github.add_review("ken", "APPROVED", now()))
        out = action("pull_request_review", event)

    assert out["gate"] == "success" and github.status is not None
    assert github.status["state"] == "success"
    assert github.writes[:3] == [
        "create_comment", "request frank,grace", "request judy,ken",
    ]  # fmt: skip
    comment = github.bot_comments[0]["body"]
    assert "@\u2060ken (secondary for `experiment:churn-" in comment
