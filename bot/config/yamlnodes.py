"""Checked values out of a YAML document's nodes, for settings files.

Knows YAML, not any one file's keys: `compose` parses the text into nodes (no Python
objects, no alias expansion), and a `NodeReader` turns nodes into strings, lists,
booleans, counts, choices, and dataclasses from mappings of known keys. Every failure
is a ConfigError that names the dotted key and its 1-based line.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
from typing import NoReturn, TypeVar

import yaml

from bot.errors import ConfigError

_T = TypeVar("_T")
Read = Callable[[str, yaml.Node], object]  # (dotted path, node) -> value
Entry = tuple[str, str, yaml.Node, yaml.Node]  # name, dotted path, key node, value node
Like = tuple[re.Pattern[str], str] | None  # a pattern a string must match, and its name

_TAG = "tag:yaml.org,2002:"


def compose(text: str, source: str) -> yaml.Node | None:
    """The document's root node (None for an empty one); bad YAML is a ConfigError."""
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


def show(node: yaml.Node) -> str:
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


class NodeReader:
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
            self.fail(path, node, f"cannot read {show(node)} as {kind}")
        return node

    def entries(self, path: str, node: yaml.Node) -> list[Entry]:
        """The (name, path, key, value) of a mapping; null is an empty one."""
        if self.is_null(node):
            return []
        if not isinstance(node, yaml.MappingNode):
            self.fail(path, node, f"expected `key: value` settings, got {show(node)}")
        seen: set[str] = set()
        found: list[Entry] = []
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
            self.fail(path, node, f"keys must be names, got {show(node)}")
        return str(node.value)

    def build(
        self, path: str, node: yaml.Node, make: Callable[..., _T], reads: dict[str, Read]
    ) -> _T:
        """A dataclass from a mapping of known keys; absent or null keys keep defaults."""
        kwargs: dict[str, object] = {}
        for name, full, key_node, value_node in self.entries(path, node):
            if name not in reads:
                self.fail(full, key_node, _unknown(name, reads))
            if not self.is_null(value_node):
                kwargs[name] = reads[name](full, value_node)
        return make(**kwargs)

    def text(self, path: str, node: yaml.Node, *, ids: bool = False, like: Like = None) -> str:
        """A non-empty string; `ids`: digits count, as written; `like`: (pattern, name)."""
        value = self.value(path, node)
        if ids and type(value) is int:
            value = str(node.value)
        if not isinstance(value, str) or not value.strip():
            self.fail(path, node, f"expected a non-empty string, got {show(node)}")
        if like is not None and not like[0].fullmatch(value.strip()):
            self.fail(path, node, f"{show(node)} is not {like[1]}")
        return value.strip()

    def texts(
        self, path: str, node: yaml.Node, *, ids: bool = False, like: Like = None
    ) -> tuple[str, ...]:
        """A list of strings; one string alone is a list of one."""
        if isinstance(node, yaml.SequenceNode):
            items = enumerate(node.value)
            return tuple(self.text(f"{path}[{i}]", n, ids=ids, like=like) for i, n in items)
        value = self.value(path, node)
        if not isinstance(value, str) and not (ids and type(value) is int):
            self.fail(path, node, f"expected a list of strings, got {show(node)}")
        return (self.text(path, node, ids=ids, like=like),)

    def boolean(self, path: str, node: yaml.Node) -> bool:
        value = self.value(path, node)
        if not isinstance(value, bool):
            self.fail(path, node, f"expected true or false, got {show(node)}")
        return value

    def count(self, path: str, node: yaml.Node) -> int:
        value = self.value(path, node)
        if type(value) is not int or value < 0:
            self.fail(path, node, f"expected a whole number, 0 or more, got {show(node)}")
        return value

    def choice(self, path: str, node: yaml.Node, allowed: dict[str, _T]) -> _T:
        value = self.value(path, node)
        if not isinstance(value, str) or value not in allowed:
            self.fail(path, node, f"expected one of {', '.join(allowed)}, got {show(node)}")
        return allowed[value]
