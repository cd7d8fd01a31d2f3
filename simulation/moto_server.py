"""moto_server on the loopback interface, on a free port, for as long as a ``with`` block lasts."""

from __future__ import annotations

import json
import logging
import os
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
from jsonpath_ng.ext import parse as jsonpath  # type: ignore[attr-defined]
from moto.awslambda.models import lambda_backends
from moto.cloudtrail.models import Trail
from moto.cloudtrail.responses import CloudTrailResponse
from moto.events.models import Rule
from moto.kms.models import Key as KmsKey
from moto.kms.models import kms_backends
from moto.s3.models import S3Backend
from moto.s3.utils import _VersionedKeyStore
from moto.server import ThreadedMotoServer
from moto.sns.models import sns_backends
from moto.utilities.arns import parse_arn

from simulation import lambda_runner
from simulation.cloudtrail_logs import cloudtrail_delivery
from simulation.event_history import event_history
from simulation.log_transformers import log_transformers
from simulation.security_hub import security_hub_as_aws

ACCOUNT = "123456789012"  # moto's default account
REGION = "us-east-1"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@dataclass(frozen=True)
class LocalAws:
    endpoint: str
    invocations: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (function ARN, event)

    def client(self, service: str, region: str = REGION, **credentials: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=region,
            **(credentials or CREDENTIALS),  # type: ignore[call-overload]
        )


@contextmanager
def local_aws() -> Iterator[LocalAws]:
    """Start moto_server on 127.0.0.1 (never another interface) and stop it afterwards."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    invocations: list[tuple[str, dict[str, Any]]] = []
    try:
        host, port = server.get_host_and_port()
        assert host == "127.0.0.1"
        # moto keeps its state in this process: start every simulation from an empty account.
        urllib.request.urlopen(urllib.request.Request(f"http://{host}:{port}/moto-api/reset", method="POST"))
        with (
            eventbridge_targets(invocations),
            kms_key_specs(),
            cloudtrail_as_aws(),
            s3_versions_by_prefix(),
            log_group_keys(),
            log_transformers(),  # moto lacks CloudWatch Logs' transformers and account policies
            lambda_invoke_configs(),
            cloudtrail_delivery(),  # ListPublicKeys, and the digests simulation.cloudtrail_logs delivers
            event_history(),  # LookupEvents, from the records the scenario says CloudTrail holds
            security_hub_as_aws(),  # not enabled answered as AWS does, BatchUpdateFindings (simulation.security_hub)
        ):
            yield LocalAws(endpoint=f"http://{host}:{port}", invocations=invocations)
    finally:
        server.stop()


@contextmanager
def eventbridge_targets(invocations: list[tuple[str, dict[str, Any]]]) -> Iterator[None]:
    """Two EventBridge targets moto 5.2.5 lacks, added for the simulation (moto runs in this process), and two
    behaviours where it differs from AWS (a disabled or scheduled rule is not triggered by events):

    - an SNS topic: the input-transformed event is published to the topic, as EventBridge does;
    - a Lambda function: without Docker moto cannot run it, so the invocation EventBridge would make is recorded
      in ``invocations`` and the caller runs the handler with the function's environment; or, while
      :func:`simulation.lambda_runner.running_functions` runs EventBridge's invocations, run by it.
    Every other target goes to moto unchanged.
    """
    original = Rule.send_to_targets

    def send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
        # As in AWS (moto differs): a disabled rule, or a scheduled rule (no pattern), is not triggered by events.
        if self.state != "ENABLED" or not self.event_pattern.get_pattern():
            return
        if not self.event_pattern.matches_event(original_event):
            return
        ours = [t for t in self.targets if parse_arn(t["Arn"]).service in ("sns", "lambda")]
        for target in ours:
            arn = parse_arn(target["Arn"])
            transformer = target.get("InputTransformer")
            event = transform(transformer, original_event) if transformer else json.dumps(original_event)
            if arn.service == "sns":
                sns_backends[arn.account][arn.region].publish(message=event, arn=target["Arn"])
            elif (runner := lambda_runner.active()) is not None and runner.events:
                function = lambda_backends[arn.account][arn.region].get_function(target["Arn"])
                runner.run_later(function, json.loads(event))  # as Lambda runs an asynchronous invocation
            else:
                invocations.append((target["Arn"], json.loads(event)))
        saved = self.targets
        self.targets = [t for t in saved if t not in ours]
        try:
            original(self, original_event, transform_input)
        finally:
            self.targets = saved

    Rule.send_to_targets = send_to_targets  # type: ignore[method-assign]
    try:
        yield
    finally:
        Rule.send_to_targets = original  # type: ignore[method-assign]


@contextmanager
def cloudtrail_as_aws() -> Iterator[None]:
    """Three answers of moto 5.2.5's CloudTrail made as AWS gives them, so that the guardian sends the requests it
    sends in AWS (and the figures are not inflated):

    - DescribeTrails ignores ``trailNameList`` and lists every trail; AWS returns only the trails named (by name or
      ARN);
    - DescribeTrails always says ``HasCustomEventSelectors`` and ``HasInsightSelectors`` false; AWS says true once
      PutEventSelectors or PutInsightSelectors gave the trail some (the guardian reads selectors only then);
    - ListEventDataStores is missing (moto has no CloudTrail Lake): it answers as for an account with no store.
    """
    original_describe = CloudTrailResponse.describe_trails
    original_description = Trail.description

    def describe_trails(self: CloudTrailResponse) -> str:
        answer = json.loads(original_describe(self))
        named = self._get_param("trailNameList") or []
        if named:
            answer["trailList"] = [t for t in answer["trailList"] if {t.get("Name"), t.get("TrailARN")} & set(named)]
        return json.dumps(answer)

    def description(self: Trail, include_region: bool = False) -> dict[str, Any]:
        described = original_description(self, include_region)
        described["HasCustomEventSelectors"] = bool(self.event_selectors or self.advanced_event_selectors)
        described["HasInsightSelectors"] = bool(self.insight_selectors)
        return described

    def list_event_data_stores(self: CloudTrailResponse) -> str:
        return json.dumps({"EventDataStores": []})  # moto has no CloudTrail Lake: an account without stores

    original_stores = getattr(CloudTrailResponse, "list_event_data_stores", None)
    CloudTrailResponse.describe_trails = describe_trails  # type: ignore[method-assign]
    Trail.description = description  # type: ignore[method-assign]
    if original_stores is None:
        CloudTrailResponse.list_event_data_stores = list_event_data_stores  # type: ignore[attr-defined]
    try:
        yield
    finally:
        CloudTrailResponse.describe_trails = original_describe  # type: ignore[method-assign]
        Trail.description = original_description  # type: ignore[method-assign]
        if original_stores is None:
            del CloudTrailResponse.list_event_data_stores  # type: ignore[attr-defined]


@contextmanager
def log_group_keys() -> Iterator[None]:
    """CloudWatch Logs' AssociateKmsKey and DisassociateKmsKey, which moto 5.2.5 lacks (its groups keep a key only
    from CreateLogGroup): the key is set on, or taken off, the group as AWS does."""
    from moto.core.exceptions import JsonRESTError  # noqa: PLC0415
    from moto.logs.responses import LogsResponse  # noqa: PLC0415

    def key_of(self: LogsResponse, key: str | None) -> str:
        name = self._get_param("logGroupName")
        group = self.logs_backend.groups.get(name)
        if group is None:
            raise JsonRESTError("ResourceNotFoundException", f"The specified log group does not exist: {name}")
        group.kms_key_id = key
        return ""

    saved = {n: getattr(LogsResponse, n, None) for n in ("associate_kms_key", "disassociate_kms_key")}
    LogsResponse.associate_kms_key = lambda self: key_of(self, self._get_param("kmsKeyId"))  # type: ignore[attr-defined]
    LogsResponse.disassociate_kms_key = lambda self: key_of(self, None)  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for name, original in saved.items():
            if original is None:
                delattr(LogsResponse, name)
            else:
                setattr(LogsResponse, name, original)


@contextmanager
def lambda_invoke_configs() -> Iterator[None]:
    """Lambda's PutFunctionEventInvokeConfig replaces a function's event invoke config, and
    UpdateFunctionEventInvokeConfig changes the fields it names; moto 5.2.5 appends each as one more config and
    answers with the first, so neither is seen. Both are made as AWS does."""
    from moto.awslambda.models import EventInvokeConfig, LambdaBackend  # noqa: PLC0415

    def put(self: LambdaBackend, function_name: str, config: dict[str, Any]) -> dict[str, Any]:
        fn = self.get_function(function_name)
        made = EventInvokeConfig(fn.function_arn, fn.last_modified, config)
        fn.event_invoke_config = [made]
        return made.response()

    def update(self: LambdaBackend, function_name: str, config: dict[str, Any]) -> dict[str, Any]:
        fn = self.get_function(function_name)
        before = fn.event_invoke_config[0].config if fn.event_invoke_config else {}
        return put(self, function_name, {**before, **config})

    saved = (LambdaBackend.put_function_event_invoke_config, LambdaBackend.update_function_event_invoke_config)
    LambdaBackend.put_function_event_invoke_config = put  # type: ignore[method-assign]
    LambdaBackend.update_function_event_invoke_config = update  # type: ignore[method-assign]
    try:
        yield
    finally:
        LambdaBackend.put_function_event_invoke_config, LambdaBackend.update_function_event_invoke_config = saved  # type: ignore[method-assign]


_LISTING = threading.local()


@contextmanager
def s3_versions_by_prefix() -> Iterator[None]:
    """ListObjectVersions at AWS's cost: moto 5.2.5 deep-copies every version of every key in the bucket, bodies
    included, for each call whatever its prefix, so its cost grows with the whole bucket (baselines, evidence,
    digests) and, under its lock, stalls every other request; AWS reads only the prefix's versions. Here only the
    keys under the prefix are copied; the answer is the same."""
    original_listing = S3Backend.list_object_versions
    original_lists = _VersionedKeyStore.iterlists

    def list_object_versions(self: S3Backend, bucket_name: str, *args: Any, **kwargs: Any) -> Any:
        _LISTING.prefix = kwargs.get("prefix") or ""
        try:
            return original_listing(self, bucket_name, *args, **kwargs)
        finally:
            _LISTING.prefix = ""

    def iterlists(self: _VersionedKeyStore) -> Iterator[tuple[str, list[Any]]]:
        prefix = getattr(_LISTING, "prefix", "")
        return ((key, versions) for key, versions in original_lists(self) if key.startswith(prefix))

    S3Backend.list_object_versions = list_object_versions  # type: ignore[method-assign]
    _VersionedKeyStore.iterlists = iterlists
    try:
        yield
    finally:
        S3Backend.list_object_versions = original_listing  # type: ignore[method-assign]
        _VersionedKeyStore.iterlists = original_lists


@contextmanager
def kms_key_specs() -> Iterator[None]:
    """moto's CloudFormation creates every AWS::KMS::Key as a symmetric encryption key, whatever its KeySpec and
    KeyUsage say, keeps its KeyPolicy as an object its own DescribeKey then fails to parse, and fails on a key with
    Tags (it hands CloudFormation's Key/Value to a backend that wants TagKey/TagValue); AWS creates what the
    template says. The guardian's signing key is RSA 2048, sign and verify,
    and the sweep describes the alerts key: the simulation creates template keys as AWS does."""
    original = KmsKey.create_from_cloudformation_json

    def create(
        cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        properties = cloudformation_json["Properties"]
        policy = properties["KeyPolicy"]
        key = kms_backends[account_id][region_name].create_key(
            policy=policy if isinstance(policy, str) else json.dumps(policy),
            key_usage=properties.get("KeyUsage", "ENCRYPT_DECRYPT"),
            key_spec=properties.get("KeySpec", "SYMMETRIC_DEFAULT"),
            description=properties.get("Description"),
            tags=[{"TagKey": t["Key"], "TagValue": t["Value"]} for t in properties.get("Tags", [])],
        )
        key.key_rotation_status = properties.get("EnableKeyRotation", False)
        key.enabled = properties.get("Enabled", True)
        return key

    KmsKey.create_from_cloudformation_json = classmethod(create)  # type: ignore[assignment, method-assign, arg-type]
    try:
        yield
    finally:
        KmsKey.create_from_cloudformation_json = original  # type: ignore[method-assign]


@contextmanager
def environment(**values: str) -> Iterator[None]:
    """Set environment variables for the block, then put back exactly what was there."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def transform(transformer: dict[str, Any], event: dict[str, Any]) -> str:
    """EventBridge's input transformer as AWS applies it (moto's inserts strings unquoted): a placeholder outside a
    JSON string becomes the value as JSON (a string quoted, null if the path is missing); inside a string, its text."""
    values: dict[str, Any] = {}
    for name, path in transformer.get("InputPathsMap", {}).items():
        found = jsonpath(path).find(event)
        values[name] = found[0].value if found else None
    template: str = transformer["InputTemplate"]
    out: list[str] = []
    in_string, i = False, 0
    while i < len(template):
        char = template[i]
        if char == "\\" and in_string:
            out.append(template[i : i + 2])
            i += 2
            continue
        if char == '"':
            in_string = not in_string
        if char == "<":
            end = template.find(">", i)
            name = template[i + 1 : end] if end > 0 else ""
            if name in values:
                value = values[name]
                if in_string:
                    text = value if isinstance(value, str) else ("" if value is None else json.dumps(value))
                    out.append(json.dumps(text)[1:-1])
                else:
                    out.append(json.dumps(value))
                i = end + 1
                continue
        out.append(char)
        i += 1
    return "".join(out)


def create_activity_table(name: str, region: str = REGION) -> None:
    """The guardian's activity table as the stack makes it (infra.stack: partition ``principal``, sort ``at``)."""
    boto3.client("dynamodb", region_name=region).create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "principal", "KeyType": "HASH"}, {"AttributeName": "at", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "principal", "AttributeType": "S"},
            {"AttributeName": "at", "AttributeType": "S"},
        ],
    )
