"""Run a composite action's steps the way the GitHub runner does, on this machine.

The runner evaluates `${{ }}` expressions in each step's `env:` and `with:` (never in
our scripts: action.yml keeps them out of `run:`), writes the script to a file and runs
`bash --noprofile --norc -e -o pipefail FILE` in the workspace with the job's
environment, GITHUB_ACTION_PATH pointing at the action's own checkout (outside the
workspace) and a fresh GITHUB_OUTPUT file per step, whose `key=value` lines become
`steps.<id>.outputs`. A `uses:` step runs a stand-in given by the test (no network
action is fetched). Expressions are dotted look-ups (`inputs.x`, `steps.a.outputs.b`,
`runner.temp`, `github.token`); anything else fails the test loudly.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

Json = dict[str, Any]
Outputs = dict[str, str]
StandIn = Callable[[Mapping[str, str]], Outputs]
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
DOTTED = re.compile(r"[A-Za-z_][\w-]*(\.[A-Za-z_][\w-]*)*")


@dataclass(frozen=True)
class StepResult:
    name: str
    returncode: int
    stdout: str
    stderr: str
    outputs: Outputs


@dataclass
class Runner:
    """One job: its folders, its context, and the stand-ins for `uses:` steps."""

    action_path: Path
    workspace: Path
    temp: Path
    job_env: dict[str, str]
    token: str
    stand_ins: dict[str, StandIn]
    context: Json = field(default_factory=dict)
    results: list[StepResult] = field(default_factory=list)

    def run(self, inputs: Mapping[str, str], stop_after: str | None = None) -> Outputs:
        """Run every step until one fails (as the runner does); return the action's
        outputs."""
        action = yaml.safe_load((self.action_path / "action.yml").read_text(encoding="utf-8"))
        self.context = {
            "inputs": self._inputs(action, inputs),
            "runner": {"temp": str(self.temp), "os": "Linux", "arch": "X64"},
            "github": {
                "token": self.token,
                "action_path": str(self.action_path),
                "workspace": str(self.workspace),
            },
            "steps": {},
        }
        for step in action["runs"]["steps"]:
            result = self._step(step)
            self.results.append(result)
            self.context["steps"][step.get("id", "")] = {"outputs": result.outputs}
            if result.returncode != 0 or step.get("name") == stop_after:
                break
        return {
            name: evaluate(spec["value"], self.context)
            for name, spec in action.get("outputs", {}).items()
        }

    def _inputs(self, action: Json, given: Mapping[str, str]) -> dict[str, str]:
        unknown = set(given) - set(action["inputs"])
        assert not unknown, f"the action has no input(s) {unknown}"
        values = {}
        for name, spec in action["inputs"].items():
            if name in given:
                values[name] = given[name]
            else:
                assert not spec.get("required"), f"required input {name} not given"
                values[name] = str(spec.get("default", ""))
        # defaults may be expressions themselves (`${{ github.token }}`)
        return {k: evaluate(v, {"github": {"token": self.token}})
                for k, v in values.items()}  # fmt: skip

    def _step(self, step: Json) -> StepResult:
        name = step.get("name", step.get("uses", "step"))
        env = {k: evaluate(str(v), self.context) for k, v in step.get("env", {}).items()}
        if "uses" in step:
            action = step["uses"].split("@")[0]
            params = {k: evaluate(str(v), self.context) for k, v in step.get("with", {}).items()}
            return StepResult(name, 0, "", "", self.stand_ins[action](params))
        assert step["shell"] == "bash", f"{name}: only bash steps run on every runner"
        return self._bash(name, step["run"], env)

    def _bash(self, name: str, script: str, step_env: Mapping[str, str]) -> StepResult:
        number = len(self.results)
        script_file = self.temp / f"step-{number}.sh"
        script_file.write_text(script, encoding="utf-8")
        output_file = self.temp / f"output-{number}.txt"
        output_file.touch()
        env = {
            **self.job_env,
            "GITHUB_ACTION_PATH": str(self.action_path),
            "GITHUB_OUTPUT": str(output_file),
            **step_env,
        }
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", str(script_file)],
            cwd=self.workspace, env=env, capture_output=True, text=True, timeout=600,
            check=False,
        )  # fmt: skip
        outputs = parse_outputs(output_file.read_text(encoding="utf-8"))
        return StepResult(name, proc.returncode, proc.stdout, proc.stderr, outputs)

    def failure(self) -> str:
        """What the steps printed, for an assertion message."""
        return "\n".join(
            f"--- {r.name} (exit {r.returncode})\n{r.stdout}\n{r.stderr}" for r in self.results
        )


def evaluate(text: str, context: Json) -> str:
    """Replace each `${{ a.b.c }}` with its value from `context`."""

    def look_up(match: re.Match[str]) -> str:
        expression = match.group(1)
        assert DOTTED.fullmatch(expression), f"expression not modelled here: {expression}"
        value: Any = context
        for part in expression.split("."):
            if expression.startswith("steps.") and part not in value:
                return ""  # a step that did not run has no outputs
            assert isinstance(value, dict) and part in value, f"undefined: {expression}"
            value = value[part]
        return str(value)

    return EXPRESSION.sub(look_up, text)


def parse_outputs(text: str) -> Outputs:
    """GITHUB_OUTPUT's two forms: `key=value` and `key<<DELIMITER` ... `DELIMITER`."""
    outputs: Outputs = {}
    lines = iter(text.splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            key, delimiter = line.split("<<", 1)
            body = []
            for part in lines:
                if part == delimiter:
                    break
                body.append(part)
            outputs[key] = "\n".join(body)
        elif "=" in line:
            key, value = line.split("=", 1)
            outputs[key] = value
    return outputs


def machine_env(exclude: Path) -> dict[str, str]:
    """The machine's part of a job's environment: HOME, locale, how to reach the package
    registry, and PATH without the test's own virtual environment (`exclude`)."""
    keep = ("HOME", "LANG", "TMPDIR", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")
    env = {
        k: v
        for k, v in os.environ.items()
        if k in keep or k.startswith("PIP_") or k.lower().endswith("_proxy")
    }
    parts = os.environ.get("PATH", "").split(os.pathsep)
    env["PATH"] = os.pathsep.join(p for p in parts if p and Path(p).resolve() != exclude.resolve())
    return env


def checkout_copy(root: Path, target: Path) -> Path:
    """The repository's files as a workflow gets the action: tracked and new files, none
    of the ignored ones (no .venv, no caches)."""
    listed = subprocess.run(
        ["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        check=True, capture_output=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, listed):
        source = root / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target
