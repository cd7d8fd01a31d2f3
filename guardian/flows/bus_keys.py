"""The default event bus of every Region the guardian has rules in, held to EventBridge's AWS owned key.

A customer managed key on a bus encrypts its rules' patterns and targets, and EventBridge decrypts them to match
events (docs/limits.md): whoever holds the key can then disable it, or deny EventBridge in its policy, and every
rule of the guardian on that bus goes quiet, with nothing refused that anyone sees. The guard
(``<stack>-guard-bus``) alerts the UpdateEventBus from EventBridge; this check is its backstop for an event
that never came. It does not put the bus back: whether UpdateEventBus can return a bus to the AWS owned key through
the API is not documented (the console can), so a key found is alerted CRITICAL and fails the run until removed.

One DescribeEventBus per Region: the home Region, and every other swept Region when the stack has forwarders there.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Protocol

from guardian.flows.own_buckets import deliver_own_finding
from guardian.model.changes import Change, Effect
from guardian.ports.calls import Delivery
from guardian.ports.errors import AWS_ERRORS, describe_error
from guardian.ports.event_bus import EventBusCalls

if TYPE_CHECKING:
    from datetime import datetime

    from guardian.model.config import Config
    from guardian.ports.invocation import Invocation

LOG = logging.getLogger(__name__)
CHECK = "default_event_bus"  # the key of this check in the sweep's check_errors


class Ports(EventBusCalls, Delivery, Protocol):
    """The default buses, the alert's path."""


def bus_regions(config: Config) -> tuple[str, ...]:
    """The home Region, and every other swept Region when the stack has forwarders there (their rules)."""
    home = config.topic_region
    others = [r for r in config.sweep_regions if r != home] if config.forwarder_rules else []
    return (home, *others)


def check_default_buses(
    aws: Ports, config: Config, failures: dict[str, str], *, started: datetime, run: Invocation
) -> dict[str, str | None]:
    """Each Region's default bus → its customer managed key (None: the AWS owned key). A key, or a bus that cannot be
    read, is recorded in ``failures`` (the run fails); a key is alerted CRITICAL first."""
    found: dict[str, str | None] = {}
    for region in bus_regions(config):
        try:
            key = found[region] = aws.default_bus_key(region)
        except AWS_ERRORS as exc:  # one Region's refusal must not hide the others
            code, message = describe_error(exc)
            failures[f"{CHECK}:{region}"] = f"{code}: {message}"
            LOG.error("the default event bus could not be read", extra={"region": region, "error_code": code})
            continue
        if key is None:
            continue
        failures[f"{CHECK}:{region}"] = f"encrypted with a customer managed key: {key}"
        reason = (
            f"the default event bus in {region} is encrypted with a customer managed key ({key}): whoever controls "
            "that key can silence every rule of the guardian on that bus by disabling it or denying EventBridge. Set "
            "the bus back to the AWS owned key (EventBridge console, the bus's Encryption tab), then find who changed "
            "it (UpdateEventBus in CloudTrail)"
        )
        change = Change("kms_key", None, key, Effect.WEAKENED)
        subject = "default event bus" if region == config.topic_region else f"default event bus {region}"
        deliver_own_finding(
            aws, config, run, subject, reason=reason, found=((change,), ()), healed=False, started=started
        )
        LOG.error("the default event bus has a customer managed key", extra={"region": region})
    return found
