"""Index partitions: Parquet files of index rows, written once, read by row group.

A partition holds one row per study (its newest version as of the
compaction that wrote it, deletions included as tombstones) sorted by Study
Instance UID, in row groups of a few thousand rows: ``<name>.parquet``, the
file DuckDB, Athena or Trino read (docs/index.md has the schema).

A *base* partition also has a lookup file ``<name>.keys``: the same rows
(live ones only) repeated once per searchable value, sorted by one string
column ``lookup`` = kind + value + NUL + study UID, where kind is ``P``
(patient ID), ``A`` (accession number), ``D`` (StudyDate) or ``M`` (each
modality). Every row carries all columns, so a search by patient,
accession, date range or modality reads one or a few row groups of one sort
order and never goes back to the main file. Its row groups are small
self-contained Parquet files behind a compact index (:func:`encode_lookup`).

Readers keep only the main files' footers and the lookup files' indexes
(per row group: byte span and min/max of the sort column; a Bloom filter);
row groups are read on demand with one ranged GET each and kept in a
bounded cache. Files are immutable (names are unique), so nothing cached
ever goes stale.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import io
import itertools
import json
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from mintstore.adapters import ObjectStore, PutMode
from mintstore.errors import IntegrityError

from .layout import partition_key
from .records import IndexRow

ROW_GROUP_ROWS = 4096
SEPARATOR = "\x00"
KINDS = ("P", "A", "D", "M")

_STRING_FIELDS = [
    "study_key",
    "study_uid",
    "last_modified",
    "patient_id",
    "patient_id_issuer",
    "accession_number",
    "accession_number_issuer",
    "study_date",
    "study_time",
    "patient_name",
    "study_description",
    "referring_physician_name",
    "study_id",
]

SCHEMA = pa.schema(
    [
        pa.field("study_key", pa.string(), nullable=False),
        pa.field("study_uid", pa.string(), nullable=False),
        pa.field("version", pa.int64(), nullable=False),
        pa.field("last_modified", pa.string(), nullable=False),
        pa.field("deleted", pa.bool_(), nullable=False),
        pa.field("patient_id", pa.string()),
        pa.field("patient_id_issuer", pa.string()),
        pa.field("accession_number", pa.string()),
        pa.field("accession_number_issuer", pa.string()),
        pa.field("modalities", pa.list_(pa.string())),
        pa.field("study_date", pa.string()),
        pa.field("study_time", pa.string()),
        pa.field("instances", pa.int64()),
        pa.field("patient_name", pa.string()),
        pa.field("study_description", pa.string()),
        pa.field("referring_physician_name", pa.string()),
        pa.field("study_id", pa.string()),
        pa.field("series", pa.int64()),
    ]
)
LOOKUP_SCHEMA = pa.schema([pa.field("lookup", pa.string(), nullable=False), *SCHEMA])
_ROW_FIELDS = {f.name for f in fields(IndexRow)}


def rows_table(rows: Iterable[tuple[str, IndexRow]]) -> pa.Table:
    """Rows (study key, row) as an Arrow table of :data:`SCHEMA`, sorted by study UID."""
    columns: dict[str, list[Any]] = {name: [] for name in SCHEMA.names}
    for skey, row in rows:
        columns["study_key"].append(skey)
        for name in SCHEMA.names[1:]:
            value = getattr(row, name)
            columns[name].append(list(value) if name == "modalities" else value)
    table = pa.table(columns, schema=SCHEMA)
    return table.sort_by("study_uid")


def table_rows(table: pa.Table) -> list[tuple[str, IndexRow]]:
    """The inverse of :func:`rows_table` (columns unknown to this version are ignored).

    Also reads a lookup file's packed groups (:func:`packed`): ``lookup`` and
    ``row``, the row's columns as one JSON object.
    """
    if ROW_COLUMN in table.schema.names:
        docs = [json.loads(text) for text in table[ROW_COLUMN].to_pylist()]
    else:
        docs = table.to_pylist()
    result = []
    for doc in docs:
        skey = doc.pop("study_key")
        doc.pop("lookup", None)
        values = {k: v for k, v in doc.items() if k in _ROW_FIELDS}
        values["modalities"] = tuple(values.get("modalities") or ())
        values["instances"] = values.get("instances") or 0
        values["series"] = values.get("series") or 0
        result.append((skey, IndexRow(**values)))
    return result


def lookup_table(table: pa.Table) -> pa.Table:
    """The lookup file of a base partition: one row per (kind, value) of each live row."""
    live = table.filter(pc.invert(table["deleted"]))
    pieces = []
    for kind, column in (("P", "patient_id"), ("A", "accession_number"), ("D", "study_date")):
        chosen = live.filter(pc.is_valid(live[column]))
        if kind == "D":
            chosen = chosen.filter(pc.match_substring_regex(chosen[column], r"^\d{8}$"))
        pieces.append(_with_lookup(chosen, kind, chosen[column]))
    modalities = live["modalities"]
    flat = pc.list_flatten(modalities)
    parents = pc.list_parent_indices(modalities)
    exploded = live.take(parents)
    keep = pc.is_valid(flat)
    exploded, flat = exploded.filter(keep), pc.utf8_upper(flat.filter(keep))
    pieces.append(_with_lookup(exploded, "M", flat))
    merged = pa.concat_tables(pieces)
    return merged.sort_by("lookup")


def _with_lookup(table: pa.Table, kind: str, values: Any) -> pa.Table:
    keys = pc.binary_join_element_wise(
        pa.scalar(kind), values, pa.scalar(SEPARATOR), table["study_uid"], ""
    )
    return table.add_column(0, pa.field("lookup", pa.string(), nullable=False), keys)


_BLOOM_BITS_PER_KEY = 10
_BLOOM_HASHES = 7


def _bloom_hashes(values: Sequence[str]) -> tuple[Any, Any]:
    digests = b"".join(hashlib.blake2b(v.encode(), digest_size=16).digest() for v in values)
    pairs = np.frombuffer(digests, dtype="<u8").reshape(-1, 2)
    return pairs[:, 0], pairs[:, 1] | np.uint64(1)


def bloom_filter(values: Sequence[str]) -> bytes:
    """A Bloom filter (10 bits a key, 7 hashes: about 1% false positives) of ``values``.

    Sorted lookups prune badly for exact values (every partition has a row
    group whose min/max brackets any patient ID), so each base partition
    carries one filter of its ``P``/``A`` lookup values and a search by
    patient or accession reads only the partitions that may hold it.
    """
    bits = max(64, len(values) * _BLOOM_BITS_PER_KEY)
    array = np.zeros((bits + 7) // 8, dtype=np.uint8)
    if values:
        first, second = _bloom_hashes(values)
        for index in range(_BLOOM_HASHES):
            position = (first + np.uint64(index) * second) % np.uint64(bits)
            np.bitwise_or.at(
                array,
                (position >> np.uint64(3)).astype(np.int64),
                (np.uint8(1) << (position & np.uint64(7)).astype(np.uint8)),
            )
    return bits.to_bytes(8, "little") + array.tobytes()


def bloom_may_contain(bloom: bytes, value: str) -> bool:
    bits = int.from_bytes(bloom[:8], "little")
    digest = hashlib.blake2b(value.encode(), digest_size=16).digest()
    first = int.from_bytes(digest[:8], "little")
    second = int.from_bytes(digest[8:], "little") | 1
    mask = (1 << 64) - 1
    for index in range(_BLOOM_HASHES):
        position = ((first + index * second) & mask) % bits
        if not bloom[8 + (position >> 3)] & (1 << (position & 7)):
            return False
    return True


#: Row groups of the exact-match sections (``A``, ``P``) of a lookup file: a
#: search by patient or accession decodes one such group per partition that
#: may hold the value, so they are small; range sections keep big ones.
EXACT_ROW_GROUP_ROWS = 256

#: The column of a packed lookup group holding each row's columns as JSON.
ROW_COLUMN = "row"


def packed(table: pa.Table) -> pa.Table:
    """A lookup group as two columns: ``lookup`` and ``row`` (the other columns, JSON).

    For the exact-match sections: a search by patient or accession decodes
    a whole row group to use one or two of its rows, and decoding costs
    mostly per column (measured: 21 columns of 256 rows ~0.85 ms, these two
    ~0.3 ms, at load 10 on 2 cores); the JSON of the one matching row is
    then parsed alone. Built column-wise with Arrow compute: ``json.dumps``
    per row took ~35 s for the 300,000 exact-match rows of one partition
    under load, which would have made compaction and reindex several times
    slower.
    """
    parts = []
    for number, name in enumerate(n for n in table.schema.names if n != "lookup"):
        value = _json_values(table[name].combine_chunks())
        prefix = ("{" if number == 0 else ",") + json.dumps(name) + ":"
        parts.append(pc.binary_join_element_wise(pa.scalar(prefix), value, ""))
    rows = pc.binary_join_element_wise(*parts, pa.scalar("}"), "")
    return pa.table({"lookup": table["lookup"], ROW_COLUMN: rows})


_JSON_ESCAPES = [("\\", "\\\\"), ('"', '\\"')] + [
    (chr(code), f"\\u{code:04x}") for code in range(32)
]


def _json_values(array: Any) -> Any:
    """Each value of an Arrow array as JSON text (null as ``null``)."""
    kind = array.type
    if pa.types.is_boolean(kind):
        text = pc.if_else(array, "true", "false")
    elif pa.types.is_integer(kind):
        text = pc.cast(array, pa.string())
    elif pa.types.is_list(kind):
        values = _json_values(array.values) if len(array.values) else array.values
        joined = pa.ListArray.from_arrays(array.offsets, values)
        text = pc.binary_join_element_wise("[", pc.binary_join(joined, ","), "]", "")
        text = pc.if_else(pc.is_valid(array), text, pa.scalar(None, pa.string()))
    else:
        text = array.cast(pa.string())
        if pc.any(pc.match_substring_regex(text, r'[\\"\x00-\x1f]')).as_py():
            for plain, escaped in _JSON_ESCAPES:
                text = pc.replace_substring(text, plain, escaped)
        text = pc.binary_join_element_wise('"', text, '"', "")
    return pc.fill_null(text, "null")


def _sections(table: pa.Table) -> list[tuple[pa.Table, int]]:
    """A lookup table cut where its kind changes, with each section's row-group size."""
    if "lookup" not in table.schema.names or table.num_rows == 0:
        return [(table, ROW_GROUP_ROWS)]
    kinds = pc.utf8_slice_codeunits(table["lookup"], 0, 1).to_numpy(zero_copy_only=False)
    starts = [0, *(np.flatnonzero(kinds[1:] != kinds[:-1]) + 1).tolist(), len(kinds)]
    sections = []
    for begin, end in itertools.pairwise(starts):
        size = EXACT_ROW_GROUP_ROWS if kinds[begin] in ("A", "P") else ROW_GROUP_ROWS
        sections.append((table.slice(begin, end - begin), size))
    return sections


def encode(table: pa.Table) -> bytes:
    """Parquet bytes, zstd, statistics kept; row groups of :data:`ROW_GROUP_ROWS` rows
    (:data:`EXACT_ROW_GROUP_ROWS` in the exact-match sections of a lookup file)."""
    sink = io.BytesIO()
    with pq.ParquetWriter(sink, table.schema, compression="zstd", write_statistics=True) as writer:
        for section, rows in _sections(table):
            writer.write_table(section, row_group_size=rows)
    return sink.getvalue()


LOOKUP_MAGIC = b"MSLK"
#: 2: the exact-match groups are packed (:func:`packed`); 1 (still read): columnar.
LOOKUP_FORMAT = "mintstore-lookup-2"


def encode_lookup(keys: pa.Table) -> bytes:
    """A lookup file: its row groups as small self-contained Parquet files, then an index.

    Why not one Parquet file: a reader must hold a Parquet file's footer to
    read its row groups, and for a covering lookup of 150,000 rows that
    footer parses to ~6 MiB in memory (hundreds of row groups x 20 columns):
    proportional to the archive. Here each row group carries its own small
    footer, and the reader keeps only this index: per group its byte span
    and first/last ``lookup`` value, plus the Bloom filter of the ``A``/``P``
    values. Layout: groups, index JSON, its length (8 bytes LE), ``MSLK``.
    """
    out = io.BytesIO()
    groups = []
    for section, rows in _sections(keys):
        if section.num_rows > 0 and section["lookup"][0].as_py()[:1] in ("A", "P"):
            section = packed(section)
        for start in range(0, section.num_rows, rows):
            piece = section.slice(start, rows)
            offset = out.tell()
            pq.write_table(piece, out, compression="zstd", write_statistics=False)
            column = piece["lookup"]
            groups.append([offset, out.tell() - offset, column[0].as_py(), column[-1].as_py()])
    values = sorted(
        {k.partition(SEPARATOR)[0] for k in keys["lookup"].to_pylist() if k[:1] in ("P", "A")}
    )
    index = {
        "format": LOOKUP_FORMAT,
        "groups": groups,
        "bloom": base64.b64encode(bloom_filter(values)).decode(),
    }
    data = json.dumps(index, separators=(",", ":")).encode()
    out.write(data)
    out.write(len(data).to_bytes(8, "little"))
    out.write(LOOKUP_MAGIC)
    return out.getvalue()


def write_lookup(objects: ObjectStore, name: str, keys: pa.Table) -> int:
    data = encode_lookup(keys)
    objects.put(partition_key(name), data, mode=PutMode.CREATE)
    return len(data)


FOOTERS_MAGIC = b"MSPF"
FOOTERS_FORMAT = "mintstore-footers-1"


def parquet_footer(data: bytes) -> bytes:
    """The end of a Parquet file a reader needs first: metadata, its length, ``PAR1``."""
    length = int.from_bytes(data[-8:-4], "little")
    return data[-(length + 8) :]


def lookup_tail(data: bytes) -> bytes:
    """The end of a lookup file (:func:`encode_lookup`): index, its length, ``MSLK``."""
    length = int.from_bytes(data[-12:-4], "little")
    return data[-(length + 12) :]


def encode_footers(main: bytes, keys: bytes) -> bytes:
    """A base partition's footers file: what opening its two files reads, in one object.

    Opening a partition used to cost a HEAD (the size) and a ranged GET of
    the end of each of its two files, and the lookup index is often larger
    than the first guess (one more GET). This small object holds both ends
    and both sizes: one GET, no HEAD. Layout: ``MSPF``, 8-byte LE length of a
    JSON header (format, sizes of both files and of both ends), the header,
    the main file's footer, the lookup file's tail.
    """
    main_end, keys_end = parquet_footer(main), lookup_tail(keys)
    header = json.dumps(
        {
            "format": FOOTERS_FORMAT,
            "main_size": len(main),
            "keys_size": len(keys),
            "main_footer": len(main_end),
            "keys_tail": len(keys_end),
        },
        separators=(",", ":"),
    ).encode()
    return FOOTERS_MAGIC + len(header).to_bytes(8, "little") + header + main_end + keys_end


@dataclass(frozen=True)
class Footers:
    """A decoded footers file: each file's size and its end bytes."""

    main_size: int
    main_footer: bytes
    keys_size: int
    keys_tail: bytes


def decode_footers(data: bytes, key: str) -> Footers:
    if data[:4] != FOOTERS_MAGIC:
        raise IntegrityError(f"{key} is not a footers file")
    length = int.from_bytes(data[4:12], "little")
    header = json.loads(data[12 : 12 + length])
    if header.get("format") != FOOTERS_FORMAT:
        raise IntegrityError(f"{key}: unknown footers format {header.get('format')!r}")
    start = 12 + length
    middle = start + int(header["main_footer"])
    end = middle + int(header["keys_tail"])
    if end != len(data):
        raise IntegrityError(f"{key} is truncated")
    return Footers(
        int(header["main_size"]), data[start:middle], int(header["keys_size"]), data[middle:end]
    )


def write_base(objects: ObjectStore, name: str, table: pa.Table) -> list[str]:
    """A base partition: main file, lookup file, footers file; returns their names.

    The footers file is written last: a reader that finds it finds both
    files (all three are named by the manifest, created after them).
    """
    main = encode(table)
    objects.put(partition_key(name), main, mode=PutMode.CREATE)
    keys = encode_lookup(lookup_table(table))
    objects.put(partition_key(name + ".keys"), keys, mode=PutMode.CREATE)
    objects.put(partition_key(name + ".footers"), encode_footers(main, keys), mode=PutMode.CREATE)
    return [name, name + ".keys", name + ".footers"]


def write(objects: ObjectStore, name: str, table: pa.Table) -> int:
    """Create one partition file (its name is unique to the writer); returns its size."""
    data = encode(table)
    objects.put(partition_key(name), data, mode=PutMode.CREATE)
    return len(data)


def read_whole(objects: ObjectStore, name: str) -> pa.Table:
    return pq.read_table(io.BytesIO(objects.get_bytes(partition_key(name))))


class _SpanFile(io.RawIOBase):
    """A read-only file over one object: the footer or one row group, fetched once."""

    def __init__(
        self,
        objects: ObjectStore,
        key: str,
        size: int,
        start: int,
        end: int,
        data: bytes | None = None,
    ) -> None:
        super().__init__()
        self._size = size
        self._start = start
        self._data = objects.get_range(key, start, end) if data is None else data
        self._objects = objects
        self._key = key
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = base + offset
        return self._position

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        wanted = min(len(view), self._size - self._position)
        if wanted <= 0:
            return 0
        offset = self._position - self._start
        if offset >= 0 and offset + wanted <= len(self._data):
            chunk = self._data[offset : offset + wanted]
        else:  # outside the span (pyarrow peeking around): one more ranged read
            chunk = self._objects.get_range(self._key, self._position, self._position + wanted)
        view[: len(chunk)] = chunk
        self._position += len(chunk)
        return len(chunk)


_FOOTER_GUESS = 256 * 1024
#: At most this many bytes in one read-ahead request (:meth:`SortedFile.fetch_ahead`).
READ_AHEAD_BYTES = 4 * 1024 * 1024


@dataclass
class _Group:
    """One cached row group: its rows and its sort column as a Python list."""

    table: pa.Table
    keys: list[str]
    size: int = field(init=False)

    def __post_init__(self) -> None:
        # Computed once (Table.nbytes walks every buffer): the Arrow buffers
        # plus the key list's Python strings (about 100 bytes each).
        self.size = int(self.table.nbytes) + 100 * len(self.keys)


def _decode(data: Any, metadata: Any = None, row_group: int | None = None) -> pa.Table:
    """Parquet bytes (or a file over them) to a table, in this thread.

    Not ``pq.read_table``: its dataset machinery costs ~3 ms per call, and
    pyarrow's thread pool adds more under CPU contention; a row group of a
    few hundred rows decodes in well under that on the calling thread.
    """
    source = pa.BufferReader(data) if isinstance(data, bytes | bytearray | memoryview) else data
    reader = pq.ParquetFile(source, metadata=metadata)
    if row_group is None:
        return reader.read(use_threads=False)
    return reader.read_row_group(row_group, use_threads=False)


class RowGroupCache:
    """Decoded row groups of any partition, least recently used out first.

    Bounded in bytes (Arrow buffers plus an estimate for the key list), so
    the cache is the same size whatever the archive size.
    """

    def __init__(self, capacity_bytes: int) -> None:
        self._capacity = capacity_bytes
        self._lock = threading.Lock()
        self._groups: OrderedDict[tuple[str, int], _Group] = OrderedDict()
        self._bytes = 0
        # Row groups fetched ahead (one ranged GET for several), still encoded:
        # at most a quarter of the budget, counted in it (the cache as a whole
        # stays within ``capacity_bytes``), so read-ahead costs no decoding a
        # scan does not use and no memory beyond the cache's.
        self._raw: OrderedDict[tuple[str, int], bytes] = OrderedDict()
        self._raw_bytes = 0
        self._raw_capacity = capacity_bytes // 4

    def take_raw(self, key: tuple[str, int]) -> bytes | None:
        """The encoded bytes of a row group fetched ahead (removed: it is decoded next)."""
        with self._lock:
            data = self._raw.pop(key, None)
            if data is not None:
                self._raw_bytes -= len(data)
            return data

    def has(self, key: tuple[str, int]) -> bool:
        with self._lock:
            return key in self._groups or key in self._raw

    def put_raw(self, key: tuple[str, int], data: bytes) -> None:
        with self._lock:
            if key in self._raw or key in self._groups:
                return
            self._raw[key] = data
            self._raw_bytes += len(data)
            while self._raw_bytes > self._raw_capacity and len(self._raw) > 1:
                _, old = self._raw.popitem(last=False)
                self._raw_bytes -= len(old)
            self._trim()

    def get(self, key: tuple[str, int]) -> _Group | None:
        with self._lock:
            group = self._groups.get(key)
            if group is not None:
                self._groups.move_to_end(key)
            return group

    def put(self, key: tuple[str, int], group: _Group) -> None:
        with self._lock:
            if key in self._groups:
                return
            self._groups[key] = group
            self._bytes += group.size
            self._trim()

    def _trim(self) -> None:
        """Decoded groups out, oldest first, until both kinds fit the one budget."""
        while self._bytes + self._raw_bytes > self._capacity and len(self._groups) > 1:
            _, old = self._groups.popitem(last=False)
            self._bytes -= old.size


class SortedFile:
    """A file of row groups sorted by one column: ``lows``/``highs`` per group, ``group``."""

    lows: list[str]
    highs: list[str]
    bloom: bytes | None = None
    objects: ObjectStore
    key: str
    _cache: RowGroupCache
    _spans: list[tuple[int, int]]

    def group(self, number: int) -> _Group:
        raise NotImplementedError

    def _encoded(self, number: int) -> bytes:
        """A row group's bytes: fetched ahead already, else one ranged GET."""
        data = self._cache.take_raw((self.key, number))
        if data is None:
            begin, end = self._spans[number]
            data = self.objects.get_range(self.key, begin, end)
        return data

    def fetch(self, number: int) -> None:
        """Fetch one row group's bytes now, to be decoded when used (parallel reads)."""
        if not self._cache.has((self.key, number)):
            begin, end = self._spans[number]
            self._cache.put_raw((self.key, number), self.objects.get_range(self.key, begin, end))

    def fetch_ahead(self, number: int, ahead: int) -> None:
        """Fetch row groups ``number`` .. ``number + ahead - 1`` with one ranged GET.

        For scans that will read on in order (read-all and other continued
        pages): adjacent row groups are adjacent bytes, so one request can
        carry several. Stops at the first group already held and at
        :data:`READ_AHEAD_BYTES`, so the request and what it leaves in the
        cache stay bounded.
        """
        if ahead <= 1 or self._cache.has((self.key, number)):
            return
        begin = self._spans[number][0]
        last = number
        while (
            last + 1 < min(self.row_groups, number + ahead)
            and not self._cache.has((self.key, last + 1))
            and self._spans[last + 1][1] - begin <= READ_AHEAD_BYTES
        ):
            last += 1
        if last == number:
            return
        data = self.objects.get_range(self.key, begin, self._spans[last][1])
        for index in range(number, last + 1):
            first, end = self._spans[index]
            self._cache.put_raw((self.key, index), data[first - begin : end - begin])

    @property
    def row_groups(self) -> int:
        return len(self.lows)

    def may_contain(self, value: str) -> bool:
        """False only if no lookup value equals ``value`` (Bloom filter; True if none)."""
        return self.bloom is None or bloom_may_contain(self.bloom, value)

    def first_group_reaching(self, value: str) -> int:
        """The first row group whose maximum is >= ``value`` (row_groups if none)."""
        return bisect.bisect_left(self.highs, value)

    def scan(
        self, low: str, high: str | None, *, inclusive_low: bool = True, ahead: int = 1
    ) -> Iterator[Slice]:
        """Slices of row groups whose sort values lie in [low, high) (or (low, high)).

        ``ahead`` > 1: a group not held yet is fetched with the next ones
        (:meth:`fetch_ahead`), for a scan that is expected to go on.
        """
        number = self.first_group_reaching(low)
        while number < self.row_groups:
            if high is not None and self.lows[number] >= high:
                return
            if high is None:
                self.fetch_ahead(number, ahead)
            else:  # not past the groups the range can touch
                reach = bisect.bisect_left(self.lows, high, lo=number) - number
                self.fetch_ahead(number, min(ahead, reach))
            group = self.group(number)
            keys = group.keys
            first = (bisect.bisect_left if inclusive_low else bisect.bisect_right)(keys, low)
            last = len(keys) if high is None else bisect.bisect_left(keys, high)
            if first < last:
                yield Slice(group, first, last)
            if last < len(keys):
                return
            number += 1

    def count_groups(self, low: str, high: str) -> int:
        """How many row groups [low, high) overlaps (a cheap size estimate)."""
        return max(0, bisect.bisect_left(self.lows, high) - self.first_group_reaching(low))


class PartitionFile(SortedFile):
    """A Parquet partition file: its footer in memory, its row groups on demand."""

    def __init__(
        self,
        objects: ObjectStore,
        name: str,
        sort_column: str,
        cache: RowGroupCache,
        known: tuple[int, bytes] | None = None,
    ) -> None:
        """``known``: the file's size and footer (from a footers file): no request."""
        self.objects = objects
        self.name = name
        self.key = partition_key(name)
        self.sort_column = sort_column
        self._cache = cache
        if known is None:
            size = objects.head(self.key).size
            start = max(0, size - _FOOTER_GUESS)
            footer = _SpanFile(objects, self.key, size, start, size)
        else:
            size, ending = known
            footer = _SpanFile(objects, self.key, size, size - len(ending), size, ending)
        self._size = size
        self.metadata = pq.ParquetFile(footer).metadata
        index = self.metadata.schema.names.index(sort_column)
        self.lows = []
        self.highs = []
        self._spans = []
        for number in range(self.metadata.num_row_groups):
            group = self.metadata.row_group(number)
            stats = group.column(index).statistics
            self.lows.append(str(stats.min) if stats is not None and stats.has_min_max else "")
            self.highs.append(
                str(stats.max) if stats is not None and stats.has_min_max else "\U0010ffff"
            )
            begin, end = size, 0
            for column in range(group.num_columns):
                chunk = group.column(column)
                first = chunk.data_page_offset
                if chunk.has_dictionary_page and chunk.dictionary_page_offset:
                    first = min(first, chunk.dictionary_page_offset)
                begin = min(begin, first)
                end = max(end, first + chunk.total_compressed_size)
            self._spans.append((begin, end))

    def group(self, number: int) -> _Group:
        cached = self._cache.get((self.key, number))
        if cached is not None:
            return cached
        begin, end = self._spans[number]
        data = self._encoded(number)
        source = _SpanFile(self.objects, self.key, self._size, begin, end, data)
        table = _decode(source, self.metadata, number)
        group = _Group(table, table[self.sort_column].to_pylist())
        self._cache.put((self.key, number), group)
        return group


class LookupFile(SortedFile):
    """A lookup file (:func:`encode_lookup`): only its index in memory."""

    def __init__(
        self,
        objects: ObjectStore,
        name: str,
        cache: RowGroupCache,
        known: tuple[int, bytes] | None = None,
    ) -> None:
        """``known``: the file's size and tail (from a footers file): no request."""
        self.objects = objects
        self.name = name
        self.key = partition_key(name)
        self._cache = cache
        if known is None:
            size = objects.head(self.key).size
            tail = objects.get_range(self.key, max(0, size - _FOOTER_GUESS), size)
        else:
            size, tail = known
        if tail[-4:] != LOOKUP_MAGIC:
            raise IntegrityError(f"{self.key} is not a lookup file")
        length = int.from_bytes(tail[-12:-4], "little")
        if length + 12 > len(tail):
            tail = objects.get_range(self.key, size - length - 12, size)
        index = json.loads(tail[-12 - length : -12])
        self._spans = [(int(g[0]), int(g[0]) + int(g[1])) for g in index["groups"]]
        self.lows = [str(g[2]) for g in index["groups"]]
        self.highs = [str(g[3]) for g in index["groups"]]
        self.bloom = base64.b64decode(index["bloom"])

    def group(self, number: int) -> _Group:
        cached = self._cache.get((self.key, number))
        if cached is not None:
            return cached
        table = _decode(self._encoded(number))
        group = _Group(table, table["lookup"].to_pylist())
        self._cache.put((self.key, number), group)
        return group


@dataclass
class Slice:
    group: _Group
    first: int
    last: int

    def rows(self) -> list[tuple[str, IndexRow]]:
        return table_rows(self.group.table.slice(self.first, self.last - self.first))

    def take(self, indexes: Sequence[int]) -> list[tuple[str, IndexRow]]:
        """Rows at these positions of the row group (not only inside the slice)."""
        return table_rows(self.group.table.take(pa.array(indexes, type=pa.int64())))

    def keys(self) -> Sequence[str]:
        return self.group.keys[self.first : self.last]
