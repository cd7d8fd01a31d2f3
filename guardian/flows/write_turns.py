"""Heals take turns on CloudTrail's write quota (1 write a second per account and Region) instead of contending for
it at random: a turn a second, handed out by the activity table (:mod:`guardian.adapters.turns`), each heal
sleeping to its turn within its budget. A heal whose trail has a turn queued later than its stop takes none: it
reads GetTrailStatus after that turn, and is healed (or superseded) by it, or then takes a turn of its own. Turns go
in the order heals ask (the order of the stops), and a trail holds at most one: the trail stopped longest is healed
first. The store failing, or no turn within the budget (a queue too long, or forged): back off with jitter instead
(:func:`guardian.flows.budget.quota_write`), never wait on the store. Imported on the first throttle only.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from guardian.flows.budget import HEAL_SECONDS, QUOTA_MARGIN, heal_budget
from guardian.ports.errors import AWS_ERRORS, describe_error, is_throttling
from guardian.ports.turns import TURN_SECONDS

if TYPE_CHECKING:
    from collections.abc import Callable

    from guardian.ports.invocation import Invocation
    from guardian.ports.turns import WriteTurns

LOG = logging.getLogger(__name__)
JOIN_GRACE = 0.5  # seconds after the trail's turn: its StartLogging has been answered, GetTrailStatus shows it
MAX_JOINS = 2  # a trail's turns joined that did not heal the stop; then a turn of its own


def in_turn(
    call: Callable[[], object],
    run: Invocation,
    *,
    turns: WriteTurns,
    region: str,
    trail: str,
    join_after: float | None,
    settled: Callable[[], bool],
    throttled: bool,
    writes: int,
) -> bool | None:
    """Make ``call`` in its turn: False once made; True if ``settled()`` (the trail's turn healed it, or a later stop
    owns it); None to back off with jitter instead (the store failed, or no turn comes within the budget). A write
    throttled in its turn (someone else's write: the console's, the attacker's) takes another turn. ``join_after``:
    the stop's time (epoch seconds) a trail's queued turn must be later than to heal it too. At most ``writes``
    writes (and as many turns)."""
    free_at = run.clock().timestamp() + TURN_SECONDS if throttled else 0.0  # a write went through in the last second
    joins = 0
    for _ in range(writes):
        now = run.clock().timestamp()
        left = heal_budget(run)
        # The whole budget: a burst's queue is that long (halved, (a)'s p99 went from 10.5 s to 35 s). So a `next`
        # forged just inside it delays the heal by the budget (review 7; docs/threat-model.md "What remains possible").
        latest = now + (HEAL_SECONDS if left is None else left) - QUOTA_MARGIN
        try:
            turn = turns.take(region, trail, now=now, soonest=max(now, free_at), latest=latest, join_after=join_after)
        except AWS_ERRORS as exc:
            code, _ = describe_error(exc)
            LOG.warning("no turn on the write quota: backing off with jitter", extra={"error_code": code})
            return None
        if turn is None:
            return None
        wait = turn.at - now + (JOIN_GRACE if turn.joined else 0.0)
        if wait > 0:
            run.sleep(wait)
        if turn.joined:
            if _quietly(settled):
                return True
            # That turn did not heal this stop: a later turn of the trail's (another heal's), or one of its own. At
            # most MAX_JOINS joined: a trail turn forged again before each read would otherwise spend the budget.
            joins += 1
            join_after = turn.at if joins < MAX_JOINS else None
            continue
        try:
            call()
        except AWS_ERRORS as exc:
            if not is_throttling(exc):
                raise
            free_at = run.clock().timestamp() + TURN_SECONDS
            if _quietly(settled):
                return True
            continue
        return False
    return None


def _quietly(settled: Callable[[], bool]) -> bool:
    try:
        return settled()
    except AWS_ERRORS:  # the read failed: not known to be settled, so the write goes on
        return False
