"""The console's pieces that need no AWS: running the deployed sweep (Lambda Invoke, stubbed: moto cannot run a
function without Docker), the report over hand-made records, and the refusal of bad input."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from guardian.model.record_summary import summarize
from guardian_console import sweeping
from guardian_console.deployed import Deployed
from guardian_console.errors import ConsoleError
from guardian_console.records import Stored
from guardian_console.report import build

DEPLOYED = Deployed(
    stack="CloudTrailGuardian",
    account="123456789012",
    region="us-east-1",
    evidence_bucket="evidence",
    topic_arn="arn:aws:sns:us-east-1:123456789012:alerts",
    remediation_function="CloudTrailGuardian-remediation",
    sweep_function="CloudTrailGuardian-sweep",
    dead_letter_queue="https://sqs/dlq",
    signing_key="arn:aws:kms:us-east-1:123456789012:key/k",
    regions=("us-east-1",),
)


class Session:
    """A session whose Lambda client answers from a Stubber."""

    def __init__(self) -> None:
        self.lambda_ = boto3.client("lambda", region_name="us-east-1")
        self.stub = Stubber(self.lambda_)

    def client(self, service: str, **_: Any) -> Any:
        assert service == "lambda"
        return self.lambda_


def payload(document: dict[str, Any]) -> StreamingBody:
    body = json.dumps(document).encode()
    return StreamingBody(io.BytesIO(body), len(body))


def test_sweep_invokes_the_deployed_sweep_and_waits_for_its_summary() -> None:
    session = Session()
    expected = {"FunctionName": "CloudTrailGuardian-sweep", "InvocationType": "RequestResponse", "Payload": b"{}"}
    session.stub.add_response("invoke", {"StatusCode": 200, "Payload": payload({"ok": True})}, expected)
    with session.stub:
        succeeded, summary, _ = sweeping.invoke(session, DEPLOYED)
    assert (succeeded, summary) == (True, {"ok": True})


def test_a_sweep_that_fails_is_reported_with_its_error() -> None:
    session = Session()
    failed = payload({"errorMessage": "sweep incomplete: ...", "errorType": "SweepFailed"})
    session.stub.add_response("invoke", {"StatusCode": 200, "FunctionError": "Unhandled", "Payload": failed})
    with session.stub:
        succeeded, summary, _ = sweeping.invoke(session, DEPLOYED)
    assert succeeded is False
    assert summary["errorType"] == "SweepFailed"


def test_a_sweep_the_caller_may_not_invoke_is_one_line_naming_the_permission() -> None:
    session = Session()
    session.stub.add_client_error("invoke", "AccessDeniedException", "not authorized")
    with session.stub, pytest.raises(ConsoleError, match="the caller needs lambda:InvokeFunction on it"):
        sweeping.invoke(session, DEPLOYED)


def record(**fields: Any) -> Stored:
    base: dict[str, Any] = {
        "schema": "cloudtrail-guardian/evidence",
        "schema_version": "1.2",
        "outcome": "healed",
        "severity": "HIGH",
        "when": {"event_time": "2026-07-02T10:00:00Z"},
        "written_at": "2026-07-02T10:00:02Z",
        "who": {"arn": "arn:aws:iam::123456789012:user/mallory"},
        "where": {"region": "us-east-1", "account": "123456789012"},
        "what": {"event_name": "StopLogging"},
        "trail": {"name": "org-audit"},
        "actions": [{"action": "StartLogging"}],
        "verification": {"is_logging": True, "checks": 1, "start_logging_time": "2026-07-02T10:00:01Z"},
        "blind_window_seconds": 1.0,
        "detected_by": "event",
        "guardian": {"version": "0.1.0"},
    }
    base.update(fields)
    return Stored("evidence/k.json", "123456789012", "v1", "ab" * 32, "GOVERNANCE", None, summarize(base))


def test_the_summary_counts_and_spreads_as_stated() -> None:
    records = [record(blind_window_seconds=float(n)) for n in range(1, 21)] + [
        record(outcome="heal_failed", severity="CRITICAL", blind_window_seconds=None, verification=None),
        record(outcome="healed", detected_by="sweep", blind_window_seconds=None, when={"event_time": None}),
    ]
    now = datetime(2026, 10, 1, tzinfo=UTC)
    report = build(records, [], start=date(2026, 7, 1), end=date(2026, 9, 30), accounts=["123456789012"], now=now)
    s = report.summary
    assert s.records == 22
    assert s.by_outcome == {"healed": 21, "heal_failed": 1}
    assert s.by_severity == {"HIGH": 21, "CRITICAL": 1}
    assert s.blind_window == {"count": 20, "median": 10.5, "p95": 19.0, "max": 20.0}
    assert s.restore["count"] == 20
    assert s.restore["max"] == 1.0
    assert s.sweep_findings == 1
    assert report.rows[20].verified == "not verified"
    assert report.partial is False
