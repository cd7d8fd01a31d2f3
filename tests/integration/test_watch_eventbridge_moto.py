"""A team's EventBridge rule disabled, its targets removed or rewritten, through the remediation function against
moto's EventBridge: the function reads the rule (DescribeRule, ListTargetsByRule) and alerts HIGH, naming the
security sources it routed; a rule routing nothing of security is not alerted (LOW with the catch-all on); a rule
gone before the read is LOW."""

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
from watch_rules.schema import parse

WATCH_EVENTS = REPO_ROOT / "tests" / "events" / "watch"
FINDINGS = "guardduty-findings-to-slack"
SCHEDULED = "scheduled-health-check"


def compiled_pack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, catch_all: bool = False) -> None:
    data = json.loads((REPO_ROOT / "rules" / "watch.json").read_text())
    for rule in data["rules"]:
        if catch_all and rule["id"] == "eventbridge-rule-deleted-or-disabled":
            rule["enabled"] = True
    path = tmp_path / "watch_rules.json"
    path.write_text(json.dumps(compile_rules(parse(data)).runtime_document()))
    monkeypatch.setattr(watching, "WATCH_RULES_FILE", path)


@pytest.fixture
def team_rules(world: World) -> Any:
    """A team's rule sending GuardDuty findings to a chat topic, and a scheduled rule routing nothing of security."""
    events = boto3.client("events", region_name="us-east-1")
    topic = boto3.client("sns", region_name="us-east-1").create_topic(Name="team-chat")["TopicArn"]
    pattern = {"source": ["aws.guardduty", "aws.securityhub"], "detail-type": ["GuardDuty Finding"]}
    events.put_rule(Name=FINDINGS, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=FINDINGS, Targets=[{"Id": "slack-notifier", "Arn": topic}])
    events.put_rule(Name=SCHEDULED, ScheduleExpression="rate(5 minutes)")
    events.put_targets(Rule=SCHEDULED, Targets=[{"Id": "check", "Arn": topic}])
    return events


def record(file: str, **params: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((WATCH_EVENTS / f"{file}.json").read_text())
    data["detail"]["requestParameters"].update(params)
    return data


@pytest.mark.parametrize(
    ("name", "params", "call"),
    [
        ("events_disable_rule", {"name": FINDINGS}, "disable_rule"),
        ("events_remove_targets", {"rule": FINDINGS}, "remove_targets"),
        ("events_put_rule_disabled", {"name": FINDINGS}, "put_rule"),
    ],
)
def test_a_rule_routing_security_findings_disabled_or_emptied_is_alerted_high_naming_its_sources(
    world: World, team_rules: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, params: Any, call: str
) -> None:
    compiled_pack(tmp_path, monkeypatch)
    if call == "disable_rule":  # the call as made, before its record reaches the function
        team_rules.disable_rule(Name=FINDINGS)
    elif call == "remove_targets":
        team_rules.remove_targets(Rule=FINDINGS, Ids=["slack-notifier"])
    else:
        pattern = json.loads(record(name)["detail"]["requestParameters"]["eventPattern"])
        team_rules.put_rule(Name=FINDINGS, EventPattern=json.dumps(pattern), State="DISABLED")
    result = world.invoke(record(name, **params))
    assert (result["outcome"], result["severity"], result["alert_published"]) == ("alerted", "HIGH", True)
    [notification] = world.alerts()
    assert notification["MessageAttributes"]["rule"]["Value"] == "eventbridge-security-rule-changed"
    reason = message_of(notification)["reason"]
    assert ("aws.guardduty" if call == "put_rule" else "aws.guardduty, aws.securityhub") in reason  # as it is now
    assert FINDINGS in reason


def test_a_rule_routing_nothing_of_security_is_not_alerted(
    world: World, team_rules: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    compiled_pack(tmp_path, monkeypatch)
    team_rules.disable_rule(Name=SCHEDULED)
    result = world.invoke(record("events_disable_rule", name=SCHEDULED))
    assert result["outcome"] == "ignored"
    assert world.alerts() == []


def test_with_the_catch_all_on_it_is_alerted_low_and_a_security_rule_still_high(
    world: World, team_rules: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    compiled_pack(tmp_path, monkeypatch, catch_all=True)
    low = world.invoke(record("events_disable_rule", name=SCHEDULED))
    second_call = record("events_disable_rule", name=FINDINGS)
    second_call["detail"]["eventID"] = second_call["detail"]["eventID"][:-2] + "99"  # another call
    high = world.invoke(second_call)
    assert (low["severity"], high["severity"]) == ("LOW", "HIGH")
    first, second = world.alerts()
    assert first["MessageAttributes"]["rule"]["Value"] == "eventbridge-rule-deleted-or-disabled"
    assert "also matched: eventbridge-rule-deleted-or-disabled" in message_of(second)["reason"]


def test_a_rule_deleted_before_the_read_is_alerted_low(
    world: World, team_rules: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RemoveTargets then DeleteRule at once: what the rule routed is unknown by the time the record arrives."""
    compiled_pack(tmp_path, monkeypatch)
    team_rules.remove_targets(Rule=FINDINGS, Ids=["slack-notifier"])
    team_rules.delete_rule(Name=FINDINGS)
    result = world.invoke(record("events_remove_targets"))
    assert (result["outcome"], result["severity"]) == ("alerted", "LOW")
    assert "is gone" in message_of(world.alerts()[0])["reason"]


def test_the_guardians_own_rule_under_another_stack_name_is_left_to_its_guard(
    world: World, team_rules: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pack leaves ``CloudTrailGuardian-*`` out of its pattern; under another stackName the function knows its
    rules by its own functions' prefix and does not alert twice (the guard alerts CRITICAL)."""
    compiled_pack(tmp_path, monkeypatch)
    monkeypatch.setenv("GUARDIAN_SELF_FUNCTIONS", json.dumps(["Acme-remediation", "Acme-sweep"]))
    team_rules.put_rule(Name="Acme-tamper", EventPattern=json.dumps({"source": ["aws.cloudtrail"]}))
    team_rules.disable_rule(Name="Acme-tamper")
    assert world.invoke(record("events_disable_rule", name="Acme-tamper"))["outcome"] == "ignored"
    assert world.alerts() == []
