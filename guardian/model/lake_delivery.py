"""Where and when the alerts' OCSF Detection Findings go into a Security Lake custom source (``securityLake``).

Pure. The event path writes each alert's finding once, as JSON, into the guardian's own bucket
(:mod:`guardian.model.ocsf`); the sweep turns them into the custom source's Parquet objects
(:mod:`guardian.model.ocsf_parquet`), as Security Lake asks of a custom source: Parquet, partitioned
``region=/accountId=/eventDay=``, written every 5 minutes to a day, sorted by time.

Windows, not a cursor: time is cut into windows of :attr:`LakeTarget.minutes` (the sweep's interval, 5 at least),
aligned to the epoch, and a finding belongs to the window its object was written in (its LastModified, set by S3).
Each sweep writes the last :data:`REDONE` completed windows, one object per window and partition, named by the
window: a second writing of a window writes the same key with the same rows (nothing is duplicated in the lake), and a
sweep that failed or did not run is made good by the next ones. No state is kept that anyone could edit.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

REDONE = 3  # completed windows each sweep writes (again): two sweeps may fail or be skipped without a gap
MIN_MINUTES = 5  # Security Lake: a custom source writes no more often than every 5 minutes
SOURCE_KEY = re.compile(r"^ocsf/detection-finding/region=([a-z0-9-]{1,32})/accountId=(\d{12})/eventDay=(\d{8})/[^/]+$")
LOCATION = re.compile(
    r"^s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/(ext/[A-Za-z0-9_.-]{1,64}/(?:[A-Za-z0-9_.-]{1,64}/)?)$"
)
ROLE_ARN = re.compile(r"^arn:aws(?:-[a-z]+)*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
EXTERNAL_ID = re.compile(r"^[\w+=,.@:/-]{2,1224}$")
REGION = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-\d$")
LAKE_BUCKET = re.compile(r"^aws-security-data-lake-([a-z]{2}(?:-[a-z]+)+-\d)-[a-z0-9]+$")


@dataclass(frozen=True)
class LakeTarget:
    """The custom source, as CreateCustomLogSource answered: its location and the role the guardian writes as."""

    bucket: str
    prefix: str  # "ext/<sourceName>/" (and its version, where the source has one)
    region: str  # the lake bucket's
    role_arn: str  # the provider role Security Lake made for the source
    external_id: str
    minutes: int  # a window's length


def parse_target(text: str) -> LakeTarget:
    """``GUARDIAN_SECURITY_LAKE`` (JSON, written by the stack): a ValueError naming what is wrong."""
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"GUARDIAN_SECURITY_LAKE is not JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise ValueError("GUARDIAN_SECURITY_LAKE must be a JSON object")  # noqa: TRY004 - one error type for the setting
    unknown = sorted(set(raw) - {"location", "roleArn", "externalId", "region", "minutes"})
    if unknown:
        raise ValueError(f"GUARDIAN_SECURITY_LAKE: unknown key(s) {', '.join(unknown)}")
    location = LOCATION.match(str(raw.get("location", "")))
    if location is None:
        raise ValueError("GUARDIAN_SECURITY_LAKE location must be s3://<lake bucket>/ext/<source name>/")
    role, external = str(raw.get("roleArn", "")), str(raw.get("externalId", ""))
    if not ROLE_ARN.match(role):
        raise ValueError("GUARDIAN_SECURITY_LAKE roleArn must be an IAM role ARN (the custom source's provider role)")
    if not EXTERNAL_ID.match(external):
        raise ValueError("GUARDIAN_SECURITY_LAKE externalId must be 2 to 1,224 of the characters IAM allows")
    region = str(raw.get("region") or lake_region(location[1]) or "")
    if not REGION.match(region):
        raise ValueError("GUARDIAN_SECURITY_LAKE region is missing and the bucket's name does not say it")
    minutes = raw.get("minutes", MIN_MINUTES)
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not MIN_MINUTES <= minutes <= 1440:
        raise ValueError("GUARDIAN_SECURITY_LAKE minutes must be a whole number from 5 to 1440")
    return LakeTarget(location[1], location[2], region, role, external, minutes)


def lake_region(bucket: str) -> str | None:
    """The Region in a Security Lake bucket's name (``aws-security-data-lake-<region>-<id>``)."""
    match = LAKE_BUCKET.match(bucket)
    return match[1] if match else None


def windows(now: datetime, minutes: int, count: int = REDONE) -> list[tuple[datetime, datetime]]:
    """The last ``count`` completed windows before ``now``, oldest first."""
    length = timedelta(minutes=minutes)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    end = epoch + ((now - epoch) // length) * length
    return [(end - length * n, end - length * (n - 1)) for n in range(count, 0, -1)]


def source_days(spans: list[tuple[datetime, datetime]]) -> list[str]:
    """The ``eventDay`` partitions of the guardian's bucket that can hold objects written in ``spans``: an object's
    day is its finding's time, taken just before S3 stamped it, so the day before the first window's start too."""
    first = spans[0][0] - timedelta(minutes=1)
    last = spans[-1][1]
    days, day = [], first.date()
    while day <= last.date():
        days.append(day.strftime("%Y%m%d"))
        day += timedelta(days=1)
    return days


def source_prefix(region: str, account: str, day: str) -> str:
    return f"ocsf/detection-finding/region={region}/accountId={account}/eventDay={day}/"


def partition_of(key: str) -> tuple[str, str] | None:
    """(Region, account) of a finding object's key; None for a key the guardian does not write."""
    match = SOURCE_KEY.match(key)
    return (match[1], match[2]) if match else None


def lake_key(target: LakeTarget, region: str, account: str, moment_ms: int, window_start: datetime) -> str:
    """The custom source's object for a window and partition (the finding's own day, as Security Lake partitions)."""
    day = datetime.fromtimestamp(moment_ms / 1000, UTC).strftime("%Y%m%d")
    return (
        f"{target.prefix}region={region}/accountId={account}/eventDay={day}/"
        f"cloudtrail-guardian-{window_start:%Y%m%dT%H%M}Z.parquet"
    )
