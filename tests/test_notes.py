from __future__ import annotations

import pytest

from bot.domain import NotesSummary
from bot.review.notes import ELLIPSIS, cap, summarize_notes


@pytest.mark.parametrize("text", [None, "", "   ", "\n\n\t\n"])
def test_empty_notes_have_no_summary(text: str | None) -> None:
    assert summarize_notes(text) is None


@pytest.mark.parametrize(
    ("text", "heading", "paragraph"),
    [
        ("# Fraud model v4\n\nRetrained on\nMarch data.\n\nSecond paragraph.",
         "Fraud model v4", "Retrained on March data."),
        ("Just a sentence.", None, "Just a sentence."),
        ("## Only a heading ##\n", "Only a heading", None),
        ("### C# tricks\ntext right below", "C# tricks", "text right below"),
        ("#hashtag is not a heading", None, "#hashtag is not a heading"),
        ("#\n\n# Real title\n\nBody", "Real title", "Body"),
        ("Title\n=====\n\nBody text", "Title", "Body text"),
        ("Sub title\n---\nBody", "Sub title", "Body"),
        ("# Top\n## Second\n\nBody", "Top", "Body"),
        ("```python\nprint('x')\n\nmore code\n```\n\nAfter the fence.", None, "After the fence."),
        ("~~~\ncode\n~~~\n# Head\nText", "Head", "Text"),
        ("```\nunterminated fence\n\nstill code", None, None),
        ("<!-- hidden\nacross lines -->\nVisible text", None, "Visible text"),
        ("Keep <!-- not this --> that", None, "Keep that"),
        ("| a | b |\n|---|---|\n| 1 | 2 |\n\nAfter table", None, "After table"),
        ("Intro line\na | b\n--- | ---\n1 | 2\n\nProse", None, "Intro line"),
        ("a | b\n:--|--:\n1 | 2\n\nProse", None, "Prose"),
        ("![loss curve](plot.png)\n\nCaption text", None, "Caption text"),
        ("See ![img](x.png) here", None, "See here"),
        ("<img src='x.png'>\n<div>\nReal text", None, "Real text"),
        ("---\n\n***\n\nAfter breaks", None, "After breaks"),
        ("> quoted\n> words", None, "quoted words"),
        ("Body first\n\n# Later heading", None, "Body first"),
        ("  spaced    out\ttext  ", None, "spaced out text"),
        ("# Modèle de fraude 🚀\n\nRéentraîné — données de mars.", "Modèle de fraude 🚀",
         "Réentraîné — données de mars."),
    ],
)  # fmt: skip
def test_heading_and_paragraph(text: str, heading: str | None, paragraph: str | None) -> None:
    summary = summarize_notes(text)
    assert summary is not None
    assert (summary.heading, summary.paragraph) == (heading, paragraph)
    assert summary.full == text.strip()
    assert summary.truncated is False


def test_full_note_is_kept_whole() -> None:
    text = "# T\n\nfirst\n\n```\ncode\n```\n\n| table |\n"
    assert summarize_notes(text) == NotesSummary("T", "first", text.strip(), False)


def test_long_paragraph_is_cut_on_a_word_boundary() -> None:
    text = "# Title\n\n" + " ".join(f"word{i}" for i in range(200))
    summary = summarize_notes(text, max_chars=50)
    assert summary is not None
    assert summary.truncated is True
    assert summary.heading == "Title"
    paragraph = summary.paragraph or ""
    assert len(paragraph) <= 50
    assert paragraph.endswith(ELLIPSIS)
    kept = paragraph.removesuffix(ELLIPSIS).split(" ")
    assert kept == [f"word{i}" for i in range(len(kept))]  # whole words only
    assert summary.full == text


def test_default_cap_is_400() -> None:
    summary = summarize_notes("x " * 1000)
    assert summary is not None and summary.truncated
    assert len(summary.paragraph or "") <= 400
    assert len(summary.paragraph or "") > 390


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("short", 10, ("short", False)),
        ("exactly ten", 11, ("exactly ten", False)),
        ("one two three", 8, ("one two…", True)),
        ("one two three", 9, ("one two…", True)),
        ("one two three", 7, ("one…", True)),
        ("abcdefghijkl", 5, ("abcd…", True)),
        ("数据集已更新并重新训练模型", 6, ("数据集已更…", True)),
        ("héllo wörld again", 12, ("héllo wörld…", True)),
    ],
)
def test_cap(text: str, limit: int, expected: tuple[str, bool]) -> None:
    assert cap(text, limit) == expected
    assert len(cap(text, limit)[0]) <= limit


def test_long_heading_is_capped_too() -> None:
    summary = summarize_notes("# " + "long " * 50, max_chars=20)
    assert summary is not None
    assert summary.heading == "long long long long…"
    assert summary.paragraph is None
    assert summary.truncated is True


def test_tiny_limit_is_rejected() -> None:
    with pytest.raises(ValueError, match="max_chars"):
        summarize_notes("text", max_chars=1)


@pytest.mark.parametrize(
    ("text", "says_more"),
    [
        ("Just a sentence.", False),
        ("# Fraud model v4\n\nRetrained on\nMarch data.", False),
        ("Title\n=====\n\nBody text", False),
        ("> quoted\n> words", False),
        ("# Fraud model v4\n\nRetrained.\n\nSecond paragraph.", True),
        ("# Top\n## Second\n\nBody", True),
        ("Body\n\n```\ncode\n```", True),
        ("See ![img](x.png) here", True),
        ("Keep <!-- not this --> that", True),
        ("- one\n- two", True),  # the summary runs a list together
    ],
)
def test_says_more_when_the_whole_note_has_more_than_the_summary(
    text: str, says_more: bool
) -> None:
    summary = summarize_notes(text)
    assert summary is not None and summary.says_more is says_more
    cut = summarize_notes("word " * 200, max_chars=50)
    assert cut is not None and cut.truncated and cut.says_more
