"""bot.review.paired against reference computations written here in plain Python (no
scipy, no statsmodels) on fixed data: DeLong's variance from the pairwise placements,
McNemar's exact and mid-p values from binomial sums, and the paired bootstrap redrawn
row by row with the same seed."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest

from bot.review import paired

Z = NormalDist().inv_cdf(0.975)


def _data(seed: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n).astype(float)
    good = np.round(np.clip(y * 0.5 + 0.25 + rng.normal(0, 0.2, n), 0.01, 0.99), 2)  # ties
    weak = np.round(np.clip(y * 0.3 + 0.35 + rng.normal(0, 0.2, n), 0.01, 0.99), 2)
    return y, good, weak


# --- DeLong -------------------------------------------------------------------------------


def _placements(y: list[float], s: list[float]) -> tuple[float, list[float], list[float]]:
    pos = [v for v, label in zip(s, y, strict=True) if label == 1]
    neg = [v for v, label in zip(s, y, strict=True) if label == 0]

    def psi(a: float, b: float) -> float:
        return 1.0 if a > b else 0.5 if a == b else 0.0

    v10 = [sum(psi(x, w) for w in neg) / len(neg) for x in pos]
    v01 = [sum(psi(x, w) for x in pos) / len(pos) for w in neg]
    return sum(v10) / len(pos), v10, v01


def _var(values: list[float]) -> float:
    mean = sum(values) / len(values)
    return sum((v - mean) ** 2 for v in values) / (len(values) - 1)


def test_delong_matches_the_pairwise_definition() -> None:
    y, good, weak = _data(1, 171)
    auc_g, v10_g, v01_g = _placements(y.tolist(), good.tolist())
    auc_w, v10_w, v01_w = _placements(y.tolist(), weak.tolist())
    m, n = len(v10_g), len(v01_g)
    variance = (
        _var([a - b for a, b in zip(v10_g, v10_w, strict=True)]) / m
        + _var([a - b for a, b in zip(v01_g, v01_w, strict=True)]) / n
    )
    found = paired.delong(y, good, weak)
    assert found is not None
    delta = auc_g - auc_w
    assert found.delta == pytest.approx(delta, abs=1e-12)
    assert found.low == pytest.approx(delta - Z * math.sqrt(variance), abs=1e-12)
    assert found.high == pytest.approx(delta + Z * math.sqrt(variance), abs=1e-12)
    p = 2 * (1 - NormalDist().cdf(abs(delta) / math.sqrt(variance)))
    assert found.p_value == pytest.approx(p, abs=1e-9)
    assert found.method == "DeLong" and found.rows == 171


def test_midranks_share_tied_ranks() -> None:
    assert paired.midranks(np.array([3.0, 1.0, 3.0, 2.0])).tolist() == [3.5, 1.0, 3.5, 2.0]


def test_delong_needs_two_of_each_class() -> None:
    y = np.array([1.0, 0.0, 0.0, 0.0])
    assert paired.delong(y, np.array([0.9, 0.1, 0.2, 0.3]), np.full(4, 0.5)) is None


def test_the_same_scores_give_an_exact_zero() -> None:
    y, good, _ = _data(2, 50)
    found = paired.delong(y, good, good)
    assert found is not None and (found.delta, found.low, found.high, found.p_value) == (
        0,
        0,
        0,
        1.0,
    )


# --- McNemar ------------------------------------------------------------------------------


def _binomial_reference(b: int, c: int) -> tuple[float, float]:
    n, k = b + c, min(b, c)
    pmf = [math.comb(n, i) / 2**n for i in range(k + 1)]
    exact = min(1.0, 2 * sum(pmf))
    mid = min(1.0, 2 * (sum(pmf) - pmf[k] / 2))
    return exact, mid


@pytest.mark.parametrize(("b", "c"), [(12, 3), (3, 12), (7, 7), (0, 5), (40, 25), (1, 0)])
def test_mcnemar_exact_and_mid_p(b: int, c: int) -> None:
    exact, mid = _binomial_reference(b, c)
    assert paired.mcnemar_p(b, c, mid=False) == pytest.approx(exact, rel=1e-10)
    assert paired.mcnemar_p(b, c) == pytest.approx(mid, rel=1e-10)


def test_mcnemar_counts_the_discordant_rows() -> None:
    y = np.array([1, 1, 1, 0, 0, 0, 1, 0, 1, 0] * 10, dtype=float)
    cand = np.where(np.arange(100) % 7 == 0, 1 - y, y)  # wrong on every 7th row
    base = np.where(np.arange(100) % 3 == 0, 1 - y, y)  # wrong on every 3rd row
    right_c, right_b = cand == y, base == y
    b, c = int((right_c & ~right_b).sum()), int((~right_c & right_b).sum())
    found = paired.mcnemar(y, cand, base, 0.5)
    assert found.delta == pytest.approx((b - c) / 100)
    se = math.sqrt(b + c - (b - c) ** 2 / 100) / 100
    assert (found.low, found.high) == pytest.approx(
        ((b - c) / 100 - Z * se, (b - c) / 100 + Z * se)
    )
    assert found.p_value == pytest.approx(_binomial_reference(b, c)[1])
    assert found.method == "McNemar mid-p"


# --- paired bootstrap -----------------------------------------------------------------------


def _percentile_interval(diffs: list[float]) -> tuple[float, float]:
    ordered = sorted(diffs)

    def at(q: float) -> float:  # numpy's default ("linear") percentile
        pos = q * (len(ordered) - 1)
        lo = math.floor(pos)
        hi = min(lo + 1, len(ordered) - 1)
        return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)

    return at(0.025), at(0.975)


def _log_loss(y: list[float], p: list[float]) -> float:
    return -sum(
        a * math.log(min(max(b, 1e-15), 1 - 1e-15))
        + (1 - a) * math.log(1 - min(max(b, 1e-15), 1 - 1e-15))
        for a, b in zip(y, p, strict=True)
    ) / len(y)


def test_log_loss_bootstrap_redraws_rows_with_the_fixed_seed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(paired, "RESAMPLES", 200)
    monkeypatch.setattr(paired, "BATCH_CELLS", 1000)  # several batches
    y, good, weak = _data(3, 120)
    rng = np.random.Generator(np.random.SFC64(paired.SEED))
    diffs = []
    for _ in range(200):
        idx = rng.integers(0, 120, 120, dtype=np.int32).tolist()
        ys, gs, ws = ([v[i] for i in idx] for v in (y.tolist(), good.tolist(), weak.tolist()))
        diffs.append(_log_loss(ys, gs) - _log_loss(ys, ws))
    low, high = _percentile_interval(diffs)
    found = paired.bootstrap(y, good, weak, ["log_loss"], paired.Task(True))["log_loss"]
    assert found.delta == pytest.approx(
        _log_loss(y.tolist(), good.tolist()) - _log_loss(y.tolist(), weak.tolist())
    )
    assert (found.low, found.high) == pytest.approx((low, high), abs=1e-12)
    assert found.method == "paired bootstrap" and found.rows == 120


def test_regression_bootstrap_redraws_rows_with_the_fixed_seed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(paired, "RESAMPLES", 150)
    rng0 = np.random.default_rng(4)
    y = rng0.normal(10, 2, 90)
    near, far = y + rng0.normal(0, 0.5, 90), y + rng0.normal(0, 1.2, 90)
    rng = np.random.Generator(np.random.SFC64(paired.SEED))
    rmse, mae = [], []
    for _ in range(150):
        idx = rng.integers(0, 90, 90, dtype=np.int32).tolist()
        ys, ns, fs = ([v[i] for i in idx] for v in (y.tolist(), near.tolist(), far.tolist()))
        rmse.append(
            math.sqrt(sum((a - b) ** 2 for a, b in zip(ns, ys, strict=True)) / 90)
            - math.sqrt(sum((a - b) ** 2 for a, b in zip(fs, ys, strict=True)) / 90)
        )
        mae.append(
            sum(abs(a - b) for a, b in zip(ns, ys, strict=True)) / 90
            - sum(abs(a - b) for a, b in zip(fs, ys, strict=True)) / 90
        )
    found = paired.bootstrap(y, near, far, ["rmse", "mae"], paired.Task(False))
    assert (found["rmse"].low, found["rmse"].high) == pytest.approx(
        _percentile_interval(rmse), abs=1e-9
    )
    assert (found["mae"].low, found["mae"].high) == pytest.approx(
        _percentile_interval(mae), abs=1e-9
    )


def test_counted_metrics_resample_the_cells_as_rows_would(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """precision/recall/f1 draw the 8 cells' counts at once; the interval agrees with a
    row-by-row bootstrap of the same rows (a statistical check, 4,000 resamples each)."""
    monkeypatch.setattr(paired, "RESAMPLES", 4000)
    y, good, weak = _data(5, 400)
    found = paired.bootstrap(y, good, weak, ["precision", "recall", "f1"], paired.Task(True))
    rng = np.random.default_rng(0)
    ref: dict[str, list[float]] = {"precision": [], "recall": [], "f1": []}
    for _ in range(4000):
        idx = rng.integers(0, 400, 400)
        ys, gs, ws = y[idx], good[idx] >= 0.5, weak[idx] >= 0.5
        for name, fn in (("precision", _precision), ("recall", _recall), ("f1", _f1)):
            ref[name].append(fn(ys, gs) - fn(ys, ws))
    for name, values in ref.items():
        low, high = _percentile_interval(values)
        assert found[name].low == pytest.approx(low, abs=0.01)
        assert found[name].high == pytest.approx(high, abs=0.01)
    pred_g, pred_w = good >= 0.5, weak >= 0.5
    assert found["f1"].delta == pytest.approx(_f1(y, pred_g) - _f1(y, pred_w))


def _precision(y: np.ndarray, pred: np.ndarray) -> float:
    return float((pred & (y == 1)).sum() / pred.sum())


def _recall(y: np.ndarray, pred: np.ndarray) -> float:
    return float((pred & (y == 1)).sum() / (y == 1).sum())


def _f1(y: np.ndarray, pred: np.ndarray) -> float:
    tp = float((pred & (y == 1)).sum())
    return 2 * tp / (2 * tp + float((pred & (y == 0)).sum()) + float((~pred & (y == 1)).sum()))


def test_compare_gives_each_metric_its_method_and_is_deterministic() -> None:
    y, good, weak = _data(6, 300)
    names = list(paired.CLASSIFICATION)
    first = paired.compare(y, good, weak, names, paired.Task(True))
    assert first == paired.compare(y, good, weak, names, paired.Task(True))
    assert {k: e.method for k, e in first.items()} == {
        "accuracy": "McNemar mid-p",
        "roc_auc": "DeLong",
        "precision": "paired bootstrap",
        "recall": "paired bootstrap",
        "f1": "paired bootstrap",
        "log_loss": "paired bootstrap",
    }
