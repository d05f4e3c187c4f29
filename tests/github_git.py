"""The git data API of the GitHub stand-in: where the bot commits its plots.

Blobs, trees, commits and refs kept in memory, with GitHub's answers
(tests/github_payloads.py): enough for `GitHubRepo.commit_files` and for a
straightforward client that commits with PyGithub.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from tests import github_payloads as gp

Json = dict[str, Any]
Answer = tuple[int, Any, dict[str, str]]


@dataclass
class GitStore:
    blobs: dict[str, bytes] = field(default_factory=dict)
    trees: dict[str, dict[str, str]] = field(default_factory=dict)  # sha -> path -> blob
    commits: dict[str, tuple[str, list[str]]] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)
    # branches a repository ruleset protects: creating or moving them is refused (422)
    ruled: set[str] = field(default_factory=set)


def _sha(*parts: object) -> str:
    return hashlib.sha1(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


class GitData:
    """Route handlers for /git/...; the stand-in mixes them in."""

    repo: str
    git: GitStore

    def _get_ref(self, branch: str, **_: Any) -> Answer:
        sha = self.git.refs.get(unquote(branch))
        if sha is None:
            return 404, gp.error("Not Found"), {}
        return 200, gp.git_ref(unquote(branch), sha, self.repo), {}

    def _move_ref(self, branch: str, data: Json, **_: Any) -> Answer:
        if unquote(branch) in self.git.ruled:
            return 422, gp.rule_violation("update"), {}
        self.git.refs[unquote(branch)] = data["sha"]
        return 200, gp.git_ref(unquote(branch), data["sha"], self.repo), {}

    def _create_ref(self, data: Json, **_: Any) -> Answer:
        branch = data["ref"].removeprefix("refs/heads/")
        if branch in self.git.ruled:
            return 422, gp.rule_violation("create"), {}
        if branch in self.git.refs:
            return 422, gp.error("Reference already exists"), {}
        self.git.refs[branch] = data["sha"]
        return 201, gp.git_ref(branch, data["sha"], self.repo), {}

    def _get_tree(self, sha: str, **_: Any) -> Answer:
        tree_sha = self.git.commits[sha][0] if sha in self.git.commits else sha
        if tree_sha not in self.git.trees:
            return 404, gp.error("Not Found"), {}
        return 200, gp.git_tree(tree_sha, self.git.trees[tree_sha], self.repo), {}

    def _create_tree(self, data: Json, **_: Any) -> Answer:
        entries = dict(self.git.trees.get(data.get("base_tree") or "", {}))
        entries.update({e["path"]: e["sha"] for e in data["tree"]})
        sha = _sha("tree", sorted(entries.items()))
        self.git.trees[sha] = entries
        return 201, gp.git_tree(sha, entries, self.repo), {}

    def _create_blob(self, data: Json, **_: Any) -> Answer:
        raw = base64.b64decode(data["content"])
        sha = hashlib.sha1(b"blob %d\0" % len(raw) + raw).hexdigest()
        self.git.blobs[sha] = raw
        return 201, gp.git_blob(sha, self.repo), {}

    def _git_commit(self, sha: str, **_: Any) -> Answer:
        if sha not in self.git.commits:
            return 404, gp.error("Not Found"), {}
        tree, parents = self.git.commits[sha]
        return 200, gp.git_commit(sha, tree, parents, "model-review: plots"), {}

    def _create_commit(self, data: Json, **_: Any) -> Answer:
        sha = _sha("commit", data["tree"], data["parents"], data["message"], len(self.git.commits))
        self.git.commits[sha] = (data["tree"], list(data["parents"]))
        return 201, gp.git_commit(sha, data["tree"], data["parents"], data["message"]), {}
