"""Writing to MLflow for the review's record: bounded retries (`Writer`), and the
order of a record's writes (`write_record`: the model versions first, the run last, as
the commit point). Used by the review's record (bot.handlers.record), the merge and
promotion (bot.handlers.closed) and the operator commands (bot.handlers.production).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TypeVar

from bot.domain import Candidate, ModelVersionInfo, RunSnapshot
from bot.errors import ModelReviewError
from bot.ports import RunsPort

log = logging.getLogger(__name__)
T = TypeVar("T")

ATTEMPTS = 3  # tries per MLflow call before giving up
BACKOFF = 1.0  # seconds; the n-th retry waits n * BACKOFF

FAILED = (
    "MLflow could not record the review ({doing}) after {n} attempts: {error}. "
    "The gate is not affected; the record is completed on a later event"
)


class GaveUp(Exception):
    """An MLflow call failed every attempt (already reported in the writer's problems)."""


@dataclass
class Writer:
    """MLflow calls with bounded retries; a call that keeps failing raises GaveUp,
    which ends the record for this event."""

    runs: RunsPort
    pause: Callable[[float], None] = time.sleep
    problems: list[str] = field(default_factory=list)
    writes: list[str] = field(default_factory=list)

    def do(self, doing: str, call: Callable[[], T], *, write: bool = True) -> T:
        attempt = 1
        while True:
            try:
                result = call()
            except ModelReviewError as exc:
                log.warning("MLflow record, attempt %d: %s failed: %s", attempt, doing, exc)
                if attempt >= ATTEMPTS:
                    self.problems.append(FAILED.format(doing=doing, n=ATTEMPTS, error=exc))
                    raise GaveUp(doing) from exc
                self.pause(BACKOFF * attempt)
                attempt += 1
                continue
            if write:
                log.info("MLflow record: %s", doing)
                self.writes.append(doing)
            return result


def versions_of(candidate: Candidate) -> tuple[ModelVersionInfo, ...]:
    """The registered versions a candidate stands for: the one it was named by, else
    every version registered from its run."""
    if candidate.model_version is not None:
        return (candidate.model_version,)
    return candidate.run.model_versions


def versions_under_review(candidates: Sequence[Candidate]) -> list[ModelVersionInfo]:
    found: dict[tuple[str, str], ModelVersionInfo] = {}
    for candidate in candidates:
        for version in versions_of(candidate):
            found.setdefault((version.name, version.version), version)
    return list(found.values())


# --- writing ------------------------------------------------------------------


def write_record(
    w: Writer,
    run: RunSnapshot,
    versions: Sequence[ModelVersionInfo],
    desired: Mapping[str, str],
    *,
    note: str | None = None,
    before_run: Callable[[], None] | None = None,
) -> bool:
    """Tag the versions, then the run (the commit point); False when nothing was due."""
    if all(run.tags.get(key) == value for key, value in desired.items()):
        return False
    for v in versions:
        for key, value in desired.items():
            tag = partial(w.runs.set_model_version_tag, v.name, v.version, key, value)
            w.do(f"tagging {v.name} v{v.version} with {key}={value}", tag)
        if note:
            _append_note(w, v, note)
    if before_run is not None:
        before_run()
    tag_run = partial(w.runs.set_run_tags, run.run_id, dict(desired))
    w.do(f"tagging run {run.run_id} with {', '.join(desired)}", tag_run)
    return True


def _append_note(w: Writer, v: ModelVersionInfo, note: str) -> None:
    """Append `note` to the version's description unless its heading is there."""
    read = partial(w.runs.model_version_description, v.name, v.version)
    current = w.do(f"reading the description of {v.name} v{v.version}", read, write=False)
    if note.split("\n", 1)[0] in current:
        return
    text = f"{current.rstrip()}\n\n{note}" if current.strip() else note
    update = partial(w.runs.set_model_version_description, v.name, v.version, text)
    w.do(f"appending the review to the description of {v.name} v{v.version}", update)
