"""bot.tracking.client against a REAL MLflow server (tests/conftest.py: mlflow_server).

Runs are created with MLflow's own client (tests/mlflow_helpers.py) and read back
through the adapter. HTTP requests are counted at `requests.Session.send`, the
point every MLflow client request passes through.
"""

from __future__ import annotations

import subprocess
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from mlflow.exceptions import MlflowException, RestException
from mlflow.tracking import MlflowClient
from mlflow_helpers import (
    DatasetSpec,
    Listener,
    bare_logged_model,
    experiment_id,
    log_model,
    make_run,
    move_artifacts,
    register,
    unique_name,
)

from bot.domain import ArtifactInfo, DatasetInfo, LoggedModelInfo
from bot.errors import TrackingError, UsageError
from bot.tracking.client import MlflowRuns
from bot.tracking.locations import ARTIFACTS_ELSEWHERE
from tests.mlflow_server import MlflowServer, free_port


@dataclass
class HttpLog:
    """Every HTTP request the process sends: (method, url, body)."""

    sent: list[tuple[str, str, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.sent)

    def text(self) -> str:
        return "\n".join(f"{m} {u} {b}" for m, u, b in self.sent)


@pytest.fixture
def http_log(monkeypatch: pytest.MonkeyPatch) -> Iterator[HttpLog]:
    log = HttpLog()
    real_send = requests.Session.send

    def send(session: requests.Session, request: Any, **kwargs: Any) -> Any:
        body = request.body.decode() if isinstance(request.body, bytes) else request.body
        log.sent.append((request.method, request.url, body or ""))
        return real_send(session, request, **kwargs)

    monkeypatch.setattr(requests.Session, "send", send)
    yield log


@pytest.fixture
def runs(mlflow_server: str) -> MlflowRuns:
    return MlflowRuns(mlflow_server)


def test_fetch_runs_round_trips_everything_in_one_go(
    mlflow_client: MlflowClient, runs: MlflowRuns
) -> None:
    exp, model_name = unique_name("fetch"), unique_name("fraud")
    notes = "# Deeper trees\n\nRecall improves on the rare class."
    a = make_run(
        mlflow_client, exp, {"lr": 0.1, "depth": 6}, {"auc": 0.91}, {"team": "risk"}, notes,
        history={"val_loss": [0.9, 0.5, 0.4]},
        artifacts={"plots/roc.png": b"\x89PNG-roc", "report.txt": b"hello"},
        run_name="candidate", commit="ab" * 20,
        datasets=[DatasetSpec("train", "d1g3st", "training"), DatasetSpec("holdout", "e2", None)],
    )  # fmt: skip
    b = make_run(mlflow_client, exp, {"lr": 0.2}, {"auc": 0.88}, None, None, run_name="other")
    c = make_run(mlflow_client, exp, None, None, None, None)
    model_a = log_model(mlflow_client, a, signature=True)
    model_b = log_model(mlflow_client, b, name="unsigned", signature=False)
    version = register(mlflow_client, model_name, a, model_a, aliases=["production", "blue"])

    found = runs.fetch_runs([a, b, c])

    assert list(found) == [a, b, c]
    run = found[a]
    assert run.name == "candidate" and run.display_name == "candidate"
    assert run.experiment_name == exp and run.status == "FINISHED"
    experiment = mlflow_client.get_experiment_by_name(exp)
    assert experiment is not None and run.experiment_id == experiment.experiment_id
    assert run.params == {"lr": "0.1", "depth": "6"}
    assert run.metrics == {"auc": 0.91, "val_loss": 0.4}
    assert run.metric_steps == {"auc": 0, "val_loss": 2}
    assert run.tags["team"] == "risk" and run.notes == notes and run.git_commit == "ab" * 20
    assert run.start_time is not None and run.end_time is not None
    assert run.start_time <= run.end_time
    assert run.datasets == (
        DatasetInfo("train", "d1g3st", "training", "code"),
        DatasetInfo("holdout", "e2", None, "code"),
    )
    assert run.artifacts == (
        ArtifactInfo("plots", True, None),
        ArtifactInfo("report.txt", False, 5),
        ArtifactInfo("plots/roc.png", False, 8),  # subfolders are listed too
    )
    [logged] = run.logged_models
    assert logged == LoggedModelInfo(
        model_a, "model", True, ("python_function", "sklearn"), signature=logged.signature
    )
    assert logged.signature is not None and '"name": "x1"' in logged.signature["inputs"]
    [mv] = run.model_versions
    assert (mv.name, mv.version, mv.run_id, mv.model_id) == (model_name, version, a, model_a)
    assert mv.aliases == ("blue", "production") and mv.stage is None
    assert found[b].logged_models == (
        LoggedModelInfo(model_b, "unsigned", False, ("python_function", "sklearn")),
    )
    assert found[b].model_versions == () and found[b].notes is None
    assert found[c].params == {} and found[c].metrics == {} and found[c].artifacts == ()


def test_unknown_deleted_and_malformed_ids_are_absent(
    mlflow_client: MlflowClient, runs: MlflowRuns, http_log: HttpLog
) -> None:
    exp = unique_name("absent")
    kept = make_run(mlflow_client, exp, {"a": 1}, None, None, None)
    deleted = make_run(mlflow_client, exp, {"a": 2}, None, None, None)
    mlflow_client.delete_run(deleted)
    injection = f"{kept}') OR attributes.run_id LIKE ('%"

    found = runs.fetch_runs([kept, deleted, "0" * 32, injection, kept])

    assert list(found) == [kept]
    assert "LIKE" not in http_log.text() and "OR" not in http_log.text()
    assert runs.fetch_runs([injection, "has space", ""]) == {}


def test_malformed_ids_send_no_request(runs: MlflowRuns, http_log: HttpLog) -> None:
    assert runs.fetch_runs(["x' OR '1'='1"]) == {}
    assert runs.runs_for_commits(["HEAD~1", "abc'; --"]) == []
    assert runs.metric_histories(["a b"], "loss", 10) == {}
    assert runs.logged_model_run("m-1' OR '1") is None
    assert runs.model_version("model", "1 OR 1") is None
    assert len(http_log) == 0


def test_fetch_finds_runs_in_experiments_created_after_the_first_listing(
    mlflow_client: MlflowClient, runs: MlflowRuns
) -> None:
    first = make_run(mlflow_client, unique_name("early"), None, {"m": 1.0}, None, None)
    assert list(runs.fetch_runs([first])) == [first]
    later = make_run(mlflow_client, unique_name("late"), None, {"m": 2.0}, None, None)

    assert list(runs.fetch_runs([first, later])) == [first, later]


def test_model_version_lookups(mlflow_client: MlflowClient, runs: MlflowRuns) -> None:
    exp, name = unique_name("registry"), unique_name("churn")
    run_ids = [make_run(mlflow_client, exp, {"v": i}, None, None, None) for i in range(3)]
    for run_id in run_ids:
        register(mlflow_client, name, run_id)
    mlflow_client.set_registered_model_alias(name, "production", "2")
    with warnings.catch_warnings():  # stages are deprecated, and still in use
        warnings.simplefilter("ignore", FutureWarning)
        mlflow_client.transition_model_version_stage(name, "1", "Production")

    v2 = runs.model_version(name, "2")
    assert v2 is not None and v2.run_id == run_ids[1] and v2.aliases == ("production",)
    alias = runs.model_version_by_alias(name, "production")
    assert alias is not None and (alias.version, alias.run_id) == ("2", run_ids[1])
    latest = runs.latest_version(name, None)
    assert latest is not None and (latest.version, latest.run_id) == ("3", run_ids[2])
    staged = runs.latest_version(name, "production")
    assert staged is not None and (staged.version, staged.stage) == ("1", "Production")
    assert runs.latest_version(name, "Staging") is None
    assert runs.model_version(name, "9") is None
    assert runs.model_version(unique_name("nobody"), "1") is None
    assert runs.model_version_by_alias(name, "canary") is None
    assert runs.latest_version(unique_name("nobody"), None) is None


def test_logged_model_run(mlflow_client: MlflowClient, runs: MlflowRuns) -> None:
    run_id = make_run(mlflow_client, unique_name("logged"), None, None, None, None)
    model_id = log_model(mlflow_client, run_id)

    assert runs.logged_model_run(model_id) == run_id
    assert runs.logged_model_run("m-" + "0" * 32) is None
    assert runs.logged_model_run("not-a-model") is None


def test_runs_for_commits_newest_first(mlflow_client: MlflowClient, runs: MlflowRuns) -> None:
    exp = unique_name("commits")
    sha_x, sha_y, other = "1a" * 20, "2b" * 20, "3c" * 20
    old = make_run(mlflow_client, exp, None, None, None, None, commit=sha_x, start_time=1_000)
    new = make_run(mlflow_client, exp, None, None, None, None, commit=sha_x, start_time=3_000)
    mid = make_run(mlflow_client, exp, None, None, None, None, commit=sha_y, start_time=2_000)
    make_run(mlflow_client, exp, None, None, None, None, commit=other)

    found = runs.runs_for_commits([sha_x, sha_y.upper(), "not-a-sha"])

    assert [r.run_id for r in found] == [new, mid, old]
    assert all(r.git_commit in (sha_x, sha_y) for r in found)
    assert runs.runs_for_commits(["4d" * 20]) == []


def test_metric_histories_are_downsampled_in_one_request(
    mlflow_client: MlflowClient, runs: MlflowRuns, http_log: HttpLog
) -> None:
    exp, steps = unique_name("curves"), 10_000
    run_ids = [
        make_run(
            mlflow_client,
            exp,
            None,
            None,
            None,
            None,
            history={"loss": [1.0 / (s + 1) + k for s in range(steps)]},
        )
        for k in range(3)
    ]
    without = make_run(mlflow_client, exp, None, {"acc": 1.0}, None, None)
    http_log.sent.clear()

    curves = runs.metric_histories([*run_ids, without], "loss", 300)

    assert len(http_log) == 1 and "get-history-bulk-interval" in http_log.sent[0][1]
    assert list(curves) == run_ids
    for k, run_id in enumerate(run_ids):
        points = curves[run_id]
        assert 2 < len(points) <= 300
        assert points[0] == (0, 1.0 + k) and points[-1][0] == steps - 1
        assert [s for s, _ in points] == sorted({s for s, _ in points})


def test_fetch_runs_requests_grow_only_by_listing_per_run(
    mlflow_server: str, mlflow_client: MlflowClient, http_log: HttpLog
) -> None:
    exp = unique_name("economy")
    plain = [make_run(mlflow_client, exp, {"p": i}, {"m": i}, None, "n") for i in range(3)]
    modelled = [make_run(mlflow_client, exp, {"p": i}, {"m": i}, None, None) for i in range(3)]
    name = unique_name("economy-model")
    for run_id in modelled:
        register(mlflow_client, name, run_id, log_model(mlflow_client, run_id), ["production"])

    def requests_for(ids: list[str]) -> int:
        http_log.sent.clear()
        adapter = MlflowRuns(mlflow_server)
        assert list(adapter.fetch_runs(ids)) == ids
        assert adapter.request_count == len(http_log)
        return len(http_log)

    one, three = requests_for(plain[:1]), requests_for(plain)
    # experiments, runs search, versions search: shared; one artifact listing per run
    assert one == 4 and three - one == 2
    one, three = requests_for(modelled[:1]), requests_for(modelled)
    # + one logged-model search and one registered model read, shared;
    # per run: the artifact listing and the model's MLmodel (signature, flavors)
    assert one == 7 and three - one == 2 * 2


def test_a_registered_model_is_read_once_per_review_until_an_alias_moves(
    mlflow_client: MlflowClient, runs: MlflowRuns, http_log: HttpLog
) -> None:
    exp, name = unique_name("once"), unique_name("once-model")
    production, candidate = (make_run(mlflow_client, exp, None, None, None, None) for _ in "ab")
    register(mlflow_client, name, production, aliases=["production"])
    version = register(mlflow_client, name, candidate)
    http_log.sent.clear()  # the set-up's own requests

    def model_reads() -> int:
        return sum("registered-models/get" in url for _, url, _ in http_log.sent)

    # the candidate, then production (a version of the same model), as a review does
    assert runs.fetch_runs([candidate])[candidate].model_versions[0].aliases == ()
    assert runs.fetch_runs([production])[production].model_versions[0].aliases == ("production",)
    assert runs.latest_version(name, None) is not None
    assert model_reads() == 1

    runs.set_alias(name, "production", version)  # the bot moves it (on merge)
    before = model_reads()
    moved = runs.fetch_runs([candidate])[candidate].model_versions[0]
    assert moved.aliases == ("production",) and model_reads() - before == 1


def test_dead_server_raises_tracking_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    uri = f"http://127.0.0.1:{free_port()}"
    dead = MlflowRuns(uri)

    with pytest.raises(TrackingError, match="cannot be reached") as caught:
        dead.fetch_runs(["a" * 32])
    assert uri in str(caught.value) and "MLFLOW_TRACKING_URI" in str(caught.value)
    with pytest.raises(TrackingError, match="cannot be reached"):
        dead.model_version("model", "1")
    with pytest.raises(TrackingError, match="cannot be reached"):
        dead.metric_histories(["a" * 32], "loss", 10)


def test_a_uri_without_mlflow_behind_it_is_an_error_not_an_empty_result(
    mlflow_server: str,
) -> None:
    wrong_prefix = MlflowRuns(f"{mlflow_server}/not-mlflow")

    with pytest.raises(TrackingError, match="found nothing while listing experiments") as caught:
        wrong_prefix.fetch_runs(["a" * 32])
    assert "MLFLOW_TRACKING_URI" in str(caught.value)
    assert "Response body" not in str(caught.value)


def test_writing_to_a_missing_run_is_an_error(runs: MlflowRuns) -> None:
    with pytest.raises(TrackingError, match="found nothing while tagging run"):
        runs.set_run_tags("0" * 32, {"model-review.state": "approved"})


@pytest.mark.parametrize(("code", "status"), [("UNAUTHENTICATED", 401), ("PERMISSION_DENIED", 403)])
def test_auth_failures_point_at_the_credentials(
    runs: MlflowRuns, mlflow_server: str, code: str, status: int
) -> None:
    denied = RestException({"error_code": code, "message": "no"})
    with pytest.raises(TrackingError) as caught:
        runs.call("listing runs", _raise, denied)

    error = caught.value
    assert f"refused access ({status})" in str(error) and mlflow_server in str(error)
    assert "MLFLOW_TRACKING_TOKEN" in str(error) and "MLFLOW_TRACKING_USERNAME" in str(error)


def test_server_errors_become_tracking_errors(runs: MlflowRuns) -> None:
    with pytest.raises(TrackingError, match="failed while searching runs"):
        runs.call("searching runs", _raise, MlflowException("database is locked"))


def _raise(exc: Exception) -> None:
    raise exc


def test_artifacts_list_and_download(mlflow_client: MlflowClient, runs: MlflowRuns) -> None:
    files = {"plots/roc.png": b"roc", "plots/deep/pr.png": b"pr", "model card.md": b"# Card"}
    run_id = make_run(mlflow_client, unique_name("files"), None, None, None, None, artifacts=files)

    assert runs.list_artifacts(run_id, "plots") == [
        ArtifactInfo("plots/deep", True, None),
        ArtifactInfo("plots/roc.png", False, 3),
    ]
    assert runs.download_artifact(run_id, "plots/deep/pr.png") == b"pr"  # before any fetch
    runs.fetch_runs([run_id])
    assert runs.download_artifact(run_id, "model card.md") == b"# Card"  # one direct GET
    with pytest.raises(TrackingError, match="does not exist"):
        runs.download_artifact(run_id, "plots/missing.png")
    with pytest.raises(TrackingError, match="not a relative path"):
        runs.download_artifact(run_id, "../../mlflow.db")
    assert runs.list_artifacts("0" * 32) == []


def test_artifacts_in_subfolders_are_listed_within_the_caps(
    mlflow_client: MlflowClient, runs: MlflowRuns
) -> None:
    files = {
        "figures/roc.png": b"roc",  # mlflow.log_figure(fig, "figures/roc.png")
        "plots/a/b/deep.png": b"deep",  # three folders down: found
        "plots/a/b/c/too-deep.png": b"no",  # four: not listed
        "model-review/metrics-0123.png": b"the bot's own chart",
        "model/MLmodel": b"flavors: {}",  # a model folder: its contents are the model
        "model/sub/x.png": b"no",
        "old_model/y.png": b"no",  # named in mlflow.log-model.history
    }
    history = '[{"artifact_path": "old_model", "flavors": {}}]'
    run_id = make_run(
        mlflow_client, unique_name("tree"), None, None,
        {"mlflow.log-model.history": history}, None, artifacts=files,
    )  # fmt: skip

    found = runs.fetch_runs([run_id])[run_id].artifacts
    paths = {a.path for a in found if not a.is_dir}

    assert paths == {"figures/roc.png", "plots/a/b/deep.png", "model/MLmodel"}
    assert {a.path for a in found if a.is_dir} >= {"model-review", "old_model", "plots/a/b/c"}


def test_artifact_listings_per_run_are_capped(
    mlflow_client: MlflowClient, runs: MlflowRuns, http_log: HttpLog
) -> None:
    files = {f"f{n:02d}/img.png": b"x" for n in range(25)}
    run_id = make_run(mlflow_client, unique_name("wide"), None, None, None, None, artifacts=files)
    runs.fetch_runs([run_id])  # experiments listed once
    http_log.sent.clear()

    found = runs.fetch_runs([run_id])[run_id].artifacts

    listings = [u for _, u, _ in http_log.sent if "/artifacts/list" in u]
    assert len(listings) == 20  # the root and 19 folders
    assert sorted(a.path for a in found if not a.is_dir) == [f"f{n:02d}/img.png" for n in range(19)]


def test_writes_round_trip(mlflow_client: MlflowClient, runs: MlflowRuns) -> None:
    exp, name = unique_name("writes"), unique_name("writes-model")
    run_id = make_run(mlflow_client, exp, None, None, None, None)
    version = register(mlflow_client, name, run_id)

    runs.set_run_tags(run_id, {"model-review.state": "approved", "model-review.pr": "7"})
    runs.set_model_version_tag(name, version, "model-review.pr", "7")
    runs.set_alias(name, "candidate", version)
    runs.log_artifact_bytes(run_id, "model-review/metrics.png", b"\x89PNG")

    tags = mlflow_client.get_run(run_id).data.tags
    assert tags["model-review.state"] == "approved" and tags["model-review.pr"] == "7"
    assert mlflow_client.get_model_version(name, version).tags == {"model-review.pr": "7"}
    assert mlflow_client.get_model_version_by_alias(name, "candidate").version == version
    assert runs.download_artifact(run_id, "model-review/metrics.png") == b"\x89PNG"


def test_sqlite_store_without_a_server(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    exp_id = client.create_experiment("local", artifact_location=(tmp_path / "a").as_uri())
    exp = client.get_experiment(exp_id).name
    run_id = make_run(
        client, exp, {"p": 1}, None, None, "local notes",
        history={"loss": [float(s % 7) for s in range(50)]}, artifacts={"x/y.txt": b"y"},
    )  # fmt: skip
    model_id = log_model(client, run_id)
    local = MlflowRuns(uri)

    run = local.fetch_runs([run_id])[run_id]

    assert run.notes == "local notes"
    assert run.artifacts == (ArtifactInfo("x", True, None), ArtifactInfo("x/y.txt", False, 1))
    assert run.logged_models[0].model_id == model_id and run.logged_models[0].has_signature
    curve = local.metric_histories([run_id], "loss", 10)[run_id]
    assert len(curve) == 10 and curve[0][0] == 0 and curve[-1][0] == 49
    assert {v for _, v in curve} >= {0.0, 6.0}  # minimum and maximum kept
    assert local.download_artifact(run_id, "x/y.txt") == b"y"
    assert local.ui_base() is None


def test_ui_base(tmp_path: Path) -> None:
    assert MlflowRuns("http://mlflow.test:5000/").ui_base() == "http://mlflow.test:5000"
    assert MlflowRuns("https://ml.test/mlflow/api").ui_base() == "https://ml.test/mlflow"
    configured = MlflowRuns("http://10.0.0.5:5000", ui_url="https://mlflow.example.com/")
    assert configured.ui_base() == "https://mlflow.example.com"
    (tmp_path / "local.db").touch()
    assert MlflowRuns(f"sqlite:///{tmp_path}/local.db").ui_base() is None


@pytest.mark.parametrize("source", ["--tracking-uri", "MLFLOW_TRACKING_URI"])
def test_a_sqlite_uri_whose_file_is_missing_is_refused(tmp_path: Path, source: str) -> None:
    missing = tmp_path / "typo" / "mlflow.db"

    with pytest.raises(UsageError, match=f"{source} .* names the sqlite file .* does not exist"):
        MlflowRuns(f"sqlite:///{missing}", source=source)
    assert not missing.parent.exists()  # no empty store was created


def test_a_plain_path_names_the_source_and_suggests_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "mlflow.db"

    with pytest.raises(UsageError) as caught:
        MlflowRuns(str(path), source="--tracking-uri")

    assert f"--tracking-uri `{path}` is not a tracking URI" in caught.value.message
    assert caught.value.hint is not None and f"sqlite:///{path}" in caught.value.hint


def test_importing_the_adapter_does_not_import_mlflow() -> None:
    code = "import sys, bot.tracking.client; print('mlflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_credentials_in_the_tracking_uri_stay_out_of_links_and_errors() -> None:
    runs = MlflowRuns("http://bot:s3cret@127.0.0.1:9/", ui_url=None)
    assert runs.ui_base() == "http://127.0.0.1:9"
    with pytest.raises(TrackingError) as caught:
        runs.fetch_runs(["a" * 32])
    assert "s3cret" not in str(caught.value)


def test_artifacts_on_another_host_are_never_requested(
    mlflow_instance: MlflowServer, mlflow_client: MlflowClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "SECRET-MLFLOW-TOKEN")
    name = unique_name("elsewhere")
    with Listener() as other:
        exp = experiment_id(mlflow_client, name)
        move_artifacts(mlflow_instance.db_path, exp, f"mlflow-artifacts://{other.address}/a/{exp}")
        run_id = make_run(mlflow_client, name, {"depth": 3}, {"auc": 0.9})
        bare_logged_model(mlflow_client, exp, run_id)
        runs = MlflowRuns(mlflow_instance.uri)
        snapshot = runs.fetch_runs([run_id])[run_id]
        fresh = MlflowRuns(mlflow_instance.uri)  # has not fetched the run: looks it up
        for reader in (runs, fresh):
            assert reader.list_artifacts(run_id) == []
            with pytest.raises(TrackingError, match=ARTIFACTS_ELSEWHERE):
                reader.download_artifact(run_id, "plots/roc.png")
            with pytest.raises(TrackingError, match=ARTIFACTS_ELSEWHERE):
                reader.log_artifact_bytes(run_id, "model-review/metrics.png", b"png")
    assert other.received == []
    assert snapshot.artifacts_elsewhere and snapshot.artifacts == ()
    assert [m.has_signature for m in snapshot.logged_models] == [None]  # MLmodel not read
    assert snapshot.metrics == {"auc": 0.9}  # the run itself is read as usual


def test_a_refused_run_is_not_read_beyond_its_lookup(
    mlflow_client: MlflowClient, runs: MlflowRuns, http_log: HttpLog
) -> None:
    name = unique_name("refused")
    run_id = make_run(mlflow_client, name, artifacts={"plots/roc.png": b"png"})
    log_model(mlflow_client, run_id)
    asked: list[str] = []
    before = len(http_log)
    found = runs.fetch_runs([run_id], admit=lambda run: bool(asked.append(run.run_id)))
    assert asked == [run_id]
    assert found[run_id].artifacts == () and found[run_id].logged_models == ()
    sent = [u.split("/api/2.0/mlflow/")[-1].split("?")[0] for _, u, _ in http_log.sent[before:]]
    assert sent == ["experiments/search", "runs/search", "model-versions/search"]
