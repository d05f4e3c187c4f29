"""Find the MLflow runs and models a pull request refers to.

Pure text scanning. The PR title, body and comments are searched, in that order, for
MLflow UI links (open source and Databricks), `runs:/` and `models:/` URIs,
`mlflow-run: <id>` lines and lone 32-hex run ids. Every pattern is linear in the
length of the text, so a megabyte of PR body costs one pass and no backtracking.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import replace
from urllib.parse import unquote

from bot.domain import RefKind, RunRef

MAX_REFS = 50  # at most this many references are returned; the caller reports the cap

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
_LIST_PARAM = re.compile(r"(?:^|&)(?P<name>runs|experiments)=\[(?P<items>[^\]]*)\]")
_QUOTED = re.compile(r'"([^"]*)"')
_ID_ONLY = re.compile(_ID)
_STAGES = frozenset({"production", "staging", "archived", "none"})
_TRAILING = frozenset(".,;:!?*_~'\"")


def find_refs(texts: Iterable[str]) -> list[RunRef]:
    """Every MLflow reference in `texts`, de-duplicated by key, in order of first mention.

    HTML comments are skipped (the bot's own hidden state lives in one). At most
    MAX_REFS references are returned; a later, stronger spelling of an id already
    found (a link after a bare id) still upgrades it in place.
    """
    found = _Collector()
    for text in texts:
        for segment in _visible(text):
            for match in _TOKEN.finditer(segment):
                for ref in _refs_of(match):
                    found.add(ref)
    return found.refs


class _Collector:
    def __init__(self) -> None:
        self.refs: list[RunRef] = []
        self._index: dict[tuple[str, ...], int] = {}

    def add(self, ref: RunRef) -> None:
        index = self._index.get(ref.key)
        if index is not None:
            self.refs[index] = _merge(self.refs[index], ref)
        elif len(self.refs) < MAX_REFS:
            self._index[ref.key] = len(self.refs)
            self.refs.append(ref)


def _merge(old: RunRef, new: RunRef) -> RunRef:
    """Two spellings of one target: keep the stronger kind and any experiment id."""
    if old.kind is RefKind.BARE_RUN_ID and new.kind is RefKind.RUN:
        return replace(new, experiment_id=new.experiment_id or old.experiment_id)
    if old.experiment_id is None and new.experiment_id is not None:
        return replace(old, experiment_id=new.experiment_id)
    return old


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


def _refs_of(match: re.Match[str]) -> list[RunRef]:
    if match["line"] is not None:
        return [RunRef(RefKind.RUN, match["entry"], run_id=match["line_id"])]
    if match["uri"] is not None:
        return _uri_refs(_trim(match["uri"]))
    if match["www"] is not None:
        return _link_refs(_trim(match["www"]))
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


def _uri_refs(token: str) -> list[RunRef]:
    scheme = token.split(":", 1)[0]
    if scheme.lower() in ("http", "https"):
        return _link_refs(token)
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


def _link_refs(url: str) -> list[RunRef]:
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
    return _compare_refs(match["query"], url)


def _compare_refs(query: str, url: str) -> list[RunRef]:
    """`compare-runs?runs=["a","b"]&experiments=["1"]`, plain or URL-encoded."""
    decoded = unquote(query).replace("&quot;", '"')
    lists: dict[str, list[str]] = {"runs": [], "experiments": []}
    for param in _LIST_PARAM.finditer(decoded):
        lists[param["name"]].extend(_QUOTED.findall(param["items"]))
    experiments = lists["experiments"]
    experiment = experiments[0] if len(experiments) == 1 else None
    return [
        RunRef(RefKind.RUN, url, run_id=run_id, experiment_id=experiment)
        for run_id in lists["runs"]
        if _ID_ONLY.fullmatch(run_id)
    ]
