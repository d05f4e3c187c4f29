"""The bot's memory between events: a hidden, versioned JSON block in its own comment.

The bot keeps no database. Its one PR comment starts with `MARKER` and ends with a
state block::

    <!-- model-review:state {"changed_at": "...", ..., "v": 2, "sum": "..."} -->

The JSON is written with `<`, `>` and `&` as `\\u003c`, `\\u003e`, `\\u0026`, so no
value can ever close the HTML comment early (`-->` cannot appear inside it) and the
block stays invisible. `sum` is a checksum of the rest of the payload: a block that
was edited by hand or damaged is ignored rather than trusted (it detects edits and
corruption; it is not a signature, as the bot holds no secret).

The bot writes exactly one block, at the end of its comment. Should a body hold
several (a hand edit, a pasted copy), the LAST well-formed one is used and the
others are ignored.

Versions: 2 adds `basis` (what an approval is of besides the runs: the production
baseline and the candidates' registered versions, see bot.review.basis) and
`why` (why `changed_at` last moved). 3 keeps each model's slots, the plot cache, the
recorded runs, the production compared with and why the last review failed as typed
parts (bot.handlers.stateparts) where 1 and 2 had a free-form `extra` map of text.
Version 1 and 2 blocks are still read and migrate on first read: their `extra` becomes
the typed parts, and a version 1 block, which has no basis, adopts the current one
without moving `changed_at`; so no upgrade makes an open PR's approvals stale.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.constants import MARKER, login_key
from bot.domain import Assignment, Comment
from bot.handlers.stateparts import Failure, Parts, PlotCache, from_extra, from_json, to_json
from bot.review.basis import change_reason
from bot.review.permodel import SlotMemory

STATE_VERSION = 3
READABLE_VERSIONS = frozenset({1, 2, 3})

_OPEN = "<!-- model-review:state "
_CLOSE = " -->"
_BLOCK = re.compile(r"<!-- model-review:state (\{[^<>]*\}) -->")
_ANY_BLOCK = re.compile(r"<!-- model-review:state [^<>]*-->")
_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"}


@dataclass(frozen=True, kw_only=True)
class BotState:
    """What the bot remembers about one PR (all keyword arguments)."""

    version: int = STATE_VERSION
    primary: str | None = None  # assigned reviewers: logins or org/team slugs
    secondary: str | None = None
    fingerprint: str = ""  # of the runs under review, see bot.review.identity
    changed_at: str = ""  # ISO 8601 UTC: when the fingerprint last changed
    head_sha: str | None = None  # head commit the state was written for
    # what else was approved (bot.review.basis); None: not known (version 1)
    basis: Mapping[str, str] | None = field(default_factory=dict)
    why: str = ""  # why changed_at last moved (user-facing)
    # several models reviewed apart: each model's slots, by label (bot.review.permodel)
    models: Mapping[str, SlotMemory] = field(default_factory=dict)
    plots: PlotCache | None = None  # the images published for the plots (plotcache)
    recorded: tuple[str, ...] = ()  # the runs holding this PR's record (bot.handlers.record)
    compared_with: str | None = None  # production "RUN:VERSION" (reconcile: did it move?)
    failure: Failure | None = None  # why the last review failed closed (bot.handlers.failed)

    @property
    def assignment(self) -> Assignment:
        return Assignment(primary=self.primary, secondary=self.secondary)


# --- encoding ---------------------------------------------------------------


def _parts(state: BotState) -> Parts:
    return Parts(state.models, state.plots, state.recorded, state.compared_with, state.failure)


def _payload(state: BotState) -> dict[str, Any]:
    return {
        "v": STATE_VERSION,
        "primary": state.primary,
        "secondary": state.secondary,
        "fingerprint": state.fingerprint,
        "changed_at": state.changed_at,
        "head_sha": state.head_sha,
        "basis": None if state.basis is None else dict(state.basis),  # None: not known yet
        "why": state.why,
    } | to_json(_parts(state))


def _checksum(payload: Mapping[str, Any]) -> str:
    unsigned = {k: v for k, v in payload.items() if k != "sum"}
    text = json.dumps(unsigned, sort_keys=True, ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()[:16]


def _safe_json(payload: Mapping[str, Any]) -> str:
    text = json.dumps(payload, sort_keys=True, ensure_ascii=True)
    for char, escaped in _ESCAPES.items():
        text = text.replace(char, escaped)
    return text


def encode_state(state: BotState) -> str:
    """The state block to put at the end of the bot's comment (one line)."""
    payload = _payload(state)
    payload["sum"] = _checksum(payload)
    return f"{_OPEN}{_safe_json(payload)}{_CLOSE}"


def strip_state(body: str) -> str:
    """The comment body without any state block (and without trailing whitespace)."""
    pieces = _ANY_BLOCK.split(body)
    kept = [piece.rstrip() for piece in pieces[:-1]] + [pieces[-1]]
    return "".join(kept).rstrip()


def with_state(body: str, state: BotState) -> str:
    """`body` with its state block(s) replaced by one block for `state`, at the end."""
    return f"{strip_state(body)}\n\n{encode_state(state)}\n"


# --- decoding ---------------------------------------------------------------


def _opt_str(value: object) -> bool:
    return value is None or isinstance(value, str)


def _is_iso(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _valid(payload: object) -> bool:
    if not isinstance(payload, dict):
        return False
    version = payload.get("v")
    if type(version) is not int or version not in READABLE_VERSIONS:
        return False
    if payload.get("sum") != _checksum(payload):
        return False
    return (
        all(_opt_str(payload.get(k)) for k in ("primary", "secondary", "head_sha", "body_hash"))
        and isinstance(payload.get("fingerprint"), str)
        and _is_iso(payload.get("changed_at"))
        and (version == 3 or _texts(payload.get("extra", {})))
        and (version == 1 or (_basis(payload, version) and isinstance(payload.get("why"), str)))
    )


def _basis(payload: Mapping[str, Any], version: int) -> bool:
    basis = payload.get("basis")
    return _texts(basis) or (version >= 3 and basis is None)  # 3: None when migrated from 1


def _texts(value: object) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    )


def _parse_block(text: str) -> BotState | None:
    try:  # anything odd in a hand-edited block means "no state", never a crash
        payload = json.loads(text)
        if not _valid(payload):
            return None
    except (ValueError, TypeError, RecursionError):
        return None
    parts = _parts_of(payload)
    return BotState(
        version=payload["v"],
        primary=payload.get("primary"),
        secondary=payload.get("secondary"),
        fingerprint=payload["fingerprint"],
        changed_at=payload["changed_at"],
        head_sha=payload.get("head_sha"),
        basis=dict(payload["basis"]) if payload.get("basis") is not None else None,
        why=payload.get("why", ""),
        models=parts.models,
        plots=parts.plots,
        recorded=parts.recorded,
        compared_with=parts.compared_with,
        failure=parts.failure,
    )


def _parts_of(payload: Mapping[str, Any]) -> Parts:
    """The typed parts; versions 1 and 2 kept them as text in `extra` (the migration)."""
    return from_json(payload) if payload["v"] >= 3 else from_extra(payload.get("extra", {}))


def decode_state(body: str) -> BotState | None:
    """The state in a comment body, or None when absent, malformed, of an unknown
    version or edited by hand. Never raises; the last valid block wins."""
    if not isinstance(body, str):
        return None
    for match in reversed(list(_BLOCK.finditer(body))):
        state = _parse_block(match.group(1))
        if state is not None:
            return state
    return None


# --- the bot's comment -----------------------------------------------------


def _is_bot_comment(comment: Comment, bot_login: str) -> bool:
    return login_key(comment.author) == login_key(bot_login) and comment.body.lstrip().startswith(
        MARKER
    )


def _bot_comments(comments: Sequence[Comment], bot_login: str) -> list[Comment]:
    mine = [c for c in comments if _is_bot_comment(c, bot_login)]
    return sorted(mine, key=lambda c: c.comment_id)


def find_bot_comment(comments: Sequence[Comment], bot_login: str) -> Comment | None:
    """The bot's comment: authored by `bot_login` AND starting with MARKER (after
    leading whitespace). A comment by anyone else quoting the marker never counts.

    With several, the OLDEST (lowest id: GitHub numbers comments in the order it
    stores them) is the real one. In the Action every workflow of the repository
    posts as `github-actions[bot]`, so a newer comment with the marker may be a
    forgery carrying a hand-made state block; nobody can post an older one."""
    mine = _bot_comments(comments, bot_login)
    return mine[0] if mine else None


def duplicate_bot_comments(comments: Sequence[Comment], bot_login: str) -> list[Comment]:
    """The bot's comments other than the one find_bot_comment picks (to delete, never
    to read state from), oldest first."""
    return _bot_comments(comments, bot_login)[1:]


# --- moving on ---------------------------------------------------------------


def next_state(
    previous: BotState | None,
    fingerprint: str,
    now: str,
    *,
    assignment: Assignment | None = None,
    head_sha: str | None = None,
    basis: Mapping[str, str] | None = None,
) -> BotState:
    """The state to write after this event (always of the current version).

    `changed_at` stays when the fingerprint and the `basis` are unchanged and
    becomes `now` when either changed (or there was no previous state); `why` says
    which. A previous state without a basis (version 1) adopts the current one
    without a change (the migration). Each keyword left as None keeps the previous
    value; the typed parts (models, plots, recorded, compared_with) are kept, and a
    failure is not: a review that completes is no failure.
    """
    if previous is None:
        previous = BotState(fingerprint=fingerprint, changed_at=now, basis=dict(basis or {}))
    before = previous.basis if previous.basis is not None else basis
    why = change_reason(previous.fingerprint != fingerprint, before or {}, basis or before or {})
    changed = why is not None or not previous.changed_at
    return BotState(
        primary=assignment.primary if assignment else previous.primary,
        secondary=assignment.secondary if assignment else previous.secondary,
        fingerprint=fingerprint,
        changed_at=now if changed else previous.changed_at,
        head_sha=head_sha if head_sha is not None else previous.head_sha,
        models=previous.models,
        plots=previous.plots,
        recorded=previous.recorded,
        compared_with=previous.compared_with,
        # failure: None, a review that completes is no failure
        basis=dict(basis) if basis is not None else previous.basis,
        why=(why or "") if changed else previous.why,
    )


def transient_failure(state: BotState | None) -> str | None:
    """Why the last review failed for a transient reason (None: it did not)."""
    failure = state.failure if state else None
    return failure.why if failure is not None and failure.transient else None
