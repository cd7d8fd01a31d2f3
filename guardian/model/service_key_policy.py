"""Whether a KMS key's policy lets the service that writes a protected trail's events with it use it: CloudWatch Logs
for a trail's (or the CIS alarms') log group, CloudTrail for a Lake event data store; and the smallest change that
lets it again.

Pure. A key policy that shuts the service out stops the log group taking the trail's events (the CIS alarms go mute)
or the store ingesting, as surely as a disabled key. As for a trail's key (:mod:`guardian.model.key_policy`), a whole
policy is never put back: AWS's documented statement for that service is added (one per log group or store, under
the guardian's own Sid) and the Deny statements that stop the service are dropped; every other statement is kept.
Conditions on the resource's ARN and the account are evaluated; any other condition is assumed to hold.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from guardian.model.key_policy import allows_action, as_list, conditions_hold, statements_of

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

CLOUDTRAIL = "cloudtrail.amazonaws.com"
LOGS_CONTEXT = "kms:encryptioncontext:aws:logs:arn"
SID = "CloudTrailGuardianLets"


@dataclass(frozen=True)
class ServiceUse:
    """A service's use of a key for one resource: who must be let in, for which calls (each must be allowed), on
    behalf of which resource ARN (matched against the encryption-context and ``aws:SourceArn`` conditions)."""

    principal: str
    needs: tuple[str, ...]  # the calls it makes: kms:GenerateDataKey, kms:Decrypt
    grant: tuple[str, ...]  # what the restored statement allows (AWS's documented statement)
    resource_arn: str
    context_key: str | None = None  # the encryption-context condition key AWS documents for it, if any

    @property
    def sid(self) -> str:
        kind = "Logs" if self.principal.startswith("logs.") else "CloudTrailLake"
        digest = hashlib.sha256(self.resource_arn.encode()).hexdigest()[:12]  # one statement per resource
        return f"{SID}{kind}Use{digest}"

    @property
    def account_id(self) -> str | None:
        parts = self.resource_arn.split(":")
        return parts[4] if len(parts) > 4 and parts[4] else None


def log_group_use(region: str, account_id: str, name: str, partition: str = "aws") -> ServiceUse:
    """CloudWatch Logs encrypting a log group's events: ``logs.<Region>.amazonaws.com``, its calls scoped to the
    group by ``kms:EncryptionContext:aws:logs:arn``."""
    arn = f"arn:{partition}:logs:{region}:{account_id}:log-group:{name}"
    grant = ("kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*")
    return ServiceUse(f"logs.{region}.amazonaws.com", ("kms:GenerateDataKey", "kms:Decrypt"), grant, arn, LOGS_CONTEXT)


def lake_use(store_arn: str) -> ServiceUse:
    """CloudTrail encrypting (and, for queries, decrypting) a Lake event data store's events."""
    needs = ("kms:GenerateDataKey", "kms:Decrypt")
    return ServiceUse(CLOUDTRAIL, needs, needs, store_arn)


def service_can_use(policy: Mapping[str, Any], use: ServiceUse) -> bool:
    """Every call the service makes is allowed by some Allow and stopped by no Deny."""
    statements = statements_of(policy)
    for action in use.needs:
        applying = [s for s in statements if _applies(s, use, action)]
        if not any(s.get("Effect") == "Allow" for s in applying) or any(s.get("Effect") == "Deny" for s in applying):
            return False
    return True


def letting_services_use(policy: Mapping[str, Any], uses: Sequence[ServiceUse]) -> dict[str, Any]:
    """``policy`` with the Denies that stop any of ``uses`` dropped and AWS's documented statement for each added
    (replacing the guardian's earlier one for it); every other statement kept as it is."""
    sids = {use.sid for use in uses}
    kept = [
        s
        for s in statements_of(policy)
        if s.get("Sid") not in sids
        and not (s.get("Effect") == "Deny" and any(_applies(s, u, a) for u in uses for a in u.needs))
    ]
    for use in uses:
        statement: dict[str, Any] = {
            "Sid": use.sid,
            "Effect": "Allow",
            "Principal": {"Service": use.principal},
            "Action": list(use.grant),
            "Resource": "*",
        }
        if use.context_key:
            statement["Condition"] = {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": use.resource_arn}}
        kept.append(statement)
    return {**policy, "Statement": kept}


def _applies(statement: Mapping[str, Any], use: ServiceUse, action: str) -> bool:
    """Whether the statement covers the service making ``action`` for the resource."""
    principal = statement.get("Principal")
    if "NotPrincipal" in statement:
        named = as_list((statement.get("NotPrincipal") or {}).get("Service", []))
        if use.principal in named:
            return False
    elif principal != "*" and not (
        isinstance(principal, dict)
        and (use.principal in as_list(principal.get("Service", [])) or "*" in as_list(principal.get("AWS", [])))
    ):
        return False
    if not allows_action(statement, action):
        return False
    known = {"aws:sourcearn": use.resource_arn, "aws:sourceaccount": use.account_id}
    if use.context_key:
        known[use.context_key.lower()] = use.resource_arn
    return conditions_hold(statement.get("Condition") or {}, known)
