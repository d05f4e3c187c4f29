"""Reviewers per model (`reviewers.models`): which pools review which model, and one
gate over several models.

A candidate belongs to its registered model (the version it was named by, else the
first version registered from its run), or, not registered yet, to its experiment,
labelled `experiment:<name>`. `reviewers.models` keys are registered-model names or
globs, or `experiment:<name or glob>`, matched case-sensitively like MLflow names;
the first match in file order wins and the top-level pools are the default.

With several models under review, each gets its own primary and secondary (one
person may hold slots of several models); the gate needs every model's slots, and an
approval goes stale only when that model's runs change. The commit status names the
first model still waiting and counts the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

from bot.config.schema import EXPERIMENT_PREFIX, ReviewersConfig
from bot.constants import login_key
from bot.domain import Assignment, Candidate, GateDecision, GateState
from bot.review.gate import MAX_DESCRIPTION, fit

_ORDER = (
    (GateState.ERROR, "not checked"),
    (GateState.FAILURE, "with changes requested"),
    (GateState.PENDING, "waiting"),
)


@dataclass(frozen=True)
class Pools:
    primary: tuple[str, ...] = ()
    secondary: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModelGroup:
    """The candidates of one model and the pools that review it."""

    label: str  # registered model name, or "experiment:<name>"
    pools: Pools
    candidates: tuple[Candidate, ...]


@dataclass(frozen=True)
class ModelSlots:
    """One model's reviewers and what the gate says about them."""

    label: str
    assignment: Assignment
    decision: GateDecision


@dataclass(frozen=True)
class SlotMemory:
    """What the bot remembers per model between events."""

    primary: str | None = None
    secondary: str | None = None
    fingerprint: str = ""
    changed_at: str = ""

    @property
    def assignment(self) -> Assignment:
        return Assignment(self.primary, self.secondary)


def registered_name(candidate: Candidate) -> str | None:
    """The registered model a candidate is a version of, if any."""
    if candidate.model_version is not None:
        return candidate.model_version.name
    versions = candidate.run.model_versions
    return versions[0].name if versions else None


def label_of(candidate: Candidate) -> str:
    name = registered_name(candidate)
    if name is not None:
        return name
    run = candidate.run
    return f"{EXPERIMENT_PREFIX}{run.experiment_name or run.experiment_id}"


def pools_for(config: ReviewersConfig, candidate: Candidate) -> Pools:
    """The first `reviewers.models` entry matching the candidate, else the defaults."""
    name, run = registered_name(candidate), candidate.run
    experiments = [e for e in (run.experiment_name, run.experiment_id) if e]
    for rule in config.models:
        if rule.pattern.startswith(EXPERIMENT_PREFIX):
            glob = rule.pattern.removeprefix(EXPERIMENT_PREFIX)
            hit = any(fnmatchcase(e, glob) for e in experiments)
        else:
            hit = name is not None and fnmatchcase(name, rule.pattern)
        if hit:
            return Pools(rule.primary, rule.secondary)
    return Pools(config.primary, config.secondary)


def model_groups(candidates: Sequence[Candidate], config: ReviewersConfig) -> list[ModelGroup]:
    """The candidates by model, in order of first appearance."""
    grouped: dict[str, list[Candidate]] = {}
    for candidate in candidates:
        grouped.setdefault(label_of(candidate), []).append(candidate)
    return [
        ModelGroup(label, pools_for(config, members[0]), tuple(members))
        for label, members in grouped.items()
    ]


# --- memory between events (kept in the state block, bot.handlers.state) ----------


def remember(previous: SlotMemory | None, fingerprint: str, now: str, a: Assignment) -> SlotMemory:
    """A model's memory after this event: `changed_at` moves only with its runs."""
    changed = previous is None or previous.fingerprint != fingerprint or not previous.changed_at
    at = now if changed or previous is None else previous.changed_at
    return SlotMemory(a.primary, a.secondary, fingerprint, at)


# --- one gate over several models --------------------------------------------------


def _union(slots: Sequence[ModelSlots], field: str) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for slot in slots:
        for login in getattr(slot.decision, field):
            seen.setdefault(login_key(login), login)
    return tuple(seen.values())


def _summary(first: ModelSlots, others: int, word: str) -> str:
    suffix = f" (+{others} more {word})" if others else ""
    head = f"{first.label}: {first.decision.description}"
    return fit(head, MAX_DESCRIPTION - len(suffix)) + suffix


def combine(slots: Sequence[ModelSlots]) -> GateDecision:
    """The commit status over every model: FAILURE if any model has a change request,
    SUCCESS only when every model is approved, else PENDING; the description names
    the first model in that state and counts the others."""
    common = {
        "approved_by": _union(slots, "approved_by"),
        "waiting_for": _union(slots, "waiting_for"),
        "changes_requested_by": _union(slots, "changes_requested_by"),
        "stale": _union(slots, "stale"),
    }
    for state, word in _ORDER:
        hit = [s for s in slots if s.decision.state is state]
        if hit:
            return GateDecision(state, _summary(hit[0], len(hit) - 1, word), **common)
    if not slots or any(s.decision.state is not GateState.SUCCESS for s in slots):
        return GateDecision(GateState.PENDING, "no model to review", **common)  # fail closed
    text = fit(f"approved: all {len(slots)} models ({', '.join(s.label for s in slots)})")
    return GateDecision(GateState.SUCCESS, text, **common)


def gate_models(
    groups: Sequence[ModelGroup],
    memory: Mapping[str, SlotMemory],
    now: str,
    *,
    fingerprint: Callable[[Sequence[Candidate]], str],
    choose: Callable[[Pools, Assignment | None], Assignment],
    judge: Callable[[Assignment, str], GateDecision],
) -> tuple[GateDecision, tuple[ModelSlots, ...], dict[str, SlotMemory]]:
    """Assign and judge every model: `choose(pools, previous)` assigns a model's
    slots, `judge(assignment, changed_at)` is the gate for one model. Returns the
    combined decision, each model's slots, and the memory to keep."""
    slots: list[ModelSlots] = []
    kept: dict[str, SlotMemory] = {}
    for group in groups:
        previous = memory.get(group.label)
        assignment = choose(group.pools, previous.assignment if previous else None)
        mem = remember(previous, fingerprint(group.candidates), now, assignment)
        kept[group.label] = mem
        slots.append(ModelSlots(group.label, assignment, judge(assignment, mem.changed_at)))
    return combine(slots), tuple(slots), kept
