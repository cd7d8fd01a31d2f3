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
from guardian.model.findings import found_event
from guardian.model.results import Result
from guardian.model.rules import SWEEP_RULE, Action, Outcome, Severity

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from guardian.model.config import Config
    from guardian.model.digests import Unsigned
    from guardian.ports.calls import Everything
    from guardian.ports.invocation import Invocation

LOG = logging.getLogger(__name__)
ALARMS_RULE = "alarms-to-security"  # as infra.security_account names it (tests/infra/test_security_account.py)


def alert_unsigned(found: list[Unsigned], aws: Everything, config: Config, run: Invocation, *, at: datetime) -> None:
    """One HIGH alert per record version the chain refused."""
    for record in found:
        digest = hashlib.sha256(f"{record.key}\n{record.version_id}".encode("utf-8", "backslashreplace")).hexdigest()
        event = found_event(
            f"sweep-unsigned-record-{digest[:32]}",
            account_id=config.account_id,
            region=config.topic_region,
            detected_at=at,
            raw={"evidence_record": record.key, "unsigned_record": record.to_json()},
        )
        why = (
            f"unsigned record in the evidence store: {record.key} (version {record.version_id}, written "
            f"{record.last_modified}): {record.problem}. The guardian signs every record it writes, so this one was "
            "written by someone else, or its signing failed: it is kept out of the digest chain, and `guardian verify`"
            " names it. Find who wrote it in the bucket's server access logs or CloudTrail data events"
        )
        decision = Decision(Action.ALERT, Outcome.ALERTED, Severity.HIGH, why, SWEEP_RULE)
        deliver(Result(event, decision, Outcome.ALERTED, Severity.HIGH), aws, config, run)
        LOG.error(
            "unsigned record in the evidence store", extra={"evidence_key": record.key, "problem": record.problem}
        )


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
