"""The guardian's own functions' settings beyond their configuration (their event invoke configs, resource-based
policies and function URLs), and its KMS aliases in each Region, as the sweep checks and puts them back."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from guardian.ports.errors import error_code

if TYPE_CHECKING:
    from guardian.adapters.clients import ClientProvider

INVOKE_FIELDS = ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig")


def _absent(exc: ClientError) -> bool:
    return error_code(exc) == "ResourceNotFoundException"


class OwnSettingsAdapter:
    _clients: ClientProvider
    _topic_region: str

    # -- a function's settings ($LATEST, which the stack's EventInvokeConfig and Permission resources set) ---------

    def invoke_config(self, name: str) -> dict[str, Any] | None:
        try:
            found = self._clients.lambda_(self._topic_region).get_function_event_invoke_config(FunctionName=name)
        except ClientError as exc:
            if _absent(exc):
                return None
            raise
        return {k: found[k] for k in INVOKE_FIELDS if k in found}  # type: ignore[literal-required]

    def put_invoke_config(self, name: str, config: dict[str, Any] | None) -> None:
        """PutFunctionEventInvokeConfig (it replaces the whole configuration); None deletes it."""
        client = self._clients.lambda_(self._topic_region)
        if config is None:
            client.delete_function_event_invoke_config(FunctionName=name)
        else:
            client.put_function_event_invoke_config(FunctionName=name, **config)

    def function_policy(self, name: str) -> dict[str, Any] | None:
        try:
            found = self._clients.lambda_(self._topic_region).get_policy(FunctionName=name)
        except ClientError as exc:
            if _absent(exc):
                return None
            raise
        policy: dict[str, Any] = json.loads(found["Policy"])
        return policy

    def add_permission(self, name: str, sid: str, grant: dict[str, str]) -> None:
        """AddPermission: ``grant`` holds Action, Principal and, if any, SourceArn and SourceAccount."""
        request: Any = {"FunctionName": name, "StatementId": sid, **grant}
        self._clients.lambda_(self._topic_region).add_permission(**request)

    def remove_permission(self, name: str, sid: str) -> None:
        self._clients.lambda_(self._topic_region).remove_permission(FunctionName=name, StatementId=sid)

    def function_url(self, name: str) -> dict[str, Any] | None:
        try:
            found = self._clients.lambda_(self._topic_region).get_function_url_config(FunctionName=name)
        except ClientError as exc:
            if _absent(exc):
                return None
            raise
        return {"AuthType": found["AuthType"]}

    def delete_function_url(self, name: str) -> None:
        self._clients.lambda_(self._topic_region).delete_function_url_config(FunctionName=name)

    # -- its KMS aliases, in any Region ------------------------------------------------------------------------------

    def key_aliases(self, region: str, prefix: str) -> dict[str, str]:
        """The aliases named ``prefix...`` in ``region`` → the key id each points at (one ListAliases page of 100
        holds an account's usual aliases)."""
        found: dict[str, str] = {}
        for page in (
            self._clients.kms(region).get_paginator("list_aliases").paginate(PaginationConfig={"PageSize": 100})
        ):
            for alias in page.get("Aliases", []):
                if alias["AliasName"].startswith(prefix) and alias.get("TargetKeyId"):
                    found[alias["AliasName"]] = alias["TargetKeyId"]
        return found

    def point_alias(self, region: str, alias: str, key_id: str, *, exists: bool) -> None:
        """UpdateAlias, or CreateAlias for an alias deleted."""
        kms = self._clients.kms(region)
        if exists:
            kms.update_alias(AliasName=alias, TargetKeyId=key_id)
        else:
            kms.create_alias(AliasName=alias, TargetKeyId=key_id)
