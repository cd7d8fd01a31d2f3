"""Read what a report's coverage is judged from (:mod:`guardian_console.coverage`), with the caller's credentials:
who the caller is (STS), the deployment's first record and first digest, the sweep's traces in the period (AWS's
own metrics of its function, ``AWS/Lambda`` Invocations less Errors, and its digests) and its schedule, the chain's
verification (``guardian verify``'s code), and the exemptions and approvers in force, checked against the
guardian's signed baseline of its sweep function.

S3 times are the listing's ``LastModified``: nobody can write an object with an earlier one, so a first record can
only look later than it was (deleted), never earlier.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from guardian.model import signing
from guardian.model.baselines import function_key
from guardian.model.config_values import exempt_principals
from guardian.model.digests import DIGEST_PREFIX, sequence_of
from guardian.ports.errors import describe_failure
from guardian_console.coverage import AccountCoverage, Chain, Coverage, Runs, Settings, account_coverage, bounds
from guardian_console.errors import ConsoleError
from guardian_console.lambda_runs import sweep_runs
from guardian_console.report import with_coverage
from guardian_console.schedule import interval_of

if TYPE_CHECKING:
    from collections.abc import Callable

    from guardian.model.decide import Exemption
    from guardian_console.deployed import Deployed
    from guardian_console.report import Report, Row

__all__ = ["covered", "interval_of", "read"]  # interval_of: read by `verify` too (from guardian_console.schedule)
FIVE_MINUTE_POINTS_KEPT = timedelta(days=63)  # CloudWatch keeps 5-minute points 63 days, hourly ones 455
# The seam with `guardian verify`'s result: the names its head may carry (a Head object, or flat fields).
HEAD_FIELDS = {"key": ("key", "head_key"), "time": ("time", "written_at", "head_time"), "sha256": ("sha256",)}


def covered(report: Report, accounts: list[Any], now: datetime) -> Report:
    """The report with what it covers in each account (each a :class:`guardian_console.sessions.Account`): the chain
    verified with ``guardian verify``'s own code."""
    from guardian_console import verify  # noqa: PLC0415
    from guardian_console.stack import public_key  # noqa: PLC0415

    found = tuple(
        read(
            a.session,
            a.deployed,
            report.start,
            report.end,
            now,
            rows=report.rows,
            verify=verify.online,
            public_key=public_key,
        )
        for a in accounts
    )
    return with_coverage(report, Coverage(report.start, report.end, report.generated_at, found))


def read(
    session: Any,
    deployed: Deployed,
    start: date,
    end: date,
    now: datetime,
    *,
    rows: list[Row],
    verify: Callable[[Any, Deployed, date, date], Any],
    public_key: Callable[[Any, str], signing.PublicKey],
) -> AccountCoverage:
    """One account's coverage of the period; ``verify`` is :func:`guardian_console.verify.online`."""
    s3 = session.client("s3")
    first_evidence = first_written(s3, deployed.evidence_bucket, "evidence/")
    first_digest = first_written(s3, deployed.evidence_bucket, DIGEST_PREFIX, digests_only=True)
    firsts = [t for t in (first_evidence, first_digest) if t is not None]
    return account_coverage(
        account=deployed.account,
        start=start,
        end=end,
        now=now,
        generated_by=caller(session),
        first_record=min(firsts, default=None),
        first_digest=first_digest,
        runs=runs(session, deployed, start, end, now),
        chain=chain(session, deployed, start, end, verify),
        settings=settings(session, deployed, start, end, rows, public_key),
    )


def caller(session: Any) -> str:
    try:
        return str(session.client("sts").get_caller_identity()["Arn"])
    except (ClientError, BotoCoreError) as exc:
        return f"unknown ({describe_failure(exc)})"


def first_written(s3: Any, bucket: str, prefix: str, *, digests_only: bool = False) -> datetime | None:
    """The earliest ``LastModified`` among the first 1,000 keys under ``prefix`` (keys sort by day)."""
    try:
        page = s3.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1000)
    except ClientError as exc:
        raise ConsoleError(f"cannot list s3://{bucket}/{prefix}: {exc}", "the caller needs s3:ListBucket") from exc
    items = [o for o in page.get("Contents", []) if not digests_only or sequence_of(o["Key"]) is not None]
    return min((_utc(o["LastModified"]) for o in items), default=None)


def runs(session: Any, deployed: Deployed, start: date, end: date, now: datetime) -> Runs:
    interval, source = interval_of(session, deployed)
    asked_from, asked_to = bounds(start, end)
    until = min(asked_to, now)
    digests = tuple(_digest_times(session.client("s3"), deployed.evidence_bucket, start, end))
    resolution = 300 if now - asked_from <= FIVE_MINUTE_POINTS_KEPT else 3600
    try:
        points = tuple(sweep_runs(session.client("cloudwatch"), deployed.sweep_function, asked_from, until, resolution))
    except (ClientError, BotoCoreError) as exc:
        return Runs(interval, source, (), resolution, digests, describe_failure(exc))
    return Runs(interval, source, points, resolution, digests)


def _digest_times(s3: Any, bucket: str, start: date, end: date) -> list[datetime]:
    """When each digest written in the period was written (a digest's key carries the day it was written)."""
    after = f"{DIGEST_PREFIX}{start - timedelta(days=1):%Y/%m/%d}/~"
    last = f"{DIGEST_PREFIX}{end:%Y/%m/%d}/~"
    times: list[datetime] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=DIGEST_PREFIX, StartAfter=after):
        for item in page.get("Contents", []):
            if item["Key"] > last:
                return times
            if sequence_of(item["Key"]) is not None:
                times.append(_utc(item["LastModified"]))
    return times


def chain(session: Any, deployed: Deployed, start: date, end: date, verify: Callable[..., Any]) -> Chain:
    """``guardian verify`` over the period, and the head its result names (see :data:`HEAD_FIELDS`)."""
    try:
        verdict = verify(session, deployed, start, end)
    except ConsoleError as exc:
        return Chain("not verified", note=str(exc))
    head = getattr(verdict, "head", None) or verdict
    key, moment, sha = (_field(head, names) for names in HEAD_FIELDS.values())
    note = "" if key else "this verify does not report the chain's head"
    return Chain(
        "INTACT" if verdict.ok else "BROKEN",
        digests=int(verdict.digests),
        records=int(verdict.records),
        breaks=tuple(str(b) for b in verdict.breaks),
        head_key=key,
        head_time=moment,
        head_sha256=sha,
        note=note,
        warnings=tuple(str(w) for w in getattr(verdict, "warnings", ())),
    )


def _field(source: object, names: tuple[str, ...]) -> str | None:
    for name in names:
        value = source.get(name) if isinstance(source, dict) else getattr(source, name, None)
        if value:
            return value.isoformat().replace("+00:00", "Z") if isinstance(value, datetime) else str(value)
    return None


def settings(  # noqa: PLR0917
    session: Any,
    deployed: Deployed,
    start: date,
    end: date,
    rows: list[Row],
    public_key: Callable[[Any, str], signing.PublicKey],
) -> Settings:
    """The sweep function's exemptions and approvers, vouched for by its signed baseline (the digest of its
    environment); their changes: the baseline's versions written in the period (a confirmed deployment re-records
    it) and the alerted changes of the guardian's functions' configuration."""
    from guardian.flows.own_functions import snapshot  # noqa: PLC0415 - the same digest the sweep holds it to

    changes = tuple(
        f"{r.time}: {r.event} by {r.actor or 'not recorded'} ({r.outcome})"
        for r in rows
        if r.account == deployed.account and r.event.startswith("UpdateFunctionConfiguration")
    )
    try:
        found = session.client("lambda").get_function_configuration(FunctionName=deployed.sweep_function)
    except (ClientError, BotoCoreError) as exc:
        return Settings((), (), f"not read: {describe_failure(exc)}", vouched=False, changes=changes)
    variables = dict((found.get("Environment") or {}).get("Variables") or {})
    try:
        exempt = _names(exempt_principals(variables.get("GUARDIAN_EXEMPT_PRINCIPALS", "")))
        approvers = _names(exempt_principals(variables.get("GUARDIAN_APPROVERS", ""), "GUARDIAN_APPROVERS"))
    except ValueError as exc:
        return Settings((), (), f"not readable: {exc}", vouched=False, changes=changes)
    digest = snapshot({"Environment": {"Variables": variables}}, None)["Environment"]
    vouched, source, recorded = _baseline(session, deployed, digest, public_key, start, end)
    return Settings(exempt, approvers, source, vouched, changes + recorded)


def _baseline(  # noqa: PLR0917
    session: Any,
    deployed: Deployed,
    digest: str,
    public_key: Callable[[Any, str], signing.PublicKey],
    start: date,
    end: date,
) -> tuple[bool, str, tuple[str, ...]]:
    s3, key = session.client("s3"), function_key(deployed.sweep_function)
    try:
        document = json.loads(s3.get_object(Bucket=deployed.evidence_bucket, Key=key)["Body"].read())
        signing.verify(key, document, public_key(session, deployed.signing_key), key_id=deployed.signing_key)
        versions = s3.list_object_versions(Bucket=deployed.evidence_bucket, Prefix=key).get("Versions", [])
    except (ClientError, BotoCoreError, ValueError, ConsoleError, signing.SignatureError) as exc:
        return False, f"the sweep function's settings; its signed baseline {key} not usable ({exc})", ()
    asked_from, asked_to = bounds(start, end)
    recorded = tuple(
        f"{_utc(v['LastModified']):%Y-%m-%d %H:%M}Z: settings re-recorded by a deployment CloudFormation confirmed"
        for v in versions
        if v["Key"] == key and asked_from <= _utc(v["LastModified"]) < asked_to
    )
    if (document.get("function") or {}).get("Environment") != digest:
        return False, f"the sweep function's settings now, NOT those its signed baseline {key} records", recorded
    return True, f"the sweep function's settings, as its signed baseline {key} records them", recorded


def _names(found: tuple[Exemption, ...]) -> tuple[str, ...]:
    return tuple(e.pattern + (f" (until {e.until:%Y-%m-%d %H:%M}Z)" if e.until else "") for e in found)


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
