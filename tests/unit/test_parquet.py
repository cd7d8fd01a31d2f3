"""The stdlib Parquet writer, read back by pyarrow (a test-only reader): flat and nested optional data with nulls at
each level, empty vs null vs null-element lists, maps, required fields, 0 rows, unicode, int64 extremes, many rows,
random rows for a nested schema, the schema and codec pyarrow reports, and the errors for bad input."""

from __future__ import annotations

from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guardian.model.parquet import Leaf, List, Map, Node, Struct, write

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
NESTED = Struct(
    "nested",
    (
        Leaf("id", "int64", required=True),
        Leaf("name", "string"),
        Leaf("flag", "bool"),
        Leaf("score", "double"),
        Leaf("small", "int32"),
        Struct("outer", (Leaf("a", "string"), Struct("inner", (Leaf("b", "int32"), Leaf("c", "string"))))),
        List("tags", Leaf("element", "string")),
        List(
            "items",
            Struct("item", (Leaf("uid", "string", required=True), List("codes", Leaf("element", "int64")))),
        ),
        Map("attributes"),
        Struct("must", (Leaf("x", "string", required=True),), required=True),
    ),
)


def read(data: bytes) -> pa.Table:
    return pq.read_table(pa.BufferReader(data))


def expected(node: Node, value: Any) -> Any:
    """What pyarrow gives back for ``value``: absent optional keys as None, maps as lists of pairs, doubles as float."""
    if value is None:
        return None
    if isinstance(node, Struct):
        return {f.name: expected(f, value.get(f.name)) for f in node.fields}
    if isinstance(node, List):
        return [expected(node.element, item) for item in value]
    if isinstance(node, Map):
        return list(value.items())
    return float(value) if node.kind == "double" else value


def round_trip(schema: Struct, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    table = read(write(schema, rows, created_by="guardian tests"))
    got: list[dict[str, Any]] = table.to_pylist()
    assert got == [expected(schema, row) for row in rows]
    return got


def test_flat_rows_with_nulls_unicode_and_int64_extremes_read_back() -> None:
    schema = Struct("flat", (Leaf("s", "string"), Leaf("n", "int64"), Leaf("b", "bool"), Leaf("d", "double")))
    rows: list[dict[str, Any]] = [
        {"s": "héllo wörld ✓ 日本 🙂", "n": INT64_MIN, "b": True, "d": -1.5},
        {"s": None, "n": INT64_MAX, "b": False, "d": 0},
        {},
        {"s": "", "n": 0},
    ]
    round_trip(schema, rows)


def test_nested_optional_structs_with_nulls_at_each_level() -> None:
    rows: list[dict[str, Any]] = [
        {"id": 1, "must": {"x": "1"}, "outer": {"a": "a", "inner": {"b": 2, "c": "c"}}},
        {"id": 2, "must": {"x": "2"}, "outer": {"a": None, "inner": {"b": None}}},
        {"id": 3, "must": {"x": "3"}, "outer": {"inner": None}},
        {"id": 4, "must": {"x": "4"}, "outer": {}},
        {"id": 5, "must": {"x": "5"}, "outer": None},
    ]
    got = round_trip(NESTED, rows)
    assert [row["outer"] for row in got] == [
        {"a": "a", "inner": {"b": 2, "c": "c"}},
        {"a": None, "inner": {"b": None, "c": None}},
        {"a": None, "inner": None},
        {"a": None, "inner": None},
        None,
    ]


def test_lists_empty_null_and_with_a_null_element_differ() -> None:
    rows: list[dict[str, Any]] = [
        {"id": 1, "must": {"x": "1"}, "tags": ["a", "b"], "items": [{"uid": "u", "codes": [1, 2, 3]}]},
        {"id": 2, "must": {"x": "2"}, "tags": [], "items": []},
        {"id": 3, "must": {"x": "3"}, "tags": None, "items": None},
        {"id": 4, "must": {"x": "4"}, "tags": [None, "z", None], "items": [None, {"uid": "v", "codes": []}]},
        {"id": 5, "must": {"x": "5"}, "items": [{"uid": "w", "codes": [None]}, {"uid": "x"}]},
    ]
    got = round_trip(NESTED, rows)
    assert [row["tags"] for row in got] == [["a", "b"], [], None, [None, "z", None], None]
    assert got[3]["items"] == [None, {"uid": "v", "codes": []}]
    assert got[4]["items"] == [{"uid": "w", "codes": [None]}, {"uid": "x", "codes": None}]


def test_maps_of_string_to_string() -> None:
    rows: list[dict[str, Any]] = [
        {"id": 1, "must": {"x": "1"}, "attributes": {"k": "v", "é": "✓", "none": None}},
        {"id": 2, "must": {"x": "2"}, "attributes": {}},
        {"id": 3, "must": {"x": "3"}, "attributes": None},
    ]
    got = round_trip(NESTED, rows)
    assert [row["attributes"] for row in got] == [[("k", "v"), ("é", "✓"), ("none", None)], [], None]


def test_zero_rows_is_a_valid_file() -> None:
    table = read(write(NESTED, [], created_by="guardian tests"))
    assert table.num_rows == 0
    assert table.column_names == [f.name for f in NESTED.fields]


def test_many_rows_span_many_level_runs() -> None:
    rows: list[dict[str, Any]] = [
        {
            "id": i,
            "must": {"x": str(i)},
            "name": None if i % 3 == 0 else f"row {i}",
            "tags": [str(j) for j in range(i % 4)] if i % 5 else None,
            "flag": i % 2 == 0,
        }
        for i in range(1000)
    ]
    round_trip(NESTED, rows)


def test_the_schema_pyarrow_reports_and_the_gzip_codec() -> None:
    data = write(NESTED, [{"id": 1, "must": {"x": "x"}}], created_by="cloudtrail-guardian tests")
    schema = read(data).schema
    assert schema.field("id").type == pa.int64()
    assert not schema.field("id").nullable
    assert schema.field("name").type == pa.string()
    assert schema.field("flag").type == pa.bool_()
    assert schema.field("score").type == pa.float64()
    assert schema.field("small").type == pa.int32()
    assert pa.types.is_struct(schema.field("outer").type)
    assert schema.field("outer").type.field("inner").type == pa.struct([("b", pa.int32()), ("c", pa.string())])
    assert schema.field("tags").type == pa.list_(pa.field("element", pa.string()))
    attributes = schema.field("attributes").type
    assert pa.types.is_map(attributes)
    assert (attributes.key_type, attributes.item_type) == (pa.string(), pa.string())
    metadata = pq.ParquetFile(pa.BufferReader(data)).metadata
    assert metadata.created_by == "cloudtrail-guardian tests"
    assert metadata.num_row_groups == 1
    codecs = {metadata.row_group(0).column(i).compression for i in range(metadata.num_columns)}
    assert codecs == {"GZIP"}


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"must": {"x": "x"}}, "row 0: id: required value missing"),
        ({"id": 1}, "row 0: must: required value missing"),
        ({"id": 1, "must": {}}, "row 0: must.x: required value missing"),
        ({"id": 1, "must": {"x": "x"}, "items": [{}]}, "row 0: items[0].uid: required value missing"),
        ({"id": "1", "must": {"x": "x"}}, "row 0: id: expected int64, got str"),
        ({"id": True, "must": {"x": "x"}}, "row 0: id: expected int64, got bool"),
        ({"id": 2**63, "must": {"x": "x"}}, "out of the int64 range"),
        ({"id": 1, "small": 2**31, "must": {"x": "x"}}, "out of the int32 range"),
        ({"id": 1, "must": {"x": 1}}, "row 0: must.x: expected string, got int"),
        ({"id": 1, "must": {"x": "x"}, "tags": "abc"}, "row 0: tags: expected a list, got str"),
        ({"id": 1, "must": {"x": "x"}, "tags": [1]}, "row 0: tags[0]: expected string, got int"),
        ({"id": 1, "must": {"x": "x"}, "outer": "x"}, "row 0: outer: expected an object, got str"),
        ({"id": 1, "must": {"x": "x"}, "attributes": {"k": 1}}, "row 0: attributes['k']: expected string"),
        ({"id": 1, "must": {"x": "x"}, "extra": 1}, "row 0: row: unknown key(s) ['extra']"),
        ({"id": 1, "must": {"x": "x"}, "outer": {"inner": {"d": 1}}}, "outer.inner: unknown key(s) ['d']"),
    ],
)
def test_bad_input_raises_naming_the_row_and_the_path(row: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as caught:
        write(NESTED, [row], created_by="t")
    assert message in str(caught.value)


def test_the_row_number_is_the_bad_rows() -> None:
    good = {"id": 1, "must": {"x": "x"}}
    with pytest.raises(ValueError, match=r"^row 2: name: expected string"):
        write(NESTED, [good, good, {**good, "name": 3}], created_by="t")


def test_a_lone_surrogate_is_written_as_its_escape() -> None:
    schema = Struct("s", (Leaf("s", "string"),))
    assert read(write(schema, [{"s": "a\ud800b"}], created_by="t")).to_pylist() == [{"s": "a\\ud800b"}]


def values(node: Node) -> st.SearchStrategy[Any]:
    """Random values for ``node``: None where it is optional."""
    strategy: st.SearchStrategy[Any]
    if isinstance(node, Struct):
        required = {f.name: values(f) for f in node.fields if f.required}
        strategy = st.fixed_dictionaries(required, optional={f.name: values(f) for f in node.fields if not f.required})
    elif isinstance(node, List):
        strategy = st.lists(values(node.element), max_size=4)
    elif isinstance(node, Map):
        strategy = st.dictionaries(st.text(max_size=5), st.none() | st.text(max_size=5), max_size=3)
    else:
        strategy = {
            "string": st.text(max_size=8),
            "int32": st.integers(-(2**31), 2**31 - 1),
            "int64": st.integers(INT64_MIN, INT64_MAX),
            "bool": st.booleans(),
            "double": st.floats(allow_nan=False),
        }[node.kind]
    return strategy if node.required else st.none() | strategy


@settings(max_examples=150, deadline=None)
@given(st.lists(values(NESTED).filter(lambda row: row is not None), max_size=6))
def test_random_nested_rows_round_trip(rows: list[dict[str, Any]]) -> None:
    round_trip(NESTED, rows)
