"""An alert as an OCSF Detection Finding and as the guardian's own EventBridge event: the published required attributes,
type_uid's arithmetic, the severity and activity mappings, the entry's size and source, the settings read from the
environment, and where the two steps run after the alert (over test_workflow's recording fake)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from guardian.flows.handle_event import handle
from guardian.model.config import Config
from guardian.model.config_values import ConfigError
from guardian.model.decide import PolicyContext, decide
from guardian.model.events import parse_event
from guardian.model.ocsf import (
    CATEGORY_UID,
    CLASS_UID,
    PREFIX,
    REQUIRED,
    SEVERITY_IDS,
    activity_id,
    body,
    build_detection_finding,
    object_key,
    problems,
)
from guardian.model.own_events import DEFAULT_DETAIL_TYPE, ENTRY_MAX, SOURCE, alert_entry, entry_size, mismatch
from guardian.model.results import Result
from guardian.model.rules import Outcome, Severity
from guardian.ports.invocation import Invocation
from tests.support import ACCOUNT, TRAIL, load_event
from tests.unit.test_workflow import Clock, FakeAws

NOW = datetime(2026, 11, 20, 10, 0, 5, tzinfo=UTC)
BUS = f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/default"


def result(name: str = "stop_logging", outcome: Outcome = Outcome.HEALED, **changes: Any) -> Result:
    event = parse_event(load_event(name))
    decision = decide(event, PolicyContext(account_id=ACCOUNT))
    return replace(Result(event, decision, outcome, decision.severity), **changes)


def ocsf(r: Result) -> dict[str, Any]:
    return build_detection_finding(
        r,
        account=ACCOUNT,
        home_region="us-east-1",
        now=NOW,
        evidence_key="evidence/2026/11/20/x.json",
        evidence_sha256="ab" * 32,
        summary="CloudTrail logging stopped",
    )


def test_every_published_required_attribute_is_set_and_the_class_is_detection_finding() -> None:
    document = ocsf(result())
    assert set(document) >= set(REQUIRED[""])  # the published schema's: tests/unit/test_ocsf_schema.py
    assert problems(document) == []
    assert (document["class_uid"], document["category_uid"]) == (2004, 2) == (CLASS_UID, CATEGORY_UID)
    assert document["metadata"]["version"] == "1.1.0"
    assert document["metadata"]["product"]["vendor_name"] == "cloudtrail-guardian"
    assert document["time"] == 1_795_168_805_000  # NOW in milliseconds
    assert document["cloud"] == {
        "provider": "AWS",
        "account": {"uid": ACCOUNT, "type_id": 10, "type": "AWS Account"},
        "region": "us-east-1",
    }
    [trail] = document["resources"]
    assert trail["type"] == "AwsCloudTrailTrail"
    assert trail["uid"].endswith(f":trail/{TRAIL}")
    assert document["unmapped"]["evidence_key"] == "evidence/2026/11/20/x.json"
    assert document["unmapped"]["evidence_sha256"] == "ab" * 32
    [evidence] = document["evidences"]
    assert evidence["api"]["operation"] == "StopLogging"
    assert evidence["api"]["service"]["name"] == "cloudtrail.amazonaws.com"
    assert document["finding_info"]["analytic"] == {
        "type_id": 1,
        "type": "Rule",
        "uid": "cloudtrail-guardian/StopLogging",
        "name": "cloudtrail-guardian/StopLogging",
    }


@pytest.mark.parametrize(
    ("outcome", "activity", "status"),
    [
        (Outcome.HEALED, 3, 4),  # Close, Resolved
        (Outcome.REPEATED_TAMPERING, 2, 1),  # Update, New
        (Outcome.HEAL_FAILED, 1, 1),  # Create, New
        (Outcome.ALERTED, 1, 1),
    ],
)
def test_type_uid_is_class_uid_times_100_plus_the_activity(outcome: Outcome, activity: int, status: int) -> None:
    document = ocsf(result(outcome=outcome))
    assert activity_id(outcome) == document["activity_id"] == activity
    assert document["type_uid"] == 2004 * 100 + activity
    assert document["type_name"] == f"Detection Finding: {document['activity_name']}"
    assert document["status_id"] == status
    assert problems(document) == []


@pytest.mark.parametrize(
    ("severity", "severity_id", "caption"),
    [
        (Severity.INFO, 1, "Informational"),
        (Severity.LOW, 2, "Low"),
        (Severity.MEDIUM, 3, "Medium"),
        (Severity.HIGH, 4, "High"),
        (Severity.CRITICAL, 5, "Critical"),
    ],
)
def test_severity_mapping(severity: Severity, severity_id: int, caption: str) -> None:
    document = ocsf(result(severity=severity))
    assert (document["severity_id"], document["severity"]) == (severity_id, caption)
    assert len(SEVERITY_IDS) == len(Severity)


def test_the_checker_names_what_breaks_the_class() -> None:
    document = ocsf(result())
    broken = {k: v for k, v in document.items() if k != "cloud"}
    broken["type_uid"] = 2004
    broken["finding_info"] = {"uid": "x"}
    assert problems(broken) == [
        "missing cloud",
        "missing finding_info.title",
        "type_uid is not class_uid * 100 + activity_id",
    ]


def test_the_finding_uid_is_the_security_hub_findings_id_so_a_heal_closes_what_a_failure_created() -> None:
    from guardian.model.asff import build_finding  # noqa: PLC0415

    failed, healed = ocsf(result(outcome=Outcome.HEAL_FAILED)), ocsf(result())
    assert failed["finding_info"]["uid"] == healed["finding_info"]["uid"]
    asff = build_finding(
        result(), account=ACCOUNT, home_region="us-east-1", now=NOW, count=1, evidence_key="k", evidence_sha256=None,
        summary="s",
    )  # fmt: skip
    assert healed["finding_info"]["uid"] == asff.id


def test_each_object_is_one_line_under_the_custom_source_partitions() -> None:
    document = ocsf(result())
    key = object_key(document, "evidence/2026/11/20/abc-123.heal-failed.json")
    assert key == f"{PREFIX}region=us-east-1/accountId={ACCOUNT}/eventDay=20261120/abc-123.heal-failed.json"
    text = body(document)
    assert text.endswith(b"\n")
    assert text.count(b"\n") == 1
    assert json.loads(text) == document


def test_the_own_event_is_the_alert_document_and_its_verify_object_with_a_source_eventbridge_accepts() -> None:
    alert = {
        "schema": "cloudtrail-guardian/alert",
        "severity": "HIGH",
        "evidence": {"bucket": "b", "key": "evidence/k"},
    }
    message = json.dumps(alert)
    entry = alert_entry(message, bus_arn=BUS, detail_type=DEFAULT_DETAIL_TYPE, evidence_sha256="ab" * 32)
    assert {k: v for k, v in entry.items() if k != "Detail"} == {
        "Source": SOURCE,
        "DetailType": "CloudTrail Guardian Alert",
        "EventBusName": BUS,
    }
    detail = json.loads(entry["Detail"])
    assert detail.pop("verify") == {
        "evidence_key": "evidence/k",
        "evidence_sha256": "ab" * 32,
        "signature_key": "evidence/k.sig",
    }
    assert detail == alert  # the rest is the document as mailed
    assert not SOURCE.startswith("aws.")  # EventBridge refuses PutEvents with an aws.* source


def test_an_entry_over_256_kb_is_cut_as_the_alert_is() -> None:
    message = json.dumps({"schema": "cloudtrail-guardian/alert", "event": {"error_message": "x" * 400_000}})
    entry = alert_entry(message, bus_arn=BUS, detail_type=DEFAULT_DETAIL_TYPE)
    assert entry_size(entry) <= ENTRY_MAX
    detail = json.loads(entry["Detail"])
    assert detail["schema"] == "cloudtrail-guardian/alert"
    assert "event.error_message" in detail["truncated"]["fields"]
    assert set(detail["verify"]) == {"evidence_key", "evidence_sha256", "signature_key"}  # never cut


def test_an_event_whose_verify_does_not_match_a_signed_record_is_named_so() -> None:
    sidecar = {"record": {"key": "evidence/k", "sha256": "ab" * 32, "bytes": 10}}
    real = {"verify": {"evidence_key": "evidence/k", "evidence_sha256": "ab" * 32}}
    assert mismatch(real, sidecar) is None
    assert (
        mismatch({"outcome": "healed"}, sidecar)
        == "no verify fields: not the guardian's event, or its record is unsigned"
    )
    assert mismatch({"verify": {"evidence_key": "evidence/x", "evidence_sha256": "cd" * 32}}, None) == (
        "no signed record at 'evidence/x'"
    )
    forged = {"verify": {"evidence_key": "evidence/k", "evidence_sha256": "cd" * 32}}
    assert mismatch(forged, sidecar) == "the record's SHA-256 is not the event's: forged or changed"


def test_the_environment_names_a_bus_and_a_detail_type_or_nothing() -> None:
    env = {"GUARDIAN_TOPIC_ARN": f"arn:aws:sns:us-east-1:{ACCOUNT}:t", "GUARDIAN_EVIDENCE_BUCKET": "evidence"}
    off = Config.from_env(env)
    assert (off.ocsf, off.own_events) == (False, None)
    on = Config.from_env({**env, "GUARDIAN_OCSF": "1", "GUARDIAN_OWN_EVENTS": BUS})
    assert (on.ocsf, on.own_events) == (True, (BUS, "CloudTrail Guardian Alert"))
    named = Config.from_env({**env, "GUARDIAN_OWN_EVENTS": BUS, "GUARDIAN_OWN_EVENTS_DETAIL_TYPE": "Tamper"})
    assert named.own_events == (BUS, "Tamper")
    with pytest.raises(ConfigError, match="GUARDIAN_OWN_EVENTS is not an event bus ARN"):
        Config.from_env({**env, "GUARDIAN_OWN_EVENTS": f"arn:aws:sns:us-east-1:{ACCOUNT}:t"})
    with pytest.raises(ConfigError, match="GUARDIAN_OWN_EVENTS_DETAIL_TYPE"):
        Config.from_env({**env, "GUARDIAN_OWN_EVENTS": BUS, "GUARDIAN_OWN_EVENTS_DETAIL_TYPE": "x" * 129})


class CopyingAws(FakeAws):
    """test_workflow's recording fake, with the calls the two copies make."""

    def __init__(self, *, refuse_event: bool = False) -> None:
        super().__init__()
        self.written: dict[str, bytes] = {}
        self.entries: list[dict[str, Any]] = []
        self.refuse_event = refuse_event

    def put_new(self, key: str, body: bytes, *, locked_until: datetime | None = None) -> bool:
        self.calls.append(("PutObject", key))
        self.written[key] = body
        return True

    def put_own_event(self, entry: dict[str, Any]) -> None:
        self.calls.append(("PutEvents", entry["DetailType"]))
        if self.refuse_event:
            raise RuntimeError("EventBridge refused the guardian's event: InternalFailure: x")
        self.entries.append(entry)


def handled(aws: CopyingAws, **settings: Any) -> Any:
    clock = Clock()
    event = parse_event(load_event("stop_logging"))
    config = Config(
        topic_arn=f"arn:aws:sns:us-east-1:{ACCOUNT}:t",
        evidence_bucket="ev",
        self_role_arn=None,
        exempt_principals=(),
        verify_attempts=4,
        verify_delay_seconds=0.5,
        **settings,
    )
    return handle(event, decide(event, PolicyContext(account_id=ACCOUNT)), aws, config, Invocation(clock, clock.sleep))


def test_both_copies_follow_the_alert_and_security_hub_and_off_makes_no_call() -> None:
    off = CopyingAws()
    handled(off)
    assert not any(name == "PutEvents" or str(key).startswith(PREFIX) for name, key in off.calls)
    aws = CopyingAws()
    done = handled(aws, ocsf=True, own_events=(BUS, "Tamper"))
    names = [name for name, _ in aws.calls]
    assert names[:4] == ["StartLogging", "GetTrailStatus", "PutObject", "Publish"]  # the alert is never delayed
    assert names[-2:] == ["PutObject", "PutEvents"]  # after Security Hub's finding, the OCSF object, then the event
    assert names.index("BatchUpdateFindings") < len(names) - 2
    assert str(aws.calls[-2][1]).startswith(PREFIX)
    [entry] = aws.entries
    assert (entry["Source"], entry["DetailType"], entry["EventBusName"]) == ("cloudtrail-guardian", "Tamper", BUS)
    detail = json.loads(entry["Detail"])
    verify = detail.pop("verify")
    assert detail == json.loads(aws.published[0]["Message"])  # the document as mailed, and verify
    assert verify["evidence_key"] == detail["evidence"]["key"]  # its SHA-256: test_finding_copies_moto (signed)
    assert problems(json.loads(aws.written[str(aws.calls[-2][1])])) == []
    assert not {"copy the alert as an OCSF finding", "put the alert on the event bus"} & set(done.steps_failed)


def test_a_refused_event_is_a_failed_step_never_a_lost_alert() -> None:
    aws = CopyingAws(refuse_event=True)
    done = handled(aws, own_events=(BUS, DEFAULT_DETAIL_TYPE))
    assert done.published
    assert "put the alert on the event bus" in done.steps_failed
    assert aws.published  # the alert went out first


def test_a_self_test_is_an_event_but_not_a_finding() -> None:
    from guardian.flows.ocsf_findings import wanted  # noqa: PLC0415
    from guardian.model.purpose import Purpose  # noqa: PLC0415

    config = Config(
        topic_arn=f"arn:aws:sns:us-east-1:{ACCOUNT}:t",
        evidence_bucket="ev",
        self_role_arn=None,
        exempt_principals=(),
        verify_attempts=1,
        verify_delay_seconds=0,
        ocsf=True,
    )
    assert wanted(result(), config)
    selftest = Purpose("selftest", "st-1", "arn:aws:sts::123456789012:assumed-role/ops/me", "test")
    assert not wanted(result(purpose=selftest), config)
