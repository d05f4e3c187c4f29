"""Merge queues: which pull requests a merge group holds.

GitHub builds each queue entry on a temporary branch
`gh-readonly-queue/<base>/pr-<N>-<sha>` whose head commit holds the entry's PR and
every PR ahead of it in the queue, and waits for the required checks on that commit
(`merge_group` event, action `checks_requested`). The PR of the entry is in the head
ref; the PRs ahead of it are named by the group's commits: "Merge pull request #N
from ..." (merge commits) or "Title (#N)" (squash). Pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

QUEUE_REF = re.compile(
    r"^(?:refs/heads/)?gh-readonly-queue/(?P<base>.+)/pr-(?P<n>\d+)-[0-9a-f]{7,40}$"
)
_MERGED = re.compile(r"^Merge pull request #(\d+) from ")
_SQUASHED = re.compile(r"\(#(\d+)\)\s*$")
MAX_PRS = 50  # a merge queue's largest group is 100 entries; bounds the requests per group


@dataclass(frozen=True)
class MergeGroup:
    """The `merge_group` payload's group."""

    head_sha: str
    head_ref: str
    base_sha: str
    base_ref: str

    @property
    def entry(self) -> int | None:
        """The PR of this queue entry, from the head ref; None when it is not a queue ref."""
        found = QUEUE_REF.match(self.head_ref)
        return int(found["n"]) if found else None


def group_from_payload(payload: Mapping[str, Any]) -> MergeGroup | None:
    """The group of a `merge_group` payload; None when a field is missing."""
    group = payload.get("merge_group")
    if not isinstance(group, Mapping):
        return None
    fields = [group.get(k) for k in ("head_sha", "head_ref", "base_sha", "base_ref")]
    if not all(isinstance(f, str) and f for f in fields):
        return None
    return MergeGroup(*(str(f) for f in fields))


def numbers_in(messages: Sequence[str]) -> list[int]:
    """PR numbers named by the first line of merge or squash commit messages, in order."""
    found: list[int] = []
    for message in messages:
        first = message.splitlines()[0] if message else ""
        match = _MERGED.match(first) or _SQUASHED.search(first)
        if match and int(match[1]) not in found:
            found.append(int(match[1]))
    return found


def prs_of(group: MergeGroup, messages: Sequence[str]) -> list[int]:
    """The PRs in the group: those its commits name, then the entry's own (at most
    MAX_PRS, the entry always among them)."""
    numbers = numbers_in(messages)
    entry = group.entry
    if entry is not None and entry not in numbers:
        numbers.append(entry)
    if len(numbers) > MAX_PRS:
        numbers = numbers[-MAX_PRS:]
    return numbers
