"""What both entry points (the event handler and the sweep) share: configuration and clients, made on first use.

Never at import: moto must start first, and cold start must stay small. Parsed once and kept for warm
invocations; made again only if the environment changes (never in Lambda; a test process or the local
simulation may run several environments).
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypedDict

from guardian.adapters.clients import Boto3Clients
from guardian.adapters.heal import HealAdapter
from guardian.entrypoints.logs import configure
from guardian.model.config import CLIENT_VARIABLES, VARIABLES, Config
from guardian.ports.invocation import Invocation

if TYPE_CHECKING:
    from collections.abc import Callable

    from guardian.adapters.clients import ClientProvider
    from guardian.adapters.full import FullAdapter
    from guardian.adapters.observe import ObservingClients
    from guardian.ports.plan import CallPlan

RAW_LOG_LIMIT = 64 * 1024
_state: dict[tuple[str | None, ...], Any] = {}


def config() -> Config:
    key = ("config", *(os.environ.get(name) for name in VARIABLES))
    found = _state.get(key)
    if found is None:
        configure()
        for stale in [k for k in _state if k[0] == "config"]:
            del _state[stale]
        found = _state[key] = Config.from_env(os.environ)
    assert isinstance(found, Config)
    return found


def clients() -> Boto3Clients:
    key = ("clients", *(os.environ.get(name) for name in CLIENT_VARIABLES))
    found = _state.get(key)
    if found is None:
        for stale in [k for k in _state if k[0] == "clients"]:
            del _state[stale]
        found = _state[key] = Boto3Clients()
    assert isinstance(found, Boto3Clients)
    return found


def observing(settings: Config) -> ObservingClients | None:
    """Observe mode's clients (their writes recorded in their plan), kept like :func:`clients`; None in heal."""
    if settings.mode != "observe":
        return None
    from guardian.adapters.observe import ObservingClients  # noqa: PLC0415 - observe only: off heal's cold start

    key = ("observing", settings.evidence_bucket, *(os.environ.get(name) for name in CLIENT_VARIABLES))
    found = _state.get(key)
    if found is None:
        for stale in [k for k in _state if k[0] == "observing"]:
            del _state[stale]
        from guardian.ports.plan import CallPlan  # noqa: PLC0415

        found = _state[key] = ObservingClients(CallPlan(), settings.evidence_bucket)
    assert isinstance(found, ObservingClients)
    return found


def _provider(settings: Config, *, own: bool = False) -> ClientProvider:
    """Heal's clients, or observe's; ``own``: heal's always (the guardian's own resources are repaired in both)."""
    watching = None if own else observing(settings)
    return clients() if watching is None else watching


def adapter(settings: Config) -> HealAdapter:
    """The heal path's adapter; its ``full()`` is the full adapter, imported only when a flow first asks for it."""
    return HealAdapter(_provider(settings), **_destinations(settings), full=lambda: full_adapter(settings))


def full_adapter(settings: Config, *, own: bool = False) -> FullAdapter:
    """Every call: what the sweep uses, and what a restore reaches through ``adapter(settings).full()``. ``own``:
    for the guardian's own resources, whose repairs observe makes too."""
    from guardian.adapters.full import FullAdapter  # noqa: PLC0415 - off the heal path's cold start

    return FullAdapter(_provider(settings, own=own), **_destinations(settings))


class _Destinations(TypedDict):
    topic_arn: str
    topic_region: str
    evidence_bucket: str
    signing_key: str | None
    activity_table: str | None


def _destinations(settings: Config) -> _Destinations:
    """Where alerts and evidence go, as both adapters take them."""
    return {
        "topic_arn": settings.topic_arn,
        "topic_region": settings.topic_region,
        "evidence_bucket": settings.evidence_bucket,
        "signing_key": settings.signing_key_arn,
        "activity_table": settings.activity_table,
    }


def reset() -> None:
    """Forget cached configuration and clients (tests change the environment between cases)."""
    _state.clear()


def now() -> datetime:
    return datetime.now(UTC)


def invocation(context: Any, settings: Config | None = None) -> Invocation:
    """This run: the clock, a way to wait, who it is, and (in Lambda) the time left before its timeout; in observe
    (``settings``), the plan its writes are recorded in."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    watching = observing(settings) if settings is not None else None
    plan = watching.plan if watching is not None else None
    return Invocation(
        now,
        time.sleep if plan is None else _observing_sleep(plan),
        getattr(context, "function_name", None),
        getattr(context, "aws_request_id", None),
        (lambda: remaining() / 1000) if callable(remaining) else None,
        plan,
    )


def _observing_sleep(plan: CallPlan) -> Callable[[float], None]:
    """Waits, except after a recorded write: the change was not made, so waiting for it to show is time lost."""

    def sleep(seconds: float) -> None:
        if not plan.pending:
            time.sleep(seconds)

    return sleep


def bounded(event: Any) -> Any:
    """The raw input for a log line, so nothing is lost; cut at 64 KiB to stay within one log event."""
    text = json.dumps(event, default=str)
    return event if len(text) <= RAW_LOG_LIMIT else text[:RAW_LOG_LIMIT] + "…(truncated)"
