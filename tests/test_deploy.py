"""Something to deploy: the container recipe, the compose file and the Kubernetes
example. No container engine runs here, so the Dockerfile's install steps (one
script, deploy/install.sh) run in a clean directory holding only what the Dockerfile
copies; the compose file is validated against the Compose specification's JSON schema
(check-jsonschema's vendored `vendor.compose-spec`), the Kubernetes manifests against
Kubernetes' own JSON schemas (kubernetes-validate, strict, the newest version it has).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")
GUNICORN_CONF = "/etc/model-review/gunicorn.conf.py"  # deploy/gunicorn.conf.py in the image


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions (continuation lines joined)."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    lines = [line.strip() for line in text.splitlines()]
    return [
        (word.upper(), rest.strip())
        for word, _, rest in (line.partition(" ") for line in lines if line and line[0] != "#")
    ]


def test_the_image_is_slim_runs_as_nobody_and_serves_gunicorn() -> None:
    steps = instructions()
    assert steps[0] == ("FROM", "python:3.11-slim")
    users = [rest for word, rest in steps if word == "USER"]
    assert users and users[-1] not in {"root", "0"}
    [cmd] = [rest for word, rest in steps if word == "CMD"]
    assert json.loads(cmd) == ["gunicorn", "-c", GUNICORN_CONF, "bot.webhook:create_app()"]
    assert ("COPY", f"deploy/gunicorn.conf.py {GUNICORN_CONF}") in steps  # tests/test_drain.py
    runs = [rest for word, rest in steps if word == "RUN"]
    assert any("deploy/install.sh" in run for run in runs)  # the install steps tested below


@pytest.mark.slow
def test_the_install_steps_build_the_app_from_its_lock_in_a_clean_directory(
    tmp_path: Path,
) -> None:
    source = tmp_path / "src"
    for word, rest in instructions():
        if word == "COPY":
            *sources, _ = rest.split()
            for name in sources:
                copied = ROOT / name.rstrip("/")
                target = source / name.rstrip("/")
                if copied.is_dir():
                    shutil.copytree(copied, target, ignore=shutil.ignore_patterns("__pycache__"))
                else:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(copied, target)
    venv = tmp_path / "venv"
    subprocess.run(["sh", "deploy/install.sh", str(source), str(venv)], cwd=source, check=True)

    check = "import bot.webhook, gunicorn, prometheus_client, redis, rq; print('ok')"
    ran = subprocess.run(
        [venv / "bin" / "python", "-c", check], check=True, capture_output=True, text=True
    )
    assert ran.stdout.strip() == "ok"
    helped = subprocess.run(
        [venv / "bin" / "model-review", "worker", "--help"], check=True, capture_output=True
    )
    assert b"--check" in helped.stdout
    frozen = (
        subprocess.run(
            [venv / "bin" / "python", "-m", "pip", "freeze"],
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.lower()
        .replace("_", "-")
    )
    lock = (ROOT / "requirements" / "app.txt").read_text(encoding="utf-8")
    for name in ("gunicorn", "prometheus-client", "redis", "rq", "flask"):
        pinned = re.search(rf"^{name}==(\S+) \\$", lock, flags=re.M | re.I)
        assert pinned and re.search(rf"^{name}=={re.escape(pinned[1])}$", frozen, re.M | re.I)


def test_the_compose_file_follows_the_compose_specification() -> None:
    compose = ROOT / "deploy" / "compose.yaml"
    ran = subprocess.run(
        [Path(sys.executable).parent / "check-jsonschema", "--builtin-schema",
         "vendor.compose-spec", str(compose)],
        check=False, capture_output=True, text=True,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stdout + ran.stderr
    services = yaml.safe_load(compose.read_text())["services"]
    assert set(services) == {"web", "worker", "redis", "mlflow"}
    assert services["worker"]["command"] == ["model-review", "worker"]
    assert services["worker"]["healthcheck"]["test"][-2:] == ["worker", "--check"]


def test_the_kubernetes_example_follows_kubernetes_schemas() -> None:
    import kubernetes_validate

    manifests = ROOT / "deploy" / "kubernetes" / "model-review.yaml"
    documents = [d for d in yaml.safe_load_all(manifests.read_text()) if d]
    version = kubernetes_validate.latest_version()
    for document in documents:
        kubernetes_validate.validate(document, version, strict=True)
    kinds = {(d["kind"], d["metadata"]["name"]): d for d in documents}
    web = kinds[("Deployment", "model-review-web")]["spec"]["template"]["spec"]["containers"][0]
    assert web["command"][:3] == ["gunicorn", "-c", GUNICORN_CONF]
    assert web["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert web["readinessProbe"]["httpGet"]["path"] == "/readyz"
    worker = kinds[("Deployment", "model-review-worker")]["spec"]["template"]["spec"]
    probe = worker["containers"][0]["readinessProbe"]["exec"]["command"]
    assert probe == ["model-review", "worker", "--check"]
    assert {"secretRef": {"name": "model-review"}} in worker["containers"][0]["envFrom"]
    assert ("Service", "model-review") in kinds
