"""The clients' timestamp parser: the same datetimes as botocore's own, for every form AWS answers with."""

from __future__ import annotations

from datetime import UTC

import pytest
from botocore.utils import parse_timestamp as botocore_parse_timestamp
from moto import mock_aws

from guardian.adapters.clients import Boto3Clients, parse_timestamp


@pytest.mark.parametrize(
    "value",
    [
        "2026-11-27T06:00:00.000Z",  # S3's XML (LastModified of every listed object)
        "2026-11-27T06:00:00Z",
        "2026-11-27T08:00:00.123456+02:00",
        "2026-11-27T06:00:00",  # no zone: left to botocore (it reads the local zone)
        "Fri, 27 Nov 2026 06:00:00 GMT",  # RFC 822 headers
        1764223200.5,  # epoch seconds (JSON protocols)
        1764223200,
    ],
)
def test_parses_as_botocore_does(value: str) -> None:  # or a number, as botocore takes it
    parsed = parse_timestamp(value)
    assert parsed == botocore_parse_timestamp(value)
    expected = botocore_parse_timestamp(value)
    assert (parsed.tzinfo is None, parsed.utcoffset()) == (expected.tzinfo is None, expected.utcoffset())


def test_every_client_parses_with_it() -> None:
    """Told apart by the zone object: the standard library's UTC here, dateutil's in botocore's own parser."""
    with mock_aws():
        s3 = Boto3Clients().s3("us-east-1")
        s3.create_bucket(Bucket="timestamps-parsed")
        s3.put_object(Bucket="timestamps-parsed", Key="a.json", Body=b"{}")
        [listed] = s3.list_objects_v2(Bucket="timestamps-parsed")["Contents"]
        assert listed["LastModified"].tzinfo is UTC
