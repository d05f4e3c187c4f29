"""Runs `model-review action` in-process for an event, the way a workflow would, and
builds the webhook payloads of the GitHub stand-in's pull request (shared by the
end-to-end tests of the Action and of the closed-PR handler)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.app.action import run_action
from tests import github_payloads as gp
from tests.github_contract import check_webhook
from tests.github_sim import GitHubSim


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Runner:
    def __init__(self, tmp_path: Path, tracking_uri: str) -> None:
        self.tmp = tmp_path
        self.tracking_uri = tracking_uri
        self.count = 0
        self.outputs = tmp_path / "outputs-0"

    def __call__(self, event: str, payload: dict[str, Any]) -> dict[str, str]:
        assert self.run(event, payload) == 0
        lines = self.outputs.read_text().splitlines()
        return dict(line.split("=", 1) for line in lines)

    def run(self, event: str, payload: dict[str, Any], **extra: str) -> int:
        """The exit code of one run (`extra`: more environment variables)."""
        self.count += 1
        check_webhook(event, payload)  # GitHub's webhook schema (tests/github_contract.py)
        path = self.tmp / f"event-{self.count}.json"
        path.write_text(json.dumps(payload))
        outputs = self.tmp / f"outputs-{self.count}"
        env = {
            "GITHUB_EVENT_NAME": event, "GITHUB_EVENT_PATH": str(path),
            "GITHUB_REPOSITORY": "acme/models", "GITHUB_TOKEN": "ghs_test",
            "GITHUB_API_URL": "https://api.github.com",
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_STEP_SUMMARY": str(self.tmp / "summary.md"),
            "GITHUB_OUTPUT": str(outputs), "MLFLOW_TRACKING_URI": self.tracking_uri,
            "MODEL_REVIEW_GITHUB_PACING": "off",  # the production pacing waits between writes
        }  # fmt: skip
        self.outputs = outputs
        return run_action({**env, **extra})


def pr_event(sim: GitHubSim, action: str) -> dict[str, Any]:
    """GitHub's example of the action (its `before`/`after`, `changes`), with the PR."""
    known = (gp.FIXTURES / "pull_request" / f"{action}.payload.json").exists()
    payload = copy.deepcopy(gp.webhook("pull_request", action if known else "opened"))
    payload["action"] = action
    pull = sim.pull_json()
    if action == "closed":
        pull.update(state="closed", closed_at=pull["updated_at"])
    payload["pull_request"] = pull
    if action == "synchronize":
        payload["after"] = sim.head_sha
    payload["repository"]["full_name"] = sim.repo
    return payload


def review_event(sim: GitHubSim, review: dict[str, Any]) -> dict[str, Any]:
    payload = copy.deepcopy(gp.webhook("pull_request_review", "submitted"))
    payload["review"] = {**review, "state": review["state"].lower()}  # webhook spelling
    pull = gp.pull(
        sim.number, body=sim.body, author=sim.author, head_sha=sim.head_sha, base_sha=sim.base_sha
    )
    # a review event's pull request is the short form (no counts, no mergeability)
    payload["pull_request"] = {k: v for k, v in pull.items() if k in payload["pull_request"]}
    payload["repository"]["full_name"] = sim.repo
    return payload
