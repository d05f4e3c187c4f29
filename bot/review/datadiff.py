"""The data diff: per dataset context, what changed between the candidate's dataset
inputs and production's (name, digest, source, row count, schema columns). Pure.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain import DatasetInfo
from bot.domain.modelchanges import DatasetChange, FieldChange

SHORT_DIGEST = 8
NO_CONTEXT = "unspecified"


def _by_context(datasets: Sequence[DatasetInfo]) -> dict[str, list[DatasetInfo]]:
    out: dict[str, list[DatasetInfo]] = {}
    for d in datasets:
        out.setdefault((d.context or NO_CONTEXT).lower(), []).append(d)
    return out


def _pairs(
    mine: list[DatasetInfo], theirs: list[DatasetInfo]
) -> list[tuple[DatasetInfo | None, DatasetInfo | None]]:
    """(production, candidate) pairs: same name first, then in logged order."""
    left = list(theirs)
    out: list[tuple[DatasetInfo | None, DatasetInfo | None]] = []
    unmatched: list[DatasetInfo] = []
    for d in mine:
        twin = next((t for t in left if t.name == d.name), None)
        if twin is None:
            unmatched.append(d)
        else:
            left.remove(twin)
            out.append((twin, d))
    for d in unmatched:
        out.append((left.pop(0) if left else None, d))
    out += [(t, None) for t in left]
    return out


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _fields(before: DatasetInfo | None, after: DatasetInfo | None) -> tuple[FieldChange, ...]:
    def short(d: DatasetInfo | None) -> str | None:
        return d.digest[:SHORT_DIGEST] if d and d.digest else None

    values = (
        ("name", before.name if before else None, after.name if after else None),
        ("digest", short(before), short(after)),
        ("source", before.source if before else None, after.source if after else None),
        ("rows", _text(before.rows if before else None), _text(after.rows if after else None)),
    )
    return tuple(FieldChange(n, b, a) for n, b, a in values if b != a and (b or a))


def column_changes(
    before: tuple[tuple[str, str], ...] | None, after: tuple[tuple[str, str], ...] | None
) -> tuple[FieldChange, ...]:
    """Columns added (before None), removed (after None) or retyped, production first."""
    if before is None or after is None:
        return ()
    old, new = dict(before), dict(after)
    removed = [FieldChange(c, t, None) for c, t in before if c not in new]
    added = [FieldChange(c, None, t) for c, t in after if c not in old]
    retyped = [FieldChange(c, old[c], t) for c, t in after if c in old and old[c] != t]
    return (*removed, *added, *retyped)


def data_diff(
    candidate: Sequence[DatasetInfo], production: Sequence[DatasetInfo]
) -> tuple[DatasetChange, ...]:
    """One entry per context whose datasets differ, in the candidate's order."""
    mine, theirs = _by_context(candidate), _by_context(production)
    out = []
    for context in dict.fromkeys([*mine, *theirs]):
        for before, after in _pairs(mine.get(context, []), theirs.get(context, [])):
            fields = _fields(before, after)
            columns = column_changes(
                before.columns if before else None, after.columns if after else None
            )
            either = after or before
            if (fields or columns) and either is not None:
                out.append(DatasetChange(context, either.name, fields, columns))
    return tuple(out)
