"""What paired evaluation costs: reading a predictions table, the paired comparison,
and scoring with the demo's models.

    .venv/bin/python benchmarks/paired.py [--quick]

1. Reading an evaluation table (CSV, id/label/score) of 200k, 2M and 6M rows with
   bot.review.tables (chunked, a fixed sample of 200,000 rows kept): time and the peak
   resident memory of a fresh process per size, against the same process reading
   nothing (the baseline).
2. The paired comparison (`model-review evaluate`'s table as the review reads it:
   McNemar, DeLong, 1,000 bootstrap resamples) on 10k, 200k and 1M rows: time and
   peak memory, each in a fresh process; CPU time against the 10k-row case.
3. Prediction time per 10,000 rows for the demo's two models (production and
   candidate recipes of bot.app.demo, trained on the breast-cancer data).

Prints the numbers and writes benchmarks/results/paired-<date>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

READS = (200_000, 2_000_000, 6_000_000)  # rows of the tables read
COMPARES = (10_000, 200_000, 1_000_000)  # rows of the tables compared
CHILD = r"""
import json, resource, sys, time
from pathlib import Path
mode, n = sys.argv[1], int(sys.argv[2])
from bot.review import bootstrap, paired, predictions, tables

data = Path(sys.argv[3]).read_bytes() if mode != "idle" else b""  # as downloaded
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
if mode == "read":
    wanted = tables.Wanted(("label", "candidate", "production"), "id", ("production_version",))
    t = tables.read_table(data, "t.csv", wanted)
    kept = len(t.ids)
elif mode == "compare":
    wanted = tables.Wanted(("label", "candidate", "production"), "id")
    t = tables.read_table(data, "t.csv", wanted)
    y, c, b = (t.numbers[k] for k in ("label", "candidate", "production"))
    read = time.perf_counter() - started
    started, cpu = time.perf_counter(), time.process_time()
    found = paired.compare(y, c, b, list(paired.CLASSIFICATION), paired.Task(True))
    kept = len(y)
    cpu = time.process_time() - cpu
else:
    kept = 0
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
result = {"rows": n, "kept": kept, "seconds": round(seconds, 3)}
result["table_mb"] = round(len(data) / 2**20, 1)
result["peak_rss_mb"] = round(peak / 1024, 1)
result["rss_before_mb"] = round(before / 1024, 1)
if mode == "compare":
    result["read_seconds"] = round(read, 3)
    result["cpu_seconds"] = round(cpu, 3)
print(json.dumps(result))
"""


def write_table(rows: int, folder: Path) -> Path:
    """A predictions table of `rows` rows, written 200,000 rows at a time."""
    import numpy as np

    path = folder / f"table-{rows}.csv"
    rng = np.random.default_rng(rows)
    with path.open("w", encoding="utf-8") as out:
        out.write("id,label,candidate,production,production_version\n")
        for start in range(0, rows, 200_000):
            n = min(rows, start + 200_000) - start
            y = rng.integers(0, 2, n)
            c = np.clip(y * 0.5 + 0.25 + rng.normal(0, 0.25, n), 0.001, 0.999)
            b = np.clip(y * 0.4 + 0.3 + rng.normal(0, 0.25, n), 0.001, 0.999)
            out.writelines(f"r{start + i},{y[i]},{c[i]:.4f},{b[i]:.4f},m/1\n" for i in range(n))
    return path


def child(mode: str, rows: int, folder: Path) -> dict[str, Any]:
    path = write_table(rows, folder) if mode != "idle" else folder / "none"
    done = subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(rows), str(path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def prediction_times() -> dict[str, float]:
    """Seconds per 10,000 rows of predict_proba for the demo's two recipes."""
    import numpy as np
    from sklearn.ensemble import GradientBoostingClassifier

    from bot.app.demo import CANDIDATE, PRODUCTION, _dataset

    x_train, x_test, y_train, _ = _dataset()
    rows = x_test.sample(10_000, replace=True, random_state=0)
    out = {}
    for recipe in (PRODUCTION, CANDIDATE):
        keep = [c for c in x_train.columns if c not in recipe.dropped]
        model = GradientBoostingClassifier(random_state=7, **recipe.params)
        model.fit(x_train[keep], y_train)
        started = time.perf_counter()
        for _ in range(3):
            np.asarray(model.predict_proba(rows[keep]))
        out[recipe.name] = round((time.perf_counter() - started) / 3, 4)
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="the smallest sizes only")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="model-review-bench-"))
    idle = child("idle", 0, folder)
    print(f"load average at the start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"baseline: a process that reads nothing peaks at {idle['peak_rss_mb']} MB")
    reads = [child("read", n, folder) for n in (READS[:1] if args.quick else READS)]
    for r in reads:
        extra = r["peak_rss_mb"] - idle["peak_rss_mb"]
        print(
            f"read {r['rows']:>9,} rows ({r['table_mb']} MB CSV): {r['seconds']:6.2f} s, "
            f"peak {r['peak_rss_mb']} MB ({extra:+.0f} MB over baseline, the table's bytes "
            f"included), {r['kept']:,} rows kept"
        )
    compares = [child("compare", n, folder) for n in (COMPARES[:1] if args.quick else COMPARES)]
    for r in compares:
        ratio = r["cpu_seconds"] / max(compares[0]["cpu_seconds"], 1e-6)
        print(
            f"compare {r['rows']:>9,} rows ({r['kept']:,} kept): {r['seconds']:6.2f} s "
            f"({r['cpu_seconds']} s of CPU, {ratio:.1f}x the first size's; read "
            f"{r['read_seconds']} s), peak {r['peak_rss_mb']} MB"
        )
    shutil.rmtree(folder)
    predict = prediction_times()
    for name, seconds in predict.items():
        print(f"predict_proba, demo model {name}: {seconds:.4f} s per 10,000 rows")
    results = {
        "load_average": os.getloadavg()[0],
        "baseline": idle,
        "read": reads,
        "compare": compares,
        "predict_per_10k": predict,
    }
    out = ROOT / "benchmarks" / "results" / f"paired-{date.today().isoformat()}.json"
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"written: {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
