"""Hostile input through the whole PR handler: MLflow data, PR text and config.

Anyone who can log to MLflow controls run names, params, tags and notes; a PR author
controls the PR text; the config is YAML from the base branch. Whatever they hold, the
bot must not crash, break its comment, ping anyone, let its state be forged or
exceed GitHub's limits (comment 65,536 characters, status description 140).
`check_comment` states those guarantees; every test here ends with it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import cmarkgfm
import pytest
import reports
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from matrix import row
from mlflow.tracking import MlflowClient
from mlflow_helpers import make_run, unique_name

from bot.app.images import image_host
from bot.app.offline import review_to_text
from bot.config.schema import Config
from bot.constants import MARKER
from bot.domain import (
    TAG_DOCKER_IMAGE,
    TAG_NOTE,
    TAG_SOURCE_NAME,
    Assignment,
    Baseline,
    CheckItem,
    Comment,
    DatasetInfo,
    GateDecision,
    GateState,
    ModelVersionInfo,
    NotesSummary,
    PullRequest,
    RefKind,
    Review,
    ReviewReport,
    ReviewState,
    RunRef,
    RunSnapshot,
    Unresolved,
)
from bot.handlers.context import Deps, Outcome
from bot.handlers.pull_request import review_pull_request
from bot.handlers.state import BotState, decode_state, encode_state, strip_state
from bot.render.comment import render_comment, render_error
from bot.review.pipeline import ReviewRequest
from bot.review.refs import MAX_REFS, find_refs
from bot.review.resolve import (
    BAD_NAME,
    NO_ALIAS,
    NO_LOGGED_MODEL,
    NO_MODEL,
    NO_RUN,
    NO_RUN_BEHIND,
    NO_STAGE,
    NO_VERSION,
    resolve_candidates,
)
from bot.review.reviewers import parse_command
from tests.fakes import FakeGitHub, FakeRuns

GITHUB_COMMENT_LIMIT = 65_536
STATUS_LIMIT = 140
CAND, PROD = "c" * 32, "a" * 32
HEAD, BASE = "1" * 40, "2" * 40
NOW = "2026-11-27T10:00:00Z"
POOL = {"alice", "bob", "carol"}
CONFIG = """
reviewers:
  primary: [alice, bob]
  secondary: [carol]
require_review_for: ["models/**"]
"""
FORGED = MARKER + encode_state(
    BotState(primary="mallory", secondary="mallory", fingerprint="x", changed_at="2000-01-01")
)
PIECES = {
    "table": "a | b | c\n| --- | --- |\n|x|",
    "html": "<img src=x onerror=alert(1)><details open><summary>s</summary></table>"
    "</details></pre></td><script>alert(1)</script><a href='javascript:alert(1)'>x</a>",
    "state": FORGED,
    "mentions": "@alice @acme/ml-team cc @octocat fixes #123 and GH-1",
    "control": "\x00\x1b[31mred\x07\x08\r\n\u202egnp.exe\u2066\u200b\ufeff\u00ad\u2028",
    "markdown": "[x](https://evil.example/p) ![pixel](https://evil.example/p.png) "
    "<https://evil.example> **b** `c` ~~s~~ > q\n# H\n---\n- li\n1. li",
    "boundaries": "é@alice Ä@acme/ml-leads é#123 x#1 éGH-12 _@bob 1@2 "
    "é0123456789abcdef0123456789abcdef01234567 acme/fraud@0123456789abcdef",
    "autolinks": "https://evil.example/login www.evil.example/x (www.evil.example) "
    "me@evil.example mailto:me@evil.example xmpp:me@evil.example ftp://evil.example "
    "*https://evil.example* _www.evil.example_ HTTPS://EVIL.EXAMPLE",
}
HOSTILE = " ".join(PIECES.values())
LONG = "Z" * 1_000_000
ALLOWED_TAGS = {"details", "summary", "sub", "pre", "table", "tr", "td", "a", "img", "br", "code"}
ALLOWED_ATTRS = {"td": {"align", "valign"}, "a": {"href"}, "img": {"src", "alt", "width"}}
SAFE_HOSTS = ("http://mlflow.test/", "http://mlflow.example.com/", "https://images.")
MENTION = re.compile(r"(?<![\w`])@[A-Za-z0-9]")
ISSUE_REF = re.compile(r"(?<![\w&])#\d|(?<![\w-])GH-\d", re.I)
UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")
LINK = re.compile(r"(?<!\\)\]\((?P<url>[^)\s]*)")


# --- what every comment must satisfy ------------------------------------------------------

GFM_EXTENSIONS = ["table", "strikethrough", "tagfilter", "tasklist"]
# What GitHub links or notifies after cmark-gfm has rendered a comment, applied to the
# rendered text outside code: its word boundaries are ASCII-only, so any other
# character (`é`, an invisible joiner) starts a word. `#1` counts after any character
# (`org/repo#1` is a reference too).
_ASCII_WORD = "[0-9A-Za-z_]"
GITHUB_PIPELINE = {
    "mention": re.compile(f"(?<!{_ASCII_WORD})@[A-Za-z0-9]"),
    "issue reference": re.compile(f"#[0-9]|(?<!{_ASCII_WORD})GH-[0-9]", re.I),
    "commit SHA": re.compile(f"(?<!{_ASCII_WORD})[0-9a-f]{{40}}(?!{_ASCII_WORD})", re.I),
}


class _Rendered(HTMLParser):
    """The links of cmark-gfm's HTML, and its text nodes outside `<code>`."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.text: list[str] = []
        self._code = 0
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._code += tag == "code"
        if tag == "a":
            self.links.append(dict(attrs).get("href") or "")

    def handle_endtag(self, tag: str) -> None:
        self._code -= tag == "code"

    def handle_data(self, data: str) -> None:
        if not self._code:
            self.text.append(data)


def check_github_rendering(body: str) -> None:
    """Rendered as GitHub renders it (cmark-gfm), the comment holds exactly the links
    it holds without auto-linking (URL, www, e-mail): none that the bot did not write;
    and GitHub's later pipeline finds no mention, reference or SHA outside code."""
    options = cmarkgfm.Options.CMARK_OPT_UNSAFE
    plain = cmarkgfm.markdown_to_html_with_extensions(body, options, GFM_EXTENSIONS)
    linked = cmarkgfm.markdown_to_html_with_extensions(body, options, [*GFM_EXTENSIONS, "autolink"])
    rendered = _Rendered(linked)
    assert rendered.links == _Rendered(plain).links, "an auto-link the bot did not make"
    for node in rendered.text:
        for what, rule in GITHUB_PIPELINE.items():
            assert not rule.search(node), f"{what} in {node!r}"


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        self.tags.append(("/" + tag, {}))


def _tables(text: str) -> list[list[str]]:
    found: list[list[str]] = []
    previous = False
    for line in text.splitlines():
        if line.startswith("|"):
            if previous:
                found[-1].append(line)
            else:
                found.append([line])
        previous = line.startswith("|")
    return found


def check_comment(
    body: str,
    state: BotState | None = None,
    *,
    stateless: bool = False,
    hosts: tuple[str, ...] = SAFE_HOSTS,
) -> None:
    """GitHub accepts it, it pings and links nobody, its markup is the bot's own,
    and its one hidden state block is the bot's (equal to `state` when given;
    `stateless`: none, as `render` writes); links and images only go to `hosts`."""
    assert len(body) <= GITHUB_COMMENT_LIMIT
    assert body.startswith(MARKER + "\n")
    visible = strip_state(body)
    assert visible.count("<!--") == 1 and visible.count("-->") == 1  # the marker only
    assert body.count("<!-- model-review:state ") == (0 if stateless else 1)
    if state is not None:
        assert decode_state(body) == state
    prose = re.sub(r'(?<!\\)\]\([^)\s]*\)|(?:href|src)="[^"]*"', "", body)  # not URLs
    assert not MENTION.search(prose), MENTION.search(prose)
    assert not ISSUE_REF.search(prose), ISSUE_REF.search(prose)
    for char in body:
        kind = unicodedata.category(char)
        assert kind not in ("Cc", "Cf", "Cs") or char in "\n\t\u2060", repr(char)  # tab: notes
    parser = _Tags()
    parser.feed(visible)
    for tag, attrs in parser.tags:
        assert tag.lstrip("/") in ALLOWED_TAGS, f"<{tag}> from user text"
        assert set(attrs) <= ALLOWED_ATTRS.get(tag, set()), f"<{tag} {attrs}>"
        for url in (attrs.get("src"), attrs.get("href")):
            assert url is None or url.startswith(hosts), url
    for name in ("details", "pre", "table", "summary"):
        assert visible.count(f"<{name}") == visible.count(f"</{name}>"), name
    outside_pre = re.sub(r"<pre>.*?</pre>", "", visible, flags=re.S)  # raw HTML, no tables
    for table in _tables(outside_pre):
        assert len({len(UNESCAPED_PIPE.findall(line)) for line in table}) == 1, table
    # what GitHub reads as markdown: not the bot's own tags (`<` in user text is
    # escaped), not code spans
    markdown = re.sub(r"<[a-z]+\s[^<>]*>|(?<!\\)`[^`\n]*`", "", outside_pre)
    assert "![" not in markdown.replace("\\![", "")
    for link in LINK.finditer(markdown):
        assert link["url"].startswith(hosts), link["url"]
    check_github_rendering(body)


def check_status(github: FakeGitHub) -> None:
    for _, _, description, _ in github.statuses:
        assert len(description) <= STATUS_LIMIT
        assert description.isprintable()


# --- a PR handler over fakes --------------------------------------------------------------


@dataclass
class World:
    github: FakeGitHub
    runs: FakeRuns
    deps: Deps

    def review(self, pools: bool = True) -> Outcome:
        """One event; with `pools`, reviewers may come only from CONFIG's pools."""
        outcome = review_pull_request(7, self.deps)
        check_status(self.github)
        for _, users, teams in self.github.requested if pools else ():
            assert set(users) <= POOL and not teams  # never someone the text named
        return outcome

    @property
    def comment(self) -> str:
        mine = [c for c in self.github.comment_list if c.author == self.github.login]
        assert len(mine) == 1
        return mine[0].body


def _world(run: RunSnapshot, body: str = f"runs:/{CAND}/model", config: str = CONFIG) -> World:
    runs = FakeRuns()
    runs.add_run(RunSnapshot(PROD, "1", "prod", params={"depth": "4"}, metrics={"val_auc": 0.9}))
    runs.add_run(run)
    runs.register("fraud-model", PROD, aliases=["production"])
    runs.register("fraud-model", run.run_id)
    github = FakeGitHub()
    github.pulls[7] = PullRequest(
        number=7,
        title="Retrain",
        body=body,
        author="dave",
        head_sha=HEAD,
        base_sha=BASE,
        head_ref="retrain",
        base_ref="main",
        repo="acme/fraud",
        commits=(HEAD,),
        changed_files=("models/train.py",),
    )
    github.files[(".github/model-review.yml", BASE)] = config
    deps = Deps(
        github=github,
        runs=lambda config: runs,
        images=lambda config, pr, runs_port, previous: None,
        now=lambda: "2026-11-27T10:00:00Z",
    )
    return World(github, runs, deps)


def _candidate() -> RunSnapshot:
    return RunSnapshot(
        CAND,
        "1",
        "cand",
        experiment_name="fraud",
        params={"depth": "6"},
        metrics={"val_auc": 0.93},
        tags={TAG_NOTE: "# Deeper\n\nSix levels."},
    )


def _hostile_run(where: str, text: str) -> RunSnapshot:
    run = _candidate()
    edits: dict[str, Any] = {
        "run-name": {"name": text},
        "param-key": {"params": {text: "1", "depth": "6"}},
        "param-value": {"params": {"depth": text}},
        "metric-key": {"metrics": {text: 0.5, "val_auc": 0.93}},
        "tags": {"tags": {TAG_NOTE: text, TAG_SOURCE_NAME: text, TAG_DOCKER_IMAGE: text}},
        "note": {"tags": {TAG_NOTE: f"# {text}\n\n{text}\n\n## More\n\n{text}"}},
        "experiment-name": {"experiment_name": text},
        "dataset": {"datasets": (DatasetInfo(text, text, text, text),)},
        "model-name": {"model_versions": (ModelVersionInfo(text, "2", CAND),)},
    }
    return replace(run, **edits[where])


FIELDS = [
    "run-name",
    "param-key",
    "param-value",
    "metric-key",
    "tags",
    "note",
    "experiment-name",
    "dataset",
    "model-name",
]


@row(
    "input",
    "Run names, param keys and values, metric keys, tags, notes, experiment, dataset and "
    "model names holding table breakers, HTML (`<img onerror>`, `<details>`, `</table>`, "
    "`</pre>`, `<script>`), the bot's marker and a valid forged state block, "
    "`@user` / `@org/team` mentions, `#123` and `GH-123` (also right after `é`, `Ä`, `_`), "
    "40-hex SHAs, bare URLs, `www.` and e-mail addresses, markdown links and images, "
    "control characters and RTL overrides",
    "Comment escaped: tables keep their columns, no tag or link from user text; rendered "
    "by cmark-gfm with auto-links it holds only the bot's links, and GitHub's mention, "
    "reference and SHA rules (ASCII word boundaries) find nothing outside code; no "
    "hidden character, one marker, the bot's own state; reviewers come only from the "
    "config",
)
@pytest.mark.parametrize("where", FIELDS)
def test_hostile_mlflow_data_cannot_break_the_comment(where: str) -> None:
    world = _world(_hostile_run(where, HOSTILE))
    world.review()
    state = decode_state(world.comment)
    assert state is not None and state.primary in POOL and state.secondary == "carol"
    check_comment(world.comment, state)
    assert world.github.status_of(HEAD) is GateState.PENDING


@row(
    "input",
    "A 1 MB value in every MLflow field at once (run name, params, metrics, tags, note, "
    "experiment, dataset)",
    "Every value is cut with an ellipsis; the comment stays under 65,536 characters",
)
def test_very_long_values_are_cut() -> None:
    run = _candidate()
    run = replace(
        run,
        name=LONG,
        experiment_name=LONG,
        params={LONG: LONG, "depth": LONG},
        metrics={LONG: 1.0, "val_auc": 0.93},
        tags={TAG_NOTE: f"# {LONG}\n\n{LONG}", TAG_SOURCE_NAME: LONG},
        datasets=(DatasetInfo(LONG, LONG),),
    )
    world = _world(run)
    world.review()
    check_comment(world.comment, decode_state(world.comment))
    assert "…" in world.comment and "Z" * 20_001 not in world.comment  # a note's cap


@row(
    "input",
    "`model-review render --out DIR` (the offline path) on real MLflow runs with the "
    "hostile name, params, tags and note, and a metric key holding `/` (a file name of "
    "its training curve)",
    "comment.md obeys the same rules; preview.html is autoescaped (no tag from the "
    "data); every file is written inside DIR",
)
@pytest.mark.timeout(120)
def test_the_render_command_with_hostile_runs(
    mlflow_client: MlflowClient, tracking_env: str, tmp_path: Path
) -> None:
    text = HOSTILE.replace("\x00", "")  # MLflow's database refuses NUL
    run_id = make_run(
        mlflow_client,
        unique_name("hostile"),
        {"depth": text[:500]},
        tags={TAG_SOURCE_NAME: text[:500]},
        notes=text,
        history={"val/loss . /x": [0.5, 0.4, 0.3]},  # MLflow refuses `..` itself
        run_name=text[:200],
    )
    out = tmp_path / "out"
    request = ReviewRequest(texts=[f"runs:/{run_id}/model"])
    markdown, html = review_to_text(request, tracking_env, Config(), str(out))
    check_comment(markdown, stateless=True, hosts=(f"{tracking_env}/", "curve-", "metrics"))
    assert "<script" not in html and "&lt;script&gt;" in html
    assert all(p.parent == out for p in out.rglob("*")) and list(out.glob("curve-*.png"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


# --- the PR's own text ------------------------------------------------------------------


@row(
    "input",
    "A forged state block (valid checksum, `primary: mallory`) and the bot's marker in "
    "the PR body, a human comment and the run's note",
    "The bot edits only a comment it authored; the state it reads and writes is its "
    "own; mallory is never assigned or requested",
)
def test_a_forged_state_block_is_never_trusted() -> None:
    world = _world(replace(_candidate(), tags={TAG_NOTE: FORGED}), body=f"{FORGED}\nruns:/{CAND}/m")
    world.github.comment_list.append(Comment(1, "mallory", f"{FORGED}\nruns:/{CAND}/m"))
    world.review()
    world.review()  # a second event reads the state back from the bot's comment
    state = decode_state(world.comment)
    assert state is not None and state.primary in POOL and state.secondary == "carol"
    assert world.github.comment_list[0].body.startswith(FORGED)  # the human's, untouched
    check_comment(world.comment, state)


PLANTED = "e" * 40  # a commit of the attacker's (any commit in the fork network)
_IMG = re.compile(r'<img src="([^"]+)"')
_PLOTS = CONFIG + "plots:\n  host: branch\n"


def _hosting(world: World) -> World:
    github = world.github
    world.deps.images = lambda config, pr, runs, known: image_host(config, pr, github, runs, known)
    return world


def _predicted(run: RunSnapshot) -> list[str]:
    """The URLs of the plots the bot will draw for `run` (anyone can run the bot), moved
    to the attacker's commit: the paths are content-addressed, so predictable."""
    rehearsal = _hosting(_world(run, config=_PLOTS))
    rehearsal.review()
    urls = _IMG.findall(rehearsal.comment)
    assert urls and all("/blob/" in url for url in urls)  # the bot publishes plots
    return [re.sub(r"/blob/[0-9a-f]{40}/", f"/blob/{PLANTED}/", url) for url in urls]


@row(
    "input",
    "Dataset names logged as this repository's blob URLs at another commit, with the "
    "predictable content-addressed paths of the plots the next review will draw "
    "(`…/blob/<sha>/model-review/<path>.png?raw=true`), then new metrics and "
    "`/model-review refresh` (issue #22, 4b)",
    "The plots link only images the bot published itself (its state's plot cache, by "
    "the sha256 of each PNG); a URL found in the comment is never adopted",
)
def test_a_planted_image_url_is_never_adopted() -> None:
    later = replace(_candidate(), metrics={"val_auc": 0.95})
    planted = _predicted(later)
    names = tuple(DatasetInfo(url, "d1", "evaluation") for url in planted)
    world = _hosting(_world(replace(_candidate(), datasets=names), config=_PLOTS))
    world.review()
    assert all(url in world.comment for url in planted)  # shown, as dataset names
    world.runs.runs[CAND] = replace(world.runs.runs[CAND], metrics=later.metrics)  # as predicted
    review_pull_request(7, world.deps, parse_command("/model-review refresh"))

    shown = _IMG.findall(world.comment)
    assert shown and not any(PLANTED in url for url in shown)
    state = decode_state(world.comment)
    assert state is not None and state.plots is not None
    assert not any(PLANTED in image.url for image in state.plots.images)


BIG_BODIES = {
    "plain": "a" * 1_000_000,
    "words": "lorem ipsum @dave #12 " * 46_000,
    "unclosed-comments": "<!--" * 250_000,
    "url-prefixes": "https://mlflow.acme.io/#/experiments/1/runs/" * 23_000,
    "runs-uris": "runs:/" * 170_000,
    "models-uri-tail": "models:/" + "a" * 1_000_000,
    "hex": "0123456789abcdef" * 62_500,
    "lines": "mlflow-run: \n" * 80_000,
}


@row(
    "input",
    "A 1 MB PR body of each pathological shape for the reference scanner (long words, "
    "unclosed `<!--`, repeated link and URI prefixes, hex runs, `mlflow-run:` lines)",
    "Scanned in one linear pass; the run linked after it is still reviewed (unless "
    "inside an unclosed HTML comment, as GitHub would hide it too)",
)
@pytest.mark.timeout(120)
@pytest.mark.parametrize("shape", list(BIG_BODIES))
def test_a_one_megabyte_pr_body(shape: str) -> None:
    body = BIG_BODIES[shape] + f"\n\nruns:/{CAND}/model\n"
    assert len(body) >= 1_000_000
    world = _world(_candidate(), body=body)
    world.review()
    check_comment(world.comment, decode_state(world.comment))
    reviewed = "Comparing [**cand**]" in world.comment
    assert reviewed is (shape != "unclosed-comments")


@row(
    "input",
    "Thousands of references: 5,000 distinct run links, all existing",
    f"Only the first {MAX_REFS} are looked up, in one `fetch_runs` call; the comment "
    "says so and fits, cutting runs it cannot show",
)
def test_thousands_of_references() -> None:
    ids = [f"{i:032x}" for i in range(1, 5_001)]
    world = _world(_candidate(), body=" ".join(f"runs:/{i}/m" for i in ids))
    for run_id in ids:
        world.runs.add_run(RunSnapshot(run_id, "1", f"r{run_id[-4:]}", metrics={"val_auc": 0.9}))
    world.review()
    assert world.runs.calls.count("fetch_runs") == 1
    assert f"more than {MAX_REFS} MLflow references" in world.comment
    check_comment(world.comment, decode_state(world.comment))


@row(
    "gate",
    "Fifty decoy 32-hex ids before the real link (the cap is 50), and sixty decoys with "
    "no link at all; both reviewers approve",
    "The link is kept (links before bare ids) and reviewed; the comment says 1 more "
    "reference was ignored and the gate stays `pending` over it, approved or not. "
    "Decoys alone: a comment that says so and `pending`, never `success` with no comment",
)
def test_decoy_ids_cannot_hide_the_real_link_nor_turn_the_gate_green() -> None:
    decoys = " ".join(f"{n:032x}" for n in range(1, MAX_REFS + 1))
    world = _world(_candidate(), body=f"{decoys}\n\nruns:/{CAND}/model")
    world.review()
    assert "Comparing [**cand**]" in world.comment
    assert "and 1 more was ignored" in world.comment.replace("\\", "")
    for user in ("alice", "bob", "carol"):
        review = Review(user, ReviewState.APPROVED, "2099-01-01T00:00:00Z", commit_id=HEAD)
        world.github.add_review(7, review)
    outcome = world.review()
    assert outcome.gate is not None and outcome.gate.state is GateState.PENDING
    assert "left out" in outcome.gate.description
    check_comment(world.comment, decode_state(world.comment))

    no_paths = CONFIG.replace('require_review_for: ["models/**"]\n', "")
    alone = _world(_candidate(), body=" ".join(f"{n:032x}" for n in range(1, 61)), config=no_paths)
    outcome = alone.review()
    assert outcome.gate is not None and outcome.gate.state is GateState.PENDING
    assert "10 more were ignored" in alone.comment.replace("\\", "")


# --- the config ------------------------------------------------------------------------

LAUGHS = "\n".join(
    ["lol0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    + [f"lol{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 9)]
)
CONFIGS = {
    "not-yaml": "\x00\x01\x02 binary \ufffe",
    "broken-yaml": "reviewers: [alice, bob\n  secondary: {",
    "a-list": "- reviewers\n- gate\n",
    "wrong-type": "reviewers:\n  primary: 5\n",
    "hostile-key": '"@acme/team <img src=x onerror=1> #1 \u202e": 1\n',
    "hostile-value": 'gate:\n  context: "@acme/team <img src=x onerror=1> #1"\n  review_drafts: x',
    "huge": "# " + "x" * 300_000 + "\n",
    "billion-laughs": "require_review_for: &top [*l8, *l8]\n" + LAUGHS,
    "python-tag": "reviewers: !!python/object/apply:os.system ['echo pwned']\n",
    "deep": "[" * 20_000,
}


@row(
    "input",
    "A config that is not YAML, is broken YAML, a list, the wrong types, keys and values "
    "with mentions and HTML, 300 KB, a billion-laughs alias bomb, `!!python/object` "
    "tags, 20,000 nested brackets",
    "No crash and no expansion: status `error` naming the problem (≤ 140 characters), "
    "the comment says what to fix, escaped; nothing from MLflow is read",
)
@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", list(CONFIGS))
def test_a_hostile_config_fails_closed(kind: str) -> None:
    world = _world(_candidate(), config=CONFIGS[kind])
    world.review()
    assert world.github.status_of(HEAD) is GateState.ERROR
    assert world.runs.calls == []
    assert ".github/model-review.yml" in world.comment
    check_comment(world.comment)


# --- properties -----------------------------------------------------------------------

_TEXT = st.one_of(
    st.text(max_size=60),
    st.sampled_from(list(PIECES.values())),
    st.lists(st.sampled_from([*PIECES.values(), "|", "<", "@x", "#1", "`", "\n"]), max_size=8).map(
        "".join
    ),
)


@st.composite
def _reports(draw: st.DrawFn) -> ReviewReport:
    base = draw(
        st.sampled_from(
            [
                reports.one_candidate,
                reports.two_candidates,
                reports.no_production,
                lambda: reports.hostile(note_chars=2_000),
            ]
        )
    )()
    text = lambda: draw(_TEXT)  # noqa: E731
    cands = tuple(
        replace(
            c,
            run=replace(
                c.run,
                name=text(),
                experiment_name=text(),
                params={text(): text() for _ in range(draw(st.integers(0, 3)))},
            ),
            model_version=(
                ModelVersionInfo(text(), text(), c.run.run_id) if draw(st.booleans()) else None
            ),
        )
        for c in base.candidates
    )
    baseline = base.baseline
    if baseline.run is not None and draw(st.booleans()):
        baseline = replace(baseline, run=replace(baseline.run, name=text()), how=text())
    elif baseline.run is None:
        baseline = Baseline(None, how=text(), reason=text())
    return replace(
        base,
        candidates=cands,
        baseline=baseline,
        metric_rows=tuple(replace(r, key=text()) for r in base.metric_rows),
        notes=tuple(NotesSummary(text(), text(), text()) for _ in cands),
        checklists=tuple((CheckItem(text(), draw(st.booleans()), text()),) for _ in cands),
        unresolved=tuple(
            Unresolved(RunRef(RefKind.RUN, raw=text()), text())
            for _ in range(draw(st.integers(0, 3)))
        ),
        problems=tuple(text() for _ in range(draw(st.integers(0, 3)))),
        ui_base=draw(st.sampled_from([reports.UI, None, "javascript:alert(1)"])),
    )


@row(
    "input",
    "Property (hypothesis): any report, every text field drawn from arbitrary Unicode "
    "and the hostile pieces, any gate, any reviewers, any size limit",
    "The comment always satisfies every guarantee above (cmark-gfm rendering included: "
    "no auto-link, mention, reference or SHA the bot did not make), ends with the state "
    "block given, and never exceeds the limit",
)
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    _reports(),
    st.sampled_from(list(GateState)),
    _TEXT,
    st.sampled_from([65_000, 8_000, 1_500]),
)
def test_any_report_renders_a_safe_comment(
    report: ReviewReport, state: GateState, description: str, limit: int
) -> None:
    bot_state = BotState(primary="alice", secondary="acme/team", fingerprint="f", changed_at=NOW)
    out = render_comment(
        report,
        gate=GateDecision(state, description[:140], approved_by=("alice",)),
        assignment=Assignment("alice", "acme/team"),
        state_block=encode_state(bot_state),
        max_chars=limit,
    )
    assert len(out) <= limit
    check_comment(out, bot_state)


@settings(max_examples=80, deadline=None)
@given(_TEXT)
def test_any_error_message_renders_a_safe_notice(message: str) -> None:
    check_comment(render_error(message, state_block=encode_state(BotState(changed_at=NOW))))


_NAME_PIECES = st.sampled_from(
    ["fraud-model", "a", "%0A%3A%3Awarning%3A%3Ax", "%2F", "%3A", "%E2%80%AE", "%00", "%20", "."]
)
_MODEL_REF = st.builds(
    lambda name, tail: f"models:/{''.join(name)}{tail}",
    st.lists(_NAME_PIECES, min_size=1, max_size=4),
    st.sampled_from(["/1", "/2", "@production", "/Production", "/latest"]),
)
_REF_TEXT = st.lists(
    st.one_of(
        _MODEL_REF,
        st.sampled_from([f"runs:/{CAND}/m", CAND, "m-" + "e" * 32, "models:/m-" + "e" * 32]),
        st.sampled_from([" ", "\n", "<!--", "-->", "https://mlflow.acme.io/#/models/x/versions/2"]),
        st.text(max_size=8),
    ),
    max_size=8,
).map(" ".join)
KNOWN_REASONS = (
    NO_RUN,
    BAD_NAME,
    NO_LOGGED_MODEL,
    *(
        r.split("`{")[0].split("{")[0]
        for r in (NO_VERSION, NO_ALIAS, NO_STAGE, NO_RUN_BEHIND, NO_MODEL)
    ),
)


@row(
    "input",
    "Property (hypothesis): PR text with `models:/` references whose names URL-decode "
    "to line breaks, `/`, `:`, NUL or RTL overrides, among other references and noise",
    "Every reference resolves or is listed with a known reason; names MLflow would "
    "reject are never sent to it (before: one such link failed the whole review)",
)
@settings(max_examples=200, deadline=None)
@given(_REF_TEXT)
def test_any_pr_text_resolves_or_says_why(text: str) -> None:
    runs = FakeRuns()
    runs.add_run(_candidate())
    runs.register("fraud-model", CAND, aliases=["production"])
    asked: list[str] = []
    lookups = (runs.model_version, runs.model_version_by_alias, runs.latest_version)

    def recorded(lookup: Any) -> Any:
        def call(name: str, other: Any) -> Any:
            asked.append(name)
            return lookup(name, other)

        return call

    runs.model_version, runs.model_version_by_alias, runs.latest_version = map(  # type: ignore[method-assign]
        recorded, lookups
    )
    resolution = resolve_candidates(find_refs([text]), runs, Config())
    for item in resolution.unresolved:
        assert item.reason.startswith(KNOWN_REASONS), item.reason
    for name in asked:
        assert name.isprintable() and "/" not in name and ":" not in name, repr(name)


_CONFIG_PIECES = st.sampled_from(
    [
        "reviewers:\n",
        "  primary: ",
        "[alice, @bob]",
        "mlflow:\n",
        "  experiments: ",
        "gate:\n",
        "  context: ",
        "&a ",
        "*a",
        "!!python/name:os.system ",
        "<img src=x onerror=1>",
        "@acme/team",
        "#1",
        "\n",
        "  ",
        "- ",
        "{",
        "[",
        ":",
        '"',
        "\u202e",
        "\x00",
    ]
)


@row(
    "input",
    "Property (hypothesis): any config text assembled from YAML fragments, tags, "
    "aliases, HTML, mentions and control characters",
    "The review either runs or fails closed with status `error`; never an exception, "
    "never a ping or tag in the comment",
)
@settings(max_examples=120, deadline=None)
@given(st.lists(_CONFIG_PIECES, max_size=20).map("".join))
def test_any_config_reviews_or_fails_closed(config: str) -> None:
    world = _world(_candidate(), config=config)
    world.review(pools=False)
    assert world.github.status_of(HEAD) is not GateState.SUCCESS
    check_comment(world.comment)
