"""The README is documentation users paste: check it against the code."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from bot.config.schema import ImageHost, load_config

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _yaml_blocks() -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", README, flags=re.S)


def test_config_example_in_readme_is_the_example_file_and_parses() -> None:
    example = (ROOT / "examples" / "model-review.yml").read_text(encoding="utf-8")
    blocks = [b for b in _yaml_blocks() if b.lstrip().startswith("# .github/model-review.yml")]
    assert blocks == [example], "README's config block drifted from examples/model-review.yml"
    config = load_config(blocks[0])
    assert config.reviewers.primary == ("alice", "bob")
    assert config.plots.host is ImageHost.BRANCH
    assert config.baseline.alias == "production"
    assert [m.pattern for m in config.reviewers.models] == ["fraud-model", "experiment:churn-*"]


def test_the_reviewers_per_model_example_parses() -> None:
    (block,) = [b for b in _yaml_blocks() if b.startswith("reviewers:")]
    models = load_config(block).reviewers.models
    assert [m.pattern for m in models] == ["fraud-model", "ranker-*", "experiment:churn-*"]
    assert models[0].primary == ("frank",) and models[1].secondary == ("acme/search-leads",)


def test_workflow_in_readme_is_valid_and_grants_what_the_bot_needs() -> None:
    workflows = [yaml.safe_load(b) for b in _yaml_blocks() if "jobs:" in b]
    assert len(workflows) == 1
    workflow = workflows[0]
    job = workflow["jobs"]["review"]
    assert workflow["permissions"] == {}, "permissions belong to the job"
    assert job["permissions"] == {
        "contents": "write",  # the default image host commits to a branch
        "pull-requests": "write",
        "issues": "write",
        "statuses": "write",
    }
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as a boolean
    assert set(triggers) == {"pull_request", "pull_request_review", "issue_comment"}
    # usable as written: one step, the published action (no checkout needed)
    (step,) = job["steps"]
    assert step["uses"] == "OWNER/model-review@v1"
    assert "mlflow-tracking-uri" in step["with"]
    assert "`OWNER`" in README and (ROOT / "docs" / "releasing.md").exists()


def test_every_action_input_and_output_is_documented() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    for name in [*action["inputs"], *action["outputs"]]:
        assert f"`{name}`" in README, f"action input/output `{name}` is not in the README"


def test_readme_test_command_is_what_ci_runs() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "python -m pytest" in README
    assert ci.rstrip().endswith("python -m pytest")
