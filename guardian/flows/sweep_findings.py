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

Each finding is filed as :mod:`guardian.model.finding_generator` says (``generator``, kept here by that name), and
counted as the event path counts (:mod:`guardian.flows.finding_counts`: atomically, in the activity table).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar, cast

from guardian.flows import finding_counts
from guardian.flows.finding_batch import taken
from guardian.model.finding_generator import generator

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from guardian.model.asff import Finding
    from guardian.model.config import Config
    from guardian.model.results import Result
    from guardian.ports.calls import Everything
    from guardian.ports.invocation import Invocation

__all__ = ["Flushed", "closed", "generator"]  # generator: guardian.model.finding_generator's, by its old name
LOG = logging.getLogger(__name__)
T = TypeVar("T")
IDS_A_READ, FINDINGS_AN_IMPORT, FINDINGS_AN_UPDATE = 20, 100, 100
MOST = 1000  # findings a run (10 imports); beyond, counted as dropped: the alerts went out all the same
MARGIN = 5.0  # seconds kept before the sweep's timeout
READERS = 8  # evidence signatures read at once, for the findings' SHA-256


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


def _flush(results: list[Result], aws: Any, config: Config, run: Invocation) -> Flushed:
    from guardian.flows.budget import OutOfTime  # noqa: PLC0415
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
    ids, errors, table = list(latest), list[str](), config.activity_table
    wanted = {i: (times, _build(r, config, run, count=1, sha256=None).workflow) for i, (r, times) in latest.items()}
    call = _bounded(run)
    try:

        def read(asked: list[str]) -> dict[str, dict[str, Any]]:
            existing: dict[str, dict[str, Any]] = {}
            for chunk in _chunks(asked, IDS_A_READ):
                existing |= call(partial(aws.existing_findings, region, chunk), "GetFindings")
            return existing

        pooled = _pooled()
        tallies = call(
            partial(finding_counts.tally, wanted, aws, table, run.clock(), read=read, each=pooled), "counting"
        )
        try:  # the digests are informational: without them the findings still go in, saying so
            digests = call(partial(_digests, [r for r, _ in latest.values()], aws), "reading the evidence signatures")
        except OutOfTime:
            digests = {}

        def finding_for(i: str, count: int) -> Finding:
            result = latest[i][0]
            sha256, created = digests.get(evidence_key(result)), tallies[i].created_at
            return _build(result, config, run, count=count, sha256=sha256, created_at=created)

        def marked(finding: Finding) -> dict[str, Any]:
            return tallies[finding.id].marked(finding.document)

        refused: set[str] = set()
        todo, findings = {i: tallies[i].count for i in ids}, dict[str, "Finding"]()
        for _ in range(1 + finding_counts.RECHECKS):  # then again where another copy counted past this run's
            findings |= {i: finding_for(i, count) for i, count in todo.items()}
            for part in _chunks([findings[i] for i in todo], FINDINGS_AN_IMPORT):
                failed = call(partial(aws.import_findings, region, [marked(f) for f in part]), "BatchImportFindings")
                errors += failed
                refused |= {f.split(": ")[0] for f in failed}
            imported = {i: c for i, c in todo.items() if i not in refused and tallies[i].kept}
            todo = call(partial(finding_counts.behind, aws, table, imported, pooled), "reading the counts again")
            if not todo:
                break
        ready = [f for f in findings.values() if f.id not in refused]
        errors += _workflows(ready, tallies, aws, config, call)
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
        imported=sum(1 for i in ids if tallies[i].count == latest[i][1] and i not in refused),
        updated=sum(1 for i in ids if tallies[i].count > latest[i][1] and i not in refused),
        failed=len(refused) + dropped,
        errors=tuple(errors),
    )


def _workflows(
    findings: list[Finding], tallies: dict[str, finding_counts.Tally], aws: Any, config: Config, call: Any
) -> list[str]:
    """BatchUpdateFindings, 100 a request per status, where a finding's Workflow must change; each kept in the
    activity table once set (or where none was needed); what was not set, in words."""
    by_status: dict[str, list[tuple[str, str]]] = {}
    for finding in findings:
        if tallies[finding.id].workflow_to_set(finding.workflow):
            by_status.setdefault(finding.workflow, []).append((finding.id, finding.product_arn))
    pending = {i for identifiers in by_status.values() for i, _ in identifiers}
    errors, done = list[str](), {f.id: f.workflow for f in findings if f.id not in pending}
    for status, identifiers in by_status.items():
        for some in _chunks(identifiers, FINDINGS_AN_UPDATE):
            unprocessed = call(partial(aws.set_workflows, config.topic_region, some, status), "BatchUpdateFindings")
            errors += [f"{unprocessed} not set {status}"] if unprocessed else []
            done |= {} if unprocessed else {i: status for i, _ in some}
    note = partial(finding_counts.note_workflows, aws, config.activity_table, done, tallies)
    call(note, "noting the workflows")
    return errors


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


def _pooled() -> finding_counts.Each[str, Any]:
    """The activity table's requests for many findings, :data:`READERS` at once."""

    def each(request: Callable[[str], Any], ids: Iterable[str]) -> list[Any]:
        from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

        listed = list(ids)
        if len(listed) <= 1:
            return [request(i) for i in listed]
        with ThreadPoolExecutor(max_workers=READERS) as pool:
            return list(pool.map(request, listed))

    return each


def _chunks(items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
