"""The guarded set, computed (issue 20): every resource the synthesized templates create, and what guards it.

:data:`TABLE` is the one table: for each CloudFormation resource type, the calls that change such a resource (as
CloudTrail records them: eventSource, eventName, the ``requestParameters`` field naming the resource, and the IAM
action an SCP would deny), the sweep check that holds it to a signed baseline (``module:function`` in guardian/),
and the SCP statement (its Sid) that denies those calls, or ``threat:<row>``, a row of docs/threat-model.md saying
why none. :func:`gaps` walks the templates and reports, per resource and call, what is missing: a type not in the
table, no sweep check, no SCP line, or no EventBridge rule of the template (moto's matcher) that matches a
real-shaped "AWS API Call via CloudTrail" event naming that resource, made by an insider or by CloudFormation on
behalf of a stack that is not the guardian's.
"""

from __future__ import annotations

import fnmatch
import importlib
import json
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moto.events.models import EventPattern

from guardian.model.rules import RULES
from tests.support import REPO_ROOT

SCP_FILES = (
    REPO_ROOT / "infra" / "policies" / "scp-protect-the-guardian.json",
    REPO_ROOT / "infra" / "policies" / "scp-protect-cloudtrail.json",
    REPO_ROOT / "infra" / "policies" / "scp-protect-the-alert-path.json",
)
THREAT_MODEL = REPO_ROOT / "docs" / "threat-model.md"
INSIDER = "arn:aws:sts::{account}:assumed-role/PowerUser/mallory"
VIA = ("insider", "cloudformation")  # who makes the call: the insider's own, or CloudFormation for a stack of theirs


@dataclass(frozen=True)
class Call:
    """One call that changes a resource of a type, as CloudTrail records it."""

    event_source: str
    event_name: str
    field: str  # the requestParameters field naming the resource
    form: str = "ref"  # how it is named: "ref", "arn", "name", or "prop:<Property>" (resolved; a list's first item)
    action: str = ""  # the IAM action (an SCP denies it); default: service prefix + eventName

    @property
    def iam_action(self) -> str:
        if self.action:
            return self.action
        prefix = {"monitoring": "cloudwatch"}.get(self.event_source.split(".")[0], self.event_source.split(".")[0])
        return f"{prefix}:{self.event_name}"


@dataclass(frozen=True)
class Entry:
    """What guards every resource of one CloudFormation type."""

    calls: tuple[Call, ...]
    sweep: str | None  # "guardian.flows.<module>:<function>" holding it to a baseline, or "threat:<row-id>"
    scp: str  # the SCP statements' Sids ("A+B"), or "threat:<row-id>" (a row of docs/threat-model.md saying why none)


LAMBDA, EVENTS, SNS, KMS, S3 = (
    "lambda.amazonaws.com",
    "events.amazonaws.com",
    "sns.amazonaws.com",
    "kms.amazonaws.com",
    "s3.amazonaws.com",
)
CW, SQS, LOGS, SM = (
    "monitoring.amazonaws.com",
    "sqs.amazonaws.com",
    "logs.amazonaws.com",
    "secretsmanager.amazonaws.com",
)
CT = "cloudtrail.amazonaws.com"
GUARDIAN_SCP = "DenyChangesToTheGuardian"
REACHED_SCP = "DenyChangingHowTheGuardianIsReachedOrHeard"  # scp-protect-the-alert-path.json
POLICIES_SCP = "DenyChangesToTheGuardiansPolicies"  # scp-protect-the-alert-path.json
OWN_BUS_SCP = "DenyChangesToTheGuardiansEventBus"  # scp-protect-the-alert-path.json


def _lambda(name: str, action: str, form: str = "ref") -> Call:
    return Call(LAMBDA, name, "functionName", form, f"lambda:{action}")


FUNCTION_CALLS = (
    _lambda("UpdateFunctionCode20150331v2", "UpdateFunctionCode"),
    _lambda("UpdateFunctionConfiguration20150331v2", "UpdateFunctionConfiguration"),
    _lambda("DeleteFunction20150331", "DeleteFunction", "arn"),
    _lambda("PutFunctionConcurrency20171031", "PutFunctionConcurrency"),
    _lambda("DeleteFunctionConcurrency20171031", "DeleteFunctionConcurrency"),
    _lambda("AddPermission20150331v2", "AddPermission"),
    _lambda("CreateFunctionUrlConfig", "CreateFunctionUrlConfig"),
    _lambda("UpdateFunctionUrlConfig", "UpdateFunctionUrlConfig"),
)
S3_BUCKET_CALLS = tuple(
    Call(S3, name, "bucketName", "ref", f"s3:{action}")
    for name, action in (
        ("PutBucketPolicy", "PutBucketPolicy"),
        ("DeleteBucketPolicy", "DeleteBucketPolicy"),
        ("PutObjectLockConfiguration", "PutBucketObjectLockConfiguration"),
        ("PutBucketVersioning", "PutBucketVersioning"),
        ("PutBucketLifecycle", "PutLifecycleConfiguration"),
        ("PutBucketEncryption", "PutEncryptionConfiguration"),
        ("DeleteBucket", "DeleteBucket"),
    )
)
TABLE: dict[str, Entry] = {
    "AWS::Lambda::Function": Entry(
        FUNCTION_CALLS, "guardian.flows.own_functions:check_own_functions", f"{GUARDIAN_SCP}+{REACHED_SCP}"
    ),
    "AWS::Lambda::Permission": Entry(
        (
            _lambda("AddPermission20150331v2", "AddPermission", "prop:FunctionName"),
            _lambda("RemovePermission20150331v2", "RemovePermission", "prop:FunctionName"),
        ),
        "guardian.flows.own_functions:check_own_functions",  # its policy, in the function's snapshot
        GUARDIAN_SCP,
    ),
    "AWS::Lambda::EventInvokeConfig": Entry(
        (
            _lambda("PutFunctionEventInvokeConfig", "PutFunctionEventInvokeConfig", "prop:FunctionName"),
            _lambda("UpdateFunctionEventInvokeConfig", "UpdateFunctionEventInvokeConfig", "prop:FunctionName"),
            _lambda("DeleteFunctionEventInvokeConfig", "DeleteFunctionEventInvokeConfig", "prop:FunctionName"),
        ),
        "guardian.flows.own_functions:check_own_functions",  # in the function's snapshot (function_settings)
        REACHED_SCP,
    ),
    # ownEvents dedicated (infra.own_events): its policy keeps forged events off the bus teams route
    "AWS::Events::EventBus": Entry(
        tuple(Call(EVENTS, n, "eventBusName", "name") for n in ("PutPermission", "RemovePermission"))
        + tuple(Call(EVENTS, n, "name", "name") for n in ("DeleteEventBus", "UpdateEventBus")),
        "threat:own-events-bus-opened",  # the sweep does not read the bus's policy: redeploying puts it back
        OWN_BUS_SCP,
    ),
    "AWS::Events::Rule": Entry(
        tuple(Call(EVENTS, n, "name") for n in ("DisableRule", "DeleteRule", "PutRule"))
        + tuple(Call(EVENTS, n, "rule") for n in ("PutTargets", "RemoveTargets")),
        "guardian.flows.own_rules:check_own_rules",
        GUARDIAN_SCP,
    ),
    "AWS::SNS::Topic": Entry(
        (
            Call(SNS, "DeleteTopic", "topicArn"),
            Call(SNS, "SetTopicAttributes", "topicArn"),
            Call(SNS, "Subscribe", "topicArn"),
            Call(SNS, "AddPermission", "topicArn"),
            Call(SNS, "PutDataProtectionPolicy", "resourceArn"),
        ),
        "guardian.flows.alert_path:check_alert_path",
        GUARDIAN_SCP,
    ),
    "AWS::SNS::TopicPolicy": Entry(
        (Call(SNS, "SetTopicAttributes", "topicArn", "prop:Topics"),),
        "guardian.flows.alert_path:_policies",
        GUARDIAN_SCP,
    ),
    "AWS::SNS::Subscription": Entry(
        (
            Call(SNS, "Unsubscribe", "subscriptionArn"),
            Call(SNS, "SetSubscriptionAttributes", "subscriptionArn"),
        ),
        "guardian.flows.alert_path:_subscriptions",
        REACHED_SCP,
    ),
    "AWS::KMS::Key": Entry(
        (
            Call(KMS, "DisableKey", "keyId", "arn"),
            Call(KMS, "ScheduleKeyDeletion", "keyId"),
            Call(KMS, "PutKeyPolicy", "keyId"),
            Call(KMS, "CreateGrant", "keyId", "arn"),
        ),
        "guardian.flows.alert_path:_key",
        GUARDIAN_SCP,
    ),
    "AWS::KMS::Alias": Entry(
        (Call(KMS, "UpdateAlias", "aliasName"), Call(KMS, "DeleteAlias", "aliasName")),
        "guardian.flows.own_aliases:check_own_aliases",
        GUARDIAN_SCP,
    ),
    "AWS::S3::Bucket": Entry(
        S3_BUCKET_CALLS, "guardian.flows.own_buckets:check_own_buckets", "DenyChangesToTheGuardiansBuckets"
    ),
    "AWS::S3::BucketPolicy": Entry(
        (
            Call(S3, "PutBucketPolicy", "bucketName", "prop:Bucket"),
            Call(S3, "DeleteBucketPolicy", "bucketName", "prop:Bucket"),
        ),
        "guardian.flows.own_buckets:check_own_buckets",
        "DenyChangesToTheGuardiansBuckets",
    ),
    "AWS::CloudWatch::Alarm": Entry(
        (
            Call(CW, "DisableAlarmActions", "alarmNames"),
            Call(CW, "DeleteAlarms", "alarmNames"),
            Call(CW, "PutMetricAlarm", "alarmName"),
        ),
        "guardian.flows.alert_path:_alarms",
        GUARDIAN_SCP,
    ),
    "AWS::SQS::Queue": Entry(
        (
            Call(SQS, "DeleteQueue", "queueUrl"),
            Call(SQS, "SetQueueAttributes", "queueUrl"),
            Call(SQS, "PurgeQueue", "queueUrl"),
        ),
        "guardian.flows.alert_path:_queue",
        GUARDIAN_SCP,
    ),
    "AWS::SQS::QueuePolicy": Entry(
        (Call(SQS, "SetQueueAttributes", "queueUrl", "prop:Queues"),),
        "guardian.flows.alert_path:policies",
        GUARDIAN_SCP,
    ),
    "AWS::SecretsManager::Secret": Entry(
        (
            Call(SM, "PutSecretValue", "secretId"),
            Call(SM, "UpdateSecret", "secretId"),
            Call(SM, "DeleteSecret", "secretId"),
            Call(SM, "PutResourcePolicy", "secretId"),
        ),
        "guardian.flows.webhook_secrets:check_webhook_secrets",
        "DenyChangesToTheGuardiansSecrets",
    ),
    "AWS::Logs::MetricFilter": Entry(
        (
            Call(LOGS, "DeleteMetricFilter", "logGroupName", "prop:LogGroupName"),
            Call(LOGS, "PutMetricFilter", "logGroupName", "prop:LogGroupName"),
        ),
        "guardian.flows.alert_path:policies",
        "threat:cis-filters",  # the CIS log group may be the operator's own (cisLogGroup): no SCP statement
    ),
    "AWS::Logs::LogGroup": Entry(
        (
            Call(LOGS, "DeleteLogGroup", "logGroupName"),
            Call(LOGS, "PutRetentionPolicy", "logGroupName"),
            Call(LOGS, "AssociateKmsKey", "logGroupName"),
            Call(LOGS, "DisassociateKmsKey", "logGroupName"),
            Call(LOGS, "DeleteSubscriptionFilter", "logGroupName"),
            Call(LOGS, "DeleteLogStream", "logGroupName"),
            Call(LOGS, "PutDataProtectionPolicy", "logGroupIdentifier"),
            Call(LOGS, "PutTransformer", "logGroupIdentifier"),
        ),
        "guardian.flows.sweep_checks:sweep_resources",
        "DenyWeakeningTheGuardiansLogGroups",  # by its tag; an operator's trail's log group: row `log-group`
    ),
    "AWS::CloudTrail::Trail": Entry(
        tuple(
            Call(CT, name, "name")
            for name in ("StopLogging", "DeleteTrail", "UpdateTrail", "PutEventSelectors", "RemoveTags")
        ),
        "guardian.flows.sweep_trails:check_region",
        "DenyStoppingOrDeletingAuditLogs+DenyWeakeningTrails",
    ),
    "AWS::IAM::Role": Entry(
        tuple(
            Call("iam.amazonaws.com", name, "roleName")
            for name in ("PutRolePolicy", "AttachRolePolicy", "UpdateAssumeRolePolicy", "DeleteRole")
        ),
        "threat:own-roles",
        GUARDIAN_SCP,
    ),
    "AWS::IAM::Policy": Entry(
        (Call("iam.amazonaws.com", "PutRolePolicy", "roleName", "prop:Roles"),), "threat:own-roles", GUARDIAN_SCP
    ),
    # The sweep's customer managed policies, named "<stackName>-sweep-...": a new default version rewrites what the
    # sweep may do; detached, the sweep loses its checks (the role's own guard and statement).
    "AWS::IAM::ManagedPolicy": Entry(
        (
            *(
                Call("iam.amazonaws.com", name, "policyArn", "arn")
                for name in ("CreatePolicyVersion", "SetDefaultPolicyVersion", "DeletePolicyVersion", "DeletePolicy")
            ),
            Call("iam.amazonaws.com", "DetachRolePolicy", "roleName", "prop:Roles"),
        ),
        "threat:own-roles",
        f"{POLICIES_SCP}+{GUARDIAN_SCP}",
    ),
    # What the model accepts, said in the threat model: no calls to prove.
    "AWS::DynamoDB::Table": Entry((), "threat:activity-table", "threat:activity-table"),
}
# Every call of a trail's bucket, key, log group and Lake store has a row of the decision table (rules.py), or a
# reason; the sweep check that holds that kind of resource to its baseline.
DEPENDENCIES: dict[str, tuple[str, tuple[str, ...]]] = {
    S3: (
        "guardian.flows.sweep_checks:sweep_resources",
        (
            "PutBucketPolicy",
            "DeleteBucketPolicy",
            "PutBucketLifecycle",
            "DeleteBucketLifecycle",
            "PutBucketVersioning",
            "PutBucketAcl",
            "PutBucketPublicAccessBlock",
            "DeleteBucketPublicAccessBlock",
            "PutBucketEncryption",
            "DeleteBucketEncryption",
            "DeleteBucket",
            "PutObjectLockConfiguration",
            "PutBucketOwnershipControls",
            "PutBucketIntelligentTieringConfiguration",
            "DeleteBucketIntelligentTieringConfiguration",
            "DeleteObject",
            "DeleteObjects",
        ),
    ),
    KMS: (
        "guardian.flows.key_checks:sweep_keys",
        ("DisableKey", "ScheduleKeyDeletion", "PutKeyPolicy", "CreateGrant", "RetireGrant", "RevokeGrant"),
    ),
    LOGS: (
        "guardian.flows.sweep_checks:sweep_resources",
        (
            "DeleteLogGroup",
            "PutRetentionPolicy",
            "AssociateKmsKey",
            "DisassociateKmsKey",
            "DeleteMetricFilter",
            "PutMetricFilter",
            "DeleteSubscriptionFilter",
            "PutSubscriptionFilter",
            "DeleteLogStream",
            "PutDataProtectionPolicy",
            "DeleteDataProtectionPolicy",
            "PutTransformer",  # held by the group's baseline (its transformer) like the rest
            "PutAccountPolicy",  # swept by guardian.flows.log_policies:sweep_log_policies
            "DeleteAccountPolicy",
        ),
    ),
    CT: (
        "guardian.flows.sweep_trails:check_region",
        ("StopEventDataStoreIngestion", "DeleteEventDataStore", "UpdateEventDataStore"),
    ),
}


# ---- resolving a template to deterministic physical names ------------------------------------------------------


@dataclass
class Instance:
    """One stack as deployed: its template, name, account and Region; a forwarder's home instance, if any."""

    template: dict[str, Any]
    stack_name: str
    account: str
    region: str
    parameters: dict[str, str] = field(default_factory=dict)
    home: Instance | None = None
    security_account: bool = False  # the central alerts stack: out of the member account's insider's reach

    @property
    def stack_id(self) -> str:
        return f"arn:aws:cloudformation:{self.region}:{self.account}:stack/{self.stack_name}/0a1b2c3d-guardian"

    def resources(self) -> dict[str, dict[str, Any]]:
        """The resources this instance creates (CloudFormation's conditions evaluated)."""
        conditions = self.template.get("Conditions", {})
        found = {}
        for lid, resource in self.template["Resources"].items():
            condition = resource.get("Condition")
            if condition is None or self.resolve(conditions[condition]):
                found[lid] = resource
        return found

    def physical(self, lid: str) -> str:
        properties = self.template["Resources"][lid].get("Properties", {})
        kind = self.template["Resources"][lid]["Type"]
        key = NAME_PROPERTY.get(kind)
        named = properties.get(key) if key else None
        if named is not None:
            return str(self.resolve(named))
        generated = f"{self.stack_name}-{lid}-AbC123xYz"
        return generated.lower() if kind == "AWS::S3::Bucket" else generated

    def ref(self, lid: str) -> str:
        kind = self.template["Resources"][lid]["Type"]
        name, r, a = self.physical(lid), self.region, self.account
        if kind == "AWS::SNS::Topic":
            return f"arn:aws:sns:{r}:{a}:{name}"
        if kind == "AWS::SNS::Subscription":
            topic = self.resolve(self.template["Resources"][lid]["Properties"]["TopicArn"])
            return f"{topic}:{uuid.uuid5(uuid.NAMESPACE_URL, lid)}"
        if kind == "AWS::KMS::Key":
            return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.stack_name}/{lid}"))
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{r}.amazonaws.com/{a}/{name}"
        if kind == "AWS::SecretsManager::Secret":
            return f"arn:aws:secretsmanager:{r}:{a}:secret:{name}-AbCdEf"
        if kind == "AWS::IAM::ManagedPolicy":  # Ref gives its ARN
            return f"arn:aws:iam::{a}:policy/{name}"
        return name

    def arn(self, lid: str) -> str:
        kind = self.template["Resources"][lid]["Type"]
        name, r, a = self.physical(lid), self.region, self.account
        service = kind.split("::")[1].lower()
        if kind == "AWS::KMS::Key":
            return f"arn:aws:kms:{r}:{a}:key/{self.ref(lid)}"
        form = {
            "AWS::Lambda::Function": f"arn:aws:lambda:{r}:{a}:function:{name}",
            "AWS::S3::Bucket": f"arn:aws:s3:::{name}",
            "AWS::IAM::Role": f"arn:aws:iam::{a}:role/{name}",
            "AWS::SQS::Queue": f"arn:aws:sqs:{r}:{a}:{name}",
            "AWS::Events::Rule": f"arn:aws:events:{r}:{a}:rule/{name}",
            "AWS::Events::EventBus": f"arn:aws:events:{r}:{a}:event-bus/{name}",
            "AWS::Logs::LogGroup": f"arn:aws:logs:{r}:{a}:log-group:{name}:*",
            "AWS::CloudWatch::Alarm": f"arn:aws:cloudwatch:{r}:{a}:alarm:{name}",
            "AWS::CloudTrail::Trail": f"arn:aws:cloudtrail:{r}:{a}:trail/{name}",
            "AWS::DynamoDB::Table": f"arn:aws:dynamodb:{r}:{a}:table/{name}",
            "AWS::SNS::Topic": self.ref(lid),
            "AWS::SecretsManager::Secret": self.ref(lid),
            "AWS::IAM::ManagedPolicy": f"arn:aws:iam::{a}:policy/{name}",
        }
        return form.get(kind, f"arn:aws:{service}:{r}:{a}:{name}")

    def pseudo(self, name: str) -> str:
        values = {
            "AWS::AccountId": self.account,
            "AWS::Region": self.region,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": self.stack_name,
            "AWS::StackId": self.stack_id,
            "AWS::NoValue": "",
        }
        if name in values:
            return values[name]
        if name in self.parameters:
            return self.parameters[name]
        default = self.template.get("Parameters", {}).get(name, {}).get("Default")
        if default is None:
            raise KeyError(f"no value for {name}")
        return str(default)

    def resolve(self, value: Any) -> Any:
        """CloudFormation's intrinsic functions, as deployed under this instance's names."""
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) != 1:
            return {k: self.resolve(v) for k, v in value.items()}
        [(key, arg)] = value.items()
        if key == "Ref":
            return self.ref(arg) if arg in self.template["Resources"] else self.pseudo(arg)
        if key == "Fn::GetAtt":
            lid, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
            return self.arn(lid) if attribute.endswith("Arn") else self.ref(lid)
        if key == "Fn::Join":
            return str(arg[0]).join(str(self.resolve(part)) for part in arg[1])
        if key == "Fn::Sub":
            text = arg if isinstance(arg, str) else arg[0]
            extra = {} if isinstance(arg, str) else {k: self.resolve(v) for k, v in arg[1].items()}
            return re.sub(r"\$\{([^}]+)\}", lambda m: str(extra.get(m[1]) or self.resolve(_sub(m[1]))), text)
        if key == "Fn::Select":
            return self.resolve(arg[1])[int(self.resolve(arg[0]))]
        if key == "Fn::Split":
            return str(self.resolve(arg[1])).split(arg[0])
        if key == "Fn::If":
            condition = self.template["Conditions"][arg[0]]
            return self.resolve(arg[1] if self.resolve(condition) else arg[2])
        if key == "Fn::Equals":
            return self.resolve(arg[0]) == self.resolve(arg[1])
        if key == "Fn::Not":
            return not self.resolve(arg[0])
        if key == "Fn::And":
            return all(self.resolve(a) for a in arg)
        if key == "Fn::Or":
            return any(self.resolve(a) for a in arg)
        if key == "Condition":
            return self.resolve(self.template["Conditions"][arg])
        if key == "Fn::ImportValue":
            return f"import-{self.resolve(arg)}"
        return {key: self.resolve(arg)}


def _sub(name: str) -> dict[str, Any]:
    if "." in name:
        lid, attribute = name.split(".", 1)
        return {"Fn::GetAtt": [lid, attribute]}
    return {"Ref": name}


NAME_PROPERTY = {
    "AWS::Lambda::Function": "FunctionName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::IAM::Role": "RoleName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::CloudWatch::Alarm": "AlarmName",
    "AWS::Events::Rule": "Name",
    "AWS::Events::EventBus": "Name",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::Logs::MetricFilter": "FilterName",
    "AWS::CloudTrail::Trail": "TrailName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::SecretsManager::Secret": "Name",
    "AWS::KMS::Alias": "AliasName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
}


# ---- events, and the rules that match them -----------------------------------------------------------------------


def api_event(instance: Instance, call: Call, value: str, via: str) -> dict[str, Any]:
    """A real-shaped "AWS API Call via CloudTrail" event: the insider's call, or CloudFormation's for their stack."""
    insider = INSIDER.format(account=instance.account)
    detail: dict[str, Any] = {
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "AssumedRole",
            "arn": insider,
            "accountId": instance.account,
            "sessionContext": {
                "sessionIssuer": {"type": "Role", "arn": f"arn:aws:iam::{instance.account}:role/PowerUser"}
            },
        },
        "eventTime": "2026-01-01T00:00:00Z",
        "eventSource": call.event_source,
        "eventName": call.event_name,
        "awsRegion": instance.region,
        "sourceIPAddress": "203.0.113.66" if via == "insider" else "cloudformation.amazonaws.com",
        "userAgent": "aws-cli/2" if via == "insider" else "cloudformation.amazonaws.com",
        "requestParameters": {call.field: [value] if call.field == "alarmNames" else value},
        "responseElements": None,
        "eventID": "8c5a7f5e-0000-4000-8000-000000000000",
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": instance.account,
    }
    if via == "cloudformation":
        detail["invokedBy"] = "cloudformation.amazonaws.com"
    return {
        "version": "0",
        "id": "0f0e0d0c-0000-4000-8000-000000000000",
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws."
        + {"monitoring": "cloudwatch"}.get(call.event_source.split(".")[0], call.event_source.split(".")[0]),
        "account": instance.account,
        "time": "2026-01-01T00:00:00Z",
        "region": instance.region,
        "resources": [],
        "detail": detail,
    }


def is_watch_rule(name: str) -> bool:
    """The watch rules are the operator's to edit (rules/watch.json): they never count as a guard."""
    return re.search(r"-watch-\d+$", name) is not None


def guard_rules(instance: Instance) -> list[tuple[str, dict[str, Any], list[str]]]:
    """(name, resolved pattern, resolved target ARNs) of every rule of the instance that may guard something."""
    found = []
    for lid, resource in instance.resources().items():
        if resource["Type"] != "AWS::Events::Rule" or "EventPattern" not in resource["Properties"]:
            continue
        properties = instance.resolve(resource["Properties"])
        name = str(properties.get("Name") or lid)
        if is_watch_rule(name) or properties.get("State", "ENABLED") != "ENABLED":
            continue
        targets = [str(t["Arn"]) for t in properties.get("Targets", [])]
        if targets:  # a rule that sends nowhere guards nothing
            found.append((name, properties["EventPattern"], targets))
    return found


def moto_matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    return bool(EventPattern(json.dumps(pattern), pattern).matches_event(event))  # type: ignore[arg-type]


Rules = list[tuple[str, dict[str, Any], list[str]]]


def guarded_by(instance: Instance, event: dict[str, Any], memo: dict[int, Rules] | None = None) -> list[str]:
    """The rules that match the event: the instance's own, or (a forwarder) its home's, once forwarded there.
    ``memo`` keeps each instance's resolved rules over one pass of many events on unchanged templates (gaps())."""
    matched = []
    if memo is None:
        rules = guard_rules(instance)
    elif id(instance) in memo:
        rules = memo[id(instance)]
    else:
        rules = memo[id(instance)] = guard_rules(instance)
    for name, pattern, targets in rules:
        if not moto_matches(pattern, event):
            continue
        home = instance.home
        bus = home and f"arn:aws:events:{home.region}:{home.account}:event-bus/default"
        if home is not None and targets == [bus]:
            matched += [f"{name} -> {n}" for n in guarded_by(home, event, memo)]
        else:
            matched.append(name)
    return matched


# ---- the checks -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Gap:
    check: str  # "type", "sweep", "scp", "rules", "guard-insider", "guard-cloudformation" (+ "@forwarder")
    resource_type: str
    event_name: str  # "*" for the whole type
    where: str = ""  # the stack and logical id (not part of the OPEN key)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.check, self.resource_type, self.event_name)


def scp_statements() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in SCP_FILES:
        for statement in json.loads(path.read_text())["Statement"]:
            actions = statement.get("Action", [])
            found[statement["Sid"]] = [actions] if isinstance(actions, str) else list(actions)
    return found


def threat_rows(path: Path = THREAT_MODEL) -> set[str]:
    """The row ids of docs/threat-model.md's tables (the first cell, `id`)."""
    return set(re.findall(r"^\| `([a-z0-9-]+)` \|", path.read_text(), flags=re.MULTILINE))


def sweep_exists(name: str) -> bool:
    module, _, function = name.partition(":")
    try:
        return callable(getattr(importlib.import_module(module), function, None))
    except ImportError:
        return False


def value_of(instance: Instance, lid: str, form: str) -> str:
    if form == "ref":
        return instance.ref(lid)
    if form == "arn":
        return instance.arn(lid)
    if form == "name":
        return instance.physical(lid)
    resolved = instance.resolve(instance.template["Resources"][lid]["Properties"][form.removeprefix("prop:")])
    return str(resolved[0] if isinstance(resolved, list) else resolved)


def entry_gaps(kind: str, entry: Entry, statements: dict[str, list[str]], rows: set[str]) -> list[Gap]:
    """What a table entry lacks, whatever the templates hold."""
    gaps = []
    if entry.sweep is None or not (
        entry.sweep.removeprefix("threat:") in rows if entry.sweep.startswith("threat:") else sweep_exists(entry.sweep)
    ):
        gaps.append(Gap("sweep", kind, "*"))
    if entry.scp.startswith("threat:"):
        if entry.scp.removeprefix("threat:") not in rows:
            gaps.append(Gap("scp", kind, "*"))
    else:
        actions = [action for sid in entry.scp.split("+") for action in statements.get(sid, [])]
        gaps += [
            Gap("scp", kind, call.event_name)
            for call in entry.calls
            if not any(fnmatch.fnmatchcase(call.iam_action, a) for a in actions)
        ]
    return gaps


def gaps(instances: list[Instance], table: dict[str, Entry] = TABLE) -> list[Gap]:
    """Everything the templates create that lacks a guard, a sweep check or an SCP line (one Gap per key)."""
    statements, rows = scp_statements(), threat_rows()
    found: dict[tuple[str, str, str], Gap] = {}
    checked: set[str] = set()
    memo: dict[int, Rules] = {}  # each instance's rules, resolved once for its thousands of events
    for instance in instances:
        if instance.security_account:
            continue  # in the security account: the member account's insider cannot touch it (row `security-account`)
        for lid, resource in instance.resources().items():
            kind, where = resource["Type"], f"{instance.stack_name}/{lid}"
            entry = table.get(kind)
            if entry is None:
                found.setdefault(("type", kind, "*"), Gap("type", kind, "*", where))
                continue
            if kind not in checked:
                checked.add(kind)
                for gap in entry_gaps(kind, entry, statements, rows):
                    found.setdefault(gap.key, Gap(gap.check, kind, gap.event_name, where))
            for call in entry.calls:
                value = value_of(instance, lid, call.form)
                for via in VIA:
                    if not guarded_by(instance, api_event(instance, call, value, via), memo):
                        scope = "@forwarder" if instance.home is not None else ""  # a forwarder's own gaps apart
                        gap = Gap(f"guard-{via}{scope}", kind, call.event_name, where)
                        found.setdefault(gap.key, gap)
    return sorted(found.values())


def dependency_gaps(tamper: Instance) -> list[Gap]:
    """A trail's bucket, key, log group and Lake store: every changing call has a decision-table row of its source,
    the tamper rule matches it, and a sweep check holds that kind of resource."""
    found = []
    memo: dict[int, Rules] = {}
    for source, (sweep, names) in DEPENDENCIES.items():
        if not sweep_exists(sweep):
            found.append(Gap("sweep", source, "*"))
        for name in names:
            row = RULES.get(name)
            if row is None or row.source != source:
                found.append(Gap("rules", source, name))
            call = Call(source, name, "name")
            if not guarded_by(tamper, api_event(tamper, call, "a-trails-resource", "insider"), memo):
                found.append(Gap("guard-insider", source, name))
    return found
