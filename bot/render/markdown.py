"""Escaping and number formatting for the PR comment, used as Jinja filters.

Everything user-controlled (run names, params, tags, notes, reasons) passes through
`escape_cell` (inline text, also safe inside a table cell) or `escape_block` (the
full note, shown HTML-escaped in a `<pre>` block). Both:

- drop control and invisible "format" characters (bidi overrides, zero-width
  characters, the soft hyphen; Unicode categories Cc, Cf and lone surrogates), so
  nothing can hide or reorder text;
- make the text inert: a WORD JOINER (U+2060, invisible) goes after every `@`,
  after a `#` or the `GH-` of `GH-12` that precedes a digit, whatever precedes them
  (GitHub's mention and reference filters take any non-ASCII character as a word
  boundary, so `é@alice` would ping), into every 40-hex word (a commit SHA, linked
  by GitHub), before the `:` of `://` and after the `www` of `www.` (URL and www
  auto-links) and, being after the `@`, into e-mail addresses: `@alice`,
  `@org/team`, `#12`, `GH-12`, `https://evil.example` and `me@evil.example` then read
  as typed but notify nobody and link nothing. The joiner is inserted after all
  invisible characters have been stripped, so it survives;
- replace the credentials of a URL (`https://user:token@host`) with `***`;
- HTML-escape `& < >`, so no tag from user text survives (`<img onerror>`,
  `</details>`, `<script>`) and the bot's hidden marker `<!-- model-review` cannot
  be forged.

Everything in one place, so the rules are easy to audit: templates never print user
text without one of these filters.

Numbers are formatted compactly with 4 significant digits and a real minus sign.
"""

from __future__ import annotations

import html
import math
import re
import unicodedata

from bot.domain import Change, Direction
from bot.redaction import redact

WORD_JOINER = "\u2060"
ELLIPSIS = "…"
MINUS = "−"  # U+2212, reads better than a hyphen next to "+"
DASH = "—"  # a value that does not exist

# GitHub's later pipeline (mentions, `#12`, `GH-12`; after `@` also e-mail auto-links);
# each match is followed by a WORD JOINER
_MENTION_OR_REF = f"@(?!{WORD_JOINER})|#(?=[0-9])|(?i:gh)-(?=[0-9])"
_WORD = "[0-9A-Za-z_]"  # GitHub's word boundaries are ASCII-only
_INERT = re.compile(
    f"{_MENTION_OR_REF}"
    f"|(?<!{_WORD})[0-9a-fA-F]{{6}}(?=[0-9a-fA-F]{{34}}(?!{_WORD}))"  # a 40-hex commit SHA
    f"|(?<!{WORD_JOINER})(?=://)"  # URL auto-links: `https://`, `ftp://`
    f"|(?i:www)(?=\\.)"  # www auto-links
)
# in code spans nothing is linked or notified; `@` after an ASCII word character is
# left alone there, so `models:/churn@champion` can be copied as it is
_MENTIONS = re.compile(
    f"(?<!{_WORD})@(?=[A-Za-z0-9])|#(?=[0-9])|(?<![0-9A-Za-z_-])(?i:gh)-(?=[0-9])"
)
_LINE_START_SIGN = re.compile(r"^([-+])(?=\s|$)|^([-=])(?=[-=\s]*$)")
_LINE_START_NUMBER = re.compile(r"^(\d{1,9})([.)])(?=\s|$)")
_CODE_UNSAFE = re.compile(r"[`|<>\\]")
_CODE_SPAN = re.compile(r"`([^`]+)`")
_INLINE_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_~[]|#"})
_INVISIBLE = frozenset({"Cc", "Cf", "Cs"})
_USERINFO = re.compile(r"(?i)(?<![a-z0-9+.-])([a-z][a-z0-9+.-]*://)[^\s/?#@]+@")
_SPACES = str.maketrans({"\n": " ", "\r": " ", "\t": " ", "\u2028": " ", "\u2029": " "})


def strip_invisible(text: str, keep: str = "") -> str:
    """Remove control, format (bidi, zero-width) and surrogate characters."""
    if text.isprintable() and text.isascii():
        return text
    return "".join(ch for ch in text if ch in keep or unicodedata.category(ch) not in _INVISIBLE)


def redact_credentials(text: str) -> str:
    """`https://user:token@host/...` -> `https://***@host/...`: credentials written
    into a URL (a tracking URI in an error message, a link in a note) never reach
    the PR; nor do the process's credentials and header echoes (bot.redaction), which
    are removed here, before escaping could change their spelling."""
    text = redact(text)
    return _USERINFO.sub(r"\1***@", text) if "@" in text else text


_TEAM_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


def is_team_name(name: str) -> bool:
    """Whether `name` is a plain `org/team` (safe to mention: nothing else in it)."""
    return _TEAM_NAME.fullmatch(name) is not None


def neutralise_mentions(text: str) -> str:
    """`@alice` / `#12` / `GH-12` -> the same with an invisible WORD JOINER after
    `@` / `#` / `GH-` (GitHub links `GH-12` to issue 12 like `#12`). For code spans,
    where nothing is auto-linked."""
    return _MENTIONS.sub(lambda m: m[0] + WORD_JOINER, text)


def inert(text: str) -> str:
    """Markdown text in which GitHub finds nothing to link or notify: mentions and
    references as `neutralise_mentions`, and URL, www, e-mail and commit-SHA
    auto-links broken by the same invisible joiner. What a reader sees is unchanged."""
    return _INERT.sub(lambda m: m[0] + WORD_JOINER, text)


def truncate(text: str, max_len: int) -> str:
    """At most `max_len` characters, ending with "…" when something was cut."""
    if len(text) <= max_len:
        return text
    return text[: max(max_len - 1, 0)].rstrip() + ELLIPSIS


def clean(text: object, max_len: int = 120) -> str:
    """Plain one-line text: no invisible characters, whitespace collapsed, capped.

    For contexts that escape on their own (the HTML preview with autoescape)."""
    raw = "" if text is None else str(text)
    limit = 4 * max_len + 64  # hostile input: never clean megabytes for one cell
    flat = redact_credentials(" ".join(strip_invisible(raw[:limit].translate(_SPACES)).split()))
    if len(raw) > limit and len(flat) < max_len:
        return flat + ELLIPSIS
    return truncate(flat, max_len)


def _escape_flat(flat: str, at_start: bool = True) -> str:
    escaped = html.escape(flat, quote=False).translate(_INLINE_SPECIAL)
    if at_start:  # "- ", "+ ", "1. ", "---" or "===" would start a list, rule or heading
        escaped = _LINE_START_SIGN.sub(lambda m: "\\" + m.group(0), escaped)
        escaped = _LINE_START_NUMBER.sub(r"\1\\\2", escaped)
    return inert(escaped)


def _code_flat(flat: str, at_start: bool = True) -> str:
    if flat.strip() and not _CODE_UNSAFE.search(flat):
        return f"`{neutralise_mentions(flat)}`"
    return _escape_flat(flat, at_start)


def escape_cell(text: object, max_len: int = 120) -> str:
    """Inline markdown text that is also safe inside a table cell.

    HTML-escapes `& < >`, backslash-escapes markdown punctuation (including `|`),
    keeps everything on one line, neutralises mentions and caps the length."""
    return _escape_flat(clean(text, max_len))


def code(text: object, max_len: int = 120) -> str:
    """A code span (literal text) when the text can safely be one, else escaped text.

    Text with a backtick, `|`, `<`, `>` or a backslash cannot: it would end the span,
    split a table cell or forge the bot's `<!--` marker."""
    return _code_flat(clean(text, max_len))


def split_code_spans(text: str) -> list[str]:
    """ "a `b` c" -> ["a ", "b", " c"]: the odd items are the contents of code spans."""
    return _CODE_SPAN.split(text)


def escape_message(text: object, max_len: int = 300) -> str:
    """A message of the bot's own that quotes user data in `code spans`.

    Reasons and descriptions such as "registered model `fraud-model` has no alias
    `production`" keep their code spans (with safe contents); the rest is escaped."""
    parts = split_code_spans(clean(text, max_len))
    return "".join(
        _code_flat(part, i == 0) if i % 2 else _escape_flat(part, i == 0)
        for i, part in enumerate(parts)
    )


def _lines(text: object, max_len: int) -> tuple[str, bool]:
    """Multi-line text without invisible characters, capped; and whether it was cut."""
    raw = "" if text is None else str(text)
    body = raw[: 2 * max_len + 64].replace("\r\n", "\n").replace("\r", "\n")
    body = redact_credentials(strip_invisible(body, keep="\n\t").rstrip())
    cut = len(body) > max_len or len(raw) > 2 * max_len + 64
    return (truncate(body, max_len) if len(body) > max_len else body), cut


def clean_block(text: object, max_len: int = 20_000) -> str:
    """Multi-line plain text, invisible characters removed, capped (HTML preview)."""
    body, cut = _lines(text, max_len)
    return body + "\n[… truncated, read it in MLflow]" if cut else body


def escape_block(text: object, max_len: int = 20_000) -> str:
    """The full text of a note as an HTML `<pre>` block, every character escaped.

    Inside `<pre>` GitHub shows the text as typed; since `& < >` are HTML-escaped the
    note cannot close the `<pre>` or the surrounding `<details>`, inject HTML, or
    forge the bot's `<!--` marker, and mentions are neutralised like everywhere else.
    The caller leaves a blank line before and after the block."""
    body = html.escape(clean_block(text, max_len), quote=False)
    return f"<pre>\n{inert(body)}\n</pre>"


# --- numbers -----------------------------------------------------------------

_SIG = 4


def _signed(text: str, negative: bool) -> str:
    return MINUS + text if negative else text


def _mantissa(x: float) -> str:
    """Positive finite x with 4 significant digits, trailing zeros dropped."""
    if x >= 1e6 or x < 1e-3:
        mantissa, exponent = f"{x:.{_SIG - 1}e}".split("e")
        if "." in mantissa:
            mantissa = mantissa.rstrip("0").rstrip(".")
        return f"{mantissa}e{int(exponent)}"
    if x.is_integer():
        return str(int(x))
    digits = max(_SIG - len(str(int(x))), 0) if x >= 1 else _SIG - 1 - math.floor(math.log10(x))
    text = f"{x:.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def fmt_num(x: float | None) -> str:
    """12345 -> "12345", 0.912345 -> "0.9123", 1.5e-7 -> "1.5e-7", None -> "—"."""
    if x is None:
        return DASH
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return _signed("∞", x < 0)
    x = float(x)
    if x == 0:
        return "0"
    return _signed(_mantissa(abs(x)), x < 0)


def fmt_delta(x: float | None) -> str:
    """A signed difference: "+0.0123", "−0.5", "±0"; "—" when there is none."""
    if x is None:
        return DASH
    if math.isnan(x):
        return "NaN"
    if x == 0:
        return "±0"
    return ("+" if x > 0 else MINUS) + fmt_num(abs(x))


def fmt_pct(rel: float | None) -> str:
    """A relative change as a signed percentage: 0.012 -> "+1.2%"; None -> "—"."""
    if rel is None or not math.isfinite(rel):
        return DASH
    pct = rel * 100
    if pct == 0:
        return "±0%"
    sign = "+" if pct > 0 else MINUS
    size = abs(pct)
    if size >= 100:
        text = f"{size:.0f}"
    elif size >= 0.1:
        text = f"{size:.1f}"
    elif size >= 0.01:
        text = f"{size:.2f}"
    else:
        return f"{sign}<0.01%"
    return f"{sign}{text}%"


_ICONS = {
    Change.BETTER: "✅",
    Change.WORSE: "⚠️",
    Change.REGRESSION: "❌",
    Change.SAME: "➖",
    Change.NEW: "🆕",
    Change.MISSING: "❔",
    Change.UNDEFINED: "❔",
    Change.NOISE: "〰️",
    Change.CHANGED: "🔹",
}

_LABELS = {
    Change.BETTER: "better",
    Change.WORSE: "worse, within threshold",
    Change.REGRESSION: "regression",
    Change.SAME: "unchanged",
    Change.NEW: "new metric",
    Change.MISSING: "not logged by the candidate",
    Change.UNDEFINED: "cannot compare",
    Change.NOISE: "within noise: the difference is not significant",
    Change.CHANGED: "changed (neither better nor worse)",
}


def change_icon(change: Change) -> str:
    return _ICONS[change]


def change_label(change: Change) -> str:
    return _LABELS[change]


def arrow(direction: Direction) -> str:
    """An arrow for the metric direction: ↑ higher is better, ↓ lower is better, and
    · for a metric with neither (a count, an iteration, a timing)."""
    return {Direction.HIGHER: "↑", Direction.LOWER: "↓"}.get(direction, "·")


def check_icon(ok: bool | None) -> str:
    """A checklist item: ✅ passed, ❌ failed, ➖ not applicable or unknown."""
    return "➖" if ok is None else ("✅" if ok else "❌")
