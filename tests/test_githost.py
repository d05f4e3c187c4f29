"""bot.githost.client against GitHub's REST API, mocked with `responses`: every registered
call must happen, every write is matched on its JSON body, and answers are shaped
like GitHub's (tests/github_payloads.py)."""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
import responses
from responses import matchers
from urllib3 import HTTPResponse

from bot.constants import ACTIONS_BOT_LOGIN
from bot.domain import GateState, ReviewState
from bot.errors import GitHubError, UsageError
from bot.githost.client import GitHubRepo
from bot.githost.data import RetryPolicy, git_blob_sha
from bot.githost.installations import AppInstallations
from bot.githost.retry import make_retry
from bot.ports import GitHubPort
from tests import github_payloads as gp

REPO = "acme/models"
API = "https://api.github.com"
WIRE = "https://api.github.com:443"  # PyGithub always names the port in the URLs it sends
R = f"{WIRE}/repos/{REPO}"
LINKED = f"{API}/repositories/{gp.REPO_ID}"  # GitHub's Link headers name repositories by id
PAGED = f"{WIRE}/repositories/{gp.REPO_ID}"


def per_page(page: int | None = None) -> Callable[..., Any]:
    params = {"per_page": "100"} if page is None else {"per_page": "100", "page": str(page)}
    return matchers.query_param_matcher(params)


def body_is(data: Any) -> Callable[..., Any]:
    return matchers.json_params_matcher(data)


def codes(rsps: responses.RequestsMock) -> list[int]:
    """The HTTP status of each answer, in order."""
    return [int(getattr(call.response, "status_code", 0)) for call in rsps.calls]


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def gh() -> GitHubRepo:
    return GitHubRepo(REPO, "s3cret", throttle=False)


# --- construction ----------------------------------------------------------


def test_is_a_github_port_and_needs_no_request_to_know_its_login(
    rsps: responses.RequestsMock,
) -> None:
    port: GitHubPort = GitHubRepo(REPO, "s3cret", throttle=False)
    assert port.bot_login() == ACTIONS_BOT_LOGIN == "github-actions[bot]"
    named = GitHubRepo(REPO, "s3cret", bot_login="model-review[bot]", throttle=False)
    assert named.bot_login() == "model-review[bot]"
    assert len(rsps.calls) == 0


@pytest.mark.parametrize("name", ["models", "acme/", "/models", "a/b/c", ""])
def test_rejects_a_repository_name_without_owner(name: str) -> None:
    with pytest.raises(UsageError, match="owner/name"):
        GitHubRepo(name, "s3cret")


def test_rejects_an_auth_that_is_not_a_pygithub_auth() -> None:
    with pytest.raises(TypeError, match=r"github\.Auth\.Auth"):
        GitHubRepo(REPO, auth="s3cret")


def test_sends_the_token(rsps: responses.RequestsMock, gh: GitHubRepo) -> None:
    rsps.get(
        f"{R}/pulls/7",
        json=gp.pull(7),
        match=[matchers.header_matcher({"Authorization": "token s3cret"})],
    )
    assert gh.pull_request(7, with_commits=False, with_files=False).number == 7


# --- reading a pull request ------------------------------------------------


def test_pull_request_is_one_request_when_lists_are_not_wanted(
    rsps: responses.RequestsMock, gh: GitHubRepo
) -> None:
    rsps.get(
        f"{R}/pulls/7",
        json=gp.pull(
            7,
            title="Retrain",
            body="See runs:/abc",
            author="alice",
            head_sha="1" * 40,
            base_sha="2" * 40,
            head_ref="retrain",
            base_ref="main",
            draft=True,
            reviewers=["bob", "carol"],
            teams=["ml-leads"],
            merge_commit_sha="3" * 40,
        ),
    )

    pr = gh.pull_request(7, with_commits=False, with_files=False)

    assert len(rsps.calls) == 1
    assert (pr.number, pr.title, pr.body, pr.author) == (7, "Retrain", "See runs:/abc", "alice")
    assert (pr.head_sha, pr.base_sha) == ("1" * 40, "2" * 40)
    assert (pr.head_ref, pr.base_ref) == ("retrain", "main")
    assert pr.repo == REPO and pr.head_repo == REPO and not pr.from_fork
    assert pr.draft is True and pr.state == "open" and pr.merged is False
    assert pr.html_url == f"https://github.com/{REPO}/pull/7"
    assert pr.requested_reviewers == ("bob", "carol", "acme/ml-leads")
    assert pr.merge_commit_sha == "3" * 40
    assert pr.commits == () and pr.changed_files == ()


def test_pull_request_lists_every_page_of_commits_and_files(
    rsps: responses.RequestsMock, gh: GitHubRepo
) -> None:
    first = [gp.pr_commit(f"{i:040x}") for i in range(100)]
    rsps.get(f"{R}/pulls/7", json=gp.pull(7))
    rsps.get(
        f"{R}/pulls/7/commits",
        json=first,
        match=[per_page()],
        headers=gp.next_link(f"{LINKED}/pulls/7/commits", 1, 2),
    )
    rsps.get(f"{PAGED}/pulls/7/commits", json=[gp.pr_commit("f" * 40)], match=[per_page(2)])
    rsps.get(
        f"{R}/pulls/7/files",
        json=[gp.pr_file("models/train.py"), gp.pr_file("README.md")],
        match=[per_page()],
    )

    pr = gh.pull_request(7)

    assert len(rsps.calls) == 4
    assert pr.commits == (*(f"{i:040x}" for i in range(100)), "f" * 40)
    assert pr.changed_files == ("models/train.py", "README.md")


def test_pull_request_with_null_body_from_a_deleted_fork(
    rsps: responses.RequestsMock, gh: GitHubRepo
) -> None:
    rsps.get(
        f"{R}/pulls/3", json=gp.pull(3, body=None, head_repo="deleted", state="closed", merged=True)
    )
    pr = gh.pull_request(3, with_commits=False, with_files=False)
    assert pr.body == "" and pr.head_repo is None and not pr.from_fork
    assert pr.state == "closed" and pr.merged is True


def test_pull_request_from_a_fork(rsps: responses.RequestsMock, gh: GitHubRepo) -> None:
    rsps.get(f"{R}/pulls/4", json=gp.pull(4, head_repo="mallory/models"))
    pr = gh.pull_request(4, with_commits=False, with_files=False)
    assert pr.head_repo == "mallory/models" and pr.from_fork


def test_missing_pull_request_is_a_404_github_error(
    rsps: responses.RequestsMock, gh: GitHubRepo
) -> None:
    rsps.get(f"{R}/pulls/99", status=404, json=gp.error("Not Found"))
    with pytest.raises(GitHubError) as caught:
        gh.pull_request(99)
    assert caught.value.status == 404
    assert "#99" in caught.value.message and "check the repository" in str(caught.value)


# --- comments and reviews ----------------------------------------------------


def test_comments_reads_all_three_pages(rsps: responses.RequestsMock, gh: GitHubRepo) -> None:
    pages = [
        [gp.issue_comment(100 * page + i, f"c{page}.{i}", f"user{i}") for i in range(2)]
        for page in range(3)
    ]
    pages[2][1] = gp.issue_comment(
        999,
        "<!-- model-review -->",
        "github-actions[bot]",
        created_at="2026-11-26T10:00:00Z",
        updated_at="2026-11-27T08:30:00Z",
    )
    url, link = f"{PAGED}/issues/7/comments", f"{LINKED}/issues/7/comments"
    rsps.get(
        f"{R}/issues/7/comments",
        json=pages[0],
        match=[per_page()],
        headers=gp.next_link(link, 1, 3),
    )
    rsps.get(url, json=pages[1], match=[per_page(2)], headers=gp.next_link(link, 2, 3))
    rsps.get(url, json=pages[2], match=[per_page(3)])

    found = gh.comments(7)

    assert len(rsps.calls) == 3
    assert [c.comment_id for c in found] == [0, 1, 100, 101, 200, 999]
    last = found[-1]
    assert (last.author, last.body) == ("github-actions[bot]", "<!-- model-review -->")
    assert last.url == f"https://github.com/{REPO}/pull/7#issuecomment-999"
    assert (last.created_at, last.updated_at) == ("2026-11-26T10:00:00Z", "2026-11-27T08:30:00Z")


def test_reviews_two_pages_states_in_any_case_without_pending_or_deleted_users(
    rsps: responses.RequestsMock, gh: GitHubRepo
) -> None:
    url = f"{PAGED}/pulls/7/reviews"
    link = gp.next_link(f"{LINKED}/pulls/7/reviews", 1, 2)
    rsps.get(
        f"{R}/pulls/7/reviews",
        match=[per_page()],
        headers=link,
        json=[
            gp.review(1, "bob", "COMMENTED", submitted_at="2026-11-26T09:00:00Z"),
            gp.review(
                2, "bob", "approved", commit_id="1" * 40, submitted_at="2026-11-26T10:00:00Z"
            ),
            gp.review(3, None, "APPROVED"),
        ],
    )
    rsps.get(
        url,
        match=[per_page(2)],
        json=[
            gp.review(4, "carol", "changes_requested", submitted_at="2026-11-26T11:00:00Z"),
            gp.review(5, "dave", "PENDING", submitted_at=None),
            gp.review(7, "erin", "SOMETHING_NEW"),
            gp.review(6, "carol", "DISMISSED", submitted_at="2026-11-26T12:00:00Z"),
        ],
    )

    found = gh.reviews(7)

    assert len(rsps.calls) == 2
    assert [(r.review_id, r.user, r.state) for r in found] == [
        (1, "bob", ReviewState.COMMENTED),
        (2, "bob", ReviewState.APPROVED),
        (4, "carol", ReviewState.CHANGES_REQUESTED),
        (6, "carol", ReviewState.DISMISSED),
    ]
    assert found[1].commit_id == "1" * 40
    assert found[1].submitted_at == "2026-11-26T10:00:00Z"


def test_create_comment_posts_the_body(rsps: responses.RequestsMock, gh: GitHubRepo) -> None:
    rsps.post(
        f"{R}/issues/7/comments",
        status=201,
        match=[body_is({"body": "hello | world"})],
        json=gp.issue_comment(555, "hello | world", "github-actions[bot]"),
    )
    made = gh.create_comment(7, "hello | world")
    assert (made.comment_id, made.author, made.body) == (
        555,
        "github-actions[bot]",
        "hello | world",
    )
    assert made.url.endswith("#issuecomment-555") and made.created_at == "2026-11-26T10:00:00Z"


def test_update_and_delete_comment(rsps: responses.RequestsMock, gh: GitHubRepo) -> None:
    rsps.patch(
        f"{R}/issues/comments/555",
        match=[body_is({"body": "v2"})],
        json=gp.issue_comment(555, "v2", "github-actions[bot]", updated_at="2026-11-27T09:00:00Z"),
    )
    rsps.delete(f"{R}/issues/comments/556", status=204)

    updated = gh.update_comment(555, "v2")
    gh.delete_comment(556)

    assert (updated.comment_id, updated.body, updated.updated_at) == (
        555,
        "v2",
        "2026-11-27T09:00:00Z",
    )
    assert [c.request.method for c in rsps.calls] == ["PATCH", "DELETE"]


# --- files -------------------------------------------------------------------


def test_file_at_decodes_the_file_at_the_ref(rsps: responses.RequestsMock, gh: GitHubRepo) -> None:
    text = "reviewers:\n  primary: [bob]\n# ünïcode\n" + "x" * 200
    rsps.get(
        f"{R}/contents/.github/model-review.yml",
        match=[matchers.query_param_matcher({"ref": "main"})],
        json=gp.content_file(".github/model-review.yml", text),
    )
    assert gh.file_at(".github/model-review.yml", "main") == text


def test_file_at_is_none_when_missing(rsps: responses.RequestsMock, gh: GitHubRepo) -> None:
    rsps.get(f"{R}/contents/.github/model-review.yml", status=404, json=gp.error("Not Found"))
    assert gh.file_at(".github/model-review.yml", "main") is None


def test_file_at_other_errors_raise(rsps: responses.RequestsMock, gh: GitHubRepo) -> None:
    rsps.get(
        f"{R}/contents/cfg.yml", status=403, json=gp.error("Resource not accessible by integration")
    )
    with pytest.raises(GitHubError) as caught:
        gh.file_at("cfg.yml", "main")
    assert caught.value.status == 403
    assert "`contents: read`" in str(caught.value)


def test_file_at_a_directory_is_an_error(rsps: responses.RequestsMock, gh: GitHubRepo) -> None:
    rsps.get(f"{R}/contents/docs", json=[gp.content_file("docs/a.md", "a")])
    with pytest.raises(GitHubError, match="not a file"):
        gh.file_at("docs", "main")


# --- statuses and review requests -------------------------------------------


def test_set_status_posts_state_context_and_truncated_description(
    rsps: responses.RequestsMock, gh: GitHubRepo
) -> None:
    sha = "a" * 40
    long = "Waiting for approval from " + ", ".join(f"reviewer{i}" for i in range(30))
    cut = long[:139] + "…"
    rsps.post(
        f"{R}/statuses/{sha}",
        status=201,
        json=gp.commit_status(sha, "pending", cut, "model-review"),
        match=[
            body_is(
                {
                    "state": "pending",
                    "description": cut,
                    "context": "model-review",
                    "target_url": "https://github.com/acme/models/pull/7",
                }
            )
        ],
    )
    rsps.post(
        f"{R}/statuses/{sha}",
        status=201,
        json=gp.commit_status(sha, "success", "ok", "mr"),
        match=[body_is({"state": "success", "description": "ok", "context": "mr"})],
    )

    gh.set_status(
        sha, GateState.PENDING, long, "model-review", "https://github.com/acme/models/pull/7"
    )
    gh.set_status(sha, GateState.SUCCESS, "ok", "mr", None)

    assert len(cut) == 140 and len(long) > 140


def test_current_status_finds_the_context(rsps: responses.RequestsMock, gh: GitHubRepo) -> None:
    sha = "a" * 40
    ours = gp.commit_status(sha, "pending", "Waiting for bob", "model-review")
    other = gp.commit_status(sha, "success", "Build passed", "ci/build")
    rsps.get(
        f"{R}/commits/{sha}/status", match=[per_page()], json=gp.combined_status(sha, [other, ours])
    )
    rsps.get(f"{R}/commits/{'b' * 40}/status", json=gp.combined_status("b" * 40, [other]))

    assert gh.current_status(sha, "model-review") == (GateState.PENDING, "Waiting for bob")
    assert gh.current_status("b" * 40, "model-review") is None


def test_request_reviewers_users_and_teams_in_one_post(
    rsps: responses.RequestsMock, gh: GitHubRepo
) -> None:
    rsps.post(
        f"{R}/pulls/7/requested_reviewers",
        status=201,
        json=gp.pull(7, reviewers=["bob"]),
        match=[body_is({"reviewers": ["bob", "carol"], "team_reviewers": ["ml-leads"]})],
    )
    gh.request_reviewers(7, ["bob", "carol"], ["acme/ml-leads"])
    assert len(rsps.calls) == 1


def test_request_reviewers_sends_only_the_lists_given(
    rsps: responses.RequestsMock, gh: GitHubRepo
) -> None:
    rsps.post(
        f"{R}/pulls/7/requested_reviewers",
        status=201,
        json=gp.pull(7),
        match=[body_is({"team_reviewers": ["ml-leads"]})],
    )
    gh.request_reviewers(7, [], ["acme/ml-leads"])
    gh.request_reviewers(7, [], [])
    assert len(rsps.calls) == 1


def test_request_reviewers_not_a_collaborator(rsps: responses.RequestsMock, gh: GitHubRepo) -> None:
    said = (
        "Reviews may only be requested from collaborators. One or more of the users or "
        "teams you specified is not a collaborator of the acme/models repository."
    )
    rsps.post(
        f"{R}/pulls/7/requested_reviewers",
        status=422,
        json=gp.error(said),
        match=[body_is({"reviewers": ["mallory"]})],
    )
    with pytest.raises(GitHubError) as caught:
        gh.request_reviewers(7, ["mallory"], [])
    err = caught.value
    assert err.status == 422 and "`mallory`" in err.message and said in err.message
    assert err.hint is not None and "read access to acme/models" in err.hint


# --- failures, retries, rate limits -------------------------------------------


def test_a_502_is_retried(rsps: responses.RequestsMock, gh: GitHubRepo) -> None:
    rsps.get(f"{R}/pulls/7", status=502, json=gp.error("Server Error"))
    rsps.get(f"{R}/pulls/7", json=gp.pull(7, title="after retry"))
    assert gh.pull_request(7, with_commits=False, with_files=False).title == "after retry"
    assert codes(rsps) == [502, 200]


def test_5xx_that_persists_becomes_a_github_error(rsps: responses.RequestsMock) -> None:
    gh = GitHubRepo(REPO, "s3cret", throttle=False, retry=RetryPolicy(total=2, backoff_factor=0))
    rsps.post(f"{R}/statuses/{'a' * 40}", status=503, json=gp.error("Service Unavailable"))
    with pytest.raises(GitHubError) as caught:
        gh.set_status("a" * 40, GateState.PENDING, "x", "model-review", None)
    assert caught.value.status == 503 and len(rsps.calls) == 3
    assert "githubstatus" in str(caught.value)


def rate_limited(reset_in: float) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": "1000",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Used": "1000",
        "X-RateLimit-Resource": "core",
        "X-RateLimit-Reset": str(int(time.time() + reset_in)),
    }


LIMIT_MESSAGE = "API rate limit exceeded for installation ID 4242."


def test_rate_limit_with_a_reset_a_second_ahead_is_waited_out(
    rsps: responses.RequestsMock, gh: GitHubRepo
) -> None:
    rsps.get(f"{R}/pulls/7", status=403, headers=rate_limited(1), json=gp.error(LIMIT_MESSAGE))
    rsps.get(f"{R}/pulls/7", json=gp.pull(7))
    assert gh.pull_request(7, with_commits=False, with_files=False).number == 7
    assert codes(rsps) == [403, 200]


def test_rate_limit_resetting_too_late_fails_saying_when(
    rsps: responses.RequestsMock, gh: GitHubRepo
) -> None:
    rsps.get(
        f"{R}/issues/7/comments",
        status=403,
        headers=rate_limited(3600),
        json=gp.error(LIMIT_MESSAGE),
    )
    with pytest.raises(GitHubError) as caught:
        gh.comments(7)
    reset = datetime.fromtimestamp(int(time.time() + 3600) + 1, UTC)
    assert len(rsps.calls) == 1
    assert "rate limit" in caught.value.message and caught.value.status == 403
    assert caught.value.hint is not None and "resets at" in caught.value.hint
    assert f"{reset:%H:}" in caught.value.hint and "in about 60 min" in caught.value.hint


def test_429_with_retry_after_is_retried_and_a_long_one_fails(
    rsps: responses.RequestsMock, gh: GitHubRepo
) -> None:
    rsps.get(
        f"{R}/pulls/7/reviews",
        status=429,
        headers={"Retry-After": "1"},
        json=gp.error("You have exceeded a secondary rate limit."),
    )
    rsps.get(f"{R}/pulls/7/reviews", json=[gp.review(1, "bob")])
    rsps.get(
        f"{R}/pulls/8/reviews",
        status=429,
        headers={"Retry-After": "600"},
        json=gp.error("You have exceeded a secondary rate limit."),
    )
    assert [r.user for r in gh.reviews(7)] == ["bob"]
    with pytest.raises(GitHubError, match="rate limit") as caught:
        gh.reviews(8)
    assert "in about 10 min" in str(caught.value)
    assert codes(rsps) == [429, 200, 429]


def test_429_waits_until_the_reset_header() -> None:
    retry = make_retry(RetryPolicy(max_rate_limit_wait=60))
    answer = HTTPResponse(body=b"{}", status=429, headers=rate_limited(10), preload_content=True)
    after = retry.increment(method="GET", url="/repos/acme/models", response=answer)
    assert 9 <= after.get_backoff_time() <= 11.5


def test_permission_error_names_the_permission_to_grant(
    rsps: responses.RequestsMock, gh: GitHubRepo
) -> None:
    rsps.post(
        f"{R}/statuses/{'a' * 40}",
        status=403,
        headers={"X-RateLimit-Remaining": "990", "X-Accepted-GitHub-Permissions": "statuses=write"},
        json=gp.error("Resource not accessible by integration"),
    )
    with pytest.raises(GitHubError) as caught:
        gh.set_status("a" * 40, GateState.PENDING, "waiting", "model-review", None)
    err = caught.value
    assert len(rsps.calls) == 1  # not retried
    assert err.status == 403 and "Resource not accessible by integration" in err.message
    assert "setting the `model-review` status" in err.message
    assert err.hint is not None and "`statuses: write`" in err.hint and "permissions:" in err.hint


def test_bad_credentials(rsps: responses.RequestsMock, gh: GitHubRepo) -> None:
    rsps.post(f"{R}/issues/7/comments", status=401, json=gp.error("Bad credentials"))
    with pytest.raises(GitHubError) as caught:
        gh.create_comment(7, "hi")
    assert caught.value.status == 401 and "GITHUB_TOKEN" in str(caught.value)


def test_validation_errors_carry_githubs_words(
    rsps: responses.RequestsMock, gh: GitHubRepo
) -> None:
    rsps.patch(
        f"{R}/issues/comments/5",
        status=422,
        json=gp.error(
            "Validation Failed",
            errors=[
                {
                    "resource": "IssueComment",
                    "code": "custom",
                    "field": "body",
                    "message": "body is too long (maximum is 65536 characters)",
                }
            ],
        ),
    )
    with pytest.raises(GitHubError) as caught:
        gh.update_comment(5, "x")
    assert "Validation Failed: body is too long (maximum is 65536 characters)" in str(caught.value)


def test_unreachable_github(rsps: responses.RequestsMock, gh: GitHubRepo) -> None:
    rsps.get(f"{R}/pulls/7", body=requests.ConnectionError("connection refused"))
    with pytest.raises(
        GitHubError, match=re.escape("could not reach GitHub at https://api.github.com")
    ):
        gh.pull_request(7)


# --- GitHub Enterprise ---------------------------------------------------------


def test_enterprise_base_url_is_used_and_gives_the_web_address(
    rsps: responses.RequestsMock,
) -> None:
    api = "https://ghe.acme.io/api/v3"
    gh = GitHubRepo(REPO, "s3cret", base_url=api + "/", throttle=False)
    wire = "https://ghe.acme.io:443/api/v3"
    rsps.get(f"{wire}/repos/{REPO}/pulls/7", json=gp.pull(7, api=api))
    rsps.post(
        f"{wire}/repos/{REPO}/issues/7/comments",
        status=201,
        json=gp.issue_comment(1, "hi"),
        match=[body_is({"body": "hi"})],
    )

    assert gh.server_url == "https://ghe.acme.io"
    assert gh.pull_request(7, with_commits=False, with_files=False).number == 7
    assert gh.create_comment(7, "hi").comment_id == 1


def test_blob_url_points_at_the_web_host() -> None:
    ghe = GitHubRepo(REPO, "t", base_url="https://ghe.acme.io/api/v3")
    assert ghe.blob_url("8" * 40, "pr-7/metrics 1.png") == (
        f"https://ghe.acme.io/acme/models/blob/{'8' * 40}/pr-7/metrics%201.png?raw=true"
    )


def test_server_url_can_be_given() -> None:
    gh = GitHubRepo(REPO, "t", base_url="http://127.0.0.1:9/api", server_url="http://web.test/")
    assert gh.server_url == "http://web.test"


# --- committing files to a branch ------------------------------------------------


PNG_A, PNG_B = b"\x89PNG\r\n\x1a\nA", b"\x89PNG\r\n\x1a\nB"
FILES = {"pr-7/metrics-1a2b.png": PNG_A, "pr-7/curve-3c4d.png": PNG_B}
BRANCH = "model-review-assets"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_commit_files_creates_the_branch_then_writes_nothing_the_second_time(
    rsps: responses.RequestsMock, gh: GitHubRepo
) -> None:
    blob_a, blob_b = git_blob_sha(PNG_A), git_blob_sha(PNG_B)
    tree, commit = "7" * 40, "8" * 40
    rsps.get(f"{R}/git/ref/heads/{BRANCH}", status=404, json=gp.error("Not Found"))
    rsps.post(
        f"{R}/git/blobs",
        status=201,
        json=gp.git_blob(blob_b),
        match=[body_is({"content": b64(PNG_B), "encoding": "base64"})],
    )
    rsps.post(
        f"{R}/git/blobs",
        status=201,
        json=gp.git_blob(blob_a),
        match=[body_is({"content": b64(PNG_A), "encoding": "base64"})],
    )
    entries = [
        {"path": "pr-7/curve-3c4d.png", "mode": "100644", "type": "blob", "sha": blob_b},
        {"path": "pr-7/metrics-1a2b.png", "mode": "100644", "type": "blob", "sha": blob_a},
    ]
    rsps.post(
        f"{R}/git/trees",
        status=201,
        match=[body_is({"tree": entries})],
        json=gp.git_tree(tree, {"pr-7/curve-3c4d.png": blob_b, "pr-7/metrics-1a2b.png": blob_a}),
    )
    rsps.post(
        f"{R}/git/commits",
        status=201,
        match=[body_is({"message": "Add plots for #7", "tree": tree, "parents": []})],
        json=gp.git_commit(commit, tree, [], "Add plots for #7"),
    )
    rsps.post(
        f"{R}/git/refs",
        status=201,
        json=gp.git_ref(BRANCH, commit),
        match=[body_is({"ref": f"refs/heads/{BRANCH}", "sha": commit})],
    )

    assert gh.commit_files(BRANCH, FILES, "Add plots for #7") == commit
    assert len(rsps.calls) == 6

    rsps.get(f"{R}/git/ref/heads/{BRANCH}", json=gp.git_ref(BRANCH, commit))
    rsps.get(
        f"{R}/git/trees/{commit}",
        match=[matchers.query_param_matcher({"recursive": "1"})],
        json=gp.git_tree(tree, {"pr-7/curve-3c4d.png": blob_b, "pr-7/metrics-1a2b.png": blob_a}),
    )

    assert gh.commit_files(BRANCH, FILES, "Add plots for #7") == commit
    assert len(rsps.calls) == 8  # the ref and the tree, nothing written


def test_commit_files_sends_only_what_changed(rsps: responses.RequestsMock, gh: GitHubRepo) -> None:
    head, base_tree, new_tree, commit = "1" * 40, "2" * 40, "3" * 40, "4" * 40
    blob_b = git_blob_sha(PNG_B)
    rsps.get(f"{R}/git/ref/heads/{BRANCH}", json=gp.git_ref(BRANCH, head))
    rsps.get(
        f"{R}/git/trees/{head}",
        match=[matchers.query_param_matcher({"recursive": "1"})],
        json=gp.git_tree(
            base_tree,
            {
                "pr-7/metrics-1a2b.png": git_blob_sha(PNG_A),
                "pr-7/curve-3c4d.png": "9" * 40,
                "old.png": "5" * 40,
            },
        ),
    )
    rsps.post(
        f"{R}/git/blobs",
        status=201,
        json=gp.git_blob(blob_b),
        match=[body_is({"content": b64(PNG_B), "encoding": "base64"})],
    )
    rsps.post(
        f"{R}/git/trees",
        status=201,
        json=gp.git_tree(new_tree, {}),
        match=[
            body_is(
                {
                    "base_tree": base_tree,
                    "tree": [
                        {
                            "path": "pr-7/curve-3c4d.png",
                            "mode": "100644",
                            "type": "blob",
                            "sha": blob_b,
                        }
                    ],
                }
            )
        ],
    )
    rsps.post(
        f"{R}/git/commits",
        status=201,
        json=gp.git_commit(commit, new_tree, [head], "m"),
        match=[body_is({"message": "m", "tree": new_tree, "parents": [head]})],
    )
    rsps.patch(
        f"{R}/git/refs/heads/{BRANCH}",
        json=gp.git_ref(BRANCH, commit),
        match=[body_is({"sha": commit, "force": False})],
    )

    assert gh.commit_files(BRANCH, {"/" + k: v for k, v in FILES.items()}, "m") == commit


def test_commit_files_tries_again_when_the_branch_moved(
    rsps: responses.RequestsMock, gh: GitHubRepo
) -> None:
    head, moved, commit = "1" * 40, "6" * 40, "4" * 40
    only = {"a.png": PNG_A}
    blob = git_blob_sha(PNG_A)
    rsps.get(f"{R}/git/ref/heads/{BRANCH}", json=gp.git_ref(BRANCH, head))
    rsps.get(f"{R}/git/trees/{head}", json=gp.git_tree("2" * 40, {}))
    rsps.post(f"{R}/git/blobs", status=201, json=gp.git_blob(blob))
    rsps.post(f"{R}/git/trees", status=201, json=gp.git_tree("3" * 40, {"a.png": blob}))
    rsps.post(f"{R}/git/commits", status=201, json=gp.git_commit(commit, "3" * 40, [head], "m"))
    rsps.patch(
        f"{R}/git/refs/heads/{BRANCH}",
        status=422,
        json=gp.error("Update is not a fast forward"),
        match=[body_is({"sha": commit, "force": False})],
    )
    # second attempt: someone else already committed the same picture
    rsps.get(f"{R}/git/ref/heads/{BRANCH}", json=gp.git_ref(BRANCH, moved))
    rsps.get(f"{R}/git/trees/{moved}", json=gp.git_tree("5" * 40, {"a.png": blob}))

    assert gh.commit_files(BRANCH, only, "m") == moved


def test_commit_files_needs_files(gh: GitHubRepo) -> None:
    with pytest.raises(ValueError, match="at least one file"):
        gh.commit_files(BRANCH, {}, "m")


# --- GitHub App installations ---------------------------------------------------


JWT = re.compile(r"Bearer [\w-]+\.[\w-]+\.[\w-]+")


def test_app_finds_the_installation_and_acts_as_it(
    rsps: responses.RequestsMock, app_key: str
) -> None:
    apps = AppInstallations(31337, app_key, throttle=False)
    as_app = [matchers.header_matcher({"Authorization": JWT})]
    rsps.get(f"{WIRE}/app", json=gp.app("model-review"), match=as_app)
    rsps.get(f"{R}/installation", json=gp.installation(4242), match=as_app)
    rsps.post(
        f"{WIRE}/app/installations/4242/access_tokens",
        status=201,
        json=gp.access_token("ghs_installation"),
        match=[*as_app, body_is({"permissions": {}})],
    )
    rsps.get(
        f"{R}/pulls/7",
        json=gp.pull(7),
        match=[matchers.header_matcher({"Authorization": "token ghs_installation"})],
    )

    installation = apps.installation_id(REPO)
    repo = apps.repo(installation, REPO)
    again = apps.repo(installation, REPO)

    assert installation == 4242
    assert repo.bot_login() == again.bot_login() == "model-review[bot]"
    assert repo.pull_request(7, with_commits=False, with_files=False).number == 7
    assert len(rsps.calls) == 4  # GET /app once, then the installation's token once


def test_app_not_installed_on_the_repository(rsps: responses.RequestsMock, app_key: str) -> None:
    apps = AppInstallations(31337, app_key, throttle=False, bot_login="model-review[bot]")
    rsps.get(f"{R}/installation", status=404, json=gp.error("Not Found"))
    with pytest.raises(GitHubError) as caught:
        apps.installation_id(REPO)
    assert caught.value.status == 404
    assert caught.value.hint is not None and "install the App on acme/models" in caught.value.hint
    assert apps.repo(1, REPO).bot_login() == "model-review[bot]"  # given: no GET /app


# --- App auth: the JWT, and one cached installation token ---------------------------


def _public_claims(header: str, key_pem: str) -> dict[str, Any]:
    """The claims of a `Bearer <jwt>` header, checked against the App key's public half."""
    import jwt
    from cryptography.hazmat.primitives import serialization

    private = serialization.load_pem_private_key(key_pem.encode(), password=None)
    claims: dict[str, Any] = jwt.decode(
        header.removeprefix("Bearer "),
        private.public_key(),
        algorithms=["RS256"],
    )
    return claims


def _as_installation(token: str) -> list[Callable[..., Any]]:
    return [matchers.header_matcher({"Authorization": f"token {token}"})]


def _token_call(rsps: responses.RequestsMock, token: str, expires_at: str) -> None:
    rsps.post(
        f"{WIRE}/app/installations/4242/access_tokens",
        status=201,
        json=gp.access_token(token, expires_at=expires_at),
        match=[matchers.header_matcher({"Authorization": JWT}), body_is({"permissions": {}})],
    )


def _iso_in(seconds: float) -> str:
    return datetime.fromtimestamp(time.time() + seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_app_signs_its_jwt_with_the_key_for_get_app_and_the_token(
    rsps: responses.RequestsMock, app_key: str
) -> None:
    apps = AppInstallations(31337, app_key, throttle=False)
    rsps.get(
        f"{WIRE}/app",
        json=gp.app("model-review"),
        match=[matchers.header_matcher({"Authorization": JWT})],
    )
    _token_call(rsps, "ghs_one", _iso_in(3600))
    rsps.get(f"{R}/pulls/7", json=gp.pull(7), match=_as_installation("ghs_one"))

    apps.repo(4242, REPO).pull_request(7, with_commits=False, with_files=False)

    app_call, token_call = rsps.calls[0], rsps.calls[1]
    for call in (app_call, token_call):
        claims = _public_claims(str(call.request.headers["Authorization"]), app_key)
        assert claims["iss"] == "31337"
        assert 0 < claims["exp"] - claims["iat"] <= 600  # GitHub refuses JWTs over 10 min
    assert "/app/installations/4242/access_tokens" in str(token_call.request.url)


def test_installation_token_is_requested_once_and_reused_across_repos(
    rsps: responses.RequestsMock, app_key: str
) -> None:
    apps = AppInstallations(31337, app_key, throttle=False, bot_login="model-review[bot]")
    _token_call(rsps, "ghs_shared", _iso_in(3600))
    for number in (7, 8):
        rsps.get(f"{R}/pulls/{number}", json=gp.pull(number), match=_as_installation("ghs_shared"))
    other = f"{WIRE}/repos/acme/other/pulls/9"
    rsps.get(other, json=gp.pull(9, repo="acme/other"), match=_as_installation("ghs_shared"))

    apps.repo(4242, REPO).pull_request(7, with_commits=False, with_files=False)
    apps.repo(4242, REPO).pull_request(8, with_commits=False, with_files=False)
    apps.repo(4242, "acme/other").pull_request(9, with_commits=False, with_files=False)

    tokens = [c for c in rsps.calls if "access_tokens" in str(c.request.url)]
    assert len(tokens) == 1
    assert apps.installation_auth(4242) is apps.installation_auth(4242)


def test_installation_token_is_renewed_when_it_expires(
    rsps: responses.RequestsMock, app_key: str
) -> None:
    apps = AppInstallations(31337, app_key, throttle=False, bot_login="model-review[bot]")
    _token_call(rsps, "ghs_old", _iso_in(5))  # inside PyGithub's 20 s renewal margin
    _token_call(rsps, "ghs_new", _iso_in(3600))
    rsps.get(f"{R}/pulls/7", json=gp.pull(7), match=_as_installation("ghs_old"))
    rsps.get(f"{R}/pulls/8", json=gp.pull(8), match=_as_installation("ghs_new"))
    rsps.get(f"{R}/pulls/9", json=gp.pull(9), match=_as_installation("ghs_new"))

    repo = apps.repo(4242, REPO)
    for number in (7, 8, 9):
        repo.pull_request(number, with_commits=False, with_files=False)

    tokens = [c for c in rsps.calls if "access_tokens" in str(c.request.url)]
    assert len(tokens) == 2  # the old one once, its replacement once, then reused


def test_cached_installation_auth_expires_after_cache_seconds(app_key: str) -> None:
    now = [1000.0]
    apps = AppInstallations(
        31337, app_key, throttle=False, cache_seconds=60.0, clock=lambda: now[0]
    )
    first = apps.installation_auth(4242)
    now[0] += 59.0
    assert apps.installation_auth(4242) is first
    other = apps.installation_auth(77)
    now[0] += 1.0
    renewed = apps.installation_auth(4242)
    assert renewed is not first
    assert renewed.installation_id == 4242
    assert apps.installation_auth(77) is other  # cached 1 s later, so still alive


# --- pacing ------------------------------------------------------------------


def test_writes_go_through_the_write_pacer_and_reads_do_not(
    rsps: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.githost import client as githost

    pacers: list[object] = []
    sent_before_each_wait: list[list[str]] = []

    class Recorder:
        def __init__(self) -> None:
            pacers.append(self)

        def wait(self) -> float:
            sent_before_each_wait.append([str(c.request.method) for c in rsps.calls])
            return 0.0

    monkeypatch.setattr(githost, "WritePacer", Recorder)
    sha = "a" * 40
    rsps.get(f"{R}/commits/{sha}/status", json=gp.combined_status(sha, []))
    rsps.get(f"{R}/pulls/7", json=gp.pull(7))
    rsps.post(f"{R}/statuses/{sha}", status=201, json=gp.commit_status(sha, "pending", "x", "m"))
    rsps.post(f"{R}/issues/7/comments", status=201, json=gp.issue_comment(1, "hi", "bot"))

    production = GitHubRepo(REPO, "s3cret")  # throttle=True, as the entry points build it
    assert production.current_status(sha, "m") is None
    production.pull_request(7, with_commits=False, with_files=False)
    production.set_status(sha, GateState.PENDING, "x", "m", None)
    production.create_comment(7, "hi")
    GitHubRepo(REPO, "s3cret", throttle=False)  # the tests' way: no pacer at all

    assert len(pacers) == 1
    assert sent_before_each_wait == [["GET", "GET"], ["GET", "GET", "POST"]]


# --- people: permission and team membership (issue #11) -------------------------------


@pytest.mark.parametrize(
    ("role", "status", "expected"),
    [("admin", 200, "admin"), ("maintain", 200, "maintain"), ("triage", 200, "triage"),
     ("read", 200, "read"), ("none", 200, "none"), ("write", 404, "none")],
)  # fmt: skip
def test_permission_reads_the_role_and_a_missing_user_is_none(
    rsps: responses.RequestsMock, gh: GitHubRepo, role: str, status: int, expected: str
) -> None:
    answer = gp.collaborator_permission("alice", role) if status == 200 else gp.error("Not Found")
    rsps.add("GET", f"{R}/collaborators/alice/permission", json=answer, status=status)
    assert gh.permission("alice") == expected


@pytest.mark.parametrize(
    ("answer", "status", "expected"),
    [("active", 200, True), ("pending", 200, False), (None, 404, False), (None, 403, None)],
)
def test_team_membership_with_an_org_token(
    rsps: responses.RequestsMock, answer: str | None, status: int, expected: bool | None
) -> None:
    gh = GitHubRepo(REPO, "ghs_repo", throttle=False, org_token="ghp_org")
    body = gp.team_membership("acme", "ml-leads", "dan", answer) if answer else gp.error("No")
    rsps.add(
        "GET",
        f"{WIRE}/orgs/acme/teams/ml-leads/memberships/dan",
        json=body,
        status=status,
        match=[matchers.header_matcher({"Authorization": "token ghp_org"})],
    )
    assert gh.team_membership("acme/ml-leads", "dan") is expected


def test_team_membership_without_a_token_that_reads_teams_asks_nobody(
    rsps: responses.RequestsMock, gh: GitHubRepo
) -> None:
    assert gh.team_membership("acme/ml-leads", "dan") is None
    assert len(rsps.calls) == 0


# --- check runs (the App) ------------------------------------------------------------------


def test_check_runs_are_the_app_s_own_created_once_then_updated_in_place() -> None:
    """Against the simulator, so every request and answer is held to GitHub's API
    description: the bot's run is found by its App (another App's run of the same name
    is not its), created once, then PATCHed; the summary is cut to 65,535 characters."""
    from bot.domain import CheckRun
    from tests.github_sim import GitHubSim

    sim = GitHubSim(bot_login="model-review[bot]")
    sha, url = "a" * 40, "https://github.com/acme/models/pull/7#issuecomment-1"
    with sim.mocked():
        gh = GitHubRepo(sim.repo, "ghs_x", throttle=False, bot_login="model-review[bot]")
        sim.check_app = "forger"
        forged = CheckRun(0, "completed", "success", "all good", "trust me", None)
        gh.write_check_run(sha, "model-review", forged)
        sim.check_app = "model-review"
        assert gh.check_run(sha, "model-review") is None  # the forger's is not the bot's
        started = gh.write_check_run(
            sha, "model-review", CheckRun(0, "in_progress", None, "Reviewing", "…", url)
        )
        done = CheckRun(
            started.check_id, "completed", "action_required", "waiting", "x" * 70_000, url
        )
        gh.write_check_run(sha, "model-review", done)
        found = gh.check_run(sha, "model-review")
    assert found is not None and found.check_id == started.check_id
    assert (found.status, found.conclusion, found.details_url) == (
        "completed",
        "action_required",
        url,
    )
    assert len(found.summary) == 65_535 and found.summary.endswith("…")
    assert len(sim.check_runs) == 2  # the forger's and the bot's one
    assert sim.writes == [
        "check created completed",
        "check created in_progress",
        "check action_required",
    ]
