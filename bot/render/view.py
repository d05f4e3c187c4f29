"""What the templates see: a ReviewReport cut to a Budget, with links resolved.

The renderer (bot.render.comment) tries the budgets of `LADDER` in order until the comment
fits; every cut is counted here so the comment can say what it left out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from bot.constants import login_key
from bot.domain import (
    Assignment,
    Candidate,
    CheckItem,
    GateDecision,
    GateState,
    ModelVersionInfo,
    NotesSummary,
    ParamChangeKind,
    RefKind,
    ReviewReport,
    RunSnapshot,
)
from bot.render import intervals as iv
from bot.render import markdown as md
from bot.render.changesview import ChangesView, changes_view, eval_note
from bot.render.historyview import history_view
from bot.render.metricview import (
    has_changed,
    metric_table,
    min_change_text,
    single_runs_note,
    training_summary,
)
from bot.review.evaldata import verdict_prefix
from bot.review.permodel import ModelSlots
from bot.review.verdict import verdict_line

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_URL_SAFE = ":/?#[]@!$&'*+,;=%-._~"


@dataclass(frozen=True)
class Budget:
    """How much of each part the comment may show; None means everything."""

    full_notes: bool = True
    note_chars: int = 20_000
    all_params: bool = True
    param_rows: int | None = None  # per table
    metric_rows: int | None = None
    unresolved: int | None = None
    candidates: int | None = None  # sections and metric columns
    images: int | None = None
    problems: int | None = None
    env_lists: bool = True  # the package lists of the environment diff
    data_schemas: bool = True  # the schema columns of the data diff
    signatures: bool = True  # the list of signature changes (the summary stays)


def _ladder() -> tuple[Budget, ...]:
    """What changed besides metrics shrinks first (environment lists, then data
    schemas, then signatures), then the notes, parameters, metrics and candidates."""
    steps = [Budget(), Budget(env_lists=False)]
    steps.append(replace(steps[-1], data_schemas=False))
    steps.append(replace(steps[-1], signatures=False))
    steps.append(replace(steps[-1], note_chars=4_000))
    steps.append(replace(steps[-1], full_notes=False))
    steps.append(replace(steps[-1], all_params=False))
    steps += [replace(steps[-1], param_rows=n) for n in (50, 10)]
    steps += [replace(steps[-1], metric_rows=n) for n in (200, 50, 20)]
    steps += [replace(steps[-1], unresolved=n) for n in (20, 5)]
    steps.append(replace(steps[-1], candidates=5, images=8, problems=10, param_rows=5))
    steps.append(replace(steps[-1], candidates=2, images=2, metric_rows=10, unresolved=0))
    return tuple(steps)


LADDER = _ladder()


# --- links ------------------------------------------------------------------------


def safe_url(url: str | None) -> str | None:
    """An http(s) or relative URL, percent-encoded so it cannot break markup, without
    any `user:password@` (e.g. from a tracking URI that carries credentials); else None."""
    if not url or not url.strip():
        return None
    url = md.strip_invisible(url.strip())
    scheme = _SCHEME.match(url)
    if scheme and scheme.group(1).lower() not in ("http", "https"):
        return None
    if scheme:
        try:
            parts = urlsplit(url)
        except ValueError:  # e.g. an unclosed IPv6 bracket
            return None
        url = urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
    return quote(url, safe=_URL_SAFE)


def _ui(report: ReviewReport) -> str | None:
    base = safe_url(report.ui_base)
    return base.rstrip("/") if base and _SCHEME.match(base) else None


def run_url(report: ReviewReport, run: RunSnapshot) -> str | None:
    ui = _ui(report)
    if ui is None:
        return None
    return (
        f"{ui}/#/experiments/{quote(run.experiment_id, safe='')}/runs/{quote(run.run_id, safe='')}"
    )


def version_url(report: ReviewReport, version: ModelVersionInfo | None) -> str | None:
    ui = _ui(report)
    if ui is None or version is None:
        return None
    return (
        f"{ui}/#/models/{quote(version.name, safe='')}/versions/{quote(version.version, safe='')}"
    )


# --- views for the templates ------------------------------------------------------


@dataclass(frozen=True)
class ParamTable:
    rows: tuple[tuple[str, str | None, str | None], ...]  # (key, production, candidate)
    total: int
    unchanged: int = 0

    @property
    def hidden(self) -> int:
        return self.total - len(self.rows)


@dataclass(frozen=True)
class CandidateView:
    index: int
    candidate: Candidate
    url: str | None
    version: ModelVersionInfo | None
    version_url: str | None
    changes: ParamTable | None  # None: no baseline, `values` shows the run's params
    values: ParamTable | None  # the run's own parameters
    notes: NotesSummary | None
    checklist: tuple[CheckItem, ...] = ()

    @property
    def run(self) -> RunSnapshot:
        return self.candidate.run


@dataclass(frozen=True)
class ReviewerView:
    role: str
    login: str
    icon: str
    state: str
    model: str = ""  # with several models under review: whose slot this is


def _cut(items: Sequence[Any], limit: int | None) -> tuple[Any, ...]:
    return tuple(items if limit is None else items[: max(limit, 0)])


def _param_tables(
    report: ReviewReport, cand: Candidate, budget: Budget
) -> tuple[ParamTable | None, ParamTable | None]:
    params = sorted(cand.run.params.items())
    values = ParamTable(
        tuple((k, None, v) for k, v in _cut(params, budget.param_rows)), len(params)
    )
    if report.baseline.run is None:
        return None, values
    diff = next((d for d in report.param_diffs if d.run_id == cand.run.run_id), None)
    changes = diff.changes if diff else ()
    rows = tuple(
        (
            c.key,
            c.before if c.kind is not ParamChangeKind.ADDED else None,
            c.after if c.kind is not ParamChangeKind.REMOVED else None,
        )
        for c in changes
    )
    table = ParamTable(_cut(rows, budget.param_rows), len(rows), diff.unchanged if diff else 0)
    return table, (values if budget.all_params and params else None)


def _candidate_views(report: ReviewReport, budget: Budget) -> tuple[CandidateView, ...]:
    views = []
    for i, cand in enumerate(_cut(report.candidates, budget.candidates)):
        version = cand.model_version or next(iter(cand.run.model_versions), None)
        changes, values = _param_tables(report, cand, budget)
        views.append(
            CandidateView(
                index=i,
                candidate=cand,
                url=run_url(report, cand.run),
                version=version,
                version_url=version_url(report, version),
                changes=changes,
                values=values,
                notes=report.notes[i] if i < len(report.notes) else None,
                checklist=report.checklists[i] if i < len(report.checklists) else (),
            )
        )
    return tuple(views)


_GATE_ICONS = {
    GateState.PENDING: "⏳",
    GateState.SUCCESS: "✅",
    GateState.FAILURE: "❌",
    GateState.ERROR: "⚠️",
}


def _reviewer_state(login: str, gate: GateDecision | None) -> tuple[str, str]:
    def among(names: Sequence[str]) -> bool:
        return login_key(login) in {login_key(n) for n in names}

    if gate is None:
        return "⏳", "requested"
    if among(gate.changes_requested_by):
        return "❌", "changes requested"
    if among(gate.stale):
        return "🔁", "approval is older than the current runs: please re-approve"
    if among(gate.approved_by) or (gate.state is GateState.SUCCESS and not among(gate.waiting_for)):
        return "✅", "approved"
    return "⏳", "waiting for review"


def reviewer_views(
    gate: GateDecision | None, assignment: Assignment | None
) -> tuple[ReviewerView, ...]:
    if assignment is None:
        return ()
    views = []
    for role, login in (("primary", assignment.primary), ("secondary", assignment.secondary)):
        if login:
            icon, state = _reviewer_state(login, gate)
            views.append(ReviewerView(role, login, icon, state))
    return tuple(views)


def _images(report: ReviewReport, budget: Budget) -> dict[str, Any]:
    """Images with a usable URL (primary first), cut to the budget."""
    usable = [replace(img, url=url) for img in report.images if (url := safe_url(img.url))]
    usable.sort(key=lambda img: not img.primary)
    shown = _cut(usable, budget.images)
    return {
        "primary_images": tuple(i for i in shown if i.primary),
        "secondary_images": tuple(i for i in shown if not i.primary),
        "hidden_images": len(usable) - len(shown),
    }


ONLY_PRODUCTION = "Only production is linked: nothing new to review"
NOT_FOUND = "The linked {what} was not found: nothing to review"
# what a reference that did not resolve names, by kind (a run unless listed)
NOT_FOUND_WHAT = {
    RefKind.MODEL_VERSION: "model version",
    RefKind.MODEL_ALIAS: "model alias",
    RefKind.MODEL_STAGE: "model version",
    RefKind.LOGGED_MODEL: "logged model",
}


def headline(report: ReviewReport) -> str:
    """The comment's first line: the verdict (different evaluation data first, in
    words), or why there is nothing to compare."""
    if not report.candidates and report.unresolved:
        n = len(report.unresolved)
        if n == 1:
            what = NOT_FOUND_WHAT.get(report.unresolved[0].ref.kind, "run")
            return NOT_FOUND.format(what=what)
        return f"None of the {n} linked runs was found: nothing to review"
    if not report.candidates and report.baseline.linked:
        return ONLY_PRODUCTION
    line = verdict_line(report.metric_rows, report.baseline.run is not None, len(report.candidates))
    return verdict_prefix([c.eval_data for c in report.changes]) + line


def _change_views(report: ReviewReport, budget: Budget) -> tuple[ChangesView, ...]:
    shown = _cut(list(zip(report.candidates, report.changes, strict=False)), budget.candidates)
    views = (
        changes_view(
            cand.run.display_name,
            changes,
            lists=budget.env_lists,
            schemas=budget.data_schemas,
            sigs=budget.signatures,
            link=safe_url,
        )
        for cand, changes in shown
    )
    return tuple(v for v in views if v.blocks)


def model_reviewer_views(models: Sequence[ModelSlots]) -> tuple[ReviewerView, ...]:
    """Each model's reviewers, judged by that model's own gate decision."""
    return tuple(
        replace(view, model=slot.label)
        for slot in models
        for view in reviewer_views(slot.decision, slot.assignment)
    )


def build_context(
    report: ReviewReport,
    budget: Budget,
    gate: GateDecision | None,
    assignment: Assignment | None,
    models: Sequence[ModelSlots] = (),
) -> dict[str, Any]:
    """The variables of comment.md.j2 for one budget."""
    baseline_run = report.baseline.run
    reviewers = model_reviewer_views(models) if models else reviewer_views(gate, assignment)
    return {
        "report": report,
        "budget": budget,
        "gate": gate,
        "gate_icon": _GATE_ICONS.get(gate.state, "") if gate else "",
        "verdict": headline(report),
        "eval_note": eval_note([c.eval_data for c in report.changes]),
        "change_views": _change_views(report, budget),
        "candidates": _candidate_views(report, budget),
        "hidden_candidates": len(report.candidates)
        - len(_cut(report.candidates, budget.candidates)),
        "baseline": report.baseline,
        "baseline_url": run_url(report, baseline_run) if baseline_run else None,
        "baseline_version_url": version_url(report, report.baseline.model_version),
        "metrics": metric_table(report.metric_rows, budget.metric_rows, baseline_run is not None),
        "single_runs": single_runs_note(report.metric_rows, baseline_run is not None),
        "training_summary": training_summary(report.metric_rows),
        "min_change": min_change_text(report.min_change),
        "has_changed": has_changed(report.metric_rows),
        "methods": iv.methods_line(report.metric_rows),
        "missed_bars": iv.has_missed(report.metric_rows),
        "reviewers": reviewers,
        "unresolved": _cut(report.unresolved, budget.unresolved),
        "problems": _cut(report.problems, budget.problems),
        "history": history_view(report, safe_url, _ui(report)),
        **_images(report, budget),
    }
