"""Reading the files beside a logged model (bot.tracking.modelfiles): only through the
tracking server, a fixed number of downloads, absent and oversized files skipped."""

from __future__ import annotations

from bot.domain import LoggedModelInfo
from bot.tracking.modelfiles import MAX_DOWNLOADS, MAX_FILE_BYTES, read_model_files
from tests.fakes import FakeModelStore

KNOWN = LoggedModelInfo("m-1", signature={"inputs": "[]"}, size_bytes=10)
FILES = {
    "MLmodel": b"model_size_bytes: 5\n",
    "requirements.txt": b"numpy==2\n",
    "python_env.yaml": b"python: 3.11\n",
    "conda.yaml": b"dependencies: []\n",
}


def test_artifacts_the_server_does_not_proxy_are_never_read() -> None:
    for location in ("s3://bucket/models/m-1", "mlflow-artifacts://other.host/1/m-1", "file:///x"):
        store = FakeModelStore(location=location, files=dict(FILES), model=KNOWN)
        files, _ = read_model_files(store, "m-1")
        assert store.reads == []
        assert "--serve-artifacts" in files.skipped[0]


def test_one_listing_and_at_most_the_fixed_number_of_downloads() -> None:
    store = FakeModelStore(files=dict(FILES))  # MLmodel not read with the run yet
    files, model = read_model_files(store, "m-1")
    assert store.reads == [
        "list 1/models/m-1/artifacts",
        "MLmodel",
        "requirements.txt",
        "python_env.yaml",
    ]
    assert len(store.reads) - 1 <= MAX_DOWNLOADS
    assert model is not None and model.size_bytes == 5
    assert files.requirements == "numpy==2\n" and files.conda is None


def test_known_mlmodel_is_not_read_again_and_conda_stands_in_for_python_env() -> None:
    files_ = {k: v for k, v in FILES.items() if k != "python_env.yaml"}
    store = FakeModelStore(files=files_, model=KNOWN)
    files, _ = read_model_files(store, "m-1")
    assert store.reads == ["list 1/models/m-1/artifacts", "requirements.txt", "conda.yaml"]
    assert files.conda == "dependencies: []\n" and files.skipped == ()


def test_absent_and_oversized_files_are_skipped_with_a_line() -> None:
    store = FakeModelStore(files={"requirements.txt": b"x" * (MAX_FILE_BYTES + 1)}, model=KNOWN)
    files, _ = read_model_files(store, "m-1")
    assert store.reads == ["list 1/models/m-1/artifacts"]
    assert files.skipped == (
        "model m-1 has no `python_env.yaml` or `conda.yaml`",
        f"`requirements.txt` of model m-1 not read: {MAX_FILE_BYTES + 1} bytes, "
        f"over the limit of {MAX_FILE_BYTES}",
    )
