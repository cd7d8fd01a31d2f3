"""What one run of a function brings besides its configuration: the time, a way to wait, who it is, and how long
it has left."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from guardian.ports.plan import CallPlan

Clock = Callable[[], datetime]
Sleep = Callable[[float], None]
Remaining = Callable[[], float]


@dataclass(frozen=True)
class Invocation:
    clock: Clock
    sleep: Sleep
    function_name: str | None = None
    request_id: str | None = None
    remaining: Remaining | None = None  # seconds before Lambda's timeout; None where there is no timeout
    plan: CallPlan | None = None  # observe mode: where the writes an undo would make are recorded (None: heal)
