"""The demo's story, as a person reads it: for each act the attack, what the guardian did, the alert's subject and
summary, and the evidence key with its lock. Pure: it only formats what the scenario found (the details go to the
demo's log file)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from simulation.deploy import Deployment
from simulation.scenario import ATTACKER, TRAIL, TRAIL_BUCKET, LifecycleAct, Locked, LostEvent, Outcome, SwitchOffAct


def _alert_lines(notification: dict[str, Any]) -> list[str]:
    message = json.loads(notification["Message"])
    return [f"  alert     {notification['Subject']}", f"            {message['summary']}"]


def _lock_lines(locked: tuple[Locked, ...], bucket: str) -> list[str]:
    if not locked:
        return ["  evidence  none (this alert went straight from EventBridge to the topic)"]
    item = locked[0]
    return [
        f"  evidence  s3://{bucket}/{item.key}",
        f"            Object Lock {item.mode} until {_day(item.retain_until)}",
    ]


def _day(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d") if moment else "(no retention)"


def _actions(message: dict[str, Any]) -> str:
    taken = message["action"]["taken"] or []
    return " then ".join(taken) or "no call"


def deployment_lines(deployment: Deployment, endpoint: str) -> list[str]:
    return [
        f"CloudTrail Guardian, against a local AWS simulation (moto_server at {endpoint}, loopback only)",
        "",
        "Deployment: the app synthesized with the CDK CLI (cdk-nag passed), the template created in moto's "
        "CloudFormation:",
        f"  {len(deployment.resources)} resources created; {len(deployment.not_modelled)} resource types moto does "
        "not model (the template tests assert them)",
        *(f"  {applied}" for applied in deployment.applied_by_api),
    ]


def act_one(outcome: Outcome) -> list[str]:
    [notification] = outcome.notifications or [{"Subject": "(no alert)", "Message": '{"summary": ""}'}]
    message = json.loads(notification["Message"])
    verification = message.get("verification") or {}
    return [
        f"Act 1: {ATTACKER} stops trail {TRAIL} (StopLogging); EventBridge delivers the event",
        f"  attack    trail logging: {outcome.status_after_attack.get('IsLogging')}; the deployed rule matches the "
        f"event: {'yes' if outcome.pattern_matches else 'NO'}",
        f"  guardian  {_actions(message)} in the trail's home Region, verified logging after "
        f"{verification.get('checks')} check(s); blind for {message.get('blind_window_seconds')} s",
        *_alert_lines(notification),
        *_lock_lines(outcome.locked, outcome.evidence_bucket),
        *_while_off_lines(outcome.blind_window, outcome.evidence_bucket),
        *_finding_lines(outcome.findings),
    ]


def _finding_lines(findings: Sequence[dict[str, Any]]) -> list[str]:
    """The alert as a Security Hub finding, its Workflow in order (an informational copy: the alert went by SNS)."""
    return [
        f"  finding   Security Hub {f['generator']} on {f['resource']}: {' -> '.join(f['workflows'])} "
        f"(compliance {f['compliance']}, count {f['count']})"
        for f in findings
    ] or ["  finding   none in Security Hub"]


def _while_off_lines(window: dict[str, Any] | None, bucket: str) -> list[str]:
    """What the attacker did while the trail was off, read back from Event history after the alert."""
    if not window:
        return ["  while off  not recovered (see the demo's log)"]
    calls = ", ".join(f"{c['event_name']} {c['count']}" for c in window["counts"][:5])
    return [
        f"  while off  {window['summary']} ({calls}), read back from Event history after the alert",
        f"            s3://{bucket}/blind-windows/{window['evidence_key'].removeprefix('evidence/')} (signed)",
    ]


def act_two(act: LostEvent, bucket: str) -> list[str]:
    [notification] = act.notifications or [{"Subject": "(no alert)", "Message": '{"summary": ""}'}]
    message = json.loads(notification["Message"])
    same = act.trail_after == act.trail_before
    return [
        f"Act 2: {ATTACKER} deletes trail {TRAIL}, and no event reaches the guardian",
        f"  attack    the trail exists: {act.exists_after_attack}",
        f"  guardian  the scheduled sweep found it gone: {_actions(message)}; the trail is back "
        f"{'exactly as it was' if same else 'DIFFERENT'}, logging: {act.status_after.get('IsLogging')}",
        *_alert_lines(notification),
        *_lock_lines(act.locked, bucket),
    ]


def act_three(act: LifecycleAct, bucket: str) -> list[str]:
    [notification] = act.notifications or [{"Subject": "(no alert)", "Message": '{"summary": ""}'}]
    message = json.loads(notification["Message"])
    expiring = [r.get("Expiration", {}).get("Days") for r in act.rules_after_attack or []]
    return [
        f"Act 3 (Stratus Red Team cloudtrail-lifecycle-rule): {ATTACKER} makes the logs in {TRAIL_BUCKET} expire",
        f"  attack    lifecycle rule: objects expire after {expiring[0] if expiring else '?'} day(s); the deployed "
        f"rule matches PutBucketLifecycle: {'yes' if act.pattern_matches else 'NO'}",
        f"  guardian  {_actions(message)}: the bucket's lifecycle is back to its baseline "
        f"({'none: logs are kept' if act.rules_after is None else act.rules_after})",
        *_alert_lines(notification),
        *_lock_lines(act.locked, bucket),
    ]


def act_four(act: SwitchOffAct, bucket: str) -> list[str]:
    subject = act.self_protection_alert.get("subject", "(no alert)")
    lines = [
        f"Act 4: {ATTACKER} disables the guardian's own tamper rule (DisableRule)",
        f"  attack    the rule is {act.state_after_attack}: tamper events no longer reach the guardian",
        f"  at once   straight from EventBridge to the topic, {act.function_invocations} function invocations:",
        f"            {subject}",
        f"  guardian  the next sweep enabled it again: the rule is {act.state_after_sweep}",
    ]
    for notification in act.sweep_alerts:
        lines += _alert_lines(notification)
    return lines + _lock_lines(act.locked, bucket)


def resolved(findings: Sequence[dict[str, Any]]) -> bool:
    """Act 1's alert is a Security Hub finding on the trail that went NEW -> RESOLVED when the heal was verified
    (issue 24's "Done when"): a demo whose finding does not resolve fails."""
    return any(
        f["workflows"][:1] == ["NEW"]
        and f["workflows"][-1:] == ["RESOLVED"]
        and str(f["resource"]).endswith(f":trail/{TRAIL}")
        for f in findings
    )


def results(outcome: Outcome) -> list[tuple[str, bool]]:
    """Each act's verdict: the demo exits non-zero unless every one holds."""
    two, three, four = outcome.lost_event, outcome.lifecycle, outcome.switched_off
    healed = bool(outcome.status_after.get("IsLogging")) and outcome.pattern_matches and len(outcome.notifications) == 1
    finding = resolved(outcome.findings)
    recreated = two is not None and two.trail_after == two.trail_before and bool(two.status_after.get("IsLogging"))
    kept = three is not None and three.pattern_matches and three.rules_after is None and len(three.notifications) == 1
    guarded = (
        four is not None
        and four.function_invocations == 0
        and four.self_protection_alert.get("severity") == "CRITICAL"
        and four.state_after_sweep == "ENABLED"
    )
    return [
        ("trail healed, verified, alerted once, evidence kept" if healed else "FAILED (act 1)", healed),
        (
            "act 1's Security Hub finding went NEW -> RESOLVED"
            if finding
            else "FAILED (act 1: its Security Hub finding did not go NEW -> RESOLVED)",
            finding,
        ),
        ("deleted trail recreated by the sweep, as it was" if recreated else "FAILED (act 2)", recreated),
        ("the logs' expiry rule removed, the bucket back to its baseline" if kept else "FAILED (act 3)", kept),
        (
            "switching the guardian off alerted at once; the sweep switched it back on"
            if guarded
            else "FAILED (act 4)",
            guarded,
        ),
    ]


def lines(
    deployment: Deployment,
    outcome: Outcome,
    endpoint: str,
    more: Sequence[tuple[list[str], tuple[str, bool]]] = (),
) -> list[str]:
    """The whole story: the deployment, the four acts of the trail (and ``more``: each further act's lines and
    verdict), then each verdict."""
    two, three, four = outcome.lost_event, outcome.lifecycle, outcome.switched_off
    assert two is not None
    assert three is not None
    assert four is not None
    bucket = outcome.evidence_bucket
    told = deployment_lines(deployment, endpoint)
    for block in (act_one(outcome), act_two(two, bucket), act_three(three, bucket), act_four(four, bucket)):
        told += ["", *block]
    for block, _ in more:
        told += ["", *block]
    verdicts = [*results(outcome), *(verdict for _, verdict in more)]
    return [*told, "", *(f"RESULT: {text}" for text, _ in verdicts)]
