"""The clients' lean botocore loader (guardian.adapters.clients.lean_loader): the same clients, endpoints and models
as botocore's own loader, without walking every service's folder or building OrderedDicts on a cold start."""

from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path
from typing import Any

import boto3
import botocore
import botocore.loaders
import botocore.session
import pytest
from botocore.exceptions import UnknownServiceError

from guardian.adapters import clients
from guardian.adapters.clients import SERVICES, Boto3Clients

DATA = Path(botocore.__file__).parent / "data"
# Every method of the client provider, and the Region it is asked for.
PROVIDER_CALLS: list[tuple[str, tuple[str, ...]]] = [
    ("cloudtrail", ("eu-west-1",)),
    ("cloudtrail_lookup", ("eu-west-1",)),
    ("sns", ("eu-west-1",)),
    ("s3", ()),
    ("s3", ("ap-southeast-2",)),
    ("cloudwatch", ()),
    ("dynamodb", ()),
    ("kms", ("eu-west-1",)),
    ("logs", ("eu-west-1",)),
    ("events", ("eu-west-1",)),
    ("lambda_", ("eu-west-1",)),
    ("cloudformation", ("eu-west-1",)),
    ("sqs", ("eu-west-1",)),
    ("config_service", ("eu-west-1",)),
    ("guardduty", ("eu-west-1",)),
    ("secretsmanager", ("eu-west-1",)),
    ("securityhub", ("eu-west-1",)),
    ("iam", ()),
]


@pytest.fixture
def own_loader(monkeypatch: pytest.MonkeyPatch) -> None:
    """New loaders for this test's sessions, the guardian's and botocore's (kept for the process otherwise)."""
    monkeypatch.setattr(clients, "_LOADERS", {})
    monkeypatch.setattr(botocore.session, "create_loader", botocore.loaders.create_loader)


def test_the_provider_asks_for_no_service_it_does_not_list() -> None:
    """The loader lists only SERVICES: every method of the provider must be among them, or its client would fail."""
    provider_methods = {name for name in vars(Boto3Clients) if not name.startswith("_") and name != "warm"}
    assert provider_methods == {name for name, _ in PROVIDER_CALLS} | {"s3_as"}  # s3_as: STS then S3, below


def access_key(client: Any) -> str:
    """The access key a client signs with."""
    return str(client._request_signer._credentials.access_key)


@pytest.mark.usefixtures("own_loader")
def test_s3_as_another_role_uses_its_credentials_and_keeps_them_while_they_last(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The Security Lake custom source's provider role (guardian.flows.lake_delivery): AssumeRole with its external
    id through the Region's STS, an S3 client with those credentials, kept while 5 minutes or more are left."""
    from datetime import UTC, datetime, timedelta  # noqa: PLC0415

    asked: list[dict[str, Any]] = []
    left = [timedelta(minutes=15)]

    class Sts:
        def assume_role(self, **request: Any) -> dict[str, Any]:
            asked.append(request)
            expires = datetime.now(UTC) + left[0]
            number = len(asked)
            return {"Credentials": {"AccessKeyId": f"ASIA{number}", "SecretAccessKey": "s", "SessionToken": "t",
                                    "Expiration": expires}}  # fmt: skip

    ours = Boto3Clients()
    made = ours._client("s3", "us-east-1")  # a session, as the sweep has one by then
    monkeypatch.setattr(ours, "_client", lambda service, region, *_: Sts() if service == "sts" else made)
    role = "arn:aws:iam::123456789012:role/AmazonSecurityLake-Provider-x-eu-west-1"
    first = ours.s3_as(role, "ext-1", "eu-west-1")
    assert asked == [
        {"RoleArn": role, "RoleSessionName": "cloudtrail-guardian", "ExternalId": "ext-1", "DurationSeconds": 900}
    ]
    assert first.meta.region_name == "eu-west-1"
    assert access_key(first) == "ASIA1"
    assert ours.s3_as(role, "ext-1", "eu-west-1") is first  # kept
    ours.s3_as(role, "ext-2", "eu-west-1")  # another external id: its own
    assert len(asked) == 2
    left[0] = timedelta(minutes=4)
    ours._cache.clear()
    ours.s3_as(role, "ext-1", "eu-west-1")
    assert access_key(ours.s3_as(role, "ext-1", "eu-west-1")) == "ASIA4"  # renewed


@pytest.mark.usefixtures("own_loader")
def test_every_client_resolves_as_with_botocores_own_loader() -> None:
    """Same endpoint, Region, signing name and operations for every client the guardian makes."""
    ours = Boto3Clients()
    stock = boto3.session.Session()
    for method, args in PROVIDER_CALLS:
        client = getattr(ours, method)(*args)
        service = client.meta.service_model.service_name
        region = args[0] if args else None
        reference = stock.client(service, region_name=region)
        assert service in SERVICES
        assert (client.meta.endpoint_url, client.meta.region_name) == (
            reference.meta.endpoint_url,
            reference.meta.region_name,
        ), method
        assert client.meta.service_model.signing_name == reference.meta.service_model.signing_name
        assert client.meta.service_model.operation_names == reference.meta.service_model.operation_names


@pytest.mark.usefixtures("own_loader")
def test_the_first_client_does_not_list_every_service(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore's loader lists each of its ~440 service folders before it loads one model (15 ms of a cold start):
    the guardian's looks in its own services' folders only."""
    listed: list[str] = []
    original = os.listdir

    def listdir(path: Any = ".") -> list[str]:
        if str(path).startswith(str(DATA)):
            listed.append(str(path))
        return original(path)

    monkeypatch.setattr(os, "listdir", listdir)
    Boto3Clients().cloudtrail("us-east-1")
    walked = len(listed)
    assert len(original(DATA)) > 300  # what botocore's own loader walks, a folder each, for each kind of model
    assert 0 < walked <= 2 * len(SERVICES)  # the two kinds of model a client loads, in each of its services' folders


@pytest.mark.usefixtures("own_loader")
def test_models_are_read_into_plain_dicts_and_unknown_services_still_fail() -> None:
    clients = Boto3Clients()
    clients.cloudtrail("us-east-1")
    loader = clients._session._session.get_component("data_loader")  # type: ignore[union-attr]
    model = loader.load_service_model("cloudtrail", "service-2")
    assert type(model) is dict
    assert type(model["shapes"]) is dict
    assert not any(isinstance(v, OrderedDict) for v in model["shapes"].values())
    assert type(loader.load_data("endpoints")) is dict
    with pytest.raises(UnknownServiceError):
        loader.load_service_model("no-such-service", "service-2")


def test_other_sessions_in_the_process_keep_botocores_loader() -> None:
    """The simulation and the tests make clients of services the guardian never calls, in the same process."""
    Boto3Clients().cloudtrail("us-east-1")
    assert boto3.session.Session().client("ssm", region_name="us-east-1").meta.service_model.service_name == "ssm"
    assert "ssm" not in SERVICES
