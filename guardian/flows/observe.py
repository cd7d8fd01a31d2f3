"""Observe mode in the flows: which undo is made for real, and what an observed one is reported as.

The flows themselves do not know the mode: their writes are recorded below them (:mod:`guardian.ports.plan`). Here:
the result of an observed undo becomes :data:`~guardian.model.rules.Outcome.OBSERVED`, with the calls it would have
made (:func:`observed`); a trail tagged ``heal`` under observe (and the guardian's own sentinel trail) is healed
(:func:`heals`); a tag ``observe`` under heal is ignored and alerted (:func:`tag_ignored`; the sweep's:
:mod:`guardian.flows.mode_tag`).
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING

from guardian.model.mode import MODE_TAG, Mode, effective, ignored_tag
from guardian.model.refs import SWEEP_SOURCE
from guardian.model.rules import Outcome, Severity

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from guardian.model.config import Config
    from guardian.model.decide import Decision
    from guardian.model.events import CloudTrailEvent
    from guardian.model.refs import TrailRef
    from guardian.model.results import Result
    from guardian.model.trail import TrailState
    from guardian.ports.calls import Everything
    from guardian.ports.invocation import Invocation

LOG = logging.getLogger(__name__)
IGNORED = (
    f"the tag {MODE_TAG}=observe is ignored: under heal a tag can only make the guardian stricter, never switch "
    "healing off (tags are anyone's to write); remove it, or set mode observe in the deployment"
)


def observed(result: Result, run: Invocation) -> Result:
    """The result as observe reports it: OBSERVED, with the calls the undo would have made and none made (the
    calls this thread recorded since the last delivery). Unchanged in heal, or where nothing was recorded."""
    plan = run.plan
    if plan is None:
        return result
    calls = plan.take()
    if not calls or result.outcome is Outcome.IGNORED:
        return result
    decision = result.decision
    severity = decision.severity  # as it would be healed: a verification failing is the plan's, not an attack's
    if result.event.event_source == SWEEP_SOURCE and decision.rule is not None:
        severity = max(decision.rule.severity, Severity.HIGH, key=_rank)
    return replace(
        result,
        decision=replace(decision, reason=f"observe mode — would heal, changed nothing: {decision.reason}"),
        outcome=Outcome.OBSERVED,
        severity=severity,
        actions=(),
        verification=None,
        blind_window_seconds=None,
        diagnosis=None,
        planned=calls,
    )


@contextmanager
def undoing(run: Invocation, *, heal: bool) -> Iterator[None]:
    """Around one undo, in observe: calls recorded before it (a check that failed) are forgotten, so the plan holds
    this undo's alone; ``heal``: its writes are made, as in heal. Nothing in heal."""
    if run.plan is None:
        yield
        return
    run.plan.take()
    if not heal:
        yield
        return
    with run.plan.healing():
        yield


def heals(aws: Everything, config: Config, trail: TrailRef | None) -> bool:
    """Under observe, whether this trail is healed all the same: the guardian's own sentinel trail, or a trail
    tagged ``heal`` (a tag that cannot be read counts as none: observe changes nothing)."""
    if trail is None:
        return False
    if config.sentinel_trail is not None and trail.name == config.sentinel_trail:
        return True
    partition = config.topic_arn.split(":")[1]
    arn = trail.arn or f"arn:{partition}:cloudtrail:{trail.region}:{trail.account_id}:trail/{trail.name}"
    try:
        tags = aws.trail_tags(trail.region, [arn]).get(arn, ())
    except Exception:  # unreadable tags: observe, as configured (logged)
        LOG.warning("a trail's tags could not be read: observed", extra={"trail": arn}, exc_info=True)
        return False
    return effective(config.mode, tags) is Mode.HEAL


def heals_state(config: Config, trail: TrailState) -> bool:
    """:func:`heals` for a trail the sweep has read (its tags with it)."""
    if config.sentinel_trail is not None and trail.name == config.sentinel_trail:
        return True
    return effective(config.mode, trail.tags) is Mode.HEAL


def tag_ignored(event: CloudTrailEvent, decision: Decision, config: Config) -> Decision:
    """An AddTags on a trail, under heal, setting the mode tag to ``observe``: alerted HIGH, saying it is ignored."""
    parameters = event.request_parameters or {}
    tags = parameters.get("tagsList") or parameters.get("TagsList") or []
    pairs = [(str(t.get("key", t.get("Key", ""))), str(t.get("value", t.get("Value", "")))) for t in _dicts(tags)]
    if not ignored_tag(config.mode, pairs):
        return decision
    return replace(decision, severity=max(decision.severity, Severity.HIGH, key=_rank), reason=IGNORED)


def _dicts(value: object) -> Iterable[dict[str, object]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _rank(severity: Severity) -> int:
    return list(Severity).index(severity)
