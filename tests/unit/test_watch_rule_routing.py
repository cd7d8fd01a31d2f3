"""The check behind ``eventbridge-security-rule-changed``: a team's EventBridge rule disabled, its targets removed or
rewritten alerts HIGH, naming what it routed, only if it routes a security service's events; the catch-all, when
turned on, still alerts LOW on the others. Pure: the rule as DescribeRule returned it is given."""

from __future__ import annotations

import json
from typing import Any

import pytest

from guardian.model.decide import PolicyContext
from guardian.model.events import parse_event
from guardian.model.rule_routing import (
    RuleRead,
    Verdict,
    own_rule,
    routed_sources,
    rule_named,
    security_targets,
    verdict,
)
from guardian.model.rules import Severity
from guardian.model.watch import parse_compiled, watch_decision
from tests.support import ACCOUNT, REPO_ROOT
from watch_rules.compile import compile_rules
from watch_rules.schema import RulesError, load, parse

WATCH_EVENTS = REPO_ROOT / "tests" / "events" / "watch"
GUARDDUTY = json.dumps({"source": ["aws.guardduty"], "detail-type": ["GuardDuty Finding"]})
SCHEDULE = None  # a scheduled rule has no pattern


def record(file: str, **params: Any) -> Any:
    data = json.loads((WATCH_EVENTS / f"{file}.json").read_text())
    data["detail"]["requestParameters"].update(params)
    return parse_event(data)


@pytest.mark.parametrize(
    ("pattern", "sources"),
    [
        (GUARDDUTY, ("aws.guardduty",)),
        ({"source": ["aws.securityhub", "aws.ec2"]}, ("aws.securityhub",)),
        ({"source": [{"prefix": "aws.inspector"}]}, ("aws.inspector2", "aws.inspector")),
        ({"source": [{"wildcard": "aws.mac*"}]}, ("aws.macie",)),
        (
            {"$or": [{"source": ["aws.ec2"]}, {"source": ["aws.config"], "detail-type": ["Config Rules Compliance"]}]},
            ("aws.config",),
        ),
        (
            {"source": [{"anything-but": ["aws.guardduty"]}]},
            tuple(s for s in routed_sources({"source": [{"prefix": "aws."}]}) if s != "aws.guardduty"),
        ),
        ({"source": ["aws.ec2"]}, ()),
        ({"detail-type": ["Scheduled Event"]}, ()),  # names no source
        ("not json", ()),
        (SCHEDULE, ()),
    ],
)
def test_the_security_sources_a_pattern_routes_are_read_as_eventbridge_matches(pattern: Any, sources: Any) -> None:
    assert routed_sources(pattern) == sources


def test_a_target_that_is_a_security_services_counts() -> None:
    arns = ("arn:aws:sns:us-east-1:123456789012:alerts", "arn:aws:ssm-incidents::123456789012:response-plan/sev1")
    assert security_targets(arns) == arns[1:]


def test_the_guardians_own_rules_are_known_by_its_stacks_prefix() -> None:
    functions = ("Acme-remediation", "Acme-sweep")
    assert own_rule("Acme-tamper", functions)
    assert not own_rule("Acme", functions)
    assert not own_rule("team-Acme-tamper", functions)
    assert not own_rule("Acme-tamper", ())  # older deployments name no functions: every rule is read


def test_the_rule_is_named_by_name_or_by_rule_on_its_bus() -> None:
    assert rule_named(record("events_disable_rule")) == ("security-findings-to-pagerduty", "default")
    assert rule_named(record("events_remove_targets", eventBusName="audit")) == ("guardduty-findings-to-slack", "audit")


@pytest.mark.parametrize(
    ("name", "read", "severity", "said"),
    [
        ("events_disable_rule", RuleRead("r", "default", pattern=GUARDDUTY, state="DISABLED"), "HIGH", "aws.guardduty"),
        ("events_disable_rule", RuleRead("r", "default", pattern=SCHEDULE), None, "nothing"),
        ("events_remove_targets", RuleRead("r", "default", pattern=GUARDDUTY), "HIGH", "lost targets"),
        ("events_remove_targets", RuleRead("r", "default", found=False), "LOW", "gone"),
        ("events_remove_targets", RuleRead("r", "default", error="AccessDeniedException"), "HIGH", "could not be read"),
        ("events_put_rule_disabled", RuleRead("r", "default", pattern=GUARDDUTY, state="DISABLED"), "HIGH", "disabled"),
        # a rule created or updated routing GuardDuty, enabled: nothing lost
        ("events_put_rule_disabled", RuleRead("r", "default", pattern=GUARDDUTY, state="ENABLED"), None, "still"),
        # rewritten away from the security sources while its target is a security service's
        (
            "events_put_rule",
            RuleRead(
                "r",
                "default",
                pattern=json.dumps({"source": ["aws.ec2"]}),
                targets=("arn:aws:ssm-incidents::123456789012:response-plan/sev1",),
            ),
            "HIGH",
            "routes no security source now",
        ),
        ("events_put_rule", RuleRead("r", "default", pattern=SCHEDULE), None, "nothing of security"),
    ],
)
def test_the_verdict(name: str, read: RuleRead, severity: str | None, said: str) -> None:
    event = record(name, state=read.state) if name == "events_put_rule_disabled" else record(name)
    found = verdict(event, read, Severity.HIGH)
    assert (found.severity.value if found.severity else None) == severity
    assert said in found.note


def rules_with(enabled: set[str]) -> Any:
    """The default pack, with ``enabled`` turned on, as the function's asset holds it."""
    data = json.loads((REPO_ROOT / "rules" / "watch.json").read_text())
    for rule in data["rules"]:
        if rule["id"] in enabled:
            rule["enabled"] = True
    return parse_compiled(json.dumps(compile_rules(parse(data)).runtime_document()))


@pytest.mark.parametrize(
    ("verdicts", "catch_all", "expected"),
    [
        (
            {"eventbridge-security-rule-changed": Verdict(Severity.HIGH, "routes aws.guardduty")},
            False,
            ("HIGH", "eventbridge-security-rule-changed", "routes aws.guardduty"),
        ),
        ({"eventbridge-security-rule-changed": Verdict(None, "routes nothing")}, False, None),
        # the catch-all turned on: a rule routing nothing of security is still alerted, LOW
        (
            {"eventbridge-security-rule-changed": Verdict(None, "routes nothing")},
            True,
            ("LOW", "eventbridge-rule-deleted-or-disabled", "alert only"),
        ),
        (
            {"eventbridge-security-rule-changed": Verdict(Severity.HIGH, "routes aws.config")},
            True,
            ("HIGH", "eventbridge-security-rule-changed", "also matched: eventbridge-rule-deleted-or-disabled"),
        ),
    ],
)
def test_the_check_decides_the_alert_and_the_catch_all_when_on_still_alerts_low(
    verdicts: dict[str, Verdict], catch_all: bool, expected: tuple[str, str, str] | None
) -> None:
    rules = rules_with({"eventbridge-rule-deleted-or-disabled"} if catch_all else set())
    decision = watch_decision(record("events_disable_rule"), rules, PolicyContext(ACCOUNT), verdicts)
    if expected is None:
        assert decision is None
        return
    assert decision is not None
    assert (decision.severity.value, decision.watch_rule) == expected[:2]
    assert expected[2] in decision.reason


def test_a_check_must_stay_within_the_calls_it_reads() -> None:
    rule = {
        "id": "x",
        "description": "x",
        "severity": "HIGH",
        "match": {"eventSource": "events.amazonaws.com", "eventName": ["EnableRule"]},
        "check": "SecurityRouting",
    }
    with pytest.raises(RulesError, match="check SecurityRouting reads"):
        parse({"rules": [rule]})
    with pytest.raises(RulesError, match="check must be one of"):
        parse({"rules": [{**rule, "check": "Nope"}]})
    assert load(REPO_ROOT / "rules" / "watch.json")  # the pack's own checked rule is valid
