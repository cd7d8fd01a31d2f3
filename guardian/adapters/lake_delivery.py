"""The Security Lake copy's calls (implements :class:`guardian.ports.finding_copies.LakeDeliveryCalls`): the OCSF
objects listed in the guardian's own bucket, and the custom source's objects written as its provider role."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime

    from guardian.adapters.clients import ClientProvider
    from guardian.model.lake_delivery import LakeTarget


class LakeDeliveryAdapter:
    _clients: ClientProvider
    _bucket: str

    def ocsf_folders(self, prefix: str) -> list[str]:
        """The folders right under ``prefix`` (the Region partitions: a few dozen at most)."""
        paginator = self._clients.s3().get_paginator("list_objects_v2")
        found: list[str] = []
        for page in paginator.paginate(Bucket=self._bucket, Prefix=prefix, Delimiter="/"):
            found += [str(p["Prefix"]) for p in page.get("CommonPrefixes", [])]
        return found

    def ocsf_listing(self, prefix: str, limit: int) -> list[tuple[str, datetime]]:
        """Keys under ``prefix`` with their LastModified (1,000 to a ListObjectsV2 call), about ``limit`` at most."""
        found: list[tuple[str, datetime]] = []
        paginator = self._clients.s3().get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self._bucket, Prefix=prefix):
            found += [(str(o["Key"]), o["LastModified"]) for o in page.get("Contents", [])]
            if len(found) >= limit:
                break
        return found

    def put_lake_object(self, target: LakeTarget, key: str, body: bytes) -> None:
        """PutObject into the lake's bucket as the custom source's provider role (its own AssumeRole, external id)."""
        s3 = self._clients.s3_as(target.role_arn, target.external_id, target.region)
        s3.put_object(Bucket=target.bucket, Key=key, Body=body, ContentType="application/vnd.apache.parquet")
