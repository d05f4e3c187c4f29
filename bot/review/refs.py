"""Find the MLflow runs and models a pull request refers to.

Pure text scanning. The PR title, body and comments are searched, in that order, for
MLflow UI links (open source and Databricks), `runs:/` and `models:/` URIs,
`mlflow-run: <id>` lines and lone 32-hex run ids. Every step is linear in the
length of the text (no pattern with nested unbounded repetition runs over PR text;
a compare-runs query is split once, never rescanned from each parameter), and the
work is capped: MAX_TEXT_CHARS per text (32 times GitHub's limit for a body or a
comment) and MAX_SCAN_CHARS per PR. `scan_refs` says what each cap left out, and
how many characters it examined (`work`), so tests can hold it to linear.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from urllib.parse import unquote

from bot.domain import RefKind, RunRef

MAX_REFS = 50  # at most this many references are returned; the caller reports the cap
MAX_TEXT_CHARS = 2 * 1024 * 1024  # per text (title, body, comment); GitHub stores 65,536
MAX_SCAN_CHARS = 4 * 1024 * 1024  # per PR: what one review reads of its text at most
MAX_DISTINCT = 5_000  # distinct references remembered before the cap picks MAX_REFS

_WORD_END = r"(?![0-9A-Za-z_-])"
_ID = rf"[0-9A-Za-z][0-9A-Za-z_-]{{0,63}}{_WORD_END}"  # run ids in explicit forms
_EXP = rf"[0-9A-Za-z_-]{{1,64}}{_WORD_END}"
_MODEL_ID = rf"m-[0-9a-f]{{32}}{_WORD_END}"
_URL_CHAR = r"[^\s<>()`]"

# One pass over the text; the leftmost match wins, so a URL swallows the hex inside it.
_TOKEN = re.compile(
    rf"(?P<line>^[ \t]*(?:(?:[-*+]|\d{{1,9}}[.)])[ \t]+)?"
    rf"(?P<entry>(?i:mlflow-run)[ \t]*:[ \t]*(?P<line_id>{_ID}))[ \t]*\r?$)"
    rf"|(?P<uri>(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{{0,31}}:/{_URL_CHAR}*)"
    rf"|(?P<www>(?<![\w.-])www\.{_URL_CHAR}+)"
    r"|(?P<bare>(?<![\w/.\\@%-])[0-9a-f]{32}(?![\w/\\@%-]|\.\w))",
    re.MULTILINE,
)

# The route of a UI link: what follows `#/`, `#mlflow/` or Databricks' `/ml/`.
_ROUTE = re.compile(
    rf"experiments/(?P<exp>{_EXP})/runs/(?P<run>{_ID})"
    rf"|experiments/(?P<model_exp>{_EXP})/models/(?P<model_id>{_MODEL_ID})"
    rf"|runs/(?P<lone_run>{_ID})"
    r"|models/(?P<name>[^/?#&\s]{1,256})/versions/(?P<version>[0-9]{1,9})(?![0-9])"
    r"|compare-runs\?(?P<query>.*)"
)
_RUNS_URI = re.compile(rf"runs:/(?P<run>{_ID})")
_MODELS_URI = re.compile(
    rf"models:/(?:(?P<model_id>{_MODEL_ID})"
    r"|(?P<name>(?:[A-Za-z0-9_.-]|%[0-9A-Fa-f]{2})+)"
    r"(?:@(?P<alias>[A-Za-z0-9_-]+)|/(?P<version>[A-Za-z0-9]+))(?![A-Za-z0-9_%-]))"
)
_QUOTED = re.compile(r'"([^"]*)"')
_ID_ONLY = re.compile(_ID)
_STAGES = frozenset({"production", "staging", "archived", "none"})
_TRAILING = frozenset(".,;:!?*_~'\"")


@dataclass(frozen=True)
class RefScan:
    """The references of some texts, and what the caps left out."""

    refs: tuple[RunRef, ...]
    dropped: int = 0  # distinct references past MAX_REFS (at least this many)
    truncated: int = 0  # texts cut at MAX_TEXT_CHARS or left unread past MAX_SCAN_CHARS
    work: int = 0  # characters examined, for tests that hold the scan to linear

    @property
    def capped(self) -> bool:
        return bool(self.dropped or self.truncated)


def find_refs(texts: Iterable[str]) -> list[RunRef]:
    """Every MLflow reference in `texts` (see `scan_refs`), at most MAX_REFS."""
    return list(scan_refs(texts).refs)


def scan_refs(texts: Iterable[str], budget: int = MAX_SCAN_CHARS) -> RefScan:
    """Every MLflow reference in `texts`, de-duplicated by key, in order of first mention.

    HTML comments are skipped (the bot's own hidden state lives in one). A later,
    stronger spelling of an id already found (a link after a bare id) upgrades it in
    place. When more than MAX_REFS distinct references are found, explicit ones
    (links, URIs, `mlflow-run:` lines) are kept before bare ids, so decoy hex words
    cannot push a real link out; the rest are counted in `dropped`. Each text is read
    up to MAX_TEXT_CHARS and all of them up to `budget` characters in total.
    """
    found = _Collector()
    truncated = 0
    for whole in texts:
        allowed = min(MAX_TEXT_CHARS, max(budget, 0))
        text = whole[:allowed]
        truncated += len(text) < len(whole)
        budget -= len(text)
        found.work += len(text)
        for segment in _visible(text):
            for match in _TOKEN.finditer(segment):
                for ref in _refs_of(match, found):
                    found.add(ref)
    kept, dropped = found.chosen()
    return RefScan(kept, dropped, truncated, found.work)


class _Collector:
    def __init__(self) -> None:
        self.refs: list[RunRef] = []
        self._index: dict[tuple[str, ...], int] = {}
        self.overflow = 0  # distinct-looking references past MAX_DISTINCT
        self.work = 0

    def add(self, ref: RunRef) -> None:
        index = self._index.get(ref.key)
        if index is not None:
            self.refs[index] = _merge(self.refs[index], ref)
        elif len(self.refs) < MAX_DISTINCT:
            self._index[ref.key] = len(self.refs)
            self.refs.append(ref)
        else:
            self.overflow += 1

    def chosen(self) -> tuple[tuple[RunRef, ...], int]:
        """At most MAX_REFS, explicit references before bare ids, in order of mention."""
        if len(self.refs) <= MAX_REFS:
            return tuple(self.refs), self.overflow
        explicit = [i for i, r in enumerate(self.refs) if r.kind is not RefKind.BARE_RUN_ID]
        bare = [i for i, r in enumerate(self.refs) if r.kind is RefKind.BARE_RUN_ID]
        keep = sorted([*explicit, *bare][:MAX_REFS])
        dropped = len(self.refs) - len(keep) + self.overflow
        return tuple(self.refs[i] for i in keep), dropped


def _merge(old: RunRef, new: RunRef) -> RunRef:
    """Two spellings of one target: keep the stronger kind and any experiment id."""
    if old.kind is RefKind.BARE_RUN_ID and new.kind is RefKind.RUN:
        return replace(new, experiment_id=new.experiment_id or old.experiment_id)
    if old.experiment_id is None and new.experiment_id is not None:
        return replace(old, experiment_id=new.experiment_id)
    return old


def visible_text(text: str) -> str:
    """`text` without its HTML comments (what GitHub shows of it, as far as comments go)."""
    return "".join(_visible(text))


def _visible(text: str) -> Iterator[str]:
    """The parts of `text` outside HTML comments (an unclosed one runs to the end)."""
    pos = 0
    while True:
        start = text.find("<!--", pos)
        if start < 0:
            yield text[pos:]
            return
        yield text[pos:start]
        end = text.find("-->", start + 4)
        if end < 0:
            return
        pos = end + 3


def _refs_of(match: re.Match[str], work: _Collector) -> list[RunRef]:
    if match["line"] is not None:
        return [RunRef(RefKind.RUN, match["entry"], run_id=match["line_id"])]
    if match["uri"] is not None:
        return _uri_refs(_trim(match["uri"]), work)
    if match["www"] is not None:
        return _link_refs(_trim(match["www"]), work)
    bare = match["bare"]
    return [RunRef(RefKind.BARE_RUN_ID, bare, run_id=bare)]


def _trim(token: str) -> str:
    """Drop punctuation that ends the sentence, not the URL (keeps balanced `]`)."""
    unbalanced = token.count("]") - token.count("[")
    end = len(token)
    while end > 0:
        char = token[end - 1]
        if char == "]" and unbalanced > 0:
            unbalanced -= 1
        elif char not in _TRAILING:
            break
        end -= 1
    return token[:end]


def _uri_refs(token: str, work: _Collector) -> list[RunRef]:
    scheme = token.split(":", 1)[0]
    if scheme.lower() in ("http", "https"):
        return _link_refs(token, work)
    if scheme == "runs":
        match = _RUNS_URI.match(token)
        return [RunRef(RefKind.RUN, token, run_id=match["run"])] if match else []
    if scheme == "models":
        return _model_uri_refs(token)
    return []  # any other URI (s3:/, file:/, dbfs:/ ...) names no run


def _model_uri_refs(token: str) -> list[RunRef]:
    match = _MODELS_URI.match(token)
    if match is None:
        return []
    raw = match[0]
    if match["model_id"] is not None:
        return [RunRef(RefKind.LOGGED_MODEL, raw, model_id=match["model_id"])]
    name = unquote(match["name"])
    if match["alias"] is not None:
        return [RunRef(RefKind.MODEL_ALIAS, raw, model_name=name, alias=match["alias"])]
    version = match["version"]
    if version.isdigit():
        return [RunRef(RefKind.MODEL_VERSION, raw, model_name=name, version=version)]
    if version.lower() == "latest":
        return [RunRef(RefKind.MODEL_STAGE, raw, model_name=name, version="latest")]
    if version.lower() in _STAGES:
        return [RunRef(RefKind.MODEL_STAGE, raw, model_name=name, version=version)]
    return []


def _route(url: str) -> str | None:
    """The MLflow route inside a UI link, or None when the link is not an MLflow one."""
    rest = url.split("://", 1)[-1]
    before, hash_mark, fragment = rest.partition("#")
    slash = before.find("/")
    if slash >= 0 and before.startswith("/ml/", slash):
        return before[slash + 4 :]  # Databricks: https://<host>/ml/experiments/...
    if not hash_mark:
        return None
    if fragment.startswith("/"):
        return fragment[1:]
    if fragment.startswith("mlflow/"):
        return fragment[len("mlflow/") :]  # legacy Databricks: ?o=<ws>#mlflow/...
    return None


def _link_refs(url: str, work: _Collector) -> list[RunRef]:
    route = _route(url)
    match = _ROUTE.match(route) if route is not None else None
    if match is None:
        return []
    if match["run"] is not None:
        return [RunRef(RefKind.RUN, url, run_id=match["run"], experiment_id=match["exp"])]
    if match["lone_run"] is not None:
        return [RunRef(RefKind.RUN, url, run_id=match["lone_run"])]
    if match["model_id"] is not None:
        return [
            RunRef(
                RefKind.LOGGED_MODEL,
                url,
                model_id=match["model_id"],
                experiment_id=match["model_exp"],
            )
        ]
    if match["name"] is not None:
        name = unquote(match["name"])
        return [RunRef(RefKind.MODEL_VERSION, url, model_name=name, version=match["version"])]
    return _compare_refs(match["query"], url, work)


def _compare_refs(query: str, url: str, work: _Collector) -> list[RunRef]:
    """`compare-runs?runs=["a","b"]&experiments=["1"]`, plain or URL-encoded.

    The query is split at `&` once and each parameter read on its own: a list that
    never closes ends at its parameter, so `&runs=[` repeated costs one pass, not a
    rescan to the end of the link from every one of them."""
    decoded = unquote(query).replace("&quot;", '"')
    lists: dict[str, list[str]] = {"runs": [], "experiments": []}
    for param in decoded.split("&"):
        work.work += len(param)
        name, _, value = param.partition("=")
        close = value.find("]")
        if name in lists and value.startswith("[") and close > 0:
            lists[name].extend(_QUOTED.findall(value, 1, close))
    experiments = lists["experiments"]
    experiment = experiments[0] if len(experiments) == 1 else None
    return [
        RunRef(RefKind.RUN, url, run_id=run_id, experiment_id=experiment)
        for run_id in lists["runs"]
        if _ID_ONLY.fullmatch(run_id)
    ]
