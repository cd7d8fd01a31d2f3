"""Review 10, finding 1: a team's rule routing security events judged against what it was (the sweep's signed
inventory, guardian.flows.security_rules), not as it is when its record arrives. The reviewer's moves, each alerted
HIGH on the event path and by the sweep; a harmless PutRule is not; a forged or deleted inventory fails closed."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest

from guardian.entrypoints import runtime
from guardian.flows.security_inventory import load_inventory
from guardian.flows.security_rules import check_security_rules
from guardian.model.security_rules import inventory_key
from tests.integration.test_watch_eventbridge_moto import FINDINGS, compiled_pack, record, team_rules  # noqa: F401 - the fixture
from tests.integration.world import World, message_of

PATTERN = {"source": ["aws.guardduty", "aws.securityhub"], "detail-type": ["GuardDuty Finding"]}
NEUTERED = [
    {"source": ["aws.guardduty", "aws.securityhub"], "detail-type": ["No Such Finding"]},  # still names the source
    {"source": ["aws.guardduty"], "detail": {"severity": [{"numeric": [">", 100]}]}},  # matches nothing
    {"source": ["aws.ec2"]},  # rewritten away
]


def sweep_rules(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The sweep's check of the team's security rules, in us-east-1 (as the sweep submits it)."""
    monkeypatch.setenv("GUARDIAN_SWEEP_REGIONS", json.dumps(["us-east-1"]))
    runtime.reset()
    config = runtime.config()
    aws = runtime.full_adapter(config, own=True)
    return check_security_rules(aws, config, started=datetime.now(UTC), run=runtime.invocation(None, config))


@pytest.fixture
def recorded(
    world: World,
    team_rules: Any,  # noqa: F811 - the fixture
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Any:
    """The watch pack compiled, and a first sweep that recorded the team's rule."""
    compiled_pack(tmp_path, monkeypatch)
    assert sweep_rules(monkeypatch) == {"us-east-1": "recorded (1 rules)"}
    assert world.alerts() == []
    return team_rules


def put_rule_record(pattern: dict[str, Any], state: str = "ENABLED", n: int = 1, **extra: Any) -> dict[str, Any]:
    data = record("events_put_rule", name=FINDINGS, eventPattern=json.dumps(pattern), state=state, **extra)
    data["detail"]["eventID"] = data["detail"]["eventID"][:-2] + f"{n:02d}"
    return data


def put_targets_record(targets: list[dict[str, str]]) -> dict[str, Any]:
    data = record("events_remove_targets", rule=FINDINGS)
    data["detail"]["eventName"] = "PutTargets"
    data["detail"]["requestParameters"] = {"rule": FINDINGS, "targets": targets}
    return data


def high(world: World, result: dict[str, Any]) -> str:
    assert (result["outcome"], result["severity"]) == ("alerted", "HIGH"), result
    [alert] = world.alerts()
    reason = str(message_of(alert)["reason"])
    assert FINDINGS in reason
    return reason


@pytest.mark.threat("security-rule-routing")
@pytest.mark.parametrize("pattern", NEUTERED)
def test_putrule_neutering_a_recorded_security_rule_is_high_on_the_event_and_by_the_sweep(
    world: World, recorded: Any, monkeypatch: pytest.MonkeyPatch, pattern: dict[str, Any]
) -> None:
    recorded.put_rule(Name=FINDINGS, EventPattern=json.dumps(pattern))  # the insider's one call
    assert "aws.guardduty" in high(world, world.invoke(put_rule_record(pattern)))
    assert sweep_rules(monkeypatch) == {"us-east-1": "1 changed"}
    [sweep_alert] = world.alerts()
    assert (message_of(sweep_alert)["severity"], FINDINGS in message_of(sweep_alert)["reason"]) == ("HIGH", True)
    assert sweep_rules(monkeypatch) == {"us-east-1": "as recorded"}  # re-recorded: alerted once per change
    assert world.alerts() == []


@pytest.mark.threat("security-rule-routing")
def test_disable_then_rewrite_before_the_records_arrive_is_high_twice_and_by_the_sweep(
    world: World, recorded: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorded.disable_rule(Name=FINDINGS)
    recorded.put_rule(Name=FINDINGS, EventPattern=json.dumps({"source": ["aws.ec2"]}), State="DISABLED")
    first = world.invoke(record("events_disable_rule", name=FINDINGS))
    assert "disabled" in high(world, first)
    second = world.invoke(put_rule_record({"source": ["aws.ec2"]}, "DISABLED", 7))
    assert "no longer routes aws.guardduty, aws.securityhub" in high(world, second)
    assert sweep_rules(monkeypatch) == {"us-east-1": "1 changed"}


@pytest.mark.threat("security-rule-routing")
def test_puttargets_re_pointing_a_recorded_target_is_high_on_the_event_and_by_the_sweep(
    world: World, recorded: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sink = boto3.client("sns", region_name="us-east-1").create_topic(Name="insider-sink")["TopicArn"]
    recorded.put_targets(Rule=FINDINGS, Targets=[{"Id": "slack-notifier", "Arn": sink}])  # same Id: replaced
    reason = high(world, world.invoke(put_targets_record([{"id": "slack-notifier", "arn": sink}])))
    assert ("re-pointed" in reason, sink in reason) == (True, True)
    assert sweep_rules(monkeypatch) == {"us-east-1": "1 changed"}
    assert "re-pointed" in message_of(world.alerts()[-1])["reason"]


@pytest.mark.threat("security-rule-routing")
def test_remove_targets_then_delete_rule_is_high_naming_what_it_routed_and_by_the_sweep(
    world: World, recorded: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorded.remove_targets(Rule=FINDINGS, Ids=["slack-notifier"])
    recorded.delete_rule(Name=FINDINGS)
    assert "aws.guardduty" in high(world, world.invoke(record("events_remove_targets", rule=FINDINGS)))
    deleted = record("events_disable_rule", name=FINDINGS)
    deleted["detail"]["eventName"], deleted["detail"]["eventID"] = (
        "DeleteRule",
        deleted["detail"]["eventID"][:-2] + "42",
    )
    assert "deleted" in high(world, world.invoke(deleted))
    assert sweep_rules(monkeypatch) == {"us-east-1": "1 changed"}
    assert "deleted" in message_of(world.alerts()[-1])["reason"]


@pytest.mark.threat("security-rule-routing")
def test_a_harmless_putrule_and_a_new_target_on_a_recorded_rule_are_not_alerted(
    world: World, recorded: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The control case: a description change keeping the pattern (spaced otherwise), and a target added."""
    recorded.put_rule(Name=FINDINGS, EventPattern=json.dumps(PATTERN, indent=2), Description="findings to chat")
    same = put_rule_record(json.loads(json.dumps(PATTERN)), description="findings to chat")
    assert world.invoke(same)["outcome"] == "ignored"
    queue = "arn:aws:sqs:us-east-1:123456789012:archive"
    added = world.invoke(put_targets_record([{"id": "archive", "arn": queue}]))
    assert added["outcome"] == "ignored"
    recorded.put_targets(Rule=FINDINGS, Targets=[{"Id": "archive", "Arn": queue}])
    assert sweep_rules(monkeypatch) == {"us-east-1": "as recorded"}  # re-recorded with the new target, silently
    assert world.alerts() == []


@pytest.mark.threat("security-rule-routing")
@pytest.mark.parametrize("how", ["forged", "unsigned", "deleted"])
def test_an_inventory_that_does_not_verify_fails_closed(
    world: World, recorded: Any, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """The insider writes an inventory without the rule (or deletes it): the event path cannot tell, alerts HIGH; the
    sweep alerts the refusal and records again."""
    s3, key = boto3.client("s3"), inventory_key("us-east-1")
    bucket = world.bucket
    if how == "deleted":
        s3.delete_object(Bucket=bucket, Key=key)
    else:
        document = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        document["rules"] = []
        if how == "unsigned":
            document.pop("signature", None)
        s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(document).encode())
    recorded.disable_rule(Name=FINDINGS)
    assert "cannot tell" in high(world, world.invoke(record("events_disable_rule", name=FINDINGS)))
    sweep_rules(monkeypatch)
    assert "was refused" in message_of(world.alerts()[-1])["reason"]
    store = runtime.full_adapter(runtime.config(), own=True)
    assert load_inventory(store, "us-east-1")[1] is None  # recorded again, signed


def test_a_rule_made_after_the_last_sweep_is_read_as_it_is_now(
    world: World, recorded: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not in the inventory: today's read decides (the rule routes security: HIGH)."""
    recorded.put_rule(Name="new-inspector-rule", EventPattern=json.dumps({"source": ["aws.inspector2"]}))
    recorded.disable_rule(Name="new-inspector-rule")
    result = world.invoke(record("events_disable_rule", name="new-inspector-rule"))
    assert (result["outcome"], result["severity"]) == ("alerted", "HIGH")
    assert "as the sweep recorded it" not in message_of(world.alerts()[-1])["reason"]
