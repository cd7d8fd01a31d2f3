#!/usr/bin/env python3
"""CDK app: builds the guardian stack from context and runs cdk-nag (AwsSolutions) on every synth."""

from __future__ import annotations

import sys

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from infra.settings import GuardianSettings, SettingsError
from infra.stack import GuardianStack


def build_app(context: dict[str, object] | None = None) -> cdk.App:
    app = cdk.App(context=context)
    try:
        settings = GuardianSettings.from_context(app.node.try_get_context)
    except SettingsError as exc:
        sys.exit(f"cloudtrail-guardian: invalid context: {exc}")
    if not settings.alert_emails:
        print("cloudtrail-guardian: no alertEmails given; alerts go to the SNS topic only", file=sys.stderr)
    GuardianStack(app, settings.stack_name, settings=settings)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app


if __name__ == "__main__":
    build_app().synth()
