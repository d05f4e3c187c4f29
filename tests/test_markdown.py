"""Escaping and number filters (bot.render.markdown)."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain import Change, Direction
from bot.render import markdown as md

MENTION = re.compile(r"(?<![\w`])@[A-Za-z0-9-]+")
ISSUE_REF = re.compile(r"#\d")
UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")
HIDDEN = re.compile("[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff\u00ad]")
WJ = md.WORD_JOINER


# --- escape_cell ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("plain name", "plain name"),
        ("x | y", r"x \| y"),
        ("a\\b", r"a\\b"),
        ("`rm -rf`", r"\`rm -rf\`"),
        ("*bold* _it_ ~s~", r"\*bold\* \_it\_ \~s\~"),
        ("[click](http://evil)", r"\[click\](http" + WJ + "://evil)"),
        ("<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)&gt;"),
        ("AT&T", "AT&amp;T"),
        ("line1\nline2\r\nline3\tend", "line1 line2 line3 end"),
        ("  lots   of   space  ", "lots of space"),
        ("- not a list", r"\- not a list"),
        ("+ not a list", r"\+ not a list"),
        ("1. not a list", r"1\. not a list"),
        ("---", r"\---"),
        ("===", r"\==="),
        ("-0.5", "-0.5"),
        ("0.01", "0.01"),
        ("# not a heading", r"\# not a heading"),
        ("user@example.com", f"user@{WJ}example.com"),  # no e-mail auto-link
        (None, ""),
        (42, "42"),
    ],
)
def test_escape_cell(raw: object, expected: str) -> None:
    assert md.escape_cell(raw) == expected


def test_escape_cell_neutralises_mentions_and_issue_refs() -> None:
    out = md.escape_cell("thanks @octocat and @acme/ml-team, see #12 and org/repo#7")
    assert not MENTION.search(out)
    assert not ISSUE_REF.search(out)
    assert f"@{WJ}octocat" in out
    assert f"@{WJ}acme/ml-team" in out
    assert f"#{WJ}12" in out
    assert f"#{WJ}7" in out
    # what a reader sees is unchanged once the invisible joiner is removed
    assert out.replace(WJ, "") == r"thanks @octocat and @acme/ml-team, see \#12 and org/repo\#7"


@pytest.mark.parametrize(
    ("raw", "inert"),
    [
        ("é@alice", f"é@{WJ}alice"),  # GitHub: any non-ASCII character is a boundary
        ("Ä@acme/ml-leads", f"Ä@{WJ}acme/ml-leads"),
        ("é#123 éGH-4", rf"é\#{WJ}123 éGH-{WJ}4"),
        ("https://evil.example/login", f"https{WJ}://evil.example/login"),
        ("www.evil.example/x", f"www{WJ}.evil.example/x"),
        ("WWW.evil.example", f"WWW{WJ}.evil.example"),
        ("mailto:me@evil.example", f"mailto:me@{WJ}evil.example"),
        ("é" + "ab12" * 10, f"éab12ab{WJ}" + "12ab" * 8 + "12"),  # a commit SHA
        ("x" + "ab12" * 10, "x" + "ab12" * 10),  # no SHA: `x` is a word character
        ("run " + "c" * 32, "run " + "c" * 32),  # run ids stay as they are
    ],
)
def test_escape_cell_makes_text_inert_whatever_precedes(raw: str, inert: str) -> None:
    out = md.escape_cell(raw)
    assert out == inert
    assert md.inert(out) == out  # once is enough: no joiner is added twice


def test_code_spans_keep_what_can_be_copied() -> None:
    assert md.code("models:/churn@champion") == "`models:/churn@champion`"
    assert md.code("https://x.example") == "`https://x.example`"  # no auto-link in code
    assert md.code("@alice") == f"`@{WJ}alice`"


def test_escape_cell_strips_bidi_zero_width_and_control_characters() -> None:
    raw = "inv\u202eoice\u2066.exe\u200b\u200d\ufeff\x00\x07\x1b[31m\u00ad!"
    out = md.escape_cell(raw)
    assert out == "invoice.exe[31m!".replace("[", "\\[")
    assert not HIDDEN.search(out)


def test_escape_cell_strips_a_forged_word_joiner_then_adds_its_own() -> None:
    out = md.escape_cell(f"@{WJ}{WJ}alice")
    assert out == f"@{WJ}alice"


def test_escape_cell_caps_length_with_an_ellipsis() -> None:
    out = md.escape_cell("word " * 100, max_len=20)
    assert out.endswith("…")
    assert len(out) <= 20
    assert md.escape_cell("short", max_len=20) == "short"


def test_escape_cell_caps_huge_input_quickly() -> None:
    out = md.escape_cell("a" * 1_000_000, max_len=50)
    assert len(out) == 50
    assert out.endswith("…")


def test_escape_cell_marks_a_cut_even_when_the_kept_text_is_short() -> None:
    out = md.escape_cell(" " * 10_000 + "tail", max_len=50)
    assert out == "…"


@given(st.text(), st.integers(min_value=1, max_value=200))
def test_escape_cell_is_always_one_safe_line(raw: str, max_len: int) -> None:
    out = md.escape_cell(raw, max_len)
    assert "\n" not in out and "\r" not in out
    assert not UNESCAPED_PIPE.search(out)
    assert "<" not in out and ">" not in out
    assert not MENTION.search(out)
    assert not ISSUE_REF.search(out)
    assert not HIDDEN.search(out)
    assert len(md.clean(raw, max_len)) <= max_len


# --- code spans and messages --------------------------------------------------------


def test_code_wraps_safe_text_in_a_code_span() -> None:
    assert md.code("val_loss") == "`val_loss`"
    assert md.code("#/experiments/1 @bob") == f"`#/experiments/1 @{WJ}bob`"


@pytest.mark.parametrize("raw", ["a|b", "a`b", "<b>", "a\\b"])
def test_code_falls_back_to_escaped_text_when_a_span_is_unsafe(raw: str) -> None:
    out = md.code(raw)
    assert not out.startswith("`")
    assert out == md.escape_cell(raw)


def test_code_of_empty_text_is_empty() -> None:
    assert md.code("") == ""
    assert md.code(None) == ""


def test_escape_message_keeps_code_spans_and_escapes_the_rest() -> None:
    out = md.escape_message("registered model `fraud-model` has no alias `prod` *yet* @bob")
    assert out == f"registered model `fraud-model` has no alias `prod` \\*yet\\* @{WJ}bob"


def test_escape_message_escapes_unsafe_code_span_contents() -> None:
    out = md.escape_message("model `a|<b>` missing")
    assert out == r"model a\|&lt;b&gt; missing"


def test_split_code_spans() -> None:
    assert md.split_code_spans("a `b` c `d`") == ["a ", "b", " c ", "d", ""]


# --- blocks -----------------------------------------------------------------------


def test_escape_block_is_an_escaped_pre_block() -> None:
    note = "# Title\n\n</details><img src=x onerror=alert(1)>\n<!-- model-review -->\n@bob #3"
    out = md.escape_block(note)
    assert out.startswith("<pre>\n") and out.endswith("\n</pre>")
    inner = out[len("<pre>\n") : -len("\n</pre>")]
    assert "<" not in inner and ">" not in inner
    assert "&lt;/details&gt;&lt;img src=x onerror=alert(1)&gt;" in inner
    assert "&lt;!-- model-review --&gt;" in inner
    assert not MENTION.search(inner) and not ISSUE_REF.search(inner)
    assert inner.splitlines()[:2] == ["# Title", ""]


def test_escape_block_keeps_lines_and_tabs_but_drops_hidden_characters() -> None:
    out = md.escape_block("a\r\nb\rc\td\u202e\u200be")
    assert out == "<pre>\na\nb\nc\tde\n</pre>"


def test_escape_block_truncates_and_says_so() -> None:
    out = md.escape_block("x" * 10_000, max_len=100)
    assert "x" * 99 + "…" in out
    assert "[… truncated, read it in MLflow]" in out
    assert len(out) < 200
    assert "truncated" not in md.escape_block("x" * 100, max_len=100)


@given(st.text())
def test_escape_block_never_lets_markup_out(raw: str) -> None:
    out = md.escape_block(raw, max_len=500)
    inner = out[len("<pre>\n") : -len("\n</pre>")]
    assert "<" not in inner and ">" not in inner
    assert not MENTION.search(inner)
    assert not HIDDEN.search(inner)


def test_clean_block_is_plain_text() -> None:
    assert md.clean_block("<b>\u202ehi</b>\n") == "<b>hi</b>"


# --- numbers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "—"),
        (math.nan, "NaN"),
        (math.inf, "∞"),
        (-math.inf, "−∞"),
        (0.0, "0"),
        (-0.0, "0"),
        (3, "3"),
        (12345.0, "12345"),
        (0.912345, "0.9123"),
        (0.9, "0.9"),
        (12.3456, "12.35"),
        (123456.7, "123457"),
        (0.001234, "0.001234"),
        (1.5e-7, "1.5e-7"),
        (0.00099996, "1e-3"),
        (1234567.0, "1.235e6"),
        (-0.5, "−0.5"),
        (0.1 + 0.2, "0.3"),
    ],
)
def test_fmt_num(value: float | None, expected: str) -> None:
    assert md.fmt_num(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "—"),
        (0.0, "±0"),
        (0.0123, "+0.0123"),
        (-0.5, "−0.5"),
        (math.inf, "+∞"),
        (-math.inf, "−∞"),
        (math.nan, "NaN"),
        (2e-9, "+2e-9"),
    ],
)
def test_fmt_delta(value: float | None, expected: str) -> None:
    assert md.fmt_delta(value) == expected


@pytest.mark.parametrize(
    ("rel", "expected"),
    [
        (None, "—"),
        (math.nan, "—"),
        (math.inf, "—"),
        (0.0, "±0%"),
        (0.012, "+1.2%"),
        (-0.5, "−50.0%"),
        (2.5, "+250%"),
        (0.0005, "+0.05%"),
        (-0.00001, "−<0.01%"),
    ],
)
def test_fmt_pct(rel: float | None, expected: str) -> None:
    assert md.fmt_pct(rel) == expected


def test_change_icons_tell_the_outcomes_apart() -> None:
    icons = {change: md.change_icon(change) for change in Change}
    assert icons[Change.BETTER] == "✅"
    assert icons[Change.WORSE] == "⚠️"
    assert icons[Change.REGRESSION] == "❌"
    assert icons[Change.SAME] == "➖"
    assert icons[Change.NEW] == "🆕"
    assert icons[Change.MISSING] == icons[Change.UNDEFINED] == "❔"
    assert all(md.change_label(change) for change in Change)


def test_arrow_and_check_icon() -> None:
    assert md.arrow(Direction.HIGHER) == "↑"
    assert md.arrow(Direction.LOWER) == "↓"
    assert [md.check_icon(ok) for ok in (True, False, None)] == ["✅", "❌", "➖"]


def test_truncate() -> None:
    assert md.truncate("abcdef", 4) == "abc…"
    assert md.truncate("abcd", 4) == "abcd"
    assert md.truncate("ab   cdef", 4) == "ab…"
