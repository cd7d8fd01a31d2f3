"""CloudTrail's write quota, which moto does not enforce: 1 request a second per account and Region for every call
that is not a read (StartLogging, UpdateTrail, CreateTrail, PutEventSelectors, ...; AWS-FACTS.md, "Quotas in AWS
CloudTrail"), on a clock the caller gives (the benchmark's virtual one).

While :func:`write_quota` is active, moto's CloudTrail answers a write that comes less than a second after the last
one it let through (same account and Region) with ``ThrottlingException``, as AWS does: the request reaches botocore
as a 400 answer, so the client's own retry mode and the guardian's back-off both see it as they would in AWS. Every
write attempt is recorded (time, account, Region, action, trail, let through or not), and every StartLogging that
went through (the trail logs again from then).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from moto.cloudtrail.responses import CloudTrailResponse
from moto.core.exceptions import JsonRESTError

# moto's CloudTrail request handlers that write; the others (get_*, describe_*, list_*) read.
WRITES = (
    "create_trail",
    "update_trail",
    "delete_trail",
    "start_logging",
    "stop_logging",
    "put_event_selectors",
    "put_insight_selectors",
    "add_tags",
    "remove_tags",
)
PERIOD = 1.0  # seconds: one write per account and Region in any such interval
# Virtual times are sums of floats: 1.025 - 0.025 is 0.9999999999999999. A write a period after the last, to the
# rounding, goes through (as it would in AWS); without this, heals one second apart were throttled by the rounding.
TOLERANCE = 1e-9


class Throttled(JsonRESTError):
    code = 400

    def __init__(self) -> None:
        super().__init__("ThrottlingException", "Rate exceeded")


@dataclass(frozen=True)
class Attempt:
    at: float  # seconds on the caller's clock
    account: str
    region: str
    action: str  # "StartLogging", ...
    trail: str  # the name or ARN the request gave
    accepted: bool


@dataclass
class WriteQuota:
    clock: Callable[[], float]
    period: float = PERIOD
    attempts: list[Attempt] = field(default_factory=list)
    _last: dict[tuple[str, str], float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def admit(self, account: str, region: str, action: str, trail: str) -> bool:
        """Whether this write goes through now; recorded either way."""
        now = self.clock()
        with self._lock:
            last = self._last.get((account, region))
            accepted = last is None or now - last >= self.period - TOLERANCE
            if accepted:
                self._last[(account, region)] = now
            self.attempts.append(Attempt(now, account, region, action, trail, accepted))
        return accepted

    def accepted(self, action: str | None = None) -> list[Attempt]:
        return [a for a in self.attempts if a.accepted and (action is None or a.action == action)]

    def throttled(self, action: str | None = None) -> list[Attempt]:
        return [a for a in self.attempts if not a.accepted and (action is None or a.action == action)]


def _camel(name: str) -> str:
    return "".join(part.title() for part in name.split("_"))


@contextmanager
def write_quota(clock: Callable[[], float], period: float = PERIOD) -> Iterator[WriteQuota]:
    """Enforce the quota on moto's CloudTrail (in this process) for the block."""
    quota = WriteQuota(clock, period)
    originals = {name: getattr(CloudTrailResponse, name) for name in WRITES if hasattr(CloudTrailResponse, name)}

    def guarded(name: str, original: Callable[[CloudTrailResponse], Any]) -> Callable[[CloudTrailResponse], Any]:
        def handler(self: CloudTrailResponse) -> Any:
            trail = str(self._get_param("Name") or self._get_param("TrailName") or self._get_param("ResourceId") or "")
            if not quota.admit(self.current_account, self.region, _camel(name), trail):
                raise Throttled()
            return original(self)

        return handler

    for name, original in originals.items():
        setattr(CloudTrailResponse, name, guarded(name, original))
    try:
        yield quota
    finally:
        for name, original in originals.items():
            setattr(CloudTrailResponse, name, original)
