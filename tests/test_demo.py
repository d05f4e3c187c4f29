"""`model-review demo`: a real local MLflow store, two trained models, their review."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from bot.app.demo import MODEL_NAME
from bot.cli import main


@pytest.mark.slow
def test_demo_builds_a_store_and_renders_the_review(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "demo"
    assert main(["demo", "--dir", str(folder)]) == 0
    printed = capsys.readouterr().out
    assert str(folder / "comment.md") in printed and "mlflow ui" in printed

    client = MlflowClient(f"sqlite:///{folder / 'mlflow.db'}")
    production = client.get_model_version_by_alias(MODEL_NAME, "production")
    candidate_id = re.search(r"Candidate run:\s+([0-9a-f]{32})", printed).group(1)  # type: ignore[union-attr]
    candidate = client.get_run(candidate_id)

    comment = (folder / "comment.md").read_text()
    assert production.run_id in comment and candidate_id in comment
    auc = candidate.data.metrics["roc_auc"]
    assert f"{auc:.4g}" in comment  # the numbers come from the runs in MLflow
    assert "Deeper trees, slower learning rate" in comment  # the notes summary
    assert "alias `production`" in comment
    for image in re.findall(r'<img src="([^"]+)"', comment):
        assert (folder / image).read_bytes().startswith(b"\x89PNG")
    assert (folder / "preview.html").exists()


@pytest.mark.slow
def test_demo_again_in_the_same_folder_reviews_the_new_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "demo"
    assert main(["demo", "--dir", str(folder)]) == 0
    capsys.readouterr()
    assert main(["demo", "--dir", str(folder)]) == 0
    printed = capsys.readouterr().out
    client = MlflowClient(f"sqlite:///{folder / 'mlflow.db'}")
    assert len(client.search_model_versions(f"name = '{MODEL_NAME}'")) == 4
    production = client.get_model_version_by_alias(MODEL_NAME, "production")
    assert str(production.version) == "3" and production.run_id in printed
    assert production.run_id in (folder / "comment.md").read_text()
