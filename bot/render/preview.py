"""The preview page: the comment's own markdown rendered as GitHub renders it. Pure.

cmark-gfm (GitHub's fork of CommonMark) with GitHub's comment extensions turns the
exact text the bot posts into HTML, so the page cannot say anything the comment does
not. GitHub's alerts (`> [!WARNING]`) are drawn as GitHub draws them; the CSS is a
small GitHub-like sheet. The bot's markdown already escapes every user text (`& < >`,
bot.render.markdown), and the tagfilter extension drops the tags GitHub drops.
"""

from __future__ import annotations

import html
import re

import cmarkgfm
from cmarkgfm.cmark import Options

EXTENSIONS = ["table", "strikethrough", "autolink", "tagfilter", "tasklist"]
OPTIONS = Options.CMARK_OPT_UNSAFE | Options.CMARK_OPT_GITHUB_PRE_LANG
_ALERT = re.compile(
    r"<blockquote>\s*<p>\[!(NOTE|TIP|IMPORTANT|WARNING|CAUTION)\]\s*", re.IGNORECASE
)
_IMG = re.compile(r'<img src="(?!https?://)([^"]*)"[^>]*>')
_TITLE = re.compile(r"<strong>(.*?)</strong>", re.DOTALL)
_TAGS = re.compile(r"<[^>]+>")

CSS = """
body { font: 14px/1.5 -apple-system, BlinkMacSystemFont, "Segoe UI", "Noto Sans", Helvetica,
  Arial, sans-serif, "Apple Color Emoji", "Segoe UI Emoji", "Noto Color Emoji";
  color: #1f2328; background: #fff; max-width: 1012px; margin: 2em auto; padding: 0 1em; }
.comment { border: 1px solid #d1d9e0; border-radius: 6px; padding: 16px 24px; }
h1, h2, h3, h4 { margin: 24px 0 16px; font-weight: 600; line-height: 1.25; }
h3 { font-size: 1.25em; } h4 { font-size: 1em; }
p, blockquote, ul, ol, table, pre, details { margin: 0 0 16px; }
a { color: #0969da; text-decoration: none; } a:hover { text-decoration: underline; }
table { border-collapse: collapse; display: block; width: max-content; max-width: 100%;
  overflow: auto; }
th, td { border: 1px solid #d1d9e0; padding: 6px 13px; }
th { font-weight: 600; } tr:nth-child(2n) { background: #f6f8fa; }
code, pre { font-family: ui-monospace, SFMono-Regular, "SF Mono", Menlo, monospace;
  font-size: 85%; background: rgba(129, 139, 152, .12); border-radius: 6px; }
code { padding: .2em .4em; } pre { padding: 16px; overflow: auto; }
pre code { background: transparent; padding: 0; }
blockquote { padding: 0 1em; color: #59636e; border-left: .25em solid #d1d9e0; }
details summary { cursor: pointer; }
img { max-width: 100%; box-sizing: content-box; }
.markdown-alert { padding: 8px 16px; margin-bottom: 16px; border-left: .25em solid; }
.markdown-alert > :last-child { margin-bottom: 0; }
.markdown-alert-title { font-weight: 500; margin-bottom: 4px; }
.markdown-alert-note { border-color: #0969da; }
.markdown-alert-note .markdown-alert-title { color: #0969da; }
.markdown-alert-tip { border-color: #1a7f37; }
.markdown-alert-tip .markdown-alert-title { color: #1a7f37; }
.markdown-alert-important { border-color: #8250df; }
.markdown-alert-important .markdown-alert-title { color: #8250df; }
.markdown-alert-warning { border-color: #9a6700; }
.markdown-alert-warning .markdown-alert-title { color: #9a6700; }
.markdown-alert-caution { border-color: #d1242f; }
.markdown-alert-caution .markdown-alert-title { color: #d1242f; }
.missing { color: #59636e; border: 1px dashed #d1d9e0; padding: 2px 6px; }
"""


def to_html(markdown: str) -> str:
    """The comment's body as GitHub renders it (without GitHub's later linking of
    mentions and references, which the bot's text never triggers)."""
    body = cmarkgfm.markdown_to_html_with_extensions(markdown, OPTIONS, EXTENSIONS)
    return _alerts(body)


def _alerts(body: str) -> str:
    """`> [!WARNING]` blockquotes as GitHub's alert boxes."""

    def box(match: re.Match[str]) -> str:
        kind = match.group(1).lower()
        return (
            f'<div class="markdown-alert markdown-alert-{kind}">'
            f'<p class="markdown-alert-title">{kind.title()}</p><p>'
        )

    out = _ALERT.sub(box, body)
    # each alert's closing tag: the blockquotes opened as alerts close as divs
    parts = out.split('<div class="markdown-alert ')
    return parts[0] + "".join(
        '<div class="markdown-alert ' + p.replace("</blockquote>", "</div>", 1) for p in parts[1:]
    )


def local_images_only(body: str) -> str:
    """Relative images (files beside a page written elsewhere) named, not embedded."""
    return _IMG.sub(lambda m: f'<span class="missing">{m.group(1)} (not embedded)</span>', body)


def page(markdown: str, *, images_dir_relative: bool = True) -> str:
    """A standalone page holding the comment as GitHub shows it."""
    body = to_html(markdown)
    if not images_dir_relative:
        body = local_images_only(body)
    first = _TITLE.search(body)
    title = html.unescape(_TAGS.sub("", first.group(1))) if first else "Model review"
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title[:120])} · model review</title>\n"
        f"<style>{CSS}</style>\n</head>\n<body>\n"
        f'<div class="comment markdown-body">\n{body}</div>\n</body>\n</html>\n'
    )
