"""The model's story in the review (bot.review.history, bot.render.historyview):
production's history, the never-reviewed warning, earlier reviews and the run count,
against the REAL MLflow test server (tests/record_world.py), plus the request cost."""

from __future__ import annotations

import pytest
from matrix import row
from mlflow.tracking import MlflowClient
from mlflow_helpers import RequestLog

from bot.config.schema import Config
from bot.domain import RunSnapshot
from bot.render.comment import render_comment
from bot.review import pipeline
from bot.review.ledger import HISTORY_PREFIX, PR
from bot.review.pipeline import ReviewRequest, build_review
from bot.tracking.client import MlflowRuns
from tests.fakes import FakeRuns
from tests.record_world import World, build_world

NEVER = "Production was never reviewed through model-review"


@pytest.fixture
def world(mlflow_client: MlflowClient, mlflow_server: str) -> World:
    world = build_world(mlflow_client, mlflow_server)
    world.configure("promote: true\n")
    return world


def section(body: str, title: str) -> str:
    start = body.index(title)
    end = body.find("\n#### ", start)
    return body[start : end if end >= 0 else None]


def test_production_set_by_hand_is_flagged_as_never_reviewed(world: World) -> None:
    world.review()

    body = world.body
    assert NEVER in body and f"`{world.model}` v1 and its run carry no" in body
    history = section(body, "#### 📜 Production history")
    assert "**v1** (production now) · set outside model-review" in history
    assert "Earlier reviews" not in history


def test_history_earlier_reviews_and_run_count_after_a_promotion(world: World) -> None:
    world.promote(8, world.first, "5" * 40)  # v2 approved in PR 8 and promoted
    world.link(f"Model: runs:/{world.second}/model")

    world.review()

    body = world.body
    assert NEVER not in body
    history = section(body, "#### 📜 Production history")
    pr8 = "[PR \\#\u20608](https://github.com/acme/fraud/pull/8)"
    assert "- **v2** (production now) · 2026-" in history
    assert f"promoted; replaced v1 in {pr8}, approved by" in history
    assert "**Earlier reviews of this model**" in history
    assert f"- v2: approved in {pr8} by" in history
    experiment = world.client.get_run(world.second).info.experiment_id
    exp_name = world.client.get_experiment(experiment).name
    link = f"[{exp_name}]({world.tracking_uri}/#/experiments/{experiment})"
    assert f"🔎 **1 run** in experiment {link} since production's run was trained" in history


def test_the_pr_under_review_is_not_an_earlier_review(world: World) -> None:
    world.review()
    world.approve_both()
    world.review()  # PR 7 approved: v2 carries its record now

    assert "Earlier reviews" not in section(world.body, "#### 📜 Production history")


def test_the_run_count_respects_the_allow_list(world: World) -> None:
    world.configure(f"mlflow:\n  models: [{world.model}]\n")
    world.review()
    history = section(world.body, "#### 📜 Production history")
    assert "🔎" not in history and "set outside model-review" in history


def test_at_most_two_more_mlflow_requests_per_review(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.promote(8, world.first, "5" * 40)
    request = ReviewRequest(texts=[f"runs:/{world.second}/model"])
    config = Config()

    def requests_with(story: bool) -> int:
        log = RequestLog.install(monkeypatch)
        with monkeypatch.context() as patch:
            if not story:
                patch.setattr(pipeline, "model_history", lambda *a, **k: (None, None))
            report = build_review(request, MlflowRuns(world.tracking_uri), config)
        assert (report.history is not None) is story
        return len(log.sent)

    assert requests_with(True) - requests_with(False) == 2


def test_run_count_is_capped_in_one_search(
    mlflow_client: MlflowClient, mlflow_server: str, world: World
) -> None:
    runs = MlflowRuns(mlflow_server)
    experiment = mlflow_client.get_run(world.first).info.experiment_id
    assert runs.count_runs(experiment, None, 2) == (2, True)
    assert runs.count_runs(experiment, None, 3) == (3, False)
    start = mlflow_client.get_run(world.first).info.start_time
    assert runs.count_runs(experiment, start, 10) == (1, False)


def test_a_capped_count_reads_one_thousand_plus() -> None:
    fake = FakeRuns()
    for n in range(1002):
        fake.add_run(RunSnapshot(f"{n:032x}", "7", experiment_name="search", start_time=n))
    request = ReviewRequest(texts=[f"runs:/{1001:032x}/model"])
    body = render_comment(build_review(request, fake, Config()))
    link = "[search](http://mlflow.test/#/experiments/7)"
    assert f"🔎 **1,000+ runs** in experiment {link} so far" in body


def test_mlflow_failing_on_the_history_costs_the_section_not_the_review(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.errors import TrackingError

    def down(self: MlflowRuns, name: str, *, versions: bool = True) -> None:
        raise TrackingError("MLflow at test answered 503")

    monkeypatch.setattr(MlflowRuns, "model_record", down)
    outcome = world.review()
    assert outcome.gate is not None and outcome.gate.state.value == "pending"
    assert "production's history and earlier reviews could not be read" in world.body
    assert "#### 📜 Production history" not in world.body


EVIL = "https://evil.example/acme/fraud/pull/41"


@row(
    "gate",
    "MLflow text names a pull request elsewhere: `model_review.pr` on the approved version "
    "and `pr` in production's ledger entry rewritten to `https://evil.example/acme/fraud/"
    "pull/41` (and to another repository on github.com)",
    'Shown as text in a code span, never as a link, nor labelled "PR #41"; a PR of this '
    "repository on this server stays a link",
)
@pytest.mark.parametrize("elsewhere", [EVIL, "https://github.com/mallory/fraud/pull/41"])
def test_pr_links_from_mlflow_point_only_at_this_repository(world: World, elsewhere: str) -> None:
    world.promote(8, world.first, "5" * 40)  # v2 approved in PR 8 and promoted
    world.link(f"Model: runs:/{world.second}/model")
    world.review()
    assert "(https://github.com/acme/fraud/pull/8)" in world.body  # our own: a link
    world.client.set_model_version_tag(world.model, "2", PR, elsewhere)
    model = world.client.get_registered_model(world.model)
    for key, value in model.tags.items():
        if key.startswith(HISTORY_PREFIX) and '"pr"' in value:
            world.client.set_registered_model_tag(world.model, key, value.replace(
                "https://github.com/acme/fraud/pull/8", elsewhere))  # fmt: skip
    world.review()
    history = section(world.body, "#### 📜 Production history")
    shown = history.replace("\u2060", "").replace("\\", "")
    assert elsewhere not in shown.replace(f"`{elsewhere}`", "")  # only inside code spans
    assert f"`{elsewhere}`" in shown and "PR #41" not in shown
    assert "](" + elsewhere not in world.body.replace("\u2060", "")
