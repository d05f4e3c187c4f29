"""The environment diff: Python version and packages of the candidate's logged model
against production's, from requirements.txt and python_env.yaml (or conda.yaml). Pure.
"""

from __future__ import annotations

import re

import yaml

from bot.domain import ModelFiles
from bot.domain.modelchanges import EnvironmentDiff, FieldChange

_NAME = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)")
_CONDA_PYTHON = re.compile(r"python\s*=?=\s*([0-9][0-9.]*)")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements(text: str) -> dict[str, str]:
    """Package -> version spec ("==1.2.3", "" when unpinned) of a requirements list."""
    out: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith(("-", "git+", "http")):
            continue
        found = _NAME.fullmatch(line)
        if found:
            out[_norm(found[1])] = found[3].split(";")[0].strip()
    return out


def _load(text: str | None) -> object:
    try:
        return yaml.safe_load(text) if text else None
    except yaml.YAMLError:
        return None


def _conda(text: str | None) -> tuple[str | None, dict[str, str]]:
    """(python version, pip packages) of a conda.yaml."""
    parsed = _load(text)
    deps = parsed.get("dependencies") if isinstance(parsed, dict) else None
    python, pip = None, ""
    for dep in deps if isinstance(deps, list) else []:
        if isinstance(dep, str) and (found := _CONDA_PYTHON.fullmatch(dep.strip())):
            python = found[1]
        elif isinstance(dep, dict) and isinstance(dep.get("pip"), list):
            pip = "\n".join(str(p) for p in dep["pip"])
    return python, requirements(pip)


def environment(files: ModelFiles) -> tuple[str | None, dict[str, str]] | None:
    """(python version, packages) of a model; None when no environment file was read."""
    if files.requirements is None and files.python_env is None and files.conda is None:
        return None
    python, packages = _conda(files.conda)
    parsed = _load(files.python_env)
    if isinstance(parsed, dict) and parsed.get("python") is not None:
        python = str(parsed["python"])
    if files.requirements is not None:
        packages = requirements(files.requirements)
    return python, packages


def environment_diff(production: ModelFiles, candidate: ModelFiles) -> EnvironmentDiff | None:
    """None when nothing changed or either side's environment is unknown."""
    before, after = environment(production), environment(candidate)
    if before is None or after is None:
        return None
    (py_before, old), (py_after, new) = before, after
    python = FieldChange("python", py_before, py_after) if py_before != py_after else None
    packages = [FieldChange(n, v or "*", None) for n, v in sorted(old.items()) if n not in new]
    packages += [FieldChange(n, None, v or "*") for n, v in sorted(new.items()) if n not in old]
    packages += [
        FieldChange(n, old[n] or "*", v or "*")
        for n, v in sorted(new.items())
        if n in old and old[n] != v
    ]
    if python is None and not packages:
        return None
    return EnvironmentDiff(python, tuple(packages))
