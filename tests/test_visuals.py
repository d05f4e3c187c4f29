"""Plots of a review from a real MLflow server: few requests, bounded points."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import pytest
from mlflow.tracking import MlflowClient
from mlflow_helpers import make_run, register, unique_name

from bot.config.schema import BaselineConfig, Config, PlotsConfig
from bot.domain import PlotImage
from bot.plots import artifacts as artifact_plots
from bot.plots import charts as plots
from bot.plots.gather import FETCH_POINTS, MAX_POINTS, draw_plots
from bot.review.pipeline import ReviewRequest, build_review
from bot.tracking.client import MlflowRuns
from tests.fakes import FakeImages

STEPS = 100_000


def _wavy(n: int, spike_at: int, width: int) -> list[float]:
    values = [1.0 / (1 + i / 1000) + 0.01 * math.sin(i / 50) for i in range(n)]
    for i in range(spike_at, spike_at + width):
        values[i] = 5.0  # a divergence a reviewer must see
    return values


@pytest.mark.slow
def test_a_100k_step_history_is_fetched_in_one_request_and_drawn_bounded(
    mlflow_client: MlflowClient, mlflow_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    experiment, model = unique_name("long"), unique_name("long-model")
    # production: 2,500 steps come back whole, and a one-step spike must survive our own
    # min/max-preserving downsampling to 1,000 points; candidate: 100k steps come back
    # sampled by the server (every ~40th step), so a divergence of 200 steps survives.
    production = make_run(mlflow_client, experiment, history={"loss": _wavy(2_500, 1_234, 1)})
    candidate = make_run(mlflow_client, experiment, history={"loss": _wavy(STEPS, 77_777, 200)})
    register(mlflow_client, model, production, aliases=["production"])
    register(mlflow_client, model, candidate)

    drawn: list[int] = []
    real_figure = plots._figure_for_curve

    def spy(key: str, lines: Sequence[plots._Line], marks: Mapping[str, float]) -> object:
        drawn.extend(len(line.points) for line in lines)
        assert all(max(v for _, v in line.points) == 5.0 for line in lines)  # spikes kept
        return real_figure(key, lines, marks)

    monkeypatch.setattr(plots, "_figure_for_curve", spy)
    runs = MlflowRuns(mlflow_server)
    config = Config(plots=PlotsConfig(curves=("loss",), images=()))
    report = build_review(ReviewRequest(refs=[]), runs, config)  # warm: lists experiments
    report = build_review(ReviewRequest(texts=[f"runs:/{candidate}/m"]), runs, config)
    before = runs.request_count
    images: list[PlotImage] = draw_plots(report, runs, config.plots)

    assert runs.request_count - before == 1  # one bulk-interval request for both runs
    assert [i.name for i in images if i.group == "curves"] == ["curve-loss.png"]
    assert len(drawn) == 2 and all(n <= MAX_POINTS for n in drawn)
    assert MAX_POINTS < FETCH_POINTS


def test_plots_reach_the_image_host_and_the_report(
    mlflow_client: MlflowClient, mlflow_server: str
) -> None:
    experiment, model = unique_name("plots"), unique_name("plots-model")
    png = artifact_plots.side_by_side("x", None, None, "a", "b")  # nothing to draw: None
    assert png is None
    production = make_run(
        mlflow_client, experiment, metrics={"acc": 0.8}, history={"loss": [1.0, 0.5, 0.4]}
    )
    candidate = make_run(
        mlflow_client, experiment, metrics={"acc": 0.9}, history={"loss": [1.0, 0.4, 0.3]}
    )
    register(mlflow_client, model, production, aliases=["production"])
    images = FakeImages()
    report = build_review(
        ReviewRequest(texts=[f"runs:/{candidate}/m"]),
        MlflowRuns(mlflow_server),
        Config(baseline=BaselineConfig(model=model)),
        images,
    )
    assert report.baseline.run is not None  # the metrics chart shows changes against it
    names = [i.name for i in report.images]
    assert names[0] == "metrics.png" and "curve-loss.png" in names
    assert all(i.url.startswith(images.base_url) for i in report.images)
    assert all(p.png.startswith(b"\x89PNG") for p in images.published)
