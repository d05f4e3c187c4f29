"""The review's record in MLflow, read and written as data: the `model_review.*` tag
names, and production's history ledger on the registered model.

MLflow keeps no history of an alias, so every move of the production alias that
model-review makes (a promotion on merge, `model-review rollback`) is one tag on the
registered model::

    model_review.history.<UTC time>.<version> = {"v": 1, "action": "promote", ...}

The time is `YYYYMMDDTHHMMSS.ffffffZ`, so the names sort in time order and two
events never share a name: concurrent promotions each add their own tag and none is
lost. Each value carries an idempotency key (`merge:<merge commit>`,
`rollback:<id>`): a writer that finds its key already in the ledger writes nothing,
and readers keep one entry per key. Promotions made before the ledger existed are
filled in from the versions' own `model_review.*` tags. The format is an interface:
docs/record.md.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from bot.constants import iso_seconds
from bot.domain import HistoryEntry, LedgerAction, ModelRecord, PriorReview, VersionRecord

# --- the tags on runs and versions (written by bot.handlers.record and .closed) ---
STATUS = "model_review.status"
PR = "model_review.pr"
APPROVERS = "model_review.approvers"
APPROVED_AT = "model_review.approved_at"
COMPARED_TO = "model_review.compared_to"
MERGED_COMMIT = "model_review.merged_commit"
PREVIOUS_PRODUCTION = "model_review.previous_production"
APPROVED = "approved"


class Status(Enum):
    """The values of the STATUS tag."""

    APPROVED = "approved"
    STALE = "stale"  # an approval was recorded and no longer holds
    CHANGES_REQUESTED = "changes_requested"
    CLOSED = "closed"  # the PR was closed without merging


REVIEWED = frozenset({Status.APPROVED.value, Status.STALE.value, Status.CHANGES_REQUESTED.value})


# --- the ledger on the registered model ---
HISTORY_PREFIX = "model_review.history."
LEDGER_FORMAT = 1
MAX_REASON = 500  # characters of a rollback reason kept in the ledger
MAX_APPROVERS = 10
MAX_PRIOR_REVIEWS = 5
_NAME_TIME = "%Y%m%dT%H%M%S.%fZ"


def merge_key(sha: str) -> str:
    return f"merge:{sha}"


def ledger_tag(entry: HistoryEntry, moment: datetime) -> tuple[str, str]:
    """The tag (name, JSON value) that records `entry`, written at `moment`."""
    name = f"{HISTORY_PREFIX}{moment.astimezone(UTC).strftime(_NAME_TIME)}.{entry.version}"
    value: dict[str, Any] = {
        "v": LEDGER_FORMAT,
        "action": entry.action.value,
        "version": entry.version,
        "previous": entry.previous,
        "at": entry.at or iso_seconds(moment),
        "key": entry.key,
    }
    if entry.pr:
        value["pr"] = entry.pr
    if entry.approvers:
        value["approvers"] = list(entry.approvers[:MAX_APPROVERS])
    if entry.by:
        value["by"] = entry.by[:100]
    if entry.reason:
        value["reason"] = entry.reason[:MAX_REASON]
    return name, json.dumps(value, sort_keys=True, separators=(",", ":"))


def _text(raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    return value if isinstance(value, str) and value else None


def _entry(name: str, value: str) -> HistoryEntry | None:
    """One ledger tag as an entry; None when it is not one this version can read."""
    try:
        raw = json.loads(value)
    except ValueError:
        return None
    if not isinstance(raw, dict) or raw.get("v") != LEDGER_FORMAT:
        return None
    version = _text(raw, "version") or name.rsplit(".", 1)[-1]
    try:
        action = LedgerAction(raw.get("action"))
    except ValueError:
        return None
    approvers = raw.get("approvers")
    return HistoryEntry(
        version=version,
        action=action,
        at=_text(raw, "at") or "",
        previous=_text(raw, "previous"),
        pr=_text(raw, "pr"),
        approvers=tuple(a for a in approvers if isinstance(a, str))
        if isinstance(approvers, list)
        else (),
        by=_text(raw, "by"),
        reason=_text(raw, "reason"),
        key=_text(raw, "key"),
    )


def parse_ledger(tags: Mapping[str, str]) -> list[HistoryEntry]:
    """The ledger's entries, newest first, one per idempotency key (the first one
    written wins); tags that do not parse are skipped."""
    named = sorted((k, v) for k, v in tags.items() if k.startswith(HISTORY_PREFIX))
    seen: set[str] = set()
    out: list[HistoryEntry] = []
    for name, value in named:
        entry = _entry(name, value)
        if entry is None or (entry.key is not None and entry.key in seen):
            continue
        if entry.key is not None:
            seen.add(entry.key)
        out.append(entry)
    return out[::-1]


def has_key(tags: Mapping[str, str], key: str) -> bool:
    """Whether the ledger already holds an entry with idempotency key `key`."""
    return any(e.key == key for e in parse_ledger(tags))


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(p.strip() for p in (value or "").split(",") if p.strip())


def _recorded(version: VersionRecord) -> HistoryEntry | None:
    """A promotion known only from a version's tags (written before the ledger)."""
    tags = version.tags
    if PREVIOUS_PRODUCTION not in tags:
        return None
    sha = tags.get(MERGED_COMMIT)
    return HistoryEntry(
        version=version.version,
        action=LedgerAction.RECORDED,
        at=tags.get(APPROVED_AT, ""),
        previous=tags.get(PREVIOUS_PRODUCTION),
        pr=tags.get(PR),
        approvers=_split(tags.get(APPROVERS)),
        key=merge_key(sha) if sha else None,
    )


def production_history(record: ModelRecord, alias: str) -> tuple[HistoryEntry, ...]:
    """Every version that held `alias`, newest first: the ledger, filled in from the
    versions' tags, and the current holder first when nothing records how it got
    the alias (it was set by hand)."""
    entries = parse_ledger(record.tags)
    keys = {e.key for e in entries if e.key}
    for version in record.versions:
        filled = _recorded(version)
        if filled is not None and (filled.key is None or filled.key not in keys):
            entries.append(filled)
    entries.sort(key=lambda e: e.at, reverse=True)
    holder = record.aliases.get(alias)
    if holder is not None and (not entries or entries[0].version != holder):
        entries.insert(0, HistoryEntry(version=holder, action=LedgerAction.OUTSIDE))
    return tuple(entries)


def previous_production(record: ModelRecord, alias: str) -> str | None:
    """The version that held `alias` before the current holder, by the history."""
    history = production_history(record, alias)
    if not history:
        return None
    current = history[0]
    if current.previous and current.previous != "none":
        return current.previous
    older = [e.version for e in history[1:] if e.version != current.version]
    return older[0] if older else None


def is_approved(*tag_sets: Mapping[str, str]) -> bool:
    """Whether a version or its run carries an approval recorded by model-review."""
    return any(tags.get(STATUS) == APPROVED for tags in tag_sets)


def prior_reviews(
    versions: Iterable[VersionRecord], skip_pr: str | None = None, limit: int = MAX_PRIOR_REVIEWS
) -> tuple[PriorReview, ...]:
    """The PRs that reviewed versions of the model, newest version first (the PR
    under review left out), at most `limit`."""
    found = [
        PriorReview(
            version=v.version,
            pr=v.tags[PR],
            status=v.tags.get(STATUS, "unknown"),
            approvers=_split(v.tags.get(APPROVERS)),
            at=v.tags.get(APPROVED_AT, ""),
        )
        for v in versions
        if v.tags.get(PR) and v.tags.get(PR) != skip_pr
    ]
    found.sort(key=lambda r: int(r.version) if r.version.isdigit() else -1, reverse=True)
    return tuple(found[:limit])


def reviewed_versions(record: ModelRecord) -> Sequence[VersionRecord]:
    """The versions model-review has a record of, newest first."""
    mine = [v for v in record.versions if any(k.startswith("model_review.") for k in v.tags)]
    return sorted(mine, key=lambda v: int(v.version) if v.version.isdigit() else -1, reverse=True)
