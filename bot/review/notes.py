"""Summarize a run's notes (markdown in the tag `mlflow.note.content`): the first
heading and the first paragraph, capped in length. Pure: the caller escapes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from bot.domain import NotesSummary

ELLIPSIS = "…"

_ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT_UNDERLINE = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_THEMATIC_BREAK = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_TABLE_DELIMITER = re.compile(r"^ {0,3}\|?[ \t]*:?-+:?[ \t]*(\|[ \t]*:?-+:?[ \t]*)+\|?[ \t]*$")
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_HTML_LINE = re.compile(r"^ {0,3}</?[A-Za-z][^>]*>[ \t]*$")
_LIST_ITEM = re.compile(r"^ {0,3}([-*+]|\d{1,9}[.)])[ \t]")


@dataclass(frozen=True)
class _Block:
    kind: str  # "heading" or "paragraph"
    text: str


def _skipped(line: str) -> bool:
    """Lines that never belong to a summary paragraph."""
    stripped = line.strip()
    return (
        stripped.startswith("|")
        or _TABLE_DELIMITER.match(line) is not None
        or _HTML_LINE.match(line) is not None
        or _THEMATIC_BREAK.match(line) is not None
        or _SETEXT_UNDERLINE.match(line) is not None
        or not _IMAGE.sub("", stripped).strip()
    )


def _clean(line: str) -> str:
    """One paragraph line without images or blockquote markers, whitespace collapsed."""
    text = _IMAGE.sub("", line).strip()
    while text.startswith(">"):
        text = text[1:].lstrip()
    return " ".join(text.split())


@dataclass
class _Scanner:
    """Reads markdown line by line and emits headings and paragraphs."""

    paragraph: list[str] = field(default_factory=list)
    fence: str | None = None  # the open fence's marker while inside a code block
    in_table: bool = False

    def flush(self) -> list[_Block]:
        text, self.paragraph = " ".join(self.paragraph), []
        return [_Block("paragraph", text)] if text else []

    def feed(self, line: str) -> list[_Block]:
        if self.fence is not None:
            if line.strip().startswith(self.fence):
                self.fence = None
            return []
        if self.in_table:
            self.in_table = bool(line.strip())
            return []
        if _TABLE_DELIMITER.match(line) and self.paragraph:
            self.paragraph.pop()  # that line was the table's header row
            self.in_table = True
            return self.flush()
        if _SETEXT_UNDERLINE.match(line) and self.paragraph:
            text, self.paragraph = " ".join(self.paragraph), []
            return [_Block("heading", text)]
        return self._feed_block_start(line)

    def _feed_block_start(self, line: str) -> list[_Block]:
        fence = _FENCE.match(line)
        heading = _ATX_HEADING.match(line)
        if not (fence or heading or not line.strip() or _skipped(line)):
            cleaned = _clean(line)
            if cleaned:
                self.paragraph.append(cleaned)
            return []
        blocks = self.flush()
        if fence:
            self.fence = fence.group(1)
        elif heading:
            blocks.append(_Block("heading", " ".join((heading.group(2) or "").split())))
        return blocks


def _blocks(text: str) -> Iterator[_Block]:
    """Headings and paragraphs in document order; fences, tables and comments dropped."""
    scanner = _Scanner()
    for line in _HTML_COMMENT.sub("", text).splitlines():
        yield from scanner.feed(line)
    yield from scanner.flush()


def cap(text: str, max_chars: int) -> tuple[str, bool]:
    """Cut text to at most max_chars on a word boundary, ending in "…" when cut."""
    if len(text) <= max_chars:
        return text, False
    keep = max_chars - len(ELLIPSIS)
    cut = text[:keep]
    if not text[keep].isspace():  # the cut falls inside a word: drop that word
        space = cut.rfind(" ")
        cut = cut[:space] if space > 0 else cut
    return cut.rstrip() + ELLIPSIS, True


def summarize_notes(text: str | None, max_chars: int = 400) -> NotesSummary | None:
    """The first heading and first paragraph of a markdown note; None when empty.

    A heading counts only when it comes before the first paragraph (a heading further
    down titles another section, not the note). Both are capped at max_chars.
    """
    if max_chars < 2:
        raise ValueError("max_chars must be at least 2")
    if text is None or not text.strip():
        return None
    heading: str | None = None
    paragraph: str | None = None
    for block in _blocks(text):
        if block.kind == "paragraph":
            paragraph = block.text
            break
        if heading is None and block.text:
            heading = block.text
    truncated = False
    if heading is not None:
        heading, truncated = cap(heading, max_chars)
    if paragraph is not None:
        paragraph, cut = cap(paragraph, max_chars)
        truncated = truncated or cut
    return NotesSummary(
        heading=heading,
        paragraph=paragraph,
        full=text.strip(),
        truncated=truncated,
        says_more=truncated or _says_more(text, [heading, paragraph]),
    )


def _says_more(text: str, shown: list[str | None]) -> bool:
    """Whether the note has words the summary leaves out: later blocks, code, tables,
    images, comments (heading and blockquote markers are not words)."""
    if sum(1 for line in text.splitlines() if _LIST_ITEM.match(line)) > 1:
        return True  # a list: the summary runs its items together
    words = [w for w in text.split() if w.strip("#>=-")]
    return len(words) > sum(len(s.split()) for s in shown if s)
