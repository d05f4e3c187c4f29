"""The gate's vocabulary: states, reviews, assignments, decisions, standings; the pull
request and its comments.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import Enum

# --- the gate ---------------------------------------------------------------


class GateState(Enum):
    PENDING = "pending"
    SUCCESS = "success"
    FAILURE = "failure"
    ERROR = "error"


class ReviewState(Enum):
    APPROVED = "APPROVED"
    CHANGES_REQUESTED = "CHANGES_REQUESTED"
    DISMISSED = "DISMISSED"
    COMMENTED = "COMMENTED"
    PENDING = "PENDING"

    @classmethod
    def parse(cls, raw: str) -> ReviewState:
        """Accept the REST API's UPPERCASE and the webhooks' lowercase spelling."""
        return cls(raw.upper())


@dataclass(frozen=True)
class Review:
    """A pull-request review as the gate sees it."""

    user: str
    state: ReviewState
    submitted_at: str  # ISO 8601 UTC, e.g. "2026-11-27T10:00:00Z"
    commit_id: str | None = None
    review_id: int | None = None
    bot: bool = False  # the reviewer's account is a bot (`user.type` "Bot"): never counts


@dataclass(frozen=True)
class Assignment:
    """Who must review: one primary and one secondary (logins, or org/team)."""

    primary: str | None
    secondary: str | None


@dataclass(frozen=True)
class GateDecision:
    state: GateState
    description: str  # <= 140 characters, for the commit status
    approved_by: tuple[str, ...] = ()
    waiting_for: tuple[str, ...] = ()
    changes_requested_by: tuple[str, ...] = ()
    stale: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # why reviews did not count, for the comment


@dataclass(frozen=True)
class CheckRun:
    """The gate as a check run (GitHub Apps): what it says, as GitHub holds it."""

    check_id: int  # 0: not created yet
    status: str  # queued | in_progress | completed
    conclusion: str | None  # success | failure | action_required | ... when completed
    title: str
    summary: str
    details_url: str | None = None

    def same(self, other: CheckRun | None) -> bool:
        """Whether `other` already says this (its id aside)."""
        return other is not None and replace(other, check_id=self.check_id) == self


@dataclass(frozen=True)
class Standing:
    """What was verified on GitHub about the people who reviewed, for the gate.

    Logins and teams ("org/slug") are casefolded. A reviewer not in `writers` never
    counts; a team slot is held only by `members[team]`; a team in `unverified`
    (membership could not be read) holds no one and the value says how to enable it.
    """

    writers: frozenset[str] = frozenset()  # write, maintain or admin on the repository
    members: Mapping[str, frozenset[str]] = field(default_factory=dict)  # active members
    unverified: Mapping[str, str] = field(default_factory=dict)


# --- the pull request -------------------------------------------------------


@dataclass(frozen=True)
class Comment:
    comment_id: int
    author: str
    body: str
    url: str = ""
    created_at: str = ""
    updated_at: str = ""
    association: str = ""  # author_association: OWNER, MEMBER, COLLABORATOR, NONE, ...
    bot: bool = False  # written by a bot account (`user.type` "Bot")


@dataclass(frozen=True)
class PullRequest:
    number: int
    title: str
    body: str
    author: str
    head_sha: str
    base_sha: str
    head_ref: str
    base_ref: str
    repo: str  # "owner/name"
    draft: bool = False
    html_url: str = ""
    head_repo: str | None = None  # "owner/name" of the head; differs for forks
    commits: tuple[str, ...] = ()
    changed_files: tuple[str, ...] = ()
    requested_reviewers: tuple[str, ...] = ()
    state: str = "open"
    merged: bool = False
    merge_commit_sha: str | None = None
    # the base repository's visibility: False = public (anyone can read the comment);
    # None = not known (offline, fakes). The GitHub adapter always fills it.
    private: bool | None = None

    @property
    def from_fork(self) -> bool:
        return self.head_repo is not None and self.head_repo != self.repo
