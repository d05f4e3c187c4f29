"""bot.plots.charts: the training curves (inspected as matplotlib objects) and their PNG bytes."""

from __future__ import annotations

import math
import subprocess
import sys
from collections.abc import Sequence
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.colors import to_hex

from bot.domain import (
    Role,
    RunSnapshot,
)
from bot.plots import charts as plots
from bot.plots import figures
from bot.plots.charts import bucket_minmax, choose_curves, training_curves
from bot.plots.figures import CANDIDATE_COLOURS, PRODUCTION_COLOUR
from tests.plot_helpers import pixels, png_size

NAN = float("nan")
INF = float("inf")


# --- training curves -------------------------------------------------------------

LABELS = {"cand": "candidate", "prod": "production"}


def history(n: int, scale: float = 1.0, spike_at: int | None = None) -> list[tuple[int, float]]:
    points = [(s, scale * (1.0 + math.sin(s / 50) * 0.1 + 1.0 / (1 + s))) for s in range(n)]
    if spike_at is not None:
        points[spike_at] = (spike_at, 100.0 * scale)
    return points


def test_training_curves_one_image_per_metric_with_unique_names() -> None:
    series = {"prod": history(200), "cand": history(200, 0.9)}
    images = training_curves(
        {"val/loss": series, "val_loss": series, "acc": series}, LABELS, "prod"
    )

    assert [i.name for i in images] == [
        "curve-val_loss.png",
        "curve-val_loss-2.png",
        "curve-acc.png",
    ]
    assert [i.primary for i in images] == [True, True, False]
    assert {i.group for i in images} == {"curves"}
    assert images[0].title == "val/loss"
    for image in images:
        assert png_size(image.png) == pixels(figures.CURVE_SIZE)
        assert len(image.png) < 150_000


def test_production_is_dashed_in_its_colour_and_candidates_keep_theirs() -> None:
    labels = {"c1": "first", "c2": "second", "prod": "production"}
    # the first candidate has no history here: the second still gets the second colour
    series = {"c2": history(50), "prod": history(50, 2.0)}
    fig = plots._figure_for_curve("loss", plots._lines(series, labels, "prod", 1000), {})
    [ax] = fig.axes

    production, second = ax.get_lines()
    assert to_hex(production.get_color()) == PRODUCTION_COLOUR.lower()
    assert production.get_linestyle() == "--"
    assert to_hex(second.get_color()) == CANDIDATE_COLOURS[1].lower()
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["production", "second"]
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("step", "loss", "loss")


def test_unlabelled_runs_are_drawn_with_a_short_id() -> None:
    series = {"0123456789abcdef": history(20)}
    fig = plots._figure_for_curve("loss", plots._lines(series, {}, None, 1000), {})

    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["01234567"]


def test_non_finite_points_are_skipped() -> None:
    series = {"cand": [(0, 1.0), (1, NAN), (2, INF), (3, 0.5)], "prod": [(0, NAN)]}
    lines = plots._lines(series, LABELS, "prod", 1000)
    fig = plots._figure_for_curve("loss", lines, {})

    [line] = fig.axes[0].get_lines()
    assert list(line.get_xdata()) == [0, 3]
    assert list(line.get_ydata()) == [1.0, 0.5]
    assert training_curves({"broken": {"cand": [(0, NAN)]}}, LABELS, "prod") == []


def test_long_histories_are_capped_and_keep_their_spikes() -> None:
    series = {"cand": history(20_000, spike_at=12_345), "prod": history(20_000)}
    fig = plots._figure_for_curve("loss", plots._lines(series, LABELS, "prod", 400), {})

    production, candidate = fig.axes[0].get_lines()
    assert len(production.get_xdata()) <= 400
    assert len(candidate.get_xdata()) <= 400
    assert max(candidate.get_ydata()) == 100.0
    assert 12_345 in list(candidate.get_xdata())


@pytest.mark.parametrize(
    ("values", "scale"),
    [
        ([1e-4, 1.0], "log"),
        ([0.5, 1.0], "linear"),
        ([-1e-4, 10.0], "linear"),
        ([0.0, 5000.0], "linear"),
    ],
)
def test_log_scale_only_for_wide_positive_ranges(values: list[float], scale: str) -> None:
    series = {"cand": list(enumerate(values))}
    fig = plots._figure_for_curve("lr", plots._lines(series, LABELS, None, 1000), {})

    assert fig.axes[0].get_yscale() == scale


def test_curves_are_deterministic() -> None:
    series = {"prod": history(300), "cand": history(300, 0.8)}
    first = training_curves({"loss": series}, LABELS, "prod")
    again = training_curves({"loss": dict(series)}, dict(LABELS), "prod")

    assert first[0].png == again[0].png


# --- bucket_minmax ----------------------------------------------------------------

point_lists = st.lists(
    st.tuples(
        st.integers(min_value=-1_000, max_value=1_000_000),
        st.floats(allow_nan=False, allow_infinity=False, width=32),
    ),
    max_size=600,
)


@settings(max_examples=300, deadline=None)
@given(points=point_lists, max_points=st.integers(min_value=4, max_value=200))
def test_bucket_minmax_properties(points: list[tuple[int, float]], max_points: int) -> None:
    out = bucket_minmax(points, max_points)
    ordered = sorted(points, key=lambda p: p[0])

    assert len(out) <= max_points
    assert [s for s, _ in out] == sorted(s for s, _ in out)
    if points:
        assert out[0] == ordered[0]
        assert out[-1] == ordered[-1]
        assert min(v for _, v in out) == min(v for _, v in points)
        assert max(v for _, v in out) == max(v for _, v in points)
    assert is_subsequence(out, ordered)


@settings(max_examples=200, deadline=None)
@given(
    steps=st.sets(st.integers(min_value=0, max_value=10**9), max_size=500),
    max_points=st.integers(min_value=4, max_value=100),
)
def test_bucket_minmax_keeps_steps_strictly_increasing(steps: set[int], max_points: int) -> None:
    out = bucket_minmax([(s, float(s % 7)) for s in steps], max_points)

    assert all(a[0] < b[0] for a, b in pairwise(out))


def is_subsequence(part: Sequence[tuple[int, float]], whole: Sequence[tuple[int, float]]) -> bool:
    it = iter(whole)
    return all(any(p == w for w in it) for p in part)


def test_bucket_minmax_keeps_a_single_spike_in_a_long_history() -> None:
    points = [(s, 1.0 + (s % 10) * 0.01) for s in range(100_000)]
    points[54_321] = (54_321, 50.0)
    points[77_777] = (77_777, -50.0)
    out = bucket_minmax(points, 1000)

    assert len(out) <= 1000
    assert (54_321, 50.0) in out
    assert (77_777, -50.0) in out


def test_bucket_minmax_short_input_is_sorted_and_clean() -> None:
    points = [(3, 0.3), (1, NAN), (2, INF), (0, 0.0)]

    assert bucket_minmax(points, 1000) == [(0, 0.0), (3, 0.3)]
    assert bucket_minmax([], 10) == []


def test_bucket_minmax_of_one_repeated_step() -> None:
    points = [(0, float(v % 13)) for v in range(500)]
    out = bucket_minmax(points, 8)

    assert out[0] == (0, 0.0)
    assert out[-1] == points[-1]
    assert {v for _, v in out} >= {0.0, 12.0}
    assert len(out) <= 8


def test_bucket_minmax_refuses_budgets_below_four() -> None:
    with pytest.raises(ValueError, match="at least 4"):
        bucket_minmax([(0, 1.0)], 3)


# --- choose_curves ---------------------------------------------------------------


def snapshot(run_id: str, steps: dict[str, int]) -> RunSnapshot:
    return RunSnapshot(run_id, "1", metrics=dict.fromkeys(steps, 0.5), metric_steps=steps)


RUNS = [
    snapshot("a", {"loss": 99, "acc": 99, "lr": 0, "f1": 10}),
    snapshot("b", {"val_loss": 500, "loss": 20, "f1": 40}),
]


def test_choose_curves_by_last_step_then_name() -> None:
    assert choose_curves(RUNS, [], 10) == ["val_loss", "acc", "loss", "f1"]
    assert choose_curves(RUNS, [], 2) == ["val_loss", "acc"]
    assert choose_curves(RUNS, [], 0) == []


def test_choose_curves_prefers_the_configured_names_in_their_order() -> None:
    assert choose_curves(RUNS, ["f1", "missing", "lr"], 4) == ["f1", "lr"]
    assert choose_curves(RUNS, ["*loss"], 4) == ["loss", "val_loss"]
    assert choose_curves(RUNS, ["f1", "acc", "loss"], 2) == ["f1", "acc"]


def test_choose_curves_puts_evaluation_sets_before_the_training_set() -> None:
    runs = [snapshot("a", {"valid_0-l2": 300, "valid_1-l2": 120, "best_iteration": 0,
                           "stopped_iteration": 300})]  # fmt: skip
    roles = {"valid_0-l2": Role.TRAINING, "stopped_iteration": Role.INFORMATIONAL}
    assert choose_curves(runs, [], 4, roles) == ["valid_1-l2", "valid_0-l2"]
    assert choose_curves(runs, [], 4) == ["stopped_iteration", "valid_0-l2", "valid_1-l2"]


def test_a_mark_at_each_run_s_best_iteration_and_a_log_axis_over_decades() -> None:
    series = {"cand": [(0, 1.0), (50, 1e-3), (99, 2e-15)], "prod": [(0, 1.0), (99, 0.5)]}
    lines = plots._lines(series, LABELS, "prod", 1000)
    fig = plots._figure_for_curve("valid_0-l2", lines, {"cand": 50.0})
    labels = [ln.get_label() for ln in fig.axes[0].get_lines()]
    assert any(label.endswith(": best iteration") for label in labels)
    marked = [ln for ln in fig.axes[0].get_lines() if ln.get_label().endswith("best iteration")]
    assert list(marked[0].get_xdata()) == [50.0, 50.0]
    assert fig.axes[0].get_yscale() == "log"
    plain = plots._figure_for_curve("valid_0-l2", lines, {})
    assert not any("best iteration" in ln.get_label() for ln in plain.axes[0].get_lines())


def test_choose_curves_falls_back_when_no_configured_name_was_logged() -> None:
    assert choose_curves(RUNS, ["missing"], 1) == ["val_loss"]


# --- import cost ---------------------------------------------------------------------


def test_importing_the_figure_modules_does_not_import_matplotlib() -> None:
    heavy = "('matplotlib', 'numpy', 'PIL')"
    modules = "bot.plots.figures, bot.plots.artifacts, bot.plots.charts"
    code = f"import sys, {modules}; print([m for m in sys.modules if m.startswith({heavy})])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert out.stdout.strip() == "[]"
