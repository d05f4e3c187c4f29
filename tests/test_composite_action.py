"""action.yml as a runner runs it: its shell steps, its expressions, its install.

The action's own files are copied outside the workspace (GITHUB_ACTION_PATH, as when a
workflow uses `OWNER/model-review@v1`), runner.temp starts empty, inputs reach the
scripts only through `env:`, and the bot runs as a subprocess against the real MLflow
server and the loopback GitHub stand-in. The install is real: uv from PyPI, then the
lock, both by hash, with an empty package cache (a first run; the cache stand-in misses).
"""

from __future__ import annotations

import json
import platform
import re
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
import yaml
from mlflow.tracking import MlflowClient
from mlflow_helpers import make_run, register, unique_name

from tests.action_runner import pr_event
from tests.composite import Outputs, Runner, checkout_copy, machine_env
from tests.github_sim import GitHubSim

ROOT = Path(__file__).resolve().parent.parent
ACTION_TEXT = (ROOT / "action.yml").read_text(encoding="utf-8")
ACTION = yaml.safe_load(ACTION_TEXT)
CONFIG = "reviewers:\n  primary: [alice]\n  secondary: [carol]\nplots:\n  host: none\n"


def _snapshot(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*")}


def _event(sim: GitHubSim, path: Path) -> None:
    path.write_text(json.dumps(pr_event(sim, "opened")), encoding="utf-8")


class StandIns:
    """The two `uses:` steps: setup-python (the interpreter running these tests, as a
    tool-cache Python) and actions/cache (a first run: nothing restored)."""

    def __init__(self) -> None:
        self.calls: dict[str, Mapping[str, str]] = {}

    def setup_python(self, params: Mapping[str, str]) -> Outputs:
        self.calls["setup-python"] = params
        base = Path(getattr(sys, "_base_executable", sys.executable))
        return {"python-path": str(base), "python-version": platform.python_version()}

    def cache(self, params: Mapping[str, str]) -> Outputs:
        self.calls["cache"] = params
        return {"cache-hit": "false"}


@pytest.fixture
def job(tmp_path: Path) -> Iterator[tuple[Runner, GitHubSim, StandIns]]:
    sim = GitHubSim()
    sim.serve()
    folders = {n: tmp_path / n for n in ("action", "workspace", "temp", "home")}
    for folder in folders.values():
        folder.mkdir()
    stand_ins = StandIns()
    env = machine_env(exclude=Path(sys.executable).parent) | {
        "RUNNER_OS": "Linux",
        "RUNNER_ARCH": "X64",
        "RUNNER_TEMP": str(folders["temp"]),
        "GITHUB_WORKSPACE": str(folders["workspace"]),
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_REPOSITORY": sim.repo,
        "GITHUB_API_URL": sim.url,
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_STEP_SUMMARY": str(folders["home"] / "summary.md"),
        "GITHUB_EVENT_PATH": str(folders["home"] / "event.json"),
    }
    runner = Runner(
        action_path=checkout_copy(ROOT, folders["action"]), workspace=folders["workspace"],
        temp=folders["temp"], job_env=env, token="ghs_composite",
        stand_ins={"actions/setup-python": stand_ins.setup_python,
                   "actions/cache": stand_ins.cache},
    )  # fmt: skip
    try:
        yield runner, sim, stand_ins
    finally:
        sim.stop()


@pytest.fixture
def candidate(mlflow_client: MlflowClient) -> str:
    experiment, model = unique_name("composite"), unique_name("composite-model")
    production = make_run(mlflow_client, experiment, params={"depth": 4},
                          metrics={"val_f1": 0.80}, run_name="prod")  # fmt: skip
    run = make_run(mlflow_client, experiment, params={"depth": 6},
                   metrics={"val_f1": 0.84}, run_name="deeper-trees")  # fmt: skip
    register(mlflow_client, model, production, aliases=["production"])
    register(mlflow_client, model, run)
    return run


@pytest.mark.slow
def test_the_action_installs_itself_and_reviews_from_another_repository(
    job: tuple[Runner, GitHubSim, StandIns], candidate: str, mlflow_server: str
) -> None:
    runner, sim, stand_ins = job
    sim.reset(body=f"Retrain: runs:/{candidate}/model", config=CONFIG)
    _event(sim, Path(runner.job_env["GITHUB_EVENT_PATH"]))
    action_files = _snapshot(runner.action_path)

    outputs = runner.run({"mlflow-tracking-uri": mlflow_server})

    assert [r.returncode for r in runner.results] == [0] * len(ACTION["runs"]["steps"]), (
        runner.failure()
    )
    assert outputs["gate"] == "pending", runner.failure()
    assert outputs["regressions"] == "0"
    assert outputs["comment-url"].startswith("https://github.com/")
    assert sim.writes == ["create_comment", "request alice,carol", "status pending"]
    (comment,) = sim.bot_comments
    assert "deeper-trees" in comment["body"]
    sim.check()
    # its own environment under runner.temp; nothing left in the caller's workspace
    # or written into the action's checkout
    assert (runner.temp / "model-review" / "venv" / "bin" / "model-review").exists()
    assert list(runner.workspace.iterdir()) == []
    assert _snapshot(runner.action_path) == action_files
    # setup-python leaves the caller's Python alone; the cache key names what matters
    assert stand_ins.calls["setup-python"]["update-environment"].lower() == "false"
    key = stand_ins.calls["cache"]["key"]
    lock_hash = runner.results[2].outputs["hash"]
    assert key == f"model-review-Linux-X64-py{platform.python_version()}-{lock_hash}"
    assert stand_ins.calls["cache"]["path"] == f"{runner.temp}/model-review-cache"


def test_a_windows_runner_gets_a_clear_error(job: tuple[Runner, GitHubSim, StandIns]) -> None:
    runner, _, stand_ins = job
    runner.job_env["RUNNER_OS"] = "Windows"
    runner.run({"mlflow-tracking-uri": "http://127.0.0.1:1"})
    (check,) = runner.results
    assert check.returncode == 1
    assert "::error title=model-review::" in check.stdout and "ubuntu-latest" in check.stdout
    assert stand_ins.calls == {}  # nothing set up or installed


def test_the_lock_hash_changes_with_the_lock(job: tuple[Runner, GitHubSim, StandIns]) -> None:
    runner, _, _ = job
    runner.run({"mlflow-tracking-uri": "x"}, stop_after="Hash the lock")
    before = runner.results[-1].outputs["hash"]
    lock = runner.action_path / "requirements" / "action.txt"
    lock.write_text(lock.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    runner.results.clear()
    runner.run({"mlflow-tracking-uri": "x"}, stop_after="Hash the lock")
    assert re.fullmatch(r"[0-9a-f]{20}", before)
    assert runner.results[-1].outputs["hash"] != before


def test_scripts_take_values_only_from_env_and_actions_are_pinned_by_commit() -> None:
    steps = ACTION["runs"]["steps"]
    for step in steps:
        assert "${{" not in step.get("run", ""), f"{step['name']}: expression in a script"
    uses = re.findall(r"uses: ([\w-]+/[\w-]+)@(\S+)(.*)", ACTION_TEXT)
    assert {name for name, _, _ in uses} == {"actions/setup-python", "actions/cache"}
    for name, ref, comment in uses:
        assert re.fullmatch(r"[0-9a-f]{40}", ref), f"{name} is not pinned by commit"
        assert re.fullmatch(r" # v\d+\.\d+\.\d+", comment), f"{name}: no version comment"
    python = next(s for s in steps if s.get("uses", "").startswith("actions/setup-python"))
    assert "cache" not in python["with"] and "cache-dependency-path" not in python["with"]
    install = next(s for s in steps if s.get("id") == "install")["run"]
    # uv (pip) and the dependencies (uv) only by hash; the bot itself with no resolution
    assert install.count("--require-hashes") == 2 and "--no-deps --no-build-isolation" in install


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[;\s]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_the_lock_pins_every_runtime_dependency_by_hash_and_nothing_for_tests() -> None:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    lock = (ROOT / "requirements" / "action.txt").read_text(encoding="utf-8")
    pins = re.findall(r"^([A-Za-z0-9_.-]+)==(\S+) \\$", lock, flags=re.M)
    pinned = {name.lower() for name, _ in pins}
    for entry in re.split(r"\n(?=\S)", lock):
        if not entry.startswith("#"):
            assert "--hash=sha256:" in entry, f"unhashed: {entry.splitlines()[0]}"
    runtime = {_name(r) for r in project["project"]["dependencies"]}
    build = {_name(r) for r in project["build-system"]["requires"]}
    assert runtime | build <= pinned, f"missing from the lock: {(runtime | build) - pinned}"
    test_only = {_name(r) for r in project["project"]["optional-dependencies"]["test"]}
    demo_only = {_name(r) for r in project["project"]["optional-dependencies"]["demo"]}
    assert not ((test_only | demo_only) - runtime) & pinned, "test or demo packages in the lock"
