"""Reading a per-example evaluation table in bounded memory.

A table is CSV or MLflow's table JSON (`{"columns": [...], "data": [[...], ...]}`, as
`mlflow.log_table` writes it). Rows are read a chunk at a time and only the columns
asked for are kept; past MAX_ROWS rows a fixed sample is kept: the rows whose key (a
64-bit hash of the row's id, else of its position) is among the MAX_ROWS smallest. Two
tables over the same ids keep the same rows whatever their order, so they still pair.
Memory stays near the table's bytes plus MAX_ROWS rows plus one chunk.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import operator
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

MAX_ROWS = 200_000
MAX_TABLE_BYTES = 192 * 1024 * 1024  # with the reading, a peak near 300 MB at the cap
CHUNK_ROWS = 50_000  # JSON rows parsed at a time
CHUNK_BYTES = 1 << 20  # CSV bytes parsed at a time
TEXT_READ = 1 << 20  # characters of JSON decoded at a time
MAX_DISTINCT = 20  # distinct values kept per text column
Array = npt.NDArray[np.float64]
Keys = npt.NDArray[np.uint64]
_FNV_OFFSET, _FNV_PRIME = np.uint64(0xCBF29CE484222325), np.uint64(0x100000001B3)
_MIX = np.uint64(0x9E3779B97F4A7C15)

TOO_LARGE = "the evaluation table is larger than {mb} MB"
NOT_JSON = "the evaluation table is not JSON ({why})"
NOT_TABLE_JSON = 'the evaluation table is not MLflow table JSON ({"columns", "data"})'
NO_COLUMN = "the evaluation table has no column `{column}`"
SHORT_ROWS = "some rows of the evaluation table are shorter than its header"
NOT_NUMERIC = "column `{column}` of the evaluation table is not numeric"
DATA_FIRST = "the evaluation table's `columns` must come before its `data`"
NOT_FINITE = "the evaluation table holds NaN or infinite labels or scores"


class TableError(ValueError):
    """A table that cannot be read; the message is user-facing."""


@dataclass(frozen=True)
class Wanted:
    numbers: tuple[str, ...]  # numeric columns (label, scores)
    id: str | None = None
    texts: tuple[str, ...] = ()  # columns whose distinct values are reported


@dataclass(frozen=True)
class Table:
    """The kept rows (all, or a fixed sample) of the columns asked for."""

    numbers: dict[str, Array]
    ids: list[str] | None  # None: the table has no id column (rows pair by position)
    rows: int  # rows in the whole table
    digest: int  # order-free digest of every row's key: equal for the same ids
    texts: dict[str, frozenset[str]] = field(default_factory=dict)

    @property
    def sampled(self) -> bool:
        return len(next(iter(self.numbers.values()))) < self.rows


def hash_keys(ids: Sequence[str] | Strings) -> Keys:
    """A stable 64-bit hash per id (FNV-1a over the code points, then mixed)."""
    codes = np.asarray(ids, dtype=str)
    width = codes.dtype.itemsize // 4
    points = codes.view(np.uint32).reshape(len(ids), max(width, 1)).astype(np.uint64)
    key = np.full(len(ids), _FNV_OFFSET, dtype=np.uint64)
    for j in range(points.shape[1]):  # padding (code point 0) leaves the key alone
        key = np.where(points[:, j] > 0, (key ^ points[:, j]) * _FNV_PRIME, key)
    return _mixed(key)


def _mixed(key: Keys) -> Keys:
    key = (key ^ (key >> np.uint64(33))) * _MIX
    return key ^ (key >> np.uint64(29))


def position_keys(start: int, count: int) -> Keys:
    return _mixed(np.arange(start, start + count, dtype=np.uint64) * _MIX + np.uint64(1))


# --- rows, a chunk at a time ------------------------------------------------------------

Columns = list[tuple[object, ...]]  # one tuple per wanted column
Strings = npt.NDArray[np.str_]


@dataclass(frozen=True)
class Chunk:
    numbers: list[Array]  # the numeric columns
    strings: list[Strings]  # the id column, if any, then the text columns


def _positions(header: list[str], names: Sequence[str]) -> list[int]:
    missing = [c for c in names if c not in header]
    if missing:
        raise TableError(NO_COLUMN.format(column=missing[0]))
    return [header.index(c) for c in names]


def _picked(rows: list[list[object]], at: list[int]) -> Columns:
    get = operator.itemgetter(*at)
    try:
        picked = [get(row) for row in rows] if len(at) > 1 else [(row[at[0]],) for row in rows]
    except IndexError:
        raise TableError(SHORT_ROWS) from None
    except TypeError:
        raise TableError("the evaluation table's `data` is not a list of rows") from None
    return list(zip(*picked, strict=True))


def _csv_chunks(data: bytes, names: Sequence[str], k: int) -> Iterator[Chunk]:
    """CSV a slice of CHUNK_BYTES (whole lines) at a time: numpy's C parser, else (for
    an odd line) the csv module, whose errors say what is wrong."""
    first = data.find(b"\n")
    start = len(data) if first < 0 else first + 1
    header = next(csv.reader([data[:start].decode("utf-8-sig", errors="replace")]), [])
    at = _positions(header, names)
    while start < len(data):
        end = data.find(b"\n", start + CHUNK_BYTES)
        end = len(data) if end < 0 else end + 1
        text = data[start:end].decode("utf-8", errors="replace")
        start = end
        if text.strip():
            yield _csv_chunk(text, at, names, k)


def _csv_chunk(text: str, at: list[int], names: Sequence[str], k: int) -> Chunk:
    options: dict[str, Any] = {"delimiter": ",", "comments": None, "quotechar": '"'}
    try:
        numbers = np.loadtxt(io.StringIO(text), usecols=at[:k], dtype=float, ndmin=2, **options)
        strings = [
            np.loadtxt(io.StringIO(text), usecols=(i,), dtype=str, ndmin=1, **options)
            for i in at[k:]
        ]
    except ValueError:
        rows = [row for row in csv.reader(io.StringIO(text)) if row]
        return _chunk(_picked(rows, at), names, k)  # type: ignore[arg-type]
    return Chunk(list(numbers.T), strings)


def _chunk(columns: Columns, names: Sequence[str], k: int) -> Chunk:
    numbers = [_numbers(columns[i], names[i]) for i in range(k)]
    return Chunk(numbers, [np.array([str(v) for v in col], dtype=str) for col in columns[k:]])


class _JsonStream:
    """MLflow table JSON read a value at a time from a decoded stream."""

    def __init__(self, data: bytes) -> None:
        self._src = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", errors="replace")
        self._buf, self._at, self._eof = "", 0, False
        self._decoder = json.JSONDecoder()

    def _fill(self) -> bool:
        more = "" if self._eof else self._src.read(TEXT_READ)
        self._eof = not more
        self._buf, self._at = self._buf[self._at :] + more, 0
        return bool(more)

    def char(self) -> str:
        """The next non-blank character, consumed ('' at the end)."""
        while True:
            while self._at < len(self._buf) and self._buf[self._at] in " \t\r\n":
                self._at += 1
            if self._at < len(self._buf):
                self._at += 1
                return self._buf[self._at - 1]
            if not self._fill():
                return ""

    def back(self) -> None:
        self._at -= 1

    def value(self) -> object:
        if self.char():
            self.back()  # raw_decode takes no leading blanks
        while True:
            try:
                found, end = self._decoder.raw_decode(self._buf, self._at)
            except json.JSONDecodeError as exc:
                if self._fill():
                    continue
                raise TableError(NOT_JSON.format(why=exc.msg)) from None
            if end == len(self._buf) and self._fill():
                continue  # a number may go on in the next read
            self._at = end
            return found

    def items(self) -> Iterator[object]:
        """The elements of the array that starts here."""
        if self.char() != "[":
            raise TableError(NOT_TABLE_JSON)
        if self.char() == "]":
            return
        self.back()
        while True:
            yield self.value()
            sep = self.char()
            if sep == "]":
                return
            if sep != ",":
                raise TableError(NOT_JSON.format(why="expected ',' or ']'"))


def _skip(stream: _JsonStream) -> None:
    """Pass over one value (an array element by element, so a long `index` costs no memory)."""
    opening = stream.char()
    stream.back()
    if opening == "[":
        for _ in stream.items():
            pass
    else:
        stream.value()


def _json_chunks(data: bytes, names: Sequence[str], k: int) -> Iterator[Chunk]:
    stream = _JsonStream(data)
    if stream.char() != "{":
        raise TableError(
            NOT_JSON.format(why="expected an object") if data.strip() else NOT_TABLE_JSON
        )
    at: list[int] | None = None
    seen_data = False
    while (sep := stream.char()) not in ("}", ""):
        if sep != ",":
            stream.back()
        key = stream.value()
        if stream.char() != ":":
            raise TableError(NOT_JSON.format(why="expected ':'"))
        if key == "columns":
            columns = stream.value()
            if not isinstance(columns, list):
                raise TableError(NOT_TABLE_JSON)
            at = _positions([str(c) for c in columns], names)
        elif key == "data":
            if at is None:
                raise TableError(DATA_FIRST)
            seen_data = True
            rows = stream.items()
            while chunk := list(itertools.islice(rows, CHUNK_ROWS)):
                yield _chunk(_picked(chunk, at), names, k)  # type: ignore[arg-type]
        else:
            _skip(stream)
    if at is None or not seen_data:
        raise TableError(NOT_TABLE_JSON)


# --- keeping a bounded sample -------------------------------------------------------------


def _numbers(values: tuple[object, ...], column: str) -> Array:
    try:
        return np.array(values, dtype=float)
    except (TypeError, ValueError):
        try:
            return np.array([float(str(v).strip()) for v in values])
        except ValueError:
            raise TableError(NOT_NUMERIC.format(column=column)) from None


@dataclass(frozen=True)
class _Kept:
    keys: Keys
    numbers: list[Array]
    ids: Strings | None

    def merged(self, keys: Keys, chunk: Chunk, with_id: bool) -> _Kept:
        numbers = [np.concatenate([a, b]) for a, b in zip(self.numbers, chunk.numbers, strict=True)]
        ids = np.concatenate([self.ids, chunk.strings[0]]) if self.ids is not None else None
        return _Kept(np.concatenate([self.keys, keys]), numbers, ids if with_id else None)

    def trimmed(self, limit: int) -> _Kept:
        """The rows with the `limit` smallest keys."""
        if len(self.keys) <= limit:
            return self
        keep = np.argpartition(self.keys, limit - 1)[:limit]
        ids = self.ids[keep] if self.ids is not None else None
        return _Kept(self.keys[keep], [col[keep] for col in self.numbers], ids)


def read_table(data: bytes, path: str, wanted: Wanted, limit: int | None = None) -> Table:
    """The table's wanted columns over at most `limit` (MAX_ROWS) rows, or TableError."""
    if len(data) > MAX_TABLE_BYTES:
        raise TableError(TOO_LARGE.format(mb=MAX_TABLE_BYTES >> 20))
    limit = limit or MAX_ROWS
    names = [*wanted.numbers, *([wanted.id] if wanted.id else []), *wanted.texts]
    k = len(wanted.numbers)
    read = _csv_chunks if path.lower().endswith(".csv") else _json_chunks
    with_id = wanted.id is not None
    kept = _Kept(np.empty(0, np.uint64), [np.empty(0)] * k, np.empty(0, str) if with_id else None)
    texts: dict[str, set[str]] = {t: set() for t in wanted.texts}
    rows, digest = 0, 0
    for chunk in read(data, names, k):
        count = len(chunk.numbers[0])
        keys = hash_keys(chunk.strings[0]) if with_id else position_keys(rows, count)
        digest = (digest + int(keys.sum(dtype=np.uint64))) % (1 << 64)
        for name, values in zip(wanted.texts, chunk.strings[int(with_id) :], strict=True):
            if len(texts[name]) < MAX_DISTINCT:
                texts[name].update(np.unique(values)[:MAX_DISTINCT].tolist())
        kept = kept.merged(keys, chunk, with_id).trimmed(limit)
        rows += count
    order = np.argsort(kept.keys, kind="stable") if rows > limit else np.arange(len(kept.keys))
    out = {name: kept.numbers[i][order] for i, name in enumerate(wanted.numbers)}
    if not all(np.isfinite(col).all() for col in out.values()):
        raise TableError(NOT_FINITE)
    ids = kept.ids[order].tolist() if kept.ids is not None else None
    return Table(out, ids, rows, digest, {t: frozenset(v) for t, v in texts.items()})
