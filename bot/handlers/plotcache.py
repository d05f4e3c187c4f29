"""Reuse the previous comment's plots when nothing they show has changed.

Drawing a review's plots costs MLflow requests (histories, image artifacts) and about
a second of CPU. Most events (a review submitted, a comment, a push that does not
touch the model) change nothing the plots show, so the bot remembers, in its hidden
state, a key of everything the plots are drawn from and the images it hosted for it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping

from bot.config.schema import PlotsConfig
from bot.domain import HostedImage, ReviewReport
from bot.handlers.state import PLOTS, BotState

log = logging.getLogger(__name__)

EXTRA_KEY = PLOTS  # in BotState.extra (its shape checked by bot.handlers.state)
_FIELDS = ("name", "title", "alt", "url", "primary", "group")


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
    raw = state.extra.get(EXTRA_KEY) if state else None
    if not raw:
        return None
    try:
        data = json.loads(raw)
        if data.get("key") != key:
            return None
        return tuple(HostedImage(**{f: item[f] for f in _FIELDS}) for item in data["images"])
    except (ValueError, TypeError, KeyError, AttributeError):
        log.info("ignoring an unreadable plot cache in the bot's state")
        return None


def remember(extra: Mapping[str, str], key: str, images: tuple[HostedImage, ...]) -> dict[str, str]:
    """`extra` with the hosted images recorded under `key`."""
    items = [{f: getattr(image, f) for f in _FIELDS} for image in images]
    return {**extra, EXTRA_KEY: json.dumps({"key": key, "images": items}, sort_keys=True)}
