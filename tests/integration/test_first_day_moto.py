"""Rotating a chat webhook's URL as docs/first-day.md says (moto): a pending version leaves the sweep quiet, the
pinned version is what the sweep then holds, and making it current yourself spares the sweep's CRITICAL alert."""

from __future__ import annotations

import boto3
import pytest

from tests.integration.conftest import Account, subject_and_message
from tests.integration.test_own_definitions_moto import SECRET, TEAMS, alert_path, current_value, webhook
from tests.support import REPO_ROOT

__all__ = ["webhook"]  # the fixture: the secret created, its first version recorded by the sweep

NEW = "https://hooks.slack.com/services/T000/B000/ROTATED"
CHECK = f"webhook secret {SECRET}"


def put_pending(arn: str) -> str:
    """Step 1: the new URL as a pending version; the current one stays."""
    return str(
        boto3.client("secretsmanager").put_secret_value(SecretId=arn, SecretString=NEW, VersionStages=["AWSPENDING"])[
            "VersionId"
        ]
    )


def test_the_documented_rotation_alerts_nothing_from_the_sweep(
    webhook: tuple[Account, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    account, arn, old = webhook
    new = put_pending(arn)
    assert account.sweep()["alert_path"][CHECK] == "in_baseline"  # pending: nothing to put back
    assert current_value(arn) == TEAMS
    alert_path(monkeypatch, secrets=[{"arn": arn, "version": new}])  # step 2: secretVersion set, deployed
    boto3.client("secretsmanager").update_secret_version_stage(  # step 3: made current by the operator
        SecretId=arn, VersionStage="AWSCURRENT", MoveToVersionId=new, RemoveFromVersionId=old
    )
    assert account.sweep()["alert_path"][CHECK] == "in_baseline"
    assert current_value(arn) == NEW
    assert account.alerts() == []
    assert "--version-stages AWSPENDING" in " ".join((REPO_ROOT / "docs" / "first-day.md").read_text().split())


def test_without_step_three_the_sweep_makes_the_pinned_version_current_and_alerts_critical(
    webhook: tuple[Account, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    account, arn, _ = webhook
    new = put_pending(arn)
    alert_path(monkeypatch, secrets=[{"arn": arn, "version": new}])
    assert account.sweep()["alert_path"][CHECK] == "healed"
    assert current_value(arn) == NEW
    subject, _ = subject_and_message(account.alerts()[0])
    assert subject.startswith("[CRITICAL] ")
    assert account.sweep()["alert_path"][CHECK] == "in_baseline"
