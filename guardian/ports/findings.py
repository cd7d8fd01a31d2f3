"""The account's Security Hub, where each alert is copied as an ASFF finding (:mod:`guardian.model.asff`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from collections.abc import Sequence


class SecurityHubOff(Exception):
    """Security Hub is not enabled in this account and Region (it answered InvalidAccess): findings are off here."""


@runtime_checkable
class SecurityHubCalls(Protocol):
    """GetFindings by Id, BatchImportFindings of one finding, BatchUpdateFindings of its Workflow; each raises
    :class:`SecurityHubOff` where Security Hub is not enabled. Runtime-checkable: an adapter without them has none."""

    def existing_finding(self, region: str, finding_id: str) -> dict[str, Any] | None: ...
    def import_finding(self, region: str, finding: dict[str, Any]) -> None: ...
    def set_workflow(self, region: str, finding_id: str, product_arn: str, status: str) -> None: ...
    def read_json(self, key: str, version: str | None = None) -> dict[str, Any] | None: ...


@runtime_checkable
class SecurityHubBatches(Protocol):
    """The same calls, many findings a request (the sweep's): GetFindings of up to 20 Ids, BatchImportFindings of up
    to 100 findings, BatchUpdateFindings of up to 100 identifiers; each raises :class:`SecurityHubOff` likewise."""

    def existing_findings(self, region: str, finding_ids: Sequence[str]) -> dict[str, dict[str, Any]]: ...
    def import_findings(self, region: str, findings: Sequence[dict[str, Any]]) -> list[str]: ...
    def set_workflows(self, region: str, identifiers: Sequence[tuple[str, str]], status: str) -> int: ...
    def read_json(self, key: str, version: str | None = None) -> dict[str, Any] | None: ...
