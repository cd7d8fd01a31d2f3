"""The issue-24 watch rules through the remediation function against moto: the trusted-access, oversized-policy and
access-logging records are alerted with their rule (most severe first, the others named); a failed call is not."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from guardian.entrypoints import watching
from tests.integration.world import World, message_of
from tests.support import REPO_ROOT
from watch_rules.compile import compile_rules
from watch_rules.schema import load

WATCH_EVENTS = REPO_ROOT / "tests" / "events" / "watch"


@pytest.fixture
def rules_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The default pack compiled as the synth compiles it into the function's asset."""
    path = tmp_path / "watch_rules.json"
    path.write_text(json.dumps(compile_rules(load(REPO_ROOT / "rules" / "watch.json")).runtime_document()))
    monkeypatch.setattr(watching, "WATCH_RULES_FILE", path)
    return path


def record(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((WATCH_EVENTS / f"{name}.json").read_text())
    return data


@pytest.mark.parametrize(
    ("name", "severity", "rule"),
    [
        ("organizations_disable_service_access_cloudtrail", "CRITICAL", "cloudtrail-trusted-access-disabled"),
        ("s3_put_bucket_logging_removed", "MEDIUM", "s3-server-access-logging-removed"),
        ("bedrock_delete_model_invocation_logging", "HIGH", "bedrock-invocation-logging-deleted"),
        # a CloudTrail call the decision table has no row for: left to the watch rules
        ("cloudtrail_deregister_organization_delegated_admin", "HIGH", "cloudtrail-delegated-admin-deregistered"),
        ("elb_classic_access_log_off", "MEDIUM", "elb-classic-access-log-disabled"),
        ("logs_delete_delivery_source", "LOW", "log-delivery-deleted"),
        ("macie2_update_macie_session_paused", "MEDIUM", "macie-paused"),
        ("iam_create_role_parameters_omitted", "HIGH", "iam-policy-parameters-omitted"),
        ("iam_update_assume_role_policy_parameters_omitted", "HIGH", "iam-policy-parameters-omitted"),
        ("kms_create_key_parameters_omitted", "HIGH", "kms-key-policy-parameters-omitted"),
    ],
)
def test_a_blinding_call_is_alerted_with_its_rule(
    world: World, rules_file: Path, name: str, severity: str, rule: str
) -> None:
    result = world.invoke(record(name))
    assert (result["outcome"], result["severity"], result["alert_published"]) == ("alerted", severity, True)
    [notification] = world.alerts()
    assert notification["MessageAttributes"]["rule"]["Value"] == rule
    assert message_of(notification)["detected_by"] == "watch_rule"


def test_an_iam_policy_hidden_by_its_size_is_alerted_above_the_cis_rule(world: World, rules_file: Path) -> None:
    result = world.invoke(record("iam_put_role_policy_parameters_omitted"))
    assert (result["outcome"], result["severity"]) == ("alerted", "HIGH")
    [notification] = world.alerts()
    assert notification["MessageAttributes"]["rule"]["Value"] == "iam-policy-parameters-omitted"
    assert "also matched: cis-iam-policy-changed" in message_of(notification)["reason"]


def test_a_key_policy_hidden_by_its_size_on_a_key_not_a_trails_is_left_to_the_watch_rule(
    world: World, rules_file: Path
) -> None:
    """The table's PutKeyPolicy row cannot name the key (its parameters are omitted): the watch rule alerts."""
    boto3.client("kms").create_key()
    result = world.invoke(record("kms_put_key_policy_parameters_omitted"))
    assert (result["outcome"], result["severity"]) == ("alerted", "HIGH")
    [notification] = world.alerts()
    assert notification["MessageAttributes"]["rule"]["Value"] == "kms-key-policy-parameters-omitted"


def test_a_failed_call_is_not_alerted(world: World, rules_file: Path) -> None:
    result = world.invoke(record("organizations_deregister_delegated_admin_cloudtrail_denied"))
    assert result["outcome"] == "ignored"
    assert world.alerts() == []
