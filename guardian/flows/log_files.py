"""Each protected trail's own log files, validated by the sweep against CloudTrail's signed digest chain
(:mod:`guardian.model.log_digests`): a log or digest file deleted (GOVERNANCE retention bypassed) or changed after
delivery is alerted CRITICAL, naming it.

Only trails with log file validation on (the floor's and the sentinel's). Nothing is sent while GetTrailStatus
(read by the sweep anyway) reports the same LatestDigestDeliveryTime as when this process last validated the trail:
digests come hourly, so a trail costs nothing in most sweeps. Otherwise: one read of where the last validation got
to (signed, as baselines are: the insider cannot move it past a deletion), for a multi-Region trail one listing of
the Regions it wrote digests for (also those the sweep does not cover), and per Region one ListObjectsV2 from the last
digest validated; for new digests, one ListPublicKeys, each digest and the log files it
lists read once, and the new position written (signed). At most :data:`~guardian.model.log_digests.MAX_DIGESTS`
digests per Region and sweep: a backlog is taken over several. CloudTrail reporting a digest delivered later than
any in the bucket means digests were deleted as they arrived: alerted too.
A file deleted after it was validated is not seen here: the SCP (``AWSLogs/`` deletes denied) and the sentinel's
COMPLIANCE Object Lock stop that.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from guardian.flows import baselines
from guardian.flows.deliver import deliver
from guardian.flows.log_denied import DENIED, expected_keys, unreadable_file
from guardian.flows.sweep_checks import report_refused
from guardian.model.decide import Decision
from guardian.model.findings import sweep_event
from guardian.model.log_digests import (
    FIRST_WINDOW,
    LISTED,
    MAX_DIGESTS,
    Link,
    digest_end,
    digest_folder,
    digest_problems,
    digest_root,
    digests_vanished,
    first_start_after,
    is_trail_digest,
    link_problems,
    links_of,
    log_problems,
    public_keys,
    read_digest,
    regions_in,
    state_document,
    state_key,
)
from guardian.model.results import Result, iso
from guardian.model.rules import SWEEP_RULE, Action, Outcome, Severity
from guardian.ports.errors import describe_error

if TYPE_CHECKING:
    from collections.abc import Iterable

    from guardian.flows.workers import Workers
    from guardian.model.config import Config
    from guardian.model.signing import PublicKey
    from guardian.model.trail import TrailState
    from guardian.ports.calls import Everything
    from guardian.ports.invocation import Invocation

LOG = logging.getLogger(__name__)
READERS = 8
# Per trail ARN, CloudTrail's LatestDigestDeliveryTime when this process last validated every digest it had: while
# GetTrailStatus (read by the sweep anyway) reports the same time, there is nothing new and no request is made. Kept
# in memory only (the insider cannot write it); a cold start validates once from the signed position.
_VALIDATED_AT: dict[str, datetime] = {}


@dataclass(frozen=True)
class LogCheck:
    trail: str  # its ARN
    status: str  # valid, nothing_new, broken (alerted), not_readable, not_validated, no_bucket
    problems: tuple[str, ...] = ()
    digests: int = 0  # digests validated this sweep
    caught_up: bool = True  # False: more digests than one sweep takes are waiting


def check_log_files(
    aws: Everything,
    config: Config,
    protected: Iterable[TrailState],
    work: Workers,
    *,
    started: datetime,
    run: Invocation,
) -> tuple[LogCheck, ...]:
    """Every protected trail with log file validation on, at once on the sweep's pool."""
    trails = [t for t in protected if t.log_file_validation]

    def one(trail: TrailState) -> LogCheck:
        if trail.organization:  # members' files lie under the organization's id: validated in the management account
            return LogCheck(trail.arn, "not_validated")
        delivered = trail.digest_delivered_at
        if delivered is not None and _VALIDATED_AT.get(trail.arn) == delivered:
            return LogCheck(trail.arn, "nothing_new")
        try:
            check = validate_trail(aws, config, trail, started=started, run=run)
        except ClientError as exc:
            code, _ = describe_error(exc)
            if code == "NoSuchBucket":  # the bucket check alerts it (and recreates it): no log file to validate
                return LogCheck(trail.arn, "no_bucket")
            if code not in DENIED:
                raise
            # Typically a log-archive bucket in another account, or log files under a KMS key the sweep may not use.
            LOG.warning("trail log files not readable", extra={"trail": trail.arn, "error_code": code})
            return LogCheck(trail.arn, "not_readable")
        if delivered is not None and check.caught_up:
            _VALIDATED_AT[trail.arn] = delivered
        return check

    return tuple(work.map(one, trails))


def validate_trail(
    aws: Everything, config: Config, trail: TrailState, *, started: datetime, run: Invocation
) -> LogCheck:
    """Validate the digests CloudTrail delivered for ``trail`` since the last sweep, in each Region it logs in."""
    key = state_key(trail.home_region, trail.name)
    document, refused = baselines.read_verified(aws, key)
    if refused is not None:  # a forged position could skip a deletion: alerted, and the last verified one used
        report_refused(aws, config, refused, trail.ref(config.account_id), started=started, run=run)
    links = links_of(document)
    regions = [trail.home_region]
    if trail.multi_region:  # every Region CloudTrail wrote digests for, the ones the sweep does not cover too
        root = digest_root(trail.s3_prefix, trail.arn.split(":")[4])
        written = regions_in(root, aws.log_folders(trail.s3_bucket, root, trail.home_region))
        regions = sorted({trail.home_region, *written, *links})
    moved = dict(links)
    problems: list[str] = []
    replaced: list[str] = []  # log files the sweep may not read, for no cause it can prove: HIGH
    count, caught_up = 0, True
    for region in regions:
        link, found, validated, complete = _validate_region(
            aws, trail, region, links.get(region), started, replaced=replaced
        )
        problems += found
        count += validated
        caught_up = caught_up and complete
        if link is not None:
            moved[region] = link
    if caught_up:  # every digest in the bucket seen: CloudTrail delivered none since that is not there
        ends = [end for link in moved.values() if (end := digest_end(link.key)) is not None]
        problems += digests_vanished(trail.digest_delivered_at, max(ends, default=started - FIRST_WINDOW))
    if problems:  # the alert first: the position moves on only once the security team has it
        _report(aws, config, trail, problems, started=started, run=run)
    if replaced:
        _report(aws, config, trail, replaced, started=started, run=run, severity=Severity.HIGH)
    if moved != links:
        baselines.write_signed(aws, key, state_document(trail.arn, moved, recorded_at=str(iso(run.clock()))))
    status = "broken" if problems or replaced else ("valid" if count else "nothing_new")
    return LogCheck(trail.arn, status, (*problems, *replaced), count, caught_up)


def _validate_region(
    aws: Everything, trail: TrailState, region: str, before: Link | None, started: datetime, *, replaced: list[str]
) -> tuple[Link | None, list[str], int, bool]:
    """(the last digest now validated, what is wrong, how many digests were validated, whether every digest listed
    was) for one Region. A listing of :data:`~guardian.model.log_digests.LISTED` keys may have left some out."""
    account = trail.arn.split(":")[4]
    folder = digest_folder(trail.s3_prefix, account, region)
    start_after = before.key if before else first_start_after(folder, started)
    listed = aws.log_keys(trail.s3_bucket, folder, start_after, trail.home_region, LISTED)
    mine = sorted(
        k
        for k in listed
        if is_trail_digest(k, account=account, region=region, trail=trail.name, home_region=trail.home_region)
    )
    if before is None:  # nothing validated yet: the last day only
        mine = [k for k in mine if (digest_end(k) or started) >= started - FIRST_WINDOW]
    complete = len(mine) <= MAX_DIGESTS and len(listed) < LISTED
    mine = mine[:MAX_DIGESTS]
    if not mine:
        return None, [], 0, complete
    oldest = digest_end(mine[0]) or started
    keys = public_keys(aws.cloudtrail_public_keys(region, oldest - timedelta(hours=1), started))
    problems: list[str] = []
    for digest_key in mine:
        found, signature = _validate_digest(aws, trail, digest_key, before, keys, replaced=replaced)
        problems += found
        before = Link(digest_key, signature)
    return before, problems, len(mine), complete


def _validate_digest(
    aws: Everything,
    trail: TrailState,
    key: str,
    before: Link | None,
    keys: dict[str, PublicKey],
    *,
    replaced: list[str],
) -> tuple[list[str], str]:
    """What is wrong with one digest and the log files it lists, and its signature (what the next one must name).
    A log file the sweep may not read is added to ``replaced`` unless it is explained (:mod:`.log_denied`)."""
    read = aws.log_object(trail.s3_bucket, key, trail.home_region)
    if read is None:
        return [f"digest file {key} is missing (deleted as it was being validated)"], ""
    digest = read_digest(trail.s3_bucket, key, *read)
    if isinstance(digest, str):
        return [digest], {k.lower(): v for k, v in read[1].items()}.get("signature", "")
    problems = digest_problems(digest, keys) + link_problems(digest, before)
    listed = digest.log_files()

    unreadable: set[str] = set()
    lock, known = threading.Lock(), list[set[str]]()

    def expected() -> set[str]:  # read once per digest, and only if a file is refused
        with lock:
            if not known:
                known.append(expected_keys(aws, trail))
            return known[0]

    def fetch(item: tuple[str, str, str]) -> tuple[str, bytes | None]:
        bucket, log_key, _ = item
        try:
            found = aws.log_object(bucket, log_key, trail.home_region)
        except ClientError as exc:  # under a KMS key the sweep may not use: the trail's own, or one put there since
            if describe_error(exc)[0] not in DENIED:
                raise
            problem, gone = unreadable_file(aws, trail, (bucket, log_key), exc, expected)
            if gone:
                return log_key, None
            unreadable.add(log_key)
            if problem:
                replaced.append(problem)
            return log_key, b""
        return log_key, None if found is None else found[0]

    with ThreadPoolExecutor(max_workers=READERS) as pool:
        found = dict(pool.map(fetch, listed))
    return problems + log_problems(digest, found, unreadable), digest.signature


def _report(
    aws: Everything,
    config: Config,
    trail: TrailState,
    problems: list[str],
    *,
    started: datetime,
    run: Invocation,
    severity: Severity = Severity.CRITICAL,
) -> None:
    """One alert per trail and set of problems (the same problems seen again are the same record): CRITICAL for a
    file that fails validation, HIGH for one the sweep may not read, for no cause it can prove."""
    digest = hashlib.sha256("\n".join(problems).encode("utf-8", "backslashreplace")).hexdigest()[:16]
    kind = "log-files" if severity is Severity.CRITICAL else "log-files-replaced"
    event, ref = sweep_event(
        trail,
        account_id=config.account_id,
        detected_at=started,
        details={"log_file_problems": problems[:100]},
        event_id=f"sweep-{kind}-{trail.home_region}-{trail.name}-{digest}",
    )
    shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
    reason = (
        f"the log files of trail {trail.name} fail CloudTrail's own validation: {shown}. A log or digest file was "
        f"deleted or changed after delivery to bucket {trail.s3_bucket}: the record of what happened is gone. "
        "Compare with another copy (the sentinel trail, the security account) to see what it hid"
        if severity is Severity.CRITICAL
        else f"altered log files of trail {trail.name} in bucket {trail.s3_bucket}: {shown}. Its content cannot be "
        "checked against CloudTrail's digest: compare with another copy (the sentinel trail, the security account)"
    )
    decision = Decision(Action.ALERT, Outcome.ALERTED, severity, reason, SWEEP_RULE, ref)
    deliver(Result(event, decision, Outcome.ALERTED, severity), aws, config, run)
    LOG.error("trail log files fail validation", extra={"trail": trail.arn, "problems": len(problems)})
