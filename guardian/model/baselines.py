"""Where baselines live in the evidence bucket, and their documents: a trail's, its bucket's and log group's, and
the guardian's own rules'.

Pure. One versioned object per subject; its newest version is the current baseline, earlier versions stay under
Object Lock as the history. A trail baseline whose ``trail`` is null is retired: the trail was deleted by an exempt
principal, on purpose, and the sweep does not bring it back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from guardian.model.approvals import Pending
from guardian.model.bucket import BucketState
from guardian.model.log_group import LogGroupState
from guardian.model.rules import Subject
from guardian.model.trail import TrailState

BASELINE_SCHEMA = "cloudtrail-guardian/baseline"
BASELINE_SCHEMA_VERSION = "1.0"
PREFIX = "baselines"

ResourceState = BucketState | LogGroupState


class BaselineError(ValueError):
    """A stored baseline cannot be read as one (not JSON, another schema, a field of the wrong shape)."""


def check_regional(document: Mapping[str, Any], kind: str, region: str, what: str) -> None:
    """A verified document of the baselines' schema is the ``kind`` kept for ``region`` (one Region's signed
    document cannot stand in for another's); :class:`BaselineError` naming ``what`` otherwise."""
    if document.get("schema") != BASELINE_SCHEMA or document.get("kind") != kind:
        raise BaselineError(f"not a {what}: schema {document.get('schema')!r}, kind {document.get('kind')!r}")
    if document.get("region") != region:
        raise BaselineError(f"the {what} of {document.get('region')!r} is stored as {region!r}'s")


def trail_key(region: str, name: str) -> str:
    """``baselines/<Region>/<trail>.json``."""
    return f"{PREFIX}/{region}/{name}.json"


def bucket_key(name: str) -> str:
    return f"{PREFIX}/buckets/{name}.json"


def log_group_key(region: str, name: str) -> str:
    """Log group names contain slashes: quoted, so each group is exactly one object."""
    return f"{PREFIX}/log-groups/{region}/{quote(name, safe='')}.json"


def resource_key(kind: Subject, name: str, region: str | None) -> str:
    return bucket_key(name) if kind is Subject.BUCKET else log_group_key(region or "", name)


def rule_key(region: str, name: str) -> str:
    return f"{PREFIX}/guardian-rules/{region}/{name}.json"


def function_key(name: str) -> str:
    return f"{PREFIX}/guardian-functions/{name}.json"


def function_document(name: str, snapshot: Mapping[str, Any], *, recorded_at: str, by: str) -> dict[str, Any]:
    """One of the guardian's own functions as deployed (:func:`guardian.flows.own_functions.snapshot`)."""
    return {
        **_header("guardian_function", recorded_at=recorded_at, recorded_by=by, reason=f"recorded by the {by}"),
        "function_name": name,
        "function": dict(snapshot),
    }


ALERT_PATH_KEY = f"{PREFIX}/guardian-alert-path.json"


def alert_path_document(policies: Mapping[str, Any], *, recorded_at: str, by: str) -> dict[str, Any]:
    """The policies an alert depends on, as deployed: the topic's (and its key id), and each of its keys'."""
    return {
        **_header("guardian_alert_path", recorded_at=recorded_at, recorded_by=by, reason=f"recorded by the {by}"),
        "policies": dict(policies),
    }


ALIASES_KEY = f"{PREFIX}/guardian-aliases.json"


def aliases_document(aliases: Mapping[str, Mapping[str, str]], *, recorded_at: str, by: str) -> dict[str, Any]:
    """The guardian's KMS aliases as deployed: Region → alias name → the key id it points at."""
    return {
        **_header("guardian_aliases", recorded_at=recorded_at, recorded_by=by, reason=f"recorded by the {by}"),
        "aliases": {region: dict(names) for region, names in aliases.items()},
    }


def trail_prefix(region: str) -> str:
    return f"{PREFIX}/{region}/"


def _header(kind: str, *, recorded_at: str, recorded_by: str, reason: str) -> dict[str, Any]:
    return {
        "schema": BASELINE_SCHEMA,
        "schema_version": BASELINE_SCHEMA_VERSION,
        "kind": kind,
        "recorded_at": recorded_at,
        "recorded_by": recorded_by,
        "reason": reason,
    }


def trail_document(
    state: TrailState | None, *, recorded_at: str, recorded_by: str, reason: str, pending: Pending | None = None
) -> dict[str, Any]:
    """``state`` None records that the trail was retired (deleted on purpose); ``pending``, an exempt change waiting
    for CloudTrail's confirmation (:mod:`guardian.model.approvals`)."""
    return {
        **_header("trail", recorded_at=recorded_at, recorded_by=recorded_by, reason=reason),
        "trail": None if state is None else state.to_json(),
        **({"pending_approval": pending.to_json()} if pending else {}),
    }


def resource_document(
    kind: Subject,
    state: ResourceState,
    trails: Sequence[str],
    *,
    recorded_at: str,
    recorded_by: str,
    reason: str,
    pending: Pending | None = None,
) -> dict[str, Any]:
    return {
        **_header(kind.value, recorded_at=recorded_at, recorded_by=recorded_by, reason=reason),
        "trails": sorted(set(trails)),
        "state": state.to_json(),
        **({"pending_approval": pending.to_json()} if pending else {}),
    }


def pending_of(document: Mapping[str, Any]) -> Pending | None:
    found = document.get("pending_approval")
    return Pending.from_json(found) if isinstance(found, Mapping) else None


def rule_document(name: str, snapshot: Mapping[str, Any], *, recorded_at: str, by: str, region: str) -> dict[str, Any]:
    """One of the guardian's own rules, whole: its definition and its targets (:func:`guardian.flows.own_rules.
    snapshot`)."""
    return {
        **_header("guardian_rule", recorded_at=recorded_at, recorded_by=by, reason=f"recorded by the {by}"),
        "rule_name": name,
        "region": region,
        "rule": dict(snapshot["rule"]),
        "targets": [dict(t) for t in snapshot["targets"]],
    }


def _checked(document: Mapping[str, Any]) -> Mapping[str, Any]:
    if document.get("schema") != BASELINE_SCHEMA:
        raise BaselineError(f"not a baseline document: schema {document.get('schema')!r}")
    return document


def trail_from_document(document: Mapping[str, Any]) -> TrailState | None:
    """The trail the document holds; None if it records a retirement."""
    trail = _checked(document).get("trail")
    if trail is None:
        return None
    if not isinstance(trail, Mapping):
        raise BaselineError(f"a trail baseline's 'trail' must be an object, got {type(trail).__name__}")
    try:
        return TrailState.from_json(trail)
    except (KeyError, TypeError) as exc:
        raise BaselineError(f"a trail baseline is missing or has a malformed field: {exc}") from exc


def resource_from_document(kind: Subject, document: Mapping[str, Any]) -> tuple[ResourceState, tuple[str, ...]] | None:
    """The resource's state and the trails it serves; None if the document holds no state."""
    state = _checked(document).get("state")
    if state is None:
        return None
    if not isinstance(state, Mapping):
        raise BaselineError(f"a {kind.value} baseline's 'state' must be an object, got {type(state).__name__}")
    try:
        parsed: ResourceState = (
            BucketState.from_json(state) if kind is Subject.BUCKET else LogGroupState.from_json(state)
        )
    except (KeyError, TypeError) as exc:
        raise BaselineError(f"a {kind.value} baseline is missing or has a malformed field: {exc}") from exc
    return parsed, tuple(document.get("trails") or ())
