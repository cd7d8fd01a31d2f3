"""Watch rules in the remediation function, against moto: a watched call is alerted through the same topic,
schema and evidence as the decision table's (``detected_by: watch_rule``, the rule's id in the alert and in the
``rule`` attribute); the table's rows keep precedence; only the compiled copy in the function's asset counts."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from guardian.entrypoints import watching
from tests.integration.world import World, message_of
from tests.support import GUARDIAN_ROLE_ARN, REPO_ROOT, load_event
from watch_rules.compile import compile_rules
from watch_rules.schema import load, parse


@pytest.fixture
def rules_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The default pack compiled as the synth compiles it into the asset, plus a rule on StopLogging (which the
    decision table acts on first)."""
    pack = json.loads((REPO_ROOT / "rules" / "watch.json").read_text())
    pack["rules"].append(
        {
            "id": "any-stop-logging",
            "description": "Logging stopped",
            "severity": "LOW",
            "match": {"eventSource": "cloudtrail.amazonaws.com", "eventName": ["StopLogging"]},
        }
    )
    path = tmp_path / "watch_rules.json"
    path.write_text(json.dumps(compile_rules(parse(pack)).runtime_document()))
    monkeypatch.setattr(watching, "WATCH_RULES_FILE", path)
    return path


def event_of(name: str, source: str, *, event_id: str, **detail: Any) -> dict[str, Any]:
    event = copy.deepcopy(load_event("stop_logging"))
    event["source"] = "aws." + source.split(".", maxsplit=1)[0]
    event["detail"].update(
        {"eventName": name, "eventSource": source, "eventID": event_id, "requestParameters": {}, **detail}
    )
    return event


def deleted_detector(event_id: str = "0a000009-1111-4111-8111-000000000009", **detail: Any) -> dict[str, Any]:
    return event_of("DeleteDetector", "guardduty.amazonaws.com", event_id=event_id, **detail)


def test_a_watched_call_is_alerted_with_its_rule_and_kept_as_evidence(world: World, rules_file: Path) -> None:
    result = world.invoke(deleted_detector(requestParameters={"detectorId": "12abc34d567e8fa901bc2d34e56789f0"}))
    assert (result["outcome"], result["severity"], result["alert_published"]) == ("alerted", "CRITICAL", True)
    [notification] = world.alerts()
    assert notification["Subject"] == "[CRITICAL] 123456789012 GuardDuty detector deleted by mallory"
    assert notification["MessageAttributes"]["rule"] == {"Type": "String", "Value": "guardduty-detector-deleted"}
    alert = message_of(notification)
    assert alert["detected_by"] == "watch_rule"
    assert alert["watch_rule"] == {"id": "guardduty-detector-deleted", "description": "GuardDuty detector deleted"}
    assert alert["summary"].startswith(
        "GuardDuty detector deleted: guardduty.amazonaws.com:DeleteDetector in us-east-1 by mallory from "
    )
    assert alert["trail"] is None
    record = world.evidence(alert["evidence"]["key"])
    assert (record["detected_by"], record["watch_rule"]["id"]) == ("watch_rule", "guardduty-detector-deleted")
    assert record["original_event"]["detail"]["eventName"] == "DeleteDetector"


def test_a_failed_watched_call_matches_only_rules_that_want_failures(world: World, rules_file: Path) -> None:
    result = world.invoke(deleted_detector(errorCode="AccessDenied", errorMessage="not allowed"))
    assert result["outcome"] == "ignored"  # every default rule says errorCode absent
    assert world.alerts() == []


def test_the_decision_table_keeps_precedence(world: World, rules_file: Path) -> None:
    """A watch rule matching StopLogging changes nothing: the table heals it and its alert is the table's."""
    result = world.invoke(load_event("stop_logging"))
    assert result["outcome"] == "healed"
    [notification] = world.alerts()
    assert "rule" not in notification["MessageAttributes"]
    assert message_of(notification)["detected_by"] == "event"


def test_a_key_the_table_finds_not_a_trails_is_left_to_the_watch_rules(world: World, rules_file: Path) -> None:
    key_id = boto3.client("kms").create_key()["KeyMetadata"]["KeyId"]
    event = event_of(
        "DisableKey",
        "kms.amazonaws.com",
        event_id="0a00000a-1111-4111-8111-00000000000a",
        requestParameters={"keyId": key_id},
    )
    result = world.invoke(event)
    assert (result["outcome"], result["severity"]) == ("alerted", "MEDIUM")
    [notification] = world.alerts()
    assert notification["MessageAttributes"]["rule"]["Value"] == "cis-kms-key-disabled-or-deleted"
    assert boto3.client("kms").describe_key(KeyId=key_id)["KeyMetadata"]["Enabled"]  # watch rules never act


def test_a_console_sign_in_without_mfa_is_alerted(world: World, rules_file: Path) -> None:
    event = event_of(
        "ConsoleLogin",
        "signin.amazonaws.com",
        event_id="0a00000b-1111-4111-8111-00000000000b",
        eventType="AwsConsoleSignIn",
        additionalEventData={"MFAUsed": "No", "LoginTo": "https://console.aws.amazon.com/"},
        responseElements={"ConsoleLogin": "Success"},
    )
    event["detail-type"] = "AWS Console Sign In via CloudTrail"
    result = world.invoke(event)
    assert (result["outcome"], result["severity"]) == ("alerted", "MEDIUM")
    [notification] = world.alerts()
    assert notification["MessageAttributes"]["rule"]["Value"] == "cis-console-sign-in-without-mfa"


def test_the_guardians_own_call_is_noted_not_alarmed(world: World, rules_file: Path) -> None:
    own = {
        "type": "AssumedRole",
        "arn": GUARDIAN_ROLE_ARN,
        "sessionContext": {"sessionIssuer": {"arn": GUARDIAN_ROLE_ARN}},
    }
    result = world.invoke(deleted_detector(userIdentity=own))
    assert (result["outcome"], result["severity"]) == ("own_action", "INFO")


def test_without_watch_rules_in_the_asset_nothing_more_is_alerted(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(watching, "WATCH_RULES_FILE", tmp_path / "absent.json")
    assert world.invoke(deleted_detector())["outcome"] == "ignored"
    assert world.alerts() == []


def test_an_unreadable_compiled_copy_is_alerted_not_ignored(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "watch_rules.json"
    broken.write_text('{"schema": "something else"}')
    monkeypatch.setattr(watching, "WATCH_RULES_FILE", broken)
    world.invoke(deleted_detector())
    [notification] = world.alerts()
    assert notification["Subject"].startswith("[CRITICAL] 123456789012 Guardian failed on DeleteDetector event")
    assert "compiled watch rules: not cloudtrail-guardian/watch-rules-compiled" in message_of(notification)["reason"]


def test_the_default_pack_compiles_to_what_the_function_reads() -> None:
    from guardian.model.watch import parse_compiled  # noqa: PLC0415

    compiled = compile_rules(load(REPO_ROOT / "rules" / "watch.json"))
    rules = parse_compiled(json.dumps(compiled.runtime_document()))
    assert [r.id for r in rules] == [r.id for r in compiled.rules]
    assert all(r.pattern == compiled.patterns[r.id] for r in rules)


@pytest.fixture
def undo_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The default pack with both opt-in undos turned on, as a user would."""
    pack = json.loads((REPO_ROOT / "rules" / "watch.json").read_text())
    for r in pack["rules"]:
        if r["id"] == "config-recorder-stopped":
            r["match"]["eventName"] = ["StopConfigurationRecorder"]
            r["heal"] = "StartConfigurationRecorder"
        if r["id"] == "guardduty-detector-disabled":
            r["heal"] = "EnableGuardDutyDetector"
    path = tmp_path / "undo_rules.json"
    path.write_text(json.dumps(compile_rules(parse(pack)).runtime_document()))
    monkeypatch.setattr(watching, "WATCH_RULES_FILE", path)
    return path


def stopped_recorder() -> str:
    config = boto3.client("config")
    role = "arn:aws:iam::123456789012:role/config-role"
    config.put_configuration_recorder(ConfigurationRecorder={"name": "default", "roleARN": role})
    config.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": "config-bucket"})
    config.start_configuration_recorder(ConfigurationRecorderName="default")
    config.stop_configuration_recorder(ConfigurationRecorderName="default")
    return "default"


def recording(name: str) -> bool:
    [status] = boto3.client("config").describe_configuration_recorder_status(ConfigurationRecorderNames=[name])[
        "ConfigurationRecordersStatus"
    ]
    return bool(status["recording"])


def stop_recorder_event(name: str, **detail: Any) -> dict[str, Any]:
    event_id = "0a00000c-1111-4111-8111-00000000000c"
    parameters = {"configurationRecorderName": name}
    return event_of(
        "StopConfigurationRecorder", "config.amazonaws.com", event_id=event_id, requestParameters=parameters, **detail
    )


def test_an_opt_in_undo_starts_a_stopped_config_recorder_and_verifies_it(world: World, undo_rules: Path) -> None:
    name = stopped_recorder()
    assert not recording(name)
    result = world.invoke(stop_recorder_event(name))
    assert (result["outcome"], result["severity"]) == ("healed", "HIGH")
    assert recording(name)
    [notification] = world.alerts()
    assert notification["Subject"] == "[HIGH] 123456789012 AWS Config recorder stopped or deleted by mallory — restored"
    alert = message_of(notification)
    assert alert["action"] == {
        "taken": ["StartConfigurationRecorder"],
        "result": "succeeded",
        "error": None,
        "diagnosis": None,
        "planned": None,  # observe mode's calls not made (docs/alerts.md)
    }
    assert alert["changes"] == [{"field": "recording", "before": True, "after": False, "effect": "weakened"}]
    record = world.evidence(alert["evidence"]["key"])
    assert record["actions"][0]["target"] == name


def test_an_opt_in_undo_enables_a_disabled_guardduty_detector(world: World, undo_rules: Path) -> None:
    guardduty = boto3.client("guardduty")
    detector = guardduty.create_detector(Enable=True)["DetectorId"]
    guardduty.update_detector(DetectorId=detector, Enable=False)
    event_id = "0a00000d-1111-4111-8111-00000000000d"
    parameters = {"detectorId": detector, "enable": False}
    event = event_of("UpdateDetector", "guardduty.amazonaws.com", event_id=event_id, requestParameters=parameters)
    assert world.invoke(event)["outcome"] == "healed"
    assert guardduty.get_detector(DetectorId=detector)["Status"] == "ENABLED"


def test_an_undo_is_never_made_for_a_failed_call_an_exempt_principal_or_without_opting_in(
    world: World, undo_rules: Path, rules_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = stopped_recorder()
    monkeypatch.setattr(watching, "WATCH_RULES_FILE", undo_rules)
    failed = world.invoke(stop_recorder_event(name, errorCode="AccessDenied"))
    assert failed["outcome"] == "ignored"  # the pack's rule wants successful calls only
    ci = "arn:aws:iam::123456789012:role/ci-deployer"  # the world's exempt principals: glob ...:role/ci-*
    exempt = {
        "type": "AssumedRole",
        "arn": "arn:aws:sts::123456789012:assumed-role/ci-deployer/run-1",
        "sessionContext": {"sessionIssuer": {"arn": ci}},
    }
    assert world.invoke(stop_recorder_event(name, userIdentity=exempt))["outcome"] == "exempt"
    assert not recording(name)
    monkeypatch.setattr(watching, "WATCH_RULES_FILE", rules_file)  # the default pack: no undo named
    assert world.invoke(stop_recorder_event(name))["outcome"] == "alerted"
    assert not recording(name)


def test_an_alert_only_watch_rule_does_not_count_as_repeated_tampering(world: World, rules_file: Path) -> None:
    for n in range(4):
        world.invoke(deleted_detector(event_id=f"0a00001{n}-1111-4111-8111-00000000001{n}"))
    subjects = [a["Subject"] for a in world.alerts()]
    assert len(subjects) == 4
    assert not any("Repeated tampering" in s for s in subjects)
