"""The webhook notifier end to end against a real HTTPS webhook on 127.0.0.1 that records what it receives (and
answers 429 and 500 when told to), with the URL in Secrets Manager (moto)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from guardian.adapters.webhook import WebhookSecretError
from guardian.entrypoints import notify
from guardian.flows.notify import WebhookFailed
from guardian.model.alert import build_alert
from simulation.webhook_server import RecordingWebhook, recording_webhook
from tests.unit.test_alerts_and_evidence import healed


class Context:
    function_name = "CloudTrailGuardian-notify-soc"
    aws_request_id = "req-1"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@pytest.fixture
def secret(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with mock_aws():
        arn = boto3.client("secretsmanager").create_secret(Name="CloudTrailGuardian/webhook/soc")["ARN"]
        monkeypatch.setenv("GUARDIAN_WEBHOOK_SECRET", arn)
        monkeypatch.setenv("GUARDIAN_WEBHOOK_KIND", "slack")
        monkeypatch.setenv("GUARDIAN_WEBHOOK_NAME", "soc")
        notify._adapters.clear()
        yield arn


def with_url(secret: str, hook: RecordingWebhook, monkeypatch: pytest.MonkeyPatch) -> None:
    boto3.client("secretsmanager").put_secret_value(SecretId=secret, SecretString=hook.url)
    monkeypatch.setenv("SSL_CERT_FILE", hook.ca_file)  # the process trusts the local webhook's certificate


def sns_event() -> dict[str, Any]:
    alert = build_alert(healed(), evidence_bucket="ev", evidence_key="evidence/x.json", function_name="fn")
    record = {"EventSource": "aws:sns", "Sns": {"Message": alert.message, "Subject": alert.subject}}
    return {"Records": [record]}


def test_an_alert_is_posted_to_the_webhook_as_slack_blocks(secret: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with recording_webhook() as hook:
        with_url(secret, hook, monkeypatch)
        answer = notify.lambda_handler(sns_event(), Context())
    [posted] = hook.received
    assert posted.path == "/hook/T000/B000/s3cr3t"
    assert posted.headers["Content-Type"] == "application/json"
    assert posted.body["blocks"][0]["text"]["text"].startswith("[HIGH] CloudTrail logging stopped on trail")
    assert answer == {"posted": [{"title": posted.body["blocks"][0]["text"]["text"], "status": 200, "attempts": 1}]}


def test_a_429_then_a_500_are_retried_and_the_message_arrives_once(
    secret: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("guardian.flows.notify.FIRST_BACKOFF", 0.01)
    with recording_webhook(script=[(429, 0.05), (500, None)]) as hook:
        with_url(secret, hook, monkeypatch)
        answer = notify.lambda_handler(sns_event(), Context())
    assert [r.status for r in hook.received] == [429, 500, 200]
    assert len(hook.taken()) == 1
    assert answer["posted"][0]["attempts"] == 3


def test_a_webhook_down_raises_for_lambda_to_retry_and_never_logs_the_url(
    secret: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr("guardian.flows.notify.FIRST_BACKOFF", 0.01)
    caplog.set_level(logging.DEBUG, logger="guardian")
    with recording_webhook(script=[(500, None)] * 3) as hook:
        with_url(secret, hook, monkeypatch)
        with pytest.raises(WebhookFailed, match="HTTP 500") as raised:
            notify.lambda_handler(sns_event(), Context())
    assert len(hook.received) == 3
    assert "s3cr3t" not in str(raised.value)
    ours = [r for r in caplog.records if r.name.startswith("guardian")]
    assert ours  # the notifier did log each failed attempt
    assert all("s3cr3t" not in f"{r.getMessage()} {r.__dict__}" for r in ours)


def test_a_certificate_the_notifier_does_not_trust_is_a_failure_not_a_silent_post(
    secret: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("guardian.flows.notify.FIRST_BACKOFF", 0.01)
    with recording_webhook() as hook:
        boto3.client("secretsmanager").put_secret_value(SecretId=secret, SecretString=hook.url)
        with pytest.raises(WebhookFailed, match=r"CERTIFICATE_VERIFY_FAILED|SSLCertVerificationError"):
            notify.lambda_handler(sns_event(), Context())
    assert hook.received == []


@pytest.mark.parametrize("value", ["http://hooks.example/T/B/x", "", '{"url": "ftp://x"}', "{not json"])
def test_a_secret_without_an_https_url_is_named_without_its_value(
    secret: str, value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    boto3.client("secretsmanager").put_secret_value(SecretId=secret, SecretString=value or " ")
    with pytest.raises(WebhookSecretError, match="does not hold an https:// webhook URL") as raised:
        notify.lambda_handler(sns_event(), Context())
    assert "hooks.example" not in str(raised.value)


def test_the_url_may_be_kept_as_json(secret: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with recording_webhook() as hook:
        boto3.client("secretsmanager").put_secret_value(SecretId=secret, SecretString=json.dumps({"url": hook.url}))
        monkeypatch.setenv("SSL_CERT_FILE", hook.ca_file)
        notify.lambda_handler(sns_event(), Context())
    assert len(hook.taken()) == 1


@pytest.mark.parametrize(
    ("event", "message"),
    [({}, "not an SNS event"), ({"Records": [{"Sns": {}}]}, "an SNS record without a Message")],
)
def test_input_that_is_not_an_sns_message_is_named(secret: str, event: dict[str, Any], message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        notify.lambda_handler(event, Context())
