"""What reaches the guardian's functions and where their asynchronous results go, held to what was deployed: each
function's event invoke config (retry attempts, maximum event age, destinations), its resource-based policy (who
may invoke it: only the principals its stack granted) and its function URL (the stack makes none).

These are part of a function's signed snapshot (:mod:`guardian.flows.own_functions`), and each can be put back from
here: a permission added is removed (RemovePermission), one removed is granted again (AddPermission, for the grants
a stack makes: a service or an account, with a source ARN or account), the invoke config is put back whole
(PutFunctionEventInvokeConfig, or DeleteFunctionEventInvokeConfig where none was deployed), and a function URL
added is deleted (DeleteFunctionUrlConfig). What cannot be put back is alerted CRITICAL, asking for a redeployment.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from guardian.model.changes import Change, Effect

if TYPE_CHECKING:
    from guardian.ports.calls import FunctionCalls

Step = tuple[str, Callable[[], None]]  # as guardian.flows.steps runs them

SETTINGS = ("EventInvokeConfig", "Permissions", "FunctionUrl")
# The conditions AddPermission can set again, and the parameter each is set by.
CONDITIONS = {("ArnLike", "AWS:SourceArn"): "SourceArn", ("StringEquals", "AWS:SourceAccount"): "SourceAccount"}


def settings_snapshot(aws: FunctionCalls, name: str) -> dict[str, Any]:
    """The function's settings, as the snapshot holds them (three reads)."""
    invoke = aws.invoke_config(name)
    policy = aws.function_policy(name)
    url = aws.function_url(name)
    return {
        "EventInvokeConfig": None if invoke is None else _invoke(invoke),
        "Permissions": {
            str(s.get("Sid", "")): {k: v for k, v in s.items() if k != "Sid"}
            for s in (policy or {}).get("Statement", [])
        },
        "FunctionUrl": url,
    }


def _invoke(found: dict[str, Any]) -> dict[str, Any]:
    """Retries, age, and the destinations set (GetFunctionEventInvokeConfig may give empty ones)."""
    destinations = {k: v for k, v in (found.get("DestinationConfig") or {}).items() if v}
    kept = {k: found[k] for k in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds") if found.get(k) is not None}
    return {**kept, **({"DestinationConfig": destinations} if destinations else {})}


def grant(statement: dict[str, Any]) -> dict[str, str] | None:
    """AddPermission's parameters that make ``statement`` again; None if AddPermission cannot make it."""
    principal = statement.get("Principal")
    if isinstance(principal, dict) and len(principal) == 1:
        principal = next(iter(principal.values()))
    action = statement.get("Action")
    if statement.get("Effect") != "Allow" or not isinstance(principal, str) or not isinstance(action, str):
        return None
    found = {"Action": action, "Principal": principal}
    for operator, values in (statement.get("Condition") or {}).items():
        for key, value in values.items():
            parameter = CONDITIONS.get((operator, key))
            if parameter is None or not isinstance(value, str):
                return None
            found[parameter] = value
    return found


def settings_changes(
    aws: FunctionCalls, name: str, expected: dict[str, Any], found: dict[str, Any]
) -> tuple[list[Change], list[Step], bool]:
    """What differs from the snapshot among :data:`SETTINGS`, the steps that put it back, and whether they put back
    all of it."""
    changes: list[Change] = []
    steps: list[Step] = []
    complete = True
    for field in SETTINGS:
        want, have = expected.get(field), found.get(field)
        if want == have:
            continue
        changes.append(Change(field, want, have, Effect.WEAKENED))
        if field == "EventInvokeConfig":
            verb = "Put" if want is not None else "Delete"
            steps.append((f"{verb}FunctionEventInvokeConfig", partial(aws.put_invoke_config, name, want)))
        elif field == "FunctionUrl":
            if want is None:
                steps.append(("DeleteFunctionUrlConfig", partial(aws.delete_function_url, name)))
            else:
                complete = False  # a URL the stack made, changed or deleted: the stack's to make again
        else:
            more, done = _permission_steps(aws, name, want or {}, have or {})
            steps += more
            complete = complete and done
    return changes, steps, complete


def _permission_steps(
    aws: FunctionCalls, name: str, want: dict[str, Any], have: dict[str, Any]
) -> tuple[list[Step], bool]:
    """Remove each statement added or changed, then grant again each removed or changed (the removals first: a
    statement id is unique in a policy)."""
    steps: list[Step] = [
        ("RemovePermission", partial(aws.remove_permission, name, sid))
        for sid, statement in sorted(have.items())
        if want.get(sid) != statement
    ]
    complete = True
    for sid, statement in sorted(want.items()):
        if have.get(sid) == statement:
            continue
        parameters = grant(statement)
        if parameters is None:
            complete = False
        else:
            steps.append(("AddPermission", partial(aws.add_permission, name, sid, parameters)))
    return steps, complete
