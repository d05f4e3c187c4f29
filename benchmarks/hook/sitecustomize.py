"""Hooks for a whole `model-review` process started by benchmarks/run.py.

On the process's PYTHONPATH only when the benchmark asks for one of them:
$BENCH_COUNT_FILE: tally every HTTP request (benchmarks/counting.py) and write the
tally there as JSON at exit. $BENCH_UNPACED: PyGithub without its production pacing,
so the process's time can be split into work and pacing.
"""

from __future__ import annotations

import atexit
import functools
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

if os.environ.get("BENCH_UNPACED"):
    from bot.githost import client as githost

    githost.GitHubRepo = functools.partial(githost.GitHubRepo, throttle=False)  # type: ignore[misc]
