"""A key a log group or a Lake store writes with: whether its policy lets the service use it, and the smallest change
that lets it again (issue 20); and how a log-group call names its group (logGroupName, logGroupIdentifier,
resourceIdentifier)."""

from __future__ import annotations

from typing import Any

import pytest

from guardian.model.decide import PolicyContext, decide
from guardian.model.events import parse_event
from guardian.model.rules import RULES, Action, Heal
from guardian.model.service_key_policy import lake_use, letting_services_use, log_group_use, service_can_use
from tests.support import ACCOUNT, load_event

ROOT = {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*"}
GROUP = log_group_use("us-east-1", ACCOUNT, "/aws/cloudtrail/org-audit")
STORE = lake_use(f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:eventdatastore/EXAMPLE")
LOGS_DOC = {  # AWS's documented statement for CloudWatch Logs, scoped to the group
    "Effect": "Allow",
    "Principal": {"Service": "logs.us-east-1.amazonaws.com"},
    "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
    "Resource": "*",
    "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:*"}},
}


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [ROOT, *statements]}


def test_the_documented_logs_statement_lets_the_group_use_the_key_and_the_root_alone_does_not() -> None:
    assert service_can_use(policy(LOGS_DOC), GROUP)
    assert not service_can_use(policy(), GROUP)
    other_group = {**LOGS_DOC, "Condition": {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": "arn:x:other"}}}
    assert not service_can_use(policy(other_group), GROUP)
    other_region = {**LOGS_DOC, "Principal": {"Service": "logs.eu-west-1.amazonaws.com"}}
    assert not service_can_use(policy(other_region), GROUP)


def test_a_deny_that_stops_the_service_is_dropped_and_its_statement_added_the_rest_kept() -> None:
    deny = {"Sid": "Nope", "Effect": "Deny", "Principal": "*", "Action": "kms:GenerateDataKey*", "Resource": "*"}
    unrelated = {"Sid": "Audit", "Effect": "Deny", "Principal": "*", "Action": "kms:ScheduleKeyDeletion"}
    broken = policy(LOGS_DOC, deny, unrelated)
    assert not service_can_use(broken, GROUP)
    fixed = letting_services_use(broken, [GROUP])
    assert service_can_use(fixed, GROUP)
    sids = [s.get("Sid") for s in fixed["Statement"]]
    assert "Nope" not in sids
    assert {"Root", "Audit", GROUP.sid} <= set(sids)
    assert letting_services_use(fixed, [GROUP]) == fixed  # the guardian's statement replaced, never piled up


def test_a_lake_store_needs_cloudtrail_to_generate_data_keys_and_decrypt() -> None:
    encrypt_only = {
        "Effect": "Allow",
        "Principal": {"Service": "cloudtrail.amazonaws.com"},
        "Action": "kms:GenerateDataKey*",
        "Resource": "*",
    }
    assert not service_can_use(policy(encrypt_only), STORE)
    fixed = letting_services_use(policy(encrypt_only), [STORE])
    assert service_can_use(fixed, STORE)
    [added] = [s for s in fixed["Statement"] if s.get("Sid") == STORE.sid]
    assert added["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert set(added["Action"]) == {"kms:GenerateDataKey", "kms:Decrypt"}


def _logs_event(name: str, request: dict[str, Any]) -> Any:
    event = load_event("stop_logging")
    event["source"] = "aws.logs"
    event["detail"].update(eventSource="logs.amazonaws.com", eventName=name, requestParameters=request)
    return parse_event(event)


@pytest.mark.parametrize(
    "request_parameters",
    [
        {"logGroupName": "/aws/cloudtrail/org-audit", "kmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/k"},
        {"resourceIdentifier": f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/cloudtrail/org-audit"},
        {"logGroupIdentifier": f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/cloudtrail/org-audit:*"},
        {"logGroupIdentifier": "/aws/cloudtrail/org-audit"},
    ],
    ids=["logGroupName", "resourceIdentifier", "logGroupIdentifier-arn", "logGroupIdentifier-name"],
)
def test_associate_kms_key_names_its_log_group_in_any_of_its_forms_and_is_healed(
    request_parameters: dict[str, Any],
) -> None:
    event = _logs_event("AssociateKmsKey", request_parameters)
    assert event.resource is not None
    assert (event.resource.kind, event.resource.name, event.resource.region) == (
        "log_group",
        "/aws/cloudtrail/org-audit",
        "us-east-1",
    )
    decision = decide(event, PolicyContext(account_id=ACCOUNT))
    assert (decision.action, decision.severity.value) == (Action.HEAL, "HIGH")
    assert RULES["AssociateKmsKey"].heal is Heal.RESTORE_RESOURCE


def test_a_query_result_key_names_no_log_group_and_another_accounts_group_is_not_ours() -> None:
    query = _logs_event("AssociateKmsKey", {"resourceIdentifier": f"arn:aws:logs:us-east-1:{ACCOUNT}:query-result:*"})
    assert query.resource is None
    assert decide(query, PolicyContext(account_id=ACCOUNT)).action is Action.IGNORE
    other = _logs_event("AssociateKmsKey", {"resourceIdentifier": "arn:aws:logs:us-east-1:210987654321:log-group:x"})
    assert decide(other, PolicyContext(account_id=ACCOUNT)).action is Action.IGNORE
