"""`.github/model-review.yml`: dataclasses with defaults, and a validating parser.

Every key is known; an unknown or mistyped key is a ConfigError that names the key
and its line. A missing file means the defaults.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum
from fnmatch import fnmatchcase
from functools import partial
from typing import NoReturn, TypeVar

import yaml

from bot.domain import Direction, Threshold
from bot.errors import ConfigError

CONFIG_PATH = ".github/model-review.yml"
MAX_CONFIG_BYTES = 256 * 1024


class ImageHost(Enum):
    BRANCH = "branch"
    MLFLOW = "mlflow"
    NONE = "none"


@dataclass(frozen=True)
class MetricRule:
    """Per-metric settings; the key in config is a metric name or a glob."""

    pattern: str
    direction: Direction | None = None  # None: guessed from the name
    threshold: Threshold | None = None  # None: metrics.threshold


@dataclass(frozen=True)
class MetricsConfig:
    threshold: Threshold = field(default_factory=Threshold)
    rules: tuple[MetricRule, ...] = ()
    include: tuple[str, ...] = ()  # globs; empty = all
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True)
class ParamsConfig:
    ignore: tuple[str, ...] = ()  # globs of params never shown as changes


@dataclass(frozen=True)
class BaselineConfig:
    alias: str = "production"
    stage_fallback: bool = True  # also try the deprecated "Production" stage
    run: str | None = None  # a pinned baseline run id: wins over the registry
    model: str | None = None  # the registered model when nothing else says
    models: tuple[tuple[str, str], ...] = ()  # (experiment name or id, registered model)


@dataclass(frozen=True)
class MlflowConfig:
    ui_url: str | None = None  # where people open MLflow, if not the tracking URI
    experiments: tuple[str, ...] = ()  # allow-list (names or globs); empty = all
    models: tuple[str, ...] = ()  # allow-list of registered models; empty = all


@dataclass(frozen=True)
class ReviewersConfig:
    primary: tuple[str, ...] = ()  # logins or org/team slugs
    secondary: tuple[str, ...] = ()


@dataclass(frozen=True)
class GateConfig:
    context: str = "model-review"
    stale_on_new_commits: bool = False
    review_drafts: bool = False


@dataclass(frozen=True)
class PlotsConfig:
    host: ImageHost | None = None  # None: branch on GitHub, files for `render`
    branch: str = "model-review-assets"
    curves: tuple[str, ...] = ()  # metric names; empty = the longest histories
    max_curves: int = 4
    images: tuple[str, ...] = ("*.png", "*.jpg", "*.jpeg", "*.svg")


class NotesMode(Enum):
    OFF = "off"
    APPEND = "append"  # a dated section in the model version's description


@dataclass(frozen=True)
class RecordConfig:
    """The review's record in MLflow (the `model_review.*` tags are always written)."""

    notes: NotesMode = NotesMode.OFF


@dataclass(frozen=True)
class Config:
    mlflow: MlflowConfig = field(default_factory=MlflowConfig)
    baseline: BaselineConfig = field(default_factory=BaselineConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    params: ParamsConfig = field(default_factory=ParamsConfig)
    reviewers: ReviewersConfig = field(default_factory=ReviewersConfig)
    gate: GateConfig = field(default_factory=GateConfig)
    plots: PlotsConfig = field(default_factory=PlotsConfig)
    require_review_for: tuple[str, ...] = ()  # path globs that need a linked run
    record: RecordConfig = field(default_factory=RecordConfig)
    promote: bool = False  # on merge, move baseline.alias to the approved version


# --- questions the pipeline asks of the config --------------------------------


def metric_rule(config: MetricsConfig, key: str) -> MetricRule | None:
    """The rule for metric `key`: an exact name wins over the first matching glob."""
    exact = next((rule for rule in config.rules if rule.pattern == key), None)
    if exact is not None:
        return exact
    return next((rule for rule in config.rules if fnmatchcase(key, rule.pattern)), None)


def metric_included(config: MetricsConfig, key: str) -> bool:
    """Whether metric `key` is shown: it matches `include` (if any) and not `exclude`."""
    if config.include and not _matches_any(key, config.include):
        return False
    return not _matches_any(key, config.exclude)


def param_ignored(config: ParamsConfig, key: str) -> bool:
    return _matches_any(key, config.ignore)


def _matches_any(key: str, patterns: Iterable[str]) -> bool:
    return any(fnmatchcase(key, pattern) for pattern in patterns)


# --- the parser -----------------------------------------------------------------


def load_config(text: str | None, source: str = CONFIG_PATH) -> Config:
    """Parse `.github/model-review.yml`; None or blank text means the defaults.

    Raises ConfigError naming the dotted key and the 1-based line of the problem.
    """
    if text is None or not text.strip():
        return Config()
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_CONFIG_BYTES:
        raise ConfigError(
            f"config too large ({size} bytes, the limit is {MAX_CONFIG_BYTES}); "
            "keep only model-review settings in it",
            source=source,
        )
    root = _compose(text, source)
    reader = _Reader(source)
    if root is None or reader.is_null(root):
        return Config()
    if not isinstance(root, yaml.MappingNode):
        reader.fail(None, root, f"the top level must be `key: value` settings, got {_show(root)}")
    return reader.build("", root, Config, _sections(reader))


def _compose(text: str, source: str) -> yaml.Node | None:
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "cannot be parsed"
        raise ConfigError(f"not valid YAML: {problem}", line=line, source=source) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        message = f"not valid YAML: {exc.reason} (character {exc.character!r})"
        raise ConfigError(message, line=line, source=source) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {exc}", source=source) from None
    except RecursionError:
        raise ConfigError("not valid YAML: nested too deeply", source=source) from None


_T = TypeVar("_T")
_Read = Callable[[str, yaml.Node], object]
_Entry = tuple[str, str, yaml.Node, yaml.Node]  # name, dotted path, key node, value node
_Like = tuple[re.Pattern[str], str] | None  # a pattern a string must match, and its name

_TAG = "tag:yaml.org,2002:"
_LOGIN = (re.compile(r"@?[A-Za-z0-9-]+(?:/[A-Za-z0-9_.-]+)?"), "a GitHub login or org/team")
_ALIAS = (re.compile(r"[A-Za-z0-9_-]+"), "an MLflow alias")
_RUN_ID = (re.compile(r"[A-Za-z0-9_-]+"), "an MLflow run id")
_BRANCH = (re.compile(r"[A-Za-z0-9_][A-Za-z0-9._/-]{0,199}"), "a usable branch name")
_PERCENT = re.compile(r"\s*(-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))\s*%\s*")
_DIRECTIONS = {d.value: d for d in Direction}
_HOSTS = {h.value: h for h in ImageHost}
_NOTES = {m.value: m for m in NotesMode}


def _show(node: yaml.Node) -> str:
    """A value as the user wrote it, for error messages."""
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if node.tag == _TAG + "null":
        return "nothing"
    text = str(node.value)
    text = text if len(text) <= 40 else text[:37] + "..."
    return f'"{text}"' if node.tag == _TAG + "str" else text


def _unknown(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    if close:
        return f"unknown key; did you mean `{close[0]}`?"
    return f"unknown key; the keys allowed here are {', '.join(known)}"


class _Reader:
    """Turns YAML nodes into checked Python values; every failure names key and line."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._loader = yaml.SafeLoader("")

    def fail(self, path: str | None, node: yaml.Node, message: str) -> NoReturn:
        line = node.start_mark.line + 1
        raise ConfigError(message, key=path or None, line=line, source=self.source)

    def is_null(self, node: yaml.Node) -> bool:
        return isinstance(node, yaml.ScalarNode) and node.tag == _TAG + "null"

    def value(self, path: str, node: yaml.Node) -> object:
        """A scalar's Python value; anything else (or an unusual tag) comes back as the node."""
        if not isinstance(node, yaml.ScalarNode):
            return node
        kind = node.tag.removeprefix(_TAG)
        if kind == "str":
            return str(node.value)
        try:
            if kind == "int":
                return self._loader.construct_yaml_int(node)
            if kind == "float":
                return self._loader.construct_yaml_float(node)
            if kind == "bool":
                return self._loader.construct_yaml_bool(node)
        except (ValueError, KeyError):
            self.fail(path, node, f"cannot read {_show(node)} as {kind}")
        return node

    def entries(self, path: str, node: yaml.Node) -> list[_Entry]:
        """The (name, path, key, value) of a mapping; null is an empty one."""
        if self.is_null(node):
            return []
        if not isinstance(node, yaml.MappingNode):
            self.fail(path, node, f"expected `key: value` settings, got {_show(node)}")
        seen: set[str] = set()
        found: list[_Entry] = []
        for key_node, value_node in node.value:
            name = self.key(path, key_node)
            full = f"{path}.{name}" if path else name
            if name in seen:
                self.fail(full, key_node, "duplicate key; keep only one")
            seen.add(name)
            found.append((name, full, key_node, value_node))
        return found

    def key(self, path: str, node: yaml.Node) -> str:
        if node.tag == _TAG + "merge":
            self.fail(path, node, "YAML merge keys (`<<`) are not supported; write it out")
        if not isinstance(node, yaml.ScalarNode) or node.tag in (_TAG + "null", _TAG + "bool"):
            self.fail(path, node, f"keys must be names, got {_show(node)}")
        return str(node.value)

    def build(
        self, path: str, node: yaml.Node, make: Callable[..., _T], reads: dict[str, _Read]
    ) -> _T:
        """A dataclass from a mapping of known keys; absent or null keys keep defaults."""
        kwargs: dict[str, object] = {}
        for name, full, key_node, value_node in self.entries(path, node):
            if name not in reads:
                self.fail(full, key_node, _unknown(name, reads))
            if not self.is_null(value_node):
                kwargs[name] = reads[name](full, value_node)
        return make(**kwargs)

    def text(self, path: str, node: yaml.Node, *, ids: bool = False, like: _Like = None) -> str:
        """A non-empty string; `ids`: digits count, as written; `like`: (pattern, name)."""
        value = self.value(path, node)
        if ids and type(value) is int:
            value = str(node.value)
        if not isinstance(value, str) or not value.strip():
            self.fail(path, node, f"expected a non-empty string, got {_show(node)}")
        if like is not None and not like[0].fullmatch(value.strip()):
            self.fail(path, node, f"{_show(node)} is not {like[1]}")
        return value.strip()

    def texts(
        self, path: str, node: yaml.Node, *, ids: bool = False, like: _Like = None
    ) -> tuple[str, ...]:
        """A list of strings; one string alone is a list of one."""
        if isinstance(node, yaml.SequenceNode):
            items = enumerate(node.value)
            return tuple(self.text(f"{path}[{i}]", n, ids=ids, like=like) for i, n in items)
        value = self.value(path, node)
        if not isinstance(value, str) and not (ids and type(value) is int):
            self.fail(path, node, f"expected a list of strings, got {_show(node)}")
        return (self.text(path, node, ids=ids, like=like),)

    def boolean(self, path: str, node: yaml.Node) -> bool:
        value = self.value(path, node)
        if not isinstance(value, bool):
            self.fail(path, node, f"expected true or false, got {_show(node)}")
        return value

    def count(self, path: str, node: yaml.Node) -> int:
        value = self.value(path, node)
        if type(value) is not int or value < 0:
            self.fail(path, node, f"expected a whole number, 0 or more, got {_show(node)}")
        return value

    def choice(self, path: str, node: yaml.Node, allowed: dict[str, _T]) -> _T:
        value = self.value(path, node)
        if not isinstance(value, str) or value not in allowed:
            self.fail(path, node, f"expected one of {', '.join(allowed)}, got {_show(node)}")
        return allowed[value]

    def threshold(self, path: str, node: yaml.Node) -> Threshold:
        """A number >= 0 (absolute) or "N%" (relative, kept as a fraction)."""
        value = self.value(path, node)
        percent = _PERCENT.fullmatch(value) if isinstance(value, str) else None
        if percent is not None:
            number = float(percent[1])
        elif isinstance(value, int | float) and not isinstance(value, bool):
            number = float(value)
        else:
            expected = 'expected a number (absolute) or a percentage like "2%" (relative)'
            self.fail(path, node, f"{expected}, got {_show(node)}")
        if not math.isfinite(number) or number < 0:
            self.fail(path, node, f"a threshold must be a finite number >= 0, got {_show(node)}")
        return Threshold(number / 100, relative=True) if percent else Threshold(number)


def _sections(r: _Reader) -> dict[str, _Read]:
    """What each key of the file holds, section by section."""

    def url(path: str, node: yaml.Node) -> str:
        value = r.text(path, node)
        if not value.startswith(("http://", "https://")) or any(c.isspace() for c in value):
            r.fail(path, node, f"expected an http(s):// address, got {_show(node)}")
        return value.rstrip("/")

    def logins(path: str, node: yaml.Node) -> tuple[str, ...]:
        found = (item.removeprefix("@") for item in r.texts(path, node, like=_LOGIN))
        return tuple(dict.fromkeys(found))  # once each, in order

    def direction(path: str, node: yaml.Node) -> Direction:
        return r.choice(path, node, _DIRECTIONS)

    def rule(path: str, pattern: str, node: yaml.Node) -> MetricRule:
        if isinstance(node, yaml.ScalarNode) and not r.is_null(node):
            return MetricRule(pattern, direction=direction(path, node))  # `val_loss: lower`
        reads: dict[str, _Read] = {"direction": direction, "threshold": r.threshold}
        return r.build(path, node, lambda **kw: MetricRule(pattern, **kw), reads)

    def rules(path: str, node: yaml.Node) -> tuple[MetricRule, ...]:
        return tuple(rule(full, name, value) for name, full, _, value in r.entries(path, node))

    def model_map(path: str, node: yaml.Node) -> tuple[tuple[str, str], ...]:
        pairs = r.entries(path, node)
        return tuple((name, r.text(full, value, ids=True)) for name, full, _, value in pairs)

    def notes_mode(path: str, node: yaml.Node) -> NotesMode:
        if r.value(path, node) is False:  # YAML 1.1 reads a bare `off` as false
            return NotesMode.OFF
        return r.choice(path, node, _NOTES)

    def section(make: Callable[..., object], reads: dict[str, _Read]) -> _Read:
        return lambda path, node: r.build(path, node, make, reads)

    return {
        "mlflow": section(
            MlflowConfig,
            {"ui_url": url, "experiments": partial(r.texts, ids=True), "models": r.texts},
        ),
        "baseline": section(
            BaselineConfig,
            {
                "alias": partial(r.text, ids=True, like=_ALIAS),
                "stage_fallback": r.boolean,
                "run": partial(r.text, ids=True, like=_RUN_ID),
                "model": r.text,
                "models": model_map,
            },
        ),
        "metrics": section(
            MetricsConfig,
            {"threshold": r.threshold, "include": r.texts, "exclude": r.texts, "rules": rules},
        ),
        "params": section(ParamsConfig, {"ignore": r.texts}),
        "reviewers": section(ReviewersConfig, {"primary": logins, "secondary": logins}),
        "gate": section(
            GateConfig,
            {"context": r.text, "stale_on_new_commits": r.boolean, "review_drafts": r.boolean},
        ),
        "plots": section(
            PlotsConfig,
            {
                "host": partial(r.choice, allowed=_HOSTS),
                "branch": partial(r.text, like=_BRANCH),
                "curves": r.texts,
                "max_curves": r.count,
                "images": r.texts,
            },
        ),
        "require_review_for": r.texts,
        "record": section(RecordConfig, {"notes": notes_mode}),
        "promote": r.boolean,
    }
