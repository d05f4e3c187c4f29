"""The plot cache in the bot's state: reuse when nothing drawn changed, else redraw."""

from __future__ import annotations

from dataclasses import replace

from bot.config.schema import PlotsConfig
from bot.domain import Baseline, Candidate, HostedImage, ReviewReport, RunSnapshot
from bot.handlers.plotcache import cached_images, plots_key, published
from bot.handlers.state import BotState, decode_state, encode_state
from bot.handlers.stateparts import PlotCache

RUN = RunSnapshot(
    run_id="c" * 32, experiment_id="1", metrics={"loss": 0.3}, metric_steps={"loss": 99}
)
PROD = RunSnapshot(run_id="a" * 32, experiment_id="1", metrics={"loss": 0.4})
IMAGES = (
    HostedImage(
        name="metrics.png", title="Metrics", alt="bars", url="https://x/m.png", sha256="1" * 64
    ),
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
    cache = PlotCache("k1", IMAGES)
    state = BotState(changed_at="2026-11-27T10:00:00Z", plots=cache, recorded=("c" * 32,))
    decoded = decode_state("<!-- model-review -->\n" + encode_state(state))
    assert decoded is not None and decoded.recorded == ("c" * 32,)
    assert cached_images(decoded, "k1") == IMAGES
    assert cached_images(decoded, "k2") is None
    assert published(decoded) == IMAGES  # what the image host may reuse by content


def test_no_cache_means_draw_again() -> None:
    assert cached_images(BotState(changed_at="2026-11-27T10:00:00Z"), "k1") is None
    assert cached_images(None, "k1") is None
    assert published(None) == ()
