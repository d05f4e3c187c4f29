from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config.schema import ReviewersConfig
from bot.domain import Assignment
from bot.errors import ModelReviewError
from bot.review.reviewers import (
    Command,
    CommandKind,
    Slot,
    apply_reassign,
    assign,
    is_team,
    parse_command,
    split_users_teams,
)

PRIMARY = ["alice", "bob", "carol"]
SECONDARY = ["dave", "erin"]


def test_picks_one_from_each_pool_by_pr_number() -> None:
    assert assign(PRIMARY, SECONDARY, "zed", 0, None, []) == Assignment("alice", "dave")
    assert assign(PRIMARY, SECONDARY, "zed", 1, None, []) == Assignment("bob", "erin")
    assert assign(PRIMARY, SECONDARY, "zed", 5, None, []) == Assignment("carol", "erin")


def test_never_the_author_case_insensitive() -> None:
    # PR 1 would pick bob: Bob is the author, so the next one is taken
    assert assign(PRIMARY, SECONDARY, "BOB", 1, None, []).primary == "carol"
    assert assign(PRIMARY, ["Dave"], "dave", 1, None, []).secondary is None


def test_never_the_same_person_twice() -> None:
    pool = ["alice", "bob"]
    for n in range(6):
        chosen = assign(pool, pool, "zed", n, None, [])
        assert chosen.primary and chosen.secondary
        assert chosen.primary.lower() != chosen.secondary.lower()
    assert assign(["alice"], ["ALICE"], "zed", 3, None, []) == Assignment("alice", None)


def test_previous_assignment_is_kept_while_in_pool() -> None:
    previous = Assignment("carol", "erin")
    assert assign(PRIMARY, SECONDARY, "zed", 1, previous, []) == previous
    # spelling follows the pool
    assert assign(PRIMARY, SECONDARY, "zed", 1, Assignment("CAROL", "erin"), []).primary == "carol"


def test_previous_member_left_the_pool() -> None:
    previous = Assignment("mallory", "erin")
    assert assign(PRIMARY, SECONDARY, "zed", 1, previous, []) == Assignment("bob", "erin")


def test_kept_slot_is_not_picked_again_for_the_other() -> None:
    pool = ["alice", "bob", "carol"]
    # PR 1 would give primary bob, but bob keeps the secondary slot he had
    chosen = assign(pool, pool, "zed", 1, Assignment("gone", "bob"), [])
    assert chosen == Assignment("carol", "bob")


def test_no_pools_use_requested_reviewers() -> None:
    assert assign([], [], "zed", 4, None, ["alice", "bob", "carol"]) == Assignment("alice", "bob")
    assert assign([], [], "zed", 4, None, ["alice"]) == Assignment("alice", None)
    assert assign([], [], "zed", 4, None, []) == Assignment(None, None)
    assert assign([], [], "Alice", 4, None, ["alice", "bob"]) == Assignment("bob", None)


def test_no_pools_remember_reviewers_who_already_reviewed() -> None:
    # GitHub drops reviewers from the requested list once they review
    previous = Assignment("alice", "bob")
    assert assign([], [], "zed", 4, previous, []) == previous
    assert assign([], [], "zed", 4, Assignment("alice", None), ["carol"]) == Assignment(
        "alice", "carol"
    )


def test_one_pool_and_requested_for_the_other() -> None:
    chosen = assign(PRIMARY, [], "zed", 0, None, ["alice", "erin"])
    assert chosen == Assignment("alice", "erin")


def test_teams_are_entries() -> None:
    chosen = assign(["acme/ml-leads"], ["acme/ml", "dave"], "zed", 0, None, [])
    assert chosen == Assignment("acme/ml-leads", "acme/ml")
    assert is_team("acme/ml") and not is_team("alice")


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.sampled_from(["a", "b", "c", "d", "e", "org/t"]), min_size=1, max_size=5),
    st.lists(st.sampled_from(["a", "b", "c", "d", "e", "org/t"]), min_size=1, max_size=5),
    st.sampled_from(["a", "B", "z"]),
)
def test_rotation_is_fair_and_skips_the_author(
    primary: list[str], secondary: list[str], author: str
) -> None:
    n_prs = 600
    picks = [assign(primary, secondary, author, n, None, []) for n in range(1, n_prs + 1)]
    for chosen in picks:
        assert author.lower() not in {
            (chosen.primary or "").lower(),
            (chosen.secondary or "").lower(),
        }
        if chosen.primary and chosen.secondary:
            assert chosen.primary.lower() != chosen.secondary.lower()
    eligible = sorted({p for p in primary if p.lower() != author.lower()})
    counts = Counter(c.primary for c in picks)
    if eligible:
        assert set(counts) == set(eligible)
    # every eligible member gets at least half its fair share and at most twice it
    for member in eligible:
        share = n_prs / len(eligible)
        assert share / 2 <= counts[member] <= share * 2


def test_rotation_is_exactly_even_without_exclusions() -> None:
    pool = ["a", "b", "c", "d"]
    counts = Counter(assign(pool, ["x", "y"], "zed", n, None, []).primary for n in range(1, 401))
    assert counts == {"a": 100, "b": 100, "c": 100, "d": 100}


def test_split_users_teams() -> None:
    users, teams = split_users_teams(["alice", "@bob", "acme/ml-reviewers", "", "@acme/leads"])
    assert users == ["alice", "bob"]
    assert teams == ["ml-reviewers", "leads"]


# --- commands ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("/model-review refresh", Command(CommandKind.REFRESH, raw="/model-review refresh")),
        (
            "Thanks!\n\n  /model-review reassign primary @Alice  \n",
            Command(
                CommandKind.REASSIGN,
                raw="/model-review reassign primary @Alice",
                slot=Slot.PRIMARY,
                login="Alice",
            ),
        ),
        (
            "/Model-Review REASSIGN Secondary acme/ml-team",
            Command(
                CommandKind.REASSIGN,
                raw="/Model-Review REASSIGN Secondary acme/ml-team",
                slot=Slot.SECONDARY,
                login="acme/ml-team",
            ),
        ),
    ],
)
def test_parse_command(body: str, expected: Command) -> None:
    assert parse_command(body) == expected


def test_a_command_after_hidden_or_collapsed_text_still_counts() -> None:
    body = "<!-- note -->\n<details>\n/model-review reassign primary @bob\n</details>\n"
    command = parse_command(body + "/model-review refresh")
    assert command is not None and command.kind is CommandKind.REFRESH


@pytest.mark.parametrize(
    "body",
    [
        "looks good",
        "> /model-review refresh",  # quoted
        "```\n/model-review refresh\n```",  # in a code fence
        "see /model-review refresh above",  # not at the start of a line
        "/model-reviewers refresh",  # another prefix
        "",
        "LGTM!\n<!-- /model-review reassign secondary @bob -->",  # hidden: an HTML comment
        "LGTM!\n<!--\n/model-review reassign secondary @bob\n-->",
        "LGTM!\n<!-- unclosed\n/model-review reassign secondary @bob",
        "LGTM!\n\n    /model-review reassign secondary @bob",  # indented code
        "\t/model-review refresh",
        "~~~\n/model-review refresh\n~~~",
        "`/model-review refresh`",  # a code span
        "<details>\n<summary>more</summary>\n\n/model-review reassign secondary @bob\n</details>",
        "<details><summary>x</summary>\n/model-review refresh\n</details>",
    ],
)
def test_no_command(body: str) -> None:
    assert parse_command(body) is None


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("/model-review", "is not a model-review command"),
        ("/model-review approve", "is not a model-review command"),
        ("/model-review refresh now", "is not a model-review command"),
        ("/model-review reassign @bob", "needs a slot and a login"),
        ("/model-review reassign tertiary @bob", "needs a slot and a login"),
        ("/model-review reassign primary @-bad!", "is not a GitHub login"),
    ],
)
def test_invalid_command_explains(body: str, fragment: str) -> None:
    cmd = parse_command(body)
    assert cmd is not None and cmd.kind is CommandKind.INVALID
    assert cmd.problem is not None and fragment in cmd.problem
    assert "/model-review reassign primary @login" in cmd.problem


def test_first_command_wins() -> None:
    cmd = parse_command("/model-review refresh\n/model-review reassign primary @bob")
    assert cmd is not None and cmd.kind is CommandKind.REFRESH


POOLS = ReviewersConfig(primary=("alice", "bob"), secondary=("dave", "erin"))
CURRENT = Assignment("alice", "dave")


def reassign(slot: str, login: str) -> Command:
    cmd = parse_command(f"/model-review reassign {slot} @{login}")
    assert cmd is not None
    return cmd


def test_apply_reassign() -> None:
    assert apply_reassign(CURRENT, reassign("primary", "BOB"), POOLS, "zed") == Assignment(
        "bob", "dave"
    )
    assert apply_reassign(CURRENT, reassign("secondary", "erin"), POOLS, "zed") == Assignment(
        "alice", "erin"
    )


def test_apply_reassign_without_pool_takes_anyone() -> None:
    chosen = apply_reassign(CURRENT, reassign("primary", "frank"), ReviewersConfig(), "zed")
    assert chosen == Assignment("frank", "dave")


@pytest.mark.parametrize(
    ("cmd", "author", "fragment"),
    [
        (reassign("primary", "frank"), "zed", "@frank is not in the primary reviewer pool"),
        (reassign("secondary", "erin"), "Erin", "@erin opened this pull request"),
        (reassign("primary", "ERIN"), "zed", "@ERIN is not in the primary reviewer pool"),
        (Command(CommandKind.REFRESH, raw="/model-review refresh"), "zed", "not a reassign"),
    ],
)
def test_apply_reassign_refuses(cmd: Command, author: str, fragment: str) -> None:
    with pytest.raises(ModelReviewError) as info:
        apply_reassign(CURRENT, cmd, POOLS, author)
    assert fragment in str(info.value)


def test_apply_reassign_refuses_the_other_slot_holder() -> None:
    pools = ReviewersConfig(primary=("alice", "dave"), secondary=("dave",))
    with pytest.raises(ModelReviewError, match="already the secondary reviewer"):
        apply_reassign(CURRENT, reassign("primary", "dave"), pools, "zed")
