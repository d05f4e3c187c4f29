"""bot.review.noise and its use in bot.review.diff: shown values, pairing, Holm."""

from __future__ import annotations

from dataclasses import replace

import pytest
from scipy import stats as sp

from bot.config.schema import MetricsConfig
from bot.domain import Change, Estimate, RunSnapshot, Samples
from bot.review import noise
from bot.review.diff import metric_rows
from bot.review.verdict import verdict_line

CAND = (0.884, 0.879, 0.891, 0.886, 0.881)
PROD = (0.871, 0.874, 0.869, 0.877, 0.866)
SEEDS = tuple(f"seed={i}" for i in range(5))


def _run(rid: str, logged: float | None, samples: tuple[float, ...] = (), labels=()) -> RunSnapshot:  # type: ignore[no-untyped-def]
    metrics = {"acc": logged} if logged is not None else {}
    found = {"acc": Samples(samples, labels, "child runs")} if samples else {}
    return RunSnapshot(rid * 32, "1", metrics=metrics, samples=found)


def test_shown_value_is_the_mean_and_the_logged_value_is_noted_when_it_differs() -> None:
    s = noise.shown(_run("a", 0.88, CAND), "acc")
    assert s.value == pytest.approx(sum(CAND) / 5) and s.logged == 0.88
    assert s.spread is not None and s.spread.n == 5
    same = noise.shown(_run("a", sum(CAND) / 5, CAND), "acc")
    assert same.logged is None


def test_fewer_than_three_finite_samples_mean_todays_single_value() -> None:
    s = noise.shown(_run("a", 0.88, (0.9, float("nan"), 0.91)), "acc")
    assert (s.value, s.spread, s.samples) == (0.88, None, None)


def test_same_labels_pair_and_other_labels_fall_back_to_welch() -> None:
    cand = noise.shown(_run("a", None, CAND, SEEDS), "acc")
    prod = noise.shown(_run("b", None, PROD[::-1], SEEDS[::-1]), "acc")
    paired = noise.estimate(cand, prod)
    assert paired is not None and paired.method == "paired t"
    ref = sp.ttest_rel(CAND, PROD)
    assert paired.p_value == pytest.approx(ref.pvalue)
    other = noise.shown(_run("b", None, PROD, tuple(f"fold={i}" for i in range(5))), "acc")
    welch = noise.estimate(cand, other)
    assert welch is not None and welch.method == "Welch t"
    assert welch.p_value == pytest.approx(sp.ttest_ind(CAND, PROD, equal_var=False).pvalue)


def test_one_side_with_samples_judges_the_other_single_value() -> None:
    cand = noise.shown(_run("a", None, CAND), "acc")
    est = noise.estimate(cand, noise.shown(_run("b", 0.87), "acc"))
    assert est is not None and est.method == "one-sample t"
    assert est.p_value == pytest.approx(sp.ttest_1samp(CAND, 0.87).pvalue)
    assert (
        noise.estimate(noise.shown(_run("a", 0.9), "acc"), noise.shown(_run("b", 0.8), "acc"))
        is None
    )


def test_holm_decides_significance_across_the_review() -> None:
    found = {
        k: Estimate(0.1, 0.01, 0.2, p, "paired t")
        for k, p in zip("abc", (0.01, 0.02, 0.04), strict=True)
    }
    marked = noise.with_holm(found)
    # 0.01 <= 0.05/3, 0.02 <= 0.05/2, 0.04 <= 0.05/1: all rejected in sequence
    assert [marked[k].significant for k in "abc"] == [True, True, True]
    found["d"] = Estimate(0.1, -0.01, 0.2, 0.3, "paired t")
    marked = noise.with_holm(found)
    # with four tests 0.02 > 0.05/3 stops the step-down
    assert [marked[k].significant for k in "abcd"] == [True, False, False, False]


def test_many_borderline_metrics_raise_no_false_alarm() -> None:
    # twenty metrics, each with a difference that alone is "significant" (p < 0.05);
    # Holm's correction across the review's twenty comparisons keeps all within noise
    keys = [f"m{i:02d}" for i in range(20)]
    diffs = (0.006, 0.014, 0.006, 0.014, 0.01)
    cand_values = tuple(v + d for v, d in zip(PROD, diffs, strict=True))
    p_alone = sp.ttest_rel(cand_values, PROD).pvalue
    assert 0.05 / 20 < p_alone < 0.05
    cand = RunSnapshot("a" * 32, "1", samples={k: Samples(cand_values, SEEDS) for k in keys})
    prod = RunSnapshot("b" * 32, "1", samples={k: Samples(PROD, SEEDS) for k in keys})
    rows = metric_rows([cand], prod, MetricsConfig())
    assert all(r.cells[0].estimate is not None for r in rows)
    assert {r.cells[0].change for r in rows} == {Change.NOISE}
    assert verdict_line(rows, True, 1) == "20 metrics within noise (not significant)"
    alone = metric_rows(
        [cand],
        replace(prod, samples={"m00": Samples(PROD, SEEDS)}),
        MetricsConfig(include=("m00",)),
    )
    assert alone[0].cells[0].change is Change.BETTER  # one comparison: significant


def test_a_significant_regression_beyond_threshold_is_flagged_and_sorted_first() -> None:
    cand = _run("a", None, tuple(v - 0.05 for v in PROD), SEEDS)
    prod = _run("b", None, PROD, SEEDS)
    rows = metric_rows([cand], prod, MetricsConfig())
    assert rows[0].cells[0].change is Change.REGRESSION
    assert rows[0].cells[0].estimate is not None and rows[0].cells[0].estimate.significant
