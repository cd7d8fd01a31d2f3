"""The watch rules file: checked with every problem named by rule and field, compiled to EventBridge patterns that
mean what the rules say (merged rules match exactly what their members match), within EventBridge's limits; and the
default pack's decision on every record of the shared corpus."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from guardian.model.event_pattern import envelope, matches
from tests.support import REPO_ROOT, corpus_files, corpus_id, require_corpus
from watch_rules.compile import PATTERN_LIMIT, compile_rules, pattern_of, size
from watch_rules.schema import RulesError, WatchRule, load, parse

PACK = REPO_ROOT / "rules" / "watch.json"


def rule(**overrides: Any) -> dict[str, Any]:
    return {
        "id": "guardduty-off",
        "description": "GuardDuty detector disabled",
        "severity": "HIGH",
        "match": {"eventSource": "guardduty.amazonaws.com", "eventName": ["UpdateDetector"]},
        **overrides,
    }


def problems(*rules: dict[str, Any], top: dict[str, Any] | None = None) -> list[str]:
    with pytest.raises(RulesError) as raised:
        compile_rules(parse({"rules": list(rules), **(top or {})}))
    return raised.value.problems


def test_the_default_pack_is_valid_and_fits_in_few_eventbridge_rules() -> None:
    compiled = compile_rules(load(PACK))
    assert len(compiled.rules) >= 15
    assert 1 <= len(compiled.groups) <= 5
    assert all(size(g.pattern) <= PATTERN_LIMIT for g in compiled.groups)
    assert sorted(i for g in compiled.groups for i in g.rule_ids) == sorted(r.id for r in compiled.rules)
    everything = {r.id for r in load(PACK).rules}
    assert {"guardduty-detector-deleted", "config-recorder-stopped", "cis-root-account-used"} <= everything
    disabled = {r.id for r in load(PACK).rules if not r.enabled}
    assert "cis-security-group-changed" in disabled  # noisy CIS events ship off: enabled by choice


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (rule(id="Bad_Id"), "rule 'Bad_Id': id must be 1-64 lowercase letters, digits and hyphens"),
        (rule(severity="URGENT"), "rule 'guardduty-off': severity must be one of INFO, LOW, MEDIUM, HIGH, CRITICAL"),
        (rule(descripton="x"), "rule 'guardduty-off': unknown key 'descripton' (did you mean description?)"),
        (
            rule(match={"eventNmae": ["X"]}),
            "rule 'guardduty-off': unknown match key 'eventNmae' (did you mean eventName?)",
        ),
        (
            rule(match={"eventName": [{"prefx": "Delete"}]}),
            "match.eventName: unknown operator 'prefx' (did you mean prefix?)",
        ),
        (
            rule(match={"eventName": [{"wildcard": "a**b"}]}),
            "detail.eventName: wildcard 'a**b': consecutive wildcard characters at position 1",
        ),
        # a plain string of a wildcard field is a wildcard filter once compiled: EventBridge refuses it the same
        (rule(match={"eventName": ["Put**Policy"]}), "detail.eventName: wildcard 'Put**Policy': consecutive"),
        (rule(match={"eventName": ["Put\\Policy*"]}), "invalid escape character at position 3"),
        (
            rule(match={"eventName": ["X"], "sourceIPAddress": [{"cidr": "10.0.0.0/33"}]}),
            "detail.sourceIPAddress: cidr '10.0.0.0/33': IPv4 mask bits must be < 32",
        ),
        (
            rule(match={"eventName": ["X"], "sourceIPAddress": [{"cidr": "10.0.0/8"}]}),
            "cidr '10.0.0/8': '10.0.0' is not an IP address",
        ),
        (
            rule(match={"eventName": ["X"], "sourceIPAddress": [{"cidr": "2001:db8::/128"}]}),
            "IPv6 mask bits must be < 128",
        ),
        (
            rule(match={"eventName": ["X"], "requestParameters": {"n": [{"numeric": [">", 10, "<", 5]}]}}),
            "the lower bound must be less than the upper one",
        ),
        (
            rule(match={"eventName": ["X"], "requestParameters": {"n": [{"numeric": ["<", 10, ">", 5]}]}}),
            "a range is a lower bound (> or >=) then an upper one (< or <=)",
        ),
        (
            rule(match={"eventName": ["X"], "requestParameters": {"n": [{"numeric": [">", 6e9]}]}}),
            "EventBridge compares numbers from -5.0e9 to 5.0e9",
        ),
        (
            rule(match={"eventName": [{"anything-but": {"wildcard": "Get**"}}]}),
            "wildcard 'Get**': consecutive",
        ),
        (rule(match={"eventName": []}), "match.eventName: an empty list matches nothing"),
        (rule(match={"eventName": [{"exists": "yes"}]}), "match.eventName: exists takes true or false"),
        (
            rule(match={"requestParameters": {"n": [{"numeric": [">>", 1]}]}}),
            "match.requestParameters.n: numeric takes",
        ),
        (rule(match={"detailType": "AWS Thing"}), "match.detailType: must be among"),
        (rule(match={"detailType": "AWS API Call via CloudTrail"}), "match needs a field besides detailType"),
        (rule(heal="DeleteEverything"), "heal must be one of StartConfigurationRecorder, EnableGuardDutyDetector"),
        (
            rule(heal="StartConfigurationRecorder"),
            "heal StartConfigurationRecorder undoes config.amazonaws.com StopConfigurationRecorder only",
        ),
        (
            rule(match={"principal": {"include": ["arn:aws:iam::*:root"], "exclude": ["arn:aws:iam::1:role/ci"]}}),
            "match.principal: include and exclude together cannot be expressed in one EventBridge pattern",
        ),
        (
            rule(match={"principal": ["arn:aws:iam::*:root"], "userIdentity": {"arn": ["x"]}}),
            "match.userIdentity sets userIdentity.arn, which another field sets too",
        ),
        (
            rule(match={"eventName": ["X"], "requestParameters": {"policy": ["p" * 2100]}}),
            "rule 'guardduty-off': its pattern is 2",
        ),
    ],
)
def test_every_problem_names_the_rule_and_the_field(bad: dict[str, Any], message: str) -> None:
    found = problems(bad)
    assert any(message in p for p in found), found


@pytest.mark.parametrize(
    "good",
    [
        {"eventName": ["Put*Policy", "Delete\\*Literal"]},
        {"eventName": ["X"], "sourceIPAddress": [{"cidr": "10.0.0.0/31"}, {"cidr": "2001:db8::/64"}]},
        {"eventName": ["X"], "requestParameters": {"n": [{"numeric": [">=", 0, "<", 5e9]}]}},
    ],
)
def test_what_eventbridge_accepts_passes(good: dict[str, Any]) -> None:
    assert compile_rules(parse({"rules": [rule(match=good)]})).rules


def test_every_problem_is_reported_at_once_and_duplicates_are_named() -> None:
    found = problems(rule(), rule(), rule(id="other", severity="NOPE"), top={"extra": 1})
    assert "unknown top-level keys ['extra']" in found
    assert "rule 'guardduty-off': duplicate id" in found
    assert any(p.startswith("rule 'other': severity") for p in found)


def test_a_file_that_is_not_json_or_absent_is_named(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(RulesError, match=r"bad\.json: not readable as JSON"):
        load(tmp_path / "bad.json")
    with pytest.raises(RulesError, match=r"nope\.json: no such file"):
        load(tmp_path / "nope.json")
    with pytest.raises(RulesError, match=r'expected an object \{"rules": \[...\]\}'):
        parse([])


def test_friendly_values_become_eventbridge_filters() -> None:
    compiled = pattern_of(
        WatchRule(
            "r",
            "d",
            "LOW",
            {
                "eventSource": "iam.amazonaws.com",
                "eventName": ["Put*Policy", "CreatePolicy"],
                "errorCode": "absent",
                "principal": {"exclude": ["arn:aws:iam::*:role/ci-*"]},
                "region": "us-east-1",
                "requestParameters": {"policyName": [{"prefix": "Admin"}]},
            },
        )
    )
    assert compiled == {
        "detail-type": ["AWS API Call via CloudTrail", "AWS Console Sign In via CloudTrail"],
        "detail": {
            "eventSource": ["iam.amazonaws.com"],
            "eventName": [{"wildcard": "Put*Policy"}, "CreatePolicy"],
            "errorCode": [{"exists": False}],
            "userIdentity": {"arn": [{"anything-but": {"wildcard": "arn:aws:iam::*:role/ci-*"}}]},
            "awsRegion": ["us-east-1"],
            "requestParameters": {"policyName": [{"prefix": "Admin"}]},
        },
    }


def _events() -> list[dict[str, Any]]:
    """The corpus, and for each default rule an event of each of its eventNames (so every rule matches something)."""
    found = [dict(envelope(json.loads(p.read_text()))) for p in corpus_files()]
    for r in load(PACK).rules:
        source = r.match.get("eventSource", "ec2.amazonaws.com")
        for name in r.match.get("eventName", ["Anything"]):
            if isinstance(name, str):
                detail = {"eventSource": source, "eventName": name, "userIdentity": {"type": "IAMUser"}}
                found.append({"detail-type": "AWS API Call via CloudTrail", "detail": detail})
                found.append({"detail-type": "AWS API Call via CloudTrail", "detail": {**detail, "errorCode": "X"}})
    return found


def test_merged_eventbridge_rules_match_exactly_what_their_rules_match() -> None:
    """Merging and packing change how many EventBridge rules there are, never what they match."""
    compiled = compile_rules(load(PACK))
    for event in _events():
        for group in compiled.groups:
            members = any(matches(compiled.patterns[i], event) for i in group.rule_ids)
            assert matches(group.pattern, event) is members, (group.rule_ids, event["detail"].get("eventName"))


def test_many_rules_are_packed_into_rules_within_the_size_limit() -> None:
    many = [
        rule(id=f"r{n}", match={"eventSource": f"svc{n}.amazonaws.com", "eventName": [f"Delete{n}" * 8]})
        for n in range(60)
    ]
    compiled = compile_rules(parse({"rules": many}))
    assert len(compiled.groups) > 1
    assert all(size(g.pattern) <= PATTERN_LIMIT for g in compiled.groups)
    assert sorted(i for g in compiled.groups for i in g.rule_ids) == sorted(f"r{n}" for n in range(60))


def test_a_disabled_rule_is_checked_but_not_compiled() -> None:
    compiled = compile_rules(parse({"rules": [rule(enabled=False), rule(id="on")]}))
    assert [r.id for r in compiled.rules] == ["on"]
    assert problems(rule(enabled=False, severity="NOPE"))  # still checked


# What the default pack says of each published record (alerts only where the decision table does not act first).
CORPUS_MATCHES = {
    "aws-docs/eventbridge.s3.CreateBucket.Root.json": ["cis-root-account-used"],
    "aws-docs/eventbridge.signin.ConsoleLogin.Root.json": ["cis-root-account-used"],
    "aws-docs/kms.DisableKey.json": ["cis-kms-key-disabled-or-deleted"],
    "aws-docs/kms.ScheduleKeyDeletion.custom-key-store.json": ["cis-kms-key-disabled-or-deleted"],
    "aws-docs/kms.ScheduleKeyDeletion.multi-region-with-replicas.json": ["cis-kms-key-disabled-or-deleted"],
    "aws-docs/kms.ScheduleKeyDeletion.single-region.json": ["cis-kms-key-disabled-or-deleted"],
    "aws-docs/s3.DeleteBucketPolicy.json": ["cis-s3-bucket-policy-changed"],
    "elastic-integrations/kms.DisableKey.json": ["cis-kms-key-disabled-or-deleted"],
    "elastic-integrations/kms.ScheduleKeyDeletion.json": ["cis-kms-key-disabled-or-deleted"],
    "invictus-aws-dataset/s3.DeleteBucketLifecycle.json": ["cis-s3-bucket-policy-changed"],
    "invictus-aws-dataset/s3.DeleteBucketPolicy.json": ["cis-s3-bucket-policy-changed"],
    "invictus-aws-dataset/s3.PutBucketLifecycle.expire-1-day.json": ["cis-s3-bucket-policy-changed"],
    "invictus-aws-dataset/s3.PutBucketPolicy.cloudtrail-bucket-policy.1.json": ["cis-s3-bucket-policy-changed"],
    "invictus-aws-dataset/s3.PutBucketPolicy.cloudtrail-bucket-policy.2.json": ["cis-s3-bucket-policy-changed"],
    "invictus-aws-dataset/s3.PutBucketPolicy.external-account-access.json": ["cis-s3-bucket-policy-changed"],
}


@pytest.mark.parametrize("path", corpus_files(), ids=corpus_id)
def test_the_default_pack_on_each_corpus_record(path: Path) -> None:
    compiled = compile_rules(load(PACK))
    event = envelope(json.loads(path.read_text()))
    found = [r.id for r in compiled.rules if matches(compiled.patterns[r.id], event)]
    assert found == CORPUS_MATCHES.get(corpus_id(path), [])


def test_the_corpus_table_names_only_records_that_exist() -> None:
    require_corpus()
    assert set(CORPUS_MATCHES) <= {corpus_id(p) for p in corpus_files()}
