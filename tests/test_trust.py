"""Gate integrity (issue #11, rows 1, 3, 4 and 11), end to end under the Action.

MLflow is the real test server; GitHub is the stand-in of tests/github_sim.py, which
answers the permission and team-membership endpoints in GitHub's documented shapes
(tests/github_payloads.py). Each test is a row of docs/reliability.md: who can turn
the gate green, whose comments choose what is reviewed, which of the bot's comments
holds its state, and what an approval is of.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from matrix import row
from mlflow.tracking import MlflowClient
from mlflow_helpers import register
from test_faults import Action, acting, three_runs

from bot.domain import Comment, PullRequest
from bot.handlers.state import MARKER, decode_state, strip_state, with_state
from bot.handlers.trust import People, Texts
from tests.fakes import FakeGitHub
from tests.legacy_state import legacy_block

TEAM = "acme/ml-leads"
TEAM_CONFIG = f"""
plots:
  host: none
reviewers:
  primary: [bob]
  secondary: [{TEAM}]
"""
OLD = "2000-01-01T00:00:00Z"


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def runs(mlflow_client: MlflowClient) -> dict[str, str]:
    """Production v1, and two candidates registered as v2 and v3 (the PR links `first`)."""
    return three_runs(mlflow_client, "trust")


@pytest.fixture
def action(tmp_path: Path, tracking_env: str, runs: dict[str, str]) -> Iterator[Action]:
    with acting(tmp_path, tracking_env, runs["first"]) as running:
        yield running


def body(action: Action) -> str:
    (mine,) = action.sim.bot_comments
    return str(mine["body"])


def calls(action: Action, pattern: str) -> list[str]:
    """The Authorization headers of the requests whose URL matches `pattern`."""
    found = re.compile(pattern)
    return [
        str(c.request.headers.get("Authorization"))
        for c in action.rsps.calls
        if found.search(c.request.url or "")
    ]


def approve(action: Action, *logins: str, at: str | None = None) -> None:
    for login in logins:
        action.sim.add_review(login, "APPROVED", at or now())


# --- row 1: who counts ------------------------------------------------------------------


@row(
    "gate",
    "A team slot (`secondary: [acme/ml-leads]`) approved by an account without access, "
    "by `renovate[bot]` and by a pending invitee of the team",
    "None counts: `pending`, the comment says whose review did not count and why. An "
    "active member with write access fills the slot: `success`. Membership is read "
    "with the `org-token` input; one request per distinct user and team",
)
def test_only_verified_team_members_with_write_access_fill_a_team_slot(action: Action) -> None:
    action.sim.config = TEAM_CONFIG
    action.sim.roles = {"mallory": "none", "reader": "read"}
    action.sim.members = {TEAM: {"erin": "pending", "dan": "active", "reader": "active"}}
    action.env["MODEL_REVIEW_ORG_TOKEN"] = "ghp_orgreader"
    action.env["MODEL_REVIEW_GITHUB_PACING"] = "off"
    action.github = None  # the production adapter, built from the environment
    action.start()
    action()
    time.sleep(1.1)  # GitHub's times have whole seconds
    approve(action, "bob", "mallory", "renovate[bot]", "erin", "reader")
    before = len(action.rsps.calls)
    code, out = action()
    assert code == 0 and out["gate"] == "pending", out
    assert "waiting for @acme/ml-leads (secondary)" in out["description"]
    text = body(action)
    assert "mallory has no write access" in text and "reader has no write access" in text
    assert "erin is not a verified active member" in text
    assert "renovate" not in text  # a bot is not even considered
    new = action.rsps.calls[before:]
    permission = [c for c in new if "/permission" in (c.request.url or "")]
    membership = [c for c in new if "/memberships/" in (c.request.url or "")]
    assert len(permission) == 4  # bob, mallory, erin, reader: once each, no bot
    assert [c.request.url.rsplit("/", 1)[-1] for c in membership] == ["erin"]  # type: ignore[union-attr]
    assert all("ghp_orgreader" in str(c.request.headers["Authorization"]) for c in membership)
    assert all("ghs_test" in a for a in calls(action, r"/permission$"))

    approve(action, "dan")
    _, out = action()
    assert out["gate"] == "success" and "@dan for @acme/ml-leads" in out["description"]


@row(
    "gate",
    "A team slot in the Action without `org-token` (GITHUB_TOKEN cannot read teams), "
    "and with a token GitHub refuses (403)",
    "The slot stays `pending` and the comment says how to enable verification "
    "(`org-token`, Members: read, or `reviewers.teams`); without a token no request "
    "is made. Listing the members under `reviewers.teams` fills it",
)
@pytest.mark.parametrize("token", ["", "ghp_refused"])
def test_unverifiable_team_membership_keeps_the_slot_pending_and_says_how(
    action: Action, token: str
) -> None:
    action.sim.config = TEAM_CONFIG
    action.sim.teams_refused = bool(token)
    action.env["MODEL_REVIEW_ORG_TOKEN"] = token
    action.env["MODEL_REVIEW_GITHUB_PACING"] = "off"
    action.github = None  # the production adapter, built from the environment
    action.start()
    action()
    approve(action, "bob", "dan", at="2099-01-01T00:00:00Z")
    code, out = action()
    assert code == 0 and out["gate"] == "pending"
    assert "could not be verified" in body(action) and "org-token" in body(action)
    assert len(calls(action, r"/memberships/")) == (1 if token else 0)

    action.sim.config = TEAM_CONFIG + f"  teams:\n    {TEAM}: [dan]\n"
    _, out = action()
    assert out["gate"] == "success", out


# --- team review requests (issue #23) ----------------------------------------------------


@pytest.mark.parametrize("listed", [True, False])
def test_the_action_requests_a_listed_member_for_a_team_and_mentions_the_team(
    action: Action, listed: bool
) -> None:
    """GITHUB_TOKEN cannot request a team (GitHub's 422 refuses users and team alike):
    the Action never sends `team_reviewers`; it requests a member listed under
    `reviewers.teams` and names the team in the comment; the primary is requested."""
    members = f"  teams:\n    {TEAM}: [bob, dan]\n" if listed else ""
    action.sim.config = TEAM_CONFIG + members
    action.env["MODEL_REVIEW_GITHUB_PACING"] = "off"
    action.github = None  # the production adapter, built from the environment
    action.start()
    code, _ = action()
    assert code == 0
    assert action.sim.requested == (["bob", "dan"] if listed else ["bob"])  # never bob twice
    assert action.sim.requested_teams == []
    assert not [w for w in action.sim.writes if w.startswith("refused team request")]
    assert "- 📣 @acme/ml-leads: please review" in body(action)  # a real mention
    action()  # nothing asked twice
    assert [w for w in action.sim.writes if w.startswith("request")] == [
        "request bob,dan" if listed else "request bob"
    ]


def test_a_refused_team_request_never_drops_the_individual_one() -> None:
    """A token GitHub refuses a team for (here: the Actions token, as if an adapter took
    it for an App's): the user is requested apart, the team's 422 is a note whose hint
    names the real cause, and the review goes on."""
    from bot.domain import Assignment
    from bot.githost.client import GitHubRepo
    from bot.handlers.context import Outcome
    from bot.handlers.publish import Publisher
    from tests.github_sim import GitHubSim

    sim = GitHubSim()
    with sim.mocked():
        gh = GitHubRepo(sim.repo, "ghs_test", throttle=False, request_teams=True)
        publisher = Publisher(gh, gh.pull_request(sim.number), None)
        publisher.request_reviewers(Assignment("bob", TEAM), None)
        outcome = publisher.finish(Outcome())
    assert sim.requested == ["bob"] and sim.requested_teams == []
    assert sim.writes == ["request bob", "refused team request ml-leads"]
    assert "GitHub refused the review request for @acme/ml-leads" in outcome.notice
    assert "GITHUB_TOKEN has no organisation permissions" in outcome.notice
    assert "reviewers.teams" in outcome.notice


# --- row 3: references from trusted people only -------------------------------------------


@row(
    "gate",
    "A comment by a user with `author_association` NONE, and one by a MEMBER who may "
    "only read, link another allowed run after both reviewers approved",
    "The runs are ignored (the review and the approvals stand: `success`); the comment "
    "says that comments with references were ignored, without repeating them. The same "
    "link from a collaborator with write access is reviewed and the approvals go stale",
)
def test_only_trusted_comments_choose_what_is_reviewed(
    action: Action, runs: dict[str, str]
) -> None:
    action.sim.roles = {"reader": "read"}
    action.start()
    action()
    approve(action, "bob", "carol")
    drive_by = f"try this one: runs:/{runs['second']}/model"
    action.sim.add_comment(drive_by, "stranger", association="NONE")
    action.sim.add_comment(drive_by, "reader", association="MEMBER")
    code, out = action()
    assert code == 0 and out["gate"] == "success", out
    text = body(action)
    assert runs["second"] not in text and "two" not in strip_state(text).split("Review")[0]
    assert "2 comments with MLflow references were ignored" in text
    assert len(calls(action, r"/collaborators/reader/permission$")) == 1
    assert calls(action, r"/collaborators/stranger/") == []  # NONE: no request needed

    time.sleep(1.1)  # GitHub's times have whole seconds
    action.sim.add_comment(drive_by, "carl", association="COLLABORATOR")
    _, out = action()
    assert out["gate"] == "pending" and runs["second"] in body(action)


# --- row 4: the bot's own comment ---------------------------------------------------------


@row(
    "gate",
    "Another workflow posting as `github-actions[bot]` adds a newer comment with the "
    "marker and a hand-made state (old `changed_at`) to revive stale approvals",
    "The OLDEST marked comment is the bot's: the newer one is deleted, never adopted; "
    "the stale approvals stay stale (`pending`)",
)
def test_a_newer_forged_bot_comment_is_deleted_not_adopted(action: Action) -> None:
    action.start()
    action()
    (real,) = action.sim.bot_comments
    state = decode_state(real["body"])
    assert state is not None and state.changed_at > OLD
    approve(action, "bob", "carol", at="2001-01-01T00:00:00Z")  # before the runs: stale
    forged = with_state(f"{MARKER}\nall good", replace(state, changed_at=OLD))
    action.sim.add_comment(forged, "github-actions[bot]")
    code, out = action()
    assert code == 0 and out["gate"] == "pending", out
    assert [c["id"] for c in action.sim.bot_comments] == [real["id"]]
    assert decode_state(body(action)).changed_at == state.changed_at  # type: ignore[union-attr]
    assert action.sim.writes.count("delete_comment") == 1


# --- row 11: what was approved ------------------------------------------------------------


def _approved(action: Action) -> None:
    action.start()
    action()
    approve(action, "bob", "carol", at=now())
    time.sleep(1.1)
    code, out = action()
    assert code == 0 and out["gate"] == "success", out


@row(
    "gate",
    "After both reviewers approved, production moves to another version (another PR "
    "merged, a rollback, a hand edit)",
    "The approvals go stale (`pending`) and the comment says why: the production "
    "baseline changed from v1 to v3",
)
def test_a_new_production_version_makes_approvals_stale(
    action: Action, runs: dict[str, str], mlflow_client: MlflowClient
) -> None:
    _approved(action)
    mlflow_client.set_registered_model_alias(runs["model"], "production", "3")
    _, out = action()
    assert out["gate"] == "pending" and "older than the current runs" in out["description"]
    assert "the production baseline changed from v1" in body(action)
    assert "to v3 (run" in body(action)


@row(
    "gate",
    "After approval, a second version is registered on the approved run, or the "
    "approved version is deleted",
    "The approvals go stale and the comment names the run whose registered versions changed",
)
@pytest.mark.parametrize("change", ["registered", "deleted"])
def test_a_change_to_the_registered_versions_makes_approvals_stale(
    action: Action, runs: dict[str, str], mlflow_client: MlflowClient, change: str
) -> None:
    _approved(action)
    if change == "registered":
        register(mlflow_client, runs["model"], runs["first"])
    else:
        mlflow_client.delete_model_version(runs["model"], "2")
    _, out = action()
    assert out["gate"] == "pending", out
    assert f"registered on run `{runs['first']}` changed from v2" in body(action)


@row(
    "gate",
    "Upgrade: an open PR approved under state version 1 (no baseline in the state) "
    "sees its first event from this version",
    "The state is migrated: the current baseline is adopted, `changed_at` stays, the "
    "approvals still count (`success`); the new state is version 3",
)
@pytest.mark.parametrize("version", [1, 2])
def test_an_older_state_is_migrated_without_making_approvals_stale(
    action: Action, version: int
) -> None:
    _approved(action)
    (mine,) = action.sim.bot_comments
    state = decode_state(mine["body"])
    assert state is not None and state.version == 3 and state.recorded
    old = legacy_block(state, version)  # as the version 1 or 2 code wrote it
    assert ('"basis"' in old) is (version == 2) and '"extra"' in old
    mine["body"] = f"{strip_state(mine['body'])}\n\n{old}\n"
    read = decode_state(mine["body"])
    assert read is not None and read.version == version and read.recorded == state.recorded
    _, out = action()
    assert out["gate"] == "success", out
    migrated = decode_state(body(action))
    assert migrated is not None and migrated.version == 3 and migrated.basis
    assert migrated.changed_at == state.changed_at
    assert (migrated.recorded, migrated.compared_with) == (state.recorded, state.compared_with)


# --- issue #22: hostile text costs linear work ----------------------------------------

BOMB = "https://m/#/compare-runs?" + "&runs=[" * 9358  # 64 KB, quadratic for a naive parser


def _thread(bodies: list[str], association: str) -> tuple[Texts, FakeGitHub]:
    github = FakeGitHub(default_permission="read")
    pr = PullRequest(7, "Retrain", "runs:/" + "c" * 32 + "/m", "alice", "1" * 40, "2" * 40,
                     "feature", "main", "acme/models")  # fmt: skip
    comments = [
        Comment(100 + i, f"user{i}", text, association=association) for i, text in enumerate(bodies)
    ]
    return People(github).texts(pr, comments, github.login), github


@row(
    "input",
    "Ten comments, each a 64 KB compare-runs link of `&runs=[` repeated 9,358 times "
    "(quadratic for a parser that rescans from each parameter), by accounts with no "
    "association and by MEMBERs who may only read",
    "Linear work, as for ten plain comments of that size: characters examined at most "
    "twice the text's length (a query is read once more as parameters); "
    "no reference, nothing kept; a MEMBER's comment costs one permission lookup each",
)
@pytest.mark.parametrize("association", ["NONE", "MEMBER"])
def test_compare_bombs_in_comments_cost_what_plain_text_costs(association: str) -> None:
    plain = ("lorem ipsum https://m/#/compare-runs?runs=[] " * 1500)[: len(BOMB)]
    bombs, github = _thread([BOMB] * 10, association)
    calm, _ = _thread([plain] * 10, association)
    assert len(BOMB) >= 64_000 and bombs.texts[2:] == () and bombs.ignored == 0
    assert 10 * len(BOMB) <= calm.scanned <= bombs.scanned <= 2 * 10 * len(BOMB)
    assert len(github.reads) == 0  # a comment with no reference needs no lookup
