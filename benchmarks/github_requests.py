"""GitHub requests per merge group and per check-run update (issue #23).

The real GitHub adapter (PyGithub) against the tests' GitHub stand-in
(tests/github_sim.py, in-process; every request held to GitHub's API description when
it is installed), MLflow replaced by the typed fake (its requests are not GitHub's).
Counts, not times: the numbers are exact and the same on any machine.

- a merge group of N approved PRs (N = 1, 2, 4, 8): requests for the group, and per PR;
  and the same event redelivered (no write);
- the App's check run: the requests one review spends on it (find, in_progress,
  completed), and a re-run with nothing changed.

    python benchmarks/github_requests.py
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.domain import RunSnapshot  # noqa: E402
from bot.githost.client import GitHubRepo  # noqa: E402
from bot.handlers.context import Deps  # noqa: E402
from bot.handlers.dispatch import handle  # noqa: E402
from bot.handlers.router import Event, route  # noqa: E402
from tests import github_payloads as gp  # noqa: E402
from tests.fakes import FakeRuns  # noqa: E402
from tests.github_sim import GitHubSim, tally, write_count  # noqa: E402

CONFIG = "reviewers:\n  primary: [alice]\n  secondary: [carol]\nplots:\n  host: none\n"
GROUP = "f" * 40


def _runs(count: int) -> FakeRuns:
    runs = FakeRuns()
    runs.add_run(RunSnapshot(run_id="0" * 32, experiment_id="1", metrics={"auc": 0.8}))
    for n in range(1, count + 1):
        runs.add_run(RunSnapshot(run_id=f"{n:032x}", experiment_id="1", metrics={"auc": 0.9}))
    return runs


def _deps(sim: GitHubSim, runs: FakeRuns, *, checks: bool = False) -> Deps:
    github = GitHubRepo(sim.repo, "ghs_bench", throttle=False, bot_login=sim.bot_login)
    return Deps(
        github=github,
        runs=lambda config: runs,
        images=lambda *args: None,
        now=lambda: "2026-12-06T12:00:00Z",
        checks=checks,  # what the App's runner sets (bot.app.queue.runner)
    )


def _event(name: str, payload: dict[str, Any], deps: Deps) -> None:
    event = Event(name, payload)
    handle(event, route(event), deps)


def _calls(sims: list[GitHubSim]) -> list[tuple[str, str]]:
    """Every request, once: each stand-in lists those it answered."""
    return [call for sim in sims for call in sim.take_calls()]


def merge_group(size: int) -> dict[str, int]:
    """A group of `size` PRs (#1..#size), each reviewed and approved first."""
    runs = _runs(size)
    first = GitHubSim(number=1, body=f"runs:/{1:032x}/model", config=CONFIG, author="dave",
                      head_sha=f"{1:040x}", commits=[f"{1:040x}"])  # fmt: skip
    for n in range(2, size + 1):
        first.add_pull(number=n, body=f"runs:/{n:032x}/model", config=CONFIG, author="dave",
                       head_sha=f"{n:040x}", commits=[f"{n:040x}"])  # fmt: skip
    sims = [first, *first.others]
    first.compares[(first.base_sha, GROUP)] = [
        gp.queue_commit(f"{n:040x}", f"Merge pull request #{n} from acme/pr-{n}")
        for n in range(1, size)
    ]
    payload = gp.merge_group(GROUP, size, first.base_sha)
    with first.mocked():
        deps = _deps(first, runs)
        for sim in sims:
            _event("pull_request", {**gp.webhook("pull_request", "opened"),
                                    "pull_request": sim.pull_json()}, deps)  # fmt: skip
            for login in ("alice", "carol"):
                sim.add_review(login, "APPROVED", "2099-01-01T00:00:00Z")
        for sim in sims:
            sim.take_calls()
        _event("merge_group", payload, deps)
        calls = _calls(sims)
        _event("merge_group", payload, deps)  # redelivered
        again = _calls(sims)
    assert first.statuses[-1]["state"] == "success", first.statuses[-1]
    return {
        "prs": size,
        "requests": len(calls),
        "writes": write_count(calls),
        "redelivered_writes": write_count(again),
    }


def check_run_updates() -> dict[str, Any]:
    """One review by the App (status and check run), then the same event again."""
    sim = GitHubSim(body=f"runs:/{1:032x}/model", config=CONFIG, bot_login="model-review[bot]")
    payload = {**gp.webhook("pull_request", "opened"), "pull_request": sim.pull_json()}
    with sim.mocked():
        deps = _deps(sim, _runs(1), checks=True)
        _event("pull_request", payload, deps)
        first = sim.take_calls()
        _event("pull_request", payload, deps)
        second = sim.take_calls()
    check = [c for c in first if "check" in c[1]]
    return {
        "check_requests_first_review": len(check),
        "check_requests_rerun": len([c for c in second if "check" in c[1]]),
        "check_writes_rerun": write_count([c for c in second if "check" in c[1]]),
        "first_review": tally(check),
    }


def main() -> None:
    print("merge group: GitHub requests (re-check of every PR included)")
    for size in (1, 2, 4, 8):
        row = merge_group(size)
        per_pr = row["requests"] / size
        print(
            f"  {row['prs']} PR(s): {row['requests']} requests ({per_pr:.1f} per PR), "
            f"{row['writes']} write(s); redelivered: {row['redelivered_writes']} write(s)"
        )
    checks = check_run_updates()
    print("check run (the App):")
    print(
        f"  one review: {checks['check_requests_first_review']} requests {checks['first_review']}"
    )
    print(
        f"  the same event again: {checks['check_requests_rerun']} requests, "
        f"{checks['check_writes_rerun']} write(s)"
    )


if __name__ == "__main__":
    main()
