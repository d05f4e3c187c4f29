"""`model-review history` and `model-review rollback` (bot.app.operator,
bot.handlers.production) against the REAL MLflow test server: production's history
after two promotions and a rollback, and every error path with its exit code."""

from __future__ import annotations

import json

import pytest
from mlflow.tracking import MlflowClient
from mlflow_helpers import make_run, register, unique_name

from bot.app.operator import operator_name
from bot.cli import main
from tests.record_world import World, build_world

FIRST_MERGE, SECOND_MERGE = "5" * 40, "6" * 40


@pytest.fixture
def world(mlflow_client: MlflowClient, mlflow_server: str) -> World:
    world = build_world(mlflow_client, mlflow_server)
    world.configure("promote: true\n")
    return world


@pytest.fixture
def promoted(world: World) -> World:
    """v2 promoted by PR 8, then v3 by PR 9: production is v3."""
    world.promote(8, world.first, FIRST_MERGE)
    world.promote(9, world.second, SECOND_MERGE)
    assert world.production_version() == "3"
    return world


def run(world: World, command: str, *args: str, model: str | None = None) -> int:
    name = world.model if model is None else model
    return main([command, name, "--tracking-uri", world.tracking_uri, *args])


def history(world: World, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    capsys.readouterr()
    assert run(world, "history", "--format", "json") == 0
    return dict(json.loads(capsys.readouterr().out))


def test_history_after_two_promotions_and_a_rollback(
    promoted: World, capsys: pytest.CaptureFixture[str]
) -> None:
    world = promoted
    shown = history(world, capsys)
    assert shown["production"] == "3"
    steps = [(e["version"], e["action"], e.get("previous")) for e in shown["history"]]  # type: ignore[attr-defined]
    assert steps == [("3", "promote", "2"), ("2", "promote", "1")]
    newest = shown["history"][0]  # type: ignore[index]
    assert newest["pr"] == "https://github.com/acme/fraud/pull/9"
    assert newest["approvers"] == ["alice", "carol"] and newest["key"] == f"merge:{SECOND_MERGE}"

    code = run(world, "rollback", "--reason", "latency regression", "--by", "ops")

    out = capsys.readouterr().out
    assert code == 0 and world.production_version() == "2"
    assert "moved from v3 to v2" in out and "Open pull requests compare against v2" in out
    shown = history(world, capsys)
    steps = [(e["version"], e["action"], e.get("previous")) for e in shown["history"]]  # type: ignore[attr-defined]
    assert steps == [("2", "rollback", "3"), ("3", "promote", "2"), ("2", "promote", "1")]
    rolled = shown["history"][0]  # type: ignore[index]
    assert rolled["by"] == "ops" and rolled["reason"] == "latency regression"
    assert rolled["key"].startswith("rollback:") and rolled["at"].endswith("Z")
    reviewed = {v["version"]: v for v in shown["versions"]}  # type: ignore[attr-defined]
    assert reviewed["3"]["status"] == "approved" and reviewed["3"]["merged_commit"] == SECOND_MERGE
    assert reviewed["2"]["pr"] == "https://github.com/acme/fraud/pull/8"

    assert run(world, "history") == 0
    text = capsys.readouterr().out
    assert text.startswith(f"{world.model}: v2 holds alias `production`")
    assert "rolled back by ops: latency regression (replaced v3)" in text
    assert "promoted by https://github.com/acme/fraud/pull/9, approved by alice, carol" in text


def test_rollback_with_to_and_the_user_from_the_environment(
    promoted: World, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_USERNAME", raising=False)
    monkeypatch.setattr("getpass.getuser", lambda: "os-user")
    assert run(promoted, "rollback", "--to", "2", "--reason", "bad data") == 0
    assert history(promoted, capsys)["history"][0]["by"] == "os-user"  # type: ignore[index]


def test_operator_name_prefers_by_then_the_tracking_username(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "svc-mlflow")
    monkeypatch.setattr("getpass.getuser", lambda: "os-user")
    assert operator_name("alice") == "alice"
    assert operator_name(None) == "svc-mlflow"
    monkeypatch.delenv("MLFLOW_TRACKING_USERNAME")
    assert operator_name(" ") == "os-user"


# --- refusals and errors ---------------------------------------------------------------


def error(capsys: pytest.CaptureFixture[str]) -> str:
    return capsys.readouterr().err


def test_a_version_never_approved_is_refused_unless_forced(
    promoted: World, capsys: pytest.CaptureFixture[str], mlflow_client: MlflowClient
) -> None:
    world = promoted
    exp = mlflow_client.get_run(world.first).info.experiment_id
    loose = make_run(mlflow_client, mlflow_client.get_experiment(exp).name, {"depth": 2}, {})
    version = register(mlflow_client, world.model, loose)

    assert run(world, "rollback", "--to", version, "--reason", "why") == 4
    err = error(capsys)
    assert f"v{version} was never approved through model-review" in err and "--force" in err
    assert world.production_version() == "3"

    assert run(world, "rollback", "--to", version, "--reason", "why", "--force") == 0
    assert world.production_version() == version
    entry = history(world, capsys)["history"][0]  # type: ignore[index]
    assert entry["reason"] == f"why [forced: v{version} was never approved through model-review]"


def test_a_version_whose_run_was_deleted_is_refused_unless_forced(
    promoted: World, capsys: pytest.CaptureFixture[str], mlflow_client: MlflowClient
) -> None:
    mlflow_client.delete_run(promoted.first)

    assert run(promoted, "rollback", "--reason", "why") == 4
    assert f"the run of v2 ({promoted.first}) was deleted" in error(capsys)
    assert promoted.production_version() == "3"
    assert run(promoted, "rollback", "--reason", "why", "--force") == 0
    assert promoted.production_version() == "2"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("--to", "99", "--reason", "x"), 3, "has no version 99 (deleted, or never registered)"),
        (("--to", "3", "--reason", "x"), 4, "v3 already holds alias `production`"),
        (("--to", "two", "--reason", "x"), 2, "--to 'two' is not a version number"),
        (("--reason", "  "), 2, "--reason must say why"),
        (("--reason", "x" * 501), 2, "--reason is longer than 500 characters"),
        (("--to", "2"), 2, "the following arguments are required: --reason"),
    ],
)
def test_rollback_errors(
    promoted: World,
    capsys: pytest.CaptureFixture[str],
    args: tuple[str, ...],
    code: int,
    message: str,
) -> None:
    try:
        assert run(promoted, "rollback", *args) == code
    except SystemExit as exc:  # argparse's own usage errors
        assert exc.code == code
    assert message in error(capsys)
    assert promoted.production_version() == "3" and len(promoted.ledger()) == 2


def test_unknown_model(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    missing = unique_name("no-such-model")
    for command in (["history"], ["rollback", "--reason", "x"]):
        assert run(world, command[0], *command[1:], model=missing) == 3
        assert f"there is no registered model `{missing}`" in error(capsys)


def test_nothing_recorded_as_previous_production(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    # production (v1) was set by hand: no history, nothing to go back to
    assert run(world, "rollback", "--reason", "x") == 4
    err = error(capsys)
    assert "no previous `production` version" in err and "--to VERSION" in err
    shown = history(world, capsys)
    assert shown["history"] == [{"version": "1", "action": "outside"}]
    assert shown["versions"] == []


def test_no_tracking_uri_and_mlflow_down(
    world: World, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert main(["history", world.model]) == 2
    assert "no MLflow tracking URI" in error(capsys)
    dead = "http://127.0.0.1:9"  # nothing listens on the discard port
    assert main(["rollback", world.model, "--reason", "x", "--tracking-uri", dead]) == 1
    assert "model-review: error:" in error(capsys)


def test_help_lists_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("history", "rollback"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        out = capsys.readouterr().out
        assert "exit codes:" in out and "3  unknown registered model or version" in out


def test_rollback_to_a_newer_version_is_worded_as_moving_production() -> None:
    from bot.domain import HistoryEntry, LedgerAction
    from bot.handlers.production import describe

    back = HistoryEntry("2", LedgerAction.ROLLBACK, previous="3", by="ops", reason="latency")
    forward = HistoryEntry("4", LedgerAction.ROLLBACK, previous="3", by="ops", reason="fixed")
    assert describe(back) == "rolled back by ops: latency (replaced v3)"
    assert describe(forward) == "moved production to v4 by ops: fixed (replaced v3)"
