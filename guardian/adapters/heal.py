"""The heal path's adapter: StartLogging and GetTrailStatus in the trail's home Region, evidence writes, and the
alert. The only boto3 calls a StopLogging heal makes; every other call is in :class:`guardian.adapters.full.FullAdapter`
(``full()``), loaded on first use. Errors are raised, never swallowed.
"""

from __future__ import annotations

import logging
import time
import weakref
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from guardian.adapters.clients import SDK_VERSIONS
from guardian.ports.errors import error_code

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from guardian.adapters.clients import ClientProvider
    from guardian.model.refs import TrailRef
    from guardian.ports.calls import AlertLedger, Everything
    from guardian.ports.turns import WriteTurns


LOG = logging.getLogger(__name__)
ALIAS_SECONDS = 3600.0
# By client provider (one per environment: a new one when the runtime is reset): when it was read, the alias.
_ALIASES: weakref.WeakKeyDictionary[Any, tuple[float, str | None]] = weakref.WeakKeyDictionary()
# By client provider (one per execution environment): the write quota's turns, and the turns this environment saw.
_TURNS: weakref.WeakKeyDictionary[Any, WriteTurns] = weakref.WeakKeyDictionary()


class HealAdapter:
    """Implements :class:`guardian.ports.HealPath`."""

    def __init__(
        self,
        clients: ClientProvider,
        *,
        topic_arn: str,
        topic_region: str,
        evidence_bucket: str,
        signing_key: str | None = None,
        activity_table: str | None = None,
        full: Callable[[], Everything] | None = None,
    ) -> None:
        self._clients = clients
        self._ledger = activity_table  # the alert ledger's table (see ServiceAdapter.ledger_entry)
        self.signing_key = signing_key
        self._topic_arn = topic_arn
        self._topic_region = topic_region
        self._bucket = evidence_bucket
        self.sdk_versions = SDK_VERSIONS
        self._make_full = full
        self._full: Everything | None = None

    def start_logging(self, trail: TrailRef) -> None:
        self._clients.cloudtrail(trail.region).start_logging(Name=trail.identifier)

    def trail_status(self, trail: TrailRef) -> dict[str, Any]:
        response = self._clients.cloudtrail(trail.region).get_trail_status(Name=trail.identifier)
        return dict(response)

    def describe_trail(self, trail: TrailRef) -> dict[str, Any] | None:
        """The trail as its home Region sees it, or None if it does not exist there."""
        try:
            response = self._clients.cloudtrail(trail.region).describe_trails(
                trailNameList=[trail.identifier], includeShadowTrails=True
            )
        except ClientError as exc:
            if error_code(exc) == "TrailNotFoundException":
                return None
            raise
        for found in response.get("trailList", []):
            if found.get("TrailARN") == trail.arn or found.get("Name") == trail.name:
                return dict(found)
        return None

    def put_if_absent(self, key: str, document: dict[str, Any], *, locked_until: datetime | None = None) -> bool:
        """Write once: False if the key already exists (a duplicate delivery), True if this call created it.
        ``locked_until``: its own COMPLIANCE lock instead of the bucket's default (a signature's sidecar)."""
        from guardian.model.safe import json_bytes  # noqa: PLC0415 - after StartLogging, off the cold start

        body = json_bytes(document, indent=1)  # a lone surrogate is written escaped, never fails
        return self.put_new(key, body, locked_until=locked_until)

    def put_new(self, key: str, body: bytes, *, locked_until: datetime | None = None) -> bool:
        """Write ``key`` in the guardian's bucket once (``IfNoneMatch``): False if it exists already. With
        ``locked_until``, under COMPLIANCE Object Lock until then: no one, break-glass or root, deletes it before."""
        lock: dict[str, Any] = (
            {} if locked_until is None else {"ObjectLockMode": "COMPLIANCE", "ObjectLockRetainUntilDate": locked_until}
        )
        try:
            self._clients.s3().put_object(
                Bucket=self._bucket, Key=key, Body=body, ContentType="application/json", IfNoneMatch="*", **lock
            )
        except ClientError as exc:
            if error_code(exc) == "PreconditionFailed":
                return False
            raise
        return True

    def tags(self, key: str) -> dict[str, str]:
        """The tags of an existing evidence object."""
        tags = self._clients.s3().get_object_tagging(Bucket=self._bucket, Key=key)["TagSet"]
        return {t["Key"]: t["Value"] for t in tags}

    def set_tags(self, key: str, tags: dict[str, str]) -> None:
        """Replace an evidence object's tags with these. Tags are metadata: no new object, no new version, allowed
        under Object Lock."""
        tag_set: list[Any] = [{"Key": k, "Value": v} for k, v in tags.items()]
        self._clients.s3().put_object_tagging(Bucket=self._bucket, Key=key, Tagging={"TagSet": tag_set})

    def account_alias(self) -> str | None:
        """The account's alias (IAM), for alert subjects; read once an hour. None if it has none, or it cannot be
        read (logged: the subject then names the account by its id alone)."""
        found = _ALIASES.get(self._clients)
        if found is not None and time.monotonic() - found[0] < ALIAS_SECONDS:
            return found[1]
        try:
            aliases = self._clients.iam().list_account_aliases().get("AccountAliases", [])
        except (ClientError, BotoCoreError) as exc:
            LOG.warning("the account alias could not be read: subjects name the account id only", exc_info=exc)
            aliases = []
        alias = aliases[0] if aliases else None
        _ALIASES[self._clients] = (time.monotonic(), alias)
        return alias

    def publish(self, request: dict[str, Any]) -> str:
        """Publish to the topic the request names, with a client in that topic's Region."""
        region = str(request["TopicArn"]).split(":")[3]
        response = self._clients.sns(region).publish(**request)
        return str(response["MessageId"])

    def turns(self, create: bool) -> WriteTurns | None:
        """The write quota's turns in the activity table (None without one). ``create``: make them if this
        environment has none yet (importing :mod:`guardian.adapters.turns`: on a throttle only), else None."""
        if self._ledger is None:
            return None
        found = _TURNS.get(self._clients)
        if found is None and create:
            from guardian.adapters.turns import TableTurns  # noqa: PLC0415 - a burst only, off the cold start

            found = _TURNS[self._clients] = TableTurns(self._clients, self._ledger)
        return found

    def ledger(self) -> AlertLedger:
        """The alert ledger's calls and the signing key, in the full adapter (a rare path: loaded on first use)."""
        return self.full()

    def full(self) -> Everything:
        """The adapter with every other call (configuration, baselines, buckets, keys, rules...), made by the
        factory the entry point gave, on first use: a StopLogging heal never imports or compiles it (Lambda
        compiles sources at every cold start)."""
        if self._full is None:
            if self._make_full is None:
                raise RuntimeError("this adapter serves the heal path only: it was built without the full adapter")
            self._full = self._make_full()
        return self._full
