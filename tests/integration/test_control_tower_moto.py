"""Control Tower aware, through the handler against moto (issue 24, "Done when"): a Control Tower-managed trail
changed by Control Tower's role (UpdateTrail, PutEventSelectors, StopLogging during an UpdateLandingZone) is not
undone, and the same change by another principal is; the guardian never makes a second organization trail.
The account is the landing zone's management account (3.0 on: the organization trail lives here)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from guardian.adapters.trails import TrailAdapter
from guardian.entrypoints import runtime, sweep, watching
from tests.integration.world import World, message_of
from tests.support import ACCOUNT, GUARDIAN_ROLE_ARN, REPO_ROOT, alert_topic_and_queue, load_event, signing_key
from watch_rules.compile import compile_rules
from watch_rules.schema import load

CT_TRAIL = "aws-controltower-BaselineCloudTrail"
OTHER_ORG_TRAIL = "org-copy"
MANAGEMENT_ONLY = [{"ReadWriteType": "All", "IncludeManagementEvents": True, "DataResources": []}]


def ct() -> Any:
    return boto3.client("cloudtrail", region_name="us-east-1")


@pytest.fixture
def landing_zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """The management account: Control Tower's organization trail, logging, with a baseline the sweep recorded."""
    with mock_aws():
        s3, sns, sqs = boto3.client("s3"), boto3.client("sns"), boto3.client("sqs")
        bucket = "guardian-evidence-123456789012"
        s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
        topic_arn, queue_url = alert_topic_and_queue(sns, sqs)
        s3.create_bucket(Bucket="aws-controltower-logs-123456789012-us-east-1")
        for name in (CT_TRAIL, OTHER_ORG_TRAIL):
            ct().create_trail(
                Name=name,
                S3BucketName="aws-controltower-logs-123456789012-us-east-1",
                IsMultiRegionTrail=True,
                IsOrganizationTrail=True,
                EnableLogFileValidation=True,
                IncludeGlobalServiceEvents=True,
            )
            ct().put_event_selectors(TrailName=name, EventSelectors=MANAGEMENT_ONLY)
            ct().start_logging(Name=name)
        for key, value in {
            "GUARDIAN_TOPIC_ARN": topic_arn,
            "GUARDIAN_EVIDENCE_BUCKET": bucket,
            "GUARDIAN_SIGNING_KEY_ARN": signing_key(),
            "GUARDIAN_SELF_ROLE_ARN": GUARDIAN_ROLE_ARN,
            "GUARDIAN_SWEEP_REGIONS": json.dumps(["us-east-1"]),
            "GUARDIAN_VERIFY_DELAY_SECONDS": "0",
            "GUARDIAN_CONTROL_TOWER": ACCOUNT,  # controlTower "auto", the management account's id
        }.items():
            monkeypatch.setenv(key, value)
        runtime.reset()
        sweep.lambda_handler({}, None)  # as the deployment does: record every baseline
        world = World(topic_arn, bucket, queue_url, {"s3": s3, "sns": sns, "sqs": sqs})
        world.alerts()
        yield world
        runtime.reset()


def trail(name: str = CT_TRAIL) -> dict[str, Any]:
    [found] = ct().describe_trails(trailNameList=[name])["trailList"]
    return dict(found)


def management_events(name: str = CT_TRAIL) -> bool:
    selectors = ct().get_event_selectors(TrailName=name)["EventSelectors"]
    return bool(selectors and selectors[0]["IncludeManagementEvents"])


def logging() -> bool:
    return bool(ct().get_trail_status(Name=CT_TRAIL)["IsLogging"])


def validation() -> bool:
    return bool(trail()["LogFileValidationEnabled"])


# What Control Tower (or the other principal) did to the trail, what the test reads back, and the record of it.
CHANGES: dict[str, tuple[Callable[[], object], Callable[[], bool]]] = {
    "update_trail": (lambda: ct().update_trail(Name=CT_TRAIL, EnableLogFileValidation=False), validation),
    "put_event_selectors": (
        lambda: ct().put_event_selectors(
            TrailName=CT_TRAIL,
            EventSelectors=[{"ReadWriteType": "ReadOnly", "IncludeManagementEvents": False, "DataResources": []}],
        ),
        management_events,
    ),
    "stop_logging": (lambda: ct().stop_logging(Name=CT_TRAIL), logging),
}
# Control Tower's changes that leave logging as strong as the floor: LOW deployments; the others keep the row's HIGH.
SEVERITY = {"update_trail": "LOW", "put_event_selectors": "HIGH", "stop_logging": "HIGH"}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_control_towers_change_to_its_trail_is_not_undone_and_waits_for_cloudtrail(
    landing_zone: World, change: str
) -> None:
    make, intact = CHANGES[change]
    make()
    result = landing_zone.invoke(load_event(f"control_tower/ct_{change}"))
    assert (result["outcome"], result["severity"]) == ("exempt", SEVERITY[change])
    assert not intact()  # left as Control Tower made it, for now
    [notification] = landing_zone.alerts()
    assert message_of(notification)["reason"].startswith("a Control Tower deployment: AWSControlTowerExecution")
    baseline = json.loads(
        landing_zone.clients["s3"]
        .get_object(Bucket=landing_zone.bucket, Key=f"baselines/us-east-1/{CT_TRAIL}.json")["Body"]
        .read()
    )
    assert json.dumps(baseline).count(load_event(f"control_tower/ct_{change}")["detail"]["eventID"]) == 1  # pending


@pytest.mark.threat("ct-lookalike")
@pytest.mark.parametrize("change", sorted(CHANGES))
def test_the_same_change_by_another_principal_is_healed_back(landing_zone: World, change: str) -> None:
    make, intact = CHANGES[change]
    make()
    result = landing_zone.invoke(load_event(f"control_tower/other_{change}"))
    assert (result["outcome"], result["severity"]) == ("healed", "HIGH")
    assert intact()


def baseline_versions(world: World, name: str = OTHER_ORG_TRAIL) -> int:
    key = f"baselines/us-east-1/{name}.json"
    return len(world.clients["s3"].list_object_versions(Bucket=world.bucket, Prefix=key)["Versions"])


@pytest.mark.threat("ct-second-org-trail")
def test_a_deleted_control_tower_trail_is_restored_as_itself_and_never_a_second_organization_trail(
    landing_zone: World,
) -> None:
    before = baseline_versions(landing_zone)
    sweep.lambda_handler({}, None)  # an organization trail that exists is left as it is, its baseline not re-recorded
    assert baseline_versions(landing_zone) == before
    assert trail(OTHER_ORG_TRAIL)["IsOrganizationTrail"] is True
    ct().delete_trail(Name=CT_TRAIL)
    assert landing_zone.invoke(load_event("control_tower/other_delete_trail"))["outcome"] == "healed"
    assert trail()["IsOrganizationTrail"] is True
    assert logging()
    # Another organization trail deleted beside Control Tower's: recreated as an account trail, not a second one.
    ct().delete_trail(Name=OTHER_ORG_TRAIL)
    sweep.lambda_handler({}, None)
    organization = [t["Name"] for t in ct().describe_trails()["trailList"] if t.get("IsOrganizationTrail")]
    assert organization == [CT_TRAIL]
    assert trail(OTHER_ORG_TRAIL)["IsOrganizationTrail"] is False


@pytest.mark.parametrize(
    ("name", "rule", "severity"),
    [
        ("lifecycle_update_landing_zone", "control-tower-landing-zone-changed", "LOW"),
        ("iam_update_assume_role_policy_ct_execution", "control-tower-role-changed", "HIGH"),
    ],
)
def test_a_landing_zone_update_and_a_change_to_who_may_be_control_tower_are_alerted(
    landing_zone: World, tmp_path: Any, monkeypatch: pytest.MonkeyPatch, name: str, rule: str, severity: str
) -> None:
    """The lifecycle event is an "AWS Service Event via CloudTrail": the handler alerts it through its watch rule
    (context for the trail changes it brings), never rejects it."""
    compiled = tmp_path / "watch_rules.json"
    compiled.write_text(json.dumps(compile_rules(load(REPO_ROOT / "rules" / "watch.json")).runtime_document()))
    monkeypatch.setattr(watching, "WATCH_RULES_FILE", compiled)
    result = landing_zone.invoke(load_event(f"control_tower/{name}"))
    assert (result["outcome"], result["severity"]) == ("alerted", severity)
    [notification] = landing_zone.alerts()
    assert message_of(notification)["reason"].startswith(f"watch rule {rule} matched")


def _confirmed_by_cloudtrail(monkeypatch: pytest.MonkeyPatch, record: dict[str, Any]) -> None:
    """LookupEvents (moto has no Event history of the calls it takes) returns ``record`` as CloudTrailEvent."""
    monkeypatch.setattr(TrailAdapter, "lookup_event", lambda self, region, event_id: record, raising=True)


@pytest.mark.threat("ct-execution-assumed")
def test_control_towers_deletion_of_its_trail_confirmed_never_retires_it(
    landing_zone: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review 6: an approved DeleteTrail (WHOLE) retired the baseline: the trail stayed deleted, later sweeps were
    silent. Now: HIGH at once (mailed), then, once CloudTrail confirms it, recreated CRITICAL by the sweep."""
    ct().delete_trail(Name=CT_TRAIL)
    event = load_event("control_tower/ct_delete_trail")
    assert (landing_zone.invoke(event)["severity"]) == "HIGH"
    landing_zone.alerts()
    _confirmed_by_cloudtrail(monkeypatch, dict(event["detail"]))
    sweep.lambda_handler({}, None)
    assert trail()["IsOrganizationTrail"] is True
    assert logging()
    severities = [message_of(a).get("severity") for a in landing_zone.alerts()]
    assert "CRITICAL" in severities
    sweep.lambda_handler({}, None)
    assert [t["Name"] for t in ct().describe_trails()["trailList"]].count(CT_TRAIL) == 1


@pytest.mark.threat("ct-execution-assumed")
def test_control_tower_stop_confirmed_is_held_to_the_floor(
    landing_zone: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A confirmed StopLogging by Control Tower never becomes a baseline that does not log."""
    ct().stop_logging(Name=CT_TRAIL)
    event = load_event("control_tower/ct_stop_logging")
    landing_zone.invoke(event)
    _confirmed_by_cloudtrail(monkeypatch, dict(event["detail"]))
    sweep.lambda_handler({}, None)
    key = f"baselines/us-east-1/{CT_TRAIL}.json"
    document = json.loads(landing_zone.clients["s3"].get_object(Bucket=landing_zone.bucket, Key=key)["Body"].read())
    assert document["trail"]["logging"] is True
    assert "pending_approval" not in document


@pytest.mark.threat("ct-execution-assumed")
def test_control_towers_role_assumed_directly_from_the_management_account_is_healed_at_once(
    landing_zone: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review 6 (rv6c): in an enrolled account, a management-account insider who assumed AWSControlTowerExecution
    stops Control Tower's trail: was exempt LOW and left stopped; now healed HIGH, the alert naming the session."""
    monkeypatch.setenv("GUARDIAN_CONTROL_TOWER", "999999999999")  # this account is enrolled; management elsewhere
    runtime.reset()
    ct().stop_logging(Name=CT_TRAIL)
    event = load_event("control_tower/ct_stop_logging")
    identity = event["detail"]["userIdentity"]
    identity["arn"] = f"arn:aws:sts::{ACCOUNT}:assumed-role/AWSControlTowerExecution/mallory-from-management"
    identity.pop("invokedBy")
    event["detail"]["sourceIPAddress"], event["detail"]["userAgent"] = "203.0.113.9", "aws-cli/2.15.0"
    result = landing_zone.invoke(event)
    assert (result["outcome"], result["severity"]) == ("healed", "HIGH")
    assert logging()
    [notification] = [n for n in landing_zone.alerts() if message_of(n).get("severity") == "HIGH"]
    assert "used directly by AWSControlTowerExecution/mallory-from-management" in message_of(notification)["reason"]


def other_org_trail_event(name: str, **params: object) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(
        json.dumps(load_event(f"control_tower/{name}")).replace(CT_TRAIL, OTHER_ORG_TRAIL)
    )
    if params:
        event["detail"]["requestParameters"] = {"name": OTHER_ORG_TRAIL, **params}
    return event


@pytest.mark.threat("ct-second-org-trail")
def test_another_organization_trail_made_an_account_trail_is_healed_high_as_without_control_tower(
    landing_zone: World,
) -> None:
    """Review 6 (rv6b): with Control Tower on, UpdateTrail IsOrganizationTrail=false on another organization trail
    was alerted LOW and left; the rule that never makes a second organization trail is for recreations only."""
    ct().update_trail(Name=OTHER_ORG_TRAIL, IsOrganizationTrail=False)
    result = landing_zone.invoke(other_org_trail_event("other_update_trail", isOrganizationTrail=False))
    assert (result["outcome"], result["severity"]) == ("healed", "HIGH")
    assert trail(OTHER_ORG_TRAIL)["IsOrganizationTrail"] is True


@pytest.mark.threat("ct-second-org-trail")
def test_a_deleted_organization_trail_comes_back_one_unless_control_towers_is_live(landing_zone: World) -> None:
    """Beside Control Tower's live organization trail: recreated an account trail, and the alert says coverage was
    deliberately not restored. Without it (deleted too): recreated as the organization trail it was."""
    ct().delete_trail(Name=OTHER_ORG_TRAIL)
    assert landing_zone.invoke(other_org_trail_event("other_delete_trail"))["severity"] == "CRITICAL"
    assert trail(OTHER_ORG_TRAIL)["IsOrganizationTrail"] is False
    reasons = [message_of(n)["reason"] for n in landing_zone.alerts()]
    assert any("organization coverage was deliberately not restored" in r for r in reasons)
    sweep.lambda_handler({}, None)  # recorded so: later sweeps neither make it an organization trail nor alert
    assert trail(OTHER_ORG_TRAIL)["IsOrganizationTrail"] is False
    assert landing_zone.alerts() == []


@pytest.mark.threat("ct-second-org-trail")
def test_without_control_towers_trail_a_deleted_organization_trail_is_recreated_as_one(landing_zone: World) -> None:
    ct().delete_trail(Name=CT_TRAIL)  # Control Tower's trail gone too (opted out of, or deleted: healed on its own)
    ct().delete_trail(Name=OTHER_ORG_TRAIL)
    landing_zone.invoke(other_org_trail_event("other_delete_trail"))
    assert trail(OTHER_ORG_TRAIL)["IsOrganizationTrail"] is True
    reasons = [message_of(n)["reason"] for n in landing_zone.alerts()]
    assert not any("deliberately not restored" in r for r in reasons)


@pytest.mark.threat("ct-execution-assumed")
def test_control_towers_role_through_cloudformation_cannot_make_a_weaker_trail_the_baseline(
    landing_zone: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review 7: a management-account insider assumes AWSControlTowerExecution and runs a stack of their own (no
    service role: CloudFormation acts with the caller's session, so the record says cloudformation.amazonaws.com):
    the trail's logs moved to their bucket, validation and other Regions off. Alerted LOW as a deployment; once
    CloudTrail confirms it, what is weaker is kept as before (HIGH) and the same sweep puts it back."""
    landing_zone.clients["s3"].create_bucket(Bucket="mallory-logs")
    ct().update_trail(
        Name=CT_TRAIL, S3BucketName="mallory-logs", EnableLogFileValidation=False, IsMultiRegionTrail=False
    )
    event = load_event("control_tower/ct_update_trail")
    event["detail"]["requestParameters"] |= {"s3BucketName": "mallory-logs"}
    assert landing_zone.invoke(event)["outcome"] == "exempt"
    landing_zone.alerts()
    _confirmed_by_cloudtrail(monkeypatch, dict(event["detail"]))

    sweep.lambda_handler({}, None)

    key = f"baselines/us-east-1/{CT_TRAIL}.json"
    document = json.loads(landing_zone.clients["s3"].get_object(Bucket=landing_zone.bucket, Key=key)["Body"].read())
    assert document["trail"]["s3_bucket"] == "aws-controltower-logs-123456789012-us-east-1"
    assert (document["trail"]["log_file_validation"], document["trail"]["multi_region"]) == (True, True)
    found = trail()
    assert found["S3BucketName"] == "aws-controltower-logs-123456789012-us-east-1"  # put back by the sweep
    assert (found["LogFileValidationEnabled"], found["IsMultiRegionTrail"]) == (True, True)
    alerts = [message_of(a) for a in landing_zone.alerts()]
    [kept] = [a for a in alerts if "weaker: kept as before" in str(a.get("reason"))]
    assert kept["severity"] == "HIGH"
