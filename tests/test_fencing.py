"""bot.app.queue.fencing: writes through a fenced port check the PR lock first; reads do not;
every method of the ports is known as a read or a write."""

from __future__ import annotations

import inspect

import pytest

from bot.app.queue.fencing import (
    GITHUB_READS,
    GITHUB_WRITES,
    RUNS_READS,
    RUNS_WRITES,
    fenced,
    guard_github,
    guard_runs,
)
from bot.app.queue.prlock import LockLost
from bot.domain import GateState, RunSnapshot
from bot.ports import GitHubPort, RunsPort
from tests.fakes import FakeGitHub, FakeRuns


def methods(port: type) -> set[str]:
    return {name for name, _ in inspect.getmembers(port, inspect.isfunction) if name[0] != "_"}


@pytest.mark.parametrize(
    ("port", "reads", "writes"),
    [(GitHubPort, GITHUB_READS, GITHUB_WRITES), (RunsPort, RUNS_READS, RUNS_WRITES)],
)
def test_every_port_method_is_a_known_read_or_write(
    port: type, reads: frozenset[str], writes: frozenset[str]
) -> None:
    assert not reads & writes
    assert methods(port) == reads | writes, "classify the new method in bot/app/queue/fencing.py"


def test_a_write_checks_the_fence_first_and_a_read_does_not() -> None:
    github = FakeGitHub()
    checks: list[str] = []
    guarded = guard_github(github, lambda: checks.append("check"))

    guarded.comments(7)
    assert checks == []
    guarded.set_status("a" * 40, GateState.PENDING, "waiting", "model-review", None)
    assert checks == ["check"] and github.writes == ["set_status"]


def test_a_lost_lock_stops_the_write() -> None:
    github, runs = FakeGitHub(), FakeRuns()
    runs.add_run(RunSnapshot(run_id="r1", experiment_id="1"))

    def lost() -> None:
        raise LockLost("another worker holds the PR")

    with fenced(lost):
        fenced_github, fenced_runs = guard_github(github), guard_runs(runs)
    with pytest.raises(LockLost):
        fenced_github.create_comment(7, "<!-- model-review -->")
    with pytest.raises(LockLost):
        fenced_runs.set_run_tags("r1", {"k": "v"})
    assert fenced_runs.fetch_runs(["r1"])  # reads still work
    assert github.writes == [] and github.comment_list == []


def test_without_a_fence_the_ports_are_returned_as_they_are() -> None:
    github, runs = FakeGitHub(), FakeRuns()
    assert guard_github(github) is github and guard_runs(runs) is runs
