"""The copies of the alerts the remediation function's other routes publish (a stack call not confirmed, a role-less
stack operation, a refused call on the guardian, an event it failed to read): those routes run no steps after their
alert, so the route opens a batch for its run (:mod:`guardian.flows.finding_batch`, as the sweep does), deliver keeps
each alert it publishes or holds, and once the route is done (after its alert, never before) each kept alert gets the
copies the event path's get (:func:`guardian.flows.after_alert.copy_steps`: its Security Hub finding, OCSF object,
own event). A copy that fails is logged and named in ``steps_failed``, never raised. Imported off the heal path."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from guardian.flows import finding_batch
from guardian.flows.after_alert import copy_steps
from guardian.ports.errors import describe_failure

if TYPE_CHECKING:
    from collections.abc import Callable

    from guardian.model.config import Config
    from guardian.ports.calls import HealPath
    from guardian.ports.invocation import Invocation

LOG = logging.getLogger(__name__)


def with_copies(route: Callable[[], dict[str, Any]], aws: HealPath, config: Config, run: Invocation) -> dict[str, Any]:
    """``route()``, then the copies of the alerts it published; its answer, with the copies that failed."""
    collecting = finding_batch.opened(run, config)
    try:
        answer = route()
    except BaseException:
        if collecting:  # an alert published before the failure still gets its copies
            copied(run, aws, config)
        raise
    failed = copied(run, aws, config) if collecting else []
    return {**answer, "steps_failed": failed} if failed else answer


def copied(run: Invocation, aws: HealPath, config: Config) -> list[str]:
    """Close the run's batch and make each kept alert's copies; the names of those that failed."""
    failed: list[str] = []
    for result, mailed in finding_batch.taken(run):
        for name, step in copy_steps(result, aws, config, run, counted=True, mailed=mailed):
            try:
                step()
            except Exception as exc:  # noqa: BLE001 - a copy of an alert already out: logged, never raised
                LOG.error(
                    "a copy of the alert was not made",
                    extra={"step": name, "event_id": result.event.event_id, "error": describe_failure(exc)},
                )
                failed.append(name)
    return failed
