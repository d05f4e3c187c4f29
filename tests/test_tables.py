"""bot.review.tables: evaluation tables read a chunk at a time, a fixed sample kept."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bot.review import tables

WANTED = tables.Wanted(("y", "p"), "id")


def _rows(n: int) -> list[tuple[str, int, float]]:
    rng = np.random.default_rng(n)
    return [
        (
            f"id,{i}" if i % 7 == 0 else f"r{i}",
            int(rng.integers(0, 2)),
            round(float(rng.random()), 4),
        )
        for i in range(n)
    ]


def _csv(rows: list[tuple[str, int, float]]) -> bytes:
    lines = ["id,y,p", *(f'"{i}",{y},{p}' if "," in i else f"{i},{y},{p}" for i, y, p in rows)]
    return ("\n".join(lines) + "\n").encode()


def _json(rows: list[tuple[str, int, float]], **extra: object) -> bytes:
    body = {"columns": ["id", "y", "p"], **extra, "data": [list(r) for r in rows]}
    return json.dumps(body, indent=1).encode()


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tables, "CHUNK_BYTES", 700)
    monkeypatch.setattr(tables, "CHUNK_ROWS", 37)
    monkeypatch.setattr(tables, "TEXT_READ", 500)


def test_csv_and_json_give_the_same_rows_across_chunks() -> None:
    rows = _rows(300)
    from_csv = tables.read_table(_csv(rows), "t.csv", WANTED)
    from_json = tables.read_table(_json(rows, index=list(range(300))), "t.json", WANTED)
    assert from_csv.ids == from_json.ids == [r[0] for r in rows]
    for table in (from_csv, from_json):
        assert table.numbers["y"].tolist() == [r[1] for r in rows]
        assert table.numbers["p"].tolist() == [r[2] for r in rows]
        assert table.rows == 300 and not table.sampled
    assert from_csv.digest == from_json.digest


def test_past_the_limit_the_same_ids_are_kept_whatever_the_order() -> None:
    rows = _rows(500)
    first = tables.read_table(_csv(rows), "t.csv", WANTED, limit=120)
    shuffled = [rows[i] for i in np.random.default_rng(1).permutation(500)]
    second = tables.read_table(_json(shuffled), "t.json", WANTED, limit=120)
    assert first.sampled and first.rows == 500 and len(first.ids or []) == 120
    assert first.ids == second.ids
    assert first.numbers["p"].tolist() == second.numbers["p"].tolist()
    assert first.digest == second.digest
    other = tables.read_table(_csv([*rows[:-1], ("new", 1, 0.5)]), "t.csv", WANTED, limit=120)
    assert other.digest != first.digest


def test_text_columns_report_their_distinct_values() -> None:
    text = "id,y,p,version\n" + "".join(f"r{i},1,0.5,3\n" for i in range(100))
    wanted = tables.Wanted(("y", "p"), "id", ("version",))
    assert tables.read_table(text.encode(), "t.csv", wanted).texts == {"version": frozenset({"3"})}


@pytest.mark.parametrize(
    ("data", "path", "words"),
    [
        (b"id,y,p\na,1,0.5\nb,1\n", "t.csv", "shorter than its header"),
        (
            b"id,y,p\na,1,0.5\nb,1,high\n",
            "t.csv",
            "column `p` of the evaluation table is not numeric",
        ),
        (b"id,y\na,1\n", "t.csv", "no column `p`"),
        (b"id,y,p\na,1,nan\n", "t.csv", "NaN or infinite"),
        (b'{"data": [["a", 1, 0.5]], "columns": ["id", "y", "p"]}', "t.json", "must come before"),
        (b'{"columns": ["id", "y", "p"], "data": [["a", 1, 0.5]', "t.json", "not JSON"),
        (b'{"rows": []}', "t.json", "not MLflow table JSON"),
        (b"[1, 2]", "t.json", "not JSON"),
    ],
)
def test_bad_tables_say_what_is_wrong(data: bytes, path: str, words: str) -> None:
    with pytest.raises(tables.TableError, match=words):
        tables.read_table(data, path, WANTED)


def test_a_table_above_the_cap_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tables, "MAX_TABLE_BYTES", 100)
    with pytest.raises(tables.TableError, match="larger than 0 MB"):
        tables.read_table(_csv(_rows(20)), "t.csv", WANTED)


def test_hash_keys_are_stable_across_processes() -> None:
    # fixed values: a change of the hash would change which rows every review samples
    assert (
        tables.hash_keys(["a", "r1"]).tolist() == tables.hash_keys(np.array(["a", "r1"])).tolist()
    )
    assert tables.hash_keys(["a", "r1"]).tolist() == [14131025616090523822, 14881864832113474581]
    assert tables.hash_keys(["r1", "a-much-longer-id"])[0] == tables.hash_keys(["r1"])[0]
    assert len(set(tables.hash_keys([f"r{i}" for i in range(10_000)]).tolist())) == 10_000
