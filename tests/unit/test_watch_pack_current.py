"""The watch pack's newer defense-evasion rules (issue 24): each alerts on a real-shaped record of its call, and a
near miss does not; the same answer from the function's compiled rules, from the EventBridge rules they are packed
into, and from moto's EventBridge matcher. Where the shapes come from: ``tests/events/watch/SOURCES.md``."""

from __future__ import annotations

import json
from typing import Any

import pytest
from moto.events.models import EventPattern

from guardian.model.event_pattern import envelope, matches
from guardian.model.rules import Severity
from guardian.model.watch import matching, parse_compiled
from tests.support import REPO_ROOT
from watch_rules.compile import Compiled, compile_rules
from watch_rules.schema import load

WATCH_EVENTS = REPO_ROOT / "tests" / "events" / "watch"

# record -> (the alerting rule, its severity, the other rules it names); None: no rule alerts
EXPECTED: dict[str, tuple[str, str, set[str]] | None] = {
    "bedrock_delete_model_invocation_logging": ("bedrock-invocation-logging-deleted", "HIGH", set()),
    "bedrock_put_model_invocation_logging": ("bedrock-invocation-logging-changed", "MEDIUM", set()),
    "organizations_disable_service_access_cloudtrail": ("cloudtrail-trusted-access-disabled", "CRITICAL", set()),
    "organizations_disable_service_access_config": None,  # another service's trusted access
    "organizations_deregister_delegated_admin_cloudtrail": ("cloudtrail-delegated-admin-removed", "HIGH", set()),
    "organizations_deregister_delegated_admin_cloudtrail_denied": None,  # the call failed
    "cloudtrail_deregister_organization_delegated_admin": ("cloudtrail-delegated-admin-deregistered", "HIGH", set()),
    "s3_put_bucket_logging_removed": ("s3-server-access-logging-removed", "MEDIUM", set()),
    "securitylake_delete_aws_log_source": ("security-lake-source-deleted", "HIGH", set()),
    "securitylake_delete_subscriber": ("security-lake-subscriber-deleted", "MEDIUM", set()),
    "securitylake_get_subscriber": None,
    "inspector2_disable": ("inspector-disabled", "MEDIUM", set()),
    "macie2_disable_macie": ("macie-disabled", "MEDIUM", set()),
    "access_analyzer_delete_analyzer": ("access-analyzer-deleted", "MEDIUM", set()),
    "access_analyzer_create_analyzer": None,
    "elbv2_access_logs_off": ("elb-access-logging-disabled", "MEDIUM", set()),
    "elbv2_access_logs_on": None,
    # EventBridge matches each field of an array of objects on its own: logging on while another attribute is set
    # false in the same call alerts too (documented; never a missed switch-off).
    "elbv2_access_logs_on_deletion_protection_off": ("elb-access-logging-disabled", "MEDIUM", set()),
    "cloudfront_update_distribution_logging_off": ("cloudfront-standard-logging-off", "LOW", set()),
    "cloudfront_update_distribution_logging_on": None,
    "wafv2_delete_logging_configuration": ("waf-logging-deleted", "HIGH", set()),
    # matched by both; the function's check then judges the rule (a managed rule routing nothing: MEDIUM stays)
    "events_delete_managed_rule_force": (
        "eventbridge-security-rule-changed",
        "HIGH",
        {"eventbridge-managed-rule-removed"},
    ),
    # A team's rule disabled, its targets removed or rewritten: matched, then the function reads the rule and alerts
    # only if it routes a security service's events (tests/unit/test_watch_rule_routing.py, the moto tests). The
    # catch-all (any rule deleted or disabled, LOW) ships off: noisy.
    "events_disable_rule": ("eventbridge-security-rule-changed", "HIGH", set()),
    "events_put_rule": ("eventbridge-security-rule-changed", "HIGH", set()),
    "events_put_rule_disabled": ("eventbridge-security-rule-changed", "HIGH", set()),
    "events_remove_targets": ("eventbridge-security-rule-changed", "HIGH", set()),
    "events_disable_own_rule": None,  # the guardian's own (CloudTrailGuardian-*): its guard alerts, no function runs
    "iam_put_role_policy_parameters_omitted": ("iam-policy-parameters-omitted", "HIGH", {"cis-iam-policy-changed"}),
    "iam_put_role_policy": ("cis-iam-policy-changed", "MEDIUM", set()),  # parameters logged: only CIS 4.4
    "iam_create_role_parameters_omitted": ("iam-policy-parameters-omitted", "HIGH", set()),
    "iam_update_assume_role_policy_parameters_omitted": ("iam-policy-parameters-omitted", "HIGH", set()),
    "kms_put_key_policy_parameters_omitted": ("kms-key-policy-parameters-omitted", "HIGH", set()),
    "kms_create_key_parameters_omitted": ("kms-key-policy-parameters-omitted", "HIGH", set()),
    "elb_classic_access_log_off": ("elb-classic-access-log-disabled", "MEDIUM", set()),
    "elb_classic_access_log_on": None,
    "logs_delete_delivery": ("log-delivery-deleted", "LOW", set()),
    "logs_delete_delivery_source": ("log-delivery-deleted", "LOW", set()),
    "macie2_update_macie_session_paused": ("macie-paused", "MEDIUM", set()),
    "macie2_update_macie_session_frequency": None,  # still enabled
}
NEW_RULES = {e[0] for e in EXPECTED.values() if e is not None} - {"cis-iam-policy-changed"}
OPT_IN = {"eventbridge-rule-deleted-or-disabled"}  # in the pack, off by default: turned on with "enabled": true


@pytest.fixture(scope="module")
def compiled() -> Compiled:
    return compile_rules(load(REPO_ROOT / "rules" / "watch.json"))


def event(name: str) -> dict[str, Any]:
    return dict(envelope(json.loads((WATCH_EVENTS / f"{name}.json").read_text())))


def test_every_record_here_has_an_expectation_and_every_new_rule_a_record() -> None:
    assert {p.stem for p in WATCH_EVENTS.glob("*.json")} == set(EXPECTED)
    pack = {r.id: r for r in load(REPO_ROOT / "rules" / "watch.json").rules}
    assert set(pack) >= NEW_RULES | OPT_IN
    assert not any(pack[rule_id].enabled for rule_id in OPT_IN)
    for rule_id in NEW_RULES:  # alert only, successful calls only, as the pack's others
        assert pack[rule_id].heal is None
        assert pack[rule_id].enabled
        assert pack[rule_id].match["errorCode"] == "absent"
    assert {r.id for r in pack.values() if r.check} == {"eventbridge-security-rule-changed"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_function_alerts_the_most_severe_rule_and_names_the_others(name: str, compiled: Compiled) -> None:
    """What the remediation function reads: the compiled copy in its asset."""
    rules = parse_compiled(json.dumps(compiled.runtime_document()))
    found = matching(rules, event(name))
    expected = EXPECTED[name]
    if expected is None:
        assert [r.id for r in found] == []
        return
    top = max(found, key=lambda r: list(Severity).index(r.severity))
    assert (top.id, top.severity.value) == expected[:2]
    assert {r.id for r in found} - {top.id} == expected[2]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_deployed_eventbridge_rules_route_exactly_these_records(name: str, compiled: Compiled) -> None:
    """The packed patterns (home Region and every forwarder) send the record to the function iff a rule matches."""
    expected = EXPECTED[name]
    routed = [g for g in compiled.groups if matches(g.pattern, event(name))]
    if expected is None:
        assert routed == []
    else:
        assert any(expected[0] in g.rule_ids for g in routed)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_moto_matches_each_new_rule_as_the_function_does(name: str, compiled: Compiled) -> None:
    """Except inside an array of objects, where moto does not look and EventBridge does (the documented difference
    of ``test_event_pattern.test_where_moto_differs_the_documented_eventbridge_behaviour_holds``)."""
    record = event(name)
    for rule_id in sorted(NEW_RULES - {"elb-access-logging-disabled"}):
        pattern = dict(compiled.patterns[rule_id])
        moto = bool(EventPattern(json.dumps(pattern), pattern).matches_event(record))  # type: ignore[arg-type]
        assert matches(pattern, record) is moto, rule_id


def test_the_pack_still_fits_few_eventbridge_rules_within_the_size_limit(compiled: Compiled) -> None:
    """Five EventBridge rules: a field all of a group's rules share (``errorCode`` absent) is said once."""
    assert len(compiled.groups) <= 5
    assert all(len(json.dumps(g.pattern)) <= 2048 for g in compiled.groups)
    assert "errorCode" in compiled.groups[0].pattern["detail"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_moto_routes_each_record_through_the_packed_eventbridge_rules_as_the_function_does(
    name: str, compiled: Compiled
) -> None:
    """The packed patterns, with a shared field beside ``$or``, as moto's EventBridge reads them (the ELBv2 records:
    an array of objects, where moto does not look)."""
    if name.startswith("elbv2_"):
        return
    record = event(name)
    for group in compiled.groups:
        pattern = dict(group.pattern)
        moto = bool(EventPattern(json.dumps(pattern), pattern).matches_event(record))  # type: ignore[arg-type]
        assert matches(pattern, record) is moto, group.rule_ids


def test_each_eventbridge_rules_description_fits_even_in_a_forwarder(compiled: Compiled) -> None:
    """The first group now names 16 rules: a forwarder's "Forwarded: " prefix must not push it over 512."""
    from infra.watch import _description  # noqa: PLC0415 - the one place descriptions are made

    for group in compiled.groups:
        assert len(_description(group.rule_ids)) <= 512
        assert len(_description(group.rule_ids, "Forwarded: ")) <= 512
