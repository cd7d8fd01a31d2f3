"""Each alert copied to the account's Security Hub as one ASFF finding, after the alert (moto, bridged as AWS answers:
simulation.security_hub)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from guardian.flows import security_hub
from guardian.model.asff import problems
from tests.integration.world import World
from tests.support import ACCOUNT, TRAIL, load_event


@pytest.fixture(autouse=True)
def forgotten() -> Iterator[None]:
    security_hub.forget()
    yield
    security_hub.forget()


def findings() -> list[dict[str, Any]]:
    return list(boto3.client("securityhub", region_name="us-east-1").get_findings()["Findings"])


def test_a_healed_stop_logging_is_one_finding_new_then_resolved_with_its_evidence(world: World) -> None:
    hub = boto3.client("securityhub", region_name="us-east-1")
    hub.enable_security_hub()
    calls: list[tuple[str, str | None]] = []

    result = _recorded(world, calls, load_event("stop_logging"))

    assert result["outcome"] == "healed"
    assert result["steps_failed"] == []
    assert [name for name, _ in calls] == ["GetFindings", "BatchImportFindings", "BatchUpdateFindings"]
    assert calls[1][1] == "NEW"  # created NEW,
    assert calls[2][1] == "RESOLVED"  # then resolved once healed
    [finding] = findings()
    assert problems(finding) == []
    assert finding["Workflow"] == {"Status": "RESOLVED"}
    assert finding["Compliance"] == {"Status": "PASSED"}
    assert finding["GeneratorId"] == "cloudtrail-guardian/StopLogging"
    assert finding["ProductArn"] == f"arn:aws:securityhub:us-east-1:{ACCOUNT}:product/{ACCOUNT}/default"
    assert finding["Severity"]["Label"] == "HIGH"
    [resource] = finding["Resources"]
    assert resource["Type"] == "AwsCloudTrailTrail"
    assert resource["Id"].endswith(f":trail/{TRAIL}")
    fields = finding["ProductFields"]
    assert fields["guardian/count"] == "1"
    assert fields["guardian/verified_logging"] == "true"
    [key] = world.evidence_keys()
    body = world.clients["s3"].get_object(Bucket=world.bucket, Key=key)["Body"].read()
    assert fields["guardian/evidence_key"] == key
    assert fields["guardian/evidence_sha256"] == hashlib.sha256(body).hexdigest()


def test_a_repeat_updates_the_one_finding_and_its_count(world: World) -> None:
    boto3.client("securityhub", region_name="us-east-1").enable_security_hub()
    world.invoke(load_event("stop_logging"))
    [first] = findings()
    world.cloudtrail().stop_logging(Name=TRAIL)
    event = load_event("stop_logging")
    event["detail"]["eventID"] = "a-second-stop-0000"
    world.invoke(event)

    [finding] = findings()  # updated, not duplicated
    assert finding["Id"] == first["Id"]
    assert finding["ProductFields"]["guardian/count"] == "2"
    assert finding["CreatedAt"] == first["CreatedAt"]
    assert finding["Workflow"] == {"Status": "RESOLVED"}


def test_security_hub_not_enabled_is_noted_once_and_never_fails_a_step(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="guardian.flows.security_hub")
    first = world.invoke(load_event("stop_logging"))
    world.cloudtrail().stop_logging(Name=TRAIL)
    event = load_event("stop_logging")
    event["detail"]["eventID"] = "a-second-stop-0001"
    second = world.invoke(event)

    assert (first["steps_failed"], second["steps_failed"]) == ([], [])
    assert (first["alert_published"], second["alert_published"]) == (True, True)  # the alerts are unaffected
    notes = [r for r in caplog.records if "Security Hub is not enabled" in r.getMessage()]
    assert len(notes) == 1  # noted once, not per alert


def test_the_setting_off_imports_nothing(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    boto3.client("securityhub", region_name="us-east-1").enable_security_hub()
    monkeypatch.setenv("GUARDIAN_SECURITY_HUB", "off")
    world.invoke(load_event("stop_logging"))
    assert findings() == []


def _recorded(world: World, calls: list[tuple[str, str | None]], event: dict[str, Any]) -> dict[str, Any]:
    """Invoke, recording the Security Hub calls and the Workflow status each sends."""
    from guardian.adapters.clients import Boto3Clients  # noqa: PLC0415

    original = Boto3Clients.securityhub

    def recording(self: Boto3Clients, region: str) -> Any:
        client = original(self, region)
        if getattr(client, "_recorded_here", None) is not calls:

            def note(model: Any, params: dict[str, Any], **_: Any) -> None:
                sent = params.get("Workflow") or next(iter(params.get("Findings") or [{}])).get("Workflow")
                calls.append((model.name, (sent or {}).get("Status")))

            client.meta.events.register("provide-client-params.securityhub.*", note)
            client._recorded_here = calls
        return client

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Boto3Clients, "securityhub", recording)
        return world.invoke(event)


def test_status_says_whether_findings_are_on_off_or_not_enabled(world: World) -> None:
    from dataclasses import replace  # noqa: PLC0415

    from guardian.adapters.clients import Boto3Clients  # noqa: PLC0415
    from guardian.adapters.full import FullAdapter  # noqa: PLC0415
    from guardian.model.config import Config  # noqa: PLC0415
    from guardian_console.status import security_hub_health  # noqa: PLC0415

    aws = FullAdapter(Boto3Clients(), topic_arn=world.topic_arn, topic_region="us-east-1", evidence_bucket=world.bucket)
    config = Config(
        topic_arn=world.topic_arn,
        evidence_bucket=world.bucket,
        self_role_arn=None,
        exempt_principals=(),
        verify_attempts=1,
        verify_delay_seconds=0,
    )
    assert security_hub_health(aws, config, "us-east-1").state.startswith("not enabled")
    assert security_hub_health(aws, replace(config, security_hub=False), "us-east-1").state.startswith("off")
    boto3.client("securityhub", region_name="us-east-1").enable_security_hub()
    health = security_hub_health(aws, config, "us-east-1")
    assert (health.what, health.state, health.problem) == ("Security Hub findings", "on", None)
