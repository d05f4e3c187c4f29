"""The plot cache in the bot's state: reuse when nothing drawn changed, else redraw."""

from __future__ import annotations

from dataclasses import replace

from bot.config.schema import PlotsConfig
from bot.domain import Baseline, Candidate, HostedImage, ReviewReport, RunSnapshot
from bot.handlers.plotcache import EXTRA_KEY, cached_images, plots_key, remember
from bot.handlers.state import BotState, decode_state, encode_state

RUN = RunSnapshot(
    run_id="c" * 32, experiment_id="1", metrics={"loss": 0.3}, metric_steps={"loss": 99}
)
PROD = RunSnapshot(run_id="a" * 32, experiment_id="1", metrics={"loss": 0.4})
IMAGES = (
    HostedImage(name="metrics.png", title="Metrics", alt="bars", url="https://x/m.png"),
    HostedImage(
        name="curve-loss.png",
        title="loss",
        alt="line",
        url="https://x/c.png",
        primary=False,
        group="curves",
    ),
)


def report(run: RunSnapshot = RUN, baseline: RunSnapshot | None = PROD) -> ReviewReport:
    return ReviewReport(candidates=(Candidate(run=run),), baseline=Baseline(baseline, how=""))


def test_the_key_changes_with_anything_the_plots_show() -> None:
    key = plots_key(report(), PlotsConfig())
    assert key == plots_key(report(), PlotsConfig())
    assert key != plots_key(report(replace(RUN, metrics={"loss": 0.29})), PlotsConfig())
    assert key != plots_key(report(replace(RUN, metric_steps={"loss": 100})), PlotsConfig())
    assert key != plots_key(report(baseline=None), PlotsConfig())
    assert key != plots_key(report(), PlotsConfig(curves=("loss",)))


def test_images_survive_the_round_trip_through_the_comment() -> None:
    extra = remember({"recorded": "c" * 32}, "k1", IMAGES)
    body = "<!-- model-review -->\n" + encode_state(
        BotState(changed_at="2026-11-27T10:00:00Z", extra=extra)
    )
    state = decode_state(body)
    assert state is not None and state.extra["recorded"] == "c" * 32
    assert cached_images(state, "k1") == IMAGES
    assert cached_images(state, "k2") is None


def test_an_unreadable_cache_means_draw_again() -> None:
    for raw in ("not json", '{"key": "k1"}', '{"key": "k1", "images": [{"name": 1}]}', "[]"):
        state = BotState(changed_at="2026-11-27T10:00:00Z", extra={EXTRA_KEY: raw})
        assert cached_images(state, "k1") is None
    assert cached_images(None, "k1") is None
