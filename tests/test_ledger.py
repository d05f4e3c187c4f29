"""Production's history ledger and the versions' record, read as data (bot.review.ledger)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bot.domain import HistoryEntry, LedgerAction, ModelRecord, VersionRecord
from bot.review import ledger as lg

T1 = datetime(2026, 11, 27, 10, 0, 0, 123456, tzinfo=UTC)
T2 = datetime(2026, 11, 28, 9, 30, 0, tzinfo=UTC)


def promote(version: str, previous: str, key: str) -> HistoryEntry:
    return HistoryEntry(
        version, LedgerAction.PROMOTE, previous=previous, pr="https://gh/pr/1", key=key
    )


def test_a_ledger_tag_is_named_by_time_and_version_and_reads_back() -> None:
    entry = promote("2", "1", "merge:abc")
    name, value = lg.ledger_tag(entry, T1)
    assert name == "model_review.history.20261127T100000.123456Z.2"
    assert json.loads(value)["at"] == "2026-11-27T10:00:00Z"
    (back,) = lg.parse_ledger({name: value})
    assert back == HistoryEntry(
        "2", LedgerAction.PROMOTE, "2026-11-27T10:00:00Z", "1", "https://gh/pr/1", key="merge:abc"
    )


def test_one_entry_per_key_the_first_written_wins_and_junk_is_skipped() -> None:
    first = lg.ledger_tag(promote("2", "1", "merge:abc"), T1)
    again = lg.ledger_tag(promote("2", "1", "merge:abc"), T2)  # a racing redelivery
    other = lg.ledger_tag(promote("3", "2", "merge:def"), T2.replace(second=1))
    tags = dict([first, again, other])
    tags["model_review.history.x.4"] = "not json"
    tags["model_review.history.y.5"] = json.dumps({"v": 99, "action": "promote"})
    tags["model_review.status"] = "approved"
    entries = lg.parse_ledger(tags)
    assert [(e.version, e.key) for e in entries] == [("3", "merge:def"), ("2", "merge:abc")]
    assert entries[1].at == "2026-11-27T10:00:00Z"
    assert lg.has_key(tags, "merge:abc") and not lg.has_key(tags, "merge:zzz")


def version(number: str, **tags: str) -> VersionRecord:
    return VersionRecord(
        number, run_id=f"run{number}", tags={f"model_review.{k}": v for k, v in tags.items()}
    )


def test_older_promotions_are_filled_from_the_versions_tags_once() -> None:
    name, value = lg.ledger_tag(promote("3", "2", "merge:bbb"), T2)
    record = ModelRecord(
        "m",
        tags={name: value},
        aliases={"production": "3"},
        versions=(
            version(
                "2",
                previous_production="1",
                merged_commit="aaa",
                pr="u2",
                approvers="bob,carol",
                approved_at="2026-11-01T00:00:00Z",
            ),
            version("3", previous_production="2", merged_commit="bbb", pr="u3"),
        ),
    )
    history = lg.production_history(record, "production")
    assert [(e.version, e.action) for e in history] == [
        ("3", LedgerAction.PROMOTE),
        ("2", LedgerAction.RECORDED),
    ]
    assert history[1].approvers == ("bob", "carol") and history[1].at.startswith("2026-11-01")
    assert lg.previous_production(record, "production") == "2"


def test_a_holder_with_no_record_was_set_by_hand() -> None:
    name, value = lg.ledger_tag(promote("2", "1", "merge:a"), T1)
    record = ModelRecord("m", tags={name: value}, aliases={"production": "5"})
    history = lg.production_history(record, "production")
    assert history[0] == HistoryEntry("5", LedgerAction.OUTSIDE)
    assert lg.previous_production(record, "production") == "2"
    assert lg.production_history(ModelRecord("m"), "production") == ()
    assert (
        lg.previous_production(ModelRecord("m", aliases={"production": "1"}), "production") is None
    )


def test_prior_reviews_newest_version_first_without_the_pr_under_review() -> None:
    versions = [
        version("1"),
        version("2", pr="u/2", status="approved", approvers="bob"),
        version("3", pr="u/3", status="closed"),
        version("4", pr="u/this", status="approved"),
    ]
    found = lg.prior_reviews(versions, skip_pr="u/this")
    assert [(r.version, r.status, r.approvers) for r in found] == [
        ("3", "closed", ()),
        ("2", "approved", ("bob",)),
    ]
    assert len(lg.prior_reviews(versions, limit=1)) == 1


def test_approved_means_the_version_or_its_run_says_approved() -> None:
    assert lg.is_approved({}, {"model_review.status": "approved"})
    assert not lg.is_approved({"model_review.status": "stale"}, {})
