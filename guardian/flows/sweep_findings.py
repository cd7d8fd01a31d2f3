"""The sweep's alerts as Security Hub findings, made as the event path makes its own
(:mod:`guardian.flows.security_hub`): one finding per (account, Region, generator, resource), its count raised by
each report, RESOLVED once the sweep healed it (NOTIFIED where its heal failed: the CRITICAL alert told the team),
NEW where it only alerts.

One place: :func:`guardian.flows.deliver.deliver` hands each alert it published (or held for its group's digest) to
:mod:`guardian.flows.finding_batch`, which keeps it only for a run the sweep opened; the sweep then calls
:func:`closed`. The event path's alerts are its own step's (:mod:`guardian.flows.after_alert`), never counted twice.

Collected, then flushed once at the end of the run, after every alert went out: GetFindings 20 Ids a request (its
filter's limit), BatchImportFindings 100 findings a request, BatchUpdateFindings 100 a request per status. A sweep
that alerts 150 times makes 2 imports, not 150; at most :data:`MOST` findings a run. The flush gets the time the
sweep has left less :data:`MARGIN`, each request bounded by it: what does not fit is logged and counted, never
raised, and the next sweep's re-find brings it. Security Hub not enabled: noted once per run (one GetFindings).
Imported into the home Region's Security Hub, as the event path's: the forwarders do not sweep (the home sweep
covers every Region), so one trail's findings, whichever path found them, are in one place.

A trail's drift is filed under the row of the call that would have made it (StopLogging, DeleteTrail,
PutEventSelectors, PutInsightSelectors, else UpdateTrail), so a trail stopped, healed by the event path and re-found by
the sweep is one finding; every other sweep alert under ``sweep/<its check>`` (the record's field that names it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar, cast

from guardian.flows.finding_batch import taken
from guardian.model.refs import SWEEP_SOURCE

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from guardian.model.asff import Finding
    from guardian.model.config import Config
    from guardian.model.results import Result
    from guardian.ports.calls import Everything
    from guardian.ports.invocation import Invocation

LOG = logging.getLogger(__name__)
T = TypeVar("T")
IDS_A_READ, FINDINGS_AN_IMPORT, FINDINGS_AN_UPDATE = 20, 100, 100
MOST = 1000  # findings a run (10 imports); beyond, counted as dropped: the alerts went out all the same
MARGIN = 5.0  # seconds kept before the sweep's timeout
READERS = 8  # evidence signatures read at once, for the findings' SHA-256
TRAIL_ROWS = (  # a trail's weakened field -> the decision-table row of the call that makes that change; first wins
    ("logging", "StopLogging"),
    ("event_selectors", "PutEventSelectors"),
    ("advanced_event_selectors", "PutEventSelectors"),
    ("insight_types", "PutInsightSelectors"),
)
NAMED = 128  # characters of a check's subject kept in its GeneratorId (ASFF: 512 at most)
NOT_A_CHECK = frozenset({"source", "detected_at", "trail"})  # a sweep record's fields that name no check


@dataclass(frozen=True)
class Flushed:
    """What the flush did: findings imported (new), updated, and not made (refused, dropped, out of time)."""

    imported: int = 0
    updated: int = 0
    failed: int = 0
    note: str | None = None  # "off", "not enabled", or the failure that stopped the flush
    errors: tuple[str, ...] = field(default_factory=tuple)


def closed(run: Invocation, aws: object, config: Config) -> Flushed:
    """Stop collecting for ``run``, make its alerts' other copies (guardian.flows.sweep_copies) and import its
    findings; never raises (the alerts are out already)."""
    entries = taken(run)
    if not entries:
        return Flushed()
    from guardian.flows.sweep_copies import copied  # noqa: PLC0415
    from guardian.ports.findings import SecurityHubBatches  # noqa: PLC0415

    copies = copied(entries, cast("Everything", aws), config, run)
    results = [result for result, _ in entries]
    if not config.security_hub or not isinstance(aws, SecurityHubBatches):
        return Flushed(failed=copies.failed, note="off", errors=copies.errors)
    try:
        flushed = _flush(results, aws, config, run)
    except Exception as exc:  # noqa: BLE001 - a copy of alerts already sent: logged and counted, never raised
        from guardian.ports.errors import describe_failure  # noqa: PLC0415

        error = describe_failure(exc)
        LOG.error("the sweep's findings were not imported", extra={"error": error, "findings": len(results)})
        flushed = Flushed(failed=len(results), note=error, errors=(error,))
    else:
        LOG.info(
            "the sweep's alerts copied to Security Hub",
            extra={"imported": flushed.imported, "updated": flushed.updated, "failed": flushed.failed},
        )
    return replace(flushed, failed=flushed.failed + copies.failed, errors=flushed.errors + copies.errors)


def generator(result: Result) -> str | None:
    """The finding's GeneratorId for a record the sweep made; None for anything else (asff's own rule)."""
    from guardian.model.asff import GENERATOR_PREFIX  # noqa: PLC0415

    raw = result.event.raw
    if raw.get("source") != SWEEP_SOURCE:
        return None
    if "deleted" in raw and "changes" in raw and not {"resource", "key"} & set(raw) and result.decision.trail:
        if raw.get("deleted"):
            return GENERATOR_PREFIX + "DeleteTrail"
        changes = raw.get("changes")
        listed = changes if isinstance(changes, list) else []
        weakened = {c.get("field") for c in listed if isinstance(c, dict) and c.get("effect") == "weakened"}
        return GENERATOR_PREFIX + next((row for name, row in TRAIL_ROWS if name in weakened), "UpdateTrail")
    check = next((str(k) for k in raw if k not in NOT_A_CHECK), "drift")
    name = raw.get(check)
    if check == "resource":  # "bucket NAME" or "log group NAME": which of the trail's resources
        check = "log-group" if str(name).startswith("log group") else "bucket"
    elif result.decision.trail is None and isinstance(name, str) and 0 < len(name) <= NAMED:
        check += "/" + name  # no trail to file it under (its resource is the account): the rule, function... named
    return GENERATOR_PREFIX + "sweep/" + check[: NAMED * 2]


def _flush(results: list[Result], aws: Any, config: Config, run: Invocation) -> Flushed:
    from guardian.flows.budget import OutOfTime  # noqa: PLC0415
    from guardian.model.asff import count_of  # noqa: PLC0415
    from guardian.model.evidence import evidence_key  # noqa: PLC0415
    from guardian.ports.findings import SecurityHubOff  # noqa: PLC0415

    region, dropped = config.topic_region, max(0, len(results) - MOST)
    if dropped:
        LOG.error("too many sweep findings for one run: the rest wait for the next sweep", extra={"dropped": dropped})
    latest: dict[str, tuple[Result, int]] = {}  # by finding Id: the last report of this run, and how many
    for result in results[:MOST]:
        made = _build(result, config, run, count=1, sha256=None)
        _, times = latest.pop(made.id, (result, 0))
        latest[made.id] = (result, times + 1)
    ids, errors = list(latest), list[str]()
    call = _bounded(run)
    try:
        existing: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(ids, IDS_A_READ):
            existing |= call(partial(aws.existing_findings, region, chunk), "GetFindings")
        try:  # the digests are informational: without them the findings still go in, saying so
            digests = call(partial(_digests, [r for r, _ in latest.values()], aws), "reading the evidence signatures")
        except OutOfTime:
            digests = {}
        findings = [
            _build(
                result,
                config,
                run,
                count=count_of(existing.get(i)) + times,
                sha256=digests.get(evidence_key(result)),
                created_at=str((existing.get(i) or {}).get("CreatedAt") or "") or None,
            )
            for i, (result, times) in latest.items()
        ]
        refused: set[str] = set()
        for part in _chunks(findings, FINDINGS_AN_IMPORT):
            failed = call(partial(aws.import_findings, region, [f.document for f in part]), "BatchImportFindings")
            errors += failed
            refused |= {f.split(": ")[0] for f in failed}
        by_status: dict[str, list[tuple[str, str]]] = {}
        for finding in findings:
            now = str((existing.get(finding.id) or {}).get("Workflow", {}).get("Status") or "NEW")
            if finding.id not in refused and now not in (finding.workflow, "SUPPRESSED"):
                by_status.setdefault(finding.workflow, []).append((finding.id, finding.product_arn))
        for status, identifiers in by_status.items():
            for some in _chunks(identifiers, FINDINGS_AN_UPDATE):
                unprocessed = call(partial(aws.set_workflows, region, some, status), "BatchUpdateFindings")
                errors += [f"{unprocessed} not set {status}"] if unprocessed else []
    except SecurityHubOff as exc:
        LOG.warning(
            "Security Hub is not enabled here: the sweep's findings are off (alerts are unaffected)",
            extra={"region": region, "error": str(exc)[:300]},
        )
        return Flushed(note="not enabled")
    except OutOfTime as exc:
        LOG.error("the sweep ran out of time for its findings: the next sweep's re-finds bring them")
        return Flushed(failed=len(results), note=str(exc), errors=(str(exc),))
    return Flushed(
        imported=sum(1 for i in ids if i not in existing and i not in refused),
        updated=sum(1 for i in ids if i in existing and i not in refused),
        failed=len(refused) + dropped,
        errors=tuple(errors),
    )


def _build(
    result: Result, config: Config, run: Invocation, *, count: int, sha256: str | None, created_at: str | None = None
) -> Finding:
    from guardian.model.alert import summary  # noqa: PLC0415
    from guardian.model.asff import build_finding  # noqa: PLC0415
    from guardian.model.evidence import evidence_key  # noqa: PLC0415

    return build_finding(
        result,
        account=config.account_id,
        home_region=config.topic_region,
        now=run.clock(),
        count=count,
        evidence_key=evidence_key(result),
        evidence_sha256=sha256,
        summary=summary(result),
        created_at=created_at,
        generator=generator(result),
    )


def _digests(results: Sequence[Result], aws: Any) -> dict[str, str | None]:
    """Each finding's evidence SHA-256, from its signature sidecar (written by the guardian only, as the event path
    reads it: guardian.flows.sidecars), :data:`READERS` at once; None where there is none or it is unreadable."""
    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

    from guardian.flows.sidecars import signed_sha256  # noqa: PLC0415
    from guardian.model.evidence import evidence_key  # noqa: PLC0415

    keys = [evidence_key(r) for r in results]
    with ThreadPoolExecutor(max_workers=READERS) as pool:
        return dict(zip(keys, pool.map(lambda key: signed_sha256(key, aws, "Security Hub"), keys), strict=True))


def _bounded(run: Invocation) -> Callable[[Callable[[], T], str], T]:
    """A request, within the time the sweep has left less :data:`MARGIN` (none where there is no timeout)."""
    from guardian.flows.budget import OutOfTime, within  # noqa: PLC0415

    def call(request: Callable[[], T], what: str) -> T:
        left = None if run.remaining is None else run.remaining() - MARGIN
        if left is not None and left <= 0:
            raise OutOfTime(f"no time left for {what}")
        return within(left, request, what)

    return call


def _chunks(items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
