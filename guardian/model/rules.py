"""What the guardian does for each CloudTrail eventName: one table, read by :func:`guardian.model.decide.decide`.

Read :data:`RULES` to find any decision: the alert's words, the severities, and the heal. :data:`FLOWS` says which
module of :mod:`guardian.flows` carries out each heal, and :data:`SUBJECT_FLOWS` which one decides whether a key,
bucket or log group is the guardian's business and records an approved change: adding a kind of repair is a row
here and a module there, never an edit to a dispatcher.
"""

from collections.abc import Mapping
from enum import StrEnum
from typing import NamedTuple

from guardian.model.refs import CLOUDTRAIL_SOURCE, KMS_SOURCE, LOGS_SOURCE, S3_SOURCE


class Severity(StrEnum):
    INFO = "INFO"
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    CRITICAL = "CRITICAL"


class Heal(StrEnum):
    """The undo the guardian performs."""

    START_LOGGING = "StartLogging"
    RESTORE_KEY = "RestoreKey"  # a trail's KMS key: EnableKey, CancelKeyDeletion (only keys that protect a trail)
    RESTORE_BASELINE = "RestoreBaseline"  # recreate, UpdateTrail, selectors, insights, tags: back to the baseline
    RESTORE_RESOURCE = "RestoreResource"  # a trail's bucket or log group: back to its baseline (or recreated)
    START_INGESTION = "StartEventDataStoreIngestion"  # a CloudTrail Lake event data store
    RESTORE_DATA_STORE = "RestoreEventDataStore"  # a deleted event data store, within its 7-day wait
    RESTORE_STORE_SETTINGS = "UpdateEventDataStore"  # a data store's retention, selectors...: back to its baseline
    # Opt-in undos a watch rule may name (rules/watch.json "heal"): never on by default.
    START_CONFIG_RECORDER = "StartConfigurationRecorder"  # an AWS Config recorder stopped
    ENABLE_DETECTOR = "EnableGuardDutyDetector"  # a GuardDuty detector disabled


class Subject(StrEnum):
    """What a row is about. Anything but a trail or the account is acted on only if it serves a protected trail
    (a bucket, log group or key with a recorded baseline); every event data store of the account is protected."""

    TRAIL = "trail"
    KEY = "key"
    BUCKET = "bucket"
    LOG_GROUP = "log_group"
    DATA_STORE = "event_data_store"
    LOG_POLICY = "log_account_policy"  # a CloudWatch Logs account policy: acted on if it reaches a trail's log group
    ACCOUNT = "account"


class Action(StrEnum):
    HEAL = "heal"  # undo, verify, keep evidence, alert
    ALERT = "alert"  # keep evidence, alert
    IGNORE = "ignore"  # a well-formed event the guardian has no row for: log only
    REJECT = "reject"  # input the rule never sends: log a structured error only


class Outcome(StrEnum):
    """What happened, as published in the alert's ``outcome`` attribute (subscribers can filter on it)."""

    HEALED = "healed"
    HEAL_FAILED = "heal_failed"
    # The heal's StartLogging was throttled and the trail was stopped again after this event: the later stop's own
    # invocation owns the heal (and alerts CRITICAL if it fails). Not a failed heal; the row's severity.
    SUPERSEDED = "superseded"
    ALERTED = "alerted"
    ATTEMPT_FAILED = "attempt_failed"
    EXEMPT = "exempt"
    NOT_HEALABLE = "not_healable"
    OWN_ACTION = "own_action"
    UNIDENTIFIED_TRAIL = "unidentified_trail"
    REPEATED_TAMPERING = "repeated_tampering"
    IGNORED = "ignored"
    REJECTED = "rejected"
    UNREADABLE = "unreadable"  # the guardian's own code failed to read the event: the fallback alert went out
    OBSERVED = (
        "observed"  # observe mode: the guardian would have healed, with the calls it would have made; it made none
    )


class Rule(NamedTuple):
    """One row of the decision table. Immutable; a NamedTuple with its annotations as types, not text (no
    ``from __future__ import annotations`` here), as :mod:`guardian.model.refs` explains: a fifth of the frozen
    dataclass's cost at every cold start."""

    what: str  # past tense, for the alert: "CloudTrail logging stopped"
    severity: Severity  # a successful call by anyone else
    heal: Heal | None  # the undo, if the guardian undoes this eventName
    failed_severity: Severity  # the call failed (errorCode present): an attempt, nothing to undo
    own_severity: Severity  # the guardian's own role made the call: never undone (no loops)
    source: str = CLOUDTRAIL_SOURCE  # the eventSource the row is about
    about: Subject = Subject.TRAIL

    @property
    def scoped(self) -> bool:
        """Acted on (and alerted) only if the resource serves a protected trail: the workflow checks that."""
        return self.about in (Subject.KEY, Subject.BUCKET, Subject.LOG_GROUP, Subject.LOG_POLICY)


ORGANIZATIONS_SOURCE = "organizations.amazonaws.com"
RESTORE = Heal.RESTORE_BASELINE  # back to the trail's baseline: recreate, UpdateTrail, selectors, insights, tags
PUT_BACK = Heal.RESTORE_RESOURCE  # a trail's bucket or log group back to its baseline
C, H, M, L, N = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.INFO  # N: INFO, noted
KMS, S3, LOGS, ORGS = KMS_SOURCE, S3_SOURCE, LOGS_SOURCE, ORGANIZATIONS_SOURCE
KEY, BUCKET, GROUP = Subject.KEY, Subject.BUCKET, Subject.LOG_GROUP
STORE, ACCOUNT, LOG_POLICY = Subject.DATA_STORE, Subject.ACCOUNT, Subject.LOG_POLICY

# fmt: off
RULES: Mapping[str, Rule] = {
    #                            what (alert text)                              severity heal                failed own  eventSource, about
    "StopLogging":         Rule("CloudTrail logging stopped",                   H, Heal.START_LOGGING,       M, H),
    "DeleteTrail":         Rule("CloudTrail trail deleted",                     H, RESTORE,                  M, H),
    "UpdateTrail":         Rule("CloudTrail trail settings changed",            H, RESTORE,                  M, N),
    "PutEventSelectors":   Rule("CloudTrail event selectors changed",           H, RESTORE,                  M, N),
    "PutInsightSelectors": Rule("CloudTrail Insights selectors changed",        M, RESTORE,                  L, N),
    "RemoveTags":          Rule("tags removed from a CloudTrail trail",         M, RESTORE,                  L, M),
    "AddTags":             Rule("tags added to a CloudTrail trail",             L, None,                     L, N),
    "CreateTrail":         Rule("CloudTrail trail created",                     L, None,                     L, N),
    "StartLogging":        Rule("CloudTrail logging started",                   L, None,                     M, N),
    # CloudTrail Lake: every event data store of the account is protected.
    "StopEventDataStoreIngestion":
                           Rule("CloudTrail Lake ingestion stopped",            H, Heal.START_INGESTION,     M, N, about=STORE),
    "DeleteEventDataStore":
                           Rule("CloudTrail Lake event data store deleted",     C, Heal.RESTORE_DATA_STORE,  H, N, about=STORE),
    "UpdateEventDataStore":  # retention cut to 7 days, termination protection off, selectors narrowed
                           Rule("CloudTrail Lake event data store settings changed", H, Heal.RESTORE_STORE_SETTINGS, M, N, about=STORE),
    # A trail's KMS key (acted on only if it encrypts a trail with a baseline; other keys are ignored).
    "DisableKey":          Rule("KMS key of a trail disabled",                  C, Heal.RESTORE_KEY,         H, N, KMS, KEY),
    "ScheduleKeyDeletion": Rule("KMS key of a trail scheduled for deletion",    C, Heal.RESTORE_KEY,         H, N, KMS, KEY),
    "PutKeyPolicy":        Rule("KMS key policy of a trail changed",            C, Heal.RESTORE_KEY,         H, N, KMS, KEY),
    # Its grants: a way to use the key its policy does not show (alerted; judged again by the sweep's key checks).
    "CreateGrant":         Rule("grant created on the KMS key of a trail",      H, None,                     M, N, KMS, KEY),
    "RetireGrant":         Rule("grant retired on the KMS key of a trail",      H, None,                     M, N, KMS, KEY),
    "RevokeGrant":         Rule("grant revoked on the KMS key of a trail",      H, None,                     M, N, KMS, KEY),
    # A trail's S3 bucket (acted on only if a protected trail delivers to it; other buckets are ignored).
    "PutBucketPolicy":     Rule("policy of a trail's S3 bucket changed",        H, PUT_BACK,                 M, N, S3, BUCKET),
    "DeleteBucketPolicy":  Rule("policy of a trail's S3 bucket deleted",        C, PUT_BACK,                 M, N, S3, BUCKET),
    "PutBucketLifecycle":  Rule("lifecycle of a trail's S3 bucket changed",     H, PUT_BACK,                 M, N, S3, BUCKET),
    "DeleteBucketLifecycle":
                           Rule("lifecycle of a trail's S3 bucket deleted",     L, PUT_BACK,                 L, N, S3, BUCKET),
    "PutBucketVersioning": Rule("versioning of a trail's S3 bucket changed",    H, PUT_BACK,                 M, N, S3, BUCKET),
    "PutBucketAcl":        Rule("ACL of a trail's S3 bucket changed",           H, PUT_BACK,                 M, N, S3, BUCKET),
    "PutBucketPublicAccessBlock":
                           Rule("public access block of a trail's bucket changed", H, PUT_BACK,              M, N, S3, BUCKET),
    "DeleteBucketPublicAccessBlock":
                           Rule("public access block of a trail's bucket removed", H, PUT_BACK,              M, N, S3, BUCKET),
    "PutBucketEncryption": Rule("default encryption of a trail's bucket changed", H, PUT_BACK,               M, N, S3, BUCKET),
    "DeleteBucketEncryption":
                           Rule("default encryption of a trail's bucket removed", H, PUT_BACK,               M, N, S3, BUCKET),
    "DeleteBucket":        Rule("S3 bucket of a trail deleted",                 C, PUT_BACK,                 M, N, S3, BUCKET),
    # Alerted (no baseline of them here): who owns the objects the trail writes, and how long they are locked.
    "PutBucketOwnershipControls":
                           Rule("object ownership of a trail's S3 bucket changed", H, None,                  M, N, S3, BUCKET),
    "PutObjectLockConfiguration":
                           Rule("Object Lock of a trail's S3 bucket changed",   H, None,                     M, N, S3, BUCKET),
    # Intelligent-Tiering's archive tiers: the logs need hours of restore before anyone reads or validates them.
    "PutBucketIntelligentTieringConfiguration":
                           Rule("Intelligent-Tiering archive of a trail's bucket changed", H, None,          M, N, S3, BUCKET),
    "DeleteBucketIntelligentTieringConfiguration":
                           Rule("Intelligent-Tiering archive of a trail's bucket removed", L, None,          L, N, S3, BUCKET),
    # A trail's CloudWatch Logs group (acted on only if a protected trail delivers to it).
    "DeleteLogGroup":      Rule("CloudWatch Logs group of a trail deleted",     H, PUT_BACK,                 M, N, LOGS, GROUP),
    "PutRetentionPolicy":  Rule("retention of a trail's log group changed",     M, PUT_BACK,                 L, N, LOGS, GROUP),
    # Its KMS key: one put on it can be disabled later (the CIS alarms go mute); kept only through an approval.
    "AssociateKmsKey":     Rule("KMS key of a trail's log group changed",       H, PUT_BACK,                 M, N, LOGS, GROUP),
    "DisassociateKmsKey":  Rule("KMS key of a trail's log group disassociated", H, PUT_BACK,                 M, N, LOGS, GROUP),
    # Its metric filters feed alarms; its subscription filters carry the logs on: alerted (no baseline of them here).
    "DeleteMetricFilter":  Rule("metric filter of a trail's log group deleted", H, None,                     M, N, LOGS, GROUP),
    "PutMetricFilter":     Rule("metric filter of a trail's log group changed", H, None,                     M, N, LOGS, GROUP),
    "DeleteSubscriptionFilter":
                           Rule("subscription filter of a trail's log group deleted", H, None,               M, N, LOGS, GROUP),
    "PutSubscriptionFilter":
                           Rule("subscription filter of a trail's log group changed", H, None,               M, N, LOGS, GROUP),
    # A deleted stream's events are gone for good; a data protection policy masks fields for every reader.
    "DeleteLogStream":     Rule("log stream of a trail's log group deleted",    H, None,                     M, N, LOGS, GROUP),
    "PutDataProtectionPolicy":
                           Rule("data protection policy of a trail's log group changed", H, None,            M, N, LOGS, GROUP),
    "DeleteDataProtectionPolicy":
                           Rule("data protection policy of a trail's log group deleted", L, None,            L, N, LOGS, GROUP),
    # A transformer rewrites every record at ingestion (deleteKeys on userIdentity): taken off (DeleteTransformer).
    "PutTransformer":      Rule("log transformer put on a trail's log group",   H, PUT_BACK,                 M, N, LOGS, GROUP),
    # Account-wide: masking, transforming, copying or expiring every group a selection reaches, a trail's among them.
    # Alerted, not deleted: one per account (data protection), the team's other groups depend on it (flows.log_policies).
    "PutAccountPolicy":    Rule("account log policy reaching a trail's log group put", H, None,              M, N, LOGS, LOG_POLICY),
    "DeleteAccountPolicy":  # only a subscription filter policy's: the feed of the trail's records elsewhere stops
                           Rule("account log policy reaching a trail's log group deleted", H, None,          M, N, LOGS, LOG_POLICY),
    # Not undoable from a member account: whoever can must be told at once (the organization trail stops covering it).
    "LeaveOrganization":   Rule("Account left its AWS Organization",            C, None,                     H, C, ORGS, ACCOUNT),
}
# fmt: on

# Not an eventName: what the scheduled sweep reports when it finds a trail weaker than its baseline.
SWEEP_RULE = Rule(
    "CloudTrail trail drifted from its baseline", Severity.HIGH, Heal.RESTORE_BASELINE, Severity.HIGH, Severity.HIGH
)

# Which module of guardian.flows carries out each heal (each exposes ``heal``), and which one scopes and approves
# each kind of subject (``scope``: is it the guardian's business; ``approve``: an exempt change becomes its baseline).
FLOWS: Mapping[Heal, str] = {
    Heal.START_LOGGING: "start_logging",
    Heal.RESTORE_BASELINE: "restore_trail",
    Heal.RESTORE_KEY: "key",
    Heal.RESTORE_RESOURCE: "storage",
    Heal.START_INGESTION: "lake",
    Heal.RESTORE_DATA_STORE: "lake",
    Heal.RESTORE_STORE_SETTINGS: "lake",
    Heal.START_CONFIG_RECORDER: "service_undo",
    Heal.ENABLE_DETECTOR: "service_undo",
}
SUBJECT_FLOWS: Mapping[Subject, str] = {
    Subject.TRAIL: "restore_trail",
    Subject.KEY: "key",
    Subject.BUCKET: "storage",
    Subject.LOG_GROUP: "storage",
    Subject.LOG_POLICY: "log_policies",
}
