"""CloudWatch Logs' log transformers and account policies, which moto 5.2.5 lacks: PutTransformer, GetTransformer,
DeleteTransformer (a group's own), and PutAccountPolicy, DescribeAccountPolicies, DeleteAccountPolicy, answered as
AWS answers them (a group without a transformer: ResourceNotFoundException). Kept on moto's Logs backend, so moto's
reset clears them with the rest of the account."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

ACTIONS = (
    "put_transformer",
    "get_transformer",
    "delete_transformer",
    "put_account_policy",
    "describe_account_policies",
    "delete_account_policy",
)


def _store(response: Any, name: str) -> dict[Any, Any]:
    backend = response.logs_backend
    found: dict[Any, Any] = backend.__dict__.setdefault(name, {})
    return found


def _group(response: Any) -> str:
    """The group a transformer call names (a name or an ARN), which must exist."""
    from moto.core.exceptions import JsonRESTError  # noqa: PLC0415

    given = str(response._get_param("logGroupIdentifier"))
    name = given.split(":log-group:", 1)[1].removesuffix(":*") if ":log-group:" in given else given
    if name not in response.logs_backend.groups:
        raise JsonRESTError("ResourceNotFoundException", f"The specified log group does not exist: {name}")
    return name


def put_transformer(self: Any) -> str:
    _store(self, "_transformers")[_group(self)] = self._get_param("transformerConfig")
    return ""


def get_transformer(self: Any) -> str:
    from moto.core.exceptions import JsonRESTError  # noqa: PLC0415

    name = _group(self)
    config = _store(self, "_transformers").get(name)
    if config is None:
        raise JsonRESTError("ResourceNotFoundException", f"No transformer found for log group {name}")
    return json.dumps({"logGroupIdentifier": name, "transformerConfig": config})


def delete_transformer(self: Any) -> str:
    _store(self, "_transformers").pop(_group(self), None)
    return ""


def put_account_policy(self: Any) -> str:
    policy = {
        "policyName": self._get_param("policyName"),
        "policyDocument": self._get_param("policyDocument"),
        "policyType": self._get_param("policyType"),
        "scope": self._get_param("scope") or "ALL",
        "lastUpdatedTime": int(time.time() * 1000),
        "accountId": self.current_account,
    }
    if self._get_param("selectionCriteria") is not None:
        policy["selectionCriteria"] = self._get_param("selectionCriteria")
    _store(self, "_account_policies")[(policy["policyType"], policy["policyName"])] = policy
    return json.dumps({"accountPolicy": policy})


def describe_account_policies(self: Any) -> str:
    kind, name = self._get_param("policyType"), self._get_param("policyName")
    found = [p for (t, n), p in _store(self, "_account_policies").items() if t == kind and (name is None or n == name)]
    return json.dumps({"accountPolicies": found})


def delete_account_policy(self: Any) -> str:
    _store(self, "_account_policies").pop((self._get_param("policyType"), self._get_param("policyName")), None)
    return ""


@contextmanager
def log_transformers() -> Iterator[None]:
    from moto.logs.responses import LogsResponse  # noqa: PLC0415

    made: dict[str, Callable[[Any], str]] = {
        "put_transformer": put_transformer,
        "get_transformer": get_transformer,
        "delete_transformer": delete_transformer,
        "put_account_policy": put_account_policy,
        "describe_account_policies": describe_account_policies,
        "delete_account_policy": delete_account_policy,
    }
    saved = {n: LogsResponse.__dict__.get(n) for n in ACTIONS}
    for name, action in made.items():
        setattr(LogsResponse, name, action)
    try:
        yield
    finally:
        for name, original in saved.items():
            if original is None:
                delattr(LogsResponse, name)
            else:
                setattr(LogsResponse, name, original)
