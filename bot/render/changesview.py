"""The "what changed besides the metrics" section as the templates see it: per
candidate, blocks of bot messages (user data only inside `code spans`), cut to the
Budget with a line saying what was cut. Pure.

The comment renders them with |message; the preview page is made from the comment.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.domain.modelchanges import (
    ChangeReport,
    DatasetChange,
    EnvironmentDiff,
    EvalData,
    EvalDataCheck,
    FieldChange,
    SignatureDiff,
    SizeChange,
)
from bot.render import markdown as md
from bot.review.evaldata import DIFFERENT_DATA, ONE_SIDED_DATA, worst

SAME_ROWS = "same rows, other columns"
MAX_COLUMNS = 8  # column names listed on one line
COLLAPSE_AFTER = 6  # a block with more items than this is collapsed
CUT_ENV = "The package list is left out to fit GitHub's size limit."
CUT_SCHEMA = "The schema column lists are left out to fit GitHub's size limit."
CUT_SIGNATURE = "The list of signature changes is left out to fit GitHub's size limit."


@dataclass(frozen=True)
class Block:
    title: str
    summary: str  # a bot message
    items: tuple[str, ...] = ()  # bot messages, one bullet each
    cut: str = ""  # what the budget left out
    url: str | None = None  # a link for the summary (GitHub's compare view)

    @property
    def collapsed(self) -> bool:
        return len(self.items) > COLLAPSE_AFTER


@dataclass(frozen=True)
class ChangesView:
    name: str  # the candidate's display name
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class EvalNote:
    different: bool  # False: the softer one-sided note
    title: str
    detail: str  # a bot message


def q(value: object) -> str:
    """User data quoted as a code span (a backtick in it cannot end the span)."""
    return "`" + str(value).replace("`", "'") + "`"


def _arrow(change: FieldChange, quote: bool = True) -> str:
    def show(v: str | None) -> str:
        return "*(none)*" if v is None else (q(v) if quote else v)

    return f"{show(change.before)} → {show(change.after)}"


def _columns(columns: Sequence[FieldChange]) -> str:
    """Column changes on one line: removed, added (with types), retyped."""
    parts = []
    removed = [q(c.name) for c in columns if c.after is None]
    added = [f"{q(c.name)} ({q(c.after)})" for c in columns if c.before is None]
    retyped = [f"{q(c.name)} {_arrow(c)}" for c in columns if c.before and c.after]
    for label, names in (("removed", removed), ("added", added), ("retyped", retyped)):
        if names:
            shown = ", ".join(names[:MAX_COLUMNS])
            more = f" +{len(names) - MAX_COLUMNS} more" if len(names) > MAX_COLUMNS else ""
            parts.append(f"column{'s' if len(names) > 1 else ''} {label}: {shown}{more}")
    return "; ".join(parts)


def _what(d: DatasetChange, schemas: bool) -> str:
    """What changed in one input, without where (inputs that changed alike share it)."""
    if d.same_rows:
        return "; ".join(["same rows", _columns(d.columns)]) if schemas else SAME_ROWS
    fields = "; ".join(f"{f.name} {_arrow(f)}" for f in d.fields if f.name != "digest")
    digest = next((f for f in d.fields if f.name == "digest"), None)
    text = fields or (f"digest {_arrow(digest)}" if digest else "schema changed")
    return f"{text}; {_columns(d.columns)}" if schemas and d.columns else text


def _where(inputs: Sequence[DatasetChange]) -> str:
    """The inputs a line is about: `context` data `name`, or N inputs with each
    (name, context) listed once."""
    if len(inputs) == 1:
        return f"{q(inputs[0].context)} data {q(inputs[0].name)}"
    seen = Counter((d.name, d.context) for d in inputs)
    listed = ", ".join(
        f"{q(name)} ({q(ctx)}{f' ×{n}' if n > 1 else ''})" for (name, ctx), n in seen.items()
    )
    return f"{len(inputs)} inputs: {listed}"


def _data(changes: Sequence[DatasetChange], schemas: bool) -> Block:
    """One line per kind of change: inputs that changed alike are grouped, each
    context is named once in the summary."""
    groups: dict[str, list[DatasetChange]] = {}
    for d in changes:
        groups.setdefault(_what(d, schemas), []).append(d)
    items = tuple(f"{_where(inputs)}: {what}" for what, inputs in groups.items())
    contexts = ", ".join(q(c) for c in dict.fromkeys(d.context for d in changes))
    cut = not schemas and any(d.columns for d in changes)
    return Block("Data", f"changed: {contexts}", items, CUT_SCHEMA if cut else "")


def _signature(sig: SignatureDiff, full: bool) -> Block:
    icon = "⚠️ " if sig.breaking else ""
    items = tuple(f"{c.part} {q(c.name)}: {c.what} ({c.compat.value})" for c in sig.changes)
    cut = CUT_SIGNATURE if not full and len(sig.changes) > 1 else ""
    return Block("Signature", icon + sig.summary, items if full else (), cut)


def _environment(env: EnvironmentDiff, lists: bool) -> Block:
    parts = [f"Python {_arrow(env.python)}"] if env.python else []
    if env.packages:
        n = len(env.packages)
        parts.append(f"{n} package{'s' if n != 1 else ''} changed")
    items = tuple(
        f"{q(p.name)} added ({q(p.after)})"
        if p.before is None
        else f"{q(p.name)} removed (was {q(p.before)})"
        if p.after is None
        else f"{q(p.name)} {_arrow(p)}"
        for p in env.packages
    )
    cut = CUT_ENV if not lists and items else ""
    return Block("Environment", ", ".join(parts), items if lists else (), cut)


def human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if abs(size) < 1000 or unit == "GB":
            return f"{n} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} bytes"


RATIO_BEYOND = 10.0  # past +1000%, a percentage is harder to read than a ratio


def size_change(size: SizeChange) -> str:
    """`+50.0%`, or `×2900` (two significant digits) once the model grew past +1000%."""
    rel = size.relative
    if rel is None or rel <= RATIO_BEYOND:
        return md.fmt_pct(rel)
    ratio = size.after / size.before
    step = 10 ** max(len(str(int(ratio))) - 2, 0)
    return f"×{round(ratio / step) * step}"


def _size(size: SizeChange) -> Block:
    rel = f" ({size_change(size)})" if size.relative is not None else ""
    return Block("Model size", f"{human_bytes(size.before)} → {human_bytes(size.after)}{rel}")


def changes_view(
    name: str,
    report: ChangeReport,
    *,
    lists: bool,
    schemas: bool,
    sigs: bool,
    link: Callable[[str | None], str | None],
) -> ChangesView:
    """The blocks of one candidate; `link` makes a URL safe for markup (or None)."""
    blocks: list[Block] = []
    if report.datasets:
        blocks.append(_data(report.datasets, schemas))
    if report.model and (report.signature or report.environment or report.size):
        blocks.append(Block("Model", f"reviewed: {report.model}; the run logs more than one"))
    if report.signature:
        blocks.append(_signature(report.signature, sigs))
    if report.environment:
        blocks.append(_environment(report.environment, lists))
    if report.size:
        blocks.append(_size(report.size))
    if report.code:
        code = report.code
        shown = f"{q((code.before or 'not logged')[:12])} → {q((code.after or 'not logged')[:12])}"
        blocks.append(Block("Code", f"commits {shown}", url=link(code.url)))
    if report.skipped:
        blocks.append(Block("Not read", "some model files were skipped", report.skipped))
    return ChangesView(name, tuple(blocks))


def eval_note(checks: Sequence[EvalDataCheck]) -> EvalNote | None:
    """The note above the metrics table (None when there is nothing to warn about)."""
    found = worst(checks)
    if found is None:
        return None
    different = found.state is EvalData.DIFFERENT
    detail = found.detail
    if different and found.metrics:
        shown = ", ".join(q(m) for m in found.metrics[:5])
        more = len(found.metrics) - 5
        detail += f" (metrics on other data: {shown}{f' +{more} more' if more > 0 else ''})"
    if different:
        detail += ": the differences below are not comparable"
    return EvalNote(different, DIFFERENT_DATA if different else ONE_SIDED_DATA, detail)
