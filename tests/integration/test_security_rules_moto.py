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
from guardian.flows import security_region
from guardian.flows.baselines import write_signed
from guardian.flows.security_inventory import load_inventory
from guardian.flows.security_rules import InventoryCut, check_security_rules
from guardian.model.security_rules import inventory_key
from guardian.ports.invocation import Invocation
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


def put_targets_record(targets: list[dict[str, Any]], rule: str = FINDINGS, n: int = 0, **extra: Any) -> dict[str, Any]:
    data = record("events_remove_targets", rule=rule)
    data["detail"]["eventName"] = "PutTargets"
    data["detail"]["requestParameters"] = {"rule": rule, "targets": targets, **extra}
    if n:
        data["detail"]["eventID"] = data["detail"]["eventID"][:-2] + f"{n:02d}"
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


# -- review 11 ---------------------------------------------------------------------------------------------------


def topic_of(events: Any) -> str:
    return str(events.list_targets_by_rule(Rule=FINDINGS)["Targets"][0]["Arn"])


def as_recorded(target: dict[str, Any]) -> dict[str, Any]:
    """A target as CloudTrail records it in PutTargets' requestParameters (lower camel case)."""
    return {k[:1].lower() + k[1:]: v for k, v in target.items()}


RECONFIGURED: dict[str, dict[str, Any]] = {
    "input": {"Input": json.dumps({"msg": "GuardDuty heartbeat: all clear"})},
    "transformer": {"InputTransformer": {"InputPathsMap": {"t": "$.time"}, "InputTemplate": '"routine check at <t>"'}},
    "inputpath": {"InputPath": "$.version"},
}


@pytest.mark.threat("security-rule-routing")
@pytest.mark.parametrize("how", sorted(RECONFIGURED))
def test_puttargets_keeping_id_and_arn_but_replacing_the_input_is_high_on_the_event_and_by_the_sweep(
    world: World, recorded: Any, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """The chat topic now gets a constant (or the event's version), not the finding: nothing the team can act on."""
    target = {"Id": "slack-notifier", "Arn": topic_of(recorded), **RECONFIGURED[how]}
    recorded.put_targets(Rule=FINDINGS, Targets=[target])
    assert "re-configured" in high(world, world.invoke(put_targets_record([as_recorded(target)])))
    assert sweep_rules(monkeypatch) == {"us-east-1": "1 changed"}
    assert "re-configured" in message_of(world.alerts()[-1])["reason"]
    assert sweep_rules(monkeypatch) == {"us-east-1": "as recorded"}


@pytest.mark.threat("security-rule-routing")
def test_the_same_configuration_recorded_by_cloudtrail_or_listed_hashes_alike(
    world: World, recorded: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A target configured with an input transformer when the sweep recorded it: putting it again as it was is quiet."""
    target = {"Id": "slack-notifier", "Arn": topic_of(recorded), **RECONFIGURED["transformer"]}
    recorded.put_targets(Rule=FINDINGS, Targets=[target])
    sweep_rules(monkeypatch)  # re-configured: alerted once, re-recorded with it
    world.alerts()
    assert world.invoke(put_targets_record([as_recorded(target)], n=31))["outcome"] == "ignored"
    assert sweep_rules(monkeypatch) == {"us-east-1": "as recorded"}
    assert world.alerts() == []


@pytest.mark.threat("security-rule-routing")
def test_an_inventory_written_before_target_hashes_verifies_and_is_re_recorded_without_an_alert(
    world: World, recorded: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, key = runtime.full_adapter(runtime.config(), own=True), inventory_key("us-east-1")
    document = json.loads(boto3.client("s3").get_object(Bucket=world.bucket, Key=key)["Body"].read())
    for rule in document["rules"]:
        rule["targets"] = [{"Id": t["Id"], "Arn": t["Arn"]} for t in rule["targets"]]  # as the earlier code wrote it
    write_signed(store, key, {k: v for k, v in document.items() if k != "signature"})
    assert world.invoke(put_targets_record([{"id": "slack-notifier", "arn": topic_of(recorded)}]))["outcome"] == (
        "ignored"
    )
    assert sweep_rules(monkeypatch) == {"us-east-1": "as recorded"}
    assert world.alerts() == []
    [rule] = json.loads(boto3.client("s3").get_object(Bucket=world.bucket, Key=key)["Body"].read())["rules"]
    assert all(t["delivers_sha256"] for t in rule["targets"])  # re-recorded with them


@pytest.mark.threat("security-rule-routing")
def test_a_rule_created_and_neutered_between_two_sweeps_is_high_on_the_event_and_by_the_sweep(
    world: World, recorded: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The team's PutRule is recorded on first sight; the insider's rewrite minutes later is judged against it."""
    topic, pattern = topic_of(recorded), json.dumps({"source": ["aws.inspector2"]})
    recorded.put_rule(Name="inspector-to-chat", EventPattern=pattern)  # the team
    made = record("events_put_rule", name="inspector-to-chat", eventPattern=pattern, state="ENABLED")
    made["detail"]["eventID"] = made["detail"]["eventID"][:-2] + "51"
    assert world.invoke(made)["outcome"] == "ignored"
    recorded.put_targets(Rule="inspector-to-chat", Targets=[{"Id": "chat", "Arn": topic}])
    added = put_targets_record([{"id": "chat", "arn": topic}], rule="inspector-to-chat", n=52)
    assert world.invoke(added)["outcome"] == "ignored"
    neutered = json.dumps({"source": ["aws.inspector2"], "detail-type": ["No Such Finding"]})
    recorded.put_rule(Name="inspector-to-chat", EventPattern=neutered)  # the insider
    data = record("events_put_rule", name="inspector-to-chat", eventPattern=neutered, state="ENABLED")
    data["detail"]["eventID"] = data["detail"]["eventID"][:-2] + "55"
    result = world.invoke(data)
    assert (result["outcome"], result["severity"]) == ("alerted", "HIGH")
    assert "as the event path on first sight recorded it" in message_of(world.alerts()[-1])["reason"]
    assert sweep_rules(monkeypatch) == {"us-east-1": "1 changed"}  # the entry folded into the inventory
    assert "inspector-to-chat" in message_of(world.alerts()[-1])["reason"]
    world.alerts()
    sink = boto3.client("sns", region_name="us-east-1").create_topic(Name="insider-sink")["TopicArn"]
    recorded.put_targets(Rule=FINDINGS, Targets=[{"Id": "slack-notifier", "Arn": sink}])
    assert sweep_rules(monkeypatch) == {"us-east-1": "1 changed"}  # the folded entry's retirement hides nothing


@pytest.mark.threat("security-rule-routing")
def test_a_rule_on_a_twelfth_bus_is_inventoried_and_its_neutering_is_high(
    world: World, recorded: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The insider makes 10 buses first (CreateEventBus: no alert): the team's rule on a bus made after is still
    inventoried, its neutering judged against it."""
    for n in range(10):
        recorded.create_event_bus(Name=f"a-bus-{n}")
    topic = topic_of(recorded)
    recorded.create_event_bus(Name="security-findings")
    recorded.put_rule(Name="gd-central", EventBusName="security-findings", EventPattern=json.dumps(PATTERN))
    recorded.put_targets(Rule="gd-central", EventBusName="security-findings", Targets=[{"Id": "chat", "Arn": topic}])
    sweep_rules(monkeypatch)
    rules, _ = load_inventory(runtime.full_adapter(runtime.config(), own=True), "us-east-1")
    assert ("security-findings", "gd-central") in (rules or {})
    neutered = json.dumps({"source": ["aws.ec2"]})
    recorded.put_rule(Name="gd-central", EventBusName="security-findings", EventPattern=neutered)
    data = record("events_put_rule", name="gd-central", eventBusName="security-findings", eventPattern=neutered)
    data["detail"]["eventID"] = data["detail"]["eventID"][:-2] + "77"
    result = world.invoke(data)
    assert (result["outcome"], result["severity"]) == ("alerted", "HIGH")
    assert sweep_rules(monkeypatch) == {"us-east-1": "1 changed"}


@pytest.mark.threat("security-rule-routing")
def test_buses_beyond_the_bound_fail_the_check_naming_them(
    world: World, recorded: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Never a silent cut: past the quota of buses the sweep lists (here made 2), the check fails naming it."""
    for n in range(3):
        recorded.create_event_bus(Name=f"a-bus-{n}")
    monkeypatch.setattr(security_region, "MAX_BUSES", 2)
    with pytest.raises(InventoryCut, match="more than 2 event buses in us-east-1"):
        sweep_rules(monkeypatch)


@pytest.mark.threat("security-rule-routing")
def test_many_rules_and_little_time_the_check_stops_and_the_next_sweep_reads_on(
    world: World, recorded: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """40 security rules, time for about 12 target reads a sweep (a fake clock of the time left, no timing): each
    sweep stops in time, names what is left, and the next goes on from its cursor; a target re-pointed on the last
    rule is found within a few sweeps."""
    topic = topic_of(recorded)
    for n in range(40):
        recorded.put_rule(Name=f"zz-{n:03d}", EventPattern=json.dumps({"source": ["aws.guardduty"]}))
        recorded.put_targets(Rule=f"zz-{n:03d}", Targets=[{"Id": "chat", "Arn": topic}])
    left = [100.0]

    def sweep() -> str:
        return timed_sweep(monkeypatch, left)

    statuses = [sweep() for _ in range(5)]
    assert "targets left for the next sweep (out of time)" in statuses[0]
    rules, _ = load_inventory(runtime.full_adapter(runtime.config(), own=True), "us-east-1")
    assert len(rules or {}) == 41  # every rule recorded after a few sweeps
    sink = boto3.client("sns", region_name="us-east-1").create_topic(Name="insider-sink")["TopicArn"]
    recorded.put_targets(Rule="zz-039", Targets=[{"Id": "chat", "Arn": sink}])
    later = [sweep() for _ in range(4)]
    assert sum(s.startswith("1 changed") for s in later) == 1, later
    assert "re-pointed" in message_of(world.alerts()[-1])["reason"]


def timed_sweep(monkeypatch: pytest.MonkeyPatch, left: list[float]) -> str:
    """One sweep of us-east-1 on a fake clock: each look costs a second, 25 seconds are the check's share."""

    def remaining() -> float:
        left[0] -= 1
        return left[0]

    left[0] = 100.0
    monkeypatch.setenv("GUARDIAN_SWEEP_REGIONS", json.dumps(["us-east-1"]))
    runtime.reset()
    config = runtime.config()
    run = Invocation(lambda: datetime.now(UTC), lambda _: None, remaining=remaining)
    aws = runtime.full_adapter(config, own=True)
    return check_security_rules(aws, config, started=datetime.now(UTC), run=run)["us-east-1"]
