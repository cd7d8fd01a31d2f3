"""Observe or heal: what the guardian does with a change it would undo, and the calls it would have made.

``heal`` (the default) undoes; ``observe`` alerts and keeps evidence of the exact calls the undo would have made
(:class:`PlannedCall`), and changes nothing in the account. Set for a deployment (``mode`` in cdk.json, globally or
per entry of ``environments``; the functions' ``GUARDIAN_MODE``) and, per trail, by the tag :data:`MODE_TAG`.

A tag can only make the guardian stricter, never weaker: an insider with PowerUserAccess can write tags. Under
``observe``, a trail tagged ``heal`` is healed (a pilot, one trail at a time); under ``heal``, a tag ``observe`` is
ignored and alerted (:func:`ignored_tag`): it reads as an attempt to switch healing off.

Observe applies to what the guardian guards for the customer: trails, their buckets, log groups and KMS keys,
CloudTrail Lake stores, the opt-in undos of watch rules. The guardian's own resources (its rules, functions, aliases,
alert path, secrets, buckets) are still repaired: no team's pipeline manages them (CloudFormation's own calls are
confirmed and kept), and a guardian whose rules can be disabled in silence alerts on nothing, observing or not.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping


class Mode(StrEnum):
    HEAL = "heal"
    OBSERVE = "observe"


MODE_TAG = "cloudtrail-guardian:mode"
# Operations that read: made in observe as in heal. Every other operation is a write.
READ_PREFIXES = ("Get", "List", "Describe", "Lookup", "Head", "Query", "Scan", "BatchGet", "Verify", "Search")
# Writes observe still makes: to the guardian's own evidence bucket (records, baselines, their tags), its alerts,
# its signatures, its own DynamoDB tables (the activity table: repeats, the alert ledger, alert groups), its metrics.
EVIDENCE_WRITES = frozenset({"PutObject", "PutObjectTagging"})
OWN_WRITES = frozenset({("sns", "Publish"), ("kms", "Sign"), ("cloudwatch", "PutMetricData")})


@dataclass(frozen=True)
class PlannedCall:
    """One call the undo would have made: the service (boto3's name for it), the operation, the Region (None: the
    function's own), and the parameters exactly as the undo passed them (made JSON-safe)."""

    service: str
    operation: str
    region: str | None
    parameters: Mapping[str, object]

    def to_json(self) -> dict[str, object]:
        return {
            "service": self.service,
            "operation": self.operation,
            "region": self.region,
            "parameters": dict(self.parameters),
        }


def is_read(operation: str) -> bool:
    return operation.startswith(READ_PREFIXES)


def allowed_in_observe(service: str, operation: str, parameters: Mapping[str, object], evidence_bucket: str) -> bool:
    """Whether observe makes this call: reads, and the guardian's own writes (evidence, alerts, its own tables)."""
    if is_read(operation) or service == "dynamodb" or (service, operation) in OWN_WRITES:
        return True
    return service == "s3" and operation in EVIDENCE_WRITES and parameters.get("Bucket") == evidence_bucket


def parse_mode(value: str, where: str) -> Mode:
    """``observe`` or ``heal`` (case and spaces forgiven); anything else names ``where`` it was written."""
    text = value.strip().lower()
    try:
        return Mode(text)
    except ValueError:
        raise ValueError(f"{where} must be observe or heal, got {value!r}") from None


def tag_mode(tags: Iterable[tuple[str, str]]) -> Mode | None:
    """The mode a trail's tags ask for, if any (an unknown value asks for nothing)."""
    for key, value in tags:
        if key == MODE_TAG:
            try:
                return Mode(value.strip().lower())
            except ValueError:
                return None
    return None


def effective(mode: Mode | str, tags: Iterable[tuple[str, str]]) -> Mode:
    """The mode for one trail: a tag may turn observe into heal, never heal into observe."""
    if Mode(mode) is Mode.OBSERVE and tag_mode(tags) is Mode.HEAL:
        return Mode.HEAL
    return Mode(mode)


def ignored_tag(mode: Mode | str, tags: Iterable[tuple[str, str]]) -> bool:
    """A trail tagged ``observe`` under ``heal``: the tag is ignored (the trail is healed) and alerted."""
    return Mode(mode) is Mode.HEAL and tag_mode(tags) is Mode.OBSERVE
