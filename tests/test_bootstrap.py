"""bot.review.bootstrap against independent computations (scikit-learn metrics and
scipy's paired bootstrap) on fixed data."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from scipy import stats as sp
from sklearn import metrics as skm

from bot.config.uncertainty import EvalTableConfig, TableTask
from bot.review import bootstrap, paired, tables

CONFIG = EvalTableConfig(path="eval/t.json", label="y", score="p", id="id")


def _data(seed: int, n: int = 600) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    good = np.clip(y * 0.6 + 0.2 + rng.normal(0, 0.25, n), 0.001, 0.999)
    weak = np.clip(y * 0.3 + 0.35 + rng.normal(0, 0.25, n), 0.001, 0.999)
    return y, good, weak


def _json(ids: list[str], y: np.ndarray, p: np.ndarray) -> bytes:
    rows = [[i, int(a), float(b)] for i, a, b in zip(ids, y, p, strict=True)]
    return json.dumps({"columns": ["id", "y", "p"], "data": rows}).encode()


def _csv(ids: list[str], y: np.ndarray, p: np.ndarray) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "y", "p"])
    writer.writerows(zip(ids, y.tolist(), p.tolist(), strict=True))
    return out.getvalue().encode()


def test_point_differences_match_scikit_learn() -> None:
    y, good, weak = _data(1)
    ids = [f"r{i}" for i in range(len(y))]
    result = bootstrap.compare_tables(
        _json(ids, y, good), _json(ids[::-1], y[::-1], weak[::-1]), CONFIG
    )
    assert result.notes == ()
    pred_g, pred_w = good >= 0.5, weak >= 0.5
    expected = {
        "accuracy": skm.accuracy_score(y, pred_g) - skm.accuracy_score(y, pred_w),
        "precision": skm.precision_score(y, pred_g) - skm.precision_score(y, pred_w),
        "recall": skm.recall_score(y, pred_g) - skm.recall_score(y, pred_w),
        "f1": skm.f1_score(y, pred_g) - skm.f1_score(y, pred_w),
        "roc_auc": skm.roc_auc_score(y, good) - skm.roc_auc_score(y, weak),
        "log_loss": skm.log_loss(y, good) - skm.log_loss(y, weak),
    }
    assert {k: e.delta for k, e in result.estimates.items()} == pytest.approx(expected, abs=1e-12)
    methods = {k: e.method for k, e in result.estimates.items()}
    assert methods == {
        "accuracy": "McNemar mid-p",
        "roc_auc": "DeLong",
        **dict.fromkeys(("precision", "recall", "f1", "log_loss"), "paired bootstrap"),
    }
    assert all(e.rows == len(y) for e in result.estimates.values())


def test_auc_with_ties_matches_scikit_learn() -> None:
    y = np.array([0, 0, 1, 1, 0, 1, 1, 0, 1, 0])
    p = np.array([0.1, 0.5, 0.5, 0.9, 0.5, 0.3, 0.9, 0.1, 0.5, 0.3])
    q = np.full(10, 0.5)
    ids = [str(i) for i in range(10)]
    found = bootstrap.compare_tables(_json(ids, y, p), _json(ids, y, q), CONFIG).estimates
    assert found["roc_auc"].delta == pytest.approx(skm.roc_auc_score(y, p) - 0.5)


def test_interval_agrees_with_scipys_paired_bootstrap_and_is_deterministic() -> None:
    y, good, weak = _data(2)
    ids = [f"r{i}" for i in range(len(y))]
    cand, base = _json(ids, y, good), _json(ids, y, weak)
    found = bootstrap.compare_tables(cand, base, CONFIG).estimates["accuracy"]
    again = bootstrap.compare_tables(cand, base, CONFIG).estimates["accuracy"]
    assert found == again
    right_g, right_w = ((good >= 0.5) == y).astype(float), ((weak >= 0.5) == y).astype(float)
    ref = sp.bootstrap(
        (right_g, right_w),
        lambda a, b, axis: a.mean(axis=axis) - b.mean(axis=axis),
        paired=True,
        vectorized=True,
        n_resamples=4000,
        method="percentile",
        random_state=0,
    ).confidence_interval
    assert found.low == pytest.approx(ref.low, abs=0.012)
    assert found.high == pytest.approx(ref.high, abs=0.012)
    assert found.low > 0 and found.significant is False  # Holm decides later


def test_regression_tables_give_rmse_and_mae() -> None:
    rng = np.random.default_rng(3)
    y = rng.normal(10, 2, 300)
    near, far = y + rng.normal(0, 0.5, 300), y + rng.normal(0, 1.5, 300)
    ids = [str(i) for i in range(300)]
    config = EvalTableConfig(path="eval/t.csv", label="y", score="p", id="id")
    found = bootstrap.compare_tables(_csv(ids, y, near), _csv(ids, y, far), config).estimates
    assert set(found) == {"rmse", "mae"}
    rmse = np.sqrt(skm.mean_squared_error(y, near)) - np.sqrt(skm.mean_squared_error(y, far))
    assert found["rmse"].delta == pytest.approx(rmse)
    assert found["mae"].high < 0  # clearly better


def test_configured_metric_names_map_logged_keys() -> None:
    y, good, weak = _data(4, 100)
    ids = [str(i) for i in range(100)]
    config = EvalTableConfig("eval/t.json", "y", "p", "id", metrics=(("val_acc", "accuracy"),))
    found = bootstrap.compare_tables(_json(ids, y, good), _json(ids, y, weak), config).estimates
    assert set(found) == {"val_acc"}


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda ids, y, p: (ids[:-3], y[:-3], p[:-3]), "3 only in production"),
        (lambda ids, y, p: (ids, 1 - y, p), "labels differ"),
        (lambda ids, y, p: ([*ids[:-1], ids[0]], y, p), "ids repeat in the candidate"),
    ],
)
def test_different_data_is_refused_with_a_line(change, words: str) -> None:  # type: ignore[no-untyped-def]
    y, good, weak = _data(5, 50)
    ids = [str(i) for i in range(50)]
    result = bootstrap.compare_tables(_json(*change(ids, y, good)), _json(ids, y, weak), CONFIG)
    assert result.estimates == {}
    assert len(result.notes) == 1 and words in result.notes[0]
    assert result.notes[0].startswith("no bootstrap:")


def test_unreadable_tables_are_refused_not_raised() -> None:
    y, good, _ = _data(6, 20)
    ids = [str(i) for i in range(20)]
    good_table = _json(ids, y, good)
    for bad, words in [
        (b"not json", "not JSON"),
        (b'{"rows": []}', "not MLflow table JSON"),
        (json.dumps({"columns": ["id", "y"], "data": [["a", 1]]}).encode(), "no column `p`"),
        (
            json.dumps({"columns": ["id", "y", "p"], "data": [["a", 1, "x"]]}).encode(),
            "not numeric",
        ),
    ]:
        assert words in bootstrap.compare_tables(bad, good_table, CONFIG).notes[0]
    classify = EvalTableConfig("eval/t.json", "y", "p", "id", task=TableTask.CLASSIFICATION)
    three = _json(ids, np.where(np.arange(20) == 0, 2, y), good)
    assert "must be 0 or 1" in bootstrap.compare_tables(three, three, classify).notes[0]


def test_large_tables_use_a_fixed_sample_and_say_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tables, "MAX_ROWS", 250)
    monkeypatch.setattr(paired, "RESAMPLES", 200)
    y, good, weak = _data(7, 1000)
    ids = [f"r{i}" for i in range(1000)]
    first = bootstrap.compare_tables(_json(ids, y, good), _json(ids, y, weak), CONFIG)
    second = bootstrap.compare_tables(_json(ids, y, good), _json(ids, y, weak), CONFIG)
    assert first == second
    assert first.notes == ("the comparison uses a fixed sample of 250 of 1,000 rows",)
    assert first.estimates["accuracy"].rows == 250
    # the same 250 rows whatever the order of either table
    shuffled = np.random.default_rng(8).permutation(1000)
    ids_s = [ids[i] for i in shuffled]
    third = bootstrap.compare_tables(
        _json(ids_s, y[shuffled], good[shuffled]), _json(ids, y, weak), CONFIG
    )
    assert third == first
