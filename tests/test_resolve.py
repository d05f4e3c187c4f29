"""From references to candidates and the production baseline, over FakeRuns."""

from __future__ import annotations

import pytest

from bot.config.schema import BaselineConfig, Config, MlflowConfig
from bot.domain import RefKind, RunRef, RunSnapshot
from bot.review.refs import find_refs
from bot.review.resolve import find_baseline, registered_model_for, resolve_candidates
from tests.fakes import FakeRuns

PROD, CAND, OTHER = "a" * 32, "c" * 32, "d" * 32


def run(run_id: str, experiment: str = "fraud", exp_id: str = "1", start: int = 0) -> RunSnapshot:
    return RunSnapshot(
        run_id=run_id,
        experiment_id=exp_id,
        experiment_name=experiment,
        start_time=start,
        tags={"mlflow.source.git.commit": run_id[0] * 40},
    )


@pytest.fixture
def runs() -> FakeRuns:
    fake = FakeRuns()
    for run_id in (PROD, CAND, OTHER):
        fake.add_run(run(run_id))
    fake.register("fraud-model", PROD, aliases=["production"], stage="Production")
    fake.register("fraud-model", CAND, aliases=["challenger"])
    fake.logged_models["m-" + "e" * 32] = OTHER
    return fake


def refs(text: str) -> list[RunRef]:
    return find_refs([text])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"runs:/{CAND}/model", CAND),
        (f"https://mlflow.acme.io/#/experiments/1/runs/{CAND}", CAND),
        ("models:/fraud-model/2", CAND),
        ("models:/fraud-model@challenger", CAND),
        ("models:/fraud-model/latest", CAND),
        ("models:/fraud-model/Production", PROD),
        ("models:/m-" + "e" * 32, OTHER),
        (CAND, CAND),
    ],
)
def test_every_reference_form_resolves_to_its_run(runs: FakeRuns, text: str, expected: str) -> None:
    resolution = resolve_candidates(refs(text), runs, Config())
    assert [c.run.run_id for c in resolution.candidates] == [expected]
    assert resolution.unresolved == ()


def test_runs_are_fetched_in_one_call_however_many_references(runs: FakeRuns) -> None:
    text = f"runs:/{CAND}/m and runs:/{OTHER}/m and models:/fraud-model/1"
    resolution = resolve_candidates(refs(text), runs, Config())
    assert [c.run.run_id for c in resolution.candidates] == [CAND, OTHER, PROD]
    assert runs.calls.count("fetch_runs") == 1


def test_two_spellings_of_one_run_make_one_candidate_with_its_version(runs: FakeRuns) -> None:
    resolution = resolve_candidates(refs(f"runs:/{CAND}/x models:/fraud-model/2"), runs, Config())
    (candidate,) = resolution.candidates
    assert candidate.model_version is not None and candidate.model_version.version == "2"
    assert len(candidate.refs) == 2


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("mlflow-run: " + "f" * 32, "no run with this id"),
        ("models:/fraud-model/9", "has no version 9"),
        ("models:/fraud-model@nope", "has no alias `nope`"),
        ("models:/fraud-model/Staging", "no version in stage `Staging`"),
        ("models:/ghost/3", "registered model `ghost` does not exist"),
        ("models:/ghost@production", "registered model `ghost` does not exist"),
        ("models:/ghost/Staging", "registered model `ghost` does not exist"),
        ("models:/m-" + "0" * 32, "no logged model"),
    ],
)
def test_unresolvable_references_say_which_and_why(runs: FakeRuns, text: str, reason: str) -> None:
    resolution = resolve_candidates(refs(text), runs, Config())
    assert resolution.candidates == ()
    (item,) = resolution.unresolved
    assert reason in item.reason and item.ref.raw in text


def test_a_bare_id_that_does_not_resolve_is_not_a_reference(runs: FakeRuns) -> None:
    resolution = resolve_candidates(refs("checksum " + "f" * 32), runs, Config())
    assert resolution.candidates == () and resolution.unresolved == ()


def test_without_references_runs_from_the_prs_commits_are_reviewed(runs: FakeRuns) -> None:
    commits = ["1" * 40, "c" * 40]
    resolution = resolve_candidates([], runs, Config(), commits)
    assert [c.run.run_id for c in resolution.candidates] == [CAND]
    assert resolution.candidates[0].from_commit


def test_allow_lists_refuse_runs_outside_them(runs: FakeRuns) -> None:
    runs.add_run(run("b" * 32, experiment="secret-hr", exp_id="9"))
    config = Config(mlflow=MlflowConfig(experiments=("fraud*",)))
    resolution = resolve_candidates(refs(f"runs:/{'b' * 32}/m runs:/{CAND}/m"), runs, config)
    assert [c.run.run_id for c in resolution.candidates] == [CAND]
    assert "not allowed by this repository's config" in resolution.unresolved[0].reason
    models_only = Config(mlflow=MlflowConfig(models=("other-model",)))
    resolution = resolve_candidates(refs("models:/fraud-model/2"), runs, models_only)
    assert resolution.candidates == () and "not allowed" in resolution.unresolved[0].reason


def test_baseline_is_the_run_behind_the_production_alias(runs: FakeRuns) -> None:
    candidates = resolve_candidates(refs("models:/fraud-model/2"), runs, Config()).candidates
    baseline = find_baseline(candidates, runs, BaselineConfig())
    assert baseline.run is not None and baseline.run.run_id == PROD
    assert baseline.model_version is not None and baseline.model_version.version == "1"
    assert "alias `production`" in baseline.how


def test_baseline_falls_back_to_the_deprecated_stage(runs: FakeRuns) -> None:
    candidates = resolve_candidates(refs(f"runs:/{CAND}/m"), runs, Config()).candidates
    baseline = find_baseline(candidates, runs, BaselineConfig(alias="champion"))
    assert baseline.run is not None and baseline.run.run_id == PROD
    assert "deprecated" in baseline.how
    none = find_baseline(candidates, runs, BaselineConfig(alias="champion", stage_fallback=False))
    assert none.run is None and "no version with alias `champion`" in (none.reason or "")


def test_a_pinned_baseline_wins(runs: FakeRuns) -> None:
    candidates = resolve_candidates(refs(f"runs:/{CAND}/m"), runs, Config()).candidates
    baseline = find_baseline(candidates, runs, BaselineConfig(run=OTHER))
    assert baseline.run is not None and baseline.run.run_id == OTHER
    assert "pinned" in baseline.how


def test_the_registered_model_comes_from_the_best_evidence(runs: FakeRuns) -> None:
    runs.add_run(run("9" * 32, experiment="churn", exp_id="7"))
    plain = resolve_candidates(refs(f"runs:/{'9' * 32}/m"), runs, Config()).candidates
    assert registered_model_for(plain, BaselineConfig()) is None
    mapped = BaselineConfig(models=(("churn", "churn-model"),), model="fallback")
    assert registered_model_for(plain, mapped) == "churn-model"
    assert registered_model_for(plain, BaselineConfig(model="fallback")) == "fallback"
    registered = resolve_candidates(refs(f"runs:/{CAND}/m"), runs, Config()).candidates
    assert registered_model_for(registered, mapped) == "fraud-model"


def test_no_production_model_is_a_normal_case_with_a_reason(runs: FakeRuns) -> None:
    runs.add_run(run("9" * 32, experiment="churn"))
    candidates = resolve_candidates(refs(f"runs:/{'9' * 32}/m"), runs, Config()).candidates
    baseline = find_baseline(candidates, runs, BaselineConfig())
    assert baseline.run is None and "no registered model" in (baseline.reason or "")


def test_explicit_run_kind_is_kept_for_bare_ids_given_on_purpose() -> None:
    ref = RunRef(RefKind.RUN, raw=CAND, run_id=CAND)
    assert ref.key == RunRef(RefKind.BARE_RUN_ID, raw=CAND, run_id=CAND).key
