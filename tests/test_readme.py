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
    assert set(triggers) == {
        "pull_request",
        "pull_request_review",
        "issue_comment",
        "merge_group",  # a merge queue's group commit (bot.handlers.mergegroup)
        "schedule",  # production may have moved (bot.app.scheduled)
        "workflow_dispatch",
    }
    assert all(cron["cron"] for cron in triggers["schedule"])
    assert triggers["merge_group"] == {"types": ["checks_requested"]}
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


class _Context:
    """Attribute access into an event payload, as GitHub's expressions read it."""

    def __init__(self, data: object) -> None:
        self._data = data

    def __getattr__(self, name: str) -> object:
        value = self._data.get(name) if isinstance(self._data, dict) else None
        return _Context(value) if isinstance(value, dict) else value


def _job_runs(condition: str, event_name: str, event: dict[str, object]) -> bool:
    """The job's `if:` evaluated for an event: GitHub's expression syntax is close
    enough to Python's for the operators and functions the README uses."""
    python = re.sub(r"fromJSON\('([^']*)'\)", r"\1", condition)
    python = python.replace("&&", " and ").replace("||", " or ")
    python = python.replace("startsWith(", "_starts(").replace("contains(", "_contains(")
    names = {
        "github": _Context({"event_name": event_name, "event": event}),
        "_starts": lambda text, prefix: str(text or "").lower().startswith(prefix.lower()),
        # GitHub's contains() ignores case for strings
        "_contains": lambda items, item: (
            item.lower() in str(items or "").lower()
            if isinstance(item, str) and not isinstance(items, list)
            else item in items
        ),
    }
    return bool(eval(python, names))


def test_comment_jobs_start_only_for_the_author_and_trusted_people() -> None:
    (workflow,) = [yaml.safe_load(b) for b in _yaml_blocks() if "jobs:" in b]
    condition = workflow["jobs"]["review"]["if"]

    def comment(login: str, association: str, body: str = "/model-review refresh") -> bool:
        event = {
            "action": "created",
            "issue": {"pull_request": {"url": "u"}, "user": {"login": "dave"}},
            "comment": {"user": {"login": login}, "author_association": association, "body": body},
        }
        return _job_runs(condition, "issue_comment", event)

    assert comment("dave", "CONTRIBUTOR")  # the PR's author: their own refresh works
    assert comment("alice", "MEMBER") and comment("bob", "COLLABORATOR")
    assert comment("owner", "OWNER")
    assert not comment("mallory", "NONE") and not comment("eve", "CONTRIBUTOR")
    assert not comment("alice", "MEMBER", body="nice work")  # not a command
    link = "a better run: https://mlflow.acme.io/#/experiments/3/runs/" + "c" * 32
    for body in (link, "runs:/" + "c" * 32 + "/model", "models:/churn/4", "MLflow-run: abc"):
        assert comment("dave", "CONTRIBUTOR", body=body), body  # a reference re-runs it
    assert not comment("mallory", "NONE", body=link)
    assert _job_runs(condition, "pull_request", {"action": "opened"})
    assert _job_runs(condition, "schedule", {"schedule": "17 * * * *"})


def test_the_evaluate_job_runs_before_the_review_in_its_own_environment() -> None:
    (block,) = [b for b in re.findall(r"```yml\n(.*?)```", README, flags=re.S) if "evaluate" in b]
    jobs = yaml.safe_load("jobs:\n" + block)["jobs"]
    steps = jobs["evaluate"]["steps"]
    assert any("pip install -r requirements.txt" in s.get("run", "") for s in steps)
    (command,) = [s["run"] for s in steps if "model-review evaluate" in s.get("run", "")]
    assert "--target" in command and "--data" in command
    assert jobs["evaluate"]["permissions"] == {"contents": "read"}
    assert jobs["review"]["needs"] == "evaluate"
    assert jobs["review"]["if"].startswith("!cancelled() &&")


def _headings(text: str) -> list[tuple[int, str]]:
    """(level, title) of each markdown heading outside fenced code blocks."""
    prose = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return [(len(m[1]), m[2].strip()) for m in re.finditer(r"^(#{1,6}) (.+)$", prose, flags=re.M)]


def _anchor(title: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")


def test_contents_lists_every_section_in_order() -> None:
    contents = README.split("## Contents\n", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^- \[(.+)\]\(#(.+)\)$", contents, flags=re.M)
    sections = [t for level, t in _headings(README) if level == 2]
    after = sections[sections.index("Contents") + 1 :]
    assert [title for title, _ in listed] == after
    assert [anchor for _, anchor in listed] == [_anchor(t) for t in after]


def test_every_anchor_link_in_the_docs_resolves() -> None:
    pages = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").glob("*.md"))]
    anchors = {p.resolve(): {_anchor(t) for _, t in _headings(p.read_text("utf-8"))} for p in pages}
    broken = []
    for page in pages:
        for target, anchor in re.findall(r"\]\(([^)#\s]*)#([^)\s]+)\)", page.read_text("utf-8")):
            path = (page.parent / target).resolve() if target else page.resolve()
            if path in anchors and anchor not in anchors[path]:
                broken.append(f"{page.name}: {target}#{anchor}")
    assert broken == []


def test_upgrade_notes_live_in_the_changelog_newest_first() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    notes = [t for level, t in _headings(changelog) if level == 2]
    assert notes[:2] == [
        "Upgrade notes: gate integrity, round two",
        "Upgrade notes: who counts (gate integrity)",
    ]
    assert "Upgrade notes" not in README and "](CHANGELOG.md)" in README


def test_install_section_says_what_owner_and_v1_are_and_installs_from_a_clone() -> None:
    section = README.split("### Installing: what `OWNER` and `v1` stand for\n", 1)[1]
    section = section.split("\n## ", 1)[0]
    assert "not on PyPI" in section and "[docs/releasing.md](docs/releasing.md)" in section
    assert 'pip install -e ".[evaluate]"' in section and "git clone" in section
    releasing = (ROOT / "docs" / "releasing.md").read_text(encoding="utf-8")
    assert "`vX` (e.g. `v1`)" in releasing, "the README explains v1 as releasing.md's major tag"
