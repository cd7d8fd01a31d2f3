"""The controls the evidence supports, by their current numbers, each with one line on how: what the report's
"Controls supported" section, its JSON ``controls`` and docs/evidence.md list. Pure.

Numbers checked against the published texts (PCI DSS v4.0/v4.0.1, the 2017 Trust Services Criteria with their 2022
points of focus, ISO/IEC 27001:2022 Annex A, NIST SP 800-53 rev. 5, CIS AWS Foundations Benchmark v3.0.0); PCI
DSS v3.2.1's numbering (10.5) is gone. The evidence *supports* a control: it is what an assessor samples, never a
claim that the control is met by the guardian alone.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Control:
    framework: str  # "PCI DSS v4.0"
    ref: str  # "10.2.1.6"
    title: str  # the control's own short title
    how: str  # one line: how the evidence supports it

    @property
    def name(self) -> str:
        return f"{self.framework} {self.ref}"

    def to_json(self) -> dict[str, str]:
        return {"control": self.name, "framework": self.framework, "id": self.ref, "title": self.title, "how": self.how}


PCI, SOC2, ISO, NIST, CIS = (
    "PCI DSS v4.0",
    "SOC 2",
    "ISO/IEC 27001:2022",
    "NIST SP 800-53 rev. 5",
    "CIS AWS Foundations v3.0.0",
)

CONTROLS: tuple[Control, ...] = (
    Control(
        PCI,
        "10.2.1",
        "Audit logs are enabled and active",
        "A stopped, deleted or narrowed trail is restored to its baseline (never below logging management events, "
        "read and write) and the restore verified; each record says when and how.",
    ),
    Control(
        PCI,
        "10.2.1.6",
        "Audit logs capture starting, stopping or pausing of audit logs",
        "Every StopLogging, StartLogging, CreateTrail and DeleteTrail is a record with its actor, time and outcome, "
        "kept apart from the trail it concerns.",
    ),
    Control(
        PCI,
        "10.3.2",
        "Audit log files are protected to prevent modifications",
        "The trails' buckets (policy, versioning, lifecycle, ACL, public access block, encryption) are held at "
        "their baselines; every weakening is a record and is undone.",
    ),
    Control(
        PCI,
        "10.3.4",
        "Change detection on audit logs",
        "The evidence is under S3 Object Lock and in a signed digest chain: guardian verify names any record "
        "deleted, altered or added outside it.",
    ),
    Control(
        PCI,
        "10.7.2",
        "Failures of audit logging mechanisms are detected, alerted and addressed promptly",
        "Each failure of logging is detected on its event or by the sweep, alerted, and healed: see outcome, "
        "detected by and restore seconds.",
    ),
    Control(
        PCI,
        "10.7.3",
        "Failures are responded to promptly: security functions restored, duration documented",
        "Each heal records the blind window (the failure's start and end, from CloudTrail's own times), who caused "
        "it and the verified restore.",
    ),
    Control(
        SOC2,
        "CC7.2",
        "The entity monitors system components for anomalies indicative of malicious acts",
        "Every change to a protected trail, its bucket, log group or key, and to the guardian itself, is alerted "
        "with a severity and recorded.",
    ),
    Control(
        SOC2,
        "CC7.3",
        "The entity evaluates security events",
        "Each record states the guardian's decision and why (severity, outcome, reason); the report counts them "
        "by outcome and severity.",
    ),
    Control(
        SOC2,
        "CC8.1",
        "Changes are authorized and approved",
        "A change to a trail is kept only when approved (an approver proven by STS, with a reason, or an exempt "
        "call CloudTrail confirms); all else is undone.",
    ),
    Control(
        ISO,
        "A.8.15",
        "Logging",
        "CloudTrail logging is kept on and its storage protected; the guardian's own records are protected "
        "(Object Lock, signed digests) and reported.",
    ),
    Control(
        ISO,
        "A.8.16",
        "Monitoring activities",
        "Tampering with logging is detected on its event and by the periodic sweep, alerted and acted upon; this "
        "report is the period's record.",
    ),
    Control(
        NIST,
        "AU-6",
        "Audit record review, analysis, and reporting",
        "Tampering is alerted as it happens and reported per period with its evidence, for review.",
    ),
    Control(
        NIST,
        "AU-9",
        "Protection of audit information",
        "Trail configuration, bucket and log group are held at signed baselines; the evidence is under Object Lock "
        "and in a signed digest chain.",
    ),
    Control(
        NIST,
        "AU-12",
        "Audit record generation",
        "Audit record generation is kept on: a stopped or narrowed trail is restored, never below management "
        "events read and write.",
    ),
    Control(
        NIST,
        "SI-4",
        "System monitoring",
        "The logging system is monitored continuously: every change event, and a sweep at a fixed interval for "
        "what no event reported.",
    ),
    Control(
        CIS,
        "3.1",
        "Ensure CloudTrail is enabled in all regions",
        "A stopped or deleted trail is restored and its baseline (multi-Region, management events) held; every "
        "restore is a record.",
    ),
    Control(
        CIS,
        "3.2",
        "Ensure CloudTrail log file validation is enabled",
        "Log file validation is held at the trail's baseline: turned off, it is turned back on and recorded.",
    ),
    Control(
        CIS,
        "3.5",
        "Ensure CloudTrail logs are encrypted at rest using KMS CMKs",
        "The trail's KMS key is held at its baseline: a key disabled, scheduled for deletion or whose policy "
        "changed is alerted and restored.",
    ),
    Control(
        CIS,
        "4.5",
        "Ensure CloudTrail configuration changes are monitored",
        "Every CloudTrail configuration change is alerted, including PutEventSelectors and PutInsightSelectors, "
        "which the benchmark's metric filter misses.",
    ),
)
