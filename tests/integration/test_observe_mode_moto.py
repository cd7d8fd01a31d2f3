"""Observe mode against moto: the event path and the sweep change nothing in the account (every request that goes
out is recorded by a botocore hook), alert "observed" with the exact calls a heal would have made, and a trail's
mode tag can only make the guardian stricter."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from guardian.adapters.clients import CLIENT_CONFIG, Boto3Clients
from guardian.entrypoints import runtime
from guardian.model.mode import is_read
from tests.integration.conftest import TRAIL as SWEPT_TRAIL
from tests.integration.conftest import Account, subject_and_message
from tests.integration.world import World, message_of
from tests.support import ACCOUNT, TRAIL, load_event

TRAIL_ARN = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/{TRAIL}"
# What observe may still send: its own evidence, alerts, signatures, tables and metrics.
ALLOWED = {("sns", "Publish"), ("kms", "Sign"), ("cloudwatch", "PutMetricData")}


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str, str]]]:
    """Every request the guardian's clients actually send: (service, operation, URL)."""
    requests: list[tuple[str, str, str]] = []
    original = Boto3Clients._new_client

    def new_client(self: Boto3Clients, service: str, region: str | None, config: Any = CLIENT_CONFIG) -> Any:
        client = original(self, service, region, config)

        def record(request: Any, event_name: str, **_: Any) -> None:
            requests.append((service, event_name.rsplit(".", 1)[-1], str(request.url)))

        client.meta.events.register_first("before-send", record)
        return client

    monkeypatch.setattr(Boto3Clients, "_new_client", new_client)
    runtime.reset()
    yield requests
    runtime.reset()


def writes(requests: list[tuple[str, str, str]], bucket: str) -> list[tuple[str, str]]:
    """The requests that changed something other than the guardian's own evidence, alerts and tables."""
    return [
        (service, operation)
        for service, operation, url in requests
        if not is_read(operation)
        and (service, operation) not in ALLOWED
        and service != "dynamodb"
        and not (service == "s3" and operation in ("PutObject", "PutObjectTagging") and bucket in url)
    ]


def observing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUARDIAN_MODE", "observe")
    runtime.reset()


def tag(trail_arn: str, value: str, region: str = "us-east-1") -> None:
    boto3.client("cloudtrail", region_name=region).add_tags(
        ResourceId=trail_arn, TagsList=[{"Key": "cloudtrail-guardian:mode", "Value": value}]
    )


def test_observe_event_path_changes_nothing_and_alerts_the_exact_call(
    world: World, sent: list[tuple[str, str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    observing(monkeypatch)
    result = world.invoke(load_event("stop_logging"))

    assert not world.is_logging()  # nothing healed
    assert result["outcome"] == "observed"
    assert writes(sent, world.bucket) == []
    assert any(op == "Publish" for _, op, _ in sent)  # the alert went out
    [notification] = world.alerts()
    assert notification["MessageAttributes"]["outcome"]["Value"] == "observed"
    assert "OBSERVED, not healed" in notification["Subject"]
    alert = message_of(notification)
    planned = [{"service": "cloudtrail", "operation": "StartLogging", "region": "us-east-1", "parameters": {}}]
    planned[0]["parameters"] = {"Name": TRAIL}
    assert alert["action"]["planned"] == planned
    assert alert["action"]["taken"] is None
    assert "Observe mode" in alert["summary"]
    [key] = world.evidence_keys()
    record = world.evidence(key)
    assert record["outcome"] == "observed"
    assert record["planned"] == planned
    assert record["actions"] == []


@pytest.mark.threat("observe-tag")
def test_a_trail_tagged_heal_under_observe_is_healed(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    tag(TRAIL_ARN, "heal")
    observing(monkeypatch)
    result = world.invoke(load_event("stop_logging"))
    assert result["outcome"] == "healed"
    assert world.is_logging()
    # the other trail, untagged, is only observed
    assert world.invoke(load_event("stop_logging_arn_home_elsewhere"))["outcome"] == "observed"
    assert not world.is_logging("audit-west", "us-west-2")


@pytest.mark.threat("observe-tag")
def test_a_tag_observe_under_heal_is_ignored_the_trail_healed_and_the_tag_alerted(world: World) -> None:
    tag(TRAIL_ARN, "observe")
    runtime.reset()
    assert world.invoke(load_event("stop_logging"))["outcome"] == "healed"  # the tag switched nothing off
    assert world.is_logging()
    world.alerts()

    event = load_event("add_tags")
    event["detail"]["requestParameters"]["tagsList"] = [{"key": "cloudtrail-guardian:mode", "value": "observe"}]
    result = world.invoke(event)
    assert (result["outcome"], result["severity"]) == ("alerted", "HIGH")
    [notification] = world.alerts()
    assert "cloudtrail-guardian:mode=observe is ignored" in message_of(notification)["reason"]


def test_observe_sweep_changes_nothing_and_reports_what_it_would_restore(
    account: Account, sent: list[tuple[str, str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    account.alerts()
    east = account.ct()
    east.update_trail(Name=SWEPT_TRAIL, EnableLogFileValidation=False)
    before = account.trail()
    observing(monkeypatch)

    summary = account.sweep()

    assert summary["ok"] is True
    assert summary["statuses"].get("observed") == 1
    assert account.trail() == before
    assert writes(sent, account.bucket) == []
    alerts = [subject_and_message(n) for n in account.alerts()]
    [(subject, message)] = [(s, m) for s, m in alerts if m["outcome"] == "observed"]
    assert "OBSERVED, not healed" in subject
    [update] = message["action"]["planned"]
    assert (update["service"], update["operation"], update["region"]) == ("cloudtrail", "UpdateTrail", "us-east-1")
    assert update["parameters"]["Name"] == SWEPT_TRAIL
    assert update["parameters"]["EnableLogFileValidation"] is True


@pytest.mark.threat("observe-tag")
def test_the_sweep_alerts_a_tag_observe_under_heal_and_heals_the_trail(account: Account) -> None:
    account.alerts()
    east = account.ct()
    tag(account.trail()["TrailARN"], "observe")
    east.update_trail(Name=SWEPT_TRAIL, EnableLogFileValidation=False)

    account.sweep()

    assert account.trail()["LogFileValidationEnabled"] is True  # healed: the tag switched nothing off
    subjects = [subject_and_message(n)[0] for n in account.alerts()]
    assert any("tagged mode=observe — tag IGNORED" in s for s in subjects), subjects


def test_observe_is_read_from_the_environment_and_a_typo_names_the_variable(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from guardian.model.config_values import ConfigError  # noqa: PLC0415

    monkeypatch.setenv("GUARDIAN_MODE", "observ")
    runtime.reset()
    with pytest.raises(ConfigError, match="GUARDIAN_MODE must be observe or heal"):
        world.invoke(load_event("stop_logging"))
