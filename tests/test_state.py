from __future__ import annotations

import json
import re
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain import Assignment, Comment, HostedImage
from bot.handlers.state import (
    MARKER,
    STATE_VERSION,
    BotState,
    _checksum,
    decode_state,
    duplicate_bot_comments,
    encode_state,
    find_bot_comment,
    next_state,
    strip_state,
    transient_failure,
    with_state,
)
from bot.handlers.stateparts import Failure, PlotCache
from bot.review.identity import fingerprint
from bot.review.permodel import SlotMemory
from tests.legacy_state import V1_BLOCK, V2_BLOCK, V2_FAILED_BLOCK, legacy_block

BOT = "github-actions[bot]"
IMAGES = (HostedImage("m.png", "Metrics", "bars", "https://x/m.png", sha256="0" * 64),)
NOW = "2026-11-27T10:00:00Z"
LATER = "2026-11-27T11:30:00Z"
STATE = BotState(
    primary="alice",
    secondary="acme/ml",
    fingerprint=fingerprint(["run-a", "model@3"]),
    changed_at=NOW,
    head_sha="a" * 40,
    recorded=("a" * 32,),
)


def comment(cid: int, author: str, body: str) -> Comment:
    return Comment(comment_id=cid, author=author, body=body)


# --- fingerprint --------------------------------------------------------------------


def test_fingerprint_ignores_order_and_repeats() -> None:
    assert fingerprint(["a", "b"]) == fingerprint(["b", "a", "b"])
    assert fingerprint(["a", "b"]) != fingerprint(["a", "c"])
    assert fingerprint(["a\nb"]) != fingerprint(["a", "b"])
    assert re.fullmatch(r"[0-9a-f]{16}", fingerprint([]))


# --- encode / decode ----------------------------------------------------------------


def test_round_trip_inside_a_comment() -> None:
    body = with_state(f"{MARKER}\n## Model review\n", STATE)
    assert body.startswith(MARKER)
    assert body.rstrip().endswith(encode_state(STATE))
    assert decode_state(body) == STATE
    assert STATE.assignment == Assignment("alice", "acme/ml")


def test_block_is_one_line_html_comment() -> None:
    block = encode_state(STATE)
    assert block.startswith("<!-- model-review:state {") and block.endswith("} -->")
    assert "\n" not in block


def test_absent_or_broken_state_is_none() -> None:
    assert decode_state("") is None
    assert decode_state(f"{MARKER}\nno state here") is None
    assert decode_state("<!-- model-review:state {not json} -->") is None
    assert decode_state("<!-- model-review:state [1, 2] -->") is None


def _payload(block: str) -> dict[str, object]:
    text = block.removeprefix("<!-- model-review:state ").removesuffix(" -->")
    data = json.loads(text)
    assert isinstance(data, dict)
    return data


def _block(payload: dict[str, object]) -> str:
    return f"<!-- model-review:state {json.dumps(payload)} -->"


def test_tampered_state_is_ignored() -> None:
    payload = _payload(encode_state(STATE))
    payload["primary"] = "mallory"
    assert decode_state(_block(payload)) is None


def test_unknown_version_is_ignored() -> None:
    newer = _payload(encode_state(STATE))
    newer["v"] = 4
    newer["sum"] = _checksum(newer)
    assert decode_state(_block(newer)) is None
    payload = _payload(encode_state(STATE))
    payload["v"] = True  # a bool is not a version, even though True == 1
    assert decode_state(_block(payload)) is None


def test_wrong_types_are_ignored() -> None:
    bad_time = replace(STATE, changed_at="last tuesday")
    assert decode_state(encode_state(bad_time)) is None
    payload = _payload(encode_state(STATE))
    payload["basis"] = {"n": 1}
    payload["sum"] = _checksum(payload)
    assert decode_state(_block(payload)) is None


def test_last_valid_block_wins() -> None:
    newer = replace(STATE, primary="bob")
    body = f"{MARKER}\n{encode_state(STATE)}\ntext\n{encode_state(newer)}\n"
    assert decode_state(body) == newer
    broken = f"{body}<!-- model-review:state {{broken}} -->"
    assert decode_state(broken) == newer


def test_strip_and_replace_state() -> None:
    body = f"{MARKER}\nhello\n\n{encode_state(STATE)}\n"
    assert strip_state(body) == f"{MARKER}\nhello"
    twice = with_state(with_state(body, STATE), replace(STATE, primary="bob"))
    assert twice.count("model-review:state") == 1
    assert decode_state(twice) == replace(STATE, primary="bob")


nasty = st.text(alphabet=st.characters(codec="utf-8"), max_size=40) | st.sampled_from(
    ["-->", "--!>", "<!--", "a -->b", "\u2028", "}", "\\u003e", "&gt;", "<!-- model-review -->"]
)
optional = st.none() | nasty
ids = st.lists(st.from_regex(r"[0-9a-f]{32}", fullmatch=True), max_size=3).map(",".join)


@settings(max_examples=300, deadline=None)
@given(
    primary=optional,
    secondary=optional,
    fp=nasty,
    head=optional,
    key=st.none() | nasty,
    recorded=ids,
    prefix=nasty,
)
def test_round_trip_any_strings(
    *,
    primary: str | None,
    secondary: str | None,
    fp: str,
    head: str | None,
    key: str | None,
    recorded: str,
    prefix: str,
) -> None:
    state = BotState(
        primary=primary,
        secondary=secondary,
        fingerprint=fp,
        changed_at=NOW,
        head_sha=head,
        plots=None if key is None else PlotCache(key, IMAGES),
        recorded=tuple(i for i in recorded.split(",") if i),
        models={key or "m": SlotMemory(primary, secondary, fp, NOW)},
    )
    block = encode_state(state)
    # the whole block is ONE html comment: nothing inside can close it early
    inner = block.removeprefix("<!--").removesuffix("-->")
    assert "-->" not in inner and "<" not in inner and ">" not in inner
    assert "\n" not in block
    body = with_state(f"{MARKER}\n{prefix}", state)
    assert decode_state(body) == state


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300) | st.from_regex(r"<!-- model-review:state \{.*\} -->"))
def test_decode_never_raises(text: str) -> None:
    result = decode_state(text)
    assert result is None or isinstance(result, BotState)


def test_parts_of_the_wrong_shape_are_dropped_and_the_rest_is_kept() -> None:
    """A hand edit (with a recomputed checksum) never hands a handler a wrong shape."""
    payload = _payload(encode_state(replace(STATE, plots=PlotCache("k", IMAGES))))
    payload |= {"recorded": ["x; rm"], "models": {"m": [1, 2]}, "compared_with": "../x"}
    payload["plots"]["images"][0]["sha256"] = "not a digest"  # type: ignore[index]
    payload["sum"] = _checksum(payload)
    state = decode_state(_block(payload))
    assert state is not None and state.primary == STATE.primary
    assert (state.plots, state.recorded, state.models, state.compared_with) == (None, (), {}, None)


# --- versions 1 and 2 (written before the parts were typed) -------------------------


def test_a_version_2_block_migrates_to_typed_parts() -> None:
    state = decode_state(V2_BLOCK)  # as the version 2 code wrote it
    assert state is not None and state.version == 2
    assert state.models["fraud-model"] == SlotMemory(
        "frank", "grace", "f" * 16, "2026-11-27T10:01:00Z"
    )
    assert set(state.models) == {"fraud-model", "experiment:churn"}
    assert state.plots is not None and state.plots.key == "k" * 20
    assert state.plots.images[0].url.endswith("metrics-" + "a" * 20 + ".png?raw=true")
    assert state.plots.images[0].sha256 == ""  # not known then: never reused by content
    assert state.recorded == ("c" * 32,) and state.compared_with == "a" * 32 + ":1"
    assert state.basis and state.why == "the runs under review changed"
    again = decode_state(encode_state(state))  # written back as version 3
    assert again is not None and again.version == STATE_VERSION == 3
    assert replace(again, version=2) == state


def test_a_version_1_block_migrates_and_keeps_its_unknown_basis() -> None:
    state = decode_state(V1_BLOCK)
    assert state is not None and state.version == 1 and state.basis is None
    assert state.assignment == Assignment("bob", "carol")
    assert state.recorded == ("c" * 32,) and state.compared_with == "a" * 32 + ":1"
    again = decode_state(encode_state(state))  # e.g. an error comment re-writes the state
    assert again is not None and again.basis is None  # the next review adopts the basis
    after = next_state(again, again.fingerprint, LATER, basis={"baseline": "v2"})
    assert after.changed_at == state.changed_at  # approvals stay fresh
    assert after.recorded == state.recorded


def test_the_legacy_writer_matches_the_old_code() -> None:
    for block, version in ((V1_BLOCK, 1), (V2_BLOCK, 2), (V2_FAILED_BLOCK, 2)):
        state = decode_state(block)
        assert state is not None and legacy_block(state, version) == block


def test_a_block_with_the_old_body_hash_is_still_read() -> None:
    payload = {
        "v": 1, "primary": "alice", "secondary": None, "fingerprint": "f",
        "changed_at": NOW, "head_sha": None, "body_hash": "0123456789abcdef", "extra": {},
    }  # fmt: skip
    payload["sum"] = _checksum(payload)
    state = decode_state(f"<!-- model-review:state {json.dumps(payload)} -->")
    assert state is not None and state.primary == "alice"


def test_decode_survives_deep_nesting() -> None:
    deep = "<!-- model-review:state {" + '"a":[' * 100_000 + "} -->"
    assert decode_state(deep) is None


# --- the bot's comment --------------------------------------------------------------


def test_find_bot_comment_needs_author_and_marker() -> None:
    comments = [
        comment(1, "alice", f"{MARKER}\nfake review"),  # someone quoting the marker
        comment(2, BOT, "some other bot message"),  # ours, but not the review
        comment(3, "GitHub-Actions[bot]", f"  \n{MARKER}\nreal"),
        comment(4, "alice", "lgtm"),
    ]
    found = find_bot_comment(comments, BOT)
    assert found is not None and found.comment_id == 3
    assert duplicate_bot_comments(comments, BOT) == []
    assert find_bot_comment(comments[:2], BOT) is None


def test_the_oldest_bot_comment_wins_and_newer_ones_are_duplicates() -> None:
    comments = [comment(cid, BOT, f"{MARKER}\n{cid}") for cid in (9, 12, 5)]
    found = find_bot_comment(comments, BOT)
    assert found is not None and found.comment_id == 5  # a forger can only post newer ones
    assert [c.comment_id for c in duplicate_bot_comments(comments, BOT)] == [9, 12]


# --- next_state ---------------------------------------------------------------------


def test_first_state_starts_now() -> None:
    state = next_state(None, "fp1", NOW, assignment=Assignment("alice", "bob"), head_sha="h1")
    assert state == BotState(
        primary="alice", secondary="bob", fingerprint="fp1", changed_at=NOW, head_sha="h1"
    )


def test_same_fingerprint_keeps_changed_at() -> None:
    state = next_state(STATE, STATE.fingerprint, LATER, head_sha="b" * 40)
    assert state.changed_at == NOW
    assert state.head_sha == "b" * 40
    assert (state.primary, state.secondary, state.recorded) == ("alice", "acme/ml", STATE.recorded)


def test_new_fingerprint_moves_changed_at() -> None:
    state = next_state(STATE, "other", LATER, assignment=Assignment("bob", None))
    assert state.changed_at == LATER
    assert state.fingerprint == "other"
    assert state.assignment == Assignment("bob", None)
    assert state.recorded == STATE.recorded  # the parts are kept


def test_a_failure_is_kept_until_a_review_completes() -> None:
    failed = BotState(changed_at=NOW, failure=Failure.of(True, "MLflow\ncannot be reached"))
    back = decode_state(encode_state(failed))
    assert back is not None and transient_failure(back) == "MLflow cannot be reached"
    assert transient_failure(replace(failed, failure=Failure.of(False, "bad config"))) is None
    assert len(Failure.of(True, "x" * 1000).why) == 300  # bounded
    assert next_state(back, "fp", NOW).failure is None  # the next review that completes
    for odd in ({"transient": "maybe", "why": "x"}, {"transient": True}, "transient: x"):
        payload = _payload(encode_state(failed)) | {"failure": odd}
        payload["sum"] = _checksum(payload)
        state = decode_state(_block(payload))  # a hand edit with a recomputed checksum
        assert state is not None and state.failure is None and state.changed_at == NOW


def test_a_version_2_failure_migrates_and_reconcile_still_retries_it() -> None:
    state = decode_state(V2_FAILED_BLOCK)  # as 30ac31a wrote it after MLflow was down
    assert state is not None and state.version == 2
    assert state.failure == Failure(True, "MLflow at http://mlflow:5000 cannot be reached")
    assert transient_failure(state) == "MLflow at http://mlflow:5000 cannot be reached"
    assert state.compared_with == "a" * 32 + ":1" and state.assignment == Assignment("bob", "carol")
    again = decode_state(encode_state(state))
    assert again is not None and again.version == 3 and again.failure == state.failure
