"""What changed besides the metrics (issue #15), end to end against the REAL MLflow
server: runs, dataset inputs and logged models are created with MLflow's own client,
read back by the adapter, compared by the pipeline and rendered into the comment."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace

import pytest
from mlflow.tracking import MlflowClient
from mlflow.types import ColSpec
from mlflow_helpers import DatasetSpec, RequestLog, log_model, make_run, register, unique_name

from bot.config.schema import BaselineConfig, CompareConfig, Config, EvalDataRule, load_config
from bot.domain import GateDecision, GateState, ReviewReport
from bot.domain.modelchanges import EvalData
from bot.render.comment import render_comment
from bot.review.evaldata import DIFFERENT_DATA, apply_rule
from bot.review.pipeline import ReviewRequest, build_review
from bot.tracking.client import MlflowRuns
from bot.tracking.modelfiles import MAX_DOWNLOADS, MAX_FILE_BYTES

REPO = "https://github.com/acme/fraud"
# commits of their own: the MLflow server is shared by the whole session, and other
# tests' pull requests find runs by commit (the record tests use "1" * 40)
PROD_SHA = "5eed" + uuid.uuid4().hex + "0000"
CAND_SHA = "c0de" + uuid.uuid4().hex + "0000"
REQS_PROD = b"mlflow==3.17.2\nscikit-learn==1.5.2\nnumpy==2.4.6\n"
REQS_CAND = b"mlflow==3.17.2\nscikit-learn==1.9.1\nnumpy==2.4.6\nlightgbm==4.5.0\n"
PYENV = "python: {}\nbuild_dependencies:\n- pip\ndependencies:\n- -r requirements.txt\n"
COLUMNS = '{{"mlflow_colspec": [{}]}}'


def _cols(*names: str) -> str:
    return COLUMNS.format(", ".join(f'{{"type": "double", "name": "{n}"}}' for n in names))


def evaluation(name: str, digest: str, *columns: str, rows: int = 100) -> DatasetSpec:
    return DatasetSpec(
        name,
        digest,
        context="evaluation",
        source='{"uri": "s3://data/' + name + '.parquet"}',
        schema=_cols(*columns) if columns else "",
        profile=json.dumps({"num_rows": rows}),
    )


def review(  # noqa: PLR0917 (the tests read better with the two sides positional)
    client: MlflowClient,
    uri: str,
    prod: dict[str, object],
    cand: dict[str, object],
    config: Config | None = None,
    repo_url: str | None = REPO,
) -> tuple[ReviewReport, str]:
    """Two runs (production pinned), each with `log_model` keywords under "model"."""
    experiment = unique_name("changes")
    ids = []
    for spec in (prod, cand):
        model = dict(spec.pop("model", {}))  # type: ignore[call-overload]
        run_id = make_run(client, experiment, metrics={"auc": 0.9}, **spec)  # type: ignore[arg-type]
        if model is not None:
            log_model(client, run_id, **model)
        ids.append(run_id)
    config = config or Config()
    config = replace(config, baseline=BaselineConfig(run=ids[0]))
    request = ReviewRequest(texts=[f"runs:/{ids[1]}/model"], repo_url=repo_url)
    report = build_review(request, MlflowRuns(uri), config)
    return report, render_comment(report)


# --- the comparability guard ---------------------------------------------------------


def test_same_evaluation_data_gives_no_warning(
    mlflow_client: MlflowClient, mlflow_server: str
) -> None:
    data = [evaluation("holdout", "abc123def456")]
    report, body = review(mlflow_client, mlflow_server, {"datasets": data}, {"datasets": data})
    assert report.changes[0].eval_data.state is EvalData.SAME
    assert DIFFERENT_DATA not in body
    assert "✅ **Same evaluation data as production**" in body


@pytest.mark.parametrize(
    ("prod", "cand", "shown"),
    [
        (
            evaluation("holdout", "abc123def456"),
            evaluation("holdout", "999888777666"),
            "(99988877)",
        ),
        (evaluation("holdout-v1", "abc123def456"), evaluation("holdout-v2", ""), "`holdout-v2`"),
    ],
    ids=["digest", "name"],
)
def test_different_evaluation_data_leads_the_verdict_and_the_table(
    mlflow_client: MlflowClient,
    mlflow_server: str,
    prod: DatasetSpec,
    cand: DatasetSpec,
    shown: str,
) -> None:
    report, body = review(mlflow_client, mlflow_server, {"datasets": [prod]}, {"datasets": [cand]})
    check = report.changes[0].eval_data
    assert check.state is EvalData.DIFFERENT
    verdict = body.split("\n")[3]
    assert verdict.startswith(f"**{DIFFERENT_DATA}: ")
    warning = body.index("> **Metrics measured on different evaluation data")
    assert body.index("#### 📊 Metrics") < warning < body.index("| Metric |")
    assert shown in body
    assert "❌ **Same evaluation data as production**" in body


def test_fail_rule_turns_the_gate_red_and_warn_does_not(
    mlflow_client: MlflowClient, mlflow_server: str
) -> None:
    prod = {"datasets": [evaluation("holdout", "aaaa1111")]}
    cand = {"datasets": [evaluation("holdout", "bbbb2222")]}
    report, _ = review(mlflow_client, mlflow_server, prod, cand)
    checks = [c.eval_data for c in report.changes]
    pending = GateDecision(GateState.PENDING, "waiting for @alice", waiting_for=("alice",))
    failed = apply_rule(pending, checks, EvalDataRule.FAIL)
    assert failed.state is GateState.FAILURE
    assert "different evaluation data" in failed.description
    assert apply_rule(pending, checks, EvalDataRule.WARN) == pending
    approved = GateDecision(GateState.SUCCESS, "approved by @alice and @bob")
    assert apply_rule(approved, checks, EvalDataRule.FAIL).state is GateState.FAILURE


def test_one_side_naming_its_data_gets_a_softer_note(
    mlflow_client: MlflowClient, mlflow_server: str
) -> None:
    cand = {"datasets": [evaluation("holdout", "abc")]}
    report, body = review(mlflow_client, mlflow_server, {}, cand)
    assert report.changes[0].eval_data.state is EvalData.ONE_SIDED
    assert "<sub>ℹ️ Evaluation data named on one side only: only the candidate" in body
    assert DIFFERENT_DATA not in body


def test_neither_side_naming_its_data_is_only_a_checklist_line(
    mlflow_client: MlflowClient, mlflow_server: str
) -> None:
    training = [DatasetSpec("train", "t1", context="training")]
    report, body = review(mlflow_client, mlflow_server, {"datasets": training}, {})
    assert report.changes[0].eval_data.state is EvalData.UNKNOWN
    assert "ℹ️" not in body and "[!WARNING]" not in body
    assert "➖ **Same evaluation data as production**: neither run names" in body


def test_metrics_that_name_their_dataset_are_compared_one_by_one(
    mlflow_client: MlflowClient, mlflow_server: str
) -> None:
    prod = {"model": {"metrics": {"auc": (0.9, "holdout", "d1")}}}
    cand = {"model": {"metrics": {"auc": (0.9, "holdout", "d2")}}}
    report, body = review(mlflow_client, mlflow_server, prod, cand)
    check = report.changes[0].eval_data
    assert check.state is EvalData.DIFFERENT
    assert check.metrics == ("auc",)
    assert "metrics on other data: `auc`" in body


def test_the_rule_can_be_turned_off(mlflow_client: MlflowClient, mlflow_server: str) -> None:
    config = Config(compare=CompareConfig(require_same_eval_data=EvalDataRule.OFF))
    prod = {"datasets": [evaluation("holdout", "aaaa")]}
    cand = {"datasets": [evaluation("holdout", "bbbb")]}
    report, body = review(mlflow_client, mlflow_server, prod, cand, config)
    assert report.changes[0].eval_data.state is EvalData.UNKNOWN
    assert DIFFERENT_DATA not in body


# --- data, signature, environment, size, code -----------------------------------------


def test_data_diff_shows_digest_rows_and_schema(
    mlflow_client: MlflowClient, mlflow_server: str
) -> None:
    prod = {"datasets": [evaluation("holdout", "aaaa1111", "amount", "age", rows=1000)]}
    cand = {"datasets": [evaluation("holdout", "bbbb2222", "age", "merchant", rows=1200)]}
    _, body = review(mlflow_client, mlflow_server, prod, cand)
    assert "- **Data:** changed: `evaluation`" in body
    # one line per input that changed: its rows and columns (the digest follows from them)
    assert (
        "`evaluation` data `holdout`: rows `1000` → `1200`; column removed: `amount`; "
        "column added: `merchant` (`double`)"
    ) in body


def test_breaking_signature_change(mlflow_client: MlflowClient, mlflow_server: str) -> None:
    prod = {"model": {"inputs": [ColSpec("double", "amount"), ColSpec("long", "age")]}}
    cand = {"model": {"inputs": [ColSpec("double", "age")]}}
    report, body = review(mlflow_client, mlflow_server, prod, cand)
    sig = report.changes[0].signature
    assert sig is not None and sig.breaking
    assert sig.summary == "breaking: input `amount` removed (+1 more change)"
    assert "- **Signature:** ⚠️ breaking: input `amount` removed" in body
    assert "input `age`: type long → double (breaking)" in body
    assert "❌ **Model logged with a signature**" in body


def test_compatible_signature_change(mlflow_client: MlflowClient, mlflow_server: str) -> None:
    prod = {"model": {"inputs": [ColSpec("double", "amount")]}}
    cand = {
        "model": {
            "inputs": [ColSpec("double", "amount"), ColSpec("double", "hour", required=False)]
        }
    }
    report, body = review(mlflow_client, mlflow_server, prod, cand)
    sig = report.changes[0].signature
    assert sig is not None and not sig.breaking
    assert "- **Signature:** compatible: new optional input `hour`" in body
    assert "✅ **Model logged with a signature**: model (m-" in body
    assert "; compatible: new optional input `hour`" in body


def test_package_and_python_changes(mlflow_client: MlflowClient, mlflow_server: str) -> None:
    def files(reqs: bytes, python: str) -> dict[str, bytes]:
        return {"requirements.txt": reqs, "python_env.yaml": PYENV.format(python).encode()}

    prod = {"model": {"files": files(REQS_PROD, "3.11.7")}}
    cand = {"model": {"files": files(REQS_CAND, "3.12.1")}}
    report, body = review(mlflow_client, mlflow_server, prod, cand)
    env = report.changes[0].environment
    assert env is not None and env.python is not None
    assert (env.python.before, env.python.after) == ("3.11.7", "3.12.1")
    assert "- **Environment:** Python `3.11.7` → `3.12.1`, 2 packages changed" in body
    assert "`lightgbm` added (`==4.5.0`)" in body
    assert "`scikit-learn` `==1.5.2` → `==1.9.1`" in body


def test_model_size_change(mlflow_client: MlflowClient, mlflow_server: str) -> None:
    prod = {"model": {"size_bytes": 2_000_000}}
    cand = {"model": {"size_bytes": 3_000_000}}
    _, body = review(mlflow_client, mlflow_server, prod, cand)
    assert "- **Model size:** 2.0 MB → 3.0 MB (+50.0%)" in body


@pytest.mark.parametrize(
    ("repo_tag", "linked"),
    [("git@github.com:acme/fraud.git", True), ("https://github.com/someone/else", False)],
    ids=["this-repository", "another-repository"],
)
def test_code_compare_link_only_for_this_repository(
    mlflow_client: MlflowClient, mlflow_server: str, repo_tag: str, linked: bool
) -> None:
    tags = {"mlflow.source.git.repoURL": repo_tag}
    prod = {"commit": PROD_SHA, "tags": tags}
    cand = {"commit": CAND_SHA, "tags": tags}
    _, body = review(mlflow_client, mlflow_server, prod, cand)
    link = f"({REPO}/compare/{PROD_SHA}...{CAND_SHA})"
    assert (link in body) is linked
    assert f"commits `{PROD_SHA[:12]}` → `{CAND_SHA[:12]}`" in body


def test_absent_and_oversized_files_are_skipped_with_a_line(
    mlflow_client: MlflowClient, mlflow_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = b"x" * (MAX_FILE_BYTES + 1)
    prod = {"model": {"files": {"requirements.txt": big}}}
    cand = {"model": {}}
    log = RequestLog.install(monkeypatch)
    report, body = review(mlflow_client, mlflow_server, prod, cand)
    skipped = report.changes[0].skipped
    assert any(
        s.startswith("candidate: model m-")
        and s.endswith("has no `requirements.txt` and no `python_env.yaml` or `conda.yaml`")
        for s in skipped
    )
    assert any(
        s.startswith("production: `requirements.txt`") and "over the limit" in s for s in skipped
    )
    assert "- **Not read:** some model files were skipped" in body
    downloads = [p for m, p in log.sent if m == "GET" and "mlflow-artifacts/artifacts/" in p]
    assert any(p.endswith("/MLmodel") for p in downloads)
    assert not any(p.endswith("requirements.txt") for p in downloads)


def test_model_files_cost_one_listing_and_at_most_a_fixed_number_of_downloads(
    mlflow_client: MlflowClient, mlflow_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = make_run(mlflow_client, unique_name("changes"))
    files = {"requirements.txt": REQS_CAND, "python_env.yaml": b"python: 3.11\n", "conda.yaml": b""}
    model_id = log_model(mlflow_client, run_id, files=files)
    runs = MlflowRuns(mlflow_server)
    runs.fetch_runs([run_id])  # reads the MLmodel with the run
    log = RequestLog.install(monkeypatch)
    found, model = runs.model_files(model_id)
    assert found.requirements == REQS_CAND.decode() and found.python_env == "python: 3.11\n"
    assert found.conda is None  # python_env.yaml says it all
    assert model is not None and model.signature is not None  # known from the fetch
    listings = [p for m, p in log.sent if p.endswith("/mlflow-artifacts/artifacts")]
    assert len(listings) == 1
    assert len(log.sent) - len(listings) <= MAX_DOWNLOADS


def test_registered_version_model_and_sections_off(
    mlflow_client: MlflowClient, mlflow_server: str
) -> None:
    experiment, name = unique_name("changes"), unique_name("model")
    prod = make_run(mlflow_client, experiment, metrics={"auc": 0.9}, commit=PROD_SHA)
    prod_model = log_model(mlflow_client, prod, size_bytes=100)
    register(mlflow_client, name, prod, prod_model, aliases=["production"])
    cand = make_run(mlflow_client, experiment, metrics={"auc": 0.91}, commit=CAND_SHA)
    log_model(mlflow_client, cand, size_bytes=300)
    text = f"models:/{name}/1 was production; candidate runs:/{cand}/model"
    config = load_config(f"baseline:\n  model: {name}\n")
    runs = MlflowRuns(mlflow_server)
    report = build_review(ReviewRequest(texts=[text.split("; ")[1]]), runs, config)
    assert report.changes[0].size is not None and report.changes[0].size.after == 300
    off = "".join(
        f"  {key}: false\n" for key in ("data", "signature", "environment", "size", "code")
    )
    quiet = load_config(f"baseline:\n  model: {name}\nsections:\n{off}")
    report = build_review(
        ReviewRequest(texts=[text.split("; ")[1]]), MlflowRuns(mlflow_server), quiet
    )
    assert report.changes[0].size is None and report.changes[0].code is None
    assert "#### 🔀 What changed" not in render_comment(report)
