"""What an event names: the trail (by name or ARN, with its home Region), the KMS key, the bucket, log group or event
data store. Pure; :func:`guardian.model.events.parse_event` uses it.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Any

from guardian.model.refs import CLOUDTRAIL_SOURCE, LOGS_SOURCE, S3_SOURCE, KeyRef, ResourceRef, TrailRef

if TYPE_CHECKING:
    from collections.abc import Mapping

# Region and account are deliberately loose: anonymised corpora use fake Regions ("megov-westwest-1r") and
# 9- or 13-digit account ids, and the parser must not choke on them.
_TRAIL_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):cloudtrail:(?P<region>[a-z0-9-]+):(?P<account>\d+):trail/(?P<name>.+)$"
)
_ARN = re.compile(r"^arn:(?P<partition>aws[a-z-]*):")
# CloudTrail's rule for trail names: 3 to 128 letters, digits, periods, underscores and hyphens, starting and ending
# with a letter or digit.
TRAIL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,126}[A-Za-z0-9]$")
# A key's, a log group's, a data store's ARN: compiled on first use (:func:`_compiled`), since a trail's event (the
# heal path's cold start) names none of them.
_KEY_ARN = r"^arn:aws[a-z-]*:kms:(?P<region>[a-z0-9-]+):(?P<account>\d+):key/(?P<id>.+)$"
_LOG_GROUP_ARN = r"^arn:aws[a-z-]*:logs:(?P<region>[a-z0-9-]+):(?P<account>\d+):log-group:(?P<name>[^:*]+)(?::\*)?$"
_DATA_STORE_ARN = r"^arn:aws[a-z-]*:cloudtrail:(?P<region>[a-z0-9-]+):(?P<account>\d+):eventdatastore/(?P<id>.+)$"


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def trail_ref(
    request: Mapping[str, Any] | None,
    response: Mapping[str, Any] | None,
    aws_region: str | None,
    account_id: str | None,
    partition: str,
    *,
    problems: list[str],
) -> TrailRef | None:
    """Find the trail in whichever field this eventName uses; the response's ARN is authoritative. A name CloudTrail
    would refuse (``InvalidTrailNameException``) names no trail: it is a problem, never a key to read or a call."""
    candidates: list[object] = []
    if response:
        candidates.append(response.get("trailARN"))
    if request:
        candidates += [request.get("name"), request.get("trailName"), request.get("resourceId")]
    for candidate in candidates:
        if not isinstance(candidate, str) or not candidate:
            continue
        match = _TRAIL_ARN.match(candidate)
        name = match["name"] if match else candidate
        if (match or not _ARN.match(candidate)) and not TRAIL_NAME.match(name):
            problems.append(f"{_shown(candidate)} is no trail name CloudTrail accepts: the event names no trail")
            continue
        if match:
            return TrailRef(
                name=match["name"], region=match["region"], account_id=match["account"], given=candidate, arn=candidate
            )
        if _ARN.match(candidate):
            continue  # an ARN of something else (an event data store, a channel): not a trail
        if aws_region:
            arn = f"arn:{partition}:cloudtrail:{aws_region}:{account_id}:trail/{candidate}" if account_id else None
            return TrailRef(name=candidate, region=aws_region, account_id=account_id, given=candidate, arn=arn)
    return None


def _shown(value: str) -> str:
    """A value from the event, short enough to quote in a problem."""
    return repr(value if len(value) <= 64 else value[:64] + "…")


def key_ref(request: Mapping[str, Any] | None, aws_region: str | None, account_id: str | None) -> KeyRef | None:
    """KMS names the key in requestParameters.keyId, as an id or an ARN (an ARN carries the key's Region)."""
    value = request.get("keyId") if request else None
    if not isinstance(value, str) or not value or value.startswith("alias/"):
        return None
    match = _compiled(_KEY_ARN).match(value)
    if match:
        return KeyRef(key_id=match["id"], region=match["region"], account_id=match["account"])
    if aws_region and not value.startswith("arn:"):
        return KeyRef(key_id=value, region=aws_region, account_id=account_id)
    return None


def resource_ref(
    source: str | None, request: Mapping[str, Any] | None, aws_region: str | None, account_id: str | None
) -> ResourceRef | None:
    """The bucket (S3), log group (CloudWatch Logs) or event data store (CloudTrail Lake) a call names, if any."""
    if not request:
        return None
    field, kind = {
        S3_SOURCE: ("bucketName", "bucket"),
        LOGS_SOURCE: ("logGroupName", "log_group"),
        CLOUDTRAIL_SOURCE: ("eventDataStore", "event_data_store"),
    }.get(source or "", ("", ""))
    value = request.get(field) if field else None
    if kind == "log_group" and not value:  # newer calls name the group by logGroupIdentifier or resourceIdentifier
        value = request.get("logGroupIdentifier") or request.get("resourceIdentifier")
    if kind == "log_group" and not value and request.get("policyType"):  # an account policy, Put or Delete
        kind, value = "log_account_policy", request.get("policyName")
    if not isinstance(value, str) or not value:
        return None
    if kind == "log_group" and value.startswith("arn:"):
        match = _compiled(_LOG_GROUP_ARN).match(value)  # anything else (a query-result ARN) names no log group
        return ResourceRef(kind, match["name"], match["region"], match["account"]) if match else None
    if kind == "event_data_store":
        match = _compiled(_DATA_STORE_ARN).match(value)
        if match:
            return ResourceRef(kind, value, match["region"], match["account"])
    return ResourceRef(kind, value, aws_region, account_id)


def partition_of(arn: str) -> str:
    match = _ARN.match(arn)
    return match["partition"] if match else "aws"
