"""``guardian verify --security-profile``: the chain's head against the one the security account kept.

Each sweep sends its head to the security account, which keeps the newest per account, Region and stack
(infra/chain_heads.py, table ``cloudtrail-guardian-chain-heads``). A local head behind it (a lower sequence), or the
same sequence with another digest, means the chain here was shortened or rewritten since: a break, whatever the
local chain says of itself. A head ahead of it is normal (the newest head may still be on its way).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from guardian_console.errors import ConsoleError

if TYPE_CHECKING:
    from guardian_console.deployed import Deployed
    from guardian_console.integrity import Head, Verdict

TABLE = "cloudtrail-guardian-chain-heads"  # as infra/chain_heads.py names it


def kept_head(session: Any, account: str, region: str, stack: str) -> dict[str, Any] | None:
    """The newest head the security account kept for this guardian (``session``: credentials in that account, its
    Region the central stack's), or None if it kept none."""
    try:
        answer = session.client("dynamodb").get_item(
            TableName=TABLE, Key={"origin": {"S": f"{account}#{region}#{stack}"}}, ConsistentRead=True
        )
    except Exception as exc:
        raise ConsoleError(
            f"cannot read the security account's chain heads ({TABLE}): {exc}",
            "use a profile of the security account, in the central stack's Region, that may dynamodb:GetItem",
        ) from exc
    item = answer.get("Item")
    if not item:
        return None
    return {
        "key": item["last_key"]["S"],
        "sequence": int(item["last_sequence"]["N"]),
        "sha256": item["last_sha256"]["S"],
        "written_at": item["last_written_at"]["S"],
    }


def behind(local: Head | None, kept: dict[str, Any] | None) -> str | None:
    """The break, if the local head is behind the kept one or differs from it."""
    if kept is None:
        return None
    said = f"{kept['key']} (sequence {kept['sequence']}, written {kept['written_at']})"
    if local is None:
        return f"the security account kept head {said}, and no digest here verifies: the chain was deleted"
    if local.sequence < kept["sequence"]:
        return (
            f"the chain's head {local.key} (sequence {local.sequence}) is behind the head the security account kept, "
            f"{said}: the chain was shortened"
        )
    if local.sequence == kept["sequence"] and (local.key, local.sha256) != (kept["key"], kept["sha256"]):
        return f"the chain's head {local.key} is not the head the security account kept for it, {said}: rewritten"
    return None


def check(profile: str | None, found: list[tuple[Deployed, Verdict]]) -> None:
    """With ``--security-profile PROFILE`` (credentials in the security account, its Region the central stack's):
    each account's verdict gets the break of :func:`behind`, if any."""
    if not profile:
        return
    import boto3  # noqa: PLC0415 - the console's own import

    session = boto3.session.Session(profile_name=profile)
    for deployed, verdict in found:
        problem = behind(verdict.head, kept_head(session, deployed.account, deployed.region, deployed.stack))
        if problem is not None:
            verdict.breaks.append(problem)
