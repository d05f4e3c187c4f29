"""docs/reliability.md is generated from the tests: its matrix cannot drift.

The fault and input matrix lists every `@row` of the modules in MODULES
(see tests/matrix.py). After
changing a row, rewrite the document with
`python -m pytest tests/test_reliability.py --update-golden` and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import test_access
import test_action
import test_evaluate
import test_evidence
import test_faults
import test_following
import test_history
import test_hostile
import test_mlflowhook
import test_operations
import test_privacy
import test_recovery
import test_redisworker
import test_trust
import test_webhook
from matrix import ROWS, TABLES, Row, render

DOC = Path(__file__).resolve().parents[1] / "docs" / "reliability.md"
START, END = "<!-- matrix:start -->", "<!-- matrix:end -->"
MODULES = (
    test_privacy,
    test_hostile,
    test_faults,
    test_webhook,
    test_mlflowhook,
    test_action,
    test_trust,
    test_history,
    test_access,
    test_redisworker,
    test_following,
    test_operations,
    test_recovery,
    test_evidence,
    test_evaluate,
)


def _rows() -> list[Row]:
    order = {module.__name__ + ".py": i for i, module in enumerate(MODULES)}
    return sorted(ROWS.values(), key=lambda r: order[r.module])  # stable: file order kept


def _updating(request: pytest.FixtureRequest) -> bool:
    flag = request.config.getoption("--update-golden", default=False)
    return bool(flag) or os.environ.get("UPDATE_GOLDEN") == "1"


def test_every_row_names_a_test_that_exists() -> None:
    modules = {module.__name__ + ".py": module for module in MODULES}
    assert {r.table for r in ROWS.values()} == set(TABLES)
    for found in ROWS.values():
        test = getattr(modules[found.module], found.test, None)
        assert callable(test) and found.test.startswith("test_"), found.test_id


def test_the_document_holds_the_matrix_of_the_tests(request: pytest.FixtureRequest) -> None:
    text = DOC.read_text(encoding="utf-8")
    assert text.count(START) == 1 and text.count(END) == 1, f"{DOC} lost its markers"
    head, rest = text.split(START)
    _, tail = rest.split(END)
    wanted = f"{head}{START}\n\n{render(_rows())}\n{END}{tail}"
    if _updating(request):
        DOC.write_text(wanted, encoding="utf-8")
        text = wanted
    assert text == wanted, (
        "docs/reliability.md differs from the tests' rows: run "
        "`python -m pytest tests/test_reliability.py --update-golden` and review the diff"
    )
