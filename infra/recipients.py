"""Who is mailed, and from what severity: ``alertEmails`` entries ``address`` or ``address:SEVERITY``.

Each address gets an SNS subscription filter policy on the message body's ``severity`` (default MEDIUM), so the
guardian's own INFO confirmations are kept as evidence but not mailed. Body, not message attributes: CloudWatch
alarms and EventBridge targets publish without attributes, and SNS matches ``{"exists": false}`` only where a
message has at least one attribute (SNS developer guide, "Key matching"): an attribute filter would silently drop
exactly the dead man's switch and the self-protection alerts. Every message on the guardian's topics is a JSON
object; those without ``severity`` (an alarm's) reach every address.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, NamedTuple

from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subs

from infra.errors import SettingsError

SEVERITIES = ("INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL")
DEFAULT_MINIMUM = "MEDIUM"
_EMAIL = re.compile(r"^[^@\s,:]+@[^@\s,:]+\.[^@\s,:]+$")


def severity_filter(minimum: str) -> dict[str, list[Any]] | None:
    """The body filter of a subscriber (an address, a webhook's notifier): ``minimum`` and above, and any message
    without a severity. INFO: no filter (everything)."""
    if minimum == "INFO":
        return None
    return {"severity": [*SEVERITIES[SEVERITIES.index(minimum) :], {"exists": False}]}


class Recipient(NamedTuple):
    address: str
    minimum: str = DEFAULT_MINIMUM

    def filter_policy(self) -> dict[str, list[Any]] | None:
        return severity_filter(self.minimum)


def recipients(items: Sequence[str], key: str = "alertEmails") -> tuple[Recipient, ...]:
    """Entries ``address[:SEVERITY]`` (already split from the context's list or comma-separated string)."""
    found: dict[str, Recipient] = {}
    bad: list[str] = []
    for item in (i.strip() for i in items if i.strip()):
        address, _, minimum = item.partition(":")
        minimum = (minimum or DEFAULT_MINIMUM).strip().upper()
        if not _EMAIL.match(address) or minimum not in SEVERITIES:
            bad.append(item)
            continue
        known = found.get(address.casefold())
        if known is not None and known.minimum != minimum:
            raise SettingsError(f"{key} lists {address} twice, with {known.minimum} and {minimum}")
        found[address.casefold()] = Recipient(address, minimum)
    if bad:
        raise SettingsError(
            f"{key} has invalid entries: {', '.join(bad)} (an address, optionally :{'|'.join(SEVERITIES)})"
        )
    return tuple(found.values())


def body_filter(policy: dict[str, list[Any]] | None) -> dict[str, sns.FilterOrPolicy] | None:
    """A filter policy as CDK takes it for the message body."""
    if policy is None:
        return None
    return {k: sns.FilterOrPolicy.filter(sns.SubscriptionFilter(v)) for k, v in policy.items()}


def subscribe(topic: sns.ITopic, recipient: Recipient) -> None:
    body = body_filter(recipient.filter_policy())
    topic.add_subscription(subs.EmailSubscription(recipient.address, json=True, filter_policy_with_message_body=body))
