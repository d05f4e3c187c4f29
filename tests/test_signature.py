"""The signature diff (bot.review.signature): breaking vs compatible, one-line summary."""

from __future__ import annotations

import json

import pytest

from bot.domain.modelchanges import Compat
from bot.review.signature import signature_diff


def cols(*specs: tuple[str, str] | tuple[str, str, bool]) -> str:
    out = []
    for spec in specs:
        name, kind = spec[0], spec[1]
        required = spec[2] if len(spec) == 3 else True
        out.append({"type": kind, "name": name, "required": required})
    return json.dumps(out)


def tensor(dtype: str, shape: list[int]) -> str:
    return json.dumps([{"type": "tensor", "tensor-spec": {"dtype": dtype, "shape": shape}}])


def sig(
    inputs: str, outputs: str = '[{"type": "long"}]', params: str | None = None
) -> dict[str, str]:
    out = {"inputs": inputs, "outputs": outputs}
    if params is not None:
        out["params"] = params
    return out


BASE = sig(cols(("amount", "double"), ("age", "long")))


@pytest.mark.parametrize(
    ("candidate", "summary"),
    [
        (sig(cols(("age", "long"))), "breaking: input `amount` removed"),
        (
            sig(cols(("amount", "float"), ("age", "long"))),
            "breaking: input `amount` type double → float",
        ),
        (
            sig(cols(("amount", "double"), ("age", "long"), ("hour", "long"))),
            "breaking: new required input `hour`",
        ),
        (sig(BASE["inputs"], '[{"type": "double"}]'), "breaking: output `#0` type long → double"),
    ],
    ids=["removed", "retyped", "new-required", "output"],
)
def test_breaking_changes(candidate: dict[str, str], summary: str) -> None:
    diff = signature_diff(BASE, candidate)
    assert diff is not None and diff.breaking
    assert diff.summary == summary


def test_new_optional_input_is_compatible() -> None:
    diff = signature_diff(
        BASE, sig(cols(("amount", "double"), ("age", "long"), ("hour", "long", False)))
    )
    assert diff is not None and not diff.breaking
    assert diff.summary == "compatible: new optional input `hour`"


def test_tensor_shape_and_dtype_changes_are_breaking() -> None:
    diff = signature_diff(sig(tensor("float64", [-1, 30])), sig(tensor("float32", [-1, 29])))
    assert diff is not None
    whats = [c.what for c in diff.changes if c.part == "input"]
    assert whats == ["dtype float64 → float32", "shape [-1, 30] → [-1, 29]"]
    assert all(c.compat is Compat.BREAKING for c in diff.changes)


def test_params_new_is_compatible_removed_is_breaking() -> None:
    params = json.dumps([{"name": "k", "type": "long", "default": 3}])
    more = json.dumps(
        [
            {"name": "k", "type": "long", "default": 5},
            {"name": "t", "type": "double", "default": 0.5},
        ]
    )
    diff = signature_diff(sig(BASE["inputs"], params=params), sig(BASE["inputs"], params=more))
    assert diff is not None and not diff.breaking
    assert {c.what for c in diff.changes} == {"default 3 → 5", "new optional"}
    gone = signature_diff(sig(BASE["inputs"], params=params), sig(BASE["inputs"], params="[]"))
    assert gone is not None and gone.breaking


def test_breaking_changes_come_first_and_the_summary_counts_the_rest() -> None:
    candidate = sig(cols(("age", "long"), ("hour", "long", False)))
    diff = signature_diff(BASE, candidate)
    assert diff is not None
    assert [c.compat for c in diff.changes] == [Compat.BREAKING, Compat.COMPATIBLE]
    assert diff.summary == "breaking: input `amount` removed (+1 more change)"


def test_same_or_unknown_signatures_give_no_diff() -> None:
    assert signature_diff(BASE, dict(BASE)) is None
    assert signature_diff(None, BASE) is None
    assert signature_diff(BASE, None) is None
    assert signature_diff(sig("not json"), sig("[]")) is None
