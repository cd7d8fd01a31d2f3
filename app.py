#!/usr/bin/env python3
"""CDK app: one guardian per account (context `environments`, or where the CLI's credentials point), a forwarder in
each of its other Regions, the optional central alerts stack; cdk-nag (AwsSolutions) runs on every synth."""

from __future__ import annotations

import os
import sys

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from infra.central_alerts import CentralAlertsStack, admissions, central_alerts
from infra.context_keys import check_keys
from infra.errors import SettingsError
from infra.forwarder import ForwarderStack
from infra.regions import unseen_iam_events
from infra.settings import APP_OPTIONS, OPTIONS, GuardianSettings, environments
from infra.stack import GuardianStack


def build_app(context: dict[str, object] | None = None) -> cdk.App:
    app = cdk.App(context=context)
    get = app.node.try_get_context
    try:
        check_keys(app.node.get_all_context(), (*OPTIONS, *APP_OPTIONS))
        guardians = environments(get) or (GuardianSettings.from_context(get),)
        central = central_alerts(get)
        admitted = admissions(central, guardians, str(get("stackName") or "CloudTrailGuardian")) if central else ()
    except SettingsError as exc:
        sys.exit(f"cloudtrail-guardian: invalid context: {exc}")
    several = len(guardians) > 1 or bool(guardians[0].account)
    for settings in guardians:
        add_guardian(app, settings, several=several)
    if central is not None:
        watched = {g.account: g.sweep_minutes for g in guardians if g.account and g.security_account}
        CentralAlertsStack(
            app, "CloudTrailGuardian-CentralAlerts", settings=central, guardians=watched, admitted=admitted
        )
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app


def add_guardian(app: cdk.App, settings: GuardianSettings, *, several: bool) -> GuardianStack:
    """The guardian in its home Region, and a forwarder in every other Region of `regions`."""
    if not settings.alert_emails:
        print(
            f"cloudtrail-guardian: no alertEmails for {settings.account or 'this account'}; alerts go to the SNS "
            "topic only",
            file=sys.stderr,
        )
    home = settings.home_region or (os.environ.get("CDK_DEFAULT_REGION") if settings.regions else None)
    forwarded = settings.forwarded_regions(home)
    if forwarded and home is None:
        sys.exit(
            "cloudtrail-guardian: invalid context: regions lists other Regions, so the home Region must be "
            "known: set homeRegion, or deploy with a default Region (AWS_REGION or the profile's region)"
        )
    unseen = unseen_iam_events(settings.home_region or os.environ.get("CDK_DEFAULT_REGION"), settings.regions)
    if unseen and not settings.accept_unseen_iam_events:
        sys.exit(
            f"cloudtrail-guardian: invalid context: IAM changes to the guardian's roles are recorded in {unseen}, "
            f"which is neither the home Region nor one of regions: its self-protection would never see them. Add "
            f"{unseen} to regions (a forwarder carries them home), or set acceptUnseenIamEvents=true to deploy "
            "without that protection"
        )
    env = cdk.Environment(account=settings.account, region=home) if home else None
    construct_id = f"{settings.stack_name}-{settings.account}-{home}" if several else settings.stack_name
    guardian = GuardianStack(app, construct_id, settings=settings, stack_name=settings.stack_name, env=env)
    for region in forwarded:
        forwarder = ForwarderStack(
            app,
            f"{construct_id}-forwarder-{region}",
            stack_name=f"{settings.stack_name}-forwarder",
            home_region=str(home),
            rule_prefix=settings.stack_name,
            watch=guardian.watch,
            env=cdk.Environment(account=settings.account, region=region),
            termination_protection=True,
        )
        forwarder.add_stack_dependency(guardian)  # the home Region's rules exist before forwarded events arrive
    return guardian


if __name__ == "__main__":
    build_app().synth()
