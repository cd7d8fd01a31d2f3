"""``make demo``: deploy the synthesized stack into moto_server; stop a trail, delete it with no event, expire its
logs, and switch the guardian's own rule off, as an attacker; watch each put back."""

from __future__ import annotations

import json
import logging
import sys
import tempfile
import warnings
from datetime import datetime
from pathlib import Path
from typing import Any

from simulation import deploy, scenario
from simulation.moto_server import local_aws


def show(title: str, value: Any) -> None:
    print(f"\n== {title} ==")
    print(value if isinstance(value, str) else json.dumps(value, indent=2, default=_iso, ensure_ascii=False))


def _iso(value: object) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def quiet_moto() -> None:
    """moto warns once per template resource type its CloudFormation skips; the demo lists those itself."""
    warnings.filterwarnings("ignore", message="Tried to parse", category=UserWarning)
    logging.getLogger("moto").setLevel(logging.ERROR)


def main() -> int:
    quiet_moto()
    with tempfile.TemporaryDirectory(prefix="guardian-synth-") as tmp:
        print("Synthesizing the app with the CDK CLI (cdk-nag AwsSolutions runs on this synth)...")
        template = deploy.synth(Path(tmp))
        with local_aws() as aws:
            print(f"moto_server listening on {aws.endpoint} (loopback only)")
            deployment = deploy.deploy(aws, template)
            show(
                "Stack created in moto CloudFormation",
                "\n".join(f"  {status:16} {type_:28} {lid}" for type_, lid, status in deployment.resources),
            )
            if deployment.not_modelled:
                show(
                    "Template resource types moto's CloudFormation does not model (skipped, asserted by the template "
                    "tests instead)",
                    "\n".join(f"  {t}" for t in deployment.not_modelled),
                )
            if deployment.applied_by_api:
                show(
                    "Applied through the API because moto dropped it",
                    "\n".join(f"  {a}" for a in deployment.applied_by_api),
                )
            show("Function environment from the template", deployment.function_environment)
            show("Sweep environment from the template", deployment.sweep_environment)
            outcome = scenario.run(aws, deployment)
    show("The sweep after deployment (records each protected trail's baseline)", outcome.first_sweep)
    show("Trail status before the attack", outcome.status_before)
    show(f"Trail status after {scenario.ATTACKER} called StopLogging", outcome.status_after_attack)
    show("EventBridge event (what the default bus delivers)", outcome.event)
    show("Does the deployed rule's pattern match it?", str(outcome.pattern_matches))
    show("Handler result", outcome.handler_result)
    show("Trail status after the guardian", outcome.status_after)
    for notification in outcome.notifications:
        show("Alert exactly as the email-json subscriber receives it", notification)
        show("The alert's Message, decoded", json.loads(notification["Message"]))
    show(f"Evidence record s3://{outcome.evidence_bucket}/{outcome.evidence_key}", outcome.evidence)
    show("Evidence object lock", outcome.evidence_lock)
    window = outcome.evidence.get("blind_window_seconds")
    show(
        "Blind window",
        f"{window} s from the StopLogging eventTime to CloudTrail's StartLoggingTime after the heal.\n"
        "Both times have one-second precision here (CloudTrail's eventTime always has), and the "
        "simulation has no CloudTrail-to-EventBridge delivery delay; in AWS, add that delay.",
    )
    act_two, act_three, act_four = outcome.lost_event, outcome.lifecycle, outcome.switched_off
    assert act_two is not None
    assert act_three is not None
    assert act_four is not None
    show_lost_event(act_two)
    show_lifecycle_rule(act_three)
    show_switch_off(act_four)
    healed = bool(outcome.status_after.get("IsLogging")) and outcome.pattern_matches and len(outcome.notifications) == 1
    recreated = act_two.trail_after == act_two.trail_before and bool(act_two.status_after.get("IsLogging"))
    print("\nRESULT:", "trail healed, verified, alerted once, evidence kept" if healed else "FAILED")
    print("RESULT:", "deleted trail recreated by the sweep, as it was" if recreated else "FAILED (act 2)")
    kept = act_three.pattern_matches and act_three.rules_after is None and len(act_three.notifications) == 1
    print("RESULT:", "the logs' expiry rule removed, the bucket back to its baseline" if kept else "FAILED (act 3)")
    guarded = (
        act_four.function_invocations == 0
        and act_four.self_protection_alert.get("severity") == "CRITICAL"
        and act_four.state_after_sweep == "ENABLED"
    )
    print(
        "RESULT:",
        "switching the guardian off alerted at once; the sweep switched it back on" if guarded else "FAILED (act 4)",
    )
    return 0 if healed and recreated and kept and guarded else 1


def show_lost_event(act: scenario.LostEvent) -> None:
    show("Act 2: the attacker deletes the trail, and no event reaches the guardian", act.trail_before)
    show("Does the trail exist after the attack?", str(act.exists_after_attack))
    show("The scheduled sweep", act.sweep_summary)
    show("The trail after the sweep (recreated under its name, as it was)", act.trail_after)
    show("Its status", act.status_after)
    for notification in act.notifications:
        show("Alert", f"{notification['Subject']}\n{json.dumps(json.loads(notification['Message'])['changes'])}")


def show_lifecycle_rule(act: scenario.LifecycleAct) -> None:
    show(
        "Act 3 (Stratus cloudtrail-lifecycle-rule): the trail bucket's lifecycle after the attack",
        act.rules_after_attack,
    )
    show("Does the deployed rule's pattern match the PutBucketLifecycle event?", str(act.pattern_matches))
    show("Handler result", act.handler_result)
    show("The bucket's lifecycle after the guardian (its baseline had none: logs are kept)", act.rules_after)
    for notification in act.notifications:
        show("Alert", f"{notification['Subject']}\n{json.dumps(json.loads(notification['Message'])['changes'])}")


def show_switch_off(act: scenario.SwitchOffAct) -> None:
    show("Act 4: the attacker disables the guardian's own tamper rule; its state", act.state_after_attack)
    show(
        f"Self-protection alert, straight from EventBridge to the topic ({act.function_invocations} function "
        "invocations)",
        act.self_protection_alert,
    )
    show("The next sweep", act.sweep_summary)
    show("The tamper rule after the sweep", act.state_after_sweep)
    for notification in act.sweep_alerts:
        show("Alert", notification["Subject"])


if __name__ == "__main__":
    sys.exit(main())
