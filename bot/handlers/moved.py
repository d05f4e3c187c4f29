"""Why approvals went stale, in the words of whoever noticed that production moved.

A `Trigger` travels with a review job queued because of an MLflow registry event
(bot.handlers.following) or found by reconcile or the Action's scheduled check, and `retell` words
the stale approvals: "production moved from v3 to v4 at 14:02 UTC by the registry;
approvals must be given again". It only words: the review finds the baseline itself,
and nothing changes when it did not move.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from bot.handlers.state import BotState
from bot.review.basis import BASELINE

TRIGGER_KEY = "model_review_trigger"  # in a review job's payload
REGISTRY = "registry"
SCHEDULE = "schedule"
RECONCILE = "reconcile"
FOUND_BY = {SCHEDULE: "the scheduled check", RECONCILE: "reconcile"}  # who else notices
APPROVE_AGAIN = "approvals must be given again"


@dataclass(frozen=True)
class Trigger:
    """Who noticed that production moved, and when (ISO 8601 UTC)."""

    source: str  # REGISTRY or SCHEDULE
    at: str

    def payload(self) -> dict[str, str]:
        return {"source": self.source, "at": self.at}


def trigger_of(payload: Mapping[str, Any]) -> Trigger | None:
    raw = payload.get(TRIGGER_KEY)
    if not isinstance(raw, Mapping) or raw.get("source") not in (REGISTRY, *FOUND_BY):
        return None
    return Trigger(str(raw["source"]), str(raw.get("at") or ""))


def _version(basis_text: str | None) -> str | None:
    word = (basis_text or "").split(" ", 1)[0]
    return word if word.startswith("v") and word[1:].isdigit() else None


def _clock(at: str) -> str:
    try:
        return datetime.fromisoformat(at).astimezone(UTC).strftime("%H:%M UTC")
    except ValueError:
        return "an unknown time"


def moved_words(before: str | None, after: str | None, trigger: Trigger) -> str | None:
    """ "production moved from v3 to v4 at 14:02 UTC by the registry" (None: the
    baseline was no registered version before or after)."""
    old, new = _version(before), _version(after)
    if old is None and new is None:
        return None
    if new is None:
        moved = f"production no longer names a version (it was {old})"
    elif old is None:
        moved = f"production moved to {new}"
    else:
        moved = f"production moved from {old} to {new}"
    when = _clock(trigger.at)
    if trigger.source == REGISTRY:
        return f"{moved} at {when} by the registry"
    return f"{moved} (found at {when} by {FOUND_BY.get(trigger.source, trigger.source)})"


def retell(previous: BotState | None, state: BotState, trigger: Trigger | None) -> BotState:
    """`state` with `why` in the trigger's words when this event made the approvals
    stale only because the production baseline moved."""
    if trigger is None or previous is None or previous.basis is None:
        return state
    before, after = previous.basis.get(BASELINE), (state.basis or {}).get(BASELINE)
    only_baseline = previous.fingerprint == state.fingerprint and before != after
    if not only_baseline or state.changed_at == previous.changed_at:
        return state
    words = moved_words(before, after, trigger)
    return replace(state, why=f"{words}; {APPROVE_AGAIN}") if words else state
