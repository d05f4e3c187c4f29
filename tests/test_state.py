from __future__ import annotations

import json
import re
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain import Assignment, Comment
from bot.handlers.state import (
    FAILURE,
    MARKER,
    BotState,
    _checksum,
    decode_state,
    duplicate_bot_comments,
    encode_state,
    failure,
    find_bot_comment,
    next_state,
    strip_state,
    transient_failure,
    with_state,
)
from bot.review.identity import fingerprint

BOT = "github-actions[bot]"
NOW = "2026-11-27T10:00:00Z"
LATER = "2026-11-27T11:30:00Z"
STATE = BotState(
    primary="alice",
    secondary="acme/ml",
    fingerprint=fingerprint(["run-a", "model@3"]),
    changed_at=NOW,
    head_sha="a" * 40,
    extra={"recorded": "a" * 32},
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
    assert decode_state(encode_state(replace(STATE, version=3))) is None
    payload = _payload(encode_state(STATE))
    payload["v"] = True  # a bool is not a version, even though True == 1
    assert decode_state(_block(payload)) is None


def test_wrong_types_are_ignored() -> None:
    bad_time = replace(STATE, changed_at="last tuesday")
    assert decode_state(encode_state(bad_time)) is None
    payload = _payload(encode_state(STATE))
    payload["extra"] = {"n": 1}
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
    extra=st.fixed_dictionaries(
        {}, optional={"plots": nasty.map(lambda s: json.dumps({"key": s})), "recorded": ids}
    ),
    prefix=nasty,
)
def test_round_trip_any_strings(
    *,
    primary: str | None,
    secondary: str | None,
    fp: str,
    head: str | None,
    extra: dict[str, str],
    prefix: str,
) -> None:
    state = BotState(
        primary=primary,
        secondary=secondary,
        fingerprint=fp,
        changed_at=NOW,
        head_sha=head,
        extra=extra,
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


def test_only_known_extras_of_the_right_shape_are_read_back() -> None:
    """A hand edit or another bot version's key in `extra` never reaches a handler."""
    extra = {
        "plots": '{"key": "k", "images": []}', "recorded": "b" * 32,
        "models": "not json", "note": "unknown key",
    }  # fmt: skip
    state = decode_state(encode_state(replace(STATE, extra=extra)))
    assert state is not None
    assert state.extra == {"plots": '{"key": "k", "images": []}', "recorded": "b" * 32}
    damaged = decode_state(encode_state(replace(STATE, extra={"recorded": "x; rm"})))
    assert damaged is not None and damaged.extra == {}


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
    assert (state.primary, state.secondary, state.extra) == ("alice", "acme/ml", STATE.extra)


def test_new_fingerprint_moves_changed_at() -> None:
    state = next_state(STATE, "other", LATER, assignment=Assignment("bob", None), extra={})
    assert state.changed_at == LATER
    assert state.fingerprint == "other"
    assert state.assignment == Assignment("bob", None)
    assert state.extra == {}


def test_a_failure_is_kept_until_a_review_completes() -> None:
    failed = BotState(changed_at=NOW, extra={FAILURE: failure(True, "MLflow\ncannot be reached")})
    back = decode_state(encode_state(failed))
    assert back is not None and transient_failure(back) == "MLflow cannot be reached"
    assert transient_failure(replace(failed, extra={FAILURE: failure(False, "bad config")})) is None
    assert len(failure(True, "x" * 1000)) == 300  # bounded
    assert next_state(back, "fp", NOW).extra == {}  # the next review that completes
    assert decode_state(encode_state(replace(failed, extra={FAILURE: "maybe: x"}))).extra == {}
