"""bot.githost.data: the pure helpers of the GitHub adapter.

What GitHub answers on the wire, and the adapter's use of these helpers, is tested
in tests/test_githost.py; here are the cases the wire tests do not reach.
"""

from __future__ import annotations

import time

import pytest
from github.GithubException import GithubException

from bot.constants import STATUS_DESCRIPTION_LIMIT
from bot.domain import GateState
from bot.githost.data import (
    changed_files,
    check_repo_name,
    comment_from_object,
    git_blob_sha,
    pull_from_json,
    rate_limit_hint,
    rate_limit_wait,
    status_body,
    status_in,
    translate_error,
    tree_body,
    web_url_for,
)
from tests import github_payloads as gp

# --- rate limits and errors ---------------------------------------------------------


def test_rate_limit_wait_reads_the_headers() -> None:
    assert rate_limit_wait(429, {"retry-after": "30"}) == 30
    assert rate_limit_wait(403, {"X-RateLimit-Remaining": "5", "X-RateLimit-Reset": "1"}) is None
    assert rate_limit_wait(500, {"Retry-After": "30"}) is None
    past = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(time.time()) - 100)}
    assert rate_limit_wait(403, past) == 1


def test_rate_limit_hint_says_when_to_re_run() -> None:
    assert rate_limit_hint(None, limited=False) is None
    assert rate_limit_hint(None, limited=True) == "wait for the rate limit to reset, then re-run"
    hint = rate_limit_hint(90, limited=False)
    assert hint is not None and "in about 2 min" in hint and "UTC" in hint
    assert "in about 1 min" in str(rate_limit_hint(5, limited=True))


def failure(status: int, message: str = "Oops", **extra: object) -> GithubException:
    return GithubException(status, gp.error(message, **extra), {})


def test_translate_error_prefers_the_callers_hint_for_its_status() -> None:
    exc = failure(404, "Not Found")
    own = translate_error(exc, "reading x", "contents: read", {404: "install the App"})
    default = translate_error(exc, "reading x", "contents: read", {422: "not this one"})
    assert own.hint == "install the App" and own.status == 404
    assert default.hint is not None and "check the repository name" in default.hint
    assert "GitHub found nothing while reading x (404: Not Found)" in own.message


def test_translate_error_for_other_statuses() -> None:
    conflict = translate_error(failure(409, "Conflict"), "merging", "contents: write")
    assert conflict.message == "GitHub answered an error while merging (409: Conflict)"
    assert conflict.hint is None and not conflict.rate_limited
    timeout = translate_error(failure(504, "Gateway Timeout"), "merging", "contents: write")
    assert timeout.hint is not None and "githubstatus" in timeout.hint


def test_translate_error_joins_every_validation_error() -> None:
    exc = failure(422, "Validation Failed", errors=["first", {"code": "missing_field"}])
    err = translate_error(exc, "commenting", "pull-requests: write")
    assert "(422: Validation Failed: first; missing_field)" in err.message


def test_translate_error_for_a_rate_limit() -> None:
    err = translate_error(failure(403), "commenting", "pull-requests: write", wait=600)
    assert err.rate_limited and err.status == 403
    assert err.message == "GitHub's API rate limit stopped commenting"
    assert err.hint is not None and "in about 10 min" in err.hint


# --- addresses and names --------------------------------------------------------------


@pytest.mark.parametrize(
    ("api", "web"),
    [
        ("https://api.github.com", "https://github.com"),
        ("https://ghe.acme.io/api/v3", "https://ghe.acme.io"),
        ("https://api.acme.ghe.com", "https://acme.ghe.com"),
        ("http://localhost:8080", "http://localhost:8080"),
    ],
)
def test_web_url_for(api: str, web: str) -> None:
    assert web_url_for(api) == web


def test_check_repo_name_accepts_owner_slash_name() -> None:
    check_repo_name("acme/models")  # raises UsageError otherwise (see test_githost)


# --- answers into domain types --------------------------------------------------------


def test_pull_without_visibility_or_base_repository_name() -> None:
    data = gp.pull(7)
    del data["base"]["repo"]["private"]
    assert pull_from_json(data, "acme/models").private is False
    data["base"]["repo"] = None
    found = pull_from_json(data, "acme/other")
    assert found.repo == "acme/other" and found.private is False


def test_comment_by_a_deleted_user_with_no_body() -> None:
    from github import Github
    from github.IssueComment import IssueComment

    data = gp.issue_comment(5, "x")
    data.update(user=None, body=None)
    answer = IssueComment(Github().requester, {}, data, completed=True)  # no request
    comment = comment_from_object(answer)
    assert (comment.comment_id, comment.author, comment.body) == (5, "", "")


def test_status_in_finds_only_the_context_asked() -> None:
    combined = {"statuses": [{"context": "ci", "state": "success", "description": None}]}
    assert status_in(combined, "ci") == (GateState.SUCCESS, "")
    assert status_in(combined, "model-review") is None
    assert status_in({"statuses": None}, "ci") is None


# --- bodies of writes ---------------------------------------------------------------------


def test_status_body_keeps_a_description_of_exactly_the_limit() -> None:
    exact = "x" * STATUS_DESCRIPTION_LIMIT
    body = status_body(GateState.PENDING, exact, "model-review", None)
    assert body == {"state": "pending", "description": exact, "context": "model-review"}
    longer = status_body(GateState.PENDING, exact + "y", "model-review", "https://x.test")
    assert len(longer["description"]) == STATUS_DESCRIPTION_LIMIT
    assert longer["description"].endswith("…") and longer["target_url"] == "https://x.test"


def test_git_blob_sha_matches_git() -> None:
    assert git_blob_sha(b"hello\n") == "ce013625030ba8dba906f756967f9e9ca394464a"
    assert git_blob_sha(b"") == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"


def test_changed_files_compares_blobs_only() -> None:
    tree = {
        "sha": "t" * 40,
        "tree": [
            {"path": "same.png", "type": "blob", "sha": git_blob_sha(b"same")},
            {"path": "old.png", "type": "blob", "sha": git_blob_sha(b"old")},
            {"path": "dir", "type": "tree", "sha": git_blob_sha(b"dir")},
        ],
    }
    wanted = {"same.png": b"same", "old.png": b"new", "dir": b"dir", "added.png": b"a"}
    assert changed_files(tree, wanted) == {"old.png": b"new", "dir": b"dir", "added.png": b"a"}


def test_tree_body_names_its_base_only_when_there_is_one() -> None:
    entry = {"path": "a.png", "mode": "100644", "type": "blob", "sha": "1" * 40}
    assert tree_body({"a.png": "1" * 40}, None) == {"tree": [entry]}
    assert tree_body({"a.png": "1" * 40}, "2" * 40) == {"tree": [entry], "base_tree": "2" * 40}
