"""Operator commands on production (`model-review history` and `rollback`): MLflow
only, nothing on GitHub.

`history` reads production's ledger (bot.review.ledger) and every version with a
review record. `rollback` moves the production alias back, by default to the
version recorded as the previous production, and records who, when and why in the
ledger. It refuses a version that was never approved through model-review, or whose
run was deleted, unless forced; a version that no longer exists cannot be the
target at all. Open pull requests compare against the new production at their next
event.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from bot.constants import iso_seconds
from bot.domain import HistoryEntry, LedgerAction, ModelRecord, VersionRecord
from bot.errors import NotFoundError, RefusedError, TrackingError, UsageError
from bot.handlers.mlflowwrite import GaveUp, Writer
from bot.ports import RunsPort
from bot.review import ledger as lg

MAX_REASON = lg.MAX_REASON


@dataclass(frozen=True)
class ModelLedger:
    """What `history` shows: production's history and the reviewed versions."""

    model: str
    alias: str
    production: str | None
    history: tuple[HistoryEntry, ...]
    versions: tuple[VersionRecord, ...]


def _record(runs: RunsPort, name: str) -> ModelRecord:
    record = runs.model_record(name)
    if record is None:
        raise NotFoundError(
            f"there is no registered model `{name}` on this tracking server",
            hint="check the name (it is case-sensitive) and MLFLOW_TRACKING_URI",
        )
    return record


def read_history(runs: RunsPort, name: str, alias: str) -> ModelLedger:
    record = _record(runs, name)
    return ModelLedger(
        model=name,
        alias=alias,
        production=record.aliases.get(alias),
        history=lg.production_history(record, alias),
        versions=tuple(lg.reviewed_versions(record)),
    )


# --- showing the history ------------------------------------------------------------


def _entry_json(entry: HistoryEntry) -> dict[str, Any]:
    out: dict[str, Any] = {"version": entry.version, "action": entry.action.value}
    for key in ("at", "previous", "pr", "by", "reason", "key"):
        if value := getattr(entry, key):
            out[key] = value
    if entry.approvers:
        out["approvers"] = list(entry.approvers)
    return out


def _version_json(version: VersionRecord) -> dict[str, Any]:
    tags = version.tags
    return {
        "version": version.version,
        "run_id": version.run_id,
        "status": tags.get(lg.STATUS),
        "pr": tags.get(lg.PR),
        "approvers": [a for a in tags.get(lg.APPROVERS, "").split(",") if a],
        "approved_at": tags.get(lg.APPROVED_AT),
        "merged_commit": tags.get(lg.MERGED_COMMIT),
        "previous_production": tags.get(lg.PREVIOUS_PRODUCTION),
    }


def history_json(ledger: ModelLedger) -> dict[str, Any]:
    return {
        "model": ledger.model,
        "alias": ledger.alias,
        "production": ledger.production,
        "history": [_entry_json(e) for e in ledger.history],
        "versions": [_version_json(v) for v in ledger.versions],
    }


def describe(entry: HistoryEntry) -> str:
    """How one version got the alias, in a line (also used by the review comment)."""
    replaced = f" (replaced v{entry.previous})" if entry.previous not in (None, "none") else ""
    if entry.action is LedgerAction.OUTSIDE:
        return "holds the alias with no record: set outside model-review"
    if entry.action is LedgerAction.ROLLBACK:
        # `rollback --to` a newer version moves production forward: not a roll back
        older = entry.previous or ""
        forward = older.isdigit() and entry.version.isdigit() and int(entry.version) > int(older)
        verb = f"moved production to v{entry.version}" if forward else "rolled back"
        return f"{verb} by {entry.by or 'unknown'}: {entry.reason or 'no reason given'}{replaced}"
    who = f", approved by {', '.join(entry.approvers)}" if entry.approvers else ""
    pr = entry.pr or "an unknown pull request"
    source = " (from the version's tags)" if entry.action is LedgerAction.RECORDED else ""
    return f"promoted by {pr}{who}{replaced}{source}"


def history_text(ledger: ModelLedger) -> str:
    now = f"v{ledger.production}" if ledger.production else "no version"
    lines = [f"{ledger.model}: {now} holds alias `{ledger.alias}`", ""]
    lines.append("Production history (newest first):")
    for e in ledger.history:
        lines.append(f"  v{e.version:<4} {e.at or 'unknown time':<20}  {describe(e)}")
    if not ledger.history:
        lines.append("  (none recorded)")
    lines += ["", "Reviewed versions (newest first):"]
    for v in ledger.versions:
        row = _version_json(v)
        approvers = ", ".join(row["approvers"]) or "-"
        merged = (row["merged_commit"] or "")[:7] or "-"
        lines.append(
            f"  v{v.version:<4} {row['status'] or '-':<18} {row['pr'] or '-'}  "
            f"approvers: {approvers}  approved: {row['approved_at'] or '-'}  merged: {merged}"
        )
    if not ledger.versions:
        lines.append("  (no version was reviewed through model-review)")
    return "\n".join(lines) + "\n"


# --- rolling back -------------------------------------------------------------------


@dataclass(frozen=True)
class Rollback:
    """`model-review rollback`, as asked."""

    model: str
    reason: str
    by: str
    to: str | None = None
    alias: str = "production"
    force: bool = False


@dataclass(frozen=True)
class RolledBack:
    model: str
    alias: str
    version: str
    previous: str | None
    forced: tuple[str, ...] = ()  # the refusals --force overrode

    def text(self) -> str:
        before = f"from v{self.previous} " if self.previous else ""
        done = f"{self.model}: alias `{self.alias}` moved {before}to v{self.version}"
        forced = f" (forced: {'; '.join(self.forced)})" if self.forced else ""
        return (
            f"{done}{forced}; recorded in production's history. Open pull requests "
            f"compare against v{self.version} at their next event."
        )


def _target(request: Rollback, record: ModelRecord, current: str | None) -> str:
    if request.to is not None:
        if not request.to.isdigit():
            raise UsageError(f"--to {request.to!r} is not a version number", hint="e.g. --to 3")
        return request.to
    previous = lg.previous_production(record, request.alias)
    if previous is None:
        raise RefusedError(
            f"no previous `{request.alias}` version of `{request.model}` is recorded",
            hint="name the version with --to VERSION (see `model-review history`)",
        )
    return previous


def _refusals(runs: RunsPort, version: VersionRecord) -> list[str]:
    """Why `version` is not a safe production (empty: it is)."""
    if not version.run_id:
        return [f"v{version.version} has no source run"]
    run = runs.fetch_runs([version.run_id]).get(version.run_id)
    if run is None:
        return [f"the run of v{version.version} ({version.run_id}) was deleted"]
    if not lg.is_approved(version.tags, run.tags):
        return [f"v{version.version} was never approved through model-review"]
    return []


def rollback(
    runs: RunsPort,
    request: Rollback,
    now: datetime,
    key: str,
    pause: Callable[[float], None] = time.sleep,
) -> RolledBack:
    """Move the alias back and record it; the errors say what to do instead."""
    if not request.reason.strip():
        raise UsageError("--reason must say why", hint='e.g. --reason "latency regression"')
    if len(request.reason) > MAX_REASON:
        raise UsageError(f"--reason is longer than {MAX_REASON} characters")
    record = _record(runs, request.model)
    current = record.aliases.get(request.alias)
    target = _target(request, record, current)
    version = record.version(target)
    if version is None:
        raise NotFoundError(
            f"`{request.model}` has no version {target} (deleted, or never registered)",
            hint="see `model-review history` for the versions it has",
        )
    if target == current:
        raise RefusedError(f"v{target} already holds alias `{request.alias}`: nothing to do")
    refusals = _refusals(runs, version)
    if refusals and not request.force:
        raise RefusedError(
            f"not rolling back to v{target}: {'; '.join(refusals)}",
            hint="pass --force to roll back anyway (it is recorded as forced)",
        )
    return _move(runs, request, version, current, refusals, now, key, pause)


def _move(  # noqa: PLR0917 (one step of rollback)
    runs: RunsPort,
    request: Rollback,
    version: VersionRecord,
    current: str | None,
    forced: list[str],
    now: datetime,
    key: str,
    pause: Callable[[float], None],
) -> RolledBack:
    reason = request.reason.strip() + (f" [forced: {'; '.join(forced)}]" if forced else "")
    entry = HistoryEntry(
        version=version.version,
        action=LedgerAction.ROLLBACK,
        at=iso_seconds(now),
        previous=current or "none",
        by=request.by,
        reason=reason,
        key=f"rollback:{key}",
    )
    name, value = lg.ledger_tag(entry, now)
    w, moved = Writer(runs, pause), False
    try:
        move = partial(runs.set_alias, request.model, request.alias, version.version)
        w.do(f"moving alias {request.alias} of {request.model} to v{version.version}", move)
        moved = True
        tag = partial(runs.set_model_tag, request.model, name, value)
        w.do(f"recording the rollback in the history of {request.model}", tag)
    except GaveUp as exc:
        done = f"the alias now names v{version.version}" if moved else "nothing was changed"
        raise TrackingError(
            f"MLflow failed while {exc} ({exc.__cause__}): {done}",
            hint="run the command again once MLflow answers" if not moved else None,
        ) from None
    return RolledBack(request.model, request.alias, version.version, current, tuple(forced))
