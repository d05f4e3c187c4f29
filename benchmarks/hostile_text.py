"""What hostile PR text costs: the compare-bomb of issue #22 against plain text.

    .venv/bin/python benchmarks/hostile_text.py [--repeats N] [--old]

1. Parse time of the 64 KB compare-bomb (`"https://m/#/compare-runs?" + "&runs=[" *
   9358`) with bot.review.refs, against plain text of the same length (the baseline,
   measured in the same run). `--old` also times the parser before issue #22 (a regex
   that rescanned to the end of the link from every `&runs=[`) on the same bomb, once.
2. Review time of a PR with ten such comments from accounts with no association,
   against ten plain comments of the same size (the whole PR handler, in process,
   with the typed fakes of tests/fakes.py: only the text's cost differs).

Prints the numbers and writes benchmarks/results/hostile-<date>.json.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import unquote

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.domain import Comment, PullRequest, RunSnapshot  # noqa: E402
from bot.handlers.context import Deps  # noqa: E402
from bot.handlers.pull_request import review_pull_request  # noqa: E402
from bot.review.refs import scan_refs  # noqa: E402
from tests.fakes import FakeGitHub, FakeRuns  # noqa: E402

BOMB = "https://m/#/compare-runs?" + "&runs=[" * 9358
PLAIN = ("lorem ipsum https://m/#/compare-runs?runs=[] " * 1500)[: len(BOMB)]
CAND, PROD = "c" * 32, "a" * 32
CONFIG = "reviewers:\n  primary: [alice, bob]\n  secondary: [carol]\nplots:\n  host: none\n"
_OLD_PARAM = re.compile(r"(?:^|&)(?P<name>runs|experiments)=\[(?P<items>[^\]]*)\]")


def median_ms(call: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median wall and CPU milliseconds (CPU time: this process's own, so a busy
    machine changes it less than the wall clock)."""
    wall, cpu = [], []
    for _ in range(repeats):
        began, began_cpu = time.perf_counter(), time.process_time()
        call()
        wall.append((time.perf_counter() - began) * 1000)
        cpu.append((time.process_time() - began_cpu) * 1000)
    return statistics.median(wall), statistics.median(cpu)


def old_compare(query: str) -> int:
    """The list parameters as the parser before issue #22 read them (for --old)."""
    decoded = unquote(query).replace("&quot;", '"')
    return sum(1 for _ in _OLD_PARAM.finditer(decoded))


def world(comment: str) -> Deps:
    runs = FakeRuns()
    runs.add_run(RunSnapshot(PROD, "1", "prod", metrics={"val_auc": 0.9}))
    runs.add_run(RunSnapshot(CAND, "1", "cand", metrics={"val_auc": 0.93}))
    runs.register("fraud-model", PROD, aliases=["production"])
    runs.register("fraud-model", CAND)
    github = FakeGitHub()
    github.pulls[7] = PullRequest(7, "Retrain", f"runs:/{CAND}/model", "dave", "1" * 40,
                                  "2" * 40, "retrain", "main", "acme/fraud")  # fmt: skip
    github.files[(".github/model-review.yml", "2" * 40)] = CONFIG
    github.comment_list = [Comment(100 + i, f"drive-by-{i}", comment, association="NONE")
                           for i in range(10)]  # fmt: skip
    return Deps(github=github, runs=lambda config: runs,
                images=lambda config, pr, runs_port, previous: None,
                now=lambda: "2026-12-06T10:00:00Z")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--old", action="store_true", help="also time the old parser, once")
    args = parser.parse_args()
    results: dict[str, Any] = {"source": "benchmarks/hostile_text.py", "bytes": len(BOMB)}
    timed: dict[str, Callable[[], object]] = {
        "parse_plain": lambda: scan_refs([PLAIN]),
        "parse_bomb": lambda: scan_refs([BOMB]),
    }
    if args.old:
        query = BOMB.split("compare-runs?", 1)[1]
        results["parse_bomb_old_ms"], results["parse_bomb_old_cpu_ms"] = median_ms(
            lambda: old_compare(query), 1
        )
    for name, text in (("plain", PLAIN), ("bomb", BOMB)):
        deps = world(text)
        timed[f"review_{name}"] = lambda d=deps: review_pull_request(7, d)  # type: ignore[misc]
    for name, call in timed.items():
        repeats = args.repeats if name.startswith("parse") else 3
        results[f"{name}_ms"], results[f"{name}_cpu_ms"] = median_ms(call, repeats)
    for what in ("parse", "review"):
        results[f"{what}_cpu_ratio"] = (
            results[f"{what}_bomb_cpu_ms"] / results[f"{what}_plain_cpu_ms"]
        )
    for key, value in results.items():
        print(f"{key:>20}: {value:.2f}" if isinstance(value, float) else f"{key:>20}: {value}")
    out = ROOT / "benchmarks" / "results" / f"hostile-{date.today().isoformat()}.json"
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
