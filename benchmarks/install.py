"""How long installing model-review takes: the Action's install step and the quickstart,
with pip and with uv, from an empty package cache (cold) and from a full one (warm).

    python benchmarks/install.py [--only GROUP ...] [--docs docs/benchmarks.md]

GROUP is action-uv, action-pip, quickstart-uv or quickstart-pip; rows not measured again
keep their numbers from the last run.

- Action, uv: the install step of action.yml, run as the runner runs it
  (tests/composite.py) with the action's files outside the workspace and a fresh
  runner.temp; cold = an empty cache folder (a first run), warm = the same folder
  again (what actions/cache restores).
- Action, pip: what the Action did before the lock: `pip install <action path>` into a
  fresh virtual environment.
- Quickstart: the README's install in a fresh copy of the repository, with uv (as the
  README has it) and with plain pip; then `model-review demo` once, timed on its own.

Every install gets its own empty PIP_CACHE_DIR / UV_CACHE_DIR for "cold". Numbers go
to the "Installing" section of docs/benchmarks.md (kept there by benchmarks/run.py).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.report import (  # noqa: E402
    INSTALL_END,
    INSTALL_START,
    install_section,
    replace_install_section,
)
from tests.composite import Runner, checkout_copy, machine_env  # noqa: E402

GROUPS = ("action-uv", "action-pip", "quickstart-uv", "quickstart-pip")
PYTHON = Path(getattr(sys, "_base_executable", sys.executable))
QUICKSTART_UV = 'python3 -m venv .venv && . .venv/bin/activate && pip install -q uv && uv pip install -q ".[demo]"'  # noqa: E501
QUICKSTART_PIP = 'python3 -m venv .venv && . .venv/bin/activate && pip install -q ".[demo]"'


def _shell(command: str, cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(["bash", "-c", command], cwd=cwd, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    return time.perf_counter() - start


def _env(caches: Path) -> dict[str, str]:
    env = machine_env(exclude=Path(sys.executable).parent)
    env |= {"PIP_CACHE_DIR": str(caches / "pip"), "UV_CACHE_DIR": str(caches / "uv"),
            "PIP_DISABLE_PIP_VERSION_CHECK": "1", "MLFLOW_DISABLE_TELEMETRY": "true"}  # fmt: skip
    return env


def action_uv(work: Path, action: Path) -> tuple[float, float]:
    """The install step of action.yml, cold then warm (same runner.temp cache)."""
    temp = work / "runner-temp"
    workspace = work / "workspace"
    temp.mkdir()
    workspace.mkdir()

    def once() -> float:
        stand_ins = {
            "actions/setup-python": lambda _: {"python-path": str(PYTHON),
                                               "python-version": platform.python_version()},
            "actions/cache": lambda _: {"cache-hit": "false"},
        }  # fmt: skip
        runner = Runner(action_path=action, workspace=workspace, temp=temp,
                        job_env=_env(work / "unused") | {"RUNNER_TEMP": str(temp),
                                                         "RUNNER_OS": "Linux"},
                        token="", stand_ins=stand_ins)  # fmt: skip
        start = time.perf_counter()
        runner.run({"mlflow-tracking-uri": "x"}, stop_after="Install model-review")
        took = time.perf_counter() - start
        assert runner.results[-1].returncode == 0, runner.failure()
        return took

    return once(), once()


def action_pip(work: Path, action: Path) -> tuple[float, float]:
    """The Action's install before the lock: pip, newest versions, into a venv."""
    env = _env(work / "caches")
    times = []
    for n in range(2):
        venv = work / f"venv-{n}"
        command = f'"{PYTHON}" -m venv "{venv}" && "{venv}/bin/pip" install -q "{action}"'
        times.append(_shell(command, work, env))
    return times[0], times[1]


def quickstart(work: Path, command: str) -> tuple[float, float]:
    """The README's install in a fresh copy, cold then warm (a second fresh copy)."""
    env = _env(work / "caches")
    times = []
    for n in range(2):
        clone = checkout_copy(ROOT, work / f"clone-{n}")
        times.append(_shell(command, clone, env))
    return times[0], times[1]


def demo(work: Path) -> float:
    clone = work / "clone-1"
    return _shell(". .venv/bin/activate && model-review demo", clone, _env(work / "caches"))


def measure(only: Sequence[str]) -> dict[str, tuple[float, ...]]:
    results: dict[str, tuple[float, ...]] = {}
    plan: list[tuple[str, str, Callable[[Path], tuple[float, ...]]]] = [
        ("action-uv", "Action install step, uv + lock (now)",
         lambda w: action_uv(w, checkout_copy(ROOT, w / "action"))),
        ("action-pip", "Action install, pip (before)",
         lambda w: action_pip(w, checkout_copy(ROOT, w / "action"))),
        ("quickstart-uv", "Quickstart install, uv (README)",
         lambda w: quickstart(w, QUICKSTART_UV)),
        ("quickstart-pip", "Quickstart install, pip", lambda w: quickstart(w, QUICKSTART_PIP)),
    ]  # fmt: skip
    for group, name, work in plan:
        if not only or group in only:
            with tempfile.TemporaryDirectory(prefix="install-bench-") as folder:
                results[name] = work(Path(folder))
                if name.startswith("Quickstart install, uv"):
                    results["`model-review demo` (after the uv install)"] = (demo(Path(folder)),)
            print(f"{name}: " + ", ".join(f"{t:.1f} s" for t in results[name]), flush=True)
    return results


def earlier_rows(docs: Path) -> dict[str, str]:
    """The table rows of the last run, by their first cell."""
    rows = re.findall(r"^\| (.+?) \| (.+) \|$", install_section(docs), flags=re.M)
    return {name: f"| {name} | {rest} |" for name, rest in rows if name not in ("what", "---")}


def markdown(results: dict[str, tuple[float, ...]], earlier: dict[str, str]) -> str:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    header = textwrap.fill(
        f"Generated by `python benchmarks/install.py` on {time.strftime('%Y-%m-%d')} "
        f"(load average at the end {load} on {os.cpu_count()} CPUs; Python "
        f"{platform.python_version()}). Cold: an empty package cache; warm: the same "
        "cache again (what `actions/cache` restores for the Action).",
        width=88,
    )
    lines = [
        INSTALL_START,
        "## Installing",
        "",
        header,
        "",
        "| what | cold | warm |",
        "|---|--:|--:|",
    ]
    rows = dict(earlier)
    for name, times in results.items():
        cells = [f"{t:.1f} s" for t in times] + ["—"] * (2 - len(times))
        rows[name] = f"| {name} | {' | '.join(cells)} |"
    lines += rows.values()
    lines += ["", INSTALL_END]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=[], choices=GROUPS)
    parser.add_argument("--docs", type=Path, default=ROOT / "docs" / "benchmarks.md")
    args = parser.parse_args(argv)
    section = markdown(measure(args.only), earlier_rows(args.docs))
    print(section)
    replace_install_section(args.docs, section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
