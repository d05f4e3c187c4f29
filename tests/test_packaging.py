"""The wheel users install (the Action builds and installs this repository) carries the
templates and the console script, not only the Python modules."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_the_wheel_has_the_templates_and_the_console_script(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path),
         str(ROOT)],
        check=True, capture_output=True,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("model_review-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for template in (ROOT / "templates").glob("*.j2"):
        assert f"bot/templates/{template.name}" in names
    assert "bot/cli.py" in names and not any(n.startswith("tests/") for n in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "model-review = bot.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
    metadata = next(n for n in names if n.endswith("METADATA"))
    requires = zipfile.ZipFile(wheel).read(metadata).decode()
    runtime = [
        line.removeprefix("Requires-Dist: ").lower()
        for line in requires.splitlines()
        if line.startswith("Requires-Dist: ") and "extra ==" not in line
    ]
    assert any(r.startswith("mlflow-skinny") for r in runtime)
    # the server distribution and scikit-learn are for the tests and the demo only
    assert not any(r.startswith(("mlflow<", "mlflow>", "mlflow=", "scikit-learn")) for r in runtime)
