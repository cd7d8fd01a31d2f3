from __future__ import annotations

import os
from typing import Any

import pytest
from aws_cdk.assertions import Template

from app import build_app
from infra.stack import GuardianStack

os.environ.setdefault("CDK_DISABLE_CLI_TELEMETRY", "true")

CUSTOM_CONTEXT: dict[str, Any] = {
    "alertEmails": "sec@example.com, soc@example.com",
    "evidenceRetentionMode": "COMPLIANCE",
    "evidenceRetentionDays": "30",
    "logRetentionDays": "90",
    "exemptPrincipals": '["glob:arn:aws:iam::*:role/ci-*"]',
    "stackName": "GuardianCustom",
    "regions": "eu-west-1,us-east-1",
    "homeRegion": "eu-west-1",
    "sweepMinutes": "15",
    "protectTrails": "org-audit",
    "protectTag": "guardian:protect=true",
    "repeatThreshold": "5",
    "repeatWindowMinutes": "30",
}


def synth_template(context: dict[str, Any] | None = None) -> tuple[Any, Any]:
    """Build the app as app.py does and return (template assertions, the stack)."""
    app = build_app(context)
    [stack] = [c for c in app.node.children if isinstance(c, GuardianStack)]
    return Template.from_stack(stack), stack


@pytest.fixture(scope="session")
def default_synth() -> tuple[Any, Any]:
    return synth_template()


@pytest.fixture(scope="session")
def custom_synth() -> tuple[Any, Any]:
    return synth_template(CUSTOM_CONTEXT)


# The channels and alarms of issue 10 in one synth: per-address severities, two webhooks, the CIS alarms.
CHANNELS_CONTEXT: dict[str, Any] = {
    "alertEmails": "soc@example.com:HIGH,all@example.com:INFO,sec@example.com",
    "webhooks": (
        '[{"name": "soc", "kind": "slack", "minimumSeverity": "HIGH"}, {"name": "ops", "kind": "teams", '
        '"secretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:ops-AbCdEf"}]'
    ),
    "cisAlarms": "true",
}


@pytest.fixture(scope="session")
def channels_synth() -> tuple[Any, Any]:
    return synth_template(CHANNELS_CONTEXT)
