"""Claims of docs/alerts.md that once contradicted the code (issue 23), held to the code."""

from __future__ import annotations

import re

from guardian.flows.rate_cap import CAP, CapFull
from tests.support import REPO_ROOT

DOCS = REPO_ROOT / "docs"


def page(name: str) -> str:
    return " ".join((DOCS / name).read_text().split())


def test_an_alert_over_the_publish_cap_waits_then_is_left_to_lambdas_retry() -> None:
    """The page said an alert over the cap waits at most 3 s and is then sent anyway; the cap waits while the
    invocation has time and then raises :class:`CapFull`, so Lambda's retry sends it
    (tests/unit/test_alert_grouping.py::test_the_cap_never_waits_past_the_budget_and_then_raises_for_lambdas_retry)."""
    text = page("alerts.md")
    assert f"at most **{CAP} messages a second**" in text
    assert "else Lambda's retry sends it" in text
    assert "sent anyway" not in text
    assert "retry" in (CapFull.__doc__ or "")


def test_a_webhook_url_is_put_as_a_pending_version_not_over_the_first_one() -> None:
    """The page said: deploy, then put-secret-value the URL. The stack makes the secret with a generated value (no
    value given to CDK's Secret, so CloudFormation's GenerateSecretString), which the sweep records as the approved
    version (guardian.flows.webhook_secrets): a URL put over it as current is put back, CRITICAL. The page now sends
    the reader to the pending-version steps, and shows no put-secret-value that makes the URL current."""
    notifier = (REPO_ROOT / "infra" / "notifier.py").read_text()
    made = notifier.split("secretsmanager.Secret(", 1)[1].split(")", 1)[0]
    assert "secret_string_value" not in made
    assert "secret_object_value" not in made
    assert "generate_secret_string" not in made  # CDK's default: a generated value
    text = page("alerts.md")
    webhooks = text.split("## Chat webhooks", 1)[1]
    assert "with a random value, which the first sweep approves" in webhooks
    assert "first-day.md#rotate-the-webhook-secret" in webhooks
    for command in re.findall(r"put-secret-value[^`]*", webhooks):
        assert "AWSPENDING" in command, command
    steps = page("first-day.md").split("## Rotate the webhook secret", 1)[1]
    assert "--version-stages AWSPENDING" in steps
