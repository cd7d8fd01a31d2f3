"""Detection Findings as one Parquet object for a Security Lake custom source: every key the builder emits has a
column (findings for every event fixture and outcome are written and read back by pyarrow), rows are sorted by time,
``unmapped`` is a map of JSON texts, and an unknown key or an invalid document raises."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
import pytest

from guardian.model.decide import PolicyContext, decide
from guardian.model.events import parse_event
from guardian.model.ocsf import build_detection_finding
from guardian.model.ocsf_parquet import SCHEMA, rows_to_parquet
from guardian.model.results import Result, Verification
from guardian.model.rules import Outcome
from tests.support import ACCOUNT, fixture_names, load_event

NOW = datetime(2026, 11, 20, 10, 0, 5, tzinfo=UTC)


def finding(name: str, outcome: Outcome, minutes: int, **changes: Any) -> dict[str, Any]:
    event = parse_event(load_event(name))
    decision = decide(event, PolicyContext(account_id=ACCOUNT))
    result = replace(Result(event, decision, outcome, decision.severity), **changes)
    return build_detection_finding(
        result,
        account=ACCOUNT,
        home_region="us-east-1",
        now=NOW - timedelta(minutes=minutes),
        evidence_key=f"evidence/2026/11/20/{name}-{outcome.value}.json",
        evidence_sha256="ab" * 32 if minutes % 2 else None,
        summary=f"{name}: {outcome.value} ✓",
    )


def findings() -> list[dict[str, Any]]:
    """For every event fixture and outcome, with and without a verification and a diagnosis; times out of order."""
    checked = Verification(is_logging=True, checks=2, checked_at=NOW)
    made = []
    for i, name in enumerate(fixture_names()):
        for j, outcome in enumerate(Outcome):
            extra: dict[str, Any] = {"verification": checked, "diagnosis": "AccessDenied"} if j % 2 else {}
            made.append(finding(name, outcome, minutes=(i * 7 + j * 13) % 50, **extra))
    return made


def read(data: bytes) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = pq.read_table(pa.BufferReader(data)).to_pylist()
    return rows


def test_findings_for_every_fixture_and_outcome_are_written_and_read_back_sorted_by_time() -> None:
    documents = findings()
    assert len(documents) > 50
    rows = read(rows_to_parquet(documents, created_by="cloudtrail-guardian 0.1.0"))
    assert len(rows) == len(documents)
    assert [row["time"] for row in rows] == sorted(d["time"] for d in documents)
    assert len({row["time"] for row in rows}) > 1
    by_uid = {d["metadata"]["uid"] + str(d["time"]) + d["status"]: d for d in documents}
    assert len(by_uid) == len(documents)
    for row in rows:
        document = by_uid[row["metadata"]["uid"] + str(row["time"]) + row["status"]]
        assert row["class_uid"] == document["class_uid"] == 2004
        assert row["type_uid"] == document["type_uid"]
        assert row["finding_info"]["uid"] == document["finding_info"]["uid"]
        assert row["finding_info"]["types"] == document["finding_info"]["types"]
        assert row["finding_info"]["analytic"] == document["finding_info"]["analytic"]
        assert row["resources"][0]["uid"] == document["resources"][0]["uid"]
        assert row["cloud"]["account"] == document["cloud"]["account"]
        assert row["evidences"][0]["api"]["operation"] == document["evidences"][0]["api"]["operation"]
        assert row["evidences"][0]["actor"]["user"]["name"] == document["evidences"][0]["actor"]["user"]["name"]
        assert {key: json.loads(text) for key, text in row["unmapped"]} == document["unmapped"]


def test_every_key_the_builder_emits_is_a_column_of_the_schema() -> None:
    seen: set[str] = set()

    def keys(value: Any, path: str) -> None:
        if isinstance(value, dict) and path != "unmapped":
            for key, item in value.items():
                seen.add(f"{path}.{key}".lstrip("."))
                keys(item, f"{path}.{key}".lstrip("."))
        elif isinstance(value, list):
            for item in value:
                keys(item, path)

    for document in findings():
        keys(document, "")
    assert {"evidences.src_endpoint.ip", "evidences.actor.user.account.uid", "unmapped"} <= seen
    assert seen <= columns(SCHEMA, "")


def columns(node: Any, path: str) -> set[str]:
    names = {path} if path else set()
    inner = getattr(node, "element", node)
    for field in getattr(inner, "fields", ()):
        names |= columns(field, f"{path}.{field.name}".lstrip("."))
    return names


def test_the_schema_pyarrow_reads_types_timestamps_as_int64_and_unmapped_as_a_map() -> None:
    data = rows_to_parquet([finding("stop_logging", Outcome.HEALED, 0)], created_by="cloudtrail-guardian")
    schema = pq.read_table(pa.BufferReader(data)).schema
    assert schema.field("time").type == pa.int64()
    assert schema.field("class_uid").type == pa.int32()
    assert schema.field("finding_info").type.field("created_time").type == pa.int64()
    assert schema.field("metadata").type.field("profiles").type == pa.list_(pa.field("element", pa.string()))
    assert pa.types.is_struct(schema.field("resources").type.value_type)
    assert pa.types.is_map(schema.field("unmapped").type)
    assert pq.ParquetFile(pa.BufferReader(data)).metadata.row_group(0).column(0).compression == "GZIP"
    [row] = read(data)
    assert dict(row["unmapped"])["outcome"] == '"healed"'
    assert row["evidences"][0]["api"]["service"]["name"] == "cloudtrail.amazonaws.com"


def test_no_documents_is_an_empty_object() -> None:
    assert read(rows_to_parquet([], created_by="cloudtrail-guardian")) == []


def test_a_key_the_schema_does_not_have_raises_naming_it() -> None:
    document = finding("stop_logging", Outcome.HEALED, 0)
    document["finding_info"]["new_attribute"] = "x"
    with pytest.raises(ValueError, match=r"finding_info: unknown key\(s\) \['new_attribute'\]"):
        rows_to_parquet([document], created_by="cloudtrail-guardian")
    document = finding("stop_logging", Outcome.HEALED, 0)
    document["observables"] = []
    with pytest.raises(ValueError, match="observables"):
        rows_to_parquet([document], created_by="cloudtrail-guardian")


def test_an_invalid_document_raises_naming_its_uid_and_problems() -> None:
    good = finding("stop_logging", Outcome.HEALED, 0)
    bad = finding("delete_trail", Outcome.ALERTED, 1)
    bad["type_uid"] = 7
    with pytest.raises(ValueError, match=r"delete_trail-alerted\.json.*type_uid is not class_uid"):
        rows_to_parquet([good, bad], created_by="cloudtrail-guardian")
