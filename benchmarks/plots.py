"""How long the plots of one review take to build, and what they weigh.

One review = a metric comparison of 50 metrics + 5 training curves (one candidate and
production) + 2 artifact pairs of 600x600 images, from histories already fetched. Each
history length is measured twice in the same run: as the bot draws it (downsampled
to 1,000 points per line by `bot.plots.charts.bucket_minmax`) and naively (the full history).

    .venv/bin/python benchmarks/plots.py [--runs 5] [--steps 1000,10000,100000]

Prints a table and writes benchmarks/results/plots-<date>.json.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import platform
import random
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.domain import Change, Direction, MetricCell, MetricRow, PlotImage, Threshold  # noqa: E402
from bot.plots.artifacts import artifact_pairs, side_by_side  # noqa: E402
from bot.plots.charts import bucket_minmax, training_curves  # noqa: E402
from bot.plots.deltas import metric_changes  # noqa: E402

METRICS = 50
CURVES = 5
MAX_POINTS = 1000
LABELS = {"cand": "candidate", "prod": "production"}
Histories = dict[str, dict[str, list[tuple[int, float]]]]


@dataclass(frozen=True)
class Inputs:
    rows: list[MetricRow]
    histories: Histories
    candidate_images: dict[str, bytes]
    baseline_images: dict[str, bytes]


def metric_rows(rng: random.Random) -> list[MetricRow]:
    """50 metrics on four scales: rates, losses, latencies, throughputs."""
    scales = [1.0, 5.0, 500.0, 100_000.0]
    rows = []
    for i in range(METRICS):
        scale = scales[i % len(scales)]
        base = rng.uniform(0.2, 0.9) * scale
        value = base * rng.uniform(0.9, 1.1)
        cell = MetricCell(value, value - base, (value - base) / base, Change.SAME)
        rows.append(MetricRow(f"metric_{i:02d}", Direction.HIGHER, Threshold(), base, (cell,)))
    return rows


def history(rng: random.Random, steps: int, offset: float) -> list[tuple[int, float]]:
    """A noisy decaying loss with a few spikes."""
    points = [
        (s, 2.0 * math.exp(-5 * s / steps) + offset + rng.gauss(0, 0.03)) for s in range(steps)
    ]
    for _ in range(3):
        s = rng.randrange(steps)
        points[s] = (s, points[s][1] * 4)
    return points


def histories(rng: random.Random, steps: int) -> Histories:
    return {
        f"curve_{k}": {"prod": history(rng, steps, 0.1), "cand": history(rng, steps, 0.05)}
        for k in range(CURVES)
    }


def artifact(seed: int) -> bytes:
    """A 600x600 PNG like the confusion matrices training scripts log."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rng = random.Random(seed)
    cells = [[rng.randint(0, 500) for _ in range(5)] for _ in range(5)]
    fig = Figure(figsize=(6, 6), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.imshow(cells, cmap="Blues")
    for r, line in enumerate(cells):
        for c, count in enumerate(line):
            ax.text(c, r, str(count), ha="center", va="center")
    ax.set_title("confusion matrix")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def inputs(steps: int) -> Inputs:
    rng = random.Random(steps)
    names = ("confusion_matrix.png", "roc_curve.png")
    return Inputs(
        rows=metric_rows(rng),
        histories=histories(rng, steps),
        candidate_images={n: artifact(1 + i) for i, n in enumerate(names)},
        baseline_images={n: artifact(10 + i) for i, n in enumerate(names)},
    )


def review(data: Inputs, max_points: int) -> list[PlotImage]:
    """Every plot of one review, as the pipeline builds them."""
    images = metric_changes(data.rows, ["candidate"])
    images += training_curves(data.histories, LABELS, "prod", max_points)
    pairs = artifact_pairs(list(data.candidate_images), list(data.baseline_images), ["*.png"])
    for index, (name, cand, base) in enumerate(pairs):
        left = data.baseline_images[base] if base else None
        right = data.candidate_images[cand] if cand else None
        pair = side_by_side(name, left, right, "production", "candidate", primary=index < 2)
        if pair is not None:
            images.append(pair)
    return images


def median_seconds(work: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def peak_mb(work: Callable[[], object]) -> float:
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def measure(steps: int, runs: int) -> dict[str, object]:
    data = inputs(steps)
    naive_points = steps + 1  # nothing is dropped: the full history is drawn
    images = review(data, MAX_POINTS)
    naive_images = review(data, naive_points)
    lines = [pts for per_run in data.histories.values() for pts in per_run.values()]
    fast = median_seconds(lambda: review(data, MAX_POINTS), runs)
    naive = median_seconds(lambda: review(data, naive_points), runs)
    return {
        "steps": steps,
        "median_s": round(fast, 4),
        "naive_median_s": round(naive, 4),
        "naive_over_downsampled": round(naive / fast, 2),
        "downsample_all_lines_ms": round(
            1000 * median_seconds(lambda: [bucket_minmax(p, MAX_POINTS) for p in lines], runs), 2
        ),
        "peak_mb": round(peak_mb(lambda: review(data, MAX_POINTS)), 1),
        "naive_peak_mb": round(peak_mb(lambda: review(data, naive_points)), 1),
        "png_bytes": {i.name: len(i.png) for i in images},
        "naive_png_bytes_total": sum(len(i.png) for i in naive_images),
    }


def table(results: list[dict[str, object]]) -> str:
    head = (
        f"{'steps':>8} {'plots s':>8} {'naive s':>8} {'ratio':>6} {'ds ms':>7} "
        f"{'peak MB':>8} {'naive MB':>9} {'PNG KB':>7} {'max KB':>7} {'naive KB':>9}"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        sizes = r["png_bytes"]
        assert isinstance(sizes, dict)
        lines.append(
            f"{r['steps']:>8} {r['median_s']:>8.3f} {r['naive_median_s']:>8.3f} "
            f"{r['naive_over_downsampled']:>6.2f} {r['downsample_all_lines_ms']:>7.1f} "
            f"{r['peak_mb']:>8.1f} {r['naive_peak_mb']:>9.1f} "
            f"{sum(sizes.values()) / 1000:>7.0f} {max(sizes.values()) / 1000:>7.0f} "
            f"{int(str(r['naive_png_bytes_total'])) / 1000:>9.0f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5, help="timed runs per case (median)")
    parser.add_argument("--steps", default="1000,10000,100000", help="history lengths")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args(argv)
    review(inputs(100), MAX_POINTS)  # warm-up: imports and font cache
    results = [measure(int(s), args.runs) for s in args.steps.split(",")]
    print(table(results))
    import matplotlib

    report = {
        "benchmark": "plots",
        "date": date.today().isoformat(),
        "python": platform.python_version(),
        "matplotlib": matplotlib.__version__,
        "machine": f"{platform.system()} {platform.machine()}",
        "review": f"{METRICS} metrics, {CURVES} curves x 2 runs, 2 artifact pairs 600x600",
        "max_points": MAX_POINTS,
        "runs": args.runs,
        "peak_memory": "tracemalloc peak of Python allocations (numpy included, Agg buffers not)",
        "results": results,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"plots-{report['date']}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
