"""The alerts' OCSF Detection Findings written into a Security Lake custom source, once a sweep (``securityLake``).

The event path and the sweep write each alert's finding once, as JSON, into the guardian's own bucket
(:mod:`guardian.flows.ocsf_findings`), written by the guardian alone under Object Lock. At the end of each run the
sweep reads those written in the last completed windows (:mod:`guardian.model.lake_delivery`), and writes each
window's findings, per partition, as one Parquet object (:mod:`guardian.model.ocsf_parquet`) into the custom
source's location, as the provider role Security Lake made for the source (AssumeRole with its external id).

A copy of alerts already sent: nothing here is raised into the sweep. A failure is logged, counted in the sweep's
summary and mailed MEDIUM once a day while it lasts (:func:`guardian.flows.path_notes.note`): the team learns that
its lake misses findings; the evidence bucket keeps them, and the windows written again by the next sweeps fill the
gap once the cause is mended (for :data:`guardian.model.lake_delivery.REDONE` windows back). A stored finding that is
not one (unreadable, or not a valid Detection Finding) is left out and named.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from guardian.ports.finding_copies import LakeDeliveryCalls

if TYPE_CHECKING:
    from datetime import datetime

    from guardian.model.config import Config
    from guardian.ports.calls import Delivery
    from guardian.ports.invocation import Invocation

LOG = logging.getLogger(__name__)
MOST = 5000  # findings a run reads at most (a window's and partition's object holds them all)
LISTED = 100_000  # keys listed in one Region's day at most (100 ListObjectsV2 pages)
MARGIN = 5.0  # seconds kept before the sweep's timeout


@dataclass(frozen=True)
class Delivered:
    """What one sweep wrote into the lake: objects, the findings in them, findings left out, and failures."""

    objects: int = 0
    findings: int = 0
    left_out: int = 0
    failed: int = 0
    errors: tuple[str, ...] = ()
    note: str | None = None  # "off", or why nothing was written


def deliver_to_lake(aws: object, config: Config, run: Invocation) -> Delivered:
    """Write the last completed windows' findings into the custom source; never raises."""
    if config.security_lake is None:
        return Delivered(note="off")
    if not isinstance(aws, LakeDeliveryCalls):
        return Delivered(note="these calls cannot reach Security Lake")
    from guardian.model.lake_delivery import parse_target  # noqa: PLC0415

    try:
        done = _deliver(aws, config, run, parse_target(_setting(aws, config)))
    except Exception as exc:  # noqa: BLE001 - a copy of alerts already sent: logged, counted and noted
        from guardian.ports.errors import describe_failure  # noqa: PLC0415

        done = Delivered(failed=1, errors=(describe_failure(exc),), note=describe_failure(exc))
    if done.failed or done.left_out:
        LOG.error(
            "findings were not all written into Security Lake",
            extra={"failed": done.failed, "left_out": done.left_out, "first": (done.errors or ("",))[0]},
        )
    elif done.objects:
        LOG.info("findings written into Security Lake", extra={"objects": done.objects, "findings": done.findings})
    return done


def _deliver(aws: LakeDeliveryCalls, config: Config, run: Invocation, target: Any) -> Delivered:
    from guardian.model.lake_delivery import lake_key, partition_of, windows  # noqa: PLC0415
    from guardian.model.ocsf import problems  # noqa: PLC0415

    spans = windows(run.clock(), target.minutes)
    wanted = _in_windows(aws, config, spans)
    if len(wanted) > MOST:
        return Delivered(failed=1, errors=(f"{len(wanted)} findings in {len(spans)} windows: over {MOST} a sweep",))
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    left_out: list[str] = []
    for when, key in wanted:
        if _out_of_time(run):
            return Delivered(failed=1, errors=("no time left before the sweep's timeout",))
        try:
            document = aws.read_json(key)
        except ValueError as exc:
            left_out.append(f"{key}: {exc}")
            continue
        wrong = ["absent"] if document is None else problems(document)
        if document is None or wrong:
            left_out.append(f"{key}: {', '.join(wrong)}")
            continue
        window = next(s for s, e in spans if s <= when < e)
        region, account = partition_of(key) or ("", "")
        groups[lake_key(target, region, account, int(document["time"]), window)].append(document)
    written, findings, errors = 0, 0, list[str]()
    for key, documents in sorted(groups.items()):
        if _out_of_time(run):
            errors.append(f"{key}: no time left before the sweep's timeout")
            continue
        body, kept = _parquet(documents, left_out)
        try:
            aws.put_lake_object(target, key, body)
        except Exception as exc:  # noqa: BLE001 - counted; the next sweeps write this window again
            from guardian.ports.errors import describe_failure  # noqa: PLC0415

            errors.append(f"{key}: {describe_failure(exc)}")
            continue
        written, findings = written + 1, findings + kept
    return Delivered(written, findings, len(left_out), len(errors), tuple((errors + left_out)[:20]))


def _in_windows(aws: LakeDeliveryCalls, config: Config, spans: list[tuple[datetime, datetime]]) -> list[Any]:
    """(LastModified, key) of the findings S3 stamped within ``spans``, in every Region partition the bucket holds
    (not only the sweep's Regions); a partition listed past :data:`LISTED` raises (named, never cut silently)."""
    from guardian.model.lake_delivery import partition_of, source_days, source_prefix  # noqa: PLC0415
    from guardian.model.ocsf import PREFIX  # noqa: PLC0415

    start, end = spans[0][0], spans[-1][1]
    found = {f.removeprefix(PREFIX + "region=").rstrip("/") for f in aws.ocsf_folders(PREFIX)}
    regions = sorted(found | {config.topic_region, *config.sweep_regions})
    listed: list[tuple[str, datetime]] = []
    for region in regions:
        for day in source_days(spans):
            prefix = source_prefix(region, config.account_id, day)
            page = aws.ocsf_listing(prefix, LISTED)
            if len(page) >= LISTED:
                raise RuntimeError(f"{prefix} holds {LISTED:,} findings or more: not all of it listed")
            listed += page
    return sorted((when, key) for key, when in listed if start <= when < end and partition_of(key) is not None)


def _parquet(documents: list[dict[str, Any]], left_out: list[str]) -> tuple[bytes, int]:
    """The object, and how many findings it holds: a finding the columns refuse (written by no guardian: ``problems``
    passed it) is left out and named, not the whole window."""
    from guardian.model.ocsf_parquet import rows_to_parquet  # noqa: PLC0415

    try:
        return rows_to_parquet(documents, created_by=_created_by()), len(documents)
    except ValueError:
        kept = []
        for document in documents:
            try:
                rows_to_parquet([document], created_by="check")
            except ValueError as exc:
                left_out.append(f"{document.get('metadata', {}).get('uid', '?')}: {exc}")
                continue
            kept.append(document)
        return rows_to_parquet(kept, created_by=_created_by()), len(kept)


def _setting(aws: object, config: Config) -> str:
    """The setting, or the remediation function's where the sweep's says ``remediation``: the sweep's environment is
    near Lambda's 4 KB (as its own events' bus: guardian.flows.sweep_copies). That function's environment is held to
    the deployment's by the sweep, and the sweep's role may assume the deployed provider role only."""
    from guardian.model.own_events import AS_REMEDIATION  # noqa: PLC0415

    setting = str(config.security_lake)
    if setting != AS_REMEDIATION:
        return setting
    name = next((f for f in config.own_functions if f.endswith("-" + AS_REMEDIATION)), None)
    read = getattr(aws, "function_config", None)
    found = read(name) if name is not None and read is not None else None
    variables = ((found or {}).get("Environment") or {}).get("Variables") or {}
    text = str(variables.get("GUARDIAN_SECURITY_LAKE", "")).strip()
    if not text or text == AS_REMEDIATION:
        raise ValueError(f"the remediation function ({name or 'not listed'}) names no Security Lake custom source")
    return text


def _out_of_time(run: Invocation) -> bool:
    return run.remaining is not None and run.remaining() <= MARGIN


def _created_by() -> str:
    from guardian import __version__  # noqa: PLC0415

    return f"cloudtrail-guardian version {__version__}"


def note_failure(aws: Delivery, config: Config, run: Invocation, done: Delivered, *, started: datetime) -> None:
    """MEDIUM, once a day while it lasts: the lake misses findings (the evidence bucket keeps them)."""
    if not (done.failed or done.left_out):
        return
    from guardian.flows.path_notes import note  # noqa: PLC0415
    from guardian.model.changes import Change, Effect  # noqa: PLC0415
    from guardian.model.lake_delivery import REDONE  # noqa: PLC0415

    reason = (
        f"the sweep could not write every OCSF finding into the Security Lake custom source ({done.failed} "
        f"failed, {done.left_out} stored finding(s) not valid and left out); first: {(done.errors or ('',))[0]}. "
        "The findings stay in the evidence bucket under ocsf/detection-finding/; once the cause is mended (the "
        "provider role, its external id, the lake's bucket), the next sweeps write the last "
        f"{REDONE} windows again"
    )
    change = Change("security_lake_delivery", "written", "failing", Effect.WEAKENED)
    note(aws, config, run, what="Security Lake delivery", change=change, reason=reason, started=started)
