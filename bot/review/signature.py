"""The signature diff: the logged models' MLmodel `signature` (inputs, outputs, params),
candidate against production, each change classified breaking or compatible. Pure.

Breaking: an input removed or retyped, a new required input, any change of an output,
a tensor's shape or dtype changed, a param removed or retyped. Compatible: a new
optional input, an input that became optional, a new param or a param's new default.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from bot.domain.modelchanges import Compat, SignatureChange, SignatureDiff

PARTS = (("inputs", "input"), ("outputs", "output"), ("params", "param"))


@dataclass(frozen=True)
class Spec:
    name: str
    kind: str  # column type, or "tensor"
    shape: str | None = None  # tensors (and params with a shape)
    dtype: str | None = None  # tensors
    required: bool = True
    default: str | None = None  # params


def _spec(i: int, raw: Mapping[str, object]) -> Spec:
    tensor = raw.get("tensor-spec")
    tensor = tensor if isinstance(tensor, Mapping) else {}
    shape = tensor.get("shape", raw.get("shape"))
    return Spec(
        name=str(raw.get("name") or f"#{i}"),
        kind=json.dumps(raw["type"]) if isinstance(raw.get("type"), dict) else str(raw.get("type")),
        shape=None if shape is None else json.dumps(shape),
        dtype=None if tensor.get("dtype") is None else str(tensor["dtype"]),
        required=raw.get("required", True) is not False,
        default=None if raw.get("default") is None else json.dumps(raw["default"]),
    )


def parse(text: str | None) -> dict[str, Spec]:
    """The specs of one part of a signature (a JSON list), by name; {} when empty."""
    try:
        items = json.loads(text) if text else []
    except ValueError:
        return {}
    if not isinstance(items, list):
        return {}
    specs = (_spec(i, raw) for i, raw in enumerate(items) if isinstance(raw, Mapping))
    return {s.name: s for s in specs}


def _changed(old: Spec, new: Spec) -> list[tuple[str, bool]]:
    """(what, breaking) for each difference of one spec."""
    out: list[tuple[str, bool]] = []
    if old.kind != new.kind:
        out.append((f"type {old.kind} → {new.kind}", True))
    if old.dtype != new.dtype:
        out.append((f"dtype {old.dtype} → {new.dtype}", True))
    if old.shape != new.shape:
        out.append((f"shape {old.shape} → {new.shape}", True))
    if old.required != new.required:
        out.append(("now optional", False) if old.required else ("now required", True))
    if old.default != new.default:
        out.append((f"default {old.default} → {new.default}", False))
    return out


def _part(part: str, old: dict[str, Spec], new: dict[str, Spec]) -> list[SignatureChange]:
    def change(name: str, what: str, breaking: bool) -> SignatureChange:
        breaking = breaking or part == "output"  # a caller reads every output
        return SignatureChange(part, name, what, Compat.BREAKING if breaking else Compat.COMPATIBLE)

    out = [change(n, "removed", True) for n in old if n not in new]
    for name, spec in new.items():
        if name not in old:
            required = spec.required and part == "input"
            out.append(change(name, f"new {'required' if required else 'optional'}", required))
            continue
        out += [change(name, what, breaking) for what, breaking in _changed(old[name], spec)]
    return out


def _phrase(c: SignatureChange) -> str:
    if c.what == "removed":
        return f"{c.part} `{c.name}` removed"
    if c.what.startswith("new "):
        return f"{c.what} {c.part} `{c.name}`"
    return f"{c.part} `{c.name}` {c.what}"


def summary_line(changes: list[SignatureChange]) -> str:
    breaking = [c for c in changes if c.compat is Compat.BREAKING]
    first = (breaking or changes)[0]
    more = len(changes) - 1
    tail = f" (+{more} more {'change' if more == 1 else 'changes'})" if more else ""
    return f"{'breaking' if breaking else 'compatible'}: {_phrase(first)}{tail}"


def signature_diff(
    production: Mapping[str, str] | None, candidate: Mapping[str, str] | None
) -> SignatureDiff | None:
    """The changes from production's signature to the candidate's; None when both are
    the same (or either is unknown)."""
    if production is None or candidate is None:
        return None
    changes: list[SignatureChange] = []
    for key, part in PARTS:
        changes += _part(part, parse(production.get(key)), parse(candidate.get(key)))
    if not changes:
        return None
    changes.sort(key=lambda c: c.compat is not Compat.BREAKING)
    return SignatureDiff(tuple(changes), summary_line(changes))
