"""Alert and evidence documents: subject rules, the versioned JSON schema, keys derived from the eventID."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from guardian import __version__
from guardian.model.alert import ALERT_SCHEMA, build_alert
from guardian.model.decide import PolicyContext, decide
from guardian.model.digests import Entry, digest_document
from guardian.model.events import parse_event
from guardian.model.evidence import EVIDENCE_SCHEMA, evidence_key, evidence_record
from guardian.model.record_summary import summarize
from guardian.model.results import ActionRecord, Result, Verification, blind_window
from guardian.model.rules import Outcome, Severity
from guardian.model.subjects import SUBJECT_MAX
from tests.support import ACCOUNT, GUARDIAN_ROLE_ARN, fixture_names, load_event

CONTEXT = PolicyContext(
    account_id=ACCOUNT, self_role_arn=GUARDIAN_ROLE_ARN, exempt_principals=("glob:arn:aws:iam::*:role/ci-*",)
)
STOPPED_AT = datetime(2026, 11, 20, 10, 0, 0, tzinfo=UTC)


def healed(name: str = "stop_logging", seconds: float = 2.1) -> Result:
    event = parse_event(load_event(name))
    decision = decide(event, CONTEXT)
    restored = STOPPED_AT + timedelta(seconds=seconds)
    verification = Verification(
        is_logging=True,
        checks=1,
        checked_at=restored,
        start_logging_time=restored,
        latest_delivery_time=STOPPED_AT - timedelta(minutes=3),
    )
    action = ActionRecord("StartLogging", "us-east-1", "management-trail", restored, restored, True)
    return Result(
        event,
        decision,
        Outcome.HEALED,
        Severity.HIGH,
        (action,),
        verification,
        blind_window(event.event_time, verification),
    )


def alert_only(name: str) -> Result:
    """The alert as the workflow sends it when nothing is healed (no baseline for a restore row, say)."""
    event = parse_event(load_event(name))
    decision = decide(event, CONTEXT)
    outcome = Outcome.ALERTED if decision.outcome is Outcome.HEALED else decision.outcome
    return Result(event, decision, outcome, decision.severity)


def test_healed_subject_reads_like_the_issue_example() -> None:
    alert = build_alert(healed(), evidence_bucket="b", evidence_key="k", function_name="fn")
    assert alert.subject == "[HIGH] CloudTrail logging stopped on trail management-trail by mallory — restored in 2.1 s"


@pytest.mark.parametrize("name", fixture_names())
def test_every_subject_is_one_printable_line_under_100_characters(name: str) -> None:
    subject = build_alert(alert_only(name), evidence_bucket="b", evidence_key="k", function_name=None).subject
    assert len(subject) <= SUBJECT_MAX < 100
    assert subject.isprintable()
    assert subject.startswith("[")


def test_long_names_are_shortened_but_the_verdict_is_kept() -> None:
    result = healed()
    assert result.decision.trail is not None
    long_trail = result.decision.trail._replace(name="t" * 200)
    result = replace(
        result,
        decision=replace(result.decision, trail=long_trail),
        event=replace(result.event, actor=result.event.actor._replace(user_name="u" * 150)),
    )
    subject = build_alert(result, evidence_bucket="b", evidence_key="k", function_name=None).subject
    assert len(subject) <= SUBJECT_MAX
    assert subject.endswith("— restored in 2.1 s")
    assert "…" in subject


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "stop_logging_access_denied",
            "[MEDIUM] Attempted StopLogging on trail management-trail by mallory — failed: AccessDenied",
        ),
        (
            "stop_logging_exempt_ci",
            "[HIGH] CloudTrail logging stopped on trail management-tra… by ci-deployer/pip… — exempt, not undone",
        ),
        (
            "stop_logging_org_trail_member",
            "[CRITICAL] CloudTrail logging stopped on trail org-trail by mallory — cannot heal from here",
        ),
        ("start_logging_by_guardian", "[INFO] CloudTrail logging started on trail management-trail by the guardian"),
        ("stop_logging_parameters_omitted", "[HIGH] CloudTrail logging stopped on an unidentified trail by mallory"),
        ("delete_trail", "[HIGH] CloudTrail trail deleted on trail management-trail by mallory"),
    ],
)
def test_subject_per_outcome(name: str, expected: str) -> None:
    assert build_alert(alert_only(name), evidence_bucket="b", evidence_key="k", function_name=None).subject == expected


def test_message_is_the_versioned_document_with_every_field() -> None:
    alert = build_alert(
        healed("stop_logging_console_arn"),
        evidence_bucket="ev-bucket",
        evidence_key="evidence/x.json",
        function_name="guardian-fn",
    )
    doc = json.loads(alert.message)
    assert (doc["schema"], doc["schema_version"], doc["severity"], doc["outcome"]) == (
        ALERT_SCHEMA,
        "1.4",
        "HIGH",
        "healed",
    )
    assert doc["event"] == {
        "id": "0a000002-1111-4111-8111-000000000002",
        "name": "StopLogging",
        "source": "cloudtrail.amazonaws.com",
        "time": "2026-11-20T10:00:00Z",
        "region": "us-west-2",
        "account": ACCOUNT,
        "error_code": None,
        "error_message": None,
    }
    assert doc["actor"]["arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/SecurityAdmin/alice@example.com"
    assert (doc["actor"]["type"], doc["actor"]["console"], doc["actor"]["mfa"]) == ("AssumedRole", True, True)
    assert (doc["actor"]["source_ip"], doc["actor"]["user_agent"]) == ("198.51.100.23", "AWS Internal")
    assert doc["trail"] == {
        "name": "audit-west",
        "arn": f"arn:aws:cloudtrail:us-west-2:{ACCOUNT}:trail/audit-west",
        "home_region": "us-west-2",
        "account": ACCOUNT,
    }
    assert doc["action"] == {
        "taken": ["StartLogging"],
        "result": "succeeded",
        "error": None,
        "diagnosis": None,
        "planned": None,  # observe mode's calls not made (guardian.model.mode)
    }
    assert doc["verification"]["is_logging"] is True
    assert doc["verification"]["start_logging_time"] == "2026-11-20T10:00:02.100000Z"
    assert doc["blind_window_seconds"] == 2.1
    assert doc["evidence"] == {"bucket": "ev-bucket", "key": "evidence/x.json", "written": True, "error": None}
    assert (doc["detected_by"], doc["changes"]) == ("event", [])
    assert doc["guardian"] == {"version": __version__, "function": "guardian-fn"}
    assert "blind for 2.1 s" in doc["summary"]
    assert alert.attributes == {"severity": "HIGH", "event_name": "StopLogging", "outcome": "healed"}


def test_publish_request_carries_string_message_attributes() -> None:
    request = build_alert(healed(), evidence_bucket="b", evidence_key="k", function_name=None).publish_kwargs("arn:t")
    assert request["TopicArn"] == "arn:t"
    assert request["MessageAttributes"]["outcome"] == {"DataType": "String", "StringValue": "healed"}


def test_evidence_keys_are_derived_from_the_event_id_and_date() -> None:
    assert evidence_key(healed()) == "evidence/2026/11/20/0a000001-1111-4111-8111-000000000001.json"
    failed = replace(healed(), outcome=Outcome.HEAL_FAILED)
    assert evidence_key(failed).endswith("000000000001.heal-failed.json")


def test_unsafe_event_ids_are_hashed_into_the_key() -> None:
    result = healed()
    result = replace(result, event=replace(result.event, event_id="../../etc/passwd"))
    key = evidence_key(result)
    assert "/../" not in key
    assert key.startswith("evidence/2026/11/20/sha256-")


def test_evidence_record_holds_the_original_event_actions_verification_and_versions() -> None:
    result = healed()
    record = evidence_record(
        result,
        written_at=STOPPED_AT,
        topic_arn="arn:t",
        alert_subject="s",
        function_name="fn",
        request_id="req-1",
        boto3_version="1.2.3",
        botocore_version="4.5.6",
    )
    assert (record["schema"], record["schema_version"], record["record_id"]) == (
        EVIDENCE_SCHEMA,
        "1.5",
        "0a000001-1111-4111-8111-000000000001",
    )
    assert record["original_event"] == load_event("stop_logging")
    assert record["actions"][0]["action"] == "StartLogging"
    assert record["actions"][0]["result"] == "succeeded"
    assert record["verification"]["is_logging"] is True
    assert record["verification"]["latest_delivery_time"] == "2026-11-20T09:57:00Z"
    assert record["blind_window_seconds"] == 2.1
    assert record["who"]["arn"] == f"arn:aws:iam::{ACCOUNT}:user/mallory"
    assert record["where"] == {"region": "us-east-1", "account": ACCOUNT}
    assert record["when"] == {"event_time": "2026-11-20T10:00:00Z"}
    assert record["guardian"]["boto3_version"] == "1.2.3"
    assert record["guardian"]["version"] == __version__
    assert json.loads(json.dumps(record)) == record


def test_blind_window_uses_cloudtrails_start_logging_time() -> None:
    checked = STOPPED_AT + timedelta(seconds=9)
    started = STOPPED_AT + timedelta(seconds=1.5)
    assert blind_window(STOPPED_AT, Verification(True, 2, checked, start_logging_time=started)) == 1.5
    assert blind_window(STOPPED_AT, Verification(True, 2, checked)) == 9.0
    assert blind_window(STOPPED_AT, Verification(False, 2, checked)) is None
    assert blind_window(None, Verification(True, 2, checked)) is None


def _summary(result: Result) -> str:
    return str(
        json.loads(build_alert(result, evidence_bucket="b", evidence_key="k", function_name=None).message)["summary"]
    )


def test_the_summary_names_the_undo_that_was_made_not_always_start_logging() -> None:
    """A bucket's lifecycle put back is not "restarted logging"."""
    restored = STOPPED_AT + timedelta(seconds=1)
    action = ActionRecord("DeleteBucketLifecycle", "us-east-1", "audit-logs", restored, restored, True)
    result = replace(healed(), actions=(action,), blind_window_seconds=None)
    text = _summary(result)
    assert "restarted logging" not in text
    assert text.endswith("The guardian put it back (DeleteBucketLifecycle) and verified it.")
    assert "The guardian restarted logging and verified it. The trail was blind for 2.1 s." in _summary(healed())


def test_a_sweep_finding_says_what_the_sweep_found_not_an_unknown_principal() -> None:
    from guardian.model.changes import Change, Effect  # noqa: PLC0415
    from guardian.model.decide import Decision  # noqa: PLC0415
    from guardian.model.findings import found_event, rule_event  # noqa: PLC0415
    from guardian.model.refs import TrailRef  # noqa: PLC0415
    from guardian.model.rules import SWEEP_RULE, Action  # noqa: PLC0415

    arn = "arn:aws:cloudtrail:us-east-1:123456789012:trail/org-audit"
    trail = TrailRef("org-audit", "us-east-1", ACCOUNT, arn, arn)
    event = found_event(
        "sweep-x",
        account_id=ACCOUNT,
        region="us-east-1",
        detected_at=STOPPED_AT,
        trail=trail,
        raw={"trail": arn, "deleted": True, "changes": []},
    )
    decision = Decision(Action.HEAL, Outcome.HEALED, Severity.CRITICAL, "healed by sweep", SWEEP_RULE, trail)
    calls = tuple(
        ActionRecord(c, "us-east-1", "org-audit", STOPPED_AT, STOPPED_AT, True) for c in ("CreateTrail", "StartLogging")
    )
    text = _summary(Result(event, decision, Outcome.HEALED, Severity.CRITICAL, calls))
    assert text == (
        "The sweep found trail org-audit (us-east-1) deleted; no event reported the change. "
        "The guardian put it back (CreateTrail, StartLogging) and verified it."
    )
    rule = rule_event("CloudTrailGuardian-tamper", account_id=ACCOUNT, region="us-east-1", detected_at=STOPPED_AT)
    disabled = (Change("state", "ENABLED", "DISABLED", Effect.WEAKENED),)
    enabled = (ActionRecord("EnableRule", "us-east-1", "CloudTrailGuardian-tamper", STOPPED_AT, STOPPED_AT, True),)
    result = Result(rule, replace(decision, trail=None), Outcome.HEALED, Severity.CRITICAL, enabled, changes=disabled)
    assert _summary(result).startswith("The sweep found the guardian's own rule CloudTrailGuardian-tamper disabled;")
    assert "unknown principal" not in _summary(result)


def _shape(value: object) -> object:
    """Keys, in order, all the way down (lists by their first item): what a documented example must match."""
    if isinstance(value, dict):
        return [(k, _shape(v)) for k, v in value.items() if not isinstance(v, dict) or v]
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return [_shape(value[0])]
    return None


def test_the_documented_alert_and_evidence_record_have_the_shape_the_code_writes() -> None:
    """docs/alerts.md and docs/evidence.md show a healed StopLogging: the same keys, in the same order."""
    from tests.unit.test_docs import DOCS, _json_blocks  # noqa: PLC0415 - the docs' own parser

    _, documented_alert = _json_blocks(DOCS / "alerts.md")
    documented_record, _sidecar, documented_digest = _json_blocks(DOCS / "evidence.md")
    result = healed()
    alert = json.loads(build_alert(result, evidence_bucket="b", evidence_key="k", function_name="fn").message)
    record = evidence_record(
        result,
        written_at=STOPPED_AT,
        topic_arn="arn:t",
        alert_subject="s",
        function_name="fn",
        request_id="req-1",
        boto3_version="1.2.3",
        botocore_version="4.5.6",
    )
    assert _shape(alert) == _shape(documented_alert)
    assert list(record) == list(documented_record)
    record.pop("original_event"), documented_record.pop("original_event")  # the event as received, verbatim
    assert _shape(record) == _shape(documented_record)
    digest = digest_document(
        sequence=2,
        covers_from=STOPPED_AT,
        covers_to=STOPPED_AT,
        previous=("digests/k", "00"),
        entries=[Entry("evidence/k.json", "v", "00", "t", "GOVERNANCE", "t", summarize(record))],
        written_at=STOPPED_AT,
        broken=[],
    )
    signed = {**digest, "signature": {"key_id": "k", "algorithm": "a", "value": "v"}}
    assert _shape(signed) == _shape(documented_digest)
