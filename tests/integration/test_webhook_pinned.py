"""A chat webhook pinned to the secret's approved version (``secretVersion``): a URL put in the secret by anyone
else is never posted to (issue 20, #6)."""

from __future__ import annotations

import boto3
import pytest

from guardian.entrypoints import notify
from simulation.webhook_server import recording_webhook
from tests.integration.test_webhook import Context, secret, sns_event

__all__ = ["secret"]  # the fixture


@pytest.mark.threat("webhook-secret")
def test_the_notifier_posts_only_to_the_approved_version(secret: str, monkeypatch: pytest.MonkeyPatch) -> None:
    sm = boto3.client("secretsmanager")
    with recording_webhook() as team, recording_webhook() as insider:
        approved = sm.put_secret_value(SecretId=secret, SecretString=team.url)["VersionId"]
        monkeypatch.setenv("SSL_CERT_FILE", team.ca_file)
        sm.put_secret_value(SecretId=secret, SecretString=insider.url)  # the swap: now the current version
        monkeypatch.setenv("GUARDIAN_WEBHOOK_VERSION", approved)
        notify._adapters.clear()
        notify.lambda_handler(sns_event(), Context())
    assert len(team.received) == 1
    assert insider.received == []
