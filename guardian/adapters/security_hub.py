"""The account's Security Hub (implements :class:`guardian.ports.findings.SecurityHubCalls`): one finding at a time,
imported into the account's own ``default`` product in the guardian's home Region."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from guardian.ports.errors import error_code
from guardian.ports.finding_counts import Before, UnreadableCount
from guardian.ports.findings import SecurityHubOff

if TYPE_CHECKING:
    from collections.abc import Sequence

    from guardian.adapters.clients import ClientProvider

# What Security Hub answers where it is not enabled: an InvalidAccessException, or (BatchImportFindings) the finding
# in FailedFindings with the InvalidAccess code. Only these mean "off"; any other refusal (AccessDenied: the role's
# policy) is a failure, reported as one.
OFF_CODES = frozenset({"InvalidAccessException", "InvalidAccess"})
FINDINGS_PARTITION = "#findings"  # the activity table's items counting each finding (guardian.flows.finding_counts)


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

    def add_finding_count(
        self,
        table: str,
        finding_id: str,
        times: int,
        *,
        created_at: str,
        expires_at: int,
        replace_created: bool = False,
        window: int | None = None,
    ) -> Before:
        """ADD ``times`` to the finding's count in the activity table (UpdateItem: atomic, unconditional); the item
        as it was before. ``replace_created``: the finding's CreatedAt as Security Hub has it, over the table's;
        ``window``: kept, so that one copy a window sees another before it. An item the guardian did not write
        (a count of another type: DynamoDB refuses the ADD) raises UnreadableCount."""
        created = "#created = :created" if replace_created else "#created = if_not_exists(#created, :created)"
        names = {"#count": "count", "#created": "created_at"}
        values = {":times": {"N": str(times)}, ":ttl": {"N": str(expires_at)}, ":created": {"S": created_at}}
        if window is not None:
            created += ", #window = :window"
            names["#window"], values[":window"] = "window", {"N": str(window)}
        try:
            answer = self._clients.dynamodb().update_item(
                TableName=table,
                Key={"principal": {"S": FINDINGS_PARTITION}, "at": {"S": finding_id}},
                UpdateExpression=f"ADD #count :times SET expires_at = :ttl, {created}",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_OLD",
            )
        except ClientError as exc:
            if error_code(exc) == "ValidationException":  # the request is well formed: the item is not
                raise UnreadableCount(str(exc)[:300]) from exc
            raise
        return _before(answer.get("Attributes") or {})

    def note_finding_workflow(self, table: str, finding_id: str, workflow: str) -> None:
        """The Workflow status the guardian set (or found) for the finding, so a repeat needs not ask again."""
        self._clients.dynamodb().update_item(
            TableName=table,
            Key={"principal": {"S": FINDINGS_PARTITION}, "at": {"S": finding_id}},
            UpdateExpression="SET #workflow = :workflow",
            ExpressionAttributeNames={"#workflow": "workflow"},
            ExpressionAttributeValues={":workflow": {"S": workflow}},
        )

    def finding_count(self, table: str, finding_id: str) -> int:
        """The finding's count in the activity table now (a consistent read); 0 without an item."""
        item = self._clients.dynamodb().get_item(
            TableName=table,
            Key={"principal": {"S": FINDINGS_PARTITION}, "at": {"S": finding_id}},
            ConsistentRead=True,
            ProjectionExpression="#count",
            ExpressionAttributeNames={"#count": "count"},
        )
        return _number((item.get("Item") or {}).get("count"))


def _before(old: dict[str, Any]) -> Before:
    """The item as it was, each attribute of the type the guardian writes (else UnreadableCount)."""
    count, created, workflow = old.get("count"), old.get("created_at"), old.get("workflow")
    whole = count is None or (set(count) == {"N"} and str(count["N"]).isdigit())
    if not whole or any(v is not None and set(v) != {"S"} for v in (created, workflow)):
        raise UnreadableCount(f"not the guardian's item: {sorted(old)}"[:300])
    window = str((old.get("window") or {}).get("N"))
    return Before(
        count=_number(count),
        created_at=(created or {}).get("S"),
        workflow=(workflow or {}).get("S"),
        window=int(window) if window.isdigit() else None,
    )


def _number(value: Any) -> int:
    try:
        return max(0, int(str((value or {}).get("N", "0"))))
    except ValueError:
        return 0


def _off(exc: ClientError) -> Exception:
    return SecurityHubOff(str(exc)) if error_code(exc) in OFF_CODES else exc
