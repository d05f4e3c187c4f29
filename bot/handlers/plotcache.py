"""Reuse the plots of the previous event when nothing they show has changed.

Drawing a review's plots costs MLflow requests (histories, image artifacts) and about
a second of CPU. Most events (a review submitted, a comment, a push that does not
touch the model) change nothing the plots show, so the bot remembers, in its hidden
state (`BotState.plots`), a key of everything the plots are drawn from and the images
it hosted for it, each with the sha256 of its PNG. That is the one image cache: the
image host reuses a published image only from there, never a URL found in a comment.
"""

from __future__ import annotations

import hashlib
import json

from bot.config.schema import PlotsConfig
from bot.domain import HostedImage, ReviewReport
from bot.handlers.state import BotState


def plots_key(report: ReviewReport, config: PlotsConfig) -> str:
    """A digest of everything the plots are drawn from: the runs' metrics (their last
    values and steps stand in for the histories), the metric changes with their states
    and intervals, their image artifacts, the baseline and the plot settings."""
    runs = [c.run for c in report.candidates]
    if report.baseline.run is not None:
        runs.append(report.baseline.run)
    parts = [
        [
            run.run_id,
            sorted(run.metrics.items()),
            sorted(run.metric_steps.items()),
            sorted((a.path, a.size) for a in run.artifacts if not a.is_dir),
        ]
        for run in runs
    ]
    settings = [sorted(config.curves), config.max_curves, sorted(config.images)]
    changes = [  # what the metrics chart draws: states, changes, intervals, thresholds
        [row.key, row.threshold, [(c.change.value, c.delta, c.estimate) for c in row.cells]]
        for row in report.metric_rows
    ]
    text = json.dumps([parts, settings, changes, report.baseline.run is not None], default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def cached_images(state: BotState | None, key: str) -> tuple[HostedImage, ...] | None:
    """The images hosted for `key` by an earlier event, or None (draw them)."""
    cache = state.plots if state else None
    if cache is None or cache.key != key:
        return None
    return cache.images


def published(state: BotState | None) -> tuple[HostedImage, ...]:
    """The images the bot published last (the image host may reuse them by content)."""
    return state.plots.images if state and state.plots else ()
