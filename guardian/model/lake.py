"""A CloudTrail Lake event data store's settings, and how a change to them is judged. Pure.

What is held: its retention, its termination protection, whether it takes every Region and the organization, and
its advanced event selectors (what it keeps), its KMS key. A shorter retention, a protection or a scope turned off,
selectors changed in any way (the events it keeps are the audit log: what a change of selectors narrows cannot be
proved here) or another key (whoever holds it decides who may query the store; disabled, it stops ingestion) is
weakening; a longer retention or a protection turned on is strengthening, and becomes the baseline.
"""

from __future__ import annotations

from typing import Any

from guardian.model.changes import Change, Effect

SETTINGS = (
    "RetentionPeriod",
    "TerminationProtectionEnabled",
    "MultiRegionEnabled",
    "OrganizationEnabled",
    "AdvancedEventSelectors",
    "KmsKeyId",
)
FLAGS = ("TerminationProtectionEnabled", "MultiRegionEnabled", "OrganizationEnabled")
PREFIX = "baselines/lake/"


def store_key(region: str, store: str) -> str:
    """``baselines/lake/<Region>/<store id>.json``: one per store, named by its ARN or its id."""
    return f"{PREFIX}{region}/{store.rsplit('/', 1)[-1]}.json"


def settings_of(found: dict[str, Any]) -> dict[str, Any]:
    """The settings held, from GetEventDataStore's answer."""
    return {k: found[k] for k in SETTINGS if found.get(k) is not None}


def lake_document(arn: str, settings: dict[str, Any], *, recorded_at: str, by: str) -> dict[str, Any]:
    return {"store": arn, "settings": settings, "recorded_at": recorded_at, "by": by}


def compare_store(baseline: dict[str, Any], live: dict[str, Any]) -> tuple[Change, ...]:
    """Every setting that differs, each weakening or strengthening."""
    changes = []
    for field in SETTINGS:
        before, after = baseline.get(field), live.get(field)
        if before == after:
            continue
        if field == "RetentionPeriod":
            stronger = before is not None and after is not None and int(after) > int(before)
        elif field in FLAGS:
            stronger = bool(after) and not before
        else:
            stronger = False
        changes.append(Change(field, before, after, Effect.STRENGTHENED if stronger else Effect.WEAKENED))
    return tuple(changes)
