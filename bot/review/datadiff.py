"""The data diff: per dataset context, what changed between the candidate's dataset
inputs and production's (name, digest, source, row count, schema columns). Pure.

`same_rows` is the comparability rule the evaluation-data check uses too: two
datasets hold the same rows when they are the same data (same digest), or when they
have the same name, source and row count and their schemas differ only in columns
one side lacks (a feature added or removed changes MLflow's digest, not the rows).
MLflow does not record which column is the target, so a column one side lacks is
taken as a feature; a retyped column, or a digest change with an identical schema,
means other rows.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from bot.domain import DatasetInfo
from bot.domain.modelchanges import DatasetChange, FieldChange

SHORT_DIGEST = 8
NO_CONTEXT = "unspecified"
EVALUATE_CONTEXT = "evaluate()"  # an input without context that evaluate()'s metrics name


def same_rows(a: DatasetInfo, b: DatasetInfo) -> bool:
    """Whether `a` and `b` hold the same rows (see the module docstring)."""
    if a.digest and a.digest == b.digest:
        return True
    if a.name != b.name or a.source != b.source or a.rows is None or a.rows != b.rows:
        return False
    if a.columns is None or b.columns is None:
        return False
    old, new = dict(a.columns), dict(b.columns)
    if any(old[c] != new[c] for c in old.keys() & new.keys()):
        return False
    return old.keys() != new.keys()


def _context(d: DatasetInfo, evaluated: Collection[str]) -> str:
    if d.context:
        return d.context.lower()
    return EVALUATE_CONTEXT if d.digest and d.digest in evaluated else NO_CONTEXT


def _by_context(
    datasets: Sequence[DatasetInfo], evaluated: Collection[str]
) -> dict[str, list[DatasetInfo]]:
    out: dict[str, list[DatasetInfo]] = {}
    for d in datasets:
        out.setdefault(_context(d, evaluated), []).append(d)
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
    candidate: Sequence[DatasetInfo],
    production: Sequence[DatasetInfo],
    evaluated: Collection[str] = (),
) -> tuple[DatasetChange, ...]:
    """One entry per pair of inputs that differ, by context in the candidate's order;
    `evaluated`: the digests the runs' evaluate() metrics name (an input logged
    without a context is then shown as evaluate()'s)."""
    mine, theirs = _by_context(candidate, evaluated), _by_context(production, evaluated)
    out = []
    for context in dict.fromkeys([*mine, *theirs]):
        for before, after in _pairs(mine.get(context, []), theirs.get(context, [])):
            fields = _fields(before, after)
            columns = column_changes(
                before.columns if before else None, after.columns if after else None
            )
            either = after or before
            if (fields or columns) and either is not None:
                same = before is not None and after is not None and same_rows(before, after)
                out.append(DatasetChange(context, either.name, fields, columns, same))
    return tuple(out)
