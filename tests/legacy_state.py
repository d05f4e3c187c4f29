"""State blocks as the bot wrote them before version 3 (acba6ac:bot/handlers/state.py):
the typed parts kept as text in a free-form `extra` map, under the keys "models",
"plots", "recorded", "baseline" and (30ac31a) "failure"; version 1 without `basis` and
`why`. For the tests
of the migration, which must read them without making open approvals stale."""

from __future__ import annotations

import json
from typing import Any

from bot.handlers.state import BotState, _checksum

_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"}
_IMAGE_FIELDS = ("name", "title", "alt", "url", "primary", "group")  # no sha256 then

# Written by the version 2 code (acba6ac) for a PR with two models under review.
V2_BLOCK = (
    '<!-- model-review:state {"basis": {"baseline": "v1 (run `aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa`) '
    '| 1a2b3c4d", "versions cccccccccccccccccccccccccccccccc": "v2 | 5e6f7a8b"}, "changed_at": '
    '"2026-11-27T10:01:00Z", "extra": {"baseline": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:1", "models": '
    '"{\\"experiment:churn\\":[\\"judy\\",\\"ken\\",\\"eeeeeeeeeeeeeeee\\",'
    '\\"2026-11-27T10:01:00Z\\"],\\"fraud-model\\":[\\"frank\\",\\"grace\\",'
    '\\"ffffffffffffffff\\",\\"2026-11-27T10:01:00Z\\"]}", '
    '"plots": "{\\"images\\": [{\\"alt\\": \\"bars\\", \\"group\\": \\"plots\\", \\"name\\": '
    '\\"metrics.png\\", \\"primary\\": true, \\"title\\": \\"Metrics\\", \\"url\\": '
    '\\"https://github.com/acme/fraud/blob/9999999999999999999999999999999999999999/model-review/'
    'metrics-aaaaaaaaaaaaaaaaaaaa.png?raw=true\\"}], \\"key\\": \\"kkkkkkkkkkkkkkkkkkkk\\"}", '
    '"recorded": "cccccccccccccccccccccccccccccccc"}, "fingerprint": "0123456789abcdef", '
    '"head_sha": "1111111111111111111111111111111111111111", "primary": null, "secondary": null, '
    '"sum": "dd6a6298c3adbecf", "v": 2, "why": "the runs under review changed"} -->'
)
# Written by the version 2 code (30ac31a) after a review that failed while MLflow was down.
V2_FAILED_BLOCK = (
    '<!-- model-review:state {"basis": {"baseline": "v1 (run `aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa`) '
    '| 1a2b3c4d"}, "changed_at": "2026-11-27T10:01:00Z", "extra": {"baseline": '
    '"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:1", "failure": "transient: MLflow at http://mlflow:5000 '
    'cannot be reached"}, "fingerprint": "0123456789abcdef", "head_sha": '
    '"1111111111111111111111111111111111111111", "primary": "bob", "secondary": "carol", '
    '"sum": "1f49cc1f34533efe", "v": 2, "why": "the runs under review changed"} -->'
)
# Written by the version 1 code for a PR reviewed as one model.
V1_BLOCK = (
    '<!-- model-review:state {"changed_at": "2026-11-27T10:01:00Z", "extra": {"baseline": '
    '"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:1", "recorded": "cccccccccccccccccccccccccccccccc"}, '
    '"fingerprint": "0123456789abcdef", "head_sha": "1111111111111111111111111111111111111111", '
    '"primary": "bob", "secondary": "carol", "sum": "803215f17dbe0bcc", "v": 1} -->'
)


def _extra(state: BotState) -> dict[str, str]:
    extra: dict[str, str] = {}
    if state.plots is not None:
        images = [{f: getattr(i, f) for f in _IMAGE_FIELDS} for i in state.plots.images]
        extra["plots"] = json.dumps({"key": state.plots.key, "images": images}, sort_keys=True)
    if state.recorded:
        extra["recorded"] = ",".join(sorted(state.recorded))
    if state.models:
        packed = {
            k: [m.primary, m.secondary, m.fingerprint, m.changed_at]
            for k, m in state.models.items()
        }
        extra["models"] = json.dumps(packed, sort_keys=True, separators=(",", ":"))
    if state.compared_with is not None:
        extra["baseline"] = state.compared_with
    if state.failure is not None:
        kind = "transient" if state.failure.transient else "permanent"
        extra["failure"] = f"{kind}: {state.failure.why}"
    return extra


def legacy_block(state: BotState, version: int) -> str:
    """`state` as a version 1 or 2 block, written the way that version's code did."""
    payload: dict[str, Any] = {
        "v": version,
        "primary": state.primary,
        "secondary": state.secondary,
        "fingerprint": state.fingerprint,
        "changed_at": state.changed_at,
        "head_sha": state.head_sha,
        "extra": _extra(state),
    }
    if version == 2:
        payload |= {"basis": dict(state.basis or {}), "why": state.why}
    payload["sum"] = _checksum(payload)
    text = json.dumps(payload, sort_keys=True, ensure_ascii=True)
    for char, escaped in _ESCAPES.items():
        text = text.replace(char, escaped)
    return f"<!-- model-review:state {text} -->"
