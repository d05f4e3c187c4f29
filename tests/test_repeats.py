"""bot.review.repeats with the typed fakes: which runs count as repeats, and the cost."""

from __future__ import annotations

from bot.config.uncertainty import UncertaintyConfig
from bot.domain import RunSnapshot
from bot.review.repeats import gather
from tests.fakes import FakeRuns

PARENT = "p" * 32
COMMIT = "a" * 40


def _child(i: int, params: dict[str, str], value: float, parent: str = PARENT) -> RunSnapshot:
    tags = {"mlflow.parentRunId": parent, "mlflow.source.git.commit": COMMIT}
    return RunSnapshot(f"{i:032d}", "1", params=params, metrics={"acc": value}, tags=tags)


def _world(children: list[RunSnapshot]) -> tuple[FakeRuns, RunSnapshot]:
    runs = FakeRuns()
    parent = runs.add_run(
        RunSnapshot(PARENT, "1", metrics={"acc": 0.9}, tags={"mlflow.source.git.commit": COMMIT})
    )
    for child in children:
        runs.add_run(child)
    return runs, parent


def test_children_that_repeat_one_recipe_are_samples_labelled_by_seed() -> None:
    runs, parent = _world(
        [_child(i, {"depth": "3", "seed": str(i)}, 0.9 + i / 100) for i in range(4)]
    )
    found = gather(runs, [parent], ["candidate"], UncertaintyConfig())
    samples = found.runs[0].samples["acc"]
    assert sorted(samples.labels) == ["seed=0", "seed=1", "seed=2", "seed=3"]
    assert found.searches == 1 and runs.calls.count("related_runs") == 1
    assert found.notes == ("candidate `pppppppp`: up to 4 values per metric from child runs",)


def test_trials_of_a_hyperparameter_search_are_not_repeats() -> None:
    trials = [_child(i, {"depth": str(i), "seed": "0"}, 0.8 + i / 100) for i in range(5)]
    runs, parent = _world(trials)
    found = gather(runs, [parent], ["candidate"], UncertaintyConfig())
    assert found.runs[0].samples == {} and found.notes == ()


def test_fewer_than_three_repeats_or_no_search_at_all() -> None:
    runs, parent = _world([_child(i, {"seed": str(i)}, 0.9) for i in range(2)])
    assert gather(runs, [parent], ["candidate"], UncertaintyConfig()).runs[0].samples == {}
    off = gather(runs, [parent], ["candidate"], UncertaintyConfig(children=False))
    assert off.searches == 0 and runs.calls.count("related_runs") == 1


def test_with_vary_one_search_by_commit_finds_children_or_siblings() -> None:
    siblings = [
        RunSnapshot(
            f"{i:032d}",
            "1",
            params={"depth": "3", "seed": str(i)},
            metrics={"acc": 0.9},
            tags={"mlflow.source.git.commit": COMMIT},
        )
        for i in range(3)
    ]
    runs, _ = _world([])
    for run in siblings:
        runs.add_run(run)
    found = gather(runs, [siblings[0]], ["candidate"], UncertaintyConfig(vary=("seed",)))
    assert found.searches == 1 and len(found.runs[0].samples["acc"].values) == 3
    assert found.runs[0].samples["acc"].source == "repeats"


def test_children_far_from_the_runs_own_value_are_kept_apart() -> None:
    """Folds scored on their own validation folds measure something else than the
    run's own value (parent acc 0.9): they stay out of the samples, with a line."""
    folds = [_child(i, {"depth": "3", "fold": str(i)}, 0.70 + i / 1000) for i in range(5)]
    runs, parent = _world(folds)
    found = gather(runs, [parent], ["candidate"], UncertaintyConfig())
    assert found.runs[0].samples == {}
    assert found.notes == (
        "`pppppppp`: 5-fold CV: `acc` 0.702 ± 0.0016. Not used as repeats: the run's own "
        "values lie outside their spread, so they measure something else (e.g. each fold's "
        "own validation data); the run's own values are compared",
    )
    near = [_child(i, {"depth": "3", "seed": str(i)}, 0.88 + i / 100) for i in range(3)]
    runs, parent = _world(near)  # 0.9 is within 0.88..0.90
    assert "acc" in gather(runs, [parent], ["candidate"], UncertaintyConfig()).runs[0].samples
