"""Turns on CloudTrail's write quota (1 write a second per account and Region), handed out by a store every
invocation shares: the heal path's port to it (:mod:`guardian.flows.write_turns`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Turn:
    """A time (epoch seconds) to make the write at; ``joined``: the trail's own turn, taken by an earlier heal of
    the trail, to be read at instead (its StartLogging heals this stop too)."""

    at: float
    joined: bool = False


class WriteTurns(Protocol):
    def busy(self, region: str, now: float) -> bool:
        """Whether turns were handed out lately in ``region``, as this environment saw it (no call)."""
        ...

    def throttled(self, region: str, now: float) -> None:
        """A write was throttled in ``region``: turns are on (noted in this environment, no call)."""
        ...

    def take(
        self, region: str, trail: str, *, now: float, soonest: float, latest: float, join_after: float | None
    ) -> Turn | None:
        """The next free turn (one ``TURN_SECONDS`` after the last, ``soonest`` at the soonest), or the trail's own
        last turn if it is later than ``join_after`` (passed or to come); None if no turn comes by ``latest`` (the
        heal then backs off with jitter). Raises the store's errors."""
        ...


# A turn a second (CloudTrail's write quota per account and Region, not adjustable), and 50 ms for the requests'
# travel: two writes sent 1 s apart can land closer (a write throttled in its turn goes to the back of the queue).
TURN_SECONDS = 1.05
