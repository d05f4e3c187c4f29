"""The contract with GitHub's own API description (tests/github_contract.py).

The simulator holds every request it serves and every answer it gives against
`@octokit/openapi` (api.github.com and the oldest GHES it ships), and the webhook
payloads the tests build against `@octokit/webhooks-schemas`. These tests show that
the checks bite: an undocumented field, query parameter or path fails, an answer that
breaks its schema fails, and under CI a missing description fails loudly.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import responses

from bot.errors import GitHubError
from bot.githost.client import GitHubRepo
from tests import github_contract as gc
from tests import github_payloads as gp
from tests.github_sim import GitHubSim

pytestmark = pytest.mark.skipif(
    not gc.installed() and not gc.in_ci(), reason=gc.INSTALL + "; the contract is unchecked"
)
SHA = "a" * 40
FIXTURES = Path(__file__).parent / "fixtures" / "github"


@pytest.fixture
def sim() -> GitHubSim:
    return GitHubSim()


def served(sim: GitHubSim) -> responses.RequestsMock:
    """`responses` with the simulator, without its final check (the test asserts)."""
    rsps = responses.RequestsMock(assert_all_requests_are_fired=False)
    sim.install(rsps)
    return rsps


def test_an_undocumented_field_in_a_body_is_refused(sim: GitHubSim) -> None:
    """GitHub ignores a field it does not know: a misspelt `force` would move the
    assets branch with GitHub's default and pass every test that checks only what the
    bot sent. The contract refuses it (422) before it reaches the simulator's state."""
    gh = GitHubRepo(sim.repo, "ghs_test", throttle=False)
    with served(sim):
        tip = gh.commit_files("model-review-assets", {"a.png": b"a"}, "plots")
        with pytest.raises(GitHubError) as caught, gh._calling("moving a branch", ""):
            gh._send("PATCH", "git/refs/heads/model-review-assets", {"sha": tip, "forse": False})
    assert caught.value.status == 422
    assert sim.off_contract == [
        "api.github.com: PATCH /repos/{owner}/{repo}/git/refs/{ref} body: "
        "undocumented field 'forse'",
        "ghes-3.17: PATCH /repos/{owner}/{repo}/git/refs/{ref} body: undocumented field 'forse'",
    ]
    with pytest.raises(AssertionError, match="undocumented field 'forse'"):
        sim.check()


def test_a_body_off_the_schema_an_undocumented_query_and_path_are_refused(
    sim: GitHubSim,
) -> None:
    problems = [
        sim.handle("POST", "/repos/acme/models/git/refs", b'{"ref": "refs/heads/x", "sha": 7}'),
        sim.handle("POST", "/repos/acme/models/git/blobs", b'{"encoding": "base64"}'),
        sim.handle("GET", "/repos/acme/models/pulls/7/reviews?per_page=100&sort=new", b""),
        sim.handle("GET", "/repos/acme/models/pulls/7?draft=maybe", b""),
    ]
    assert [status for status, _, _ in problems] == [422, 422, 422, 422]
    text = "\n".join(sim.off_contract)
    assert "7 is not of type 'string' at ['sha']" in text
    assert "'content' is a required property" in text
    assert "undocumented query parameter 'sort'" in text
    assert "undocumented query parameter 'draft'" in text
    contract = gc.contract()
    assert contract is not None
    assert contract.request("GET", "/repos/acme/models/pulls/7/approve", {}, None) == [
        "api.github.com: GET /repos/acme/models/pulls/7/approve is not a documented operation",
        "ghes-3.17: GET /repos/acme/models/pulls/7/approve is not a documented operation",
    ]


def test_what_ghes_lacks_is_refused_even_when_api_github_com_has_it() -> None:
    contract = gc.contract()
    assert contract is not None
    path = "/repos/acme/models/actions/concurrency_groups"
    assert contract.request("GET", path, {}, None) == [
        f"ghes-3.17: GET {path} is not a documented operation"
    ]


def test_an_answer_of_the_simulator_that_breaks_its_schema_is_caught(sim: GitHubSim) -> None:
    broken = sim.pull_json()
    del broken["head"]
    assert gc.dotcom() is not None
    problems = gc.dotcom().check_response("GET", "/repos/acme/models/pulls/7", 200, broken)  # type: ignore[union-attr]
    assert problems == [
        "api.github.com: GET /repos/{owner}/{repo}/pulls/{pull_number} -> 200: "
        "'head' is a required property at []"
    ]
    status, answer, _ = sim.handle("GET", "/repos/acme/models/pulls/7", b"")
    assert status == 200 and answer["head"]["sha"] == SHA and sim.off_contract == []


SAMPLES = {
    "N": "7", "SHA": SHA, "PATH": "a/b.yml", "BRANCH": "x", "U": "bob", "O": "acme",
    "T": "ml", "BASE...HEAD": f"{'b' * 40}...{SHA}", "I": "1",
}  # fmt: skip
TOP_LEVEL = {"orgs", "app"}  # the routes named from the API's root (the App's own)


def test_every_route_of_the_simulator_is_documented_on_both(sim: GitHubSim) -> None:
    contract = gc.contract()
    assert contract is not None
    for method, pattern, name, _, _ in sim._routes:
        parts = [SAMPLES.get(part, part) for part in name.split("/")]
        top = name.split("/")[0] in TOP_LEVEL  # not under /repos/OWNER/NAME
        path = "/" + "/".join(parts) if top else "/repos/acme/models"
        if not top and name != "repos/R":
            path += "/" + "/".join(parts)
        assert pattern.fullmatch(path), (name, path)
        for description in contract.descriptions:
            template = description.template(path)
            assert template is not None, (description.name, method, path)
            assert method.lower() in description.doc["paths"][template], (method, template)


def test_the_webhook_payloads_the_tests_use_follow_the_schemas() -> None:
    for path in sorted(FIXTURES.glob("*/*.json")):
        payload = json.loads(path.read_text())
        assert gc.webhook_problems(path.parent.name, payload) == [], path
    built = gp.webhook("pull_request", "opened")
    built["pull_request"] = gp.pull(7, body=None)
    assert gc.webhook_problems("pull_request", built) == []
    del built["pull_request"]["head"]
    assert gc.webhook_problems("pull_request", built)


def test_without_the_description_ci_fails_loudly_and_a_laptop_skips(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(gc, "OCTOKIT", tmp_path)
    load = gc._description.__wrapped__
    monkeypatch.setenv("CI", "true")
    with pytest.raises(gc.ContractMissing, match=r"npm install --prefix \.ci/node"):
        load(gc.DOTCOM)
    monkeypatch.setenv("CI", "")
    assert load(gc.DOTCOM) is None and not gc.installed()
