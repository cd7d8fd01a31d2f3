"""The sweep's alerts' OCSF objects and own events (guardian.flows.sweep_copies): the bus and detail-type read once a
run from the remediation function's environment (the sweep's holds near Lambda's 4 KB); failures counted, never
raised."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from guardian.flows.sweep_copies import copied
from guardian.model.own_events import AS_REMEDIATION, own_events_config
from tests.unit.test_sweep_findings import CONFIG, rule_found, run

BUS = "arn:aws:events:us-east-1:123456789012:event-bus/team-router"
SWEEP = replace(
    CONFIG,
    own_events=own_events_config({"GUARDIAN_OWN_EVENTS": AS_REMEDIATION}),
    own_functions=("CloudTrailGuardian-remediation", "CloudTrailGuardian-sweep"),
)


class Aws:
    """The remediation function's environment, the bus and the bucket, recorded."""

    def __init__(self, variables: dict[str, str] | None) -> None:
        self.variables = variables
        self.reads: list[str] = []
        self.events: list[dict[str, Any]] = []
        self.objects: list[str] = []

    def function_config(self, name: str) -> dict[str, Any] | None:
        self.reads.append(name)
        return None if self.variables is None else {"Environment": {"Variables": self.variables}}

    def put_own_event(self, entry: dict[str, Any]) -> None:
        self.events.append(entry)

    def put_new(self, key: str, body: bytes, *, locked_until: Any = None) -> bool:
        self.objects.append(key)
        return True

    def read_json(self, key: str, version: str | None = None) -> dict[str, Any] | None:
        return None


def mailed(i: int) -> str:
    return json.dumps({"outcome": "healed", "n": i})


def test_the_sweep_reads_the_remediation_functions_bus_once_a_run_and_puts_every_alert_there() -> None:
    aws = Aws({"GUARDIAN_OWN_EVENTS": BUS, "GUARDIAN_OWN_EVENTS_DETAIL_TYPE": "Audit Tamper"})
    entries = [(rule_found(i), mailed(i)) for i in range(3)]

    done = copied(entries, aws, SWEEP, run())  # type: ignore[arg-type]

    assert aws.reads == ["CloudTrailGuardian-remediation"]  # once, not once an alert
    assert [(e["EventBusName"], e["DetailType"]) for e in aws.events] == [(BUS, "Audit Tamper")] * 3
    assert (done.made, done.failed) == (3, 0)


def test_a_held_alert_has_no_own_event_but_its_ocsf_object() -> None:
    aws = Aws({"GUARDIAN_OWN_EVENTS": BUS})
    config = replace(SWEEP, ocsf=True)

    done = copied([(rule_found(1), None)], aws, config, run())  # type: ignore[arg-type]

    assert aws.events == []  # held for its group's digest: nothing was mailed
    assert len(aws.objects) == 1
    assert (done.made, done.failed) == (1, 0)


def test_a_remediation_function_naming_no_bus_is_counted_and_the_ocsf_objects_still_go() -> None:
    aws = Aws({})  # its environment says nothing of own events (changed by someone, or an older deployment)
    config = replace(SWEEP, ocsf=True)

    done = copied([(rule_found(i), mailed(i)) for i in range(2)], aws, config, run())  # type: ignore[arg-type]

    assert aws.events == []
    assert len(aws.objects) == 2
    assert done.failed == 1
    assert "names no bus" in done.errors[0]


def test_out_of_time_is_counted_never_raised() -> None:
    aws = Aws({"GUARDIAN_OWN_EVENTS": BUS})

    done = copied([(rule_found(1), mailed(1))], aws, SWEEP, run(remaining=2.0))  # type: ignore[arg-type]

    assert aws.events == []
    assert (done.made, done.failed) == (0, 1)
    assert "no time left" in done.errors[0]
