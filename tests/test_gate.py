from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain import Assignment, GateDecision, GateState, Review, ReviewState, Standing
from bot.review import gate as gate_module
from bot.review.gate import MAX_DESCRIPTION, fit, latest_reviews, parse_time

HEAD = "h" * 40
OLD = "o" * 40
T0 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
PAIR = Assignment(primary="alice", secondary="bob")


def everyone(reviews: list[Review], assignment: Assignment) -> Standing:
    """Every reviewer verified: write access, and a member of each team slot."""
    logins = frozenset(r.user.casefold() for r in reviews)
    teams = [h for h in (assignment.primary, assignment.secondary) if h and "/" in h]
    return Standing(writers=logins, members={t.casefold(): logins for t in teams})


def decide(  # noqa: PLR0917 (the signature of gate.decide)
    reviews: list[Review],
    assignment: Assignment,
    author: str,
    changed_at: str | None,
    head_sha: str,
    stale_on_new_commits: bool,
    **options: object,
) -> GateDecision:
    """The rules of time, slots and states, with every reviewer verified (who counts
    is tested below with explicit standings)."""
    options.setdefault("standing", everyone(reviews, assignment))
    return gate_module.decide(
        reviews, assignment, author, changed_at, head_sha, stale_on_new_commits, **options
    )  # type: ignore[arg-type]


def at(minutes: int) -> str:
    return (T0 + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def rv(user: str, state: str, minute: int, commit: str = HEAD, rid: int | None = None) -> Review:
    return Review(
        user=user,
        state=ReviewState.parse(state),
        submitted_at=at(minute),
        commit_id=commit,
        review_id=rid if rid is not None else minute,
    )


def gate(
    reviews: list[Review],
    assignment: Assignment = PAIR,
    changed_at: str | None = None,
    stale_on_new_commits: bool = False,
    author: str = "carol",
) -> GateState:
    return decide(reviews, assignment, author, changed_at, HEAD, stale_on_new_commits).state


CASES = [
    ("nobody reviewed", [], GateState.PENDING),
    ("both approve", [rv("alice", "APPROVED", 1), rv("bob", "APPROVED", 2)], GateState.SUCCESS),
    ("only primary approves", [rv("alice", "APPROVED", 1)], GateState.PENDING),
    (
        "self-approval ignored",
        [rv("alice", "APPROVED", 1), rv("carol", "APPROVED", 2)],
        GateState.PENDING,
    ),
    (
        "a stranger's approval does not fill a user slot",
        [rv("alice", "APPROVED", 1), rv("dave", "APPROVED", 2)],
        GateState.PENDING,
    ),
    (
        "dismissal cancels approval",
        [rv("alice", "APPROVED", 1), rv("bob", "APPROVED", 2), rv("bob", "DISMISSED", 3)],
        GateState.PENDING,
    ),
    (
        "commented after approved keeps approval",
        [rv("alice", "APPROVED", 1), rv("bob", "APPROVED", 2), rv("bob", "COMMENTED", 3)],
        GateState.SUCCESS,
    ),
    (
        "pending review changes nothing",
        [rv("alice", "APPROVED", 1), rv("bob", "APPROVED", 2), rv("alice", "PENDING", 3)],
        GateState.SUCCESS,
    ),
    (
        "changes requested",
        [rv("alice", "APPROVED", 1), rv("bob", "CHANGES_REQUESTED", 2)],
        GateState.FAILURE,
    ),
    (
        "changes requested then approved",
        [rv("bob", "CHANGES_REQUESTED", 1), rv("alice", "APPROVED", 2), rv("bob", "APPROVED", 3)],
        GateState.SUCCESS,
    ),
    (
        "approved then changes requested",
        [rv("bob", "APPROVED", 1), rv("alice", "APPROVED", 2), rv("bob", "CHANGES_REQUESTED", 3)],
        GateState.FAILURE,
    ),
    (
        "comment after changes requested keeps the block",
        [rv("alice", "APPROVED", 1), rv("bob", "CHANGES_REQUESTED", 2), rv("bob", "COMMENTED", 3)],
        GateState.FAILURE,
    ),
    (
        "an outsider's change request does not block user slots",
        [rv("alice", "APPROVED", 1), rv("bob", "APPROVED", 2), rv("dave", "CHANGES_REQUESTED", 3)],
        GateState.SUCCESS,
    ),
    (
        "case-insensitive logins",
        [rv("ALICE", "approved", 1), rv("Bob", "approved", 2)],
        GateState.SUCCESS,
    ),
    (
        "lowercase webhook states",
        [rv("alice", "approved", 1), rv("bob", "changes_requested", 2)],
        GateState.FAILURE,
    ),
    (
        "order is by time, not by list position",
        [rv("bob", "APPROVED", 5), rv("alice", "APPROVED", 1), rv("bob", "CHANGES_REQUESTED", 2)],
        GateState.SUCCESS,
    ),
]


@pytest.mark.parametrize(("reviews", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rules(reviews: list[Review], expected: GateState) -> None:
    assert gate(reviews) is expected


def test_same_time_ordered_by_review_id() -> None:
    reviews = [rv("bob", "APPROVED", 1, rid=9), rv("bob", "DISMISSED", 1, rid=3)]
    assert gate([rv("alice", "APPROVED", 1), *reviews]) is GateState.SUCCESS
    reviews = [rv("bob", "APPROVED", 1, rid=3), rv("bob", "DISMISSED", 1, rid=9)]
    assert gate([rv("alice", "APPROVED", 1), *reviews]) is GateState.PENDING


def test_approval_before_change_is_stale() -> None:
    reviews = [rv("alice", "APPROVED", 1), rv("bob", "APPROVED", 20)]
    decision = decide(reviews, PAIR, "carol", at(10), HEAD, False)
    assert decision.state is GateState.PENDING
    assert decision.stale == ("alice",)
    assert decision.approved_by == ("bob",)
    assert decision.waiting_for == ("alice",)
    assert "approval by @alice is older than the current runs" in decision.description
    assert "waiting for @alice (primary)" in decision.description


def test_reapproval_after_change_counts() -> None:
    reviews = [rv("alice", "APPROVED", 1), rv("bob", "APPROVED", 20), rv("alice", "APPROVED", 30)]
    assert gate(reviews, changed_at=at(10)) is GateState.SUCCESS


def test_approval_at_the_change_instant_counts() -> None:
    reviews = [rv("alice", "APPROVED", 10), rv("bob", "APPROVED", 10)]
    assert gate(reviews, changed_at=at(10)) is GateState.SUCCESS


def test_changed_at_with_offset_and_fraction_compares_as_time() -> None:
    reviews = [rv("alice", "APPROVED", 30), rv("bob", "APPROVED", 30)]
    # 11:00+01:00 is 10:00Z, before both approvals (10:30Z)
    assert gate(reviews, changed_at="2026-11-27T11:00:00.500+01:00") is GateState.SUCCESS
    assert gate(reviews, changed_at="2026-11-27T10:31:00.000+00:00") is GateState.PENDING


def test_unreadable_times_fail_closed() -> None:
    good = [rv("alice", "APPROVED", 1), rv("bob", "APPROVED", 2)]
    assert gate(good, changed_at="yesterday") is GateState.PENDING
    odd = Review(user="bob", state=ReviewState.APPROVED, submitted_at="", commit_id=HEAD)
    assert gate([good[0], odd], changed_at=at(0)) is GateState.PENDING
    assert gate([good[0], odd]) is GateState.SUCCESS  # no change time: nothing is stale


def test_new_commit_without_option_keeps_approval() -> None:
    reviews = [rv("alice", "APPROVED", 1, commit=OLD), rv("bob", "APPROVED", 2)]
    assert gate(reviews, stale_on_new_commits=False) is GateState.SUCCESS


def test_new_commit_with_option_makes_approval_stale() -> None:
    reviews = [rv("alice", "APPROVED", 1, commit=OLD), rv("bob", "APPROVED", 2)]
    decision = decide(reviews, PAIR, "carol", None, HEAD, True)
    assert decision.state is GateState.PENDING
    assert decision.stale == ("alice",)
    assert "approval by @alice is for an older commit" in decision.description


def test_team_slot_satisfied_by_someone_else() -> None:
    team = Assignment(primary="alice", secondary="acme/ml-reviewers")
    decision = decide(
        [rv("alice", "APPROVED", 1), rv("dave", "APPROVED", 2)], team, "carol", None, HEAD, False
    )
    assert decision.state is GateState.SUCCESS
    assert decision.approved_by == ("alice", "dave")
    assert "@dave for @acme/ml-reviewers (secondary)" in decision.description


@pytest.mark.parametrize(
    ("reviews", "expected"),
    [
        ([rv("alice", "APPROVED", 1)], GateState.PENDING),  # the primary cannot fill it too
        ([rv("alice", "APPROVED", 1), rv("carol", "APPROVED", 2)], GateState.PENDING),  # author
        (
            [
                rv("alice", "APPROVED", 1),
                rv("dave", "APPROVED", 2),
                rv("erin", "CHANGES_REQUESTED", 3),
            ],
            GateState.FAILURE,
        ),
        (
            [rv("alice", "APPROVED", 1), rv("dave", "APPROVED", 2), rv("dave", "DISMISSED", 3)],
            GateState.PENDING,
        ),
    ],
)
def test_team_slot_rules(reviews: list[Review], expected: GateState) -> None:
    team = Assignment(primary="alice", secondary="acme/ml-reviewers")
    assert gate(reviews, assignment=team) is expected


def test_two_team_slots_need_two_people() -> None:
    teams = Assignment(primary="acme/a", secondary="acme/b")
    assert gate([rv("dave", "APPROVED", 1)], assignment=teams) is GateState.PENDING
    both = [rv("dave", "APPROVED", 1), rv("erin", "APPROVED", 2)]
    assert gate(both, assignment=teams) is GateState.SUCCESS


def test_team_slot_stale_approval_is_reported() -> None:
    team = Assignment(primary="alice", secondary="acme/ml")
    reviews = [rv("alice", "APPROVED", 20), rv("dave", "APPROVED", 1)]
    decision = decide(reviews, team, "carol", at(10), HEAD, False)
    assert decision.state is GateState.PENDING
    assert decision.stale == ("dave",)
    assert decision.waiting_for == ("acme/ml",)


def test_missing_slot_never_succeeds() -> None:
    lone = Assignment(primary="alice", secondary=None)
    decision = decide([rv("alice", "APPROVED", 1)], lone, "carol", None, HEAD, False)
    assert decision.state is GateState.PENDING
    assert "no reviewer assigned: request a reviewer or configure reviewers.secondary" in (
        decision.description
    )
    nobody = decide([], Assignment(None, None), "carol", None, HEAD, False)
    assert nobody.state is GateState.PENDING
    assert "reviewers.primary" in nobody.description


def test_same_person_in_both_slots_counts_once() -> None:
    same = Assignment(primary="alice", secondary="Alice")
    assert gate([rv("alice", "APPROVED", 1)], assignment=same) is GateState.PENDING


def test_descriptions_and_fields() -> None:
    ok = decide(
        [rv("alice", "APPROVED", 1), rv("bob", "APPROVED", 2)], PAIR, "carol", None, HEAD, False
    )
    assert ok.description == "approved by @alice (primary) and @bob (secondary)"
    wait = decide([], PAIR, "carol", None, HEAD, False)
    assert wait.description == "waiting for @alice (primary), @bob (secondary)"
    assert wait.waiting_for == ("alice", "bob")
    bad = decide([rv("bob", "CHANGES_REQUESTED", 1)], PAIR, "carol", None, HEAD, False)
    assert bad.description == "changes requested by @bob"
    assert bad.changes_requested_by == ("bob",)
    assert bad.waiting_for == ("alice",)


def test_error_is_never_success() -> None:
    reviews = [rv("alice", "APPROVED", 1), rv("bob", "APPROVED", 2)]
    decision = decide(
        reviews,
        PAIR,
        "carol",
        None,
        HEAD,
        False,
        no_model=True,
        error="MLflow at http://x cannot be reached " + "x" * 200,
    )
    assert decision.state is GateState.ERROR
    assert decision.description.startswith("model-review could not check: MLflow")
    assert len(decision.description) <= MAX_DESCRIPTION


def test_no_model_is_success() -> None:
    decision = decide([], PAIR, "carol", None, HEAD, False, no_model=True)
    assert decision == decision.__class__(GateState.SUCCESS, "no model under review")


def test_long_names_are_truncated() -> None:
    long = Assignment(primary="a" * 39, secondary="org-" + "o" * 35 + "/" + "t" * 90)
    decision = decide([rv("b" * 39, "APPROVED", 1, commit=OLD)], long, "carol", at(5), HEAD, True)
    assert len(decision.description) <= MAX_DESCRIPTION
    assert decision.description.endswith("…")
    assert decision.description.startswith("waiting for @" + "a" * 39)


def test_fit() -> None:
    assert fit("short") == "short"
    text = "word " * 40
    out = fit(text, 50)
    assert len(out) <= 50 and out.endswith("word…")
    assert len(fit("x" * 300)) == MAX_DESCRIPTION


def test_latest_reviews_and_parse_time() -> None:
    reviews = [rv("Alice", "APPROVED", 1), rv("alice", "COMMENTED", 2), rv("carol", "APPROVED", 3)]
    latest = latest_reviews(reviews, "CAROL")
    assert list(latest) == ["alice"] and latest["alice"].state is ReviewState.APPROVED
    assert parse_time("2026-11-27T10:00:00") == T0
    assert parse_time("nope") is None and parse_time(None) is None


# --- property: SUCCESS only with both assigned reviewers' fresh approvals ---------------

USERS = ["alice", "ALICE", "bob", "Bob", "carol", "dave"]
STATES = [
    "APPROVED",
    "CHANGES_REQUESTED",
    "DISMISSED",
    "COMMENTED",
    "PENDING",
    "approved",
    "changes_requested",
    "dismissed",
    "commented",
]

review_lists = st.lists(
    st.tuples(st.sampled_from(USERS), st.sampled_from(STATES), st.integers(0, 30), st.booleans()),
    max_size=12,
)


def build(raw: list[tuple[str, str, int, bool]]) -> list[Review]:
    return [
        rv(user, state, minute, commit=HEAD if on_head else OLD, rid=i)
        for i, (user, state, minute, on_head) in enumerate(raw)
    ]


def oracle_fresh_approval(
    reviews: list[Review], login: str, changed: int | None, need_head: bool
) -> bool:
    """Written apart from the gate: walk the reviews in time order, remember the last
    one of this reviewer that is not a comment or draft."""
    last = None
    for review in sorted(reviews, key=lambda r: (r.submitted_at, r.review_id)):
        same = review.user.lower() == login.lower()
        if same and review.state.value not in ("COMMENTED", "PENDING"):
            last = review
    if last is None or last.state.value != "APPROVED":
        return False
    if changed is not None and last.submitted_at < at(changed):
        return False
    return not (need_head and last.commit_id != HEAD)


@settings(max_examples=400, deadline=None)
@given(review_lists, st.one_of(st.none(), st.integers(0, 30)), st.booleans())
def test_success_only_with_both_fresh_approvals(
    raw: list[tuple[str, str, int, bool]], changed: int | None, on_new_commits: bool
) -> None:
    reviews = build(raw)
    changed_at = at(changed) if changed is not None else None
    decision = decide(reviews, PAIR, "carol", changed_at, HEAD, on_new_commits)
    both = all(
        oracle_fresh_approval(reviews, who, changed, on_new_commits) for who in ("alice", "bob")
    )
    assert (decision.state is GateState.SUCCESS) == both
    assert len(decision.description) <= MAX_DESCRIPTION
    assert decision.state is not GateState.ERROR


@settings(max_examples=200, deadline=None)
@given(review_lists, st.sampled_from(["alice", "bob", "Carol"]))
def test_author_never_counts(raw: list[tuple[str, str, int, bool]], author: str) -> None:
    decision = decide(build(raw), PAIR, author, None, HEAD, False)
    if author.lower() in ("alice", "bob"):
        assert decision.state is not GateState.SUCCESS
    assert author.lower() not in [a.lower() for a in decision.approved_by]


# --- who counts (issue #11, row 1) ---------------------------------------------------

TEAM_PAIR = Assignment(primary="alice", secondary="acme/ml-leads")


def standing(
    writers: set[str], members: set[str] = frozenset(), unverified: bool = False
) -> Standing:  # type: ignore[assignment]
    team = "acme/ml-leads"
    return Standing(
        writers=frozenset(writers),
        members={} if unverified else {team: frozenset(members)},
        unverified={team: "list the team under reviewers.teams"} if unverified else {},
    )


def counted(
    reviews: list[Review], who: Standing, assignment: Assignment = TEAM_PAIR
) -> GateDecision:
    return gate_module.decide(reviews, assignment, "carol", None, HEAD, False, standing=who)


def test_a_team_slot_needs_a_verified_member_with_write_access() -> None:
    reviews = [rv("alice", "APPROVED", 1), rv("mallory", "APPROVED", 2)]
    stranger = counted(reviews, standing({"alice"}, members={"mallory"}))
    assert stranger.state is GateState.PENDING
    assert any("@mallory has no write access" in n for n in stranger.notes)
    outsider = counted(reviews, standing({"alice", "mallory"}))
    assert outsider.state is GateState.PENDING
    assert any("not a verified active member of @acme/ml-leads" in n for n in outsider.notes)
    member = counted(reviews, standing({"alice", "mallory"}, members={"mallory"}))
    assert member.state is GateState.SUCCESS and member.approved_by == ("alice", "mallory")


def test_two_team_slots_are_not_filled_by_throwaway_accounts() -> None:
    teams = Assignment(primary="acme/ml-leads", secondary="acme/ml-leads2")
    reviews = [rv("throwaway1", "APPROVED", 1), rv("throwaway2", "APPROVED", 2)]
    assert counted(reviews, Standing(), teams).state is GateState.PENDING


def test_bots_never_count_even_with_write_access_and_membership() -> None:
    bot = Review("renovate[bot]", ReviewState.APPROVED, at(2), HEAD, 2, bot=True)
    app = Review("deploy-app", ReviewState.APPROVED, at(3), HEAD, 3, bot=True)
    everybody = standing({"alice", "renovate[bot]", "deploy-app"}, {"renovate[bot]", "deploy-app"})
    decision = counted([rv("alice", "APPROVED", 1), bot, app], everybody)
    assert decision.state is GateState.PENDING and decision.approved_by == ("alice",)


def test_a_user_slot_holder_without_write_access_does_not_count() -> None:
    reviews = [rv("alice", "APPROVED", 1), rv("bob", "CHANGES_REQUESTED", 2)]
    decision = counted(reviews, standing({"bob"}), PAIR)
    assert decision.state is GateState.FAILURE  # bob's objection counts, alice's approval not
    assert decision.approved_by == () and "@alice has no write access" in decision.notes[0]


def test_a_non_member_cannot_block_a_team_slot_either() -> None:
    reviews = [
        rv("alice", "APPROVED", 1),
        rv("dan", "APPROVED", 2),
        rv("eve", "CHANGES_REQUESTED", 3),
    ]
    decision = counted(reviews, standing({"alice", "dan", "eve"}, members={"dan"}))
    assert decision.state is GateState.SUCCESS


def test_unverifiable_membership_keeps_the_team_slot_pending_and_says_how_to_fix_it() -> None:
    reviews = [rv("alice", "APPROVED", 1), rv("dan", "APPROVED", 2)]
    decision = counted(reviews, standing({"alice", "dan"}, unverified=True))
    assert decision.state is GateState.PENDING
    assert "waiting for @acme/ml-leads (secondary)" in decision.description
    assert (
        "reviewers.teams" in decision.notes[0]
        and "secondary slot stays pending" in decision.notes[0]
    )


def test_without_a_standing_nothing_counts() -> None:
    reviews = [rv("alice", "APPROVED", 1), rv("bob", "APPROVED", 2)]
    assert gate_module.decide(reviews, PAIR, "carol", None, HEAD, False).state is GateState.PENDING
