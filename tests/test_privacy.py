"""Privacy: what a pull request can learn from MLflow through the bot.

A PR author chooses which run ids the bot looks up; the repository's config (on the
base branch) chooses what may be shown. These tests plant a secret run and check
that nothing about it reaches the comment, the commit status, the job summary, the
outputs or the logs (at every level), and that a public repository without an
allow-list gets no MLflow data at all.
"""

from __future__ import annotations

import copy
import json
import logging
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import responses
from matrix import row
from mlflow.tracking import MlflowClient
from mlflow_helpers import (
    EchoingProxy,
    Listener,
    RequestLog,
    bare_logged_model,
    experiment_id,
    make_run,
    move_artifacts,
    register,
    unique_name,
)

from bot.app.action import run_action
from bot.config.schema import Config, MlflowConfig
from bot.domain import GateState, PullRequest, RunSnapshot
from bot.githost.client import GitHubRepo
from bot.handlers.closed import close_pull_request
from bot.handlers.context import Deps, Outcome
from bot.handlers.pull_request import review_pull_request
from bot.ports import RunsPort
from bot.redaction import forms
from bot.render.markdown import WORD_JOINER
from bot.review.privacy import NOT_ALLOWED, PUBLIC_NO_ALLOW_LIST
from bot.review.refs import find_refs
from bot.review.resolve import resolve_candidates
from bot.tracking.locations import ARTIFACTS_ELSEWHERE
from tests import github_payloads as gp
from tests.fakes import FakeGitHub, FakeRuns
from tests.github_sim import GitHubSim
from tests.mlflow_server import MlflowServer, free_port

PROD, CAND, SECRET, MISSING = "a" * 32, "c" * 32, "5" * 32, "9" * 32
# what differs between any two runs: times in the state block (and its checksum),
# durations in the log
TIMESTAMP = re.compile(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ|"sum": "[0-9a-f]+"|\d+\.\d\d s\b')
HEAD, BASE = "1" * 40, "2" * 40
# everything about the secret run; none of it may be published
SECRET_BITS = (
    "SECRET-RUN-NAME",
    "secret_param",
    "SECRET-PARAM-VALUE",
    "secret_metric",
    "0.7771",
    "SECRET-EXPERIMENT",
    "SECRET NOTE",
    "hr-model",
)
ALLOW_FRAUD = """
mlflow:
  experiments: ["fraud*"]
reviewers:
  primary: [alice, bob]
  secondary: [carol]
require_review_for: ["models/**"]
"""
NO_ALLOW_LIST = """
reviewers:
  primary: [alice, bob]
  secondary: [carol]
require_review_for: ["models/**"]
"""


def _run(run_id: str, name: str, experiment: str = "fraud", **kwargs: Any) -> RunSnapshot:
    return RunSnapshot(
        run_id=run_id,
        experiment_id="1" if experiment == "fraud" else "66",
        name=name,
        experiment_name=experiment,
        params=kwargs.get("params", {"max_depth": "6"}),
        metrics=kwargs.get("metrics", {"val_auc": 0.93}),
        tags=kwargs.get("tags", {}),
    )


SECRET_RUN = _run(
    SECRET,
    "SECRET-RUN-NAME",
    "SECRET-EXPERIMENT-hr",
    params={"secret_param": "SECRET-PARAM-VALUE"},
    metrics={"secret_metric": 0.777123},
    tags={"mlflow.note.content": "# SECRET NOTE\n\nSalaries."},
)


@dataclass
class World:
    github: FakeGitHub
    runs: FakeRuns
    deps: Deps
    asked: list[str]  # each time the handler built an MLflow client

    def pr(self, body: str, **changes: Any) -> None:
        self.github.pulls[7] = replace(self.github.pulls[7], body=body, **changes)

    def config(self, text: str) -> None:
        self.github.files[(".github/model-review.yml", BASE)] = text

    def review(self) -> Outcome:
        return review_pull_request(7, self.deps)

    def published(self, outcome: Outcome, caplog: pytest.LogCaptureFixture) -> str:
        """Every channel the bot writes to: comments, statuses, summary, logs."""
        statuses = [f"{state.value} {text}" for _, state, text, _ in self.github.statuses]
        return "\n".join(
            [
                *(c.body for c in self.github.comment_list),
                *statuses,
                outcome.markdown,
                outcome.notice,
                outcome.gate.description if outcome.gate else "",
                *outcome.writes,
                caplog.text,
            ]
        )


@pytest.fixture
def world(caplog: pytest.LogCaptureFixture) -> Iterator[World]:
    caplog.set_level(logging.DEBUG)
    runs = FakeRuns()
    runs.add_run(_run(PROD, "prod", metrics={"val_auc": 0.90}))
    runs.add_run(_run(CAND, "cand"))
    runs.add_run(SECRET_RUN)
    runs.register("fraud-model", PROD, aliases=["production"])
    runs.register("fraud-model", CAND)
    runs.register("hr-model", SECRET, aliases=["production"])
    github = FakeGitHub()
    github.pulls[7] = PullRequest(
        number=7,
        title="Retrain",
        body="",
        author="dave",
        head_sha=HEAD,
        base_sha=BASE,
        head_ref="retrain",
        base_ref="main",
        repo="acme/fraud",
        commits=(HEAD,),
        changed_files=("models/train.py",),
        private=True,
    )
    asked: list[str] = []

    def mlflow(config: Config) -> RunsPort:
        asked.append("runs")
        return runs

    deps = Deps(
        github=github,
        runs=mlflow,
        images=lambda config, pr, runs_port, previous: None,
        now=lambda: "2026-11-27T10:00:00Z",
    )
    found = World(github, runs, deps, asked)
    found.config(ALLOW_FRAUD)
    yield found


def assert_nothing_secret(text: str) -> None:
    for bit in SECRET_BITS:
        assert bit not in text, f"{bit!r} was published"


# --- allow-lists ---------------------------------------------------------------------


@row(
    "privacy",
    "A PR links a run outside `mlflow.experiments` next to an allowed one",
    "The allowed run is reviewed; the other is listed only as the link the author "
    'wrote, "not found, or not allowed by this repository\'s config". Its name, '
    "experiment, params, metrics and notes appear nowhere: comment, status, job "
    "summary, outcome, logs at DEBUG",
)
def test_a_run_outside_the_allow_list_reveals_nothing(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    world.pr(f"Model: runs:/{CAND}/model, also https://mlflow.acme.io/#/runs/{SECRET}")
    outcome = world.review()

    body = world.github.comment_list[0].body
    assert "cand" in body and "val_auc" in body
    assert f"https://mlflow.acme.io/#/runs/{SECRET}" in body  # the author's own words
    assert "not allowed by this repository" in body
    assert_nothing_secret(world.published(outcome, caplog))
    assert world.github.status_of(HEAD) is GateState.PENDING


@row(
    "privacy",
    "A PR probes for run ids: one exists outside the allow-list, one does not exist; "
    "the same ids as bare hex words",
    "Both links get the identical answer (no existence oracle); bare ids that do not "
    "resolve to an allowed run are ignored alike",
)
def test_missing_and_refused_runs_get_the_same_answer(world: World) -> None:
    refs = find_refs([f"runs:/{SECRET}/m runs:/{MISSING}/m"])
    resolution = resolve_candidates(refs, world.runs, Config(mlflow=_lists(("fraud*",))))
    assert [u.reason for u in resolution.unresolved] == [NOT_ALLOWED, NOT_ALLOWED]
    bare = resolve_candidates(
        find_refs([f"{SECRET} {MISSING}"]), world.runs, Config(mlflow=_lists(("fraud*",)))
    )
    assert bare.candidates == () and bare.unresolved == ()


def _lists(experiments: tuple[str, ...] = (), models: tuple[str, ...] = ()) -> MlflowConfig:
    return MlflowConfig(experiments=experiments, models=models)


@row(
    "privacy",
    "A PR names a registered model outside `mlflow.models` (`models:/hr-model/1`, "
    "`models:/hr-model@production`) or a model that does not exist",
    "Refused before MLflow is asked (no registry call at all), with the same answer "
    "as a model that does not exist; a listed model keeps its precise message "
    '("has no version 9")',
)
def test_a_model_outside_mlflow_models_is_refused_before_any_lookup(world: World) -> None:
    config = Config(mlflow=_lists(models=("fraud-model",)))
    text = "models:/hr-model/1 models:/hr-model@production models:/ghost/1"
    resolution = resolve_candidates(find_refs([text]), world.runs, config)
    assert [u.reason for u in resolution.unresolved] == [NOT_ALLOWED] * 3
    assert world.runs.calls == []
    listed = resolve_candidates(find_refs(["models:/fraud-model/9"]), world.runs, config)
    assert "has no version 9" in listed.unresolved[0].reason
    experiments_only = Config(mlflow=_lists(("fraud*",)))
    ghost = resolve_candidates(find_refs(["models:/ghost/1"]), world.runs, experiments_only)
    assert ghost.unresolved[0].reason == NOT_ALLOWED


@row(
    "privacy",
    "Only `mlflow.models` is set and a PR links a run that is registered to no model",
    "Refused: with a models-only allow-list a run must belong to a listed model",
)
def test_with_only_a_models_list_an_unregistered_run_is_refused(world: World) -> None:
    world.runs.add_run(_run("7" * 32, "unregistered", "SECRET-EXPERIMENT-x"))
    config = Config(mlflow=_lists(models=("fraud-model",)))
    resolution = resolve_candidates(find_refs([f"runs:/{'7' * 32}/m"]), world.runs, config)
    assert resolution.candidates == () and resolution.unresolved[0].reason == NOT_ALLOWED
    allowed = resolve_candidates(find_refs([f"runs:/{CAND}/m"]), world.runs, config)
    assert [c.run.run_id for c in allowed.candidates] == [CAND]


@row(
    "privacy",
    "Both `mlflow.experiments` and `mlflow.models` are set and a PR links a run of a listed "
    "experiment that is registered to no listed model (or to none)",
    "Refused: with both lists a run must be in a listed experiment AND belong to a listed "
    "model; a registered run of a listed model in a listed experiment is shown",
)
def test_with_both_lists_a_run_must_pass_both(world: World) -> None:
    world.runs.add_run(_run("7" * 32, "unregistered"))  # experiment `fraud`: listed
    other = world.runs.add_run(_run("6" * 32, "other-model"))
    world.runs.register("hr-model", other.run_id)
    config = Config(mlflow=_lists(("fraud*",), models=("fraud-model",)))
    text = f"runs:/{'7' * 32}/m runs:/{'6' * 32}/m"
    refused = resolve_candidates(find_refs([text]), world.runs, config)
    assert refused.candidates == ()
    assert [u.reason for u in refused.unresolved] == [NOT_ALLOWED] * 2
    allowed = resolve_candidates(find_refs([f"runs:/{CAND}/m"]), world.runs, config)
    assert [c.run.run_id for c in allowed.candidates] == [CAND]
    outside = Config(mlflow=_lists(("other*",), models=("fraud-model",)))  # registered, wrong exp
    moved = resolve_candidates(find_refs([f"runs:/{CAND}/m"]), world.runs, outside)
    assert moved.candidates == () and moved.unresolved[0].reason == NOT_ALLOWED


@row(
    "privacy",
    "An allowed run is also registered to a model outside `mlflow.models`",
    "The run is reviewed; the unlisted model's name and version are dropped from it",
)
def test_versions_of_unlisted_models_are_not_shown(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    both = world.runs.add_run(_run("8" * 32, "both"))
    world.runs.register("hr-model", both.run_id)  # its first version: what a review shows
    world.runs.register("fraud-model", both.run_id)
    world.config(ALLOW_FRAUD.replace('experiments: ["fraud*"]', 'models: ["fraud-model"]'))
    world.pr(f"runs:/{both.run_id}/model")
    outcome = world.review()
    body = world.github.comment_list[0].body
    assert "`fraud-model` v3" in body and "both" in body
    assert_nothing_secret(world.published(outcome, caplog))


@row(
    "privacy",
    "The production model's run (registry alias, or `baseline.run` pinned) is outside "
    "the allow-list",
    "No comparison: \"the production model is not allowed by this repository's "
    "config\"; none of the production run's data is shown",
)
@pytest.mark.parametrize("how", ["alias", "pinned"])
def test_a_production_run_outside_the_allow_list_is_not_compared(
    world: World, caplog: pytest.LogCaptureFixture, how: str
) -> None:
    if how == "alias":  # fraud-model's production version now points at the secret run
        world.runs.versions[0] = replace(world.runs.versions[0], run_id=SECRET)
    else:
        world.config(ALLOW_FRAUD + f"baseline:\n  run: {SECRET}\n")
    world.pr(f"runs:/{CAND}/model")
    outcome = world.review()
    body = world.github.comment_list[0].body
    assert "the production model is not allowed by this repository" in body
    assert "| Production |" not in body
    assert_nothing_secret(world.published(outcome, caplog))


# --- public repositories ---------------------------------------------------------------


@row(
    "privacy",
    "Public repository, config without `mlflow.experiments` / `mlflow.models`, PR links "
    "a run (also from a fork, where the review goes to the public job summary)",
    "MLflow is not even asked; the comment explains how to set an allow-list; status "
    "`error` (never green); no run data in any channel",
)
@pytest.mark.parametrize("fork", [False, True], ids=["same-repo", "fork"])
def test_public_repository_without_allow_list_publishes_no_run_data(
    world: World, caplog: pytest.LogCaptureFixture, fork: bool
) -> None:
    world.config(NO_ALLOW_LIST)
    world.pr(f"runs:/{SECRET}/model", private=False, head_repo="mallory/fraud" if fork else None)
    world.deps.forks_read_only = fork
    world.github.read_only = fork
    outcome = world.review()

    assert world.asked == [] and world.runs.calls == []
    assert outcome.gate is not None and outcome.gate.state is GateState.ERROR
    assert "mlflow.experiments" in outcome.gate.description
    assert PUBLIC_NO_ALLOW_LIST.split(",")[0].replace("`", "") in outcome.markdown.replace("`", "")
    assert "fraud-*" in outcome.markdown  # how to configure it
    assert_nothing_secret(world.published(outcome, caplog))
    if fork:
        assert world.github.writes == []
    else:
        assert world.github.status_of(HEAD) is GateState.ERROR
        assert world.github.comment_list[0].body == outcome.markdown


@row(
    "privacy",
    "A repository made public after reviews were posted (the old comment shows runs)",
    "The next event replaces the review with the allow-list notice",
)
def test_a_review_posted_while_private_is_replaced_once_public(world: World) -> None:
    world.config(NO_ALLOW_LIST)
    world.pr(f"runs:/{CAND}/model")
    world.review()
    assert "val_auc" in world.github.comment_list[0].body
    world.pr(f"runs:/{CAND}/model", private=False)
    world.review()
    (comment,) = world.github.comment_list
    assert "val_auc" not in comment.body and "allow-list" in comment.body
    assert world.github.status_of(HEAD) is GateState.ERROR


@row(
    "privacy",
    "Public repository without an allow-list, PR links no run and changes no model path",
    "No comment (no noise on unrelated PRs), but the status is `error`, not `success`",
)
def test_public_pr_without_runs_gets_no_comment_and_no_green(world: World) -> None:
    world.config(NO_ALLOW_LIST)
    world.pr("Fix a typo", private=False, changed_files=("README.md",))
    outcome = world.review()
    assert world.github.comment_list == []
    assert world.github.status_of(HEAD) is GateState.ERROR
    assert outcome.gate is not None and outcome.gate.state is not GateState.SUCCESS


@row(
    "privacy",
    "A PR on a public repository without an allow-list is merged or closed (the bot's "
    "notice holds its state, so the closing handler runs)",
    "MLflow is not asked and nothing is written to it; the comment's last line says "
    "nothing was recorded; no run data",
)
@pytest.mark.parametrize("merged", [True, False], ids=["merged", "closed"])
def test_closing_a_public_pr_without_allow_list_records_nothing(
    world: World, caplog: pytest.LogCaptureFixture, merged: bool
) -> None:
    world.config(NO_ALLOW_LIST + "promote: true\n")
    world.pr(f"runs:/{SECRET}/model models:/hr-model/1", private=False)
    world.review()
    world.pr(
        f"runs:/{SECRET}/model models:/hr-model/1",
        private=False,
        state="closed",
        merged=merged,
        merge_commit_sha="3" * 40 if merged else None,
    )
    outcome = close_pull_request(7, world.deps)
    assert world.asked == [] and world.runs.calls == []
    assert "nothing recorded" in world.github.comment_list[0].body
    assert_nothing_secret(world.published(outcome, caplog).replace("hr-model/1", "<ref>"))


def test_public_repository_with_an_allow_list_is_reviewed(world: World) -> None:
    world.pr(f"runs:/{CAND}/model", private=False)
    world.review()
    assert "val_auc" in world.github.comment_list[0].body
    assert world.github.status_of(HEAD) is GateState.PENDING


@pytest.mark.parametrize(("private", "expected"), [(True, True), (False, False), (None, False)])
def test_the_adapter_reads_visibility_from_the_base_repository(
    private: bool | None, expected: bool
) -> None:
    data = gp.pull(7)
    if private is None:
        del data["base"]["repo"]["private"]  # not said: taken as public, the safe side
    else:
        data["base"]["repo"]["private"] = private
    with responses.RequestsMock() as rsps:
        rsps.get("https://api.github.com:443/repos/acme/models/pulls/7", json=data)
        pr = GitHubRepo("acme/models", "t", throttle=False).pull_request(
            7, with_commits=False, with_files=False
        )
    assert pr.private is expected


# --- the Action, end to end with a real MLflow ----------------------------------------


@pytest.fixture
def mlflow_world(mlflow_client: MlflowClient, tracking_env: str) -> dict[str, str]:
    fraud, hr = unique_name("fraud"), unique_name("SECRET-EXPERIMENT")
    model = unique_name("fraud-model")
    prod = make_run(mlflow_client, fraud, {"depth": 4}, {"val_auc": 0.90}, run_name="prod")
    cand = make_run(mlflow_client, fraud, {"depth": 6}, {"val_auc": 0.93}, run_name="cand")
    secret = make_run(
        mlflow_client,
        hr,
        {"secret_param": "SECRET-PARAM-VALUE"},
        {"secret_metric": 0.777123},
        notes="# SECRET NOTE\n\nSalaries.",
        run_name="SECRET-RUN-NAME",
    )
    register(mlflow_client, model, prod, aliases=["production"])
    register(mlflow_client, model, cand)
    return {"fraud": fraud, "cand": cand, "secret": secret, "uri": tracking_env}


def run_the_action(sim: GitHubSim, tmp_path: Path, tracking_uri: str) -> list[str]:
    """`model-review action` for the stand-in's PR: what it wrote to GitHub (comments,
    statuses), to the job summary and to the step outputs."""
    event = tmp_path / "event.json"
    payload = copy.deepcopy(gp.webhook("pull_request", "opened"))
    payload["pull_request"] = gp.pull(sim.number, body=sim.body)
    event.write_text(json.dumps(payload))
    env = {
        "GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(event),
        "GITHUB_REPOSITORY": sim.repo, "GITHUB_TOKEN": "ghs_test",
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "GITHUB_OUTPUT": str(tmp_path / "outputs"), "MLFLOW_TRACKING_URI": tracking_uri,
        "MODEL_REVIEW_GITHUB_PACING": "off",  # the production pacing waits between writes
    }  # fmt: skip
    with sim.mocked("http://127.0.0.1"):  # MLflow: the real server
        assert run_action(env) == 0
    return [
        *(c["body"] for c in sim.bot_comments),
        *(json.dumps(s) for s in sim.statuses),
        (tmp_path / "summary.md").read_text(),
        (tmp_path / "outputs").read_text(),
    ]


@dataclass(frozen=True)
class OtherHost:
    listener: Listener  # the other host
    experiment: str
    run_id: str
    uri: str  # the tracking server's


@pytest.fixture
def other_host(
    mlflow_instance: MlflowServer, mlflow_client: MlflowClient, tracking_env: str
) -> Iterator[OtherHost]:
    """A run with a logged model in an experiment whose artifacts live on another host
    (a listener on a second loopback port); MLFLOW_TRACKING_TOKEN set."""
    name = unique_name("fraud-elsewhere")
    with Listener() as listener, pytest.MonkeyPatch.context() as env:
        env.setenv("MLFLOW_TRACKING_TOKEN", "SECRET-MLFLOW-TOKEN")
        exp = experiment_id(mlflow_client, name)
        location = f"mlflow-artifacts://{listener.address}/artifacts/{exp}"
        move_artifacts(mlflow_instance.db_path, exp, location)
        run_id = make_run(mlflow_client, name, {"depth": 6}, {"val_auc": 0.93}, run_name="far")
        bare_logged_model(mlflow_client, exp, run_id)
        assert mlflow_client.get_run(run_id).info.artifact_uri.startswith(location)
        yield OtherHost(listener, name, run_id, tracking_env)


def _config(experiments: str) -> str:
    return ALLOW_FRAUD.replace('"fraud*"', experiments) + "plots:\n  host: mlflow\n"


@row(
    "privacy",
    "A run whose experiment stores artifacts at `mlflow-artifacts://<second loopback "
    "port>/...` (written into the server's sqlite store: MLflow refuses it over REST), with "
    "a logged model, `MLFLOW_TRACKING_TOKEN` set, `plots.host: mlflow`; allowed, then "
    "outside the allow-list",
    "Nothing reaches the second port: no MLmodel read, listing, image download or plot "
    "upload; the comment says `artifacts stored outside the tracking server are not "
    "read`. Refused: only its lookup (runs and versions search), no logged-model search, "
    "no artifact request",
)
@pytest.mark.parametrize("allowed", [True, False], ids=["allowed", "refused"])
def test_credentials_never_go_to_an_artifact_host_other_than_the_tracking_server(
    other_host: OtherHost,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    allowed: bool,
) -> None:
    requests_sent = RequestLog.install(monkeypatch)
    config = _config(f'"{other_host.experiment}"' if allowed else '"fraud-nothing-*"')
    sim = GitHubSim(body=f"runs:/{other_host.run_id}/model", config=config)
    written = run_the_action(sim, tmp_path, other_host.uri)
    assert other_host.listener.received == []
    comment = written[0].replace(WORD_JOINER, "").replace("\\", "")
    assert (ARTIFACTS_ELSEWHERE in comment) is allowed
    assert ("mlflow server --serve-artifacts" in comment) is allowed
    paths = [path for _, path in requests_sent.sent]
    assert not any("artifacts" in path for path in paths), paths
    if not allowed:
        assert NOT_ALLOWED in written[0]
        assert not any("logged-models" in path for path in paths), paths


@row(
    "privacy",
    "With an allow-list, the Action against a real MLflow server: a PR links a refused "
    "run whose logged model has no MLmodel file (reading it would fail, and say so); "
    "another PR links an id that exists nowhere",
    "stdout, stderr, every log record of the bot (all levels) and of anything else "
    "(warnings and up), and everything written are the same for both, the id aside: a "
    "refused run is not read beyond its lookup, so no line names its experiment or model",
)
def test_logs_tell_a_refused_run_from_an_unknown_id_no_better_than_the_comment(
    mlflow_client: MlflowClient,
    tracking_env: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot")
    secret = unique_name("SECRET-EXPERIMENT")
    run_id = make_run(mlflow_client, secret, {"secret_param": 1}, run_name="SECRET-RUN-NAME")
    exp = experiment_id(mlflow_client, secret)
    model_id = bare_logged_model(mlflow_client, exp, run_id)
    capsys.readouterr()  # MLflow's client prints a link to the run it created
    seen: list[str] = []
    for target in (run_id, uuid.uuid4().hex):
        caplog.clear()
        folder = tmp_path / target
        folder.mkdir()
        sim = GitHubSim(body=f"runs:/{target}/model", config=_config('"fraud*"'))
        written = run_the_action(sim, folder, tracking_env)
        printed = capsys.readouterr()
        records = [
            f"{r.name} {r.levelname} {r.getMessage()}"
            for r in caplog.records
            if r.name.startswith("bot") or r.levelno >= logging.WARNING
        ]
        everything = "\n".join([*records, printed.out, printed.err, *written])
        seen.append(TIMESTAMP.sub("<time>", everything.replace(target, "<id>")))
    assert seen[0] == seen[1]
    assert NOT_ALLOWED in seen[0]
    for bit in (model_id, f"/{exp}/", "SECRET"):
        assert bit not in seen[0]


@row(
    "privacy",
    "The Action, against a real MLflow server: a PR links an allowed run and a run "
    "outside the allow-list",
    "Comment, job summary, step outputs, stdout/stderr and logs hold nothing of the refused run",
)
def test_action_publishes_nothing_of_a_refused_run(
    mlflow_world: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)  # MLflow's own DEBUG lines echo what the server said
    config = ALLOW_FRAUD.replace("fraud*", mlflow_world["fraud"]) + "plots:\n  host: none\n"
    body = f"runs:/{mlflow_world['cand']}/model and runs:/{mlflow_world['secret']}/model"
    written = run_the_action(GitHubSim(body=body, config=config), tmp_path, mlflow_world["uri"])
    assert "cand" in written[0] and "not allowed by this repository" in written[0]
    printed = capsys.readouterr()
    everything = "\n".join([*written, printed.out, printed.err, caplog.text])
    assert_nothing_secret(everything.replace(mlflow_world["secret"], "<id the author wrote>"))


@row(
    "privacy",
    "Credentials written into `MLFLOW_TRACKING_URI` (`http://user:token@host`): the run "
    "links are built from it, and when MLflow fails the error names it",
    "The token never reaches the comment, the status, the job summary or the outputs: "
    "links and messages name the host alone",
)
def test_credentials_in_the_tracking_uri_are_never_published(
    world: World, caplog: pytest.LogCaptureFixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.runs.base_url = "http://alice:s3cr3t@mlflow.test"
    world.pr(f"runs:/{CAND}/model")
    outcome = world.review()
    assert f"(http://mlflow.test/#/experiments/1/runs/{CAND})" in world.github.comment_list[0].body
    assert "s3cr3t" not in world.published(outcome, caplog)

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    sim = GitHubSim(body=f"runs:/{CAND}/model", config=ALLOW_FRAUD)
    written = run_the_action(sim, tmp_path, f"http://alice:s3cr3t@127.0.0.1:{free_port()}")
    shown = written[0].replace("\\", "").replace(WORD_JOINER, "")  # escapes of `*`, `://`
    assert "cannot be reached" in shown and "MLflow at http://127.0.0.1:" in shown
    assert not any("s3cr3t" in text for text in written)


# --- issue #22: credentials echoed back by MLflow or a proxy ------------------------------

TOKEN = "tok-7f3a9c2e51d84b06a1"
USER, PASSWORD = "svc-mlflow-bot", "pw-Q8z!r2#xk"


@row(
    "privacy",
    "MLflow (a proxy in front of the real server) answers the runs search with a JSON "
    '501 or 400 (a 5xx that MLflow retries ends as "max retries", without the body) '
    "whose message repeats the request's `Authorization` header: `Bearer "
    "<MLFLOW_TRACKING_TOKEN>`, or `Basic <base64 of user:password>`",
    "The comment, the status, the job summary, the step outputs and every log record "
    "(caplog, DEBUG) show MLflow's error code and `Authorization: Bearer ***`; no form of the "
    "token, username, password, `user:password` or its base64 appears",
)
@pytest.mark.parametrize(("auth", "status"), [("token", 501), ("basic", 400)])
def test_credentials_mlflow_echoes_in_an_error_reach_no_output(
    mlflow_client: MlflowClient,
    tracking_env: str,
    tmp_path: Path,
    *,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    auth: str,
    status: int,
) -> None:
    name = unique_name("fraud-echo")
    run_id = make_run(mlflow_client, name, {"depth": 6}, {"val_auc": 0.93})
    if auth == "token":
        monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", TOKEN)
        secrets = forms(TOKEN)
    else:
        monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", USER)
        monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", PASSWORD)
        secrets = forms(USER) | forms(PASSWORD) | forms(f"{USER}:{PASSWORD}")
    caplog.set_level(logging.DEBUG)
    sim = GitHubSim(body=f"runs:/{run_id}/model", config=ALLOW_FRAUD)
    with EchoingProxy(tracking_env, fail="runs/search", status=status) as proxy:
        written = run_the_action(sim, tmp_path, proxy.uri)
    assert proxy.echoed and all(any(s in e for s in secrets) for e in proxy.echoed)
    code = "INTERNAL_ERROR" if status >= 500 else "INVALID_PARAMETER_VALUE"
    shown = written[0].replace(WORD_JOINER, "").replace("\\", "")  # markdown escapes
    scheme = "Bearer" if auth == "token" else "Basic"
    assert code in shown and f"Authorization: {scheme} ***" in shown
    assert json.loads(written[1])["state"] == "error"
    outputs = [*written, caplog.text, *(r.getMessage() for r in caplog.records)]
    leaked = [s for s in secrets for text in outputs if s in text]
    assert leaked == []
