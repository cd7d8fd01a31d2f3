"""Every alert the remediation function publishes gets its copies, not only the event path's: a stack call not
confirmed, a refused call on the guardian, an event it failed to read (guardian.entrypoints.alert_copies), each one
Security Hub finding (and, where on, its OCSF object and own event), made after the alert, through lambda_handler
against moto."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from guardian.entrypoints import handler, runtime
from guardian.flows import security_hub
from guardian.model.asff import problems
from guardian.model.ocsf import PREFIX
from tests.integration.calls_in_order import calls_in_order
from tests.integration.test_finding_copies_moto import BUS, listening, received
from tests.integration.test_stack_callers_moto import subscribe_via_cloudformation
from tests.integration.world import World, message_of
from tests.support import ACCOUNT, load_event


@pytest.fixture(autouse=True)
def hub(world: World) -> Iterator[Any]:
    security_hub.forget()
    client = boto3.client("securityhub", region_name="us-east-1")
    client.enable_security_hub()
    yield client
    security_hub.forget()


@pytest.fixture
def calls(world: World, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every AWS call the guardian makes, in order, as ``service:Operation``."""
    return calls_in_order(monkeypatch)


def findings(hub: Any) -> list[dict[str, Any]]:
    return list(hub.get_findings()["Findings"])


def stack_call(world: World) -> dict[str, Any]:
    """CloudFormation subscribing to the alerts topic, with no stack of the guardian's to confirm it: CRITICAL."""
    return subscribe_via_cloudformation(world.topic_arn, "arn:aws:sqs:us-east-1:123456789012:x", datetime.now(UTC))


def denied(n: int = 1) -> dict[str, Any]:
    """What the guard-denied rule sends: a DeleteFunction on the guardian that AWS refused."""
    detail = {
        "eventVersion": "1.09",
        "eventID": f"0d000001-1111-4111-8111-{n:012d}",
        "eventTime": (datetime.now(UTC) - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": "lambda.amazonaws.com",
        "eventName": "DeleteFunction20150331",
        "eventType": "AwsApiCall",
        "awsRegion": "us-east-1",
        "recipientAccountId": ACCOUNT,
        "userIdentity": {"type": "IAMUser", "arn": f"arn:aws:iam::{ACCOUNT}:user/mallory", "accountId": ACCOUNT},
        "requestParameters": {"functionName": "CloudTrailGuardian-Remediation"},
        "errorCode": "AccessDenied",
        "errorMessage": "not authorized",
    }
    return {"guardian": "guard-denied", "detail": detail}


def after_the_alert(calls: list[str]) -> None:
    first_import = calls.index("securityhub:BatchImportFindings")
    assert max(i for i, c in enumerate(calls) if c == "sns:Publish") < first_import  # never before the alert


def test_a_stack_call_alert_is_one_finding_after_the_alert(world: World, hub: Any, calls: list[str]) -> None:
    answer = world.invoke(stack_call(world))

    assert answer["stack_change"] == "alerted"
    assert "steps_failed" not in answer
    [alert] = world.alerts()
    assert alert["Subject"].startswith("[CRITICAL]")
    [finding] = findings(hub)
    assert problems(finding) == []
    assert finding["GeneratorId"].startswith("cloudtrail-guardian/sweep/stack_change/Subscribe on ")  # as the sweep
    assert finding["Severity"]["Label"] == "CRITICAL"
    assert (finding["Workflow"], finding["ProductFields"]["guardian/count"]) == ({"Status": "NEW"}, "1")
    after_the_alert(calls)


def test_a_guard_denied_alert_is_one_finding_counted_by_its_repeats(world: World, hub: Any, calls: list[str]) -> None:
    answer = world.invoke(denied(1))

    assert (answer["guard_denied"], answer["alert_published"]) == ("attempt_failed", True)
    assert len(world.alerts()) == 1
    [finding] = findings(hub)
    assert problems(finding) == []
    assert finding["GeneratorId"] == "cloudtrail-guardian/guard-denied"
    assert finding["Severity"]["Label"] == "MEDIUM"
    after_the_alert(calls)

    world.invoke(denied(2))  # a second attempt: the same finding, counted
    [again] = findings(hub)
    assert again["Id"] == finding["Id"]
    assert again["ProductFields"]["guardian/count"] == "2"


def test_an_unreadable_event_is_one_finding_after_its_fallback_alert(
    world: World, hub: Any, calls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: Any, **__: Any) -> Any:
        raise ValueError("a bug in the decision")

    monkeypatch.setattr(handler, "decide", broken)
    answer = world.invoke(load_event("stop_logging"))

    assert answer["outcome"] == "unreadable"
    assert "steps_failed" not in answer
    [alert] = world.alerts()
    assert alert["MessageAttributes"]["outcome"]["Value"] == "unreadable"
    [finding] = findings(hub)
    assert problems(finding) == []
    assert finding["GeneratorId"] == "cloudtrail-guardian/unreadable"
    assert finding["Severity"]["Label"] == "CRITICAL"
    assert finding["ProductFields"]["guardian/outcome"] == "unreadable"
    assert "ValueError: a bug in the decision" in finding["ProductFields"]["guardian/diagnosis"]
    after_the_alert(calls)


def test_where_on_a_refused_call_is_also_an_ocsf_object_and_the_guardians_own_event(
    world: World, hub: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GUARDIAN_OCSF", "1")
    monkeypatch.setenv("GUARDIAN_OWN_EVENTS", BUS)
    url = listening(world, {"source": ["cloudtrail-guardian"], "detail-type": ["CloudTrail Guardian Alert"]})
    runtime.reset()

    world.invoke(denied(3))

    [mailed] = world.alerts()
    assert len(findings(hub)) == 1
    [key] = world.evidence_keys(PREFIX)
    assert world.evidence(key)["class_uid"] == 2004
    [event] = received(world, url)
    event["detail"].pop("verify")
    assert event["detail"] == message_of(mailed)


def test_a_copy_that_fails_is_named_and_never_raised(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    def refused(*_: Any, **__: Any) -> Any:
        raise RuntimeError("Security Hub is down")

    monkeypatch.setattr(security_hub, "copy_to_security_hub", refused)
    answer = world.invoke(denied(4))

    assert answer["alert_published"] is True
    assert answer["steps_failed"] == ["copy the alert to Security Hub"]
    assert json.loads(world.alerts()[0]["Message"])["outcome"] == "attempt_failed"
