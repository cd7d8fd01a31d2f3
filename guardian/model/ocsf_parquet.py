"""The OCSF Detection Findings of :mod:`guardian.model.ocsf` as one Parquet object: what a Security Lake custom source
takes.

Pure. :data:`SCHEMA` mirrors every key :func:`guardian.model.ocsf.build_detection_finding` can emit: objects are
structs, arrays lists, timestamps int64 milliseconds (OCSF's timestamp_t). ``unmapped`` has keys that vary, so it is a
map of string to the JSON text of each value. A key not in the schema raises rather than being dropped, so a change
to the builder cannot lose data silently. Rows are sorted by ``time``, as Security Lake asks of its objects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from guardian.model.ocsf import problems
from guardian.model.parquet import Leaf, List, Map, Node, Struct, write
from guardian.model.safe import json_text

if TYPE_CHECKING:
    from collections.abc import Sequence


def _text(*names: str, required: tuple[str, ...] = ()) -> tuple[Node, ...]:
    return tuple(Leaf(name, "string", required=name in required) for name in names)


def _account(name: str) -> Struct:
    """OCSF's account object as the builder writes it (uid, type_id 10, type)."""
    return Struct(name, (Leaf("uid", "string"), Leaf("type_id", "int32"), Leaf("type", "string")))


_USER = Struct("user", (*_text("name", "type", "uid"), Leaf("type_id", "int32"), _account("account")))
_EVIDENCE = Struct(
    "evidence",
    (
        Struct("actor", (_USER,)),
        Struct(
            "api",
            (
                Leaf("operation", "string", required=True),
                Struct("service", _text("name")),
                Struct("request", _text("uid", required=("uid",))),
            ),
        ),
        Struct("src_endpoint", _text("ip", "svc_name")),
    ),
)
_ANALYTIC = Struct("analytic", (Leaf("type_id", "int32", required=True), *_text("type", "uid", "name")))
SCHEMA = Struct(
    "detection_finding",
    (
        Leaf("activity_id", "int32", required=True),
        Leaf("activity_name", "string"),
        Leaf("category_uid", "int32", required=True),
        Leaf("category_name", "string"),
        Leaf("class_uid", "int32", required=True),
        Leaf("class_name", "string"),
        Leaf("type_uid", "int64", required=True),  # OCSF long_t
        Leaf("type_name", "string"),
        Leaf("time", "int64", required=True),
        Leaf("severity_id", "int32", required=True),
        Leaf("severity", "string"),
        Leaf("status_id", "int32"),
        Leaf("status", "string"),
        Leaf("message", "string"),
        Struct(
            "metadata",
            (
                Leaf("version", "string", required=True),
                Struct("product", _text("name", "vendor_name", "version", required=("vendor_name",)), required=True),
                List("profiles", Leaf("element", "string")),
                Leaf("uid", "string"),
            ),
            required=True,
        ),
        Struct(
            "finding_info",
            (
                *_text("uid", "title", "desc", required=("uid", "title")),
                List("types", Leaf("element", "string")),
                Leaf("created_time", "int64"),
                Leaf("first_seen_time", "int64"),
                Leaf("last_seen_time", "int64"),
                _ANALYTIC,
            ),
            required=True,
        ),
        List("resources", Struct("resource", _text("uid", "type", "region", "cloud_partition"))),
        Struct(
            "cloud",
            (Leaf("provider", "string", required=True), _account("account"), Leaf("region", "string")),
            required=True,
        ),
        List("evidences", _EVIDENCE),
        Map("unmapped"),
    ),
)


def rows_to_parquet(documents: Sequence[dict[str, Any]], *, created_by: str) -> bytes:
    """One Parquet object of Detection Findings sorted by ``time``; ValueError for an invalid document (named by its
    ``metadata.uid``) or a key the schema does not have."""
    for document in documents:
        found = problems(document)
        if found:
            uid = (document.get("metadata") or {}).get("uid")
            raise ValueError(f"document {uid!r} is not a valid Detection Finding: {'; '.join(found)}")
    ordered = sorted(documents, key=lambda document: int(document["time"]))
    return write(SCHEMA, [_row(document) for document in ordered], created_by=created_by)


def _row(document: dict[str, Any]) -> dict[str, Any]:
    """The document as the schema stores it: ``unmapped``'s values as JSON text."""
    unmapped = document.get("unmapped")
    if not isinstance(unmapped, dict):
        return document
    return {**document, "unmapped": {str(key): json_text(value) for key, value in unmapped.items()}}
