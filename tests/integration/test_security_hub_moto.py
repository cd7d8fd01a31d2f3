"""Each alert copied to the account's Security Hub as one ASFF finding, after the alert (moto, bridged as AWS answers:
simulation.security_hub)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from guardian.entrypoints import runtime
from guardian.flows import finding_batch, security_hub, sweep_findings
from guardian.model.asff import problems
from guardian.ports.invocation import Invocation
from tests.integration.test_route_copies_moto import denied
from tests.integration.world import World
from tests.support import ACCOUNT, TRAIL, load_event
from tests.unit.test_sweep_findings import rule_found


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


def at(monkeypatch: pytest.MonkeyPatch, moment: datetime) -> None:
    """Every invocation's clock at ``moment`` (a finding's Workflow is read once a window, by the clock)."""
    made = runtime.invocation
    monkeypatch.setattr(runtime, "invocation", lambda *a, **k: replace(made(*a, **k), clock=lambda: moment))


def item(finding_id: str) -> dict[str, Any]:
    key = {"principal": {"S": "#findings"}, "at": {"S": finding_id}}
    found: dict[str, Any] = boto3.client("dynamodb").get_item(TableName="guardian-activity", Key=key)["Item"]
    return found


def forge(finding_id: str, **attributes: dict[str, str]) -> None:
    """What anyone may write in the activity table without the SCP: the finding's item, its count not a number."""
    key = {"principal": {"S": "#findings"}, "at": {"S": finding_id}}
    boto3.client("dynamodb").put_item(TableName="guardian-activity", Item={**key, **attributes})


def test_a_repeat_is_counted_in_the_activity_table_and_costs_one_security_hub_request(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    boto3.client("securityhub", region_name="us-east-1").enable_security_hub()
    at(monkeypatch, datetime.now(UTC))  # both copies in one window
    world.invoke(load_event("stop_logging"))
    world.cloudtrail().stop_logging(Name=TRAIL)
    event = load_event("stop_logging")
    event["detail"]["eventID"] = "a-second-stop-0002"
    calls: list[tuple[str, str | None]] = []
    _recorded(world, calls, event)

    assert [name for name, _ in calls] == ["BatchImportFindings"]  # no GetFindings: the count is the table's
    [finding] = findings()
    assert finding["ProductFields"]["guardian/count"] == "2"
    assert finding["Workflow"] == {"Status": "RESOLVED"}
    item = boto3.client("dynamodb").get_item(
        TableName="guardian-activity", Key={"principal": {"S": "#findings"}, "at": {"S": finding["Id"]}}
    )["Item"]
    assert (item["count"], item["workflow"]) == ({"N": "2"}, {"S": "RESOLVED"})
    assert int(item["expires_at"]["N"]) > 0  # gone with the finding (Security Hub keeps it 90 days)


def test_two_copies_of_one_finding_at_once_end_at_count_2_in_moto(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The unit test's interleaving (tests/unit/test_finding_counts.py) against moto's Security Hub and table: both
    copies count before either imports, the higher count's import lands first."""
    import threading  # noqa: PLC0415
    from types import SimpleNamespace  # noqa: PLC0415

    from guardian.adapters.full import FullAdapter  # noqa: PLC0415
    from guardian.entrypoints import runtime  # noqa: PLC0415
    from guardian.model.decide import PolicyContext, decide  # noqa: PLC0415
    from guardian.model.events import parse_event  # noqa: PLC0415
    from guardian.model.results import Result  # noqa: PLC0415
    from guardian.model.rules import Outcome  # noqa: PLC0415
    from guardian.ports.invocation import Invocation  # noqa: PLC0415
    from tests.unit.test_finding_counts import later_lands_first  # noqa: PLC0415

    boto3.client("securityhub", region_name="us-east-1").enable_security_hub()
    gates = SimpleNamespace(hooks={})
    later_lands_first(gates)  # type: ignore[arg-type]
    count, land = FullAdapter.add_finding_count, FullAdapter.import_finding

    def counting(self: FullAdapter, *args: Any, **kw: Any) -> Any:
        gates.hooks["before count"]()
        before = count(self, *args, **kw)
        gates.hooks["after count"]()
        return before

    def importing(self: FullAdapter, region: str, document: dict[str, Any]) -> None:
        gates.hooks["before import"]()
        land(self, region, document)
        gates.hooks["after import"]()

    monkeypatch.setattr(FullAdapter, "add_finding_count", counting)
    monkeypatch.setattr(FullAdapter, "import_finding", importing)
    config = runtime.config()
    event = parse_event(load_event("stop_logging"))
    decision = decide(event, PolicyContext(account_id=ACCOUNT))
    alerted = Result(event, decision, Outcome.ALERTED, decision.severity)
    run = Invocation(runtime.now, lambda _: None)
    answers: dict[str, str] = {}

    def copy() -> None:
        adapter = runtime.full_adapter(config)
        answers[threading.current_thread().name] = security_hub.copy_to_security_hub(alerted, adapter, config, run)

    copies = [threading.Thread(target=copy, name=name) for name in ("first", "second")]
    for thread in copies:
        thread.start()
    for thread in copies:
        thread.join(20)

    assert answers == {"first": "imported", "second": "updated"}
    [finding] = findings()
    assert finding["ProductFields"]["guardian/count"] == "2"


def test_a_count_item_not_the_guardians_fails_no_copy_its_finding_counted_from_security_hub(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    boto3.client("securityhub", region_name="us-east-1").enable_security_hub()
    world.invoke(load_event("stop_logging"))
    [first] = findings()
    forge(first["Id"], count={"S": "x"})  # DynamoDB refuses to ADD to it
    world.cloudtrail().stop_logging(Name=TRAIL)
    event = load_event("stop_logging")
    event["detail"]["eventID"] = "a-second-stop-0003"
    caplog.set_level(logging.WARNING, logger="guardian.flows.finding_counts")

    answer = world.invoke(event)

    assert answer["steps_failed"] == []  # was ['copy the alert to Security Hub']
    [finding] = findings()
    assert finding["ProductFields"]["guardian/count"] == "2"  # Security Hub's 1, and this one
    assert "guardian/counted_in" not in finding["ProductFields"]  # the table does not hold its count
    assert any("not the guardian's" in r.getMessage() for r in caplog.records)


def test_the_sweeps_findings_go_in_when_one_of_their_items_is_not_the_guardians(world: World) -> None:
    boto3.client("securityhub", region_name="us-east-1").enable_security_hub()
    config = runtime.config()
    adapter, run = runtime.full_adapter(config), Invocation(runtime.now, lambda _: None)

    def sweep() -> sweep_findings.Flushed:
        assert finding_batch.opened(run, config)
        for i in (1, 2, 3):
            finding_batch.noted(rule_found(i, healed=False), run)
        return sweep_findings.closed(run, adapter, config)

    assert (sweep().imported, len(findings())) == (3, 3)
    forged = sorted(f["Id"] for f in findings())[1]
    forge(forged, count={"N": "1.5"}, created_at={"S": "yesterday"})

    second = sweep()  # was: every finding's flush failed ("counting")

    assert (second.updated, second.failed, second.errors) == (3, 0, ())
    assert {f["Id"]: f["ProductFields"]["guardian/count"] for f in findings()} == {f["Id"]: "2" for f in findings()}
    assert {f["Id"] for f in findings() if "guardian/counted_in" in f["ProductFields"]} == {
        f["Id"] for f in findings() if f["Id"] != forged
    }


def test_a_finding_anyone_resolves_is_new_again_on_a_repeat_a_window_later_and_suppressed_stays(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = boto3.client("securityhub", region_name="us-east-1")
    hub.enable_security_hub()
    start = datetime.now(UTC)
    at(monkeypatch, start)
    world.invoke(denied(1))  # an attempt on the guardian: alerted, nothing healed: NEW
    [f] = findings()
    ident = {"Id": f["Id"], "ProductArn": f["ProductArn"]}
    hub.batch_update_findings(FindingIdentifiers=[ident], Workflow={"Status": "RESOLVED"})  # the insider hides it
    calls: list[tuple[str, str | None]] = []
    _recorded(world, calls, denied(2))
    assert [name for name, _ in calls] == ["BatchImportFindings"]  # the same window: the table answers
    assert findings()[0]["Workflow"] == {"Status": "RESOLVED"}

    at(monkeypatch, start + timedelta(seconds=60))
    calls.clear()
    _recorded(world, calls, denied(3))  # the first copy of the next window reads it, and sets it NEW again
    assert calls == [("GetFindings", None), ("BatchImportFindings", "NEW"), ("BatchUpdateFindings", "NEW")]
    assert findings()[0]["Workflow"] == {"Status": "NEW"}

    hub.batch_update_findings(FindingIdentifiers=[ident], Workflow={"Status": "SUPPRESSED"})  # the team's choice
    at(monkeypatch, start + timedelta(seconds=120))
    world.invoke(denied(4))
    at(monkeypatch, start + timedelta(seconds=180))
    world.invoke(denied(5))
    [g] = findings()
    assert (g["Workflow"], g["ProductFields"]["guardian/count"]) == ({"Status": "SUPPRESSED"}, "5")
    assert item(g["Id"])["workflow"] == {"S": "SUPPRESSED"}


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
