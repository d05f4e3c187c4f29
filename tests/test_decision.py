"""The merge gate's one decision (bot.review.decision): the same cases through the PR
review and through the merge-time re-check, which must agree, against the REAL MLflow
test server; and the pure function's own rules.

A gate rule added to bot.review.decision gets its row in CASES.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest
from mlflow.tracking import MlflowClient
from mlflow_helpers import DatasetSpec, log_datasets

from bot.config.schema import Config, load_config
from bot.domain import (
    Assignment,
    Baseline,
    Candidate,
    GateState,
    PullRequest,
    Review,
    ReviewReport,
    ReviewState,
    RunSnapshot,
    Standing,
)
from bot.render.comment import OUTCOME
from bot.review.decision import (
    SINGLE,
    UNRESOLVED,
    GateInputs,
    decide_gate,
    gate_groups,
    no_model,
    not_checked,
    outdated,
    per_model,
)
from bot.review.identity import baseline_key, run_fingerprint
from tests.record_world import World, build_world, two_models

SINGLE_APPROVERS = ("bob", "carol")  # PR 7's primary and secondary (tests/record_world.py)
MODEL_APPROVERS = ("frank", "grace", "judy", "ken")
DIFFERENT_DATA = "metrics measured on different evaluation data than production"
BAR = "metrics:\n  rules:\n    val_f1: {min: 0.95}\ngate:\n  fail_on_regression: true\n"
TYPO = "metrics:\n  rules:\n    val_fl: {min: 0.5}\n"  # no run logs `val_fl`
NOT_LOGGED = "a bar on `val_fl`, which the candidate does not log"


@dataclass(frozen=True)
class Case:
    name: str
    expected: GateState
    says: str  # a part of the status' description
    models: bool = False  # two models, reviewed per model
    config: str = ""
    approvals: bool = True  # every slot approves
    objection: str | None = None  # who requests changes
    eval_data: tuple[str, str] | None = None  # (production's, candidate's) dataset digests


CASES = [
    Case("approved", GateState.SUCCESS, "approved by @bob (primary)"),
    Case("waiting", GateState.PENDING, "waiting for @bob (primary)", approvals=False),
    Case("changes requested", GateState.FAILURE, "changes requested by @bob", objection="bob"),
    Case(
        "different eval data, fail",
        GateState.FAILURE,
        DIFFERENT_DATA,
        config="compare:\n  require_same_eval_data: fail\n",
        eval_data=("d1", "d2"),
    ),
    Case(
        "different eval data, warn",
        GateState.SUCCESS,
        "approved by",
        config="compare:\n  require_same_eval_data: warn\n",
        eval_data=("d1", "d2"),
    ),
    Case("a bar missed", GateState.FAILURE, "absolute bar missed by val_f1", config=BAR),
    Case("a bar on a metric not logged", GateState.PENDING, NOT_LOGGED, config=TYPO),
    Case(
        "a bar on a metric not logged, fail_on_regression",
        GateState.FAILURE,
        NOT_LOGGED,
        config=TYPO + "gate:\n  fail_on_regression: true\n",
    ),
    Case("two models approved", GateState.SUCCESS, "approved: all 2 models", models=True),
    Case(
        "two models waiting",
        GateState.PENDING,
        "waiting for @frank (primary)",
        models=True,
        approvals=False,
    ),
    Case(
        "two models, different eval data, fail",
        GateState.FAILURE,
        DIFFERENT_DATA,
        models=True,
        config="compare:\n  require_same_eval_data: fail\n",
        eval_data=("d1", "d2"),
    ),
    Case(
        "two models, a bar missed",
        GateState.FAILURE,
        "absolute bar missed",
        models=True,
        config=BAR,
    ),
]


def _evaluated_on(world: World, run_id: str, digest: str) -> None:
    log_datasets(world.client, run_id, DatasetSpec("holdout", digest, context="evaluation"))


def _set_up(world: World, case: Case) -> None:
    extra = f"promote: true\n{case.config}"
    if case.models:
        two_models(world, extra)
    else:
        world.configure(extra)
    if case.eval_data:
        _evaluated_on(world, world.production, case.eval_data[0])
        _evaluated_on(world, world.first, case.eval_data[1])


def _review(world: World, case: Case) -> None:
    world.review()  # assigns the reviewers
    people = MODEL_APPROVERS if case.models else SINGLE_APPROVERS
    if case.approvals:
        for n, user in enumerate(people):
            world.approve(user, f"2026-11-27T11:{n:02d}:00Z")
    if case.objection:
        world.approve(case.objection, "2026-11-27T11:30:00Z", "CHANGES_REQUESTED")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_the_pr_review_and_the_merge_decide_alike(
    case: Case, mlflow_client: MlflowClient, mlflow_server: str
) -> None:
    world = build_world(mlflow_client, mlflow_server)
    _set_up(world, case)
    _review(world, case)

    outcome = world.review()  # the PR path: the status GitHub shows
    gate = outcome.gate
    assert gate is not None and gate.state is case.expected, gate
    assert case.says in gate.description
    assert world.github.status_of("1" * 40) is case.expected

    world.close(merged=True)  # the merge path: the gate re-evaluated before promoting
    said = world.body.split(OUTCOME)[1]
    said = said.replace("\u2060", "").replace("\\", "")  # defused mentions, escapes
    if case.expected is GateState.SUCCESS:
        assert world.production_version() == "2"
        assert "is now `production` (replacing v1)" in said
    else:
        assert world.production_version() == "1"
        assert f"not approved at merge time ({gate.description})" in said


# --- the pure function ------------------------------------------------------------

PR = PullRequest(7, "t", "", "dave", "1" * 40, "2" * 40, "topic", "main", "acme/fraud")


def _report(*candidates: Candidate) -> ReviewReport:
    production = RunSnapshot("p" * 32, "1")
    return ReviewReport(candidates=candidates, baseline=Baseline(production, "pinned"))


def _inputs(report: ReviewReport, config: Config, **kw: object) -> GateInputs:
    groups = gate_groups(report.candidates, config)
    assignment = Assignment("bob", "carol")
    return GateInputs(
        report,
        groups,
        {g.label: assignment for g in groups},
        PR,
        config,
        "2026-11-27T10:00:00Z",
        changed_at="2026-11-27T10:00:00Z",
        **kw,  # type: ignore[arg-type]
    )


def _approved(*users: str) -> tuple[Review, ...]:
    return tuple(
        Review(user=u, state=ReviewState.APPROVED, submitted_at="2026-11-27T11:00:00Z")
        for u in users
    )


def test_nothing_resolved_is_red() -> None:
    decision = decide_gate(_inputs(_report(), Config()))
    assert decision.gate.state is GateState.FAILURE and decision.gate.description == UNRESOLVED


def test_one_model_is_one_group_and_approvals_need_standing() -> None:
    report = _report(Candidate(RunSnapshot("c" * 32, "1")))
    inputs = _inputs(report, Config(), reviews=_approved("bob", "carol"))
    assert [g.label for g in inputs.groups] == [SINGLE] and not per_model(inputs.groups)
    assert decide_gate(inputs).gate.state is GateState.PENDING  # nobody verified
    standing = {SINGLE: Standing(frozenset({"bob", "carol"}))}
    inputs = _inputs(report, Config(), reviews=_approved("bob", "carol"), standings=standing)
    decision = decide_gate(inputs)
    assert decision.gate.state is GateState.SUCCESS
    assert decision.slots[0].assignment == Assignment("bob", "carol")


def test_stale_approvals_say_why_when_the_state_knows() -> None:
    report = _report(Candidate(RunSnapshot("c" * 32, "1")))
    standing = {SINGLE: Standing(frozenset({"bob", "carol"}))}
    inputs = _inputs(
        report, Config(), reviews=_approved("bob"), standings=standing, why="the runs changed"
    )
    late = GateInputs(**{**inputs.__dict__, "changed_at": "2026-11-27T12:00:00Z"})
    decision = decide_gate(late)
    assert decision.gate.state is GateState.PENDING
    assert decision.notes == (
        "approvals given before 2026-11-27T12:00:00Z no longer count: the runs changed",
    )


def test_stale_approvals_of_one_model_of_several_say_why() -> None:
    """Production moved (the registry said so): each model whose approvals that made
    stale says why, as one model's review does; a model that moved earlier does not."""
    a = Candidate(RunSnapshot("a" * 32, "1", experiment_name="x"))
    b = Candidate(RunSnapshot("b" * 32, "2", experiment_name="y"))
    config = load_config("reviewers:\n  models:\n    'experiment:x': {primary: [frank]}\n")
    report = _report(a, b)
    moved, earlier = "2026-11-27T12:00:00Z", "2026-11-27T09:00:00Z"
    first = decide_gate(_inputs(report, config))
    remembered = {
        "experiment:x": replace(first.memory["experiment:x"], fingerprint="0" * 16),
        "experiment:y": replace(first.memory["experiment:y"], changed_at=earlier),
    }
    why = "production moved from v3 to v4 at 11:58 UTC by the registry"
    who = Standing(frozenset({"bob", "carol"}))
    standings = {"experiment:x": who, "experiment:y": who}
    inputs = _inputs(report, config, reviews=_approved("bob", "carol"), why=why)
    inputs = replace(
        inputs, standings=standings, now=moved, changed_at=moved, remembered=remembered
    )
    decision = decide_gate(inputs)
    assert decision.gate.state is GateState.PENDING
    assert decision.memory["experiment:x"].changed_at == moved  # its part moved now
    said = [n for n in decision.notes if "no longer count" in n]
    assert said == [f"experiment:x: approvals given before {moved} no longer count: {why}"]


def test_several_models_are_one_group_each_only_when_the_config_says_so() -> None:
    a = Candidate(RunSnapshot("a" * 32, "1", experiment_name="x"))
    b = Candidate(RunSnapshot("b" * 32, "2", experiment_name="y"))
    assert not per_model(gate_groups([a, b], Config()))
    config = load_config("reviewers:\n  models:\n    'experiment:x': {primary: [frank]}\n")
    groups = gate_groups([a, b], config)
    assert [g.label for g in groups] == ["experiment:x", "experiment:y"]
    decision = decide_gate(_inputs(_report(a, b), config))
    assert set(decision.memory) == {"experiment:x", "experiment:y"}
    assert decision.memory["experiment:x"].changed_at == "2026-11-27T10:00:00Z"


def test_the_decisions_without_a_review() -> None:
    assert no_model([]).state is GateState.SUCCESS
    assert no_model(["models/a.py"]).state is GateState.FAILURE
    assert not_checked("MLflow is down").state is GateState.ERROR
    assert no_model([], capped=1).state is GateState.PENDING  # the caps hid references
    assert no_model(["models/a.py"], capped=1).state is GateState.FAILURE


def test_references_left_out_by_the_caps_hold_an_approved_gate() -> None:
    config = Config()
    report = _report(Candidate(RunSnapshot("c" * 32, "1")))
    for capped, wanted in ((0, GateState.SUCCESS), (2, GateState.PENDING)):
        inputs = _inputs(
            replace(report, capped=capped),
            config,
            reviews=_approved("bob", "carol"),
            standings={SINGLE: Standing(frozenset({"bob", "carol"}))},
        )
        assert decide_gate(inputs).gate.state is wanted


def test_outdated_when_the_runs_or_the_baseline_moved() -> None:
    report = _report(Candidate(RunSnapshot("c" * 32, "1")))
    now = run_fingerprint(report)
    assert outdated(report, now, baseline_key(report)) is None
    assert outdated(report, now, None) is None  # an older state without a baseline
    assert outdated(report, "0" * 16, baseline_key(report)) is not None
    assert outdated(report, now, "q" * 32 + ":3") is not None


def test_a_bar_on_a_metric_not_logged_holds_the_gate_never_hides_an_error() -> None:
    from dataclasses import replace

    report = replace(_report(Candidate(RunSnapshot("c" * 32, "1"))), bars_not_logged=("rocauc",))
    both = {
        "reviews": _approved("bob", "carol"),
        "standings": {SINGLE: Standing(frozenset({"bob", "carol"}))},
    }
    approved = decide_gate(_inputs(report, Config(), **both)).gate
    assert approved.state is GateState.PENDING
    assert approved.description == "a bar on `rocauc`, which the candidate does not log"
    waiting = decide_gate(_inputs(report, Config())).gate
    assert waiting.state is GateState.PENDING
    assert waiting.description.startswith("a bar on `rocauc`, which the candidate does not log; ")
    strict = load_config("gate:\n  fail_on_regression: true\n")
    assert decide_gate(_inputs(report, strict)).gate.state is GateState.FAILURE
    clean = replace(report, bars_not_logged=())
    assert decide_gate(_inputs(clean, Config(), **both)).gate.state is GateState.SUCCESS
