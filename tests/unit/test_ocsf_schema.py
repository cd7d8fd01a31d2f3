"""The guardian's OCSF Detection Findings and their Parquet schema checked against the published OCSF 1.1.0 schema
(tests/fixtures/ocsf/1.1.0-detection-finding.json, made by scripts/ocsf_extract.py from github.com/ocsf/ocsf-schema
at tag v1.1.0): for every event fixture and outcome, every required attribute of the class and of each object present,
no attribute the class or object does not have, OCSF's types, enum values among the enum's, captions matching their
ids, and type_uid as 1.1.0 computes it; the Parquet columns typed as OCSF types them; and the checker can fail."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from guardian.model import ocsf
from guardian.model.decide import PolicyContext, decide
from guardian.model.events import MalformedEvent, parse_event
from guardian.model.ocsf_parquet import SCHEMA, rows_to_parquet
from guardian.model.parquet import Leaf, List, Map, Node, Struct
from guardian.model.results import Result
from guardian.model.rules import Outcome
from tests.support import ACCOUNT, corpus_files, corpus_id, load_event
from tests.unit.test_ocsf_parquet import NOW, finding, findings

EXTRACT = json.loads((Path(__file__).parent.parent / "fixtures" / "ocsf" / "1.1.0-detection-finding.json").read_text())
CLASS, OBJECTS, TYPES = EXTRACT["class"], EXTRACT["objects"], EXTRACT["types"]
FREE_FORM = "object"  # OCSF's generic object (``unmapped``'s type): any keys
RANGES = {"integer_t": (-(2**31), 2**31 - 1), "long_t": (-(2**63), 2**63 - 1)}
PARQUET = {"integer_t": "int32", "long_t": "int64", "string_t": "string", "boolean_t": "bool", "float_t": "double"}


def base(type_name: str) -> str:
    """An OCSF type's primitive: ip_t -> string_t, timestamp_t -> long_t, port_t -> integer_t."""
    while TYPES.get(type_name, {}).get("type"):
        type_name = TYPES[type_name]["type"]
    return type_name


def applies(attribute: dict[str, Any], profiles: set[str]) -> bool:
    """A profile's attribute belongs to a document only when ``metadata.profiles`` names the profile."""
    return attribute.get("profile") is None or attribute["profile"] in profiles


def check(document: dict[str, Any]) -> list[str]:
    """Every way ``document`` is not a valid OCSF 1.1.0 Detection Finding, each naming the attribute's path."""
    found: list[str] = []
    profiles = set((document.get("metadata") or {}).get("profiles") or [])
    found += [
        f"metadata.profiles: {p!r} is not a profile of the class" for p in sorted(profiles - set(CLASS["profiles"]))
    ]
    _object(document, CLASS["attributes"], (), "", profiles, found)
    activity, type_uid = document.get("activity_id"), document.get("type_uid")
    if isinstance(activity, int) and type_uid != CLASS["uid"] * 100 + activity:
        found.append(f"type_uid: {type_uid!r} is not class_uid {CLASS['uid']} * 100 + activity_id {activity}")
    return found


def _object(
    value: dict[str, Any],
    attributes: dict[str, Any],
    at_least_one: list[str] | tuple[()],
    where: str,
    profiles: set[str],
    found: list[str],
) -> None:
    for name, attribute in sorted(attributes.items()):
        if attribute["requirement"] == "required" and applies(attribute, profiles) and value.get(name) in (None, ""):
            found.append(f"{where}{name}: required, missing")
    if at_least_one and not any(value.get(name) not in (None, "") for name in at_least_one):
        found.append(f"{where.rstrip('.') or 'document'}: needs at least one of {', '.join(at_least_one)}")
    for name, item in sorted(value.items()):
        attribute = attributes.get(name)
        if attribute is None or not applies(attribute, profiles):
            why = f"of profile {attribute['profile']!r}, not applied" if attribute else "not an attribute"
            found.append(f"{where}{name}: {why}")
            continue
        if attribute.get("deprecated"):
            found.append(f"{where}{name}: deprecated since {attribute['deprecated']}")
        sibling = attribute.get("sibling")
        if sibling and "enum" in attribute and isinstance(item, int) and sibling in value and item != 99:
            caption = attribute["enum"].get(str(item))
            if caption is not None and value[sibling] != caption:
                found.append(f"{where}{sibling}: {value[sibling]!r} is not {name} {item}'s caption {caption!r}")
        ids = [n for n, a in attributes.items() if a.get("sibling") == name and "enum" in a]
        if ids and ids[0] not in value:
            found.append(f"{where}{name}: without {ids[0]} (99 Other keeps the source's text)")
        if attribute.get("is_array"):
            if not isinstance(item, list):
                found.append(f"{where}{name}: not an array")
                continue
            for element in item:
                _value(element, attribute, f"{where}{name}[]", profiles, found)
        else:
            _value(item, attribute, f"{where}{name}", profiles, found)


def _value(item: Any, attribute: dict[str, Any], where: str, profiles: set[str], found: list[str]) -> None:
    kind = base(attribute["type"])
    if kind == "object_t":
        name = attribute["object"]
        if not isinstance(item, dict):
            found.append(f"{where}: not an object ({name})")
        elif name not in OBJECTS:
            found.append(f"{where}: object {name!r} is not in the extract (add it to scripts/ocsf_extract.py)")
        elif name != FREE_FORM:
            obj = OBJECTS[name]
            _object(item, obj["attributes"], obj.get("at_least_one", ()), f"{where}.", profiles, found)
        return
    if kind in RANGES:
        low, high = RANGES[kind]
        if not isinstance(item, int) or isinstance(item, bool) or not low <= item <= high:
            found.append(f"{where}: {item!r} is not {attribute['type']}")
            return
    elif kind == "string_t":
        spec = TYPES.get(attribute["type"], {})
        if not isinstance(item, str):
            found.append(f"{where}: {item!r} is not {attribute['type']}")
            return
        if len(item) > spec.get("max_len", TYPES["string_t"]["max_len"]):
            found.append(f"{where}: longer than {attribute['type']}'s max_len")
        if "regex" in spec and not re.search(spec["regex"], item):
            found.append(f"{where}: {item!r} does not match {attribute['type']}")
    elif kind == "boolean_t" and not isinstance(item, bool):
        found.append(f"{where}: {item!r} is not boolean_t")
    if "enum" in attribute and str(item) not in attribute["enum"]:
        found.append(f"{where}: {item!r} is not among the enum's {sorted(attribute['enum'], key=int)}")


DOCUMENTS = findings()


def test_the_extract_names_its_source_and_the_class_as_1_1_0_computes_it() -> None:
    source = EXTRACT["_source"]
    assert (source["repository"], source["tag"], source["licence"]) == (
        "https://github.com/ocsf/ocsf-schema",
        "v1.1.0",
        "Apache-2.0",
    )
    assert re.fullmatch(r"[0-9a-f]{40}", source["commit"])
    assert (CLASS["name"], CLASS["category_uid"], CLASS["uid"]) == ("detection_finding", 2, 2 * 1000 + 4)
    assert (CLASS["uid"], 2, CLASS["caption"]) == (ocsf.CLASS_UID, ocsf.CATEGORY_UID, ocsf.CLASS_NAME)
    assert CLASS["attributes"]["activity_id"]["enum"] == {
        "0": "Unknown",
        **{str(k): v for k, v in ocsf.ACTIVITIES.items()},
        "99": "Other",
    }
    assert EXTRACT["referenced_objects_not_extracted"]  # only what the documents reach is kept
    assert (Path(__file__).parent.parent / "fixtures" / "ocsf" / "1.1.0-detection-finding.json").stat().st_size < 40_000


@pytest.mark.parametrize(
    "index",
    range(len(DOCUMENTS)),
    ids=lambda i: f"{i}-{DOCUMENTS[i]['metadata']['uid'].rsplit('/', 1)[-1].removesuffix('.json')}",
)
def test_every_document_is_a_valid_detection_finding(index: int) -> None:
    document = DOCUMENTS[index]
    assert check(document) == []
    assert ocsf.problems(document) == []


def of_record(record: dict[str, Any]) -> dict[str, Any]:
    event = parse_event(record)
    decision = decide(event, PolicyContext(account_id=ACCOUNT))
    return ocsf.build_detection_finding(
        Result(event, decision, Outcome.ALERTED, decision.severity),
        account=ACCOUNT,
        home_region="us-east-1",
        now=NOW,
        evidence_key="evidence/2026/11/20/x.json",
        evidence_sha256=None,
        summary="s",
    )


@pytest.mark.parametrize(
    ("source", "identity", "endpoint", "user"),
    [
        ("198.51.100.23", "IAMUser", {"ip": "198.51.100.23"}, (1, "User")),
        ("2001:db8::1", "Root", {"ip": "2001:db8::1"}, (2, "Admin")),
        ("cloudtrail.amazonaws.com", "AWSService", {"svc_name": "cloudtrail.amazonaws.com"}, (3, "System")),
        ("AWS Internal", "AssumedRole", {"svc_name": "AWS Internal"}, (99, "AssumedRole")),
        ("AWS Internal", None, {"svc_name": "AWS Internal"}, (0, "Unknown")),
    ],
)
def test_a_service_as_the_source_and_each_identity_type_are_valid(
    source: str, identity: str | None, endpoint: dict[str, str], user: tuple[int, str]
) -> None:
    """CloudTrail writes a service's name, not an address, as the source of a call an AWS service made."""
    record = load_event("stop_logging")
    detail = record.get("detail", record)
    detail["sourceIPAddress"] = source
    detail["userIdentity"]["type"] = identity
    document = of_record(record)
    [evidence] = document["evidences"]
    assert evidence["src_endpoint"] == endpoint
    assert (evidence["actor"]["user"]["type_id"], evidence["actor"]["user"]["type"]) == user
    assert check(document) == []
    assert rows_to_parquet([document], created_by="cloudtrail-guardian")


@pytest.mark.parametrize("path", corpus_files(), ids=corpus_id)
def test_a_published_cloudtrail_record_as_a_finding_is_valid(path: Path) -> None:
    try:
        document = of_record(json.loads(path.read_text()))
    except MalformedEvent:
        pytest.skip("not an API call the guardian reads")
    assert check(document) == []
    assert ocsf.problems(document) == []


def test_the_documents_cover_every_fixture_outcome_and_optional_part() -> None:
    assert {d["unmapped"]["outcome"] for d in DOCUMENTS} == {o.value for o in Outcome}
    assert any("verified_logging" in d["unmapped"] for d in DOCUMENTS)
    assert any("src_endpoint" in e for d in DOCUMENTS for e in d["evidences"])
    assert any("account" in e["actor"]["user"] for d in DOCUMENTS for e in d["evidences"])


def test_the_runtime_checkers_required_attributes_are_the_published_ones() -> None:
    """``problems`` runs without the extract (in the sweep): its table of required attributes is the extract's, for
    the class with the cloud profile and for each object the documents use, at the paths they use it."""
    profiles = {"cloud"}
    top = {n for n, a in CLASS["attributes"].items() if a["requirement"] == "required" and applies(a, profiles)}
    assert set(ocsf.REQUIRED[""]) == top
    for path, names in ocsf.REQUIRED.items():
        if path:
            attributes: dict[str, Any] = CLASS["attributes"]
            for part in path.split("."):
                attributes = OBJECTS[attributes[part]["object"]]["attributes"]
            assert set(names) == {n for n, a in attributes.items() if a["requirement"] == "required"}, path
    used = {".".join(p) for p in _object_paths(DOCUMENTS)}
    with_required = {p for p in used if _required_at(p)}
    assert with_required == set(ocsf.REQUIRED) - {""}


def _object_paths(documents: list[dict[str, Any]]) -> set[tuple[str, ...]]:
    paths: set[tuple[str, ...]] = set()

    def walk(value: Any, path: tuple[str, ...]) -> None:
        if isinstance(value, list):
            for item in value:
                walk(item, path)
        elif isinstance(value, dict) and path != ("unmapped",):
            if path:
                paths.add(path)
            for key, item in value.items():
                walk(item, (*path, key))

    for document in documents:
        walk(document, ())
    return paths


def _required_at(path: str) -> bool:
    attributes: dict[str, Any] = CLASS["attributes"]
    for part in path.split("."):
        attributes = OBJECTS[attributes[part]["object"]]["attributes"]
    return any(a["requirement"] == "required" for a in attributes.values())


def test_the_parquet_columns_are_typed_as_ocsf_types_them() -> None:
    """integer_t -> int32, long_t and timestamp_t -> int64, string_t -> string, objects -> structs, arrays -> lists,
    ``unmapped`` (OCSF's free-form object) -> a map; a column required exactly when OCSF requires the attribute."""
    found: list[str] = []
    for node in SCHEMA.fields:
        _column(node, CLASS["attributes"], "", found)
    assert found == []


def _column(node: Node, attributes: dict[str, Any], where: str, found: list[str]) -> None:
    path = f"{where}{node.name}"
    attribute = attributes.get(node.name)
    if attribute is None or not applies(attribute, {"cloud"}):
        found.append(f"{path}: not an attribute")
        return
    if node.required != (attribute["requirement"] == "required"):
        found.append(f"{path}: required is {node.required}, OCSF says {attribute['requirement']}")
    if bool(attribute.get("is_array")) != isinstance(node, List):
        found.append(f"{path}: array is {isinstance(node, List)}, OCSF says {bool(attribute.get('is_array'))}")
        return
    inner = node.element if isinstance(node, List) else node
    kind = base(attribute["type"])
    if kind == "object_t" and attribute["object"] == FREE_FORM:
        if not isinstance(inner, Map):
            found.append(f"{path}: OCSF's free-form object is not a map")
    elif kind == "object_t":
        if not isinstance(inner, Struct):
            found.append(f"{path}: object {attribute['object']} is not a struct")
            return
        for field in inner.fields:
            _column(field, OBJECTS[attribute["object"]]["attributes"], f"{path}.", found)
    elif not isinstance(inner, Leaf) or inner.kind != PARQUET[kind]:
        found.append(
            f"{path}: {getattr(inner, 'kind', type(inner).__name__)} is not {attribute['type']} ({PARQUET[kind]})"
        )


def test_the_checker_fails_on_a_missing_required_attribute_a_wrong_type_and_an_unknown_attribute() -> None:
    document = finding("stop_logging", Outcome.HEALED, 0)
    assert check(document) == []
    del document["finding_info"]["title"]
    document["time"] = "2026-11-20T10:00:05Z"
    document["evidences"][0]["api"]["request"]["id"] = "x"
    document["severity_id"] = 7
    document["metadata"]["profiles"] = ["cloud", "container"]
    document["resources"][0]["cloud_partition"] = 3
    assert check(document) == [
        "metadata.profiles: 'container' is not a profile of the class",
        "evidences[].api.request.id: not an attribute",
        "finding_info.title: required, missing",
        "resources[].cloud_partition: 3 is not string_t",
        "severity_id: 7 is not among the enum's ['0', '1', '2', '3', '4', '5', '6', '99']",
        "time: '2026-11-20T10:00:05Z' is not timestamp_t",
    ]


def test_the_checker_knows_profiles_enums_siblings_and_type_uid() -> None:
    document = finding("stop_logging", Outcome.ALERTED, 0)
    document["metadata"]["profiles"] = []
    document["type_uid"] = 200403
    document["severity"] = "Severe"
    document["finding_info"]["analytic"]["type_id"] = 5
    document["evidences"][0]["src_endpoint"] = {"ip": "cloudformation.amazonaws.com"}
    del document["evidences"][0]["actor"]["user"]["type_id"]
    assert check(document) == [
        "cloud: of profile 'cloud', not applied",
        "evidences[].actor.user.type: without type_id (99 Other keeps the source's text)",
        "evidences[].src_endpoint.ip: 'cloudformation.amazonaws.com' does not match ip_t",
        "finding_info.analytic.type_id: 5 is not among the enum's ['0', '1', '2', '3', '4', '99']",
        "resources[].cloud_partition: of profile 'cloud', not applied",
        "resources[].region: of profile 'cloud', not applied",
        "severity: 'Severe' is not severity_id 4's caption 'High'",
        "type_name: 'Detection Finding: Create' is not type_uid 200403's caption 'Detection Finding: Close'",
        "type_uid: 200403 is not class_uid 2004 * 100 + activity_id 1",
    ]
