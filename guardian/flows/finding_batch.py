"""The sweep's alerts, kept for their copies (Security Hub findings, :mod:`guardian.flows.sweep_findings`; OCSF objects
and the guardian's own events, :mod:`guardian.flows.sweep_copies`), which are made once the run is done. In both
functions' assets, as :func:`guardian.flows.deliver.deliver` hands each alert it published (or held for its group's
digest) to :func:`noted`; it keeps one only for a run the sweep opened (:func:`opened`, by the run's identity): the
event path's alerts are its own step's (:mod:`guardian.flows.after_alert`), never counted twice. Small and standard
library only: deliver imports it."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from guardian.model.alert import Alert
    from guardian.model.config import Config
    from guardian.model.results import Result
    from guardian.ports.invocation import Invocation

_LOCK = threading.Lock()
_RUNS: dict[int, tuple[Invocation, list[tuple[Result, str | None]]]] = {}


def opened(run: Invocation, config: Config) -> bool:
    """Keep this run's alerts (the sweep's), where a copy is on."""
    if not (config.security_hub or config.ocsf or config.own_events is not None):
        return False
    with _LOCK:
        _RUNS[id(run)] = (run, [])
    return True


def noted(result: Result, run: Invocation, alert: Alert | None = None) -> None:
    """An alert deliver() published (``alert``, as mailed) or held: kept if ``run`` is a sweep's open run."""
    if result.purpose is not None:  # an operator's self-test or approval: not tampering (as the event path)
        return
    with _LOCK:
        entry = _RUNS.get(id(run))
        if entry is not None and entry[0] is run:
            entry[1].append((result, alert.message if alert is not None else None))


def taken(run: Invocation) -> list[tuple[Result, str | None]]:
    """The run's alerts with the document mailed (None: held for its group's digest), in the order they went out;
    the run is closed (nothing more is kept)."""
    with _LOCK:
        entry = _RUNS.pop(id(run), None)
    return entry[1] if entry is not None and entry[0] is run else []
