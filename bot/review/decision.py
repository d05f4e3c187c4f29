"""The merge gate's decision, in one place: a new gate rule goes here.

`decide_gate` takes everything the gate depends on (`GateInputs`: the review, the
model groups, each model's reviewers and remembered slots, the reviews, who counts,
the config and the time) and returns the `Decision`: the commit status, each model's
slots and the notes for the comment. It is pure; every path that sets or checks the
gate calls it and none assembles a decision itself: the PR review (one model or
several, bot.handlers.pull_request), the merge-time re-check before a promotion
(bot.handlers.closed) and reconcile's "is a review due" (`outdated`, used by
bot.handlers.reviewdue).

The rules, in order:

1. nothing resolved: FAILURE (`UNRESOLVED`);
2. the approvals (bot.review.gate): each model's primary and secondary slot, who
   counts (`Standing`), staleness (an approval older than the model's last change,
   or of another commit with `gate.stale_on_new_commits`); several models
   (`reviewers.models`): one decision per model, combined (bot.review.permodel);
3. then each function of `RULES`, in order, may turn the decision red:
   `gate.fail_on_regression` (bot.review.policy),
   `compare.require_same_eval_data: fail` (bot.review.evaldata), a bar on a
   metric the candidate does not log (PENDING; FAILURE under fail_on_regression), and
   references left out by the caps of bot.review.refs (`pending`, never `success`,
   also with no model found: `no_model`).

A new rule is a function `(decision, inputs) -> decision` appended to `RULES` (an
ERROR, the bot could not check, must stay an ERROR; nothing may turn a decision
green), with its case in tests/test_decision.py, which runs every case through the
PR review and the merge-time re-check.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from bot.config.schema import Config
from bot.constants import STATUS_DESCRIPTION_LIMIT, bare_login, login_key
from bot.domain import (
    Assignment,
    Candidate,
    GateDecision,
    GateState,
    PullRequest,
    Review,
    ReviewReport,
    ReviewState,
    Standing,
)
from bot.review.evaldata import apply_rule
from bot.review.gate import decide, fit, latest_reviews
from bot.review.identity import baseline_key, model_fingerprint, run_fingerprint
from bot.review.permodel import (
    ModelGroup,
    ModelSlots,
    Pools,
    SlotMemory,
    combine,
    model_groups,
    remember,
)
from bot.review.policy import hold_for_metrics

SINGLE = ""  # the label of the one group when the PR is reviewed as one model
UNRESOLVED = "the MLflow references in this PR could not be resolved"
NO_MODEL = "no model under review"
NEEDS_RUN_STATUS = "this PR changes model code but links no MLflow run"
STALE_WHY = "approvals given before {at} no longer count: {why}"
RUNS_MOVED = "the runs under review changed since the status was set"
BASELINE_MOVED = "the production baseline changed since the status was set"
BAR_NOT_LOGGED = "a bar on {names}, which the candidate does not log"
LOST_ACCESS = "@{login}'s approval stopped counting: @{login} lost write access"
CAPPED = "MLflow references were left out (over 50, or text too long): the gate waits for fewer"


@dataclass(frozen=True)
class GateInputs:
    """Everything the gate depends on, for one event."""

    report: ReviewReport
    groups: tuple[ModelGroup, ...]  # gate_groups(): one group labelled SINGLE for one model
    assignments: Mapping[str, Assignment]  # each group's reviewers, by label
    pr: PullRequest  # its author and head commit
    config: Config
    now: str  # ISO 8601 UTC
    reviews: tuple[Review, ...] = ()
    remembered: Mapping[str, SlotMemory] = field(default_factory=dict)  # several models
    standings: Mapping[str, Standing] = field(default_factory=dict)  # who counts, by label
    changed_at: str = ""  # when what is under review last changed (the state)
    why: str = ""  # and why, when the state knows (a model of several moved then: its why)


@dataclass(frozen=True)
class Decision:
    """The gate for the head commit, each model's slots and what the comment notes."""

    gate: GateDecision
    slots: tuple[ModelSlots, ...]
    notes: tuple[str, ...] = ()
    memory: Mapping[str, SlotMemory] = field(default_factory=dict)  # several models: to keep


Rule = Callable[[GateDecision, GateInputs], GateDecision]


def _metrics(decision: GateDecision, inputs: GateInputs) -> GateDecision:
    return hold_for_metrics(decision, inputs.report, inputs.config.gate.fail_on_regression)


def _eval_data(decision: GateDecision, inputs: GateInputs) -> GateDecision:
    checks = [change.eval_data for change in inputs.report.changes]
    return apply_rule(decision, checks, inputs.config.compare.require_same_eval_data)


def _bars_not_logged(decision: GateDecision, inputs: GateInputs) -> GateDecision:
    """A `min`/`max`/`mlflow` bar on a metric a candidate does not log (a typo in the
    config, or a metric the run stopped logging) is a bar nobody checked: never green.
    PENDING with that reason, FAILURE under `gate.fail_on_regression`."""
    missing = inputs.report.bars_not_logged
    if not missing or decision.state in (GateState.ERROR, GateState.FAILURE):
        return decision
    names = ", ".join(f"`{name}`" for name in missing[:3])
    more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
    reason = BAR_NOT_LOGGED.format(names=names + more)
    if inputs.config.gate.fail_on_regression:
        return replace(decision, state=GateState.FAILURE, description=fit(reason))
    text = reason if decision.state is GateState.SUCCESS else f"{reason}; {decision.description}"
    return replace(decision, state=GateState.PENDING, description=fit(text))


def _capped(decision: GateDecision, inputs: GateInputs) -> GateDecision:
    """References the caps left out (issue #22): what they name is unknown, so the
    gate waits (`pending`) instead of turning green over them."""
    return _hold(decision, inputs.report.capped)


def _hold(decision: GateDecision, capped: int) -> GateDecision:
    if not capped or decision.state is not GateState.SUCCESS:
        return decision
    return replace(decision, state=GateState.PENDING, description=CAPPED)


# The rules applied after the approvals, in order: each may only turn the gate red.
RULES: tuple[Rule, ...] = (_metrics, _eval_data, _bars_not_logged, _capped)


def gate_groups(candidates: Sequence[Candidate], config: Config) -> tuple[ModelGroup, ...]:
    """The groups the gate decides over: one per model with `reviewers.models` and
    several models under review, else one group (SINGLE) with the pools of its model."""
    groups = model_groups(candidates, config.reviewers)
    if config.reviewers.models and len(groups) > 1:
        return tuple(groups)
    reviewers = config.reviewers
    pools = groups[0].pools if groups else Pools(reviewers.primary, reviewers.secondary)
    return (ModelGroup(SINGLE, pools, tuple(candidates)),)


def per_model(groups: Sequence[ModelGroup]) -> bool:
    """Whether each model has its own slots (else one pair for the whole PR)."""
    return len(groups) > 1


def decide_gate(inputs: GateInputs) -> Decision:
    """The gate decision with every note (see the module's docstring)."""
    if not inputs.report.candidates:
        gate = GateDecision(GateState.FAILURE, UNRESOLVED)
        return Decision(gate, (ModelSlots(SINGLE, _assignment(inputs, SINGLE), gate),))
    if per_model(inputs.groups):
        return _several(inputs)
    approvals = _lost_access(_judge(inputs, SINGLE, inputs.changed_at), inputs, SINGLE)
    notes = (*approvals.notes, *_stale_why(approvals, inputs))
    gate = _apply_rules(approvals, inputs)
    return Decision(gate, (ModelSlots(SINGLE, _assignment(inputs, SINGLE), gate),), notes)


def _several(inputs: GateInputs) -> Decision:
    """Each model judged on its own slots, and one gate over all of them; a model whose
    approvals went stale in the event the state's `why` is about says why."""
    slots, memory = [], {}
    notes: list[str] = []  # why a model's approvals went stale
    for group in inputs.groups:
        assignment = _assignment(inputs, group.label)
        part = model_fingerprint(inputs.report, group.candidates)
        mem = remember(inputs.remembered.get(group.label), part, inputs.now, assignment)
        memory[group.label] = mem
        decision = _lost_access(_judge(inputs, group.label, mem.changed_at), inputs, group.label)
        slots.append(ModelSlots(group.label, assignment, decision))
        if mem.changed_at == inputs.changed_at:  # this model moved with the event's `why`
            notes.extend(f"{group.label}: {n}" for n in _stale_why(decision, inputs))
    combined = combine(slots)
    notes = [*combined.notes, *notes]
    return Decision(_apply_rules(combined, inputs), tuple(slots), tuple(notes), memory)


def _assignment(inputs: GateInputs, label: str) -> Assignment:
    return inputs.assignments.get(label) or Assignment(None, None)


def _judge(inputs: GateInputs, label: str, changed_at: str) -> GateDecision:
    pr, gate = inputs.pr, inputs.config.gate
    return decide(
        inputs.reviews,
        _assignment(inputs, label),
        pr.author,
        changed_at,
        pr.head_sha,
        gate.stale_on_new_commits,
        standing=inputs.standings.get(label),
    )


def _lost_access(decision: GateDecision, inputs: GateInputs, label: str) -> GateDecision:
    """A slot holder's current approval that no longer counts because GitHub says
    they cannot write (access removed after approving, issue #22): the status and the
    merge's closing line say so instead of "waiting for @carol"."""
    standing = inputs.standings.get(label)
    if decision.state is not GateState.PENDING or standing is None:
        return decision
    holders = [h for h in _holders(inputs, label) if "/" not in h]
    latest = latest_reviews(inputs.reviews, inputs.pr.author)
    lost = [
        h
        for h in holders
        if (r := latest.get(login_key(h))) is not None
        and r.state is ReviewState.APPROVED
        and login_key(h) not in standing.writers
    ]
    if not lost:
        return decision
    words = "; ".join(LOST_ACCESS.format(login=h) for h in lost)
    description = words if len(words) <= STATUS_DESCRIPTION_LIMIT else words[:139] + "…"
    return replace(decision, description=description)


def _holders(inputs: GateInputs, label: str) -> list[str]:
    assignment = _assignment(inputs, label)
    return [bare_login(h) for h in (assignment.primary, assignment.secondary) if h]


def _apply_rules(decision: GateDecision, inputs: GateInputs) -> GateDecision:
    for rule in RULES:
        decision = rule(decision, inputs)
    return decision


def _stale_why(decision: GateDecision, inputs: GateInputs) -> tuple[str, ...]:
    """Why approvals are stale, when some are and the state knows."""
    if not decision.stale or not inputs.why:
        return ()
    return (STALE_WHY.format(at=inputs.changed_at, why=inputs.why),)


# --- the decisions without a review -------------------------------------------------


def no_model(touched: Sequence[str], capped: int = 0) -> GateDecision:
    """No run linked: green, unless the PR changes paths that need one, or references
    were left out by the caps (they may name one: `pending`)."""
    if touched:
        return GateDecision(GateState.FAILURE, NEEDS_RUN_STATUS)
    return _hold(GateDecision(GateState.SUCCESS, NO_MODEL), capped)


def not_checked(error: str) -> GateDecision:
    """The bot could not check (bad config, MLflow or GitHub down): ERROR, never green."""
    return decide([], Assignment(None, None), "", None, "", False, error=error)


def outdated(report: ReviewReport, fingerprint: str, baseline: str | None) -> str | None:
    """Why a decision made on the runs `fingerprint` and the production `baseline`
    ("run id:version"; None: not remembered) no longer holds for `report`, or None."""
    if run_fingerprint(report) != fingerprint:
        return RUNS_MOVED
    if baseline is not None and baseline != baseline_key(report):
        return BASELINE_MOVED
    return None


# --- the gate elsewhere: merge groups, check runs, PRs without secrets -------------

GROUP_APPROVED = "every PR in the merge group is approved: {prs}"
GROUP_HELD = "#{number} {why}"
GROUP_EMPTY = "no pull request found in the merge group ({ref})"
NO_SECRETS = "no model review: Dependabot PRs get no secrets (MLflow), and no model path changed"
NO_SECRETS_MODEL = (
    "Dependabot PR changes {paths} but gets no MLflow secrets: "
    "a maintainer can comment `/model-review refresh`"
)
# a gate as a check run's conclusion: pending waits for reviewers (GitHub shows
# "Action required" with the details link); an ERROR is never green
CONCLUSIONS = {
    GateState.SUCCESS: "success",
    GateState.FAILURE: "failure",
    GateState.PENDING: "action_required",
    GateState.ERROR: "failure",
}


def merge_group_gate(head_ref: str, verdicts: Sequence[tuple[int, GateDecision]]) -> GateDecision:
    """The gate of a merge group's commit: SUCCESS only when every PR in it is SUCCESS
    now (each decided again by `decide_gate`); else FAILURE naming the first PR that is
    not, and why (a merge queue cannot wait on a pending check: the entry would time
    out). A group in which no PR was found is never green."""
    if not verdicts:
        return GateDecision(GateState.FAILURE, GROUP_EMPTY.format(ref=head_ref))
    for number, decision in verdicts:
        if decision.state is not GateState.SUCCESS:
            why = f"{decision.state.value}: {decision.description}"
            return GateDecision(GateState.FAILURE, GROUP_HELD.format(number=number, why=why))
    prs = ", ".join(f"#{n}" for n, _ in verdicts)
    return GateDecision(GateState.SUCCESS, GROUP_APPROVED.format(prs=prs))


def check_conclusion(state: GateState) -> str:
    """The check run's conclusion for a gate state (CONCLUSIONS)."""
    return CONCLUSIONS[state]


def without_secrets(touched: Sequence[str]) -> GateDecision:
    """A Dependabot PR, whose workflow gets no secrets (no MLflow): neutral and green,
    unless it changes paths that need a review (`require_review_for`)."""
    if touched:
        shown = ", ".join(f"`{f}`" for f in touched[:2]) + (" …" if len(touched) > 2 else "")
        return GateDecision(GateState.FAILURE, NO_SECRETS_MODEL.format(paths=shown))
    return GateDecision(GateState.SUCCESS, NO_SECRETS)
