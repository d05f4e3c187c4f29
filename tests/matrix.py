"""The rows of docs/reliability.md, declared by the tests that prove them.

A test that covers a row of the fault and input matrix says so with
`@row(table, case, result)`. tests/test_reliability.py renders every row into the
document and fails when the file differs, so the matrix cannot drift from the
tests; `pytest tests/test_reliability.py --update-golden` rewrites it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

TABLES = {
    "privacy": "Privacy: what a pull request can learn from MLflow",
    "input": "Hostile input",
    "fault": "Faults: MLflow and GitHub failing",
    "race": "Races",
    "gate": "Gate integrity: who can turn the gate green, and what they approved",
    "queue": "The App's queue: workers dying, deliveries lost",
}

_F = TypeVar("_F", bound=Callable[..., object])


@dataclass(frozen=True)
class Row:
    table: str  # a key of TABLES
    case: str  # what was tried
    result: str  # what the bot did, as the test asserts it
    module: str  # the test module's file name, e.g. "test_faults.py"
    test: str  # the test function's name (all its parametrized cases)

    @property
    def test_id(self) -> str:
        return f"{self.module}::{self.test}"


ROWS: dict[str, Row] = {}  # by test id: a module imported twice registers once


def row(table: str, case: str, result: str) -> Callable[[_F], _F]:
    """Declare that the decorated test proves one row of the matrix."""
    if table not in TABLES:
        raise ValueError(f"unknown matrix table {table!r}; use one of {sorted(TABLES)}")

    def mark(test: _F) -> _F:
        module = test.__module__.rsplit(".", 1)[-1] + ".py"
        found = Row(table, case, result, module, test.__name__)
        ROWS[found.test_id] = found
        return test

    return mark


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def render(rows: list[Row]) -> str:
    """The generated part of docs/reliability.md: one table per group, in file order."""
    out: list[str] = []
    for key, title in TABLES.items():
        mine = [r for r in rows if r.table == key]
        if not mine:
            continue
        out += [f"### {title}", "", "| Case | Result | Test |", "|:--|:--|:--|"]
        out += [f"| {_cell(r.case)} | {_cell(r.result)} | `{r.test_id}` |" for r in mine]
        out.append("")
    return "\n".join(out)
