"""`model-review demo`: a real local MLflow store, two trained models, their review."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mlflow.tracking import MlflowClient

from bot.app.demo import MODEL_NAME, run_demo
from bot.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"


def _worked_example() -> list[str]:
    """The lines the README's worked example quotes from the demo's review (`> ...`)."""
    section = README.read_text(encoding="utf-8").split("### Worked example", 1)[1]
    quoted = section.split("\n## ", 1)[0].splitlines()
    lines = [line[2:] for line in quoted if line.startswith("> ") and line[2:].strip()]
    return [line for line in lines if line.startswith(("**", "| `"))]


def _tree_cost_ms(model: Any, rows: Any) -> float:
    """A fixed stand-in for the timed latency: it grows with the trees a prediction
    walks, as the real timing does on an idle machine (the candidate is slower)."""
    return 0.01 * model.n_estimators * model.max_depth


@pytest.mark.slow
def test_demo_builds_a_store_and_renders_the_review(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "demo"
    assert run_demo(str(folder), latency=_tree_cost_ms) == 0
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
    preview = (folder / "preview.html").read_text()
    # the candidate changes something in every section of what changed (issue #15)
    for block in ("Data", "Signature", "Environment", "Model size", "Code"):
        assert f"- **{block}:**" in comment
        assert f"<strong>{block}:</strong>" in preview
    assert "breaking: input `worst fractal dimension` removed" in comment
    assert "✅ **Same evaluation data as production**" in comment
    # the held-out split scored by both models, paired row by row (as `evaluate` does)
    holdout = 143  # 25% of the 569 rows of scikit-learn's breast-cancer data
    assert f"paired on {holdout} rows against production v1 of {MODEL_NAME}" in comment
    assert "DeLong" in comment and "McNemar mid-p" in comment
    assert candidate.data.tags["model_review.paired.production"] == f"{MODEL_NAME}/1"

    # the README's worked example quotes this review: its verdict and rows, as they are
    verdict, *rows = _worked_example()
    lines = comment.splitlines()
    assert verdict == next(line for line in lines if line.startswith("**"))
    latency = "| `predict_latency_ms` | ↓ | 0.6 | ❌ 4.5 (+3.9, +650%) |"
    assert latency in lines  # the one regression the README names
    for row in rows:
        assert row in lines, f"README quotes a row the demo no longer has: {row}"

    command = re.search(r"Render it again:\s+(model-review render .+)", printed).group(1)  # type: ignore[union-attr]
    argv = shlex.split(command)
    assert argv[:2] == ["model-review", "render"] and argv[-2:] == [
        "--text-file",
        str(folder / "pr-body.md"),
    ]
    assert main(argv[1:]) == 0  # ready to run as printed
    assert candidate_id in capsys.readouterr().out


@pytest.mark.slow
def test_demo_again_in_the_same_folder_starts_clean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "demo"
    assert main(["demo", "--dir", str(folder)]) == 0
    first = capsys.readouterr().out
    (folder / "notes.txt").write_text("mine")
    old_plots = {p.name for p in folder.glob("*.png")}
    # again, as a user would: another process (this one keeps MLflow's store cached)
    again = [sys.executable, "-m", "bot", "demo", "--dir", str(folder)]
    done = subprocess.run(again, capture_output=True, text=True, check=True)
    printed = done.stdout
    # nothing alarming on a clean run: no MLflow hint or pinned-environment warning
    for noise in ("Hint: Inferred schema", "mismatches", "WARNING", "Traceback"):
        assert noise not in done.stderr, done.stderr
    assert "starting clean" not in first and "starting clean" in printed
    shown = set(re.findall(r'<img src="([^"]+)"', (folder / "comment.md").read_text()))
    assert {p.name for p in folder.glob("*.png")} == shown and old_plots
    # (MLflow caches the old store in this process: read the new one from the review)
    comment = (folder / "comment.md").read_text()
    production = re.search(r"Production run: ([0-9a-f]{32})", printed).group(1)  # type: ignore[union-attr]
    assert production in comment and f"`{MODEL_NAME}` v1, alias `production`" in comment
    assert f"`{MODEL_NAME}` v2)" in comment  # the candidate: two versions, not four
    assert (folder / "notes.txt").read_text() == "mine"  # only the demo's own files go
