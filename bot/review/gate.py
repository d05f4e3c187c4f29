"""The merge gate: from the PR's reviews to the `model-review` commit status.

Rules (see "Approval gate rules" in the design guide and the table in
docs/security.md):

- A reviewer's effective review is their latest APPROVED, CHANGES_REQUESTED or
  DISMISSED review, ordered by `submitted_at` then `review_id`; COMMENTED and
  PENDING reviews change nothing. Logins are compared case-insensitively.
- Who counts (`Standing`, verified on GitHub by bot.handlers.trust): never the PR
  author, never a bot, never someone without write access to the repository. A
  user slot is held by its login; a team slot ("org/team") by a verified active
  member of the team who does not hold the other slot. When the team's membership
  cannot be verified the slot stays pending and the decision's notes say how to
  enable verification. A review that does not count changes nothing, in either
  direction (approval or change request).
- An approval submitted before `changed_at` (when what is under review last
  changed: runs, their registered versions, the production baseline) is stale: a
  review is of the model. With `stale_on_new_commits`, an approval of another
  commit than the head is stale too. A time that cannot be read makes the approval
  stale (fail closed).
- Any current change request from a required reviewer: FAILURE. Both slots
  approved: SUCCESS. Otherwise PENDING; an empty slot is never satisfied.
- When the bot could not check (`error`), the state is ERROR: GitHub shows it apart
  from a reviewer's FAILURE, and like FAILURE and PENDING it blocks the merge.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.constants import STATUS_DESCRIPTION_LIMIT, bare_login, login_key
from bot.domain import Assignment, GateDecision, GateState, Review, ReviewState, Standing

MAX_DESCRIPTION = STATUS_DESCRIPTION_LIMIT
EFFECTIVE = frozenset({ReviewState.APPROVED, ReviewState.CHANGES_REQUESTED, ReviewState.DISMISSED})
COUNTING = frozenset({ReviewState.APPROVED, ReviewState.CHANGES_REQUESTED})
_EARLIEST = datetime.min.replace(tzinfo=UTC)
_STALE_RUNS = "older than the current runs"
_STALE_COMMIT = "for an older commit"


def parse_time(raw: str | None) -> datetime | None:
    """An ISO 8601 time as an aware datetime (naive means UTC); None if unreadable."""
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except (ValueError, TypeError):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


_key = login_key


def is_bot(review: Review) -> bool:
    """A bot account: GitHub says so (`type: Bot`), or its login ends with `[bot]`."""
    return review.bot or review.user.strip().lower().endswith("[bot]")


def latest_reviews(reviews: Sequence[Review], author: str) -> dict[str, Review]:
    """Each reviewer's effective review, by casefolded login; the author and bots
    left out."""
    ordered = sorted(
        enumerate(reviews),
        key=lambda pair: (
            parse_time(pair[1].submitted_at) or _EARLIEST,
            pair[1].review_id if pair[1].review_id is not None else -1,
            pair[0],
        ),
    )
    latest: dict[str, Review] = {}
    for _, review in ordered:
        if review.state in EFFECTIVE and _key(review.user) != _key(author) and not is_bot(review):
            latest[_key(review.user)] = review
    return latest


NO_WRITE = "@{} has no write access to this repository: their review does not count"
NOT_MEMBER = "@{} is not a verified active member of @{}: their review does not count for it"
UNVERIFIED = "membership of @{} could not be verified, so its {} slot stays pending: {}"


@dataclass(frozen=True)
class _Rules:
    changed_at: str | None
    head_sha: str
    stale_on_new_commits: bool
    standing: Standing = field(default_factory=Standing)

    def writer(self, login: str) -> bool:
        return _key(login) in self.standing.writers

    def member(self, team: str, login: str) -> bool:
        return _key(login) in self.standing.members.get(_key(team), frozenset())

    def stale_reason(self, review: Review) -> str | None:
        """Why an approval no longer counts, or None when it is fresh."""
        if self.changed_at is not None:
            changed = parse_time(self.changed_at)
            submitted = parse_time(review.submitted_at)
            if changed is None or submitted is None or submitted < changed:
                return _STALE_RUNS
        if self.stale_on_new_commits and review.commit_id != self.head_sha:
            return _STALE_COMMIT
        return None


@dataclass
class _Tally:
    approved: list[str] = field(default_factory=list)  # "@a (primary)", for the text
    approvers: list[str] = field(default_factory=list)  # logins whose approval counts
    waiting: list[tuple[str, str]] = field(default_factory=list)  # (holder, slot name)
    changes: list[str] = field(default_factory=list)
    stale: list[tuple[str, str]] = field(default_factory=list)  # (login, reason)
    missing: list[str] = field(default_factory=list)  # slot names
    notes: list[str] = field(default_factory=list)  # why reviews did not count

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def approve(self, login: str, text: str) -> None:
        self.approved.append(text)
        self.approvers.append(login)

    def has_approved(self, login: str) -> bool:
        return _key(login) in {_key(a) for a in self.approvers}

    def add_change(self, login: str) -> None:
        if _key(login) not in {_key(c) for c in self.changes}:
            self.changes.append(login)


def _user_slot(
    holder: str, name: str, latest: dict[str, Review], rules: _Rules, tally: _Tally
) -> None:
    review = latest.get(_key(holder))
    if review is not None and review.state in COUNTING and not rules.writer(holder):
        tally.note(NO_WRITE.format(holder))
        review = None
    if review is None or review.state is ReviewState.DISMISSED:
        tally.waiting.append((holder, name))
    elif review.state is ReviewState.CHANGES_REQUESTED:
        tally.add_change(holder)
    elif (reason := rules.stale_reason(review)) is not None:
        tally.stale.append((holder, reason))
        tally.waiting.append((holder, name))
    else:
        tally.approve(holder, f"@{holder} ({name})")


def _holders(
    team: str, name: str, candidates: list[Review], rules: _Rules, tally: _Tally
) -> list[Review]:
    """The reviews that speak for a team slot: by verified members with write access."""
    hint = rules.standing.unverified.get(_key(team))
    if hint is not None:
        tally.note(UNVERIFIED.format(team, name, hint))
        return []
    counted = []
    for review in candidates:
        if review.state not in COUNTING:
            continue
        if not rules.writer(review.user):
            tally.note(NO_WRITE.format(review.user))
        elif not rules.member(team, review.user):
            tally.note(NOT_MEMBER.format(review.user, team))
        else:
            counted.append(review)
    return counted


def _team_slot(
    team: str, name: str, candidates: list[Review], rules: _Rules, tally: _Tally
) -> None:
    candidates = _holders(team, name, candidates, rules, tally)
    objections = [r for r in candidates if r.state is ReviewState.CHANGES_REQUESTED]
    for review in objections:
        tally.add_change(review.user)
    approvals = [r for r in candidates if r.state is ReviewState.APPROVED]
    fresh = [r for r in approvals if rules.stale_reason(r) is None]
    unused = [r for r in fresh if not tally.has_approved(r.user)]
    if objections:
        return
    if unused:
        approver = unused[-1].user
        tally.approve(approver, f"@{approver} for @{team} ({name})")
        return
    for review in approvals:
        if review not in fresh:
            tally.stale.append((review.user, rules.stale_reason(review) or _STALE_RUNS))
    tally.waiting.append((team, name))


def _tally(reviews: Sequence[Review], assignment: Assignment, author: str, rules: _Rules) -> _Tally:
    latest = latest_reviews(reviews, author)
    slots = [("primary", assignment.primary), ("secondary", assignment.secondary)]
    users = [h for _, h in slots if h is not None and "/" not in h]
    taken = {_key(author), *(_key(u) for u in users)}
    candidates = [r for k, r in latest.items() if k not in taken]
    tally = _Tally()
    seen: set[str] = set()
    for name, holder in slots:
        if holder is None or not holder.strip() or _key(holder) in seen:
            tally.missing.append(name)
        elif "/" in holder:
            _team_slot(bare_login(holder), name, candidates, rules, tally)
        else:
            _user_slot(bare_login(holder), name, latest, rules, tally)
        if holder:
            seen.add(_key(holder))
    return tally


# --- descriptions -----------------------------------------------------------


def fit(text: str, limit: int = MAX_DESCRIPTION) -> str:
    """`text` cut to `limit` characters, at a word boundary when one is near."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:") + "…"


def _mentions(logins: Sequence[str]) -> str:
    return ", ".join(f"@{login}" for login in logins)


def _stale_text(stale: Sequence[tuple[str, str]]) -> list[str]:
    parts = []
    for reason in (_STALE_RUNS, _STALE_COMMIT):
        who = [login for login, why in stale if why == reason]
        if who:
            verb = "approval by {} is" if len(who) == 1 else "approvals by {} are"
            parts.append(f"{verb.format(_mentions(who))} {reason}")
    return parts


def _pending_text(tally: _Tally) -> str:
    parts = []
    if tally.waiting:
        parts.append("waiting for " + ", ".join(f"@{h} ({n})" for h, n in tally.waiting))
    if tally.missing:
        where = " and ".join(f"reviewers.{name}" for name in tally.missing)
        parts.append(f"no reviewer assigned: request a reviewer or configure {where}")
    return "; ".join(parts + _stale_text(tally.stale))


# --- the decision -----------------------------------------------------------


def decide(  # noqa: PLR0917 (the agreed signature)
    reviews: Sequence[Review],
    assignment: Assignment,
    author: str,
    changed_at: str | None,
    head_sha: str,
    stale_on_new_commits: bool,
    no_model: bool = False,
    error: str | None = None,
    standing: Standing | None = None,
) -> GateDecision:
    """The commit status for the head commit, from the reviews so far.

    `changed_at`: when what is under review last changed (None: never stale by
    time). `error`: the bot could not check (MLflow down, bad config, API error):
    always ERROR, never SUCCESS. `no_model`: nothing to review: SUCCESS.
    `standing`: who was verified to count (None: nobody, so nothing is approved).
    """
    if error is not None:
        return GateDecision(GateState.ERROR, fit(f"model-review could not check: {error}"))
    if no_model:
        return GateDecision(GateState.SUCCESS, "no model under review")
    rules = _Rules(changed_at, head_sha, stale_on_new_commits, standing or Standing())
    tally = _tally(reviews, assignment, author, rules)
    common = {
        "approved_by": tuple(tally.approvers),
        "waiting_for": tuple(holder for holder, _ in tally.waiting),
        "changes_requested_by": tuple(tally.changes),
        "stale": tuple(login for login, _ in tally.stale),
        "notes": tuple(tally.notes),
    }
    if tally.changes:
        text = f"changes requested by {_mentions(tally.changes)}"
        return GateDecision(GateState.FAILURE, fit(text), **common)
    if not tally.waiting and not tally.missing:
        text = "approved by " + " and ".join(tally.approved)
        return GateDecision(GateState.SUCCESS, fit(text), **common)
    return GateDecision(GateState.PENDING, fit(_pending_text(tally)), **common)
