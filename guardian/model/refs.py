"""The small references an event carries: who made the call, and which trail, key or resource it names.

Pure. Typed NamedTuples: immutable like the frozen dataclasses elsewhere, and about six times cheaper to define at
import, which Lambda pays on every cold start. No ``from __future__ import annotations`` here: NamedTuple turns each
field's annotation given as text into a ForwardRef, compiling it (half of the class's cost); these are plain types.
"""

from typing import NamedTuple

API_CALL_DETAIL_TYPE = "AWS API Call via CloudTrail"
CLOUDTRAIL_SOURCE = "cloudtrail.amazonaws.com"
KMS_SOURCE = "kms.amazonaws.com"
S3_SOURCE = "s3.amazonaws.com"
LOGS_SOURCE = "logs.amazonaws.com"
SWEEP_SOURCE = "cloudtrail-guardian.sweep"  # eventSource of the records the sweep makes for what it found
OPERATOR_SOURCE = "cloudtrail-guardian.operator"  # eventSource of an operator's approval, made through the console


def detected_by(event_source: str | None, watch_rule: str | None = None) -> str:
    """How the guardian came to record it: an event of its table, a watch rule, the sweep, or an operator's request."""
    if watch_rule is not None:
        return "watch_rule"
    return {SWEEP_SOURCE: "sweep", OPERATOR_SOURCE: "operator"}.get(event_source or "", "event")


class Actor(NamedTuple):
    """Who made the call (``userIdentity``), reduced to what an alert and a decision need."""

    type: str | None = None
    arn: str | None = None
    principal_id: str | None = None
    account_id: str | None = None
    user_name: str | None = None
    access_key_id: str | None = None
    session_issuer_arn: str | None = None
    invoked_by: str | None = None
    mfa_authenticated: bool | None = None
    console: bool = False

    @property
    def display(self) -> str:
        """A short human name: the user, the role/session, root, or the invoking service."""
        if self.type == "Root":
            return "root"
        if self.arn and ":assumed-role/" in self.arn:
            return self.arn.split(":assumed-role/", 1)[1]
        if self.user_name:
            return self.user_name
        if self.arn:
            return self.arn.rsplit(":", 1)[-1]
        return self.invoked_by or self.principal_id or "an unknown principal"


class TrailRef(NamedTuple):
    """The trail an event acts on. ``region`` is the trail's home Region: from its ARN, else the call's Region.

    ``given`` is what the caller sent (a name or an ARN); ``arn`` is that ARN, or one built from the name, the
    Region and the account when the event gave only a name.
    """

    name: str
    region: str
    account_id: str | None
    given: str
    arn: str | None = None

    @property
    def identifier(self) -> str:
        """What to pass as ``Name`` to CloudTrail: exactly what the tampering call named."""
        return self.given


class KeyRef(NamedTuple):
    """A KMS key an event acts on: its id (never an alias) and the Region it lives in."""

    key_id: str
    region: str
    account_id: str | None


class ResourceRef(NamedTuple):
    """Something a trail depends on, named by an event: its S3 bucket, CloudWatch Logs group, or a CloudTrail Lake
    event data store. ``kind`` is "bucket", "log_group", "event_data_store" or "log_account_policy" (a CloudWatch
    Logs account policy, by its name); ``region`` is where the call was made (for a data store, the Region in its
    ARN)."""

    kind: str
    name: str
    region: str | None
    account_id: str | None
