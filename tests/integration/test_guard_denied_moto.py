"""Refused calls on the guardian's own resources (rules ``<stack>-guard-denied*``) through the remediation function
against moto: MEDIUM "attempt on the guardian refused", grouped per principal, at most 5 publishes a second. The clock
is injected: no wall-clock time is asserted."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from guardian.entrypoints import runtime
from guardian.flows.grouping import flush_closed
from guardian.flows.rate_cap import CAP
from guardian.ports.invocation import Invocation
from tests.integration.test_alert_grouping_moto import Clock, items
from tests.integration.world import World, message_of

MALLORY = "arn:aws:iam::123456789012:user/mallory"


@pytest.fixture
def clock(world: World, monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Grouping on (5 minutes, as the stack sets it), the handler's clock and sleep the injected ones."""
    fake = Clock()
    monkeypatch.setenv("GUARDIAN_ALERT_GROUP_MINUTES", "5")
    monkeypatch.setattr(runtime, "now", fake)
    monkeypatch.setattr(
        runtime,
        "invocation",
        lambda context, settings=None: Invocation(fake, fake.sleep, getattr(context, "function_name", None), "req"),
    )
    return fake


def denied_delete(n: int, clock: Clock, *, error: str | None = "AccessDenied") -> dict[str, Any]:
    """What the guard-denied rule sends the function: its marker and the CloudTrail record."""
    detail: dict[str, Any] = {
        "eventVersion": "1.09",
        "eventID": f"0d000001-1111-4111-8111-{n:012d}",
        "eventTime": (clock.now - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": "lambda.amazonaws.com",
        "eventName": "DeleteFunction20150331",
        "eventType": "AwsApiCall",
        "awsRegion": "us-east-1",
        "recipientAccountId": "123456789012",
        "sourceIPAddress": "203.0.113.66",
        "userIdentity": {"type": "IAMUser", "arn": MALLORY, "accountId": "123456789012", "userName": "mallory"},
        "requestParameters": {"functionName": "CloudTrailGuardian-Remediation"},
        "responseElements": None,
    }
    if error is not None:
        detail |= {"errorCode": error, "errorMessage": "not authorized"}
    return {"guardian": "guard-denied", "detail": detail}


@pytest.mark.threat("alert-flood")
def test_50_denied_calls_on_the_guardian_mail_one_medium_alert_and_one_digest(world: World, clock: Clock) -> None:
    results = []
    for n in range(1, 51):
        results.append(world.invoke(denied_delete(n, clock)))
        clock.now += timedelta(seconds=0.2)  # 50 calls in 10 s: a loop
    assert [r["alert_published"] for r in results] == [True] + [False] * 49
    assert [r["severity"] for r in results] == ["MEDIUM"] * 50
    [first] = world.alerts()
    assert first["Subject"].startswith("[MEDIUM] ")
    assert first["Subject"].startswith("[MEDIUM] 123456789012 Refused: DeleteFunction on CloudTra")
    assert first["Subject"].endswith(" by mallory (AccessDenied)")
    said = message_of(first)
    assert said["outcome"] == "attempt_failed"
    assert "Attempt on the guardian refused: DeleteFunction on CloudTrailGuardian-Remediation" in said["summary"]
    assert len(world.evidence_keys()) == 50  # every attempt recorded
    assert max(int(i["sent"]["N"]) for i in items("#rate")) <= CAP

    clock.now += timedelta(minutes=5)  # the window closes; the sweep sends its digest
    config = runtime.config()
    run = Invocation(clock, clock.sleep, "sweep", "req")
    assert flush_closed(runtime.full_adapter(config), config, run) == 1
    [digest] = world.alerts()
    assert message_of(digest)["group"]["count"] == 49
    assert max(int(i["sent"]["N"]) for i in items("#rate")) <= CAP


@pytest.mark.threat("alert-flood")
def test_a_record_without_an_error_code_is_a_change_alerted_critical_every_time(world: World, clock: Clock) -> None:
    for n in range(1, 3):
        result = world.invoke(denied_delete(n, clock, error=None))
        assert (result["severity"], result["alert_published"]) == ("CRITICAL", True)
        clock.now += timedelta(seconds=1)
    subjects = [a["Subject"] for a in world.alerts()]
    assert len(subjects) == 2
    assert all(s.startswith("[CRITICAL] ") and "Guardian changed: DeleteFunction on " in s for s in subjects)
