"""``alertGroupMinutes``: validated with an error naming it, and reaching the remediation function; the sweep gets
the activity table (and only these calls on it) to send closed groups' digests."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from guardian.entrypoints import handler, runtime
from guardian.flows.grouping import flush_closed
from guardian.ports.invocation import Invocation
from infra.errors import SettingsError
from infra.settings import GuardianSettings
from tests.infra.test_iam_covers_calls import granted, recorded, uncovered
from tests.infra.test_template import logical_id, resource
from tests.support import load_event

__all__ = ["recorded"]  # the recording fixture of tests/infra/test_iam_covers_calls.py


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-1", "alertGroupMinutes must be between 0 and 1440, got -1"),
        ("1441", "alertGroupMinutes must be between 0 and 1440, got 1441"),
        ("five", "alertGroupMinutes must be a whole number, got 'five'"),
    ],
)
def test_a_bad_window_names_the_setting(value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=re.escape(message)):
        GuardianSettings.from_context({"alertGroupMinutes": value}.get)


def test_the_window_defaults_to_5_and_0_turns_grouping_off() -> None:
    none: dict[str, Any] = {}
    assert GuardianSettings.from_context(none.get).alert_group_minutes == 5
    assert GuardianSettings.from_context({"alertGroupMinutes": "0"}.get).alert_group_minutes == 0


@pytest.mark.synth
def test_the_sweep_may_flush_alert_groups_with_four_calls_on_the_activity_table(default_synth: Any) -> None:
    template, _ = default_synth
    table = logical_id(template, "AWS::DynamoDB::Table", containing="Activity")
    sweep = resource(template, "AWS::Lambda::Function", "SweepFunction")["Properties"]
    assert sweep["Environment"]["Variables"]["GUARDIAN_ACTIVITY_TABLE"] == {"Ref": table}
    policies = [
        statement
        for policy in template.find_resources("AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement.get("Sid") == "FlushAlertGroups"
    ]
    assert [(s["Action"], s["Resource"]) for s in policies] == [
        (
            ["dynamodb:Query", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
            {"Fn::GetAtt": [table, "Arn"]},
        )
    ]


@pytest.mark.synth
def test_each_role_allows_every_call_alert_groups_make(
    recorded: set[str], default_synth: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """moto does not enforce IAM: the handler's grouping (read, hold, open a signed window, the cap's counter) and
    the sweep's flush (List, claim, digest) run with every call recorded, each granted to the role that makes it."""
    template, _ = default_synth
    monkeypatch.setenv("GUARDIAN_ALERT_GROUP_MINUTES", "5")
    runtime.reset()
    boto3.client("cloudtrail").create_trail(Name="management-trail", S3BucketName="trail-logs-iam")
    for n in (1, 2, 3):
        event = load_event("stop_logging")
        event["detail"]["eventID"] = f"group-{n}"
        handler.lambda_handler(event, None)
    assert {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "kms:Sign"} <= recorded
    assert uncovered(recorded, granted(template, "RemediationRole")) == set()
    recorded.clear()
    config = runtime.config()
    later = datetime.now(UTC) + timedelta(minutes=6)
    assert flush_closed(runtime.full_adapter(config), config, Invocation(lambda: later, lambda _: None)) == 1
    # the window's objects in the evidence bucket (listed, its opening read, the claim written), the cap, the digest
    assert {"s3:ListBucket", "s3:GetObject", "s3:PutObject", "dynamodb:UpdateItem", "sns:Publish"} <= recorded
    assert "dynamodb:Query" not in recorded  # no group item is read from the table
    assert uncovered(recorded, granted(template, "SweepRole")) == set()
