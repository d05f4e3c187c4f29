"""Rendering the PR comment and the preview page (bot.render.comment, bot.render.view).

Golden files live in tests/golden/; rewrite them with `pytest --update-golden`
(or UPDATE_GOLDEN=1) after an intended change, and review the diff.
"""

from __future__ import annotations

import html
import itertools
import os
import re
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import reports

from bot.constants import MARKER
from bot.domain import (
    Assignment,
    Change,
    GateDecision,
    GateState,
    HostedImage,
    NotesSummary,
    RefKind,
    RunRef,
    Unresolved,
)
from bot.render import comment as render
from bot.render.view import LADDER, Budget, build_context, reviewer_views, safe_url
from bot.review.notes import summarize_notes

GOLDEN = Path(__file__).parent / "golden"
STATE = '<!-- model-review:state {"version": 1} -->'
MENTION = re.compile(r"(?<![\w`])@[A-Za-z0-9-]+")
UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")
ALLOWED_TAGS = {"details", "summary", "sub", "pre", "table", "tr", "td", "a", "img", "br", "code"}
ALLOWED_ATTRS = {"td": {"align", "valign"}, "a": {"href"}, "img": {"src", "alt", "width"}}
HIDDEN = re.compile("[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def check_golden(name: str, text: str, request: pytest.FixtureRequest) -> None:
    path = GOLDEN / name
    update = os.environ.get("UPDATE_GOLDEN") == "1" or request.config.getoption(
        "--update-golden", default=False
    )
    if update:
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="")
    assert path.exists(), f"{path} is missing: run `pytest --update-golden` to create it"
    assert text == path.read_text(encoding="utf-8"), f"{name} changed: see `--update-golden`"


def tables(text: str) -> list[list[str]]:
    """Markdown tables: runs of consecutive lines that start with `|`."""
    found: list[list[str]] = []
    previous = False
    for line in text.splitlines():
        is_row = line.startswith("|")
        if is_row and previous:
            found[-1].append(line)
        elif is_row:
            found.append([line])
        previous = is_row
    return found


class _Tags(HTMLParser):
    """Every HTML tag of a comment, with its attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        self.tags.append(("/" + tag, {}))


def assert_safe(out: str, state_block: str = "") -> None:
    """No markup, mention or hidden character from user input survives."""
    body = out.replace(state_block, "") if state_block else out
    assert body.startswith(MARKER + "\n")
    assert body.count("<!--") == 1 and body.count("-->") == 1
    assert not MENTION.search(out)
    assert not re.search(r"#\d", out)
    assert not HIDDEN.search(out)
    parser = _Tags()
    parser.feed(body)
    for tag, attrs in parser.tags:
        assert tag.lstrip("/") in ALLOWED_TAGS, f"unexpected tag <{tag}>"
        assert set(attrs) <= ALLOWED_ATTRS.get(tag, set()), f"<{tag} {attrs}>"
        if tag == "img":
            assert (attrs["src"] or "").startswith("https://images.example.com/"), attrs
    assert body.count("<details>") == body.count("</details>")
    assert body.count("<pre>") == body.count("</pre>")
    for table in tables(out):
        counts = {len(UNESCAPED_PIPE.findall(line)) for line in table}
        assert len(counts) == 1, f"ragged table: {table}"


# --- golden files -----------------------------------------------------------------


def test_golden_one_candidate_with_gate(request: pytest.FixtureRequest) -> None:
    gate, assignment = reports.gate_pending()
    out = render.render_comment(
        reports.one_candidate(), gate=gate, assignment=assignment, state_block=STATE
    )
    check_golden("one_candidate.md", out, request)
    assert out.endswith(STATE + "\n")


def test_golden_two_candidates(request: pytest.FixtureRequest) -> None:
    check_golden("two_candidates.md", render.render_comment(reports.two_candidates()), request)


def test_golden_no_production(request: pytest.FixtureRequest) -> None:
    check_golden("no_production.md", render.render_comment(reports.no_production()), request)


def test_golden_unresolved_and_problems(request: pytest.FixtureRequest) -> None:
    out = render.render_comment(reports.unresolved_and_problems())
    check_golden("unresolved_and_problems.md", out, request)


def test_golden_gate_failure(request: pytest.FixtureRequest) -> None:
    gate = GateDecision(
        GateState.FAILURE,
        "changes requested by @bob (secondary)",
        approved_by=("alice",),
        changes_requested_by=("bob",),
    )
    out = render.render_comment(
        reports.no_production(), gate=gate, assignment=Assignment("alice", "bob")
    )
    check_golden("gate_failure.md", out, request)


def test_golden_preview_html(request: pytest.FixtureRequest) -> None:
    gate, assignment = reports.gate_pending()
    out = render.render_html(reports.one_candidate(), gate=gate, assignment=assignment)
    check_golden("preview.html", out, request)


def test_golden_changes(request: pytest.FixtureRequest) -> None:
    """Every section of what changed besides the metrics (issue #15)."""
    check_golden("changes.md", render.render_comment(reports.with_changes()), request)
    check_golden("changes_preview.html", render.render_html(reports.with_changes()), request)


# --- what the comment says ----------------------------------------------------------


def test_comment_layout_for_one_candidate() -> None:
    out = render.render_comment(reports.one_candidate())
    lines = out.splitlines()
    assert lines[0] == MARKER
    assert lines[1] == "### 🧪 Model review"
    assert "1 regressed beyond threshold" in lines[3]
    assert "with production [**gbm-2026-02**]" in out
    assert "(`fraud-model` v3, alias `production`)" in out
    precision = next(line for line in lines if line.startswith("| `precision`"))
    assert precision == "| `precision` | ↑ tol. 2% | 0.91 | ❌ 0.87 (−0.04, −4.4%) |"
    assert "| `seed` | 1 | *(not set)* |" in out
    assert "<summary>All 4 parameters</summary>" in out
    assert "- ➖ **Model logged with a signature**: could not tell" in out
    assert f"{reports.UI}/#/models/fraud-model/versions/4" in out
    assert (
        out.index("#### 📊 Metrics") < out.index("#### 🔧 Parameters") < out.index("#### 📝 Notes")
    )


def test_metric_rows_keep_their_order() -> None:
    out = render.render_comment(reports.one_candidate())
    keys = re.findall(r"^\| `(\w+)` \|", out, flags=re.M)
    assert keys[:5] == ["precision", "val_loss", "recall", "auc", "training_time_s"]


def test_no_production_shows_values_and_the_reason() -> None:
    out = render.render_comment(reports.no_production())
    assert "**No production model yet:** registered model `fraud-model` has no version" in out
    assert "| Metric | Better | first-model |" in out
    assert "| `log_loss` | ↓ | 0.3142 |" in out
    assert "| `penalty` | l2 |" in out
    assert "](http" not in out  # no UI address: ids, no links
    assert f"`{reports.CANDIDATE_ID}`" in out


def test_no_candidates_says_what_to_do() -> None:
    empty = replace(reports.unresolved_and_problems(), unresolved=())
    out = render.render_comment(empty)
    assert "**No runs to review**" in out
    assert "No MLflow run to review yet: link a run" in out


def test_the_notes_summary_keeps_inline_code() -> None:
    note = NotesSummary(
        "Tune `max_depth`", "Check `predict_latency_ms` before approving, <b>@bob</b>.", "x"
    )
    report = replace(reports.one_candidate(), notes=(note,))
    out = render.render_comment(report)
    assert "**Tune `max_depth`**" in out
    assert "Check `predict_latency_ms` before approving, &lt;b&gt;@\u2060bob&lt;/b&gt;." in out
    html = render.render_html(report)
    assert "Check <code>predict_latency_ms</code> before approving, &lt;b&gt;@" in html


def test_the_preview_has_the_links_and_the_footer_of_the_comment() -> None:
    html = render.render_html(reports.one_candidate())
    links = html.split("<h4>🔗 Links</h4>")[1].split("</ul>")[0]
    assert links.count("<li>") == 2
    assert f'href="{reports.UI}/#/experiments/' in links and "model fraud-model v" in links
    assert "/model-review refresh" in html.split("<hr />")[1]


def test_a_linked_run_that_is_not_found_says_so_in_the_headline() -> None:
    report = reports.unresolved_and_problems()
    out = render.render_comment(report)
    assert out.splitlines()[3] == "**None of the 2 linked runs was found: nothing to review**"
    assert "link a run in the PR description" not in out
    one = render.render_comment(replace(report, unresolved=report.unresolved[:1]))
    assert "**The linked run was not found: nothing to review**" in one
    html = render.render_html(report)
    assert "None of the 2 linked runs was found" in html and "link a run in the PR" not in html
    assert "> [!WARNING]" in out
    assert "> - Could not resolve `models:/churn@champion`: registered model `churn`" in out
    assert "#### 📊 Metrics" not in out


def test_secondary_images_are_collapsed_and_unsafe_urls_dropped() -> None:
    report = replace(
        reports.one_candidate(),
        images=(
            *reports.images(),
            HostedImage("x.png", "x", "x", "javascript:alert(1)"),
            HostedImage("y.png", "y", "y", "data:image/png;base64,AAAA"),
        ),
    )
    out = render.render_comment(report)
    grid, more = out.split("<summary>More plots (1)</summary>")
    assert grid.count("<img ") == 2 and more.count("<img ") == 1
    assert "javascript:" not in out and "data:" not in out


def test_no_images_no_plots_section() -> None:
    out = render.render_comment(replace(reports.one_candidate(), images=()))
    assert "Plots" not in out


def test_many_parameter_changes_are_collapsed() -> None:
    base = reports.one_candidate()
    diff = base.param_diffs[0]
    many = replace(diff, changes=diff.changes * 3)
    out = render.render_comment(replace(base, param_diffs=(many,)))
    assert "<details><summary>12 parameter changes (1 unchanged)</summary>" in out
    short = render.render_comment(base)
    assert "4 parameter changes (1 unchanged):" in short


def test_without_ui_base_or_with_a_non_http_one_there_are_no_links() -> None:
    for ui in (None, "javascript:alert(1)", "file:///etc"):
        out = render.render_comment(replace(reports.one_candidate(), ui_base=ui))
        assert "/#/experiments/" not in out
        assert f"`{reports.CANDIDATE_ID}`" in out


def test_title_and_marker_are_configurable() -> None:
    out = render.render_comment(
        reports.one_candidate(), marker="<!-- custom -->", title="Review of *fraud*"
    )
    assert out.startswith("<!-- custom -->\n### 🧪 Review of \\*fraud\\*\n")


# --- reviewers and the gate ---------------------------------------------------------


@pytest.mark.parametrize(
    ("gate", "expected"),
    [
        (GateDecision(GateState.PENDING, "", approved_by=("ALICE",)), ("✅", "approved")),
        (
            GateDecision(GateState.FAILURE, "", changes_requested_by=("alice",)),
            ("❌", "changes requested"),
        ),
        (GateDecision(GateState.PENDING, "", stale=("alice",)), ("🔁", "approval is older")),
        (GateDecision(GateState.PENDING, "", waiting_for=("alice",)), ("⏳", "waiting")),
        (None, ("⏳", "requested")),
    ],
)
def test_reviewer_states(gate: GateDecision | None, expected: tuple[str, str]) -> None:
    (view,) = reviewer_views(gate, Assignment("alice", None))
    assert view.role == "primary"
    assert view.icon == expected[0]
    assert view.state.startswith(expected[1])


def test_team_slot_counts_as_approved_when_the_gate_passed() -> None:
    gate = GateDecision(GateState.SUCCESS, "approved", approved_by=("alice", "carol"))
    views = reviewer_views(gate, Assignment("alice", "acme/ml"))
    assert [(v.login, v.icon) for v in views] == [("alice", "✅"), ("acme/ml", "✅")]


def test_review_section_lists_reviewers_and_the_gate_without_mentioning() -> None:
    gate, assignment = reports.gate_pending()
    out = render.render_comment(reports.one_candidate(), gate=gate, assignment=assignment)
    assert "- ✅ @\u2060alice (primary): approved" in out
    assert "- ⏳ @\u2060acme/ml-reviewers (secondary): waiting for review" in out
    assert "- ⏳ **Merge gate** (pending): waiting for @\u2060acme/ml-reviewers" in out
    assert not MENTION.search(out)
    assert "#### 👀 Review" not in render.render_comment(reports.one_candidate())


# --- hostile input ------------------------------------------------------------------


def test_hostile_input_cannot_break_out() -> None:
    gate = GateDecision(GateState.FAILURE, reports.HOSTILE, changes_requested_by=("octocat",))
    out = render.render_comment(
        reports.hostile(),
        gate=gate,
        assignment=Assignment("octocat", "acme/team"),
        state_block=STATE,
    )
    assert_safe(out, STATE)
    assert out.endswith(STATE + "\n")
    assert "<script" not in out and "<img src=x" not in out
    assert out.count("<img ") == 2  # the two usable image URLs, nothing from user text
    assert '" onerror="' not in out  # a quote in an image URL is percent-encoded
    assert reports.RTL not in out
    assert "[… truncated, read it in MLflow]" in out  # the 100k note is capped


def test_hostile_preview_html_is_escaped() -> None:
    out = render.render_html(reports.hostile())
    assert "<script" not in out and "<img src=x" not in out and "</details> " not in out
    assert "&lt;img src=x onerror=alert(1)&gt;" in out
    assert "javascript:" not in out
    assert reports.RTL not in out


@pytest.mark.parametrize(
    "field",
    ["name", "params", "note", "reason", "problem", "unresolved", "metric", "image"],
)
def test_each_hostile_field_alone_is_safe(field: str) -> None:
    h = reports.HOSTILE
    base = reports.one_candidate()
    cand = base.candidates[0]
    edits = {
        "name": lambda r: replace(r, candidates=(replace(cand, run=replace(cand.run, name=h)),)),
        "params": lambda r: replace(
            r, candidates=(replace(cand, run=replace(cand.run, params={h: h})),)
        ),
        "note": lambda r: replace(r, notes=(NotesSummary(h, h, h * 50),)),
        "reason": lambda r: replace(r, baseline=replace(r.baseline, run=None, reason=h)),
        "problem": lambda r: replace(r, problems=(h, h)),
        "unresolved": lambda r: replace(r, unresolved=(Unresolved(RunRef(RefKind.RUN, raw=h), h),)),
        "metric": lambda r: replace(
            r, metric_rows=(replace(r.metric_rows[0], key=h), *r.metric_rows[1:])
        ),
        "image": lambda r: replace(
            r, images=(HostedImage(h, h, h, "https://images.example.com/a.png", True),)
        ),
    }
    assert_safe(render.render_comment(edits[field](base)))


# --- size ---------------------------------------------------------------------------


def test_huge_review_fits_and_says_what_it_left_out() -> None:
    out = render.render_comment(reports.huge(), state_block=STATE)
    assert len(out) <= 65_000
    assert_safe(out, STATE)
    assert out.endswith(STATE + "\n")
    assert "The full note is left out to fit GitHub's size limit" in out
    assert "The list of all parameters is left out" in out
    assert re.search(r"… \d+ more parameters not shown, see MLflow\.", out)
    assert re.search(r"… \d+ more metrics not shown, see MLflow\.", out)
    for k in range(3):  # regressions are the last rows, yet they are kept
        assert f"| `regressed_{k}` |" in out


@pytest.mark.parametrize("max_chars", [60_000, 20_000, 8_000, 3_000, 600, 200])
def test_any_limit_holds_and_keeps_marker_and_state(max_chars: int) -> None:
    out = render.render_comment(reports.huge(), state_block=STATE, max_chars=max_chars)
    assert len(out) <= max_chars
    assert out.startswith(MARKER + "\n")
    assert out.endswith(STATE + "\n")
    assert out.count(STATE) == 1


def test_the_last_resort_warns_that_the_review_is_too_large() -> None:
    out = render.render_comment(reports.huge(), state_block=STATE, max_chars=400)
    assert render.TOO_LARGE in out


def test_a_limit_too_small_for_the_state_is_an_error() -> None:
    with pytest.raises(ValueError, match="cannot even hold"):
        render.render_comment(reports.one_candidate(), state_block=STATE, max_chars=40)


def test_notes_go_first_when_the_comment_is_too_long() -> None:
    report = reports.one_candidate()
    big = replace(report, notes=(replace(report.notes[0], full="n" * 30_000),))
    capped = render.render_comment(big, max_chars=12_000)
    assert "n" * 3_000 in capped and "n" * 5_000 not in capped
    assert "[… truncated, read it in MLflow]" in capped
    dropped = render.render_comment(big, max_chars=7_000)
    assert "The full note is left out" in dropped
    assert "n" * 100 not in dropped
    for out in (capped, dropped):  # everything else survives the notes
        assert "<summary>All 4 parameters</summary>" in out
        assert "| `precision` |" in out


def test_hundreds_of_unresolved_references_are_cut_and_counted() -> None:
    refs = tuple(
        Unresolved(RunRef(RefKind.RUN, raw=f"runs:/{k:032x}/m"), "no run with this id " * 5)
        for k in range(2_000)
    )
    out = render.render_comment(replace(reports.one_candidate(), unresolved=refs))
    assert len(out) <= 65_000
    assert "> 2000 references in this PR could not be resolved:" in out
    assert re.search(r"> - … \d+ more not shown\.", out)


def test_ladder_only_gets_stricter() -> None:
    def generosity(b: Budget) -> tuple[int, ...]:
        big = 10**9
        return (
            int(b.env_lists),
            int(b.data_schemas),
            int(b.signatures),
            int(b.full_notes),
            b.note_chars,
            int(b.all_params),
            *(big if n is None else n for n in (b.param_rows, b.metric_rows, b.unresolved)),
            *(big if n is None else n for n in (b.candidates, b.images, b.problems)),
        )

    for looser, stricter in itertools.pairwise(LADDER):
        assert all(s <= g for s, g in zip(generosity(stricter), generosity(looser), strict=True))
        assert generosity(stricter) != generosity(looser)


def test_metric_cut_keeps_regressions_and_counts_hidden_ones() -> None:
    report = reports.huge(candidates=1, params=1, metrics=100, note_chars=1, regressions=30)
    ctx = build_context(report, replace(LADDER[0], metric_rows=20), None, None)
    table = ctx["metrics"]
    assert len(table.rows) == 20
    assert all(row.worst is Change.REGRESSION for row in table.rows)
    assert table.hidden == 80 and table.hidden_regressions == 10


# --- links and templates ------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://x.test/a b.png", "https://x.test/a%20b.png"),
        ('https://x.test/a".png', "https://x.test/a%22.png"),
        ("https://x.test/(a).png", "https://x.test/%28a%29.png"),
        ("metrics.png", "metrics.png"),
        ("javascript:alert(1)", None),
        ("JaVaScRiPt:alert(1)", None),
        ("data:image/png;base64,AA", None),
        ("", None),
        (None, None),
    ],
)
def test_safe_url(url: str | None, expected: str | None) -> None:
    assert safe_url(url) == expected


def test_templates_are_found_in_the_checkout() -> None:
    assert (render.templates_dir() / "comment.md.j2").is_file()
    assert render.environment() is render.environment()


def test_html_preview_has_the_same_content() -> None:
    out = render.render_html(reports.two_candidates())
    assert out.startswith("<!DOCTYPE html>")
    assert '<th align="right">gbm-balanced</th>\n<th align="right">gbm-deeper</th>' in out
    assert "alias <code>production</code>" in out
    assert '<td align="right">❌ 0.87 (−0.04, −4.4%)</td>' in out


def test_html_preview_relative_images() -> None:
    report = replace(
        reports.one_candidate(), images=(HostedImage("m.png", "Metrics", "bars", "m.png"),)
    )
    assert '<img src="m.png" alt="bars" width="420">' in render.render_html(report)
    hidden = render.render_html(report, images_dir_relative=False)
    assert "<img" not in hidden and "m.png (not embedded)" in hidden


def test_metrics_the_config_names_but_no_run_logs_are_a_warning() -> None:
    report = replace(
        reports.one_candidate(),
        misnamed=("bar `rocauc`: no run logs it — did you mean `roc_auc`?",),
        unmatched_names=("bar glob `test_*` matches no metric of the reviewed runs",),
    )
    text = render.render_comment(report)
    assert "> **The config names a metric that no reviewed run logs**" in text
    assert "> - bar `rocauc`: no run logs it — did you mean `roc_auc`?" in text
    assert "<sub>ℹ️ bar glob `test_*` matches no metric of the reviewed runs.</sub>" in text
    assert "no reviewed run logs" not in render.render_comment(reports.one_candidate())


def _md_sections(markdown: str) -> list[str]:
    outside_notes = re.sub(r"<pre>.*?</pre>", "", markdown, flags=re.S)
    return [m.group(1).strip() for m in re.finditer(r"^#{2,4} (.+)$", outside_notes, re.M)]


def _html_sections(page: str) -> list[str]:
    found = re.findall(r"<h[2-4]>(.*?)</h[2-4]>", page, re.S)
    return [html.unescape(re.sub(r"<[^>]+>", "", h)).strip() for h in found]


@pytest.mark.parametrize(
    "make",
    [
        reports.one_candidate,
        reports.two_candidates,
        reports.no_production,
        reports.with_changes,
        reports.unresolved_and_problems,
    ],
)
def test_the_preview_has_every_section_and_row_of_the_comment(make: Any) -> None:
    """The preview is made from the comment's markdown: same sections in the same
    order, the same table rows, the same warnings."""
    report = make()
    comment, page = render.render_comment(report), render.render_html(report)
    assert _html_sections(page) == _md_sections(comment)
    rows = [line for line in comment.splitlines() if line.startswith("| ")]
    assert page.count("<tr>") == len(rows) + comment.count("<tr>")  # + the plots grid
    assert page.count('<div class="markdown-alert ') == comment.count("> [!")
    assert f"<strong>{html.escape(render.headline(report), quote=False)}</strong>" in page


def test_a_note_the_summary_says_whole_gets_no_full_note_section() -> None:
    report = reports.one_candidate()
    one_line = replace(report, notes=(summarize_notes("Tuned the learning rate."),))
    out = render.render_comment(one_line)
    assert "Tuned the learning rate." in out
    assert "Full note" not in out and "The full note is left out" not in out
    longer = replace(report, notes=(summarize_notes("Tuned it.\n\nAnd more besides."),))
    assert "<details><summary>Full note</summary>" in render.render_comment(longer)
