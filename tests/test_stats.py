"""bot.review.stats against scipy (an independent implementation) on fixed data."""

from __future__ import annotations

import math

import pytest
from scipy import stats as sp

from bot.review import stats

CANDIDATE = [0.884, 0.879, 0.891, 0.886, 0.881]
PRODUCTION = [0.871, 0.874, 0.869, 0.877, 0.866]


@pytest.mark.parametrize("df", [1, 2, 3, 4, 7.5, 10, 29, 100, 1000])
@pytest.mark.parametrize("p", [0.5, 0.6, 0.9, 0.95, 0.975, 0.995, 0.9995])
def test_t_quantile_matches_scipy(df: float, p: float) -> None:
    assert stats.t_quantile(p, df) == pytest.approx(sp.t.ppf(p, df), rel=1e-9, abs=1e-12)
    assert stats.t_quantile(1 - p, df) == pytest.approx(sp.t.ppf(1 - p, df), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("df", [1, 2.5, 4, 30, 500])
@pytest.mark.parametrize("t", [-40.0, -3.2, -1.0, 0.0, 0.3, 2.0, 12.0])
def test_t_cdf_matches_scipy(df: float, t: float) -> None:
    assert stats.t_cdf(t, df) == pytest.approx(sp.t.cdf(t, df), rel=1e-9, abs=1e-15)


def test_spread_is_the_95_percent_t_interval() -> None:
    found = stats.spread(CANDIDATE)
    assert found is not None and found.n == 5
    low, high = sp.t.interval(0.95, 4, loc=sp.tmean(CANDIDATE), scale=sp.sem(CANDIDATE))
    assert found.mean == pytest.approx(sum(CANDIDATE) / 5)
    assert found.half_width == pytest.approx((high - low) / 2, rel=1e-9)
    assert stats.spread(CANDIDATE[:2]) is None


def test_paired_matches_scipy_ttest_rel() -> None:
    est = stats.paired(CANDIDATE, PRODUCTION)
    ref = sp.ttest_rel(CANDIDATE, PRODUCTION)
    ci = ref.confidence_interval(0.95)
    assert est.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert (est.low, est.high) == pytest.approx((ci.low, ci.high), rel=1e-9)
    assert est.method == "paired t"


def test_welch_matches_scipy_ttest_ind() -> None:
    production = [*PRODUCTION, 0.880, 0.862]
    est = stats.welch(CANDIDATE, production)
    ref = sp.ttest_ind(CANDIDATE, production, equal_var=False)
    ci = ref.confidence_interval(0.95)
    assert est.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert (est.low, est.high) == pytest.approx((ci.low, ci.high), rel=1e-9)


def test_one_sample_matches_scipy_and_keeps_the_sign_candidate_minus_production() -> None:
    ref = sp.ttest_1samp(CANDIDATE, 0.871)
    ci = ref.confidence_interval(0.95)
    est = stats.one_sample(CANDIDATE, 0.871, samples_are_candidate=True)
    assert est.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert (est.low, est.high) == pytest.approx((ci.low - 0.871, ci.high - 0.871), rel=1e-9)
    flipped = stats.one_sample(PRODUCTION, 0.884, samples_are_candidate=False)
    assert flipped.delta == pytest.approx(0.884 - sum(PRODUCTION) / 5)
    assert flipped.low < flipped.delta < flipped.high


def test_zero_spread_is_certain_either_way() -> None:
    same = stats.paired([1.0, 1.0, 1.0], [1.0, 1.0, 1.0])
    assert (same.delta, same.p_value) == (0.0, 1.0)
    shifted = stats.paired([1.5, 2.5, 3.5], [1.0, 2.0, 3.0])
    assert shifted.p_value == 0.0 and shifted.low == shifted.high == 0.5


def test_holm_matches_an_independent_step_down() -> None:
    p_values = [0.01, 0.04, 0.03, 0.005, 0.2, 0.0125]
    # Holm-adjusted p-values: running max of (m - rank) * p in ascending order
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted, running = [0.0] * len(p_values), 0.0
    for rank, i in enumerate(order):
        running = max(running, (len(p_values) - rank) * p_values[i])
        adjusted[i] = min(1.0, running)
    assert stats.holm(p_values) == [a <= 0.05 for a in adjusted]
    assert stats.holm(p_values) == [True, False, False, True, False, True]
    assert stats.holm([]) == []


def test_a_p_value_of_exactly_the_level_is_rejected_and_nan_t_is_not() -> None:
    assert stats.holm([0.05]) == [True]
    assert stats.two_sided_p(math.nan, 3) == 1.0
