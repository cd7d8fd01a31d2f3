"""The account's Security Hub (implements :class:`guardian.ports.findings.SecurityHubCalls`): one finding at a time,
imported into the account's own ``default`` product in the guardian's home Region."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from guardian.ports.errors import error_code
from guardian.ports.findings import SecurityHubOff

if TYPE_CHECKING:
    from collections.abc import Sequence

    from guardian.adapters.clients import ClientProvider

# What Security Hub answers where it is not enabled: an InvalidAccessException, or (BatchImportFindings) the finding
# in FailedFindings with the InvalidAccess code. Only these mean "off"; any other refusal (AccessDenied: the role's
# policy) is a failure, reported as one.
OFF_CODES = frozenset({"InvalidAccessException", "InvalidAccess"})


class SecurityHubAdapter:
    _clients: ClientProvider

    def hub_enabled(self, region: str) -> bool:
        """Whether Security Hub is enabled here (DescribeHub), for ``guardian status``."""
        try:
            self._clients.securityhub(region).describe_hub()
        except ClientError as exc:
            if error_code(exc) in OFF_CODES:
                return False
            raise
        return True

    def existing_finding(self, region: str, finding_id: str) -> dict[str, Any] | None:
        """The finding with this Id (a filter on Id: at most one), or None."""
        try:
            found = self._clients.securityhub(region).get_findings(
                Filters={"Id": [{"Value": finding_id, "Comparison": "EQUALS"}]}, MaxResults=100
            )
        except ClientError as exc:
            raise _off(exc) from exc
        return next((dict(f) for f in found.get("Findings", []) if f.get("Id") == finding_id), None)

    def import_finding(self, region: str, finding: dict[str, Any]) -> None:
        """BatchImportFindings of one finding: creates it, or updates the one with its Id."""
        try:
            answer = self._clients.securityhub(region).batch_import_findings(Findings=[finding])
        except ClientError as exc:
            raise _off(exc) from exc
        for failed in answer.get("FailedFindings") or []:
            code = str(failed.get("ErrorCode", ""))
            if code in OFF_CODES:
                raise SecurityHubOff(f"{code}: {failed.get('ErrorMessage', '')}")
            raise RuntimeError(f"Security Hub refused the finding: {code}: {failed.get('ErrorMessage', '')}")

    def set_workflow(self, region: str, finding_id: str, product_arn: str, status: str) -> None:
        """BatchUpdateFindings of the Workflow status (BatchImportFindings cannot change it once created)."""
        try:
            answer = self._clients.securityhub(region).batch_update_findings(
                FindingIdentifiers=[{"Id": finding_id, "ProductArn": product_arn}], Workflow={"Status": status}
            )
        except ClientError as exc:
            raise _off(exc) from exc
        for failed in answer.get("UnprocessedFindings") or []:
            raise RuntimeError(f"Security Hub did not update the finding: {failed.get('ErrorCode')}")

    def existing_findings(self, region: str, finding_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The findings with these Ids (at most 20: GetFindings takes 20 values a filter field), by Id."""
        wanted = set(finding_ids)
        filters = {"Id": [{"Value": i, "Comparison": "EQUALS"} for i in sorted(wanted)]}
        try:
            found = self._clients.securityhub(region).get_findings(Filters=filters, MaxResults=100)
        except ClientError as exc:
            raise _off(exc) from exc
        return {str(f["Id"]): dict(f) for f in found.get("Findings", []) if f.get("Id") in wanted}

    def import_findings(self, region: str, findings: Sequence[dict[str, Any]]) -> list[str]:
        """BatchImportFindings of up to 100 findings; the Ids of those refused, each with its error code."""
        try:
            answer = self._clients.securityhub(region).batch_import_findings(Findings=list(findings))
        except ClientError as exc:
            raise _off(exc) from exc
        refused = answer.get("FailedFindings") or []
        if refused and len(refused) == len(findings) and all(f.get("ErrorCode") in OFF_CODES for f in refused):
            raise SecurityHubOff(f"InvalidAccess: {refused[0].get('ErrorMessage', '')}")
        return [f"{f.get('Id', '')}: {f.get('ErrorCode', '')}" for f in refused]

    def set_workflows(self, region: str, identifiers: Sequence[tuple[str, str]], status: str) -> int:
        """BatchUpdateFindings of up to 100 findings' Workflow status; how many were not updated."""
        idents = [{"Id": i, "ProductArn": arn} for i, arn in identifiers]
        try:
            answer = self._clients.securityhub(region).batch_update_findings(
                FindingIdentifiers=idents, Workflow={"Status": status}
            )
        except ClientError as exc:
            raise _off(exc) from exc
        return len(answer.get("UnprocessedFindings") or [])


def _off(exc: ClientError) -> Exception:
    return SecurityHubOff(str(exc)) if error_code(exc) in OFF_CODES else exc
