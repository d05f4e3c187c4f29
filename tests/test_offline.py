"""`model-review render` end to end against the real MLflow test server."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from mlflow_helpers import make_run, register, unique_name

from bot.app.offline import EXIT_UNRESOLVED
from bot.cli import main
from tests.mlflow_server import free_port

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def fraud(mlflow_client: MlflowClient) -> dict[str, str]:
    """A production run under the `production` alias and a candidate of the same model."""
    experiment = unique_name("fraud")
    model = unique_name("fraud-model")
    production = make_run(
        mlflow_client, experiment,
        params={"max_depth": 4, "lr": 0.1},
        metrics={"val_auc": 0.90, "val_loss": 0.30, "latency_ms": 12.0},
        run_name="prod-gbm",
        history={"val_loss": [0.9, 0.6, 0.4, 0.30]},
    )  # fmt: skip
    candidate = make_run(
        mlflow_client, experiment,
        params={"max_depth": 6, "lr": 0.1, "subsample": 0.8},
        metrics={"val_auc": 0.93, "val_loss": 0.25, "latency_ms": 15.0},
        notes="# Deeper trees\n\nBetter AUC at a small latency cost.\n\n## Details\nmore",
        run_name="cand-gbm",
        history={"val_loss": [0.8, 0.5, 0.3, 0.25]},
    )  # fmt: skip
    register(mlflow_client, model, production, aliases=["production"])
    register(mlflow_client, model, candidate)
    return {"production": production, "candidate": candidate, "model": model}


def _row(markdown: str, metric: str) -> list[str]:
    line = next(li for li in markdown.splitlines() if li.startswith(f"| `{metric}`"))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_render_prints_a_table_that_matches_mlflow(
    fraud: dict[str, str], tracking_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = "f" * 32
    text = f"Retrained: runs:/{fraud['candidate']}/model\nmlflow-run: {missing}\n"
    assert main(["render", "--text", text]) == EXIT_UNRESOLVED  # rendered, one unresolved
    out = capsys.readouterr().out

    auc = _row(out, "val_auc")
    assert auc[1] == "↑" and auc[2] == "0.9" and auc[3].startswith("✅ 0.93")
    loss = _row(out, "val_loss")
    assert loss[1] == "↓" and loss[3].startswith("✅ 0.25")  # lower loss is better
    latency = _row(out, "latency_ms")
    assert latency[1] == "↓" and latency[3].startswith("❌ 15")  # slower is a regression
    assert "Deeper trees" in out and "Better AUC at a small latency cost." in out
    assert f"Could not resolve `mlflow-run: {missing}`: no run with this id" in out
    assert "alias `production`" in out
    assert "`subsample`" in out  # an added parameter


def test_render_by_model_uri_and_writes_files(
    fraud: dict[str, str], tracking_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = tmp_path / "review"
    code = main(["render", "--run", f"models:/{fraud['model']}/2", "--out", str(out_dir)])
    assert code == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed == [
        f"Review written to {out_dir / 'comment.md'}",
        f"Open the preview:  {out_dir / 'preview.html'}",
    ]
    comment = (out_dir / "comment.md").read_text()
    html = (out_dir / "preview.html").read_text()
    assert "cand-gbm" in comment and "<html" in html.lower()
    images = re.findall(r'<img src="([^"]+)"', comment)
    assert "metrics.png" in images and any(i.startswith("curve-val_loss") for i in images)
    for name in images:
        assert (out_dir / name).read_bytes().startswith(PNG)
        assert name in html


def test_images_in_subfolders_are_shown_and_a_lone_one_alone(
    mlflow_client: MlflowClient, tracking_env: str, tmp_path: Path
) -> None:
    from PIL import Image

    def png(colour: str) -> bytes:
        buffer = io.BytesIO()
        Image.new("RGB", (80, 60), colour).save(buffer, format="PNG")
        return buffer.getvalue()

    experiment, model = unique_name("figs"), unique_name("figs-model")
    production = make_run(
        mlflow_client, experiment, None, {"auc": 0.9}, None, None,
        artifacts={"plots/eval/confusion.png": png("grey")},
    )  # fmt: skip
    candidate = make_run(
        mlflow_client, experiment, None, {"auc": 0.91}, None, None,
        artifacts={"plots/eval/confusion.png": png("blue"), "figures/roc.png": png("red")},
    )  # fmt: skip
    register(mlflow_client, model, production, aliases=["production"])
    register(mlflow_client, model, candidate)

    assert main(["render", "--run", candidate, "--out", str(tmp_path)]) == 0
    comment = (tmp_path / "comment.md").read_text()
    shown = dict(re.findall(r'<img src="(artifact-[^"]+)" alt="([^"]+)"', comment))

    assert len(shown) == 2, comment
    alts = sorted(shown.values())
    assert alts[0].startswith("figures/roc.png: candidate only: production has no such image")
    assert alts[1].startswith("plots/eval/confusion.png: production (left) and candidate")
    for name in shown:
        assert (tmp_path / name).read_bytes().startswith(PNG)


def test_render_with_config_pins_the_baseline_and_overrides_direction(
    fraud: dict[str, str], tracking_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "model-review.yml"
    config.write_text(
        f"baseline:\n  run: {fraud['production']}\n"
        "metrics:\n  rules:\n    latency_ms: {direction: higher}\n"
    )
    assert main(["render", "--run", fraud["candidate"], "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "pinned in config" in out
    assert _row(out, "latency_ms")[1] == "↑"


def test_render_without_a_production_model_says_so(
    mlflow_client: MlflowClient, tracking_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run = make_run(mlflow_client, unique_name("new"), metrics={"acc": 0.7}, run_name="first")
    assert main(["render", "--run", run]) == 0
    out = capsys.readouterr().out
    assert "No production model" in out or "no registered model" in out


def test_bad_config_exits_2_and_names_the_key_and_line(
    tracking_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "model-review.yml"
    config.write_text("metrics:\n  treshold: 1\n")
    assert main(["render", "--run", "a" * 32, "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "treshold" in err and "line 2" in err and "Traceback" not in err
    assert f"(fix {config} and re-run)" in err and "base branch" not in err
    missing = tmp_path / "nope.yml"
    assert main(["render", "--run", "a" * 32, "--config", str(missing)]) == 2
    err = capsys.readouterr().err
    assert f"fix {missing} and re-run" in err and "base branch" not in err


def test_unreachable_mlflow_exits_1_with_a_clear_message(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    dead = f"http://127.0.0.1:{free_port()}"
    assert main(["render", "--run", "a" * 32, "--tracking-uri", dead]) == 1
    err = capsys.readouterr().err
    assert "127.0.0.1" in err and "Traceback" not in err
    assert "check --tracking-uri and that the server is up" in err
    assert "MLFLOW_TRACKING_URI" not in err  # the flag was used, not the variable


def test_retries_of_a_refused_connection_are_not_logged_before_the_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")  # one retry: one warning
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "0")
    dead = f"http://127.0.0.1:{free_port()}"
    command = [sys.executable, "-m", "bot", "render", "--run", "a" * 32, "--tracking-uri", dead]
    result = subprocess.run(command, capture_output=True, text=True, check=False)

    assert result.returncode == 1
    assert result.stderr.startswith("model-review: error: MLflow at"), result.stderr
    assert "Retrying" not in result.stderr


def test_a_host_and_port_without_scheme_is_told_its_http_address(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["render", "--run", "a" * 32, "--tracking-uri", "127.0.0.1:5077"]) == 2
    err = capsys.readouterr().err
    assert "http://127.0.0.1:5077" in err and "sqlite" not in err


def test_usage_errors_exit_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert main(["render", "--run", "a" * 32]) == 2
    assert "MLFLOW_TRACKING_URI" in capsys.readouterr().err
    assert main(["render", "--tracking-uri", "http://x"]) == 2
    assert "nothing to review" in capsys.readouterr().err
    assert main(["render", "--tracking-uri", "http://x", "--run", "not a ref"]) == 2
    assert "not an MLflow reference" in capsys.readouterr().err


# --- rough edges a first user meets ---------------------------------------------------


def test_out_naming_an_existing_file_is_refused_before_any_network_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    taken = tmp_path / "review.md"
    taken.write_text("mine")
    dead = f"http://127.0.0.1:{free_port()}"  # asking it anything would exit 1

    assert main(["render", "--run", "a" * 32, "--tracking-uri", dead, "--out", str(taken)]) == 2
    err = capsys.readouterr().err
    assert f"--out {taken} is a file, not a folder" in err and "Traceback" not in err
    assert taken.read_text() == "mine"
    below_a_file = str(taken / "review")
    assert main(["render", "--run", "a" * 32, "--tracking-uri", dead, "--out", below_a_file]) == 2
    assert "cannot write below" in capsys.readouterr().err


def test_out_is_created_before_any_network_work_and_a_failure_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    dead = f"http://127.0.0.1:{free_port()}"  # asking it anything would exit 1
    fresh = tmp_path / "a" / "review"
    assert main(["render", "--run", "a" * 32, "--tracking-uri", dead, "--out", str(fresh)]) == 1
    assert fresh.is_dir()  # made before MLflow was asked
    capsys.readouterr()
    # a folder below /proc passes os.access for root but cannot be made: the error
    # comes before MLflow is asked (exit 2, not 1) and without a traceback
    nope = "/proc/model-review-nope"
    assert main(["render", "--run", "a" * 32, "--tracking-uri", dead, "--out", nope]) == 2
    err = capsys.readouterr().err
    assert f"--out {nope}: cannot" in err and "Traceback" not in err


@pytest.mark.parametrize("via", ["flag", "environment"])
def test_a_sqlite_uri_whose_file_does_not_exist_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, via: str
) -> None:
    typo = tmp_path / "typo" / "mlflow.db"
    uri = f"sqlite:///{typo}"
    args = ["render", "--run", "a" * 32]
    if via == "flag":
        args += ["--tracking-uri", uri]
    else:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)

    assert main(args) == 2
    err = capsys.readouterr().err
    source = "--tracking-uri" if via == "flag" else "MLFLOW_TRACKING_URI"
    assert f"{source} `{uri}` names the sqlite file {typo}, which does not exist" in err
    assert not typo.parent.exists()  # no empty store was made


def test_a_plain_file_path_names_the_flag_and_suggests_sqlite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://elsewhere.test")
    path = tmp_path / "mlflow.db"

    assert main(["render", "--run", "a" * 32, "--tracking-uri", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"--tracking-uri `{path}` is not a tracking URI" in err
    assert f"sqlite:///{path}" in err and "MLFLOW_TRACKING_URI" not in err


def test_a_short_commit_sha_finds_its_runs(
    mlflow_client: MlflowClient, tracking_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    sha = uuid.uuid4().hex + "0a1b2c3d"
    run = make_run(
        mlflow_client, unique_name("short"), None, {"acc": 0.8}, None, None,
        commit=sha, run_name="from-a-commit",
    )  # fmt: skip

    assert main(["render", "--commit", sha[:7].upper()]) == 0
    out = capsys.readouterr().out
    assert "from-a-commit" in out and run in out
    assert f"{sha[:7]}, part of this PR" in out  # the checklist accepts the short SHA too


@pytest.mark.parametrize(("sha", "says"), [("9b8a7f", "too short"), ("HEAD~1", "not a commit SHA")])
def test_a_commit_that_cannot_be_searched_says_a_longer_sha_is_needed(
    capsys: pytest.CaptureFixture[str], sha: str, says: str
) -> None:
    assert main(["render", "--commit", sha, "--tracking-uri", "http://x"]) == 2
    err = capsys.readouterr().err
    assert says in err and "7 or more hex digits" in err


def test_a_linked_run_that_does_not_exist_exits_3_and_says_so(
    tracking_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ghost = unique_name("ghost-model")

    assert main(["render", "--text", f"runs:/{'e' * 32}/model"]) == EXIT_UNRESOLVED
    out = capsys.readouterr().out
    assert "**The linked run was not found: nothing to review**" in out
    assert "link a run in the PR description" not in out
    assert main(["render", "--run", f"models:/{ghost}/3"]) == EXIT_UNRESOLVED
    assert f"registered model `{ghost}` does not exist" in capsys.readouterr().out


def test_verbose_render_prints_what_it_looks_up_and_how_long_it_took(
    fraud: dict[str, str], tracking_env: str
) -> None:
    command = [sys.executable, "-m", "bot", "render", "--run", fraud["candidate"], "-v"]
    result = subprocess.run(command, capture_output=True, text=True, check=True)

    err = result.stderr
    assert f"references: {fraud['candidate']}" in err
    assert re.search(r"looking up the runs: \d+\.\d\d s", err)
    assert f"production: {fraud['production']}" in err
    assert re.search(r"looking up production: \d+\.\d\d s", err)
    assert "MLflow requests:" in err
    assert "cand-gbm" in result.stdout


def test_the_gate_line_matches_the_pr_review_for_each_kind_of_text(
    fraud: dict[str, str], tracking_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["render", "--text", "just a refactor"]) == 0
    err = capsys.readouterr().err
    assert "before any review: success — no model under review" in err
    assert "could not be resolved" not in err

    assert main(["render", "--text", f"runs:/{'e' * 32}/model"]) == EXIT_UNRESOLVED
    err = capsys.readouterr().err
    assert "failure — the MLflow references in this PR could not be resolved" in err

    assert main(["render", "--text", f"runs:/{fraud['candidate']}/model"]) == 0
    err = capsys.readouterr().err
    assert "before any review: pending" in err and "could not be resolved" not in err


def test_unresolved_references_are_named_on_stderr_with_why_and_redacted(
    fraud: dict[str, str], tracking_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ghost = "e" * 32
    link = f"https://alice:hunter2@mlflow.example.com/#/experiments/1/runs/{ghost}"
    text = f"Retrained: {link}\nand models:/{fraud['model']}/99"
    assert main(["render", "--text", text, "--out", str(tmp_path / "r")]) == EXIT_UNRESOLVED
    err = capsys.readouterr().err
    lines = [li for li in err.splitlines() if "not resolved:" in li]
    assert len(lines) == 2
    run_line = next(li for li in lines if ghost in li)
    assert "no run with this id" in run_line and "hunter2" not in err
    version = next(li for li in lines if f"models:/{fraud['model']}/99" in li)
    assert "has no version 99" in version


def test_a_model_version_that_does_not_exist_is_headlined_as_a_model_version(
    fraud: dict[str, str], tracking_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["render", "--run", f"models:/{fraud['model']}/99"]) == EXIT_UNRESOLVED
    out = capsys.readouterr().out
    assert "**The linked model version was not found: nothing to review**" in out
    assert f"`{fraud['model']}` has no version 99" in out


def test_no_production_alias_says_how_to_set_it_and_lists_the_model_aliases(
    mlflow_client: MlflowClient, tracking_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    experiment, model = unique_name("noalias"), unique_name("noalias-model")
    first = make_run(mlflow_client, experiment, metrics={"acc": 0.7}, run_name="first")
    second = make_run(mlflow_client, experiment, metrics={"acc": 0.8}, run_name="second")
    register(mlflow_client, model, first, aliases=["champion"])
    register(mlflow_client, model, second)
    how = f'`MlflowClient().set_registered_model_alias("{model}", "production", VERSION)`'

    assert main(["render", "--run", f"models:/{model}/2"]) == 0
    out = capsys.readouterr().out
    assert f"`{model}` has no version with alias `production` yet" in out
    assert "(its aliases: `champion` → v1)" in out
    assert how in out and "or in the MLflow UI" in out
