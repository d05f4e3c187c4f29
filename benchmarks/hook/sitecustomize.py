"""Hooks for a whole `model-review` process started by benchmarks/run.py.

On the process's PYTHONPATH only when the benchmark asks for one of them:
$BENCH_COUNT_FILE: tally every HTTP request (benchmarks/counting.py) and write the
tally there as JSON at exit. (Write pacing is turned off through the bot's own setting,
MODEL_REVIEW_GITHUB_PACING=off, not here.)
"""

from __future__ import annotations

import atexit
import json
import os

_PATH = os.environ.get("BENCH_COUNT_FILE")
if _PATH:
    from benchmarks import counting

    counting.install()

    def _dump() -> None:
        with open(_PATH, "w", encoding="utf-8") as handle:
            json.dump(counting.take(), handle)

    atexit.register(_dump)
