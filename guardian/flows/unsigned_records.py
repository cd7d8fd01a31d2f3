"""An unsigned record in the evidence store: alerted HIGH by the sweep, which keeps it out of the digest chain; and
the chain's head, sent to the security account with every sweep (:func:`heartbeat`).

Every record the guardian writes is signed once its alert is out (:mod:`guardian.flows.record_signing`), so a record
without a valid signature was written by someone else (a break-glass principal, anyone once the bucket policy is
changed) or signing failed when it was written. Either way it is not evidence the chain vouches for: the security team
hears of it, and ``guardian verify`` names it. One alert per record version (its id is derived from the key and the
version), however many sweeps see it.
"""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING, Any

from guardian.flows.deliver import deliver
from guardian.model.decide import Decision
from guardian.model.digests import Deleted, Taken, Unsigned
from guardian.model.findings import found_event
from guardian.model.results import Result
from guardian.model.rules import SWEEP_RULE, Action, Outcome, Severity

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from guardian.flows.digests import Found
    from guardian.model.config import Config
    from guardian.ports.calls import Everything
    from guardian.ports.invocation import Invocation

LOG = logging.getLogger(__name__)
ALARMS_RULE = "alarms-to-security"  # as infra.security_account names it (tests/infra/test_security_account.py)


def alert_unsigned(found: list[Found], aws: Everything, config: Config, run: Invocation, *, at: datetime) -> None:
    """One alert per record version the chain refused (HIGH), per record deleted before a digest took it (HIGH), and
    for a next digest key taken by someone else's object (CRITICAL: the chain is stopped)."""
    for item in found:
        what, version, severity, why = _described(item)
        digest = hashlib.sha256(f"{what}\n{version}".encode("utf-8", "backslashreplace")).hexdigest()
        kind = {Unsigned: "unsigned-record", Deleted: "deleted-record"}.get(type(item), "digest-key-taken")
        event = found_event(
            f"sweep-{kind}-{digest[:32]}",
            account_id=config.account_id,
            region=config.topic_region,
            detected_at=at,
            raw={"evidence_record": what, kind.replace("-", "_"): _json(item)},
        )
        decision = Decision(Action.ALERT, Outcome.ALERTED, severity, why, SWEEP_RULE)
        deliver(Result(event, decision, Outcome.ALERTED, severity), aws, config, run)
        LOG.error("a finding in the evidence store", extra={"finding": kind, "evidence_key": what})


def _described(item: Found) -> tuple[str, str, Severity, str]:
    """The object named, its version, the severity and why."""
    who = "Find who in the bucket's server access logs or CloudTrail data events"
    if isinstance(item, Unsigned):
        return (
            item.key,
            item.version_id,
            Severity.HIGH,
            f"unsigned record in the evidence store: {item.key} (version {item.version_id}, written "
            f"{item.last_modified}): {item.problem}. The guardian signs every record it writes, so this one was "
            "written by someone else, or its signing failed: it is kept out of the digest chain, and `guardian verify`"
            f" names it. {who}",
        )
    if isinstance(item, Deleted):
        return (
            item.key,
            item.sidecar_version_id,
            Severity.HIGH,
            f"evidence record deleted before the digest chain took it: {item.key} (SHA-256 {item.sha256}) is gone, "
            f"its signature {item.sidecar} (written {item.sidecar_last_modified}) is left. Deleting a locked record "
            f"takes a governance bypass: the next digest names it, and `guardian verify` fails on it. {who}",
        )
    return (
        item.key,
        "",
        Severity.CRITICAL,
        f"the evidence digest chain is stopped: its next key {item.key} holds an object that is not the guardian's "
        f"digest ({item.problem}). No record is chained until it is removed (a governance bypass); the sweep fails "
        f"until then. {who}",
    )


def _json(item: Found) -> dict[str, Any]:
    return {"key": item.key, "problem": item.problem} if isinstance(item, Taken) else item.to_json()


def heartbeat(aws: Everything, config: Config) -> Callable[[dict[str, Any]], None] | None:
    """With a security account, what sends each new head there: the account, the Region and the head, on the security
    account's bus, so that a chain shortened here can be caught there. A refusal raises (the sweep then fails: its
    error alarm shows it)."""
    bus = security_bus(config)
    if bus is None:
        return None

    # its stack's name (two guardian stacks in one account and Region keep two chains): that of its alarms' rule
    stack = next((r[: -len(ALARMS_RULE) - 1] for r in config.own_rules if r.endswith(f"-{ALARMS_RULE}")), "")

    def send(head: dict[str, Any]) -> None:
        detail = {"account": config.account_id, "region": config.topic_region, "stack": stack, "head": head}
        aws.send_chain_head(bus, detail)

    return send


def security_bus(config: Config) -> str | None:
    """The security account's default bus, where the stack has one (``securityAccount``): its guardian then sweeps the
    rule that sends its alarms there (``<stack>-alarms-to-security``, one of ``GUARDIAN_OWN_RULES``), and the central
    topic is in that account, whose Region is the bus's (infra/settings.py ``security_bus_arn``). Derived, not one
    more variable: the sweep's environment is at Lambda's 4 KB."""
    topic = config.central_topic_arn
    if not topic or not any(rule.endswith(f"-{ALARMS_RULE}") for rule in config.own_rules):
        return None
    _, partition, _, region, account, _ = topic.split(":", 5)
    return f"arn:{partition}:events:{region}:{account}:event-bus/default"
