"""Gather what the plots need from MLflow (few, downsampled requests) and draw them."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from bot.config.schema import PlotsConfig
from bot.domain import PlotImage, ReviewReport, RunSnapshot, counted_rows
from bot.ports import Point, RunsPort

log = logging.getLogger(__name__)

FETCH_POINTS = 2500  # per run and metric: the most MLflow's bulk endpoint samples
MAX_POINTS = 1000  # per curve as drawn, min/max-preserving (keeps spikes)
MAX_ARTIFACT_PAIRS = 6
MAX_ARTIFACT_BYTES = 5 * 1024 * 1024
DRAWABLE = (".png", ".jpg", ".jpeg")
BEST = "best_iteration"  # LightGBM's and XGBoost's early stopping: marked on the curves


def draw_plots(report: ReviewReport, runs: RunsPort, config: PlotsConfig) -> list[PlotImage]:
    from bot.plots import charts as plots
    from bot.plots.deltas import metric_changes

    candidates = [c.run for c in report.candidates]
    base = report.baseline.run
    labels = _labels(candidates, base)
    counted = counted_rows(report.metric_rows)  # the chart shows what the verdict counts
    images = metric_changes(counted, [labels[r.run_id] for r in candidates])
    everyone = [*candidates, *([base] if base else [])]
    roles = {row.key: row.role for row in report.metric_rows}
    keys = plots.choose_curves(everyone, list(config.curves), config.max_curves, roles)
    histories = _histories(runs, [r.run_id for r in everyone], keys)
    if histories:
        marks = {r.run_id: r.metrics[BEST] for r in everyone if r.metrics.get(BEST, 0) > 0}
        images += plots.training_curves(
            histories, labels, base.run_id if base else None, max_points=MAX_POINTS, marks=marks
        )
    images += _artifact_images(runs, candidates[0], base, config, labels)
    return images


def _labels(candidates: Sequence[RunSnapshot], base: RunSnapshot | None) -> dict[str, str]:
    labels = {r.run_id: f"candidate: {r.display_name}" for r in candidates}
    if len(candidates) == 1:
        labels[candidates[0].run_id] = "candidate"
    if base is not None:
        labels[base.run_id] = "production"
    return labels


def _histories(
    runs: RunsPort, run_ids: Sequence[str], keys: Sequence[str]
) -> dict[str, dict[str, list[Point]]]:
    out: dict[str, dict[str, list[Point]]] = {}
    for key in keys:
        per_run = runs.metric_histories(run_ids, key, FETCH_POINTS)
        if any(len(points) > 1 for points in per_run.values()):
            out[key] = per_run
    return out


def _artifact_images(
    runs: RunsPort,
    candidate: RunSnapshot,
    base: RunSnapshot | None,
    config: PlotsConfig,
    labels: dict[str, str],
) -> list[PlotImage]:
    from bot.plots import artifacts as artifact_plots

    def files(run: RunSnapshot | None) -> list[str]:
        if run is None:
            return []
        return [
            a.path
            for a in run.artifacts
            if not a.is_dir
            and a.path.lower().endswith(DRAWABLE)
            and (a.size is None or a.size <= MAX_ARTIFACT_BYTES)
        ]

    pairs = artifact_plots.artifact_pairs(files(candidate), files(base), list(config.images))
    images: list[PlotImage] = []
    for index, (title, cand_path, base_path) in enumerate(pairs[:MAX_ARTIFACT_PAIRS]):
        left = runs.download_artifact(base.run_id, base_path) if base and base_path else None
        right = runs.download_artifact(candidate.run_id, cand_path) if cand_path else None
        image = artifact_plots.side_by_side(
            title, left, right, "production", labels[candidate.run_id]
        )
        if image is not None:
            lead = index < 2 or artifact_plots.image_rank(title) < len(artifact_plots.LEADING)
            images.append(image if lead else _secondary(image))
    return images


def _secondary(image: PlotImage) -> PlotImage:
    from dataclasses import replace

    return replace(image, primary=False)
