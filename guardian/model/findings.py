"""What the sweep found, shaped as the CloudTrail event that never came, so the alert and the evidence record take
it as one. Each finding's id is derived from what was found and when, so a re-run of the same sweep finds the same
evidence key (one record, one alert).

Pure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from guardian.model.bucket import BucketState
from guardian.model.decide import Decision
from guardian.model.events import CloudTrailEvent, guardian_event
from guardian.model.refs import SWEEP_SOURCE, TrailRef
from guardian.model.results import Result, iso
from guardian.model.rules import SWEEP_RULE, Action, Outcome, Severity
from guardian.model.trail import TrailState

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from guardian.model.baselines import ResourceState
    from guardian.model.changes import Change
    from guardian.model.results import ActionRecord


def sweep_event(
    subject: TrailState | ResourceState,
    *,
    account_id: str,
    detected_at: datetime,
    details: dict[str, Any],
    trail: TrailRef | None = None,
    what: str = "",
    event_id: str | None = None,
) -> tuple[CloudTrailEvent, TrailRef]:
    """A record of what the sweep found, standing in for the CloudTrail event that never came.

    ``subject`` is the trail, or its bucket or log group; ``what`` tells apart two findings on one trail in one
    sweep (its settings and its key), so each gets its own evidence record and alert."""
    if isinstance(subject, TrailState):
        region, name, arn = subject.home_region, subject.name, subject.arn
        ref = subject.ref(account_id)
        kind = "trail"
    else:
        region, name = subject.region, subject.name
        kind = "bucket" if isinstance(subject, BucketState) else "log-group"
        ref = trail or TrailRef(name=name, region=region, account_id=account_id, given=name, arn=None)
        arn = ref.arn or name
    suffix = f"-{what}" if what else ""
    event = found_event(
        event_id or f"sweep-{detected_at:%Y%m%dT%H%M%SZ}-{region}-{kind}-{name.strip('/').replace('/', '_')}{suffix}",
        account_id=account_id,
        region=region,
        detected_at=detected_at,
        trail=ref,
        raw={"trail": arn, **details},
    )
    return event, ref


def rule_event(name: str, *, account_id: str, region: str, detected_at: datetime) -> CloudTrailEvent:
    """A record of what the sweep found on one of the guardian's own rules."""
    event_id = f"sweep-{detected_at:%Y%m%dT%H%M%SZ}-{region}-guardian-rule-{name}"
    return found_event(
        event_id, account_id=account_id, region=region, detected_at=detected_at, raw={"guardian_rule": name}
    )


def found_event(
    event_id: str,
    *,
    account_id: str,
    region: str,
    detected_at: datetime,
    raw: dict[str, Any],
    trail: TrailRef | None = None,
) -> CloudTrailEvent:
    """What the sweep found, shaped as the event that never came: the alert and the evidence take it as one."""
    return guardian_event(
        event_id,
        name="DriftDetected",
        source=SWEEP_SOURCE,
        event_type="GuardianSweep",
        at=detected_at,
        region=region,
        account_id=account_id,
        trail=trail,
        raw={"source": SWEEP_SOURCE, "detected_at": iso(detected_at), **raw},
    )


def baseline_event(
    key: str, *, what: str, version: str, account_id: str, region: str, detected_at: datetime, trail: TrailRef | None
) -> CloudTrailEvent:
    """A record of a stored baseline the guardian refused (forged, altered) or raised (below the floor). Its id is
    derived from the key and the version found, so each bad version is alerted once, however many sweeps see it."""
    import hashlib  # noqa: PLC0415 - sweep only

    digest = hashlib.sha256(f"{key}\n{version}".encode("utf-8", "backslashreplace")).hexdigest()[:32]
    return found_event(
        f"sweep-baseline-{what}-{digest}",
        account_id=account_id,
        region=region,
        detected_at=detected_at,
        trail=trail,
        raw={"baseline": key, "baseline_problem": what, "version": version},
    )


def guardian_finding(
    what: tuple[str, str],
    *,
    account_id: str,
    region: str,
    detected_at: datetime,
    reason: str,
    found: tuple[Sequence[Change], Sequence[ActionRecord]],
    healed: bool,
) -> Result:
    """A CRITICAL finding on the guardian itself (``what``: its kind, as a raw field the subject line names, and
    which one): put back by the sweep, or not, and then the stack must be redeployed."""
    kind, name = what
    slug = "".join(ch if ch.isalnum() or ch in "-." else "_" for ch in name)
    event = found_event(
        f"sweep-{detected_at:%Y%m%dT%H%M%SZ}-{region}-{kind.replace('_', '-')}-{slug}",
        account_id=account_id,
        region=region,
        detected_at=detected_at,
        raw={kind: name},
    )
    changes, actions = found
    decision = Decision(Action.HEAL, Outcome.HEALED, Severity.CRITICAL, reason, SWEEP_RULE)
    outcome = Outcome.HEALED if healed else Outcome.HEAL_FAILED
    diagnosis = None if healed else "redeploy the stack"
    return Result(
        event, decision, outcome, Severity.CRITICAL, tuple(actions), changes=tuple(changes), diagnosis=diagnosis
    )
