"""What a chat shows for each kind of message on the topic, escaped so that what an account's user wrote stays
text; and the notifier's bounded retries, against a fake webhook."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from guardian.flows.notify import ATTEMPTS, MAX_WAIT, WebhookFailed, post
from guardian.model.alert import build_alert
from guardian.model.chat import body, generic, slack, teams
from guardian.model.notice import notice
from guardian.ports.invocation import Invocation
from tests.unit.test_alerts_and_evidence import healed


def alert_message() -> tuple[str, str]:
    alert = build_alert(healed(), evidence_bucket="ev-bucket", evidence_key="evidence/x.json", function_name="fn")
    return alert.message, alert.subject


def test_an_alert_shows_severity_summary_actor_trail_account_region_action_evidence_and_a_link() -> None:
    message, subject = alert_message()
    found = notice(message, subject)
    facts = dict(found.facts)
    assert found.title == subject
    assert (found.severity, found.kind) == ("HIGH", "alert")
    assert found.summary.startswith("CloudTrail logging stopped on trail management-trail")
    assert facts["Actor"] == "arn:aws:iam::123456789012:user/mallory"
    assert facts["Trail"] == "management-trail"
    assert (facts["Account"], facts["Region"]) == ("123456789012", "us-east-1")
    assert facts["What the guardian did"] == "StartLogging (succeeded)"
    assert facts["Evidence"] == "s3://ev-bucket/evidence/x.json"
    assert found.link == (
        "https://console.aws.amazon.com/cloudtrailv2/home?region=us-east-1#/trails/"
        "arn%3Aaws%3Acloudtrail%3Aus-east-1%3A123456789012%3Atrail%2Fmanagement-trail"
    )


def test_a_self_protection_alert_and_an_alarm_read_as_well() -> None:
    guard = {
        "subject": "[CRITICAL] 123456789012 Guardian's own rule changed: DisableRule by arn:aws:iam::1:user/x",
        "schema": "cloudtrail-guardian/self-protection-alert",
        "severity": "CRITICAL",
        "resource_kind": "rule",
        "what": "DisableRule",
        "region": "eu-west-1",
        "account": "123456789012",
        "event_id": "e-1",
        "cloudtrail_record": {"userIdentity": {"arn": "arn:aws:iam::1:user/x"}},
        "note": "Sent by EventBridge straight to this topic.",
    }
    found = notice(json.dumps(guard), None)
    assert (found.title, found.severity, found.kind) == (guard["subject"], "CRITICAL", "self-protection")
    assert dict(found.facts)["Actor"] == "arn:aws:iam::1:user/x"
    assert found.link == "https://console.aws.amazon.com/cloudtrailv2/home?region=eu-west-1#/events/e-1"
    alarm = {
        "AlarmName": "CloudTrailGuardian-sweep-silent",
        "AlarmDescription": "The sweep has not succeeded",
        "AWSAccountId": "123456789012",
        "NewStateValue": "ALARM",
        "OldStateValue": "OK",
        "NewStateReason": "Threshold Crossed",
        "AlarmArn": "arn:aws:cloudwatch:cn-north-1:123456789012:alarm:CloudTrailGuardian-sweep-silent",
    }
    found = notice(json.dumps(alarm), "ALARM: x")
    assert (found.title, found.severity, found.kind) == ("ALARM: CloudTrailGuardian-sweep-silent", "ALARM", "alarm")
    assert found.link is not None
    assert found.link.startswith("https://console.amazonaws.cn/cloudwatch/home?region=cn-north-1#alarmsV2:alarm/")
    text = notice("not json at all\nsecond line", None)
    assert (text.title, text.kind) == ("not json at all", "text")


INJECTION = "<https://evil.example|click here> [click](https://evil.example) & *bold*"


def test_what_an_account_user_wrote_stays_text_in_every_chat() -> None:
    message, subject = alert_message()
    document = json.loads(message)
    document["trail"]["name"] = INJECTION
    found = notice(json.dumps(document), subject)
    slack_text = json.dumps(slack(found))
    assert "<https://evil.example" not in slack_text
    assert "&lt;https://evil.example|click here&gt;" in slack_text
    teams_facts = teams(found)["attachments"][0]["content"]["body"][2]["facts"]
    trail = next(f["value"] for f in teams_facts if f["title"] == "Trail")
    assert "[click](https" not in trail
    assert trail.startswith("\\<https://evil\\.example\\|click here\\> \\[click\\]\\(https://evil\\.example\\)")
    assert generic(found)["facts"]["Trail"] == INJECTION  # plain JSON: the receiver renders it


def test_each_chat_gets_its_own_layout_within_its_limits() -> None:
    message, subject = alert_message()
    found = notice(message, subject)
    s = body("slack", found)
    assert s["blocks"][0] == {"type": "header", "text": {"type": "plain_text", "text": subject}}
    assert len(s["blocks"][2]["fields"]) <= 10
    assert s["blocks"][-1]["elements"][0]["url"] == found.link
    t = body("teams", found)["attachments"][0]
    assert t["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert t["content"]["body"][0]["color"] == "Attention"
    assert t["content"]["actions"][0]["url"] == found.link
    g = body("generic", found)
    assert (g["severity"], g["message"]["schema"]) == ("HIGH", "cloudtrail-guardian/alert")
    long = notice(json.dumps({**json.loads(message), "summary": "x" * 10_000}), "t" * 400)
    assert len(slack(long)["blocks"][0]["text"]["text"]) == 150
    assert len(slack(long)["blocks"][1]["text"]["text"]) == 3000


class FakeWebhook:
    def __init__(self, answers: list[int | tuple[int, float] | Exception]) -> None:
        self.answers = answers
        self.posted: list[dict[str, Any]] = []

    def webhook_url(self, secret: str, version: str | None = None) -> str:
        return "https://hooks.example/T/B/x"

    def post_json(self, url: str, body: dict[str, Any]) -> tuple[int, float | None]:
        self.posted.append(body)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return (answer, None) if isinstance(answer, int) else answer


def run(remaining: float | None = None) -> tuple[Invocation, list[float]]:
    waits: list[float] = []
    clock = 100.0 if remaining is None else remaining
    return Invocation(lambda: datetime.now(UTC), waits.append, remaining=(lambda: clock) if remaining else None), waits


def test_a_429_waits_what_retry_after_asks_and_a_500_backs_off_then_it_is_taken() -> None:
    hook = FakeWebhook([(429, 3.0), 500, 200])
    invocation, waits = run()
    posted = post(hook, "s", {"text": "x"}, invocation, name="soc")
    assert (posted.status, posted.attempts, waits) == (200, 3, [3.0, 1.0])


def test_a_webhook_that_keeps_failing_raises_after_the_last_attempt_so_nothing_is_lost() -> None:
    hook = FakeWebhook([500, OSError("connection reset"), 503])
    invocation, waits = run()
    with pytest.raises(WebhookFailed, match=r"webhook soc did not take the message after 3 attempt\(s\): HTTP 503"):
        post(hook, "s", {"text": "x"}, invocation, name="soc")
    assert len(hook.posted) == ATTEMPTS
    assert waits == [0.5, 1.0]


def test_a_refusal_is_final_and_a_long_retry_after_is_capped_and_never_outlasts_the_function() -> None:
    with pytest.raises(WebhookFailed, match="refused the message: HTTP 404"):
        post(FakeWebhook([404]), "s", {}, run()[0], name="soc")
    invocation, waits = run()
    post(FakeWebhook([(429, 3600.0), 200]), "s", {}, invocation, name="soc")
    assert waits == [MAX_WAIT]
    short, waits = run(remaining=8.0)
    with pytest.raises(WebhookFailed, match="after 1 attempt"):
        post(FakeWebhook([(429, 5.0), 200]), "s", {}, short, name="soc")
    assert waits == []
