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
`why` (why `changed_at` last moved). A version 1 block is still read; it has no
basis, and the first event after the upgrade adopts the current one without moving
`changed_at`, so deploying version 2 does not make every open PR's approvals stale.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.constants import MARKER
from bot.domain import Assignment, Comment
from bot.review.basis import change_reason
from bot.review.permodel import STATE_KEY as MODELS_KEY

STATE_VERSION = 2
READABLE_VERSIONS = frozenset({1, 2})

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
    # what the handlers keep besides, by key of EXTRAS (each with a checked shape)
    extra: Mapping[str, str] = field(default_factory=dict)
    # what else was approved (bot.review.basis); None: not known (version 1)
    basis: Mapping[str, str] | None = field(default_factory=dict)
    why: str = ""  # why changed_at last moved (user-facing)

    @property
    def assignment(self) -> Assignment:
        return Assignment(primary=self.primary, secondary=self.secondary)


# --- what the handlers keep in `extra` -------------------------------------------

PLOTS = "plots"  # bot.handlers.plotcache: JSON {"key": ..., "images": [...]}
RECORDED = "recorded"  # bot.handlers.record: the runs holding this PR's record, comma-separated
MODELS = MODELS_KEY  # bot.review.permodel: each model's reviewer slots, JSON
BASELINE = "baseline"  # bot.handlers.drift: the production run compared with, "RUN:VERSION"
# the review failed closed: "transient: why" (a dependency was down; reconcile retries
# once it answers) or "permanent: why"; gone once a review completes
FAILURE = "failure"
FAILURE_KINDS = ("transient", "permanent")
FAILURE_MAX = 300


def _json_object(value: str) -> bool:
    try:
        return isinstance(json.loads(value), dict)
    except (ValueError, RecursionError):
        return False


def _baseline(value: str) -> bool:
    return re.fullmatch(r"([A-Za-z0-9_-]{1,64}:[0-9]{0,10})?", value) is not None


def _failure(value: str) -> bool:
    kind, sep, _ = value.partition(": ")
    return kind in FAILURE_KINDS and bool(sep) and len(value) <= FAILURE_MAX


def failure(transient: bool, why: str) -> str:
    """The FAILURE value of a review that failed closed for `why`."""
    text = f"{FAILURE_KINDS[0 if transient else 1]}: {' '.join(why.split())}"
    return text if len(text) <= FAILURE_MAX else text[: FAILURE_MAX - 1] + "…"


def transient_failure(state: BotState | None) -> str | None:
    """Why the last review failed for a transient reason (None: it did not)."""
    value = state.extra.get(FAILURE, "") if state else ""
    kind, _, why = value.partition(": ")
    return why if kind == FAILURE_KINDS[0] else None


def _run_ids(value: str) -> bool:
    return all(re.fullmatch(r"[A-Za-z0-9_-]{1,64}", item) for item in value.split(",") if item)


# Every key the state may carry in `extra`, with the shape its value must have. A block
# read back keeps only these, and only well-shaped: a hand edit, or a key an older or
# newer bot wrote, is dropped, never handed to a handler.
EXTRAS: Mapping[str, Callable[[str], bool]] = {
    PLOTS: _json_object,
    RECORDED: _run_ids,
    MODELS: _json_object,
    BASELINE: _baseline,
    FAILURE: _failure,
}


def _known_extras(extra: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in extra.items() if k in EXTRAS and EXTRAS[k](v)}


# --- encoding ---------------------------------------------------------------


def _payload(state: BotState) -> dict[str, Any]:
    return {
        "v": state.version,
        "primary": state.primary,
        "secondary": state.secondary,
        "fingerprint": state.fingerprint,
        "changed_at": state.changed_at,
        "head_sha": state.head_sha,
        "extra": dict(state.extra),
    } | ({} if state.version == 1 else {"basis": dict(state.basis or {}), "why": state.why})


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
        and _texts(payload.get("extra", {}))
        and (version == 1 or (_texts(payload.get("basis")) and isinstance(payload.get("why"), str)))
    )


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
    return BotState(
        version=payload["v"],
        primary=payload.get("primary"),
        secondary=payload.get("secondary"),
        fingerprint=payload["fingerprint"],
        changed_at=payload["changed_at"],
        head_sha=payload.get("head_sha"),
        extra=_known_extras(payload.get("extra", {})),
        basis=dict(payload["basis"]) if payload["v"] >= 2 else None,
        why=payload.get("why", ""),
    )


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
    return comment.author.casefold() == bot_login.casefold() and comment.body.lstrip().startswith(
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
    extra: Mapping[str, str] | None = None,
    basis: Mapping[str, str] | None = None,
) -> BotState:
    """The state to write after this event (always of the current version).

    `changed_at` stays when the fingerprint and the `basis` are unchanged and
    becomes `now` when either changed (or there was no previous state); `why` says
    which. A previous state without a basis (version 1) adopts the current one
    without a change (the migration). Each keyword left as None keeps the previous
    value.
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
        extra={  # a review that completes is no failure
            k: v for k, v in (previous.extra if extra is None else extra).items() if k != FAILURE
        },
        basis=dict(basis) if basis is not None else previous.basis,
        why=(why or "") if changed else previous.why,
    )
