"""What a flow module offers, so the event handler finds it from the decision table (:data:`guardian.model.rules.FLOWS`)
and calls it without knowing it: every flow ``heal``s; a flow that owns a kind of subject also ``scope``s (is this
key, bucket or log group the guardian's business?) and ``approve``s (an exempt principal's change becomes its
baseline)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from guardian.model.config import Config
    from guardian.model.decide import Decision
    from guardian.model.events import CloudTrailEvent
    from guardian.model.results import Result
    from guardian.ports.calls import Everything, HealPath
    from guardian.ports.invocation import Invocation


@dataclass(frozen=True)
class Scope:
    """A subject found to be the guardian's business: the decision naming the protected trail it serves, and what
    the owning flow found (a bucket's or log group's baseline, the trails a key encrypts)."""

    decision: Decision
    found: object


class Flow(Protocol):
    def heal(
        self,
        event: CloudTrailEvent,
        decision: Decision,
        aws: HealPath,
        config: Config,
        run: Invocation,
        *,
        scope: Scope | None,
    ) -> Result: ...


class SubjectFlow(Protocol):
    def scope(self, event: CloudTrailEvent, decision: Decision, aws: Everything) -> Scope | None: ...

    def approve(
        self, event: CloudTrailEvent, decision: Decision, aws: Everything, run: Invocation, scope: Scope | None
    ) -> str | None: ...
