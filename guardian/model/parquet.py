"""A minimal Apache Parquet writer: Security Lake's custom sources take only Parquet, and the Lambda package is stdlib
and boto3 only (no pyarrow).

Pure. One file, one row group, one v1 data page per column, PLAIN values, RLE-run levels, GZIP (zlib). Nested data
is shredded into definition and repetition levels as in Dremel; lists are the standard 3-level LIST and maps the
standard MAP of string to string. The footer and page headers are Thrift compact protocol, written here by hand.
Bad input (a required value missing, a wrong type, a key not in the schema) raises ValueError naming row and path.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from itertools import groupby
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

MAGIC = b"PAR1"
KINDS = {"bool": 0, "int32": 1, "int64": 2, "double": 5, "string": 6}  # Parquet physical types
_REQUIRED, _OPTIONAL, _REPEATED = 0, 1, 2
_UTF8, _MAP, _MAP_KEY_VALUE, _LIST = 0, 1, 2, 3  # ConvertedType
_LOGICAL_STRING, _LOGICAL_MAP, _LOGICAL_LIST = 1, 2, 3  # LogicalType union members (each an empty struct)
_PLAIN, _RLE, _GZIP, _DATA_PAGE = 0, 3, 2, 0
_I32, _I64, _BINARY, _LIST_T, _STRUCT = 5, 6, 8, 9, 12  # Thrift compact types
_ENCODINGS = (_I32, [_PLAIN, _RLE])  # of the values, and of the levels
_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


@dataclass(frozen=True)
class Leaf:
    """A primitive column: ``kind`` is one of :data:`KINDS`."""

    name: str
    kind: str
    required: bool = False


@dataclass(frozen=True)
class Struct:
    name: str
    fields: tuple[Node, ...]
    required: bool = False


@dataclass(frozen=True)
class List:
    """``optional group name (LIST) { repeated group list { <element> } }``; the element is named ``element``."""

    name: str
    element: Node
    required: bool = False


@dataclass(frozen=True)
class Map:
    """A map of string to string: ``repeated group key_value { required key; optional value }``."""

    name: str
    required: bool = False


Node = Leaf | Struct | List | Map


@dataclass(frozen=True)
class _Column:
    path: tuple[str, ...]
    kind: str
    max_def: int
    max_rep: int


@dataclass(frozen=True)
class _Plan:
    """A node placed in the file: its first column, how many it has, its definition level when present, how many
    repeated groups enclose it (its repetition level), and its parts (a struct's fields, a list's element)."""

    node: Node
    col: int
    width: int
    defined: int
    depth: int
    parts: tuple[_Plan, ...] = ()


Levels = list[tuple[list[int], list[int], list[Any]]]


def write(schema: Struct, rows: Sequence[Mapping[str, Any]], *, created_by: str) -> bytes:
    """One Parquet file holding ``rows`` (a missing key or None is null) under the root ``schema``."""
    elements = [_thrift([(4, _BINARY, schema.name), (5, _I32, len(schema.fields))])]
    columns: list[_Column] = []
    plan = _place(replace(schema, name="", required=True), (), 0, 0, (elements, columns))
    levels: Levels = [([], [], []) for _ in columns]
    for number, row in enumerate(rows):
        try:
            _shred(plan, row, 0, "", levels)
        except ValueError as error:
            raise ValueError(f"row {number}: {error}") from None
    out, chunks, total = bytearray(MAGIC), [], 0
    for column, (reps, defs, values) in zip(columns, levels, strict=True):
        offset, (header, size, page) = len(out), _page(column, reps, defs, values)
        out += header + page
        total += len(header) + size
        meta = [(1, _I32, KINDS[column.kind]), (2, _LIST_T, _ENCODINGS), (3, _LIST_T, (_BINARY, column.path))]
        meta += [(4, _I32, _GZIP), (5, _I64, len(reps)), (6, _I64, len(header) + size), (7, _I64, len(out) - offset)]
        chunks.append(_thrift([(2, _I64, offset), (3, _STRUCT, _thrift([*meta, (9, _I64, offset)]))]))
    group = _thrift([(1, _LIST_T, (_STRUCT, chunks)), (2, _I64, total), (3, _I64, len(rows))])
    footer = [(1, _I32, 2), (2, _LIST_T, (_STRUCT, elements)), (3, _I64, len(rows)), (4, _LIST_T, (_STRUCT, [group]))]
    tail = _thrift([*footer, (6, _BINARY, created_by)])
    return bytes(out + tail + struct.pack("<I", len(tail)) + MAGIC)


def _place(node: Node, path: tuple[str, ...], d: int, r: int, into: tuple[list[bytes], list[_Column]]) -> _Plan:
    """``node``'s plan; appends its schema elements (depth first) and its leaf columns with their maximum levels."""
    elements, columns = into
    col, d, here = len(columns), d + (0 if node.required else 1), (*path, node.name)
    repetition = _REQUIRED if node.required else _OPTIONAL
    parts: tuple[_Plan, ...] = ()
    if isinstance(node, Leaf):
        text = (_UTF8, _LOGICAL_STRING) if node.kind == "string" else (None, None)
        elements.append(_element(node.name, repetition, KINDS[node.kind], None, *text))
        columns.append(_Column(here, node.kind, d, r))
    elif isinstance(node, Struct):
        if node.name:  # the root's element is written by write()
            elements.append(_element(node.name, repetition, None, len(node.fields), None, None))
        parts = tuple(_place(f, here if node.name else (), d, r, into) for f in node.fields)
    elif isinstance(node, List):
        elements.append(_element(node.name, repetition, None, 1, _LIST, _LOGICAL_LIST))
        elements.append(_element("list", _REPEATED, None, 1, None, None))
        element = _place(replace(node.element, name="element"), (*here, "list"), d + 1, r + 1, into)
        parts = (replace(element, node=replace(element.node, name="")),)  # errors name an element by its index
    else:
        elements.append(_element(node.name, repetition, None, 1, _MAP, _LOGICAL_MAP))
        elements.append(_element("key_value", _REPEATED, None, 2, _MAP_KEY_VALUE, None))
        for leaf in (Leaf("key", "string", required=True), Leaf("value", "string")):
            _place(leaf, (*here, "key_value"), d + 1, r + 1, into)
    return _Plan(node, col, len(columns) - col, d, r, parts)


def _element(name: str, repetition: int, *fields: int | None) -> bytes:
    """A SchemaElement: after name and repetition, its physical type, children, converted and logical type."""
    kind, children, converted, logical = fields
    union = _thrift([(logical, _STRUCT, b"\x00")]) if logical else None  # STRING, MAP, LIST: empty structs
    head = [(1, _I32, kind), (3, _I32, repetition), (4, _BINARY, name)]
    return _thrift([*head, (5, _I32, children), (6, _I32, converted), (10, _STRUCT, union)])


def _shred(plan: _Plan, value: Any, r: int, where: str, out: Levels) -> None:
    """Append ``value``'s level entries (the first at repetition level ``r``) and values to its columns."""
    node = plan.node
    where = f"{where}.{node.name}".lstrip(".") if node.name else where
    if value is None:
        if node.required:
            raise ValueError(f"{where or 'row'}: required value missing")
        _nulls(plan, r, plan.defined - 1, out)
    elif isinstance(node, Leaf):
        _add(out[plan.col], r, plan.defined, _checked(node.kind, value, where))
    elif isinstance(node, Struct):
        if not isinstance(value, Mapping):
            raise _wrong(where or "row", "an object", value)
        unknown = set(value) - {f.name for f in node.fields}
        if unknown:
            raise ValueError(f"{where or 'row'}: unknown key(s) {sorted(map(str, unknown))}")
        for part in plan.parts:
            _shred(part, value.get(part.node.name), r, where, out)
    elif isinstance(node, List):
        _shred_list(plan, value, r, where, out)
    else:
        _shred_map(plan, value, r, where, out)


def _shred_list(plan: _Plan, value: Any, r: int, where: str, out: Levels) -> None:
    if not isinstance(value, list | tuple):
        raise _wrong(where, "a list", value)
    if not value:  # empty, not null: defined up to the list itself
        _nulls(plan, r, plan.defined, out)
    element = plan.parts[0]
    for i, item in enumerate(value):
        _shred(element, item, r if i == 0 else element.depth, f"{where}[{i}]", out)


def _shred_map(plan: _Plan, value: Any, r: int, where: str, out: Levels) -> None:
    if not isinstance(value, Mapping):
        raise _wrong(where, "a map", value)
    if not value:
        _nulls(plan, r, plan.defined, out)
    for i, (key, item) in enumerate(value.items()):
        at = r if i == 0 else plan.depth + 1
        _add(out[plan.col], at, plan.defined + 1, _checked("string", key, f"{where} key"))
        defined = plan.defined + 1 + (item is not None)
        _add(out[plan.col + 1], at, defined, _checked("string", item, f"{where}[{key!r}]"))


def _add(column: tuple[list[int], list[int], list[Any]], r: int, d: int, value: Any) -> None:
    column[0].append(r)
    column[1].append(d)
    if value is not None:
        column[2].append(value)


def _nulls(plan: _Plan, r: int, d: int, out: Levels) -> None:
    for reps, defs, _ in out[plan.col : plan.col + plan.width]:
        reps.append(r)
        defs.append(d)


def _wrong(where: str, expected: str, value: Any) -> ValueError:
    return ValueError(f"{where}: expected {expected}, got {type(value).__name__}")


def _checked(kind: str, value: Any, where: str) -> Any:
    """``value`` as the column stores it; ValueError when it is not of the column's kind."""
    if value is None:
        return None
    if kind == "string" and isinstance(value, str):
        try:
            return value.encode()
        except UnicodeEncodeError:  # a lone surrogate: written as its escape (as guardian.model.safe.text does)
            return value.encode("utf-8", "backslashreplace")
    if kind == "bool" and isinstance(value, bool):
        return value
    if kind == "double" and isinstance(value, float | int) and not isinstance(value, bool):
        return float(value)
    if kind in _RANGES and isinstance(value, int) and not isinstance(value, bool):
        if _RANGES[kind][0] <= value <= _RANGES[kind][1]:
            return value
        raise ValueError(f"{where}: {value} out of the {kind} range")
    raise _wrong(where, kind, value)


def _page(column: _Column, reps: list[int], defs: list[int], values: list[Any]) -> tuple[bytes, int, bytes]:
    """Header, uncompressed size and GZIP body of a page: levels (each with its 4-byte length), PLAIN values."""
    body = bytearray()
    if column.max_rep:
        body += _levels(reps, column.max_rep)
    if column.max_def:
        body += _levels(defs, column.max_def)
    body += _plain(column.kind, values)
    packer = zlib.compressobj(6, zlib.DEFLATED, 31)  # wbits 31: a gzip stream, Parquet's GZIP codec
    compressed = packer.compress(body) + packer.flush()
    data = [(1, _I32, len(reps)), (2, _I32, _PLAIN), (3, _I32, _RLE), (4, _I32, _RLE)]
    header = [(1, _I32, _DATA_PAGE), (2, _I32, len(body)), (3, _I32, len(compressed)), (5, _STRUCT, _thrift(data))]
    return _thrift(header), len(body), compressed


def _levels(levels: list[int], highest: int) -> bytes:
    """The RLE/bit-packed hybrid, RLE runs only: per run its length << 1, then the value in whole bytes."""
    width = (highest.bit_length() + 7) // 8
    out = bytearray()
    for value, run in groupby(levels):
        out += _varint(sum(1 for _ in run) << 1) + value.to_bytes(width, "little")
    return struct.pack("<I", len(out)) + out


def _plain(kind: str, values: list[Any]) -> bytes:
    if kind == "string":
        return b"".join(struct.pack("<I", len(v)) + v for v in values)
    if kind == "bool":  # bit-packed, least significant bit first
        bits = sum(1 << i for i, v in enumerate(values) if v)
        return bits.to_bytes((len(values) + 7) // 8, "little")
    return struct.pack(f"<{len(values)}{ {'int32': 'i', 'int64': 'q', 'double': 'd'}[kind] }", *values)


def _varint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    return bytes([*out, n])


def _thrift(fields: Iterable[tuple[int, int, Any]]) -> bytes:
    """A Thrift compact-protocol struct; fields in ascending id order, None skipped, a struct's value pre-encoded."""
    out, last = bytearray(), 0
    for number, kind, value in (field for field in fields if field[2] is not None):
        delta = number - last
        out += bytes([delta << 4 | kind]) if 0 < delta <= 15 else bytes([kind]) + _varint(number << 1)
        out += _value(kind, value)
        last = number
    out.append(0)
    return bytes(out)


def _value(kind: int, value: Any) -> bytes:
    if kind in (_I32, _I64):
        return _varint((value << 1) ^ (value >> 63))  # zigzag
    if kind == _BINARY:
        return _varint(len(raw := str(value).encode())) + raw
    if kind == _LIST_T:
        inner, items = value
        size = bytes([len(items) << 4 | inner]) if len(items) < 15 else bytes([0xF0 | inner]) + _varint(len(items))
        return size + b"".join(_value(inner, item) for item in items)
    assert isinstance(value, bytes)  # a struct, already encoded
    return value
