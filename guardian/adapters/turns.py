"""Turns on CloudTrail's write quota, kept in the activity table (implements :class:`guardian.ports.turns.WriteTurns`).

One item per Region (partition ``#write-turns``): ``next``, the first free turn (epoch seconds), and, per trail, the
turn last taken for it. A turn is taken by one conditional UpdateItem (``SET trail = next, next = next + 1``: DynamoDB
evaluates every action on the item as it was, so the trail gets the turn taken), never a read first. Loaded on the
first throttle only: a quiet account's heal never imports it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from guardian.ports.errors import error_code
from guardian.ports.turns import TURN_SECONDS, Turn

if TYPE_CHECKING:
    from guardian.adapters.clients import ClientProvider

PARTITION = "#write-turns"  # no principal ARN starts with "#"
TTL_SECONDS = 86400
TRIES = 3  # conditional writes raced by other invocations before the heal backs off with jitter instead
# A throttle or a turn seen this recently: the next heal in this environment takes a turn before writing (a write
# made at once would take another heal's turn, and send it to the back of the queue).
BUSY_SECONDS = 30.0


class TableTurns:
    def __init__(self, clients: ClientProvider, table: str) -> None:
        self._clients, self._table = clients, table
        self._seen: dict[str, float] = {}  # Region: the last turn this environment took or joined, or throttle

    def busy(self, region: str, now: float) -> bool:
        seen = self._seen.get(region)
        return seen is not None and now < seen + BUSY_SECONDS

    def throttled(self, region: str, now: float) -> None:
        self._seen[region] = max(now, self._seen.get(region, now))

    def take(
        self, region: str, trail: str, *, now: float, soonest: float, latest: float, join_after: float | None
    ) -> Turn | None:
        """The next turn, not before ``soonest``; the trail's last turn if it is later than ``join_after`` (passed,
        or within half the time to ``latest``: one forged costs at most half, and a heal joins two at most:
        guardian.flows.write_turns.MAX_JOINS); None if none comes by ``latest``
        (a forged or full queue: the caller backs off with jitter)."""
        joined_by = join_after  # a turn after the stop, passed or to come, heals it: read after it, not a turn more
        for _ in range(TRIES):
            old = self._update(region, trail, queue=True, soonest=soonest, latest=latest, joined_by=joined_by)
            if "ok" in old:  # the queue's next turn, now this trail's
                return self._turn(region, old.get("next"))
            queued, mine = _number(old.get("next")), _number(old.get("trail"))
            if joined_by is not None and mine is not None and mine > joined_by:
                if mine <= now + (latest - now) / 2:
                    self._seen[region] = mine
                    return Turn(mine, joined=True)
                joined_by = None  # too far off to wait for: a turn of its own
                continue
            if "next" in old and queued is None:  # not a number: not the guardian's (the table is writable)
                return None
            if queued is not None and queued > latest:
                return None
            if queued is None or queued < soonest:  # an idle queue: the turn is the soonest
                if soonest > latest:
                    return None
                idle = self._update(region, trail, queue=False, soonest=soonest, latest=latest, joined_by=joined_by)
                if "ok" in idle:
                    return self._turn(region, idle["next"])
        return None

    def _turn(self, region: str, at: Any) -> Turn | None:
        found = _number(at)
        if found is None:
            return None
        self._seen[region] = found
        return Turn(found)

    def _update(
        self, region: str, trail: str, *, queue: bool, soonest: float, latest: float, joined_by: float | None
    ) -> dict[str, Any]:
        """One conditional UpdateItem: ``{"ok": ..., "next": the turn}`` if it took one, else the item as it was."""
        values: dict[str, Any] = {
            ":soonest": {"N": repr(soonest)},
            ":ttl": {"N": str(int(soonest) + TTL_SECONDS)},
            ":number": {"S": "N"},
        }
        if queue:
            update = "SET #t = #n, #n = #n + :turn, #e = :ttl"
            condition = "attribute_type(#n, :number) AND #n >= :soonest AND #n <= :latest"
            values[":latest"], values[":turn"] = {"N": repr(latest)}, {"N": repr(TURN_SECONDS)}
        else:
            update = "SET #t = :soonest, #n = :after, #e = :ttl"
            condition = "(attribute_not_exists(#n) OR (attribute_type(#n, :number) AND #n < :soonest))"
            values[":after"] = {"N": repr(soonest + TURN_SECONDS)}
        if joined_by is not None:
            condition += " AND (attribute_not_exists(#t) OR NOT attribute_type(#t, :number) OR #t <= :joined)"
            values[":joined"] = {"N": repr(joined_by)}
        try:
            answer = self._clients.dynamodb().update_item(
                TableName=self._table,
                Key={"principal": {"S": PARTITION}, "at": {"S": region}},
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames={"#n": "next", "#t": f"trail {trail}", "#e": "expires_at"},
                ExpressionAttributeValues=values,
                ReturnValues="UPDATED_OLD",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            found: Any = exc.response.get("Item")  # the item as it was (ReturnValuesOnConditionCheckFailure)
            item: dict[str, Any] = dict(found) if isinstance(found, dict) else {}
            return {"next": item.get("next"), "trail": item.get(f"trail {trail}")} if item else {}
        attributes = answer.get("Attributes") or {}
        return {"ok": True, "next": attributes.get("next") if queue else {"N": repr(soonest)}}


def _number(value: Any) -> float | None:
    """A DynamoDB number attribute's value; None for anything else (absent, or of another type)."""
    if not isinstance(value, dict) or not isinstance(value.get("N"), str):
        return None
    try:
        return float(value["N"])
    except ValueError:
        return None
