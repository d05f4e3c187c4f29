"""A PR under review against the REAL MLflow test server, for the tests of the
review's record (tests/test_record.py) and of closed PRs (tests/test_closing.py).

MLflow holds a registered model with three versions: v1 (the production run, alias
`production`), v2 (`first`) and v3 (`second`). GitHub is the typed fake; the bot
reads and writes MLflow through the real adapter, and tests read MLflow back with
MLflow's own client.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from mlflow.tracking import MlflowClient
from mlflow_helpers import make_run, register, unique_name

from bot.config.schema import Config
from bot.domain import PullRequest, Review, ReviewState
from bot.handlers.closed import close_pull_request
from bot.handlers.context import Deps, Outcome
from bot.handlers.pull_request import review_pull_request
from bot.ports import RunsPort
from bot.tracking.client import MlflowRuns
from tests.fakes import FakeGitHub

CONFIG = """
reviewers:
  primary: [alice, bob]
  secondary: [carol]
plots:
  host: none
"""
HEAD, BASE, MERGE = "1" * 40, "2" * 40, "3" * 40
URL = "https://github.com/acme/fraud/pull/7"


class Clock:
    """The bot's `now`: 10:01, 10:02, ... on the day of the reviews."""

    def __init__(self) -> None:
        self.minute = 0

    def __call__(self) -> str:
        self.minute += 1
        return f"2026-11-27T10:{self.minute:02d}:00Z"


@dataclass
class World:
    client: MlflowClient
    tracking_uri: str
    model: str
    production: str
    first: str
    second: str
    github: FakeGitHub = field(default_factory=FakeGitHub)
    pauses: list[float] = field(default_factory=list)
    deps: Deps | None = None

    @property
    def d(self) -> Deps:
        assert self.deps is not None
        return self.deps

    # --- driving the bot ---
    def review(self) -> Outcome:
        return review_pull_request(7, self.d)

    def close(self, merged: bool) -> Outcome:
        pull = self.github.pulls[7]
        sha = MERGE if merged else None
        self.github.pulls[7] = replace(pull, state="closed", merged=merged, merge_commit_sha=sha)
        return close_pull_request(7, self.d)

    def approve(self, user: str, at: str, state: str = "APPROVED") -> None:
        review = Review(user=user, state=ReviewState.parse(state), submitted_at=at, commit_id=HEAD)
        self.github.add_review(7, review)

    def approve_both(self) -> None:
        self.approve("bob", "2026-11-27T11:00:00Z")
        self.approve("carol", "2026-11-27T11:05:00Z")

    def link(self, body: str) -> None:
        self.github.pulls[7] = replace(self.github.pulls[7], body=body)

    def configure(self, extra: str) -> None:
        self.github.files[(".github/model-review.yml", BASE)] = CONFIG + extra

    # --- reading MLflow back ---
    def tags(self, run_id: str) -> dict[str, str]:
        tags = self.client.get_run(run_id).data.tags
        return {k: v for k, v in tags.items() if k.startswith("model_review.")}

    def version_tags(self, version: str) -> dict[str, str]:
        return dict(self.client.get_model_version(self.model, version).tags)

    def ledger(self) -> dict[str, str]:
        """The registered model's production-history tags, by name."""
        tags = self.client.get_registered_model(self.model).tags
        return {k: v for k, v in tags.items() if k.startswith("model_review.history.")}

    def production_version(self) -> str:
        return str(self.client.get_model_version_by_alias(self.model, "production").version)

    @property
    def body(self) -> str:
        return self.github.comment_list[0].body

    def promote(self, number: int, run_id: str, merge: str) -> Outcome:
        """Another PR linking `run_id`: reviewed, approved, merged as `merge`
        (promoted when the config says `promote: true`). Returns the close outcome."""
        head = merge[::-1].replace(merge[0], "a")  # any other 40-hex commit
        pull = replace(
            self.github.pulls[7],
            number=number,
            body=f"Model: runs:/{run_id}/model",
            head_sha=head,
            commits=(head,),
            html_url=f"https://github.com/acme/fraud/pull/{number}",
        )
        self.github.pulls[number] = pull
        review_pull_request(number, self.d)
        approvals = ("alice", "bob", "carol")  # whoever holds the primary slot of this PR
        for user, minute in zip(approvals, ("00", "01", "05"), strict=True):
            at = f"2026-11-27T11:{minute}:00Z"
            review = Review(user=user, state=ReviewState.APPROVED, submitted_at=at, commit_id=head)
            self.github.add_review(number, review)
        review_pull_request(number, self.d)
        closed = replace(pull, state="closed", merged=True, merge_commit_sha=merge)
        self.github.pulls[number] = closed
        return close_pull_request(number, self.d)


def models_config(world: World, extra: str) -> str:
    """Reviewers per model: `world.model` and the churn experiments have their own."""
    return f"""
reviewers:
  primary: [alice, bob]
  secondary: [carol]
  models:
    "{world.model}": {{primary: [frank], secondary: [grace]}}
    "experiment:churn-*": {{primary: [judy], secondary: [ken]}}
plots:
  host: none
{extra}"""


def two_models(world: World, extra: str = "") -> str:
    """PR 7 links a version of `world.model` and a run of an unregistered churn model
    (returned), reviewed per model (`models_config`)."""
    churn = make_run(world.client, unique_name("churn"), {"k": 3}, {"val_auc": 0.7})
    world.link(f"runs:/{world.first}/model and runs:/{churn}/model")
    world.github.files[(".github/model-review.yml", BASE)] = models_config(world, extra)
    return churn


def build_world(client: MlflowClient, tracking_uri: str) -> World:
    experiment, model = unique_name("record"), unique_name("record-model")
    production = make_run(
        client, experiment, {"depth": 4}, {"val_f1": 0.80, "val_loss": 0.40}, run_name="prod"
    )
    first = make_run(
        client,
        experiment,
        {"depth": 6},
        {"val_f1": 0.84, "val_loss": 0.35},
        notes="# Deeper\n\nSix levels.",
        run_name="cand-1",
    )
    second = make_run(
        client, experiment, {"depth": 8}, {"val_f1": 0.85, "val_loss": 0.36}, run_name="cand-2"
    )
    register(client, model, production, aliases=["production"])
    register(client, model, first)
    register(client, model, second)
    world = World(client, tracking_uri, model, production, first, second)
    world.github.pulls[7] = PullRequest(
        number=7,
        title="Retrain",
        body=f"Model: runs:/{first}/model",
        author="dave",
        head_sha=HEAD,
        base_sha=BASE,
        head_ref="retrain",
        base_ref="main",
        repo="acme/fraud",
        html_url=URL,
        commits=(HEAD,),
    )
    world.configure("")

    def runs(config: Config) -> RunsPort:
        return MlflowRuns(tracking_uri)

    world.deps = Deps(
        github=world.github,
        runs=runs,
        images=lambda config, pr, runs, previous: None,
        now=Clock(),
        pause=world.pauses.append,
    )
    return world
