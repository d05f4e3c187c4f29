"""bot.config.yamlnodes: YAML text to nodes, and nodes to checked values, for any settings file."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import partial

import pytest

from bot.config.yamlnodes import NodeReader, Read, compose
from bot.errors import ConfigError

SOURCE = "jobs.yml"


@dataclass(frozen=True)
class Job:
    """A settings shape that is not model-review's: the reader knows no keys itself."""

    name: str = "default"
    tags: tuple[str, ...] = ()
    retries: int = 0
    enabled: bool = True
    colour: str = "red"


def read_job(text: str) -> Job:
    reader = NodeReader(SOURCE)
    root = compose(text, SOURCE)
    assert root is not None
    reads: dict[str, Read] = {
        "name": reader.text,
        "tags": reader.texts,
        "retries": reader.count,
        "enabled": reader.boolean,
        "colour": partial(reader.choice, allowed={"red": "red", "blue": "blue"}),
    }
    return reader.build("job", root, Job, reads)


def failure(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        read_job(text)
    return caught.value


def test_a_mapping_of_known_keys_becomes_the_dataclass() -> None:
    text = "name: build\ntags: ci\nretries: 3\nenabled: no\ncolour: blue\n"

    assert read_job(text) == Job("build", ("ci",), 3, False, "blue")
    assert read_job("tags: [a, ' b ']\n").tags == ("a", "b")
    assert read_job("name:\nretries: ~\n") == Job()  # null keeps the default


@pytest.mark.parametrize(
    ("text", "key", "line", "words"),
    [
        ("nmae: x\n", "job.nmae", 1, "did you mean `name`?"),
        ("zzz: 1\n", "job.zzz", 1, "the keys allowed here are name, tags"),
        ("name: a\nname: b\n", "job.name", 2, "duplicate key"),
        ("<<: {name: a}\n", "job", 1, "merge keys"),
        ("true: 1\n", "job", 1, "keys must be names"),
        ("retries: !!int many\n", "job.retries", 1, "cannot read"),
        ("retries: -1\n", "job.retries", 1, "0 or more"),
        ("tags:\n  - a\n  - 3\n", "job.tags[1]", 3, "non-empty string, got 3"),
        ("enabled: 'yes'\n", "job.enabled", 1, 'true or false, got "yes"'),
        ("colour: green\n", "job.colour", 1, "expected one of red, blue"),
    ],
)
def test_failures_name_the_key_the_line_and_the_source(
    text: str, key: str, line: int, words: str
) -> None:
    error = failure(text)

    assert (error.key, error.line, error.source) == (key, line, SOURCE)
    assert words in error.message


def test_ids_stay_as_written_and_patterns_are_checked() -> None:
    reader = NodeReader(SOURCE)
    digits, word = compose("0123", SOURCE), compose("Hello", SOURCE)
    assert digits is not None and word is not None
    lowercase = (re.compile(r"[a-z]+"), "a lowercase word")

    assert reader.text("id", digits, ids=True) == "0123"  # not octal 83
    assert reader.texts("ids", digits, ids=True) == ("0123",)
    with pytest.raises(ConfigError, match="expected a non-empty string, got 0123"):
        reader.text("id", digits)
    with pytest.raises(ConfigError, match='"Hello" is not a lowercase word'):
        reader.text("word", word, like=lowercase)


def test_an_empty_document_has_no_root() -> None:
    assert compose("# nothing\n", SOURCE) is None


@pytest.mark.parametrize(
    ("text", "line"),
    [("a: b\n  c: d\n", 2), ("ok: 1\nbad: \x00\n", 2), ("a: 1\n---\nb: 2\n", 2)],
)
def test_not_yaml_is_a_config_error_with_its_line(text: str, line: int) -> None:
    with pytest.raises(ConfigError) as caught:
        compose(text, SOURCE)

    assert (caught.value.key, caught.value.line, caught.value.source) == (None, line, SOURCE)
    assert "not valid YAML" in caught.value.message


def test_deep_nesting_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="not valid YAML"):
        compose("a: " + "[" * 100_000, SOURCE)
