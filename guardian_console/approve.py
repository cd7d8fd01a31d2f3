"""``guardian approve``: make a trail's configuration, as it is now, its baseline, with who approved it and why.

The console checks what it can with the caller's own credentials first (the trail exists, is logging), so a mistake
is named before anything is asked; then the guardian checks it all again, with the caller proven by STS, and only it
writes the baseline (the caller cannot: baselines are signed with a key only the guardian's roles may use).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from guardian_console import operator
from guardian_console.errors import ConsoleError

if TYPE_CHECKING:
    from datetime import datetime

    from guardian_console.deployed import Deployed


def precheck(session: Any, trail: str, region: str) -> None:
    """The trail exists in ``region`` and is logging, as the caller can see it; else a ConsoleError naming the fix."""
    cloudtrail = session.client("cloudtrail", region_name=region)
    try:
        listed = cloudtrail.describe_trails(trailNameList=[trail], includeShadowTrails=False)["trailList"]
        found = [t for t in listed if trail in (t.get("Name"), t.get("TrailARN"))]
        if not found:
            raise ConsoleError(
                f"no trail named {trail} in {region}", "check the name, and pass the trail's --trail-region"
            )
        logging = cloudtrail.get_trail_status(Name=found[0]["TrailARN"])["IsLogging"]
    except (ClientError, BotoCoreError) as exc:
        raise ConsoleError(
            f"cannot read trail {trail} in {region}: {exc}",
            "the caller needs cloudtrail:DescribeTrails and GetTrailStatus",
        ) from exc
    if not logging:
        raise ConsoleError(
            f"trail {trail} is not logging: a trail that does not log is never approved",
            "start it (or let the guardian heal it: `guardian sweep`), then approve",
        )


def approve(
    session: Any,
    deployed: Deployed,
    *,
    trail: str,
    region: str | None,
    reason: str,
    now: datetime,
    include: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Ask the guardian to approve; its answer. A refusal is a ConsoleError with the guardian's reason. ``include``
    names the dependencies (``bucket``, ``log_group``) the approval may adopt even when weaker than their baselines."""
    where = region or deployed.region
    if where not in deployed.regions:
        raise ConsoleError(
            f"{where} is not a Region this guardian covers ({', '.join(deployed.regions)})",
            "pass --trail-region with a covered Region, or add it to regions in cdk.json and deploy",
        )
    if not reason.strip():
        raise ConsoleError("an approval needs a reason", 'pass --reason "why this configuration is right"')
    precheck(session, trail, where)
    body = operator.request(
        "approve", deployed, trail=trail, region=where, reason=reason.strip(), now=now, include=include
    )
    answer = operator.ask(session, deployed, body)
    if not answer.get("ok"):
        raise ConsoleError(f"the guardian refused the approval: {answer.get('refused')}")
    return answer


def lines(answer: dict[str, Any]) -> list[str]:
    done = answer["approved"]
    changed = ", ".join(done["changes"]) or "nothing (the baseline already said so)"
    return [
        f"approved: trail {done['trail']} ({done['region']}) as it is now is its baseline",
        f"  by        {answer['by']}",
        f"  baseline  {done['baseline']}",
        f"  also      {', '.join(done['resources']) or 'no bucket or log group'}",
        f"  changed   {changed}",
        *(f"  ADOPTED   weaker than its baseline: {what}" for what in done.get("adopted_weaker", ())),
        f"  evidence  {done['evidence_key']}" + ("" if done["alerted"] else " (alert already sent)"),
    ]
