"""How a flow is found: the decision table names it (:data:`guardian.model.rules.FLOWS`,
:data:`~guardian.model.rules.SUBJECT_FLOWS`), and its module is imported on first use, so a StopLogging heal loads
only its own flow and adding a kind of repair never touches the orchestrator."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, cast

from guardian.model.rules import FLOWS, SUBJECT_FLOWS

if TYPE_CHECKING:
    from guardian.model.rules import Heal, Rule
    from guardian.ports.flow import Flow, SubjectFlow


def flow(name: str) -> object:
    """A module of :mod:`guardian.flows`, by the name the decision table gives it."""
    return importlib.import_module(f"{__package__}.{name}")


def flow_for(heal: Heal) -> Flow:
    return cast("Flow", flow(FLOWS[heal]))


def owner(rule: Rule) -> SubjectFlow:
    """The flow that owns what a row is about (a key, a bucket, a log group): it scopes and approves."""
    return cast("SubjectFlow", flow(SUBJECT_FLOWS[rule.about]))
