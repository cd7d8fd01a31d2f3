"""The watch rules and the per-address severities in the template: EventBridge rules compiled from the rules file,
targeting the remediation function like the tamper rule; the compiled copy in its asset; the guardian keeping the
rules as its own; the opt-in undos' grants only where a rule names one; a rule the compiler cannot express stopping
the synth, named; and every email subscription filtered on the message body."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import boto3
import pytest

from guardian.entrypoints import handler, watching
from guardian.model.alert_path_config import alert_path
from guardian.model.config_values import own_rules
from tests.infra.conftest import synth_template
from tests.infra.test_iam_covers_calls import granted, recorded, uncovered
from tests.infra.test_template import logical_id
from tests.support import REPO_ROOT, load_event, named_by
from watch_rules.compile import compile_rules
from watch_rules.schema import load

__all__ = ["recorded"]
pytestmark = pytest.mark.synth
PACK = REPO_ROOT / "rules" / "watch.json"


def rules_of(template: Any) -> dict[str, dict[str, Any]]:
    return {r["Properties"]["Name"]: r["Properties"] for r in template.find_resources("AWS::Events::Rule").values()}


def env_of(template: Any, function: str) -> dict[str, Any]:
    [props] = [
        r["Properties"] for lid, r in template.find_resources("AWS::Lambda::Function").items() if function in lid
    ]
    return dict(props["Environment"]["Variables"])


def test_the_watch_rules_are_eventbridge_rules_sending_to_the_function(default_synth: Any) -> None:
    template, _ = default_synth
    compiled = compile_rules(load(PACK))
    rules = rules_of(template)
    function = logical_id(template, "AWS::Lambda::Function", containing="RemediationFunction")
    queue = logical_id(template, "AWS::SQS::Queue", containing="DeadLetters")
    for n, group in enumerate(compiled.groups, start=1):
        props = rules[f"CloudTrailGuardian-watch-{n}"]
        assert props["EventPattern"] == group.pattern
        assert props["State"] == "ENABLED"
        [target] = props["Targets"]
        assert target["Arn"] == {"Fn::GetAtt": [function, "Arn"]}
        assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185}
        assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [queue, "Arn"]}}
        assert len(json.dumps(props["EventPattern"])) <= 2048
    names = [f"CloudTrailGuardian-watch-{n}" for n in range(1, len(compiled.groups) + 1)]
    assert set(names) <= set(own_rules(env_of(template, "Sweep")))  # kept by the sweep
    guard = rules["CloudTrailGuardian-guard-events"]["EventPattern"]["detail"]
    by_name = guard["$or"][0]["requestParameters"]["name"]
    assert all(named_by(by_name, name) for name in names)  # and watched by self-protection


def test_the_function_asset_carries_the_compiled_rules(tmp_path: Path) -> None:
    from infra.runtime_asset import SWEEP_ONLY, stage_runtime  # noqa: PLC0415
    from infra.watch import watch_files  # noqa: PLC0415

    files = watch_files(compile_rules(load(PACK)))
    assert files is not None
    staged = stage_runtime(leave_out=SWEEP_ONLY, extra=files, staging=tmp_path)
    shipped = json.loads((staged / "guardian" / "watch_rules.json").read_text())
    assert shipped == compile_rules(load(PACK)).runtime_document()
    assert stage_runtime(leave_out=SWEEP_ONLY, staging=tmp_path) != staged  # the rules are part of its content key


def test_no_watch_rules_means_no_rules_and_nothing_in_the_asset() -> None:
    template, stack = synth_template({"watchRules": "none"})
    assert not [n for n in rules_of(template) if "-watch-" in n]
    assert stack.watch is None
    assert "events:DescribeRule" not in granted(template, "RemediationRole")  # no rule checks: no read


def test_the_eventbridge_checks_reads_are_granted_read_only_on_this_accounts_rules(
    default_synth: Any, recorded: set[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """eventbridge-security-rule-changed reads the rule a call named: DescribeRule and ListTargetsByRule, nothing
    more, on any rule of this account (any Region, any bus)."""
    template, _ = default_synth
    [statement] = [
        st
        for policy in template.find_resources("AWS::IAM::Policy").values()
        for st in policy["Properties"]["PolicyDocument"]["Statement"]
        if st.get("Sid") == "WatchRuleCheckReadEventBridgeRule"
    ]
    assert sorted(statement["Action"]) == ["events:DescribeRule", "events:ListTargetsByRule"]
    assert statement["Resource"] == {
        "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":events:*:", {"Ref": "AWS::AccountId"}, ":rule/*"]]
    }
    compiled = tmp_path / "compiled.json"
    compiled.write_text(json.dumps(compile_rules(load(PACK)).runtime_document()))
    monkeypatch.setattr(watching, "WATCH_RULES_FILE", compiled)
    events = boto3.client("events")
    events.put_rule(Name="findings", EventPattern=json.dumps({"source": ["aws.guardduty"]}), State="DISABLED")
    event = json.loads((REPO_ROOT / "tests" / "events" / "watch" / "events_disable_rule.json").read_text())
    event["detail"]["requestParameters"]["name"] = "findings"
    assert handler.lambda_handler(event, None)["severity"] == "HIGH"
    calls = {c for c in recorded if c.startswith("events:")}
    assert {"events:DescribeRule", "events:ListTargetsByRule"} <= calls
    assert uncovered(calls, granted(template, "RemediationRole")) == set()


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        (
            {"rules": [{"id": "x", "description": "d", "severity": "HIGH", "match": {"eventNmae": ["A"]}}]},
            "rule 'x': unknown match key 'eventNmae' (did you mean eventName?)",
        ),
        (
            {
                "rules": [
                    {
                        "id": "y",
                        "description": "d",
                        "severity": "HIGH",
                        "match": {"principal": {"include": ["a"], "exclude": ["b"]}},
                    }
                ]
            },
            "rule 'y': match.principal: include and exclude together cannot be expressed",
        ),
    ],
)
def test_a_rule_the_compiler_cannot_express_stops_the_synth_naming_rule_and_field(
    tmp_path: Path, rules: dict[str, Any], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(rules))
    with pytest.raises(SystemExit) as stopped:
        synth_template({"watchRules": str(path)})
    assert "invalid context: watchRules:" in str(stopped.value.code)
    assert message in str(stopped.value.code)


@pytest.fixture(scope="module")
def undone(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    """The template with both opt-in undos named, and the rules file it was made from (one synth)."""
    path = undo_pack(tmp_path_factory.mktemp("undo"))
    return synth_template({"watchRules": str(path)})[0], path


def undo_pack(tmp_path: Path) -> Path:
    pack = json.loads(PACK.read_text())
    for r in pack["rules"]:
        if r["id"] == "config-recorder-stopped":
            r["match"]["eventName"] = ["StopConfigurationRecorder"]  # a deleted recorder cannot be started
            r["heal"] = "StartConfigurationRecorder"
        if r["id"] == "guardduty-detector-disabled":
            r["heal"] = "EnableGuardDutyDetector"
    path = tmp_path / "undo.json"
    path.write_text(json.dumps(pack))
    return path


def test_the_opt_in_undos_are_granted_only_where_a_rule_names_them(
    default_synth: Any, undone: tuple[Any, Path]
) -> None:
    template, _ = default_synth
    undo = ("config:StartConfigurationRecorder", "guardduty:UpdateDetector")
    assert not set(undo) & set(granted(template, "RemediationRole"))
    opted, _ = undone
    assert set(undo) <= set(granted(opted, "RemediationRole"))
    assert not set(undo) & set(granted(opted, "SweepRole"))


def test_the_undos_calls_are_all_granted(
    recorded: set[str], undone: tuple[Any, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    template, rules = undone
    compiled = tmp_path / "compiled.json"
    compiled.write_text(json.dumps(compile_rules(load(rules)).runtime_document()))
    monkeypatch.setattr(watching, "WATCH_RULES_FILE", compiled)
    config = boto3.client("config")
    config.put_configuration_recorder(ConfigurationRecorder={"name": "default", "roleARN": "arn:aws:iam::1:role/c"})
    config.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": "b"})
    guardduty = boto3.client("guardduty")
    detector = guardduty.create_detector(Enable=False)["DetectorId"]
    for n, (name, source, parameters) in enumerate(
        [
            ("StopConfigurationRecorder", "config.amazonaws.com", {"configurationRecorderName": "default"}),
            ("UpdateDetector", "guardduty.amazonaws.com", {"detectorId": detector, "enable": False}),
        ]
    ):
        event = load_event("stop_logging")
        event["detail"].update(eventName=name, eventSource=source, eventID=f"undo-{n}", requestParameters=parameters)
        assert handler.lambda_handler(event, None)["outcome"] == "healed"
    calls = {c for c in recorded if c.startswith(("config:", "guardduty:"))}
    assert calls == {
        "config:DescribeConfigurationRecorderStatus",
        "config:StartConfigurationRecorder",
        "guardduty:GetDetector",
        "guardduty:UpdateDetector",
    }
    assert uncovered(calls, granted(template, "RemediationRole")) == set()


def test_each_address_is_filtered_on_the_message_body_from_its_minimum_severity(
    channels_synth: tuple[Any, Any],
) -> None:
    template, stack = channels_synth  # alertEmails soc@example.com:HIGH,all@example.com:INFO,sec@example.com
    found = template.find_resources("AWS::SNS::Subscription").values()
    subscriptions = {
        s["Properties"]["Endpoint"]: s["Properties"] for s in found if s["Properties"]["Protocol"] != "lambda"
    }
    assert subscriptions["soc@example.com"]["FilterPolicy"] == {"severity": ["HIGH", "CRITICAL", {"exists": False}]}
    assert subscriptions["soc@example.com"]["FilterPolicyScope"] == "MessageBody"
    assert subscriptions["sec@example.com"]["FilterPolicy"] == {
        "severity": ["MEDIUM", "HIGH", "CRITICAL", {"exists": False}]
    }
    assert "FilterPolicy" not in subscriptions["all@example.com"]
    assert all(s["Protocol"] == "email-json" for s in subscriptions.values())
    rendered = env_of(template, "Sweep")["GUARDIAN_ALERT_PATH"]["Fn::Join"][1]
    text = "".join(p if isinstance(p, str) else "token" for p in rendered)
    assert json.loads(text)["emails"] == ["soc@example.com:HIGH", "all@example.com", "sec@example.com:MEDIUM"]
    path = alert_path(text)  # as the sweep reads it: each address's filter derived from its minimum
    assert path.emails == ("soc@example.com", "all@example.com", "sec@example.com")
    for address in ("soc@example.com", "sec@example.com"):
        assert json.loads(path.filters[address] or "null") == subscriptions[address]["FilterPolicy"]
    assert path.filters.get("all@example.com") is None  # INFO: no filter, as subscribed
    assert stack.alerts is not None


def test_the_remediation_zip_holds_the_rules_it_reads(tmp_path: Path) -> None:
    """What the function reads at runtime is where it looks: guardian/watch_rules.json beside its package."""
    from infra.runtime_asset import SWEEP_ONLY, stage_runtime  # noqa: PLC0415
    from infra.watch import watch_files  # noqa: PLC0415

    staged = stage_runtime(leave_out=SWEEP_ONLY, extra=watch_files(compile_rules(load(PACK))), staging=tmp_path)
    archive = tmp_path / "asset.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for p in staged.rglob("*"):
            zf.write(p, p.relative_to(staged))
    assert "guardian/watch_rules.json" in zipfile.ZipFile(archive).namelist()
    assert watching.WATCH_RULES_FILE.relative_to(REPO_ROOT) == Path("guardian/watch_rules.json")
