"""Approvals that wait for CloudTrail: an exempt principal's change becomes the baseline only once CloudTrail's own
history confirms the event.

Pure. Anyone allowed to invoke the guardian's function can hand it a forged event, so an event alone never rewrites
a baseline. The exempt change is alerted and left in place at once; the baseline is marked with a pending approval
(signed, like every baseline). The sweep then looks the event up in CloudTrail (LookupEvents, where records appear
within about 15 minutes): the same event id, name and principal confirm it, and what that call changes of the
subject (:data:`CHANGED_BY`), as it then is, becomes its baseline. Not confirmed within :data:`WAIT`, the approval
is refused (CRITICAL) and the change healed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from collections.abc import Mapping

    from _typeshed import DataclassInstance

    from guardian.model.events import CloudTrailEvent

S = TypeVar("S", bound="DataclassInstance")  # a trail, bucket or log group state
WAIT = timedelta(minutes=30)  # LookupEvents shows a record within about 15 minutes of the call


@dataclass(frozen=True)
class Pending:
    """An exempt change waiting for CloudTrail to confirm it."""

    event_id: str
    event_name: str
    region: str  # where CloudTrail recorded the call: LookupEvents is asked there
    actor: str  # the principal's ARN as the event gave it
    exemption: str  # the exemption that covered it
    requested_at: str  # ISO 8601, UTC: when the guardian saw the event
    # The event's own marks of how the call was made, which its record must bear too: the AWS service CloudTrail
    # names as making it (invokedBy or sourceIPAddress; Control Tower's deployments come so), the role's ARN (with
    # its path) the session was issued by. Empty: the event had none (or the approval predates them).
    via: str = ""
    issuer: str = ""

    def to_json(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Pending:
        return cls(**{name: str(data.get(name, "")) for name in cls.__dataclass_fields__})

    @classmethod
    def of(cls, event: CloudTrailEvent, exemption: str, at: datetime) -> Pending:
        """The approval an exempt event asks for, seen at ``at``."""
        actor = event.actor.arn or event.actor.session_issuer_arn or event.actor.display
        region = event.aws_region or ""
        stamp = at.isoformat().replace("+00:00", "Z")
        via = next((v for v in (event.actor.invoked_by, event.source_ip) if v and v.endswith(".amazonaws.com")), "")
        issuer = event.actor.session_issuer_arn or ""
        return cls(event.event_id, event.event_name or "", region, actor, exemption, stamp, via, issuer)

    def expired(self, now: datetime) -> bool:
        requested = datetime.fromisoformat(self.requested_at.replace("Z", "+00:00"))
        return now - requested > WAIT


def confirmation(pending: Pending, record: Mapping[str, Any] | None) -> str | None:
    """None if CloudTrail's record confirms the pending approval; else why not (no record yet, or a mismatch)."""
    if record is None:
        return "CloudTrail has no record of the event (yet)"
    if record.get("eventID") != pending.event_id or record.get("eventName") != pending.event_name:
        return f"CloudTrail's record {record.get('eventID')} is {record.get('eventName')}, not {pending.event_name}"
    identity = record.get("userIdentity") or {}
    issuer = ((identity.get("sessionContext") or {}).get("sessionIssuer") or {}).get("arn")
    recorded = {str(arn).casefold() for arn in (identity.get("arn"), issuer) if arn}
    if pending.actor.casefold() not in recorded:
        return f"CloudTrail records the call by {identity.get('arn')}, not by {pending.actor}"
    if pending.issuer and str(issuer or "").casefold() != pending.issuer.casefold():
        return f"CloudTrail records the session as issued by {issuer}, not by {pending.issuer}"
    if pending.via and pending.via not in (identity.get("invokedBy"), record.get("sourceIPAddress")):
        return f"CloudTrail records the call as made by {record.get('sourceIPAddress')}, not through {pending.via}"
    return None


# What each approved call can change: only that part of the subject, as it is when the approval is confirmed,
# becomes its baseline. Whatever else differs by then (a trail deleted after an exempt StopLogging, versioning
# suspended after an exempt PutBucketPolicy) was not approved, and is put back. WHOLE: the call makes or removes the
# subject itself. A call not listed approves nothing.
WHOLE: tuple[str, ...] = ()
_TRAIL_SETTINGS = (
    "s3_bucket",
    "s3_prefix",
    "sns_topic_arn",
    "include_global_service_events",
    "multi_region",
    "log_file_validation",
    "kms_key_id",
    "cloudwatch_logs_group_arn",
    "cloudwatch_logs_role_arn",
    "organization",
)
CHANGED_BY: Mapping[str, tuple[str, ...]] = {
    "StopLogging": ("logging",),
    "StartLogging": ("logging",),
    "UpdateTrail": _TRAIL_SETTINGS,
    "PutEventSelectors": ("event_selectors", "advanced_event_selectors"),
    "PutInsightSelectors": ("insight_types",),
    "AddTags": ("tags",),
    "RemoveTags": ("tags",),
    "CreateTrail": WHOLE,
    "DeleteTrail": WHOLE,
    "PutBucketPolicy": ("policy",),
    "DeleteBucketPolicy": ("policy",),
    "PutBucketLifecycle": ("lifecycle_rules",),
    "DeleteBucketLifecycle": ("lifecycle_rules",),
    "PutBucketVersioning": ("versioning",),
    "PutBucketAcl": ("acl_grants", "acl_owner"),
    "PutBucketPublicAccessBlock": ("public_access_block",),
    "DeleteBucketPublicAccessBlock": ("public_access_block",),
    "PutBucketEncryption": ("encryption",),
    "DeleteBucketEncryption": ("encryption",),
    "DeleteBucket": WHOLE,
    "DeleteLogGroup": WHOLE,
    "PutRetentionPolicy": ("retention_days",),
    "PutTransformer": ("transformer",),
    "AssociateKmsKey": ("kms_key_id",),
    "DisassociateKmsKey": ("kms_key_id",),
}


def approved(event_name: str, baseline: S | None, live: S | None) -> S | None:
    """The subject's new baseline once ``event_name`` is approved: ``baseline`` with what that call changes taken
    from ``live``. None: the subject is gone, and its deletion was the approved call."""
    changed = CHANGED_BY.get(event_name)
    if changed is None or (baseline is None and live is None):
        return baseline
    if changed is WHOLE:
        return live
    if live is None or baseline is None:  # gone, or never recorded, by another call than the one approved
        return baseline if live is None else live
    return replace(baseline, **{name: getattr(live, name) for name in changed})
