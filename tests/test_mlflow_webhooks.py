"""When production moves, end to end: a REAL MLflow server (the session's, which runs
with MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS=true) holds a webhook registered through
`model-review mlflow-webhook create`; moving the production alias makes MLflow deliver
to the App served on loopback, which verifies, queues and re-reviews: the approved PR
of that model goes back to pending with the reason in its comment, and the PR about
another model is not touched. Also the command's other actions against the server."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from mlflow.tracking import MlflowClient

from bot.app.queue.jobs import InProcessQueue
from bot.app.queue.runner import JobRunner
from bot.app.settings import Settings
from bot.app.webhook import AppDeps, MemoryDeliveries, create_app
from bot.app.wiring import make_runs
from bot.cli import main
from bot.domain import GateState
from tests.fakes import FakeInstallations, FakeInventory
from tests.mlflow_helpers import make_run, register, unique_name
from tests.registry_world import CHURN, FRAUD, approved, installation, serving, wait_for

SECRET = "registry-e2e-secret"
SECRET_VARIABLE = "E2E_MLFLOW_HOOK_SECRET"


@dataclass(frozen=True)
class Models:
    fraud: str
    churn: str
    new_version_run: str


def _models(client: MlflowClient) -> Models:
    """Two registered models, each with a production version (v1) and a candidate (v2)."""
    experiment = unique_name("registry-e2e")
    fraud, churn = unique_name("fraud"), unique_name("churn")
    for name in (fraud, churn):
        register(
            client,
            name,
            make_run(client, experiment, metrics={"val_auc": 0.90}),
            aliases=["production"],
        )
        register(client, name, make_run(client, experiment, metrics={"val_auc": 0.93}))
    return Models(fraud, churn, make_run(client, experiment, metrics={"val_auc": 0.91}))


@pytest.fixture
def app_url(mlflow_server: str, restore_signals: None) -> Iterator[tuple[str, FakeInstallations]]:
    """The App (in-process queue, one worker) on loopback, with an empty installation."""
    settings = Settings(
        app_id=1,
        private_key="unused",
        webhook_secret="github-unused",
        tracking_uri=mlflow_server,
        mlflow_webhook_secret=SECRET,
    )
    apps = FakeInstallations()
    runner = JobRunner(
        settings,
        apps,
        runs=lambda config: make_runs(mlflow_server, config),
        images=lambda gh: lambda *a: None,
    )
    queue = InProcessQueue(runner, workers=1)
    runner.queue, runner.inventory = queue, FakeInventory(apps)
    app = create_app(settings, AppDeps(queue, MemoryDeliveries()))
    try:
        with serving(app) as url:
            yield url, apps
    finally:
        queue.close(30)


def _cli(capsys: pytest.CaptureFixture[str], uri: str, *args: str) -> tuple[int, str]:
    code = main(["mlflow-webhook", "--tracking-uri", uri, *args])
    out = capsys.readouterr()
    assert SECRET not in out.out + out.err  # never printed
    return code, out.out


def test_moving_production_re_reviews_the_approved_pr_through_mlflows_webhook(
    mlflow_server: str,
    mlflow_client: MlflowClient,
    app_url: tuple[str, FakeInstallations],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, apps = app_url
    models = _models(mlflow_client)
    fraud_candidate = mlflow_client.get_model_version(models.fraud, "2").run_id
    churn_candidate = mlflow_client.get_model_version(models.churn, "2").run_id
    world = installation(
        {FRAUD: f"runs:/{fraud_candidate}/model", CHURN: f"runs:/{churn_candidate}/model"}
    )
    apps.repos.update(world.repos)
    apps.installed.update(world.installed)
    runs = lambda config: make_runs(mlflow_server, config)  # noqa: E731
    for pull in (FRAUD, CHURN):
        approved(apps.repos[pull.repo], pull, runs)
    fraud, churn = apps.repos[FRAUD.repo], apps.repos[CHURN.repo]
    churn_before = (list(churn.writes), churn.comment_list[0].body)

    monkeypatch.setenv(SECRET_VARIABLE, SECRET)
    code, out = _cli(
        capsys,
        mlflow_server,
        "create",
        "--url",
        f"{url}/mlflow/webhook",
        "--secret-env",
        SECRET_VARIABLE,
    )
    assert code == 0 and f"signed with the secret from ${SECRET_VARIABLE}" in out
    hook = re.search(r"created webhook (\S+)", out)
    assert hook is not None
    try:
        version = register(mlflow_client, models.fraud, models.new_version_run)  # v3
        mlflow_client.set_registered_model_alias(models.fraud, "production", version)

        wait_for(lambda: fraud.status_of(FRAUD.head) is GateState.PENDING, "the re-review's status")
        body = fraud.comment_list[0].body
        assert re.search(
            r"production moved from v1 to v3 at \d\d:\d\d UTC by the registry; "
            r"approvals must be given again",
            body,
        ), body
        assert (churn.writes, churn.comment_list[0].body) == churn_before
    finally:
        assert _cli(capsys, mlflow_server, "delete", hook.group(1))[0] == 0


def test_the_command_lists_tests_and_deletes_without_showing_the_secret(
    mlflow_server: str,
    app_url: tuple[str, FakeInstallations],
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, _ = app_url
    name = unique_name("hook")
    code, out = _cli(
        capsys,
        mlflow_server,
        "create",
        "--url",
        f"{url}/mlflow/webhook",
        "--secret",
        SECRET,
        "--name",
        name,
        "--events",
        "model_version_alias.created",
    )
    hook_id = re.search(r"created webhook (\S+)", out)
    assert code == 0 and hook_id is not None
    webhook = hook_id.group(1)
    try:
        code, listed = _cli(capsys, mlflow_server, "list")
        assert code == 0 and f"{webhook}  {name}  ACTIVE  {url}/mlflow/webhook" in listed
        code, tested = _cli(capsys, mlflow_server, "test", webhook)
        assert (code, tested) == (0, f"webhook {webhook}: ok, answered 204\n")  # signature verified
    finally:
        code, deleted = _cli(capsys, mlflow_server, "delete", webhook)
    assert (code, deleted) == (0, f"deleted webhook {webhook}\n")
    assert webhook not in _cli(capsys, mlflow_server, "list")[1]


def test_a_webhook_with_another_secret_is_refused_by_the_app(
    mlflow_server: str, app_url: tuple[str, FakeInstallations], capsys: pytest.CaptureFixture[str]
) -> None:
    url, _ = app_url
    code, out = _cli(
        capsys,
        mlflow_server,
        "create",
        "--url",
        f"{url}/mlflow/webhook",
        "--secret",
        "not-the-apps",
        "--name",
        unique_name("bad"),
    )
    webhook = out.split()[2]
    try:
        code, tested = _cli(capsys, mlflow_server, "test", webhook)
        assert (code, tested) == (1, f"webhook {webhook}: FAILED, answered 401\n")
    finally:
        _cli(capsys, mlflow_server, "delete", webhook)


def test_an_error_while_creating_never_shows_the_secret(
    mlflow_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """MLflow refuses the URL (a scheme it does not allow): its message is shown, and
    the secret given on the command line is not."""
    secret = "ftp-echoed-secret-value"
    code = main(["mlflow-webhook", "--tracking-uri", mlflow_server, "create",
                 "--url", f"ftp://{secret}.test/mlflow/webhook", "--secret", secret])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "Invalid webhook URL scheme" in err
    assert secret not in err


def test_creating_without_a_secret_is_refused(
    mlflow_server: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MODEL_REVIEW_MLFLOW_WEBHOOK_SECRET", raising=False)
    code = main(
        [
            "mlflow-webhook",
            "--tracking-uri",
            mlflow_server,
            "create",
            "--url",
            "https://x.test/mlflow/webhook",
        ]
    )
    assert code == 2
    assert "MLflow would send unsigned events" in capsys.readouterr().err
