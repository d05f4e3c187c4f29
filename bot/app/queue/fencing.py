"""Fenced ports: every write to GitHub or MLflow first checks the job's PR lock.

A job of the Redis queue runs with a fence (`fenced(check)`); `JobRunner.deps` then
wraps the handler's GitHub and MLflow ports so that each WRITE method calls `check`
first (it raises bot.app.queue.prlock.LockLost when another worker holds the PR now).
Reads pass through. Every method of the ports is listed below as a read or a write;
tests/test_fencing.py fails when a port gains a method this module does not know.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, cast

from bot.ports import GitHubPort, RunsPort

Check = Callable[[], None]

GITHUB_WRITES = frozenset(
    {
        "create_comment",
        "update_comment",
        "delete_comment",
        "set_status",
        "request_reviewers",
        "write_check_run",
        "commit_files",
    }
)
GITHUB_READS = frozenset(
    {
        "bot_login",
        "pull_request",
        "open_pulls",
        "changed_files",
        "comments",
        "reviews",
        "file_at",
        "current_status",
        "blob_url",
        "permission",
        "team_membership",
        "can_request_teams",
        "group_messages",
        "check_run",
    }
)
RUNS_WRITES = frozenset(
    {
        "log_artifact_bytes",
        "set_run_tags",
        "set_model_version_tag",
        "set_alias",
        "set_model_version_description",
        "set_model_tag",
    }
)
RUNS_READS = frozenset(
    {
        "fetch_runs",
        "runs_for_commits",
        "model_version",
        "model_version_by_alias",
        "latest_version",
        "logged_model_run",
        "metric_histories",
        "list_artifacts",
        "download_artifact",
        "model_version_description",
        "ui_base",
        "related_runs",
        "model_files",
        "model_record",
        "count_runs",
    }
)

_fence: contextvars.ContextVar[Check | None] = contextvars.ContextVar("fence", default=None)


@contextmanager
def fenced(check: Check) -> Iterator[None]:
    """Within the block, ports built by `guard_*` call `check` before each write."""
    token = _fence.set(check)
    try:
        yield
    finally:
        _fence.reset(token)


def current_fence() -> Check | None:
    return _fence.get()


class _Fenced:
    def __init__(self, inner: object, writes: frozenset[str], check: Check) -> None:
        self._inner = inner
        self._writes = writes
        self._check = check

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if name not in self._writes:
            return value

        def write(*args: Any, **kwargs: Any) -> Any:
            self._check()
            return value(*args, **kwargs)

        return write


def guard_github(github: GitHubPort, check: Check | None = None) -> GitHubPort:
    """`github`, with the fence in force (if any) checked before each write."""
    check = check or current_fence()
    if check is None:
        return github
    return cast(GitHubPort, _Fenced(github, GITHUB_WRITES, check))


def guard_runs(runs: RunsPort, check: Check | None = None) -> RunsPort:
    """`runs`, with the fence in force (if any) checked before each write."""
    check = check or current_fence()
    if check is None:
        return runs
    return cast(RunsPort, _Fenced(runs, RUNS_WRITES, check))
