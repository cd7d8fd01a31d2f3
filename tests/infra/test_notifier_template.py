"""``webhooks``: a notifier per webhook in the template, subscribed to the topic with its own minimum severity, its
URL only in a secret, its dead-letter queue alarmed, and its function kept by the guardian as its own."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.infra.conftest import CHANNELS_CONTEXT, synth_template
from tests.infra.test_iam_covers_calls import granted
from tests.support import named_by, sweep_alarms

pytestmark = pytest.mark.synth
ACCOUNT = "123456789012"
HOOKS = json.dumps(
    [
        {"name": "soc", "kind": "slack", "minimumSeverity": "HIGH"},
        {
            "name": "ops",
            "kind": "teams",
            "secretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:ops-AbCdEf",
        },
    ]
)


@pytest.fixture(scope="module")
def hooked(channels_synth: tuple[Any, Any]) -> tuple[Any, Any]:
    assert json.loads(CHANNELS_CONTEXT["webhooks"]) == json.loads(HOOKS)
    return channels_synth


def functions(template: Any) -> dict[str, dict[str, Any]]:
    return {
        f["Properties"].get("FunctionName", lid): f["Properties"]
        for lid, f in template.find_resources("AWS::Lambda::Function").items()
    }


def test_each_webhook_has_a_function_subscribed_with_its_minimum_severity(hooked: tuple[Any, Any]) -> None:
    template, _ = hooked
    found = functions(template)
    soc, ops = found["CloudTrailGuardian-notify-soc"], found["CloudTrailGuardian-notify-ops"]
    assert soc["Handler"] == "guardian.entrypoints.notify.lambda_handler"
    assert soc["Environment"]["Variables"]["GUARDIAN_WEBHOOK_KIND"] == "slack"
    assert ops["Environment"]["Variables"]["GUARDIAN_WEBHOOK_SECRET"].startswith("arn:aws:secretsmanager:")
    subscriptions = [s["Properties"] for s in template.find_resources("AWS::SNS::Subscription").values()]
    lambdas = [s for s in subscriptions if s["Protocol"] == "lambda"]
    assert len(lambdas) == 2
    policies = sorted(json.dumps(s.get("FilterPolicy")) for s in lambdas)
    assert policies == sorted(
        [
            json.dumps({"severity": ["HIGH", "CRITICAL", {"exists": False}]}),
            json.dumps({"severity": ["MEDIUM", "HIGH", "CRITICAL", {"exists": False}]}),
        ]
    )
    assert all(s["FilterPolicyScope"] == "MessageBody" for s in lambdas)


def test_the_url_lives_only_in_a_secret_the_function_may_read(hooked: tuple[Any, Any]) -> None:
    template, _ = hooked
    [secret] = template.find_resources("AWS::SecretsManager::Secret").values()
    assert secret["Properties"]["Name"] == "CloudTrailGuardian/webhook/soc"
    assert "SecretString" not in secret["Properties"]  # the operator puts the URL in it
    assert "https://" not in json.dumps(template.to_json()).replace("https://console", "")
    assert "secretsmanager:GetSecretValue" in granted(template, "WebhookSocNotifyRole")


def test_undelivered_messages_park_in_a_queue_whose_alarm_tells_the_team(hooked: tuple[Any, Any]) -> None:
    template, _ = hooked
    soc = functions(template)["CloudTrailGuardian-notify-soc"]
    assert "DeadLetterConfig" in soc
    alarms = {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in template.find_resources("AWS::CloudWatch::Alarm").values()
    }
    alarm = alarms["CloudTrailGuardian-notify-soc-dead-letters"]
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert len(alarm["AlarmActions"]) == 1
    [config] = [
        c["Properties"]
        for c in template.find_resources("AWS::Lambda::EventInvokeConfig").values()
        if "Notify" in json.dumps(c["Properties"]["FunctionName"])
    ][:1]
    assert config["MaximumRetryAttempts"] == 2


def test_the_notifiers_are_the_guardians_own(hooked: tuple[Any, Any]) -> None:
    template, _ = hooked
    rules = {r["Properties"]["Name"]: r for r in template.find_resources("AWS::Events::Rule").values()}
    detail = rules["CloudTrailGuardian-guard-lambda"]["Properties"]["EventPattern"]["detail"]
    assert named_by(detail["requestParameters"]["functionName"], "CloudTrailGuardian-notify-soc")
    sweep = next(f for name, f in functions(template).items() if name.endswith("-sweep"))
    assert "CloudTrailGuardian-notify-soc" in sweep["Environment"]["Variables"]["GUARDIAN_OWN_FUNCTIONS"]
    assert "CloudTrailGuardian-notify-soc-dead-letters" in sweep_alarms(template)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('[{"name": "SOC", "kind": "slack"}]', r"webhooks\[0\].name must be 1-31 lowercase"),
        ('[{"name": "soc", "kind": "discord"}]', r"webhooks\[0\].kind must be one of slack, teams, generic"),
        ('[{"name": "soc", "kind": "slack", "url": "https://x"}]', r"unknown keys \['url'\]"),
        ('[{"name": "a", "kind": "slack"}, {"name": "a", "kind": "teams"}]', "names a webhook twice"),
    ],
)
def test_bad_webhook_settings_are_named_and_a_url_is_refused_in_context(value: str, message: str) -> None:
    with pytest.raises(SystemExit, match=message):
        synth_template({"webhooks": value})
