"""What leaves the alert path weaker without breaking it (issue 20, the "what remains possible" of the threat model):
an alert address confirmed by the email's link, whose unsubscribe link then needs no credentials (and no SCP can stop
it), and a chat webhook's own secret (``secretArn``) outside the SCP for want of the guardian's tag. Each is noted
MEDIUM by the sweep, once a day; ``guardian confirm-subscription`` confirms with AuthenticateOnUnsubscribe, after which
the unsubscribe link is refused. SNS's confirmation is simulated (:mod:`simulation.sns_confirmations`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from guardian.entrypoints import runtime
from guardian.flows import path_notes
from guardian_console import cli
from simulation.sns_confirmations import click, confirmation_link, sns_confirmations, unsubscribe_link
from tests.integration.conftest import Account, subject_and_message

EMAIL = "secops@example.com"
STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/CloudTrailGuardian/0f6a1c20-0000-4000-8000-000000000000"
NOTE = "[MEDIUM] 123456789012 Alert path: "


@pytest.fixture
def team(account: Account, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Account, str]]:
    """The team's address subscribed to the alerts topic, as the stack does, and the sweep holding it."""
    monkeypatch.setattr(path_notes, "_SENT", set())  # what an earlier test's sweeps noted
    with sns_confirmations():
        sns = boto3.client("sns")
        arn = sns.subscribe(TopicArn=account.topic_arn, Protocol="email-json", Endpoint=EMAIL)["SubscriptionArn"]
        monkeypatch.setenv("GUARDIAN_ALERT_PATH", json.dumps({"emails": [EMAIL]}))
        runtime.reset()
        account.sweep()
        account.alerts()
        yield account, arn


def notes(account: Account) -> list[tuple[str, dict[str, Any]]]:
    return [subject_and_message(a) for a in account.alerts() if a["Subject"].startswith(NOTE)]


@pytest.mark.threat("unsubscribe-link")
def test_an_address_confirmed_by_the_emails_link_is_noted_medium_once_a_day(
    team: tuple[Account, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    account, arn = team
    click(confirmation_link(arn))  # what the team did until now
    what = f"subscription {EMAIL} confirmed without authentication"
    assert account.sweep()["alert_path"][what] == "noted"
    [(subject, message)] = notes(account)
    assert subject.endswith("(confirmation_was_authenticated) — action needed")
    assert message["severity"] == "MEDIUM"
    assert "guardian confirm-subscription" in message["reason"]
    account.sweep()
    assert notes(account) == []  # not every sweep
    monkeypatch.setattr(path_notes, "_SENT", set())  # a cold start: the evidence record says it went out today
    account.sweep()
    assert notes(account) == []


@pytest.mark.threat("unsubscribe-link")
def test_confirmed_with_the_command_the_unsubscribe_link_no_longer_works(
    team: tuple[Account, str], capsys: pytest.CaptureFixture[str]
) -> None:
    account, arn = team
    assert cli.main(["confirm-subscription", confirmation_link(arn)]) == 0
    printed = capsys.readouterr().out
    assert f"confirmed {EMAIL}" in printed
    assert "needs AWS credentials" in printed
    assert unsubscribe_link(arn) is False  # anyone opening the link from an alert: refused
    endpoints = [
        s["Endpoint"]
        for s in boto3.client("sns").list_subscriptions_by_topic(TopicArn=account.topic_arn)["Subscriptions"]
    ]
    assert EMAIL in endpoints
    assert not any(k.endswith("confirmed without authentication") for k in account.sweep()["alert_path"])
    assert notes(account) == []


@pytest.mark.threat("unsubscribe-link")
def test_confirmed_by_the_link_anyone_unsubscribes_it_without_credentials(team: tuple[Account, str]) -> None:
    """The move the command closes: the link works, and then the sweep can only subscribe the address again."""
    account, arn = team
    click(confirmation_link(arn))
    assert unsubscribe_link(arn) is True
    assert account.sweep()["alert_path"][f"subscription {EMAIL}"] == "healed"


def test_a_link_that_is_not_snss_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    link = "https://sns.us-east-1.evil.example/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-east-1:123456789012:t&Token=00000000000000000000"
    assert cli.main(["confirm-subscription", link]) == 2
    assert "is not SNS" in capsys.readouterr().err


@pytest.fixture
def secret(account: Account, monkeypatch: pytest.MonkeyPatch) -> tuple[Account, str]:
    """A webhook whose secret is the operator's own (``secretArn``), made without the guardian's tag."""
    monkeypatch.setattr(path_notes, "_SENT", set())
    arn = boto3.client("secretsmanager").create_secret(Name="soc-webhook", SecretString="https://chat.example/x")["ARN"]
    monkeypatch.setenv("GUARDIAN_STACK_ID", STACK_ID)
    monkeypatch.setenv("GUARDIAN_ALERT_PATH", json.dumps({"secrets": [{"arn": arn, "version": None}]}))
    runtime.reset()
    return account, arn


@pytest.mark.threat("webhook-secret-untagged")
def test_an_operators_secret_without_the_guardians_tag_is_noted_medium_once_a_day(
    secret: tuple[Account, str],
) -> None:
    account, arn = secret
    what = "webhook secret soc-webhook outside the SCP"
    assert account.sweep()["alert_path"][what] == "noted"
    [(subject, message)] = notes(account)
    assert "(tag cloudtrail-guardian)" in subject
    assert message["severity"] == "MEDIUM"
    assert "Key=cloudtrail-guardian,Value=CloudTrailGuardian" in message["reason"]
    account.sweep()
    assert notes(account) == []  # once a day, not every sweep
    boto3.client("secretsmanager").tag_resource(
        SecretId=arn, Tags=[{"Key": "cloudtrail-guardian", "Value": "CloudTrailGuardian"}]
    )
    assert what not in account.sweep()["alert_path"]  # tagged: the SCP covers it
    assert notes(account) == []


@pytest.mark.threat("webhook-secret-untagged")
def test_a_tag_naming_another_stack_is_noted_at_once(secret: tuple[Account, str]) -> None:
    account, arn = secret
    account.sweep()
    account.alerts()
    boto3.client("secretsmanager").tag_resource(SecretId=arn, Tags=[{"Key": "cloudtrail-guardian", "Value": "Other"}])
    account.sweep()
    [(_, message)] = notes(account)  # what was found changed: noted again, the same day
    assert "Other" in json.dumps(message)


def test_an_address_whose_subscription_awaits_confirmation_is_noted_medium_once_a_day(
    team: tuple[Account, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """AWS lists a subscription not yet confirmed as ``PendingConfirmation`` (moto confirms at once: played here):
    the address is mailed nothing, so the rest of the alert path (other addresses, chats, the security account)
    hears it, once a day (issue 21)."""
    from guardian.adapters.own import OwnAdapter  # noqa: PLC0415

    account, arn = team
    listed = OwnAdapter.subscriptions

    def pending(self: OwnAdapter) -> list[dict[str, Any]]:
        return [
            {**s, "arn": "PendingConfirmation", "filter": None, "scope": None, "authenticated": None}
            if s["arn"] == arn
            else s
            for s in listed(self)
        ]

    monkeypatch.setattr(OwnAdapter, "subscriptions", pending)
    what = f"subscription {EMAIL} pending confirmation"
    assert account.sweep()["alert_path"][what] == "noted"
    [(subject, message)] = notes(account)
    assert "(subscription_confirmed)" in subject
    assert message["severity"] == "MEDIUM"
    assert "guardian confirm-subscription" in message["reason"]
    account.sweep()
    assert notes(account) == []  # once a day, not every sweep


def test_a_pending_subscription_beside_the_confirmed_one_does_not_hide_its_filter(
    team: tuple[Account, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The confirmed subscription given a filter that drops every alert, and a second one for the address left
    pending (it shows no filter), listed after it: the confirmed one is the one held to the deployed filter."""
    from guardian.adapters.own import OwnAdapter  # noqa: PLC0415

    account, arn = team
    boto3.client("sns").set_subscription_attributes(
        SubscriptionArn=arn, AttributeName="FilterPolicy", AttributeValue=json.dumps({"severity": ["NEVER"]})
    )
    listed = OwnAdapter.subscriptions

    def with_pending(self: OwnAdapter) -> list[dict[str, Any]]:
        found = listed(self)
        [confirmed] = [s for s in found if s["arn"] == arn]
        pending = {**confirmed, "arn": "PendingConfirmation", "filter": None, "scope": None, "authenticated": None}
        return [*found, pending]

    monkeypatch.setattr(OwnAdapter, "subscriptions", with_pending)
    assert account.sweep()["alert_path"][f"subscription {EMAIL}"] == "healed"
    monkeypatch.setattr(OwnAdapter, "subscriptions", listed)
    attributes = boto3.client("sns").get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    assert attributes.get("FilterPolicy") in (None, "", "{}")  # put back as deployed: every message
