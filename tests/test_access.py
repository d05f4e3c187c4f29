"""Access lost after approval (issue #22, finding 8): the App's `member` and
`membership` events re-decide the open PRs where that person's review counts.

GitHub's own example payloads (tests/fixtures/github/member, membership) drive the
App's job runner over the typed fakes: the runner queues a review of each open PR the
person approved, and that review, asking GitHub again, no longer counts the approval
and says why, in the status and in the merge's closing line.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from matrix import row

from bot.app.queue.access import revisit
from bot.app.queue.jobs import Job
from bot.app.queue.reconcile import reconcile, review_job
from bot.app.queue.runner import JobRunner
from bot.app.settings import Settings
from bot.domain import GateState, PullRequest, Review, ReviewState, RunSnapshot
from bot.handlers.closed import promotion_refusal
from bot.handlers.router import Action, Event, route
from tests import github_payloads as gp
from tests.fakes import FakeGitHub, FakeInstallations, FakeInventory, FakeQueue, FakeRuns

REPO = "acme/models"
CAND, PROD = "c" * 32, "a" * 32
BASE = "b" * 40
CONFIG = "reviewers:\n  primary: [bob]\n  secondary: [carol]\nplots:\n  host: none\n"
SETTINGS = Settings(app_id=1, private_key="unused", webhook_secret="unused", tracking_uri="x")
LOST = "@carol's approval stopped counting: @carol lost write access"


def _pull(number: int) -> PullRequest:
    url = f"https://github.com/{REPO}/pull/{number}"
    return PullRequest(number, "Retrain", f"runs:/{CAND}/model", "dave", f"{number}" * 40,
                       BASE, "retrain", "main", REPO, html_url=url)  # fmt: skip


def _app() -> tuple[JobRunner, FakeGitHub, FakeQueue, FakeRuns]:
    github = FakeGitHub(login="model-review[bot]")
    github.pulls = {7: _pull(7), 8: _pull(8)}
    github.files[(".github/model-review.yml", BASE)] = CONFIG
    runs = FakeRuns()
    runs.add_run(RunSnapshot(PROD, "1", "prod", metrics={"val_auc": 0.9}))
    runs.add_run(RunSnapshot(CAND, "1", "cand", metrics={"val_auc": 0.93}))
    runs.register("fraud", PROD, aliases=["production"])
    runs.register("fraud", CAND)
    apps = FakeInstallations(repos={REPO: github}, installed={REPO: 1})
    runner = JobRunner(SETTINGS, apps, runs=lambda config: runs, images=lambda gh: lambda *a: None)
    runner.queue, runner.inventory = FakeQueue(), FakeInventory(apps)
    return runner, github, runner.queue, runs


def _approve(github: FakeGitHub, number: int, *users: str) -> None:
    for user in users:
        at = "2099-01-01T00:00:00Z"  # after the runs changed: current
        github.add_review(
            number, Review(user, ReviewState.APPROVED, at, commit_id=f"{number}" * 40)
        )


def _approved(runner: JobRunner, github: FakeGitHub) -> None:
    """PR 7 reviewed, then approved by both reviewers: `success`."""
    runner(review_job(github.pulls[7], 1))
    _approve(github, 7, "bob", "carol")
    outcome = runner(review_job(github.pulls[7], 1))
    assert outcome is not None and outcome.gate is not None
    assert outcome.gate.state is GateState.SUCCESS


def access_event(name: str, action: str, login: str) -> Event:
    payload: dict[str, Any] = copy.deepcopy(gp.webhook(name, action))
    payload["member"]["login"] = login
    payload["installation"] = {"id": 1}
    if "repository" in payload:
        payload["repository"]["full_name"] = REPO
    return Event(name, payload, delivery_id=f"d-{name}")


@row(
    "gate",
    "After both reviewers approved (`success`), the secondary's write access is removed "
    "(`member` edited: GitHub now answers `read`), or they leave the organisation's team "
    "(`membership` removed)",
    "The App queues a review of each open PR where their latest review approves (not the "
    "others): the gate goes back to `pending` and the status and the merge's closing line "
    'say "@carol\'s approval stopped counting: @carol lost write access"',
)
@pytest.mark.parametrize(("name", "action"), [("member", "edited"), ("membership", "removed")])
def test_an_approval_stops_counting_when_access_is_removed(name: str, action: str) -> None:
    runner, github, queue, _ = _app()
    _approved(runner, github)

    github.permissions["carol"] = "read"  # GitHub's answer from now on
    event = access_event(name, action, "carol")
    assert route(event).action is Action.ACCESS
    assert runner(Job(event.name, dict(event.payload), event.delivery_id)) is None
    assert [j.key for j in queue.jobs] == [f"{REPO}#7"]  # PR 8 has no review by carol

    outcome = runner(queue.jobs[0])
    assert outcome is not None and outcome.gate is not None
    assert outcome.gate.state is GateState.PENDING and outcome.gate.description == LOST
    assert github.status_of("7" * 40) is GateState.PENDING
    refusal = promotion_refusal(outcome.gate, (GateState.PENDING, ""), [], "model-review")
    assert refusal is not None and LOST in refusal


def test_access_events_that_take_nothing_away_are_ignored() -> None:
    added = access_event("membership", "removed", "carol")
    added.payload["action"] = "added"  # type: ignore[index]
    assert route(added).action is Action.IGNORE
    nobody = access_event("member", "edited", "")
    assert route(nobody).action is Action.IGNORE


def test_the_walk_is_bounded_in_requests() -> None:
    runner, github, queue, _ = _app()
    for number in range(10, 40):
        github.pulls[number] = _pull(number)
        _approve(github, number, "carol")
    event = access_event("member", "edited", "carol")
    assert runner.inventory is not None
    done = revisit(event, runner.inventory, runner.installations(), queue, max_requests=10)
    assert done.requests <= 10 and "budget" in done.stopped and done.left > 0
    assert 0 < len(queue.jobs) < 30 and len(queue.jobs) + done.left <= 32


@row(
    "gate",
    "After both approvals (`success`), the linked run is deleted from MLflow; no GitHub "
    "event follows",
    "The next reconcile finds the PR's runs changed and queues its review: the gate "
    "turns `failure` (the reference no longer resolves)",
)
def test_a_deleted_linked_run_turns_the_gate_red_on_the_next_reconcile() -> None:
    runner, github, queue, runs = _app()
    _approved(runner, github)
    del github.pulls[8]
    del runs.runs[CAND]
    assert runner.inventory is not None
    report = reconcile(runner.inventory, runner.installations(), runner.tracking, queue)
    assert [j.key for j in queue.jobs] == [f"{REPO}#7"], report.summary()
    outcome = runner(queue.jobs[0])
    assert outcome is not None and outcome.gate is not None
    assert outcome.gate.state is GateState.FAILURE
    assert github.status_of("7" * 40) is GateState.FAILURE
