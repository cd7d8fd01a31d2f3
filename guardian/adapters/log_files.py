"""A trail's own log and digest files, read for validation (implements :class:`guardian.ports.calls.LogFileCalls`),
and CloudTrail's public keys that verify the digests."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from guardian.ports.errors import error_code

if TYPE_CHECKING:
    from datetime import datetime

    from guardian.adapters.clients import ClientProvider


class LogFileAdapter:
    _clients: ClientProvider

    def log_keys(self, bucket: str, prefix: str, start_after: str, region: str | None, limit: int) -> list[str]:
        """At most ``limit`` (up to 1,000) keys under ``prefix`` after ``start_after``, in S3's order: one
        ListObjectsV2 call."""
        listed = self._clients.s3(region).list_objects_v2(
            Bucket=bucket, Prefix=prefix, StartAfter=start_after, MaxKeys=limit
        )
        return [str(o["Key"]) for o in listed.get("Contents", [])]

    def log_folders(self, bucket: str, prefix: str, region: str | None = None) -> list[str]:
        """The folders right below ``prefix`` (CommonPrefixes): one ListObjectsV2 call."""
        listed = self._clients.s3(region).list_objects_v2(Bucket=bucket, Prefix=prefix, Delimiter="/")
        return [str(p["Prefix"]) for p in listed.get("CommonPrefixes", [])]

    def log_object(self, bucket: str, key: str, region: str | None = None) -> tuple[bytes, dict[str, str]] | None:
        """The object's bytes (as stored: gzipped) and its user metadata; None if it is gone."""
        try:
            found = self._clients.s3(region).get_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if error_code(exc) in ("NoSuchKey", "404"):
                return None
            raise
        return found["Body"].read(), dict(found.get("Metadata", {}))

    def log_head(self, bucket: str, key: str, region: str | None = None) -> dict[str, str] | None:
        """How the object is stored (HeadObject: no KMS decryption needed), for a file that cannot be read:
        ``encryption`` (``aws:kms``, ``AES256``...) and ``kms_key`` (the key's ARN, or ""); None if it is gone."""
        try:
            found = self._clients.s3(region).head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if error_code(exc) in ("NoSuchKey", "404", "NotFound"):
                return None
            raise
        return {
            "encryption": str(found.get("ServerSideEncryption", "")),
            "kms_key": str(found.get("SSEKMSKeyId") or ""),
        }

    def cloudtrail_public_keys(self, region: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """CloudTrail's public keys of ``region`` valid in [start, end] (what only CloudTrail can sign with)."""
        cloudtrail = self._clients.cloudtrail(region)
        found: list[dict[str, Any]] = []
        request: dict[str, Any] = {"StartTime": start, "EndTime": end}
        while True:
            page = cloudtrail.list_public_keys(**request)
            found += [dict(k) for k in page.get("PublicKeyList", [])]
            if not page.get("NextToken"):
                return found
            request["NextToken"] = page["NextToken"]
