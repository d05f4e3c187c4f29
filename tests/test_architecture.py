"""docs/architecture.md names packages and modules that exist, and the import rules it
describes are the ones pyproject.toml enforces."""

from __future__ import annotations

import importlib.util
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")


def _named_modules() -> set[str]:
    return set(re.findall(r"`(bot(?:\.[a-z_]+)*)`", DOC))


def test_every_package_and_module_the_doc_names_exists() -> None:
    names = _named_modules()
    assert {"bot.review", "bot.handlers", "bot.app", "bot.githost", "bot.tracking"} <= names
    missing = [n for n in sorted(names) if importlib.util.find_spec(n) is None]
    assert missing == []


def test_every_subpackage_is_in_the_doc() -> None:
    packages = {f"bot.{p.parent.name}" for p in (ROOT / "bot").glob("*/__init__.py")}
    assert packages - _named_modules() == set()


def test_the_layers_in_the_doc_are_the_enforced_ones() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    (layers,) = [c["layers"] for c in contracts if c["type"] == "layers"]
    line = re.search(r"Layers, top to bottom: (.+?)\. A layer", DOC, re.S)
    assert line is not None
    documented = re.findall(r"`(bot[a-z_.]*)`", line.group(1))
    assert documented == layers


def test_stable_import_paths_still_work() -> None:
    from bot.cli import main
    from bot.sharedqueue import perform
    from bot.webhook import create_app

    assert callable(main) and callable(perform) and callable(create_app)
