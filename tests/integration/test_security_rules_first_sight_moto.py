"""Review 12: the event path's first-sight entries of security rules (guardian.flows.first_sight) abused by the
insider, and folded entries starving the sweep's target reads. Each test fails on the code before the fix."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from guardian.entrypoints import runtime
from guardian.flows import rate_cap, security_inventory, security_region
from guardian.flows.baselines import read_verified, write_signed
from guardian.flows.security_rules import InventoryCut
from tests.integration.test_security_rules_moto import (  # noqa: F401 - recorded is a fixture
    put_targets_record,
    recorded,
    sweep_rules,
    timed_sweep,
    topic_of,
)
from tests.integration.test_watch_eventbridge_moto import FINDINGS, compiled_pack, record, team_rules  # noqa: F401
from tests.integration.world import World, message_of

GOOD = {"source": ["aws.inspector2"]}
NEUTERED = {"source": ["aws.inspector2"], "detail-type": ["No Such Finding"]}


def put_rule(name: str, pattern: dict[str, Any], n: int) -> dict[str, Any]:
    data = record("events_put_rule", name=name, eventPattern=json.dumps(pattern), state="ENABLED")
    data["detail"]["eventID"] = data["detail"]["eventID"][:-3] + f"{n:03d}"
    return data


def is_high(world: World, result: dict[str, Any]) -> str:
    assert (result["outcome"], result["severity"]) == ("alerted", "HIGH"), result
    return str(message_of(world.alerts()[-1])["reason"])


@pytest.mark.threat("security-rule-routing")
def test_an_insiders_first_sight_then_the_teams_putrule_then_the_real_neutering_is_high_naming_who_made_it(
    world: World,
    recorded: Any,  # noqa: F811 - the fixture
) -> None:
    """The insider makes the name first, neutered; the team's deploy is alerted against it (naming who made it, when)
    and recorded again from its own call: the insider's neutering after it is a change too."""
    recorded.put_rule(Name="insp", EventPattern=json.dumps(NEUTERED))
    insiders = put_rule("insp", NEUTERED, 101)
    assert world.invoke(insiders)["outcome"] == "ignored"
    recorded.put_rule(Name="insp", EventPattern=json.dumps(GOOD))
    team = is_high(world, world.invoke(put_rule("insp", GOOD, 102)))
    made = f"as {insiders['detail']['userIdentity']['arn']} made it at {insiders['detail']['eventTime']}"
    assert made in team
    recorded.put_rule(Name="insp", EventPattern=json.dumps(NEUTERED))
    insider = is_high(world, world.invoke(put_rule("insp", NEUTERED, 103)))
    assert "other filters changed" in insider
    assert "made it at" in insider


@pytest.mark.threat("security-rule-routing")
def test_a_putrules_first_sight_records_no_targets_so_a_target_re_pointed_before_the_records_arrive_is_high(
    world: World,
    recorded: Any,  # noqa: F811 - the fixture
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The team's PutRule and PutTargets, the insider re-pointing the target seconds later: the records arrive after.
    The PutRule's entry takes no targets from the read (the insider's sink); the team's PutTargets adds its target; the
    insider's is HIGH, and the sweep finds it too."""
    topic = topic_of(recorded)
    sink = boto3.client("sns", region_name="us-east-1").create_topic(Name="insider-sink")["TopicArn"]
    recorded.put_rule(Name="insp2", EventPattern=json.dumps(GOOD))
    recorded.put_targets(Rule="insp2", Targets=[{"Id": "chat", "Arn": topic}])
    recorded.put_targets(Rule="insp2", Targets=[{"Id": "chat", "Arn": sink}])
    assert world.invoke(put_rule("insp2", GOOD, 111))["outcome"] == "ignored"
    assert world.invoke(put_targets_record([{"id": "chat", "arn": topic}], rule="insp2", n=12))["outcome"] == "ignored"
    reason = is_high(world, world.invoke(put_targets_record([{"id": "chat", "arn": sink}], rule="insp2", n=13)))
    assert f"re-pointed from {topic} to {sink}" in reason
    assert sweep_rules(monkeypatch) == {"us-east-1": "1 changed"}
    assert "re-pointed" in message_of(world.alerts()[-1])["reason"]


@pytest.mark.threat("security-rule-routing")
def test_folded_first_sight_entries_are_skipped_unread_and_do_not_starve_the_target_reads(
    world: World,
    recorded: Any,  # noqa: F811 - the fixture
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """30 rules recorded on first sight, folded, then deleted: later sweeps read none of their entries, and a target
    re-pointed without a record (its record lost) is found within a few sweeps on the same time share."""
    monkeypatch.setattr(rate_cap, "CAP", 1000)  # 30 alerts at once: no publish waits on the fake clock
    for n in range(30):
        recorded.put_rule(Name=f"gone-{n:03d}", EventPattern=json.dumps(GOOD))
        world.invoke(put_rule(f"gone-{n:03d}", GOOD, 200 + n))
    sweep_rules(monkeypatch)
    for n in range(30):
        recorded.delete_rule(Name=f"gone-{n:03d}")
    assert sweep_rules(monkeypatch) == {"us-east-1": "30 changed"}
    world.alerts()
    reads: list[str] = []

    def reading(store: Any, key: str) -> Any:
        reads.append(key)
        return read_verified(store, key)

    monkeypatch.setattr(security_inventory, "read_verified", reading)
    sink = boto3.client("sns", region_name="us-east-1").create_topic(Name="insider-sink")["TopicArn"]
    recorded.put_targets(
        Rule=recorded.list_rules()["Rules"][0]["Name"], Targets=[{"Id": "slack-notifier", "Arn": sink}]
    )
    left = [100.0]
    statuses = [timed_sweep(monkeypatch, left) for _ in range(2)]
    assert [k for k in reads if "/security-rules/us-east-1/" in k] == []
    assert any(s.startswith("1 changed") for s in statuses), statuses
    assert "re-pointed" in message_of(world.alerts()[-1])["reason"]


@pytest.mark.threat("security-rule-routing")
def test_the_sweep_writes_no_retire_marker_after_its_time_share_only_the_inventory(
    world: World,
    recorded: Any,  # noqa: F811 - the fixture
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """60 rules recorded on first sight: folding them writes one signed document (the inventory, naming them folded),
    not one a rule after the check's time share is spent (spent on reading them: no targets read, the check fails)."""
    for n in range(60):
        recorded.put_rule(Name=f"new-{n:03d}", EventPattern=json.dumps(GOOD))
        world.invoke(put_rule(f"new-{n:03d}", GOOD, 400 + n))
    left = [100.0]
    late: list[str] = []

    def counting(real: Any) -> Any:
        def write(store: Any, key: str, document: dict[str, Any]) -> None:
            if left[0] < 75:
                late.append(key)
            real(store, key, document)

        return write

    monkeypatch.setattr(security_region, "write_signed", counting(write_signed))
    monkeypatch.setattr(security_inventory, "write_signed", counting(write_signed))
    with pytest.raises(InventoryCut, match="no rule's targets read in us-east-1"):
        timed_sweep(monkeypatch, left)
    assert late == ["baselines/security-rules/us-east-1.json"]


@pytest.mark.threat("security-rule-routing")
def test_a_sweep_that_reads_no_targets_while_some_are_due_fails_the_check_naming_it(
    world: World,
    recorded: Any,  # noqa: F811 - the fixture
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Out of time before the first target read: the check fails (never a quiet sweep reading nothing)."""
    left = [100.0]

    def never(*_: Any) -> bool:
        return True

    real = security_region.compare_region

    def starved(*args: Any, **kwargs: Any) -> Any:
        return real(*args, **{**kwargs, "out_of_time": never})

    monkeypatch.setattr("guardian.flows.security_rules.compare_region", starved)
    with pytest.raises(InventoryCut, match="no rule's targets read in us-east-1"):
        timed_sweep(monkeypatch, left)


@pytest.mark.threat("security-rule-routing")
def test_security_rules_beyond_the_bound_are_not_recorded_and_fail_the_check_naming_the_cut(
    world: World,
    recorded: Any,  # noqa: F811 - the fixture
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The insider makes rules by the thousand to swell the inventory the event path loads per call: past the bound
    (here made 3) nothing more is recorded, the rules recorded already kept, and the check fails naming the cut."""
    monkeypatch.setattr(security_region, "MAX_RULES", 3)
    for n in range(4):
        recorded.put_rule(Name=f"bulk-{n:03d}", EventPattern=json.dumps(GOOD))
    with pytest.raises(InventoryCut, match="2 security rules in us-east-1 beyond the 3 recorded"):
        sweep_rules(monkeypatch)
    rules, _ = security_inventory.load_inventory(runtime.full_adapter(runtime.config(), own=True), "us-east-1")
    assert len(rules or {}) == 3
    assert ("default", FINDINGS) in (rules or {})  # recorded before: kept


@pytest.mark.threat("security-rule-routing")
def test_a_target_compared_on_what_it_delivers_not_on_retry_or_dead_letter_settings_aws_may_default(
    world: World,
    recorded: Any,  # noqa: F811 - the fixture
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The listing carries a retry policy and dead-letter queue the PutTargets record may not (AWS defaults them):
    quiet; the same record replacing the input is still HIGH."""
    queue = boto3.client("sqs", region_name="us-east-1").create_queue(QueueName="dlq")["QueueUrl"]
    dlq = boto3.client("sqs", region_name="us-east-1").get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    extra = {"RetryPolicy": {"MaximumRetryAttempts": 185}, "DeadLetterConfig": {"Arn": dlq["Attributes"]["QueueArn"]}}
    recorded.put_targets(Rule=FINDINGS, Targets=[{"Id": "slack-notifier", "Arn": topic_of(recorded), **extra}])
    assert sweep_rules(monkeypatch) == {"us-east-1": "as recorded"}
    bare = {"id": "slack-notifier", "arn": topic_of(recorded)}
    assert world.invoke(put_targets_record([bare], n=61))["outcome"] == "ignored"
    assert world.alerts() == []
    assert "re-configured" in is_high(world, world.invoke(put_targets_record([{**bare, "input": '"ok"'}], n=62)))
