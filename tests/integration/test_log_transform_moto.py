"""A trail's CloudWatch Logs records rewritten or masked at ingestion (review 3, finding 2): a log transformer on the
trail's group is taken off (DeleteTransformer), on the event path and by the sweep; an account-wide data protection
or transformer policy reaching the trail's group is alerted HIGH, not deleted (it may be the team's), and the sweep
alerts it once a day while it lasts."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from guardian.entrypoints import handler
from guardian.model.log_policies import reaches
from infra.tamper_rule import EVENT_NAMES
from tests.integration.conftest import Account
from tests.integration.test_archive_and_streams_moto import trail_group
from tests.integration.test_storage_moto import GROUP, logs_event

__all__ = ["trail_group"]  # the fixture, used by name
STRIP: Any = [{"parseJSON": {}}, {"deleteKeys": {"withKeys": ["userIdentity", "sourceIPAddress"]}}]


def transformer() -> Any:
    try:
        return boto3.client("logs").get_transformer(logGroupIdentifier=GROUP)["transformerConfig"]
    except boto3.client("logs").exceptions.ResourceNotFoundException:
        return None


def policy_event(name: str, event_id: str, **request: Any) -> dict[str, Any]:
    event = logs_event(name, event_id, **request)
    del event["detail"]["requestParameters"]["logGroupName"]  # an account policy names no group
    return event


@pytest.mark.threat("log-transform")
def test_a_transformer_put_on_a_trails_log_group_is_taken_off(account: Account, trail_group: str) -> None:
    assert {"PutTransformer", "PutAccountPolicy", "DeleteAccountPolicy"} <= set(EVENT_NAMES)
    boto3.client("logs").put_transformer(logGroupIdentifier=GROUP, transformerConfig=STRIP)
    event = logs_event("PutTransformer", "tf-1", logGroupIdentifier=GROUP, transformerConfig=STRIP)
    del event["detail"]["requestParameters"]["logGroupName"]
    result = handler.lambda_handler(event, None)
    assert (result["outcome"], result["severity"]) == ("healed", "HIGH")
    assert transformer() is None
    [notification] = account.alerts()
    assert notification["Subject"].startswith("[HIGH] 123456789012 log transformer put on a trail's log group")
    assert "DeleteTransformer" in notification["Message"]
    other = logs_event("PutTransformer", "tf-2", group="/aws/lambda/someone-else", transformerConfig=STRIP)
    assert handler.lambda_handler(other, None)["alert_published"] is False


@pytest.mark.threat("log-transform")
def test_the_sweep_takes_off_a_transformer_whose_event_was_lost(account: Account, trail_group: str) -> None:
    boto3.client("logs").put_transformer(logGroupIdentifier=GROUP, transformerConfig=STRIP)
    assert account.sweep()["resources"][f"log_group:{GROUP}"] == "healed"
    assert transformer() is None
    [notification] = account.alerts()
    assert "transformer" in notification["Message"]
    assert account.sweep()["resources"][f"log_group:{GROUP}"] == "in_baseline"


@pytest.mark.threat("log-transform")
def test_an_account_masking_policy_reaching_the_trails_group_is_alerted_not_deleted(
    account: Account, trail_group: str
) -> None:
    document = json.dumps({"Name": "mask", "Version": "2021-06-01", "Statement": []})
    request: Any = {"policyName": "mask", "policyType": "DATA_PROTECTION_POLICY", "policyDocument": document}
    logs = boto3.client("logs")
    logs.put_account_policy(**request, scope="ALL")
    result = handler.lambda_handler(policy_event("PutAccountPolicy", "ap-1", **request, scope="ALL"), None)
    assert (result["outcome"], result["severity"], result["alert_published"]) == ("alerted", "HIGH", True)
    [notification] = account.alerts()
    assert "account log policy reaching a trail's log group put" in notification["Subject"]
    assert len(logs.describe_account_policies(policyType="DATA_PROTECTION_POLICY")["accountPolicies"]) == 1
    # A field index policy changes no record: none of the guardian's business.
    index = {"policyName": "idx", "policyType": "FIELD_INDEX_POLICY", "policyDocument": "{}"}
    assert handler.lambda_handler(policy_event("PutAccountPolicy", "ap-2", **index), None)["outcome"] == "ignored"
    # The sweep alerts it (HIGH) once a day while it lasts, and leaves it.
    swept = account.sweep()["resources"]
    assert swept["log_account_policy:us-east-1/mask"] == "alerted"
    [found] = account.alerts()
    assert found["Subject"].startswith("[HIGH]")
    assert "mask" in found["Message"]
    account.sweep()
    assert account.alerts() == []


@pytest.mark.threat("log-transform")
def test_a_transformer_policy_is_alerted_only_where_its_selection_reaches_the_trails_group(
    account: Account, trail_group: str
) -> None:
    other: Any = {
        "policyName": "lambda-only",
        "policyType": "TRANSFORMER_POLICY",
        "policyDocument": json.dumps({"transformerConfig": STRIP}),
        "selectionCriteria": 'LogGroupNamePrefix IN ["/aws/lambda"]',
    }
    assert handler.lambda_handler(policy_event("PutAccountPolicy", "tp-1", **other), None)["outcome"] == "ignored"
    trails: Any = {
        **other,
        "policyName": "cloudtrail",
        "selectionCriteria": 'LogGroupNamePrefix IN ["/aws/cloudtrail"]',
    }
    boto3.client("logs").put_account_policy(**trails)
    result = handler.lambda_handler(policy_event("PutAccountPolicy", "tp-2", **trails), None)
    assert (result["outcome"], result["severity"]) == ("alerted", "HIGH")
    assert account.sweep()["resources"]["log_account_policy:us-east-1/cloudtrail"] == "alerted"


def test_selection_criteria_the_guardian_cannot_read_reach_every_group() -> None:
    assert reaches(None, GROUP)
    assert reaches("", GROUP)
    assert reaches('LogGroupNamePrefix IN ["/aws/cloud"]', GROUP)
    assert not reaches('LogGroupNamePrefix IN ["/aws/lambda"]', GROUP)
    assert not reaches(f'LogGroupName NOT IN ["{GROUP}"]', GROUP)
    assert reaches('LogGroupName NOT IN ["/other"]', GROUP)
    assert reaches("LogGroupNamePrefix IN [unquoted]", GROUP)
    assert reaches("something new", GROUP)


@pytest.mark.threat("log-transform")
def test_a_deleted_subscription_filter_policy_is_alerted_high_and_a_deleted_mask_is_not(
    account: Account, trail_group: str
) -> None:
    """A subscription filter policy fed the trail's records to the security team: its deletion stops the feed. A
    masking policy deleted gives the raw records back: none of the guardian's business."""
    feed = {"policyName": "siem", "policyType": "SUBSCRIPTION_FILTER_POLICY"}
    result = handler.lambda_handler(policy_event("DeleteAccountPolicy", "dp-1", **feed), None)
    assert (result["outcome"], result["severity"], result["alert_published"]) == ("alerted", "HIGH", True)
    [notification] = account.alerts()
    assert "account log policy reaching a trail's log group deleted" in notification["Subject"]
    mask = {"policyName": "mask", "policyType": "DATA_PROTECTION_POLICY"}
    assert handler.lambda_handler(policy_event("DeleteAccountPolicy", "dp-2", **mask), None)["outcome"] == "ignored"
