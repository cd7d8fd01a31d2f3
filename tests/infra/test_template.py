"""Template assertions: every resource property and IAM scope the guardian's security depends on."""

from __future__ import annotations

import ast
import io
import json
import tokenize
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from guardian.model.rules import RULES
from infra.alarms import ALARM_SUFFIXES
from infra.remediation import BUCKET_REPAIRS, DATA_STORE_REPAIRS, KEY_REPAIRS, LOG_GROUP_REPAIRS
from infra.runtime_asset import lean_source, stage_runtime
from infra.self_protection import GUARD_SUFFIXES
from infra.tamper_rule import EVENT_NAMES, EVENT_SOURCES
from tests.infra.conftest import synth_template

pytestmark = pytest.mark.synth


ACCOUNT_FIELD = "<detail-recipientAccountId>"  # the account, from the event, in each self-protection subject


def only(template: Template, type_: str) -> tuple[str, dict[str, Any]]:
    resources = template.find_resources(type_)
    assert len(resources) == 1, f"expected one {type_}, found {sorted(resources)}"
    [(logical_id, resource)] = resources.items()
    return logical_id, dict(resource)


def logical_id(template: Template, type_: str, *, containing: str) -> str:
    [found] = [lid for lid in template.find_resources(type_) if containing in lid]
    return found


def resource(template: Template, type_: str, containing: str) -> dict[str, Any]:
    return dict(template.find_resources(type_)[logical_id(template, type_, containing=containing)])


def test_topic_is_encrypted_with_a_rotating_customer_managed_key(default_synth: Any) -> None:
    template, _ = default_synth
    key_id = logical_id(template, "AWS::KMS::Key", containing="AlertsKey")
    key = dict(template.find_resources("AWS::KMS::Key")[key_id])
    assert key["Properties"]["EnableKeyRotation"] is True
    topic_id, _ = only(template, "AWS::SNS::Topic")
    template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": {"Fn::GetAtt": [key_id, "Arn"]}})
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    [service] = [s for s in statements if s.get("Sid") == "AllowAwsServicesToPublishToTheEncryptedTopic"]
    assert sorted(service["Principal"]["Service"]) == ["cloudwatch.amazonaws.com", "events.amazonaws.com"]
    assert sorted(service["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert service["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    assert topic_id


def test_topic_policy_enforces_ssl_and_lets_alarms_publish(default_synth: Any) -> None:
    template, _ = default_synth
    _, policy = only(template, "AWS::SNS::TopicPolicy")
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    [deny] = [s for s in statements if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    [alarms] = [s for s in statements if s.get("Sid") == "AllowCloudWatchAlarmsToPublish"]
    assert alarms["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert alarms["Action"] == "sns:Publish"


def test_no_alert_emails_means_no_subscription_and_says_so(default_synth: Any) -> None:
    template, stack = default_synth
    template.resource_count_is("AWS::SNS::Subscription", 0)
    infos = [entry.data for entry in stack.node.metadata if entry.type == "aws:cdk:info"]
    assert any("No alertEmails given" in str(info) for info in infos)


def test_one_email_json_subscription_per_address(custom_synth: Any) -> None:
    template, _ = custom_synth
    subscriptions = template.find_resources("AWS::SNS::Subscription")
    assert sorted((s["Properties"]["Protocol"], s["Properties"]["Endpoint"]) for s in subscriptions.values()) == [
        ("email-json", "sec@example.com"),
        ("email-json", "soc@example.com"),
    ]


def test_rule_matches_every_trail_event_name_on_the_default_bus(default_synth: Any) -> None:
    template, _ = default_synth
    props = resource(template, "AWS::Events::Rule", "TamperRule")["Properties"]
    assert "EventBusName" not in props
    assert props["State"] == "ENABLED"
    assert props["EventPattern"] == {
        "source": ["aws.cloudtrail", "aws.kms", "aws.s3", "aws.logs", "aws.organizations"],
        "detail-type": ["AWS API Call via CloudTrail"],
        "detail": {
            "eventSource": [
                "cloudtrail.amazonaws.com",
                "kms.amazonaws.com",
                "s3.amazonaws.com",
                "logs.amazonaws.com",
                "organizations.amazonaws.com",
            ],
            "eventName": list(EVENT_NAMES),
        },
    }
    assert {RULES[name].source for name in EVENT_NAMES} == set(EVENT_SOURCES.values())
    # infra/ cannot import guardian/ (it ships it as an asset): the rule and the decision table must agree here.
    assert set(EVENT_NAMES) == set(RULES)


def test_rule_target_has_explicit_retry_policy_and_dead_letter_queue(default_synth: Any) -> None:
    template, _ = default_synth
    function_id = logical_id(template, "AWS::Lambda::Function", containing="RemediationFunction")
    queue_id = logical_id(template, "AWS::SQS::Queue", containing="DeadLetters")
    [target] = resource(template, "AWS::Events::Rule", "TamperRule")["Properties"]["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]}
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [queue_id, "Arn"]}}


def test_dead_letter_queue_is_encrypted_ssl_only_and_accepts_the_rule(default_synth: Any) -> None:
    template, _ = default_synth
    _, queue = only(template, "AWS::SQS::Queue")
    assert queue["Properties"]["SqsManagedSseEnabled"] is True
    assert queue["Properties"]["MessageRetentionPeriod"] == 1209600
    _, policy = only(template, "AWS::SQS::QueuePolicy")
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in statements
    )
    # One statement per rule that parks its undelivered events here: the tamper rule and each watch rule.
    from_rules = [s for s in statements if s.get("Principal") == {"Service": "events.amazonaws.com"}]
    rules = {lid for lid, r in template.find_resources("AWS::Events::Rule").items() if "DeadLetterConfig" in str(r)}
    assert len(from_rules) == len(rules) >= 2
    for events in from_rules:
        assert events["Action"] == "sqs:SendMessage"
        assert "aws:SourceArn" in events["Condition"]["ArnEquals"]


def test_function_runtime_architecture_handler_and_environment(default_synth: Any) -> None:
    template, _ = default_synth
    role_id = logical_id(template, "AWS::IAM::Role", containing="RemediationRole")
    topic_id, _ = only(template, "AWS::SNS::Topic")
    bucket_id = logical_id(template, "AWS::S3::Bucket", containing="EvidenceBucket")
    queue_id, _ = only(template, "AWS::SQS::Queue")
    props = resource(template, "AWS::Lambda::Function", "RemediationFunction")["Properties"]
    assert props["Runtime"] == "python3.13"
    assert props["Architectures"] == ["arm64"]
    assert props["Handler"] == "guardian.entrypoints.handler.lambda_handler"
    assert props["Role"] == {"Fn::GetAtt": [role_id, "Arn"]}
    sweep_role_id = logical_id(template, "AWS::IAM::Role", containing="SweepRole")
    assert props["Environment"]["Variables"] == {
        "GUARDIAN_TOPIC_ARN": {"Ref": topic_id},
        "GUARDIAN_EVIDENCE_BUCKET": {"Ref": bucket_id},
        # its own role first, then the sweep's: calls made with either are the guardian's own, never undone
        "GUARDIAN_SELF_ROLE_ARN": {
            "Fn::Join": [",", [{"Fn::GetAtt": [role_id, "Arn"]}, {"Fn::GetAtt": [sweep_role_id, "Arn"]}]]
        },
        "GUARDIAN_EXEMPT_PRINCIPALS": "[]",
        "GUARDIAN_ACTIVITY_TABLE": {"Ref": logical_id(template, "AWS::DynamoDB::Table", containing="Activity")},
        "GUARDIAN_REPEAT_THRESHOLD": "3",
        "GUARDIAN_REPEAT_WINDOW_MINUTES": "10",
        "GUARDIAN_ALERT_GROUP_MINUTES": "5",  # repeats of an alert within 5 minutes: one digest
        # baselines are signed with this key, which only the guardian's roles may use to sign
        "GUARDIAN_SIGNING_KEY_ARN": {
            "Fn::GetAtt": [logical_id(template, "AWS::KMS::Key", containing="SigningKey"), "Arn"]
        },
        # its own calls come from these functions (the session name), not only from its roles
        "GUARDIAN_SELF_FUNCTIONS": '["CloudTrailGuardian-remediation", "CloudTrailGuardian-sweep"]',
        # a StopLogging of it may be a registered self-test (guardian selftest)
        "GUARDIAN_SENTINEL_TRAIL": "CloudTrailGuardian-sentinel",
        # CloudFormation's changes to the guardian: its own stack confirms them (infra.stack_callers)
        "GUARDIAN_STACK_ID": {"Ref": "AWS::StackId"},
        "GUARDIAN_CDK_QUALIFIER": "hnb659fds",  # whose execution role another stack must not lend
    }
    assert props["LoggingConfig"]["LogFormat"] == "JSON"
    assert props["DeadLetterConfig"] == {"TargetArn": {"Fn::GetAtt": [queue_id, "Arn"]}}
    assert (props["Timeout"], props["MemorySize"]) == (60, 256)


def test_exempt_principals_reach_the_function(custom_synth: Any) -> None:
    template, _ = custom_synth
    for name in ("RemediationFunction", "SweepFunction"):
        function = resource(template, "AWS::Lambda::Function", name)
        exempt = function["Properties"]["Environment"]["Variables"]["GUARDIAN_EXEMPT_PRINCIPALS"]
        assert json.loads(exempt) == ["glob:arn:aws:iam::*:role/ci-*"]


def test_async_invocation_retries_then_parks_in_the_dead_letter_queue(default_synth: Any) -> None:
    template, _ = default_synth
    template.has_resource_properties(
        "AWS::Lambda::EventInvokeConfig",
        {
            "MaximumRetryAttempts": 2,
            "MaximumEventAgeInSeconds": 21600,
            "Qualifier": "$LATEST",
        },
    )


def test_asset_contains_only_the_guardian_package(default_synth: Any) -> None:
    staging = stage_runtime()
    staged = sorted(str(p.relative_to(staging)) for p in staging.rglob("*") if p.is_file())
    package = Path(__file__).resolve().parents[2] / "guardian"
    source = sorted(f"guardian/{p.relative_to(package)}" for p in package.rglob("*.py") if "__pycache__" not in p.parts)
    assert staged == source


def _without_docstrings(tree: ast.AST) -> str:
    """The tree with docstrings emptied and functions' annotations dropped, positions included."""
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            value = body[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                value.value = ""
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            arguments = node.args
            for arg in [
                *arguments.posonlyargs,
                *arguments.args,
                *arguments.kwonlyargs,
                arguments.vararg,
                arguments.kwarg,
            ]:
                if arg is not None and arg.annotation is not None:
                    arg.annotation, arg.end_lineno, arg.end_col_offset = None, arg.lineno, arg.col_offset + len(arg.arg)
            if node.returns is not None and node.returns.lineno == node.returns.end_lineno:
                node.returns = None
    return ast.dump(tree, include_attributes=True)


def test_shipped_modules_are_the_same_code_on_the_same_lines() -> None:
    """Blanking docstrings, comments and functions' annotations changes nothing Python runs, and a Lambda
    traceback's line numbers and columns point at the same code in the repository."""
    staging = stage_runtime()
    package = Path(__file__).resolve().parents[2] / "guardian"
    smaller = 0
    for path in sorted(package.rglob("*.py")):
        original = path.read_text()
        shipped = (staging / "guardian" / path.relative_to(package)).read_text()
        assert len(shipped.splitlines()) == len(original.splitlines()), path
        assert "#" not in "".join(t.string for t in _comments(shipped)), path
        shipped_tree = ast.parse(shipped)
        original_tree = ast.parse(original)
        # a blanked docstring ends earlier, and so does a class or function that ends with it; nothing else moves
        for tree in (shipped_tree, original_tree):
            ends = {
                (n.end_lineno, n.end_col_offset)
                for n in ast.walk(tree)
                if isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)
            }
            for node in ast.walk(tree):
                if (getattr(node, "end_lineno", None), getattr(node, "end_col_offset", None)) in ends:
                    setattr(node, "end_lineno", 0)  # noqa: B010 - not every AST node has positions
                    setattr(node, "end_col_offset", 0)  # noqa: B010
        assert _without_docstrings(shipped_tree) == _without_docstrings(original_tree), path
        smaller += len(original) > len(shipped)
    assert smaller > 40  # the modules with docstrings, nearly all of them


def _comments(text: str) -> list[tokenize.TokenInfo]:
    return [t for t in tokenize.generate_tokens(io.StringIO(text).readline) if t.type == tokenize.COMMENT]


def test_lean_source_blanks_functions_annotations_and_keeps_fields() -> None:
    """Annotations of parameters and returns are compiled at every cold start and read by nothing at run time: blanked
    to as many spaces, every column after them in place. Field annotations (dataclasses, NamedTuples) make the
    fields and stay; so does a return annotation over several lines (its line breaks would end the def)."""
    text = (
        "def f(a: int, *rest: str, b: dict[str, 'é'] | None = None, **kw: Any) -> list[int]:\n"
        "    x: int = a\n"
        "    return [x]\n"
        "class C(NamedTuple):\n"
        "    n: int\n"
        "    def m(self, other: C) -> bool: return self.n == other.n\n"
        "def g(\n    a: Mapping[\n        str, int],\n) -> tuple[\n    int, int]:\n    return (1, 2)\n"
    )
    lean = lean_source(text)
    lines = lean.splitlines()
    assert " ".join(lines[0].split()) == "def f(a , *rest , b = None, **kw ) :"
    assert lines[1:5] == ["    x: int = a", "    return [x]", "class C(NamedTuple):", "    n: int"]
    assert lines[5] == "    def m(self, other   )        : return self.n == other.n"
    assert [line.rstrip() for line in lines[6:]] == [
        "def g(",
        "    a",
        "                 ,",
        ") -> tuple[",
        "    int, int]:",
        "    return (1, 2)",
    ]
    assert [len(line.encode()) for line in lines] == [len(line.encode()) for line in text.splitlines()]
    compile(lean, "lean", "exec")


def test_lean_source_keeps_strings_that_are_not_docstrings() -> None:
    text = 'def f():\n    """Doc\n    more."""  # why\n    x = "# not a comment"  # gone\n    return x\n'
    lean = lean_source(text)
    assert lean == 'def f():\n    """\n"""\n    x = "# not a comment"\n    return x\n'
    assert lean.count("\n") == text.count("\n")


def test_log_retention_is_set_and_configurable(default_synth: Any, custom_synth: Any) -> None:
    default, _ = default_synth
    custom, _ = custom_synth
    default.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 365})
    custom.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 90})


def role_statements(template: Template, role: str = "RemediationRole") -> list[dict[str, Any]]:
    role_id = logical_id(template, "AWS::IAM::Role", containing=role)
    statements: list[dict[str, Any]] = []
    for kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):  # inline, and the sweep's named managed policy
        for policy in template.find_resources(kind).values():
            if {"Ref": role_id} in policy["Properties"].get("Roles", []):
                statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def grants(template: Template, role: str = "RemediationRole") -> dict[str, list[Any]]:
    """action → resources it is allowed on."""
    result: dict[str, list[Any]] = {}
    for statement in role_statements(template, role):
        assert statement["Effect"] == "Allow"
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for action in actions:
            result.setdefault(action, []).extend(resources)
    return result


def security_hub(*resource: Any) -> dict[str, Any]:
    """This account's Security Hub ARN in the stack's Region: ``resource`` after ``<account>:``."""
    head = ["arn:", {"Ref": "AWS::Partition"}, ":securityhub:", {"Ref": "AWS::Region"}, ":", {"Ref": "AWS::AccountId"}]
    parts = [*head, ":", *resource]
    joined: list[Any] = []
    for part in parts:  # the CDK joins adjacent strings
        if joined and isinstance(part, str) and isinstance(joined[-1], str):
            joined[-1] += part
        else:
            joined.append(part)
    return {"Fn::Join": ["", joined]}


def test_function_role_is_least_privilege(default_synth: Any) -> None:
    template, _ = default_synth
    topic_id, _ = only(template, "AWS::SNS::Topic")
    key_id = logical_id(template, "AWS::KMS::Key", containing="AlertsKey")
    bucket_id = logical_id(template, "AWS::S3::Bucket", containing="EvidenceBucket")
    queue_id, _ = only(template, "AWS::SQS::Queue")
    log_id = logical_id(template, "AWS::Logs::LogGroup", containing="RemediationLogs")
    trails = {
        "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":cloudtrail:*:", {"Ref": "AWS::AccountId"}, ":trail/*"]]
    }
    evidence = {"Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, "/evidence/*"]]}
    key_arn = {"Fn::GetAtt": [key_id, "Arn"]}
    signing_key = {"Fn::GetAtt": [logical_id(template, "AWS::KMS::Key", containing="SigningKey"), "Arn"]}
    baselines = {"Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, "/baselines/*"]]}
    selftests = {"Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, "/selftests/*"]]}
    groups = {"Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, "/groups/*"]]}  # alert groups' windows
    blind_windows = {"Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, "/blind-windows/*"]]}  # written once
    signatures = {"Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, "/evidence/*.json.sig"]]}
    table_id = logical_id(template, "AWS::DynamoDB::Table", containing="Activity")
    granted = grants(template)
    repairs = [
        "cloudtrail:GetEventSelectors",
        "cloudtrail:GetInsightSelectors",
        "cloudtrail:ListTags",
        "cloudtrail:GetTrailStatus",
        "cloudtrail:StartLogging",
        "cloudtrail:CreateTrail",
        "cloudtrail:UpdateTrail",
        "cloudtrail:PutEventSelectors",
        "cloudtrail:PutInsightSelectors",
        "cloudtrail:AddTags",
        "cloudtrail:DescribeTrails",
    ]
    roles = {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":iam::", {"Ref": "AWS::AccountId"}, ":role/*"]]}
    keys = {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":kms:*:", {"Ref": "AWS::AccountId"}, ":key/*"]]}
    buckets = {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::*"]]}
    log_groups = {
        "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":logs:*:", {"Ref": "AWS::AccountId"}, ":log-group:*"]]
    }
    event_rules = {
        "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":events:*:", {"Ref": "AWS::AccountId"}, ":rule/*"]]
    }
    data_stores = {
        "Fn::Join": [
            "",
            ["arn:", {"Ref": "AWS::Partition"}, ":cloudtrail:*:", {"Ref": "AWS::AccountId"}, ":eventdatastore/*"],
        ]
    }
    assert granted == {
        **{action: [trails] for action in repairs},
        "iam:PassRole": [roles],
        "iam:ListAccountAliases": ["*"],  # the account's alias, for alert subjects
        # its own stack only: was a change CloudFormation made to the guardian its deployment?
        # and which role another stack run without one lends (this account's stacks, this Region): DescribeStacks only
        "cloudformation:DescribeStacks": [
            {"Ref": "AWS::StackId"},
            {
                "Fn::Join": [
                    "",
                    [
                        "arn:",
                        {"Ref": "AWS::Partition"},
                        ":cloudformation:",
                        {"Ref": "AWS::Region"},
                        ":",
                        {"Ref": "AWS::AccountId"},
                        ":stack/*",
                    ],
                ]
            },
        ],
        "cloudformation:DescribeStackEvents": [{"Ref": "AWS::StackId"}],
        "s3:PutObject": [evidence, groups, blind_windows, baselines],  # a healed trail's window: never read back
        "cloudtrail:LookupEvents": ["*"],  # the blind window from Event history: LookupEvents has no resource type
        "s3:PutObjectTagging": [evidence],
        "s3:GetObjectTagging": [evidence],
        # each record's signature sidecar, written under its own COMPLIANCE lock (guardian.flows.record_signing)
        "s3:PutObjectRetention": [signatures],
        # selftests/: the self-test markers it reads, never writes; evidence signatures: a record's SHA-256 (findings)
        "s3:GetObject": [groups, baselines, selftests, signatures],
        "s3:GetObjectVersion": [baselines, selftests],
        "s3:ListBucketVersions": [{"Fn::GetAtt": [bucket_id, "Arn"]}] * 2,
        "kms:Sign": [signing_key],
        "kms:GetPublicKey": [signing_key],
        "sns:Publish": [{"Ref": topic_id}],
        "kms:Decrypt": [key_arn],
        "kms:GenerateDataKey*": [key_arn],
        "logs:CreateLogStream": [{"Fn::GetAtt": [log_id, "Arn"]}],
        "logs:PutLogEvents": [{"Fn::GetAtt": [log_id, "Arn"]}],
        "sqs:SendMessage": [{"Fn::GetAtt": [queue_id, "Arn"]}],
        "dynamodb:PutItem": [{"Fn::GetAtt": [table_id, "Arn"]}],
        "dynamodb:Query": [{"Fn::GetAtt": [table_id, "Arn"]}],
        "dynamodb:GetItem": [{"Fn::GetAtt": [table_id, "Arn"]}],
        "dynamodb:UpdateItem": [{"Fn::GetAtt": [table_id, "Arn"]}],  # alert groups' claims, the publish cap
        "s3:ListBucket": [{"Fn::GetAtt": [bucket_id, "Arn"]}] * 2,  # baselines/, groups/
        **{action: [keys] for action in KEY_REPAIRS},
        **{action: [buckets] for action in (*BUCKET_REPAIRS, "s3:CreateBucket")},
        **{action: [log_groups] for action in LOG_GROUP_REPAIRS},
        **{action: [data_stores] for action in DATA_STORE_REPAIRS},
        # each alert's Security Hub finding: into the account's own product; its count and Workflow on the hub
        "securityhub:BatchImportFindings": [security_hub("product/", {"Ref": "AWS::AccountId"}, "/default")],
        "securityhub:GetFindings": [security_hub("hub/default")],
        "securityhub:BatchUpdateFindings": [security_hub("hub/default")],
        # the watch rule eventbridge-security-rule-changed reads the rule a call named (what it routed)
        **{action: [event_rules] for action in ("events:DescribeRule", "events:ListTargetsByRule")},
    }
    assert not {"cloudtrail:StopLogging", "cloudtrail:DeleteTrail", "cloudtrail:RemoveTags"} & set(granted)
    assert not {"s3:DeleteBucket", "logs:DeleteLogGroup", "cloudtrail:DeleteEventDataStore"} & set(granted)
    assert not {"kms:DisableKey", "kms:ScheduleKeyDeletion", "kms:CreateGrant"} & set(granted)
    assert KEY_REPAIRS == [
        "kms:DescribeKey",
        "kms:EnableKey",
        "kms:CancelKeyDeletion",
        "kms:GetKeyPolicy",
        "kms:PutKeyPolicy",
    ]
    # Every bucket action but CreateBucket (the bucket has no owner yet) is limited to this account's buckets.
    [own_buckets] = [s for s in role_statements(template) if s.get("Sid") == "RepairThisAccountsTrailBuckets"]
    assert own_buckets["Condition"] == {"StringEquals": {"s3:ResourceAccount": {"Ref": "AWS::AccountId"}}}
    [pass_role] = [s for s in role_statements(template) if s["Action"] == "iam:PassRole"]
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "cloudtrail.amazonaws.com"}}
    _, role = next((lid, r) for lid, r in template.find_resources("AWS::IAM::Role").items() if "RemediationRole" in lid)
    assert "ManagedPolicyArns" not in role["Properties"]
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "lambda.amazonaws.com"
    }


def test_evidence_bucket_has_object_lock_versioning_privacy_encryption_logging_and_is_retained(
    default_synth: Any,
) -> None:
    template, _ = default_synth
    bucket_id = logical_id(template, "AWS::S3::Bucket", containing="EvidenceBucket")
    logs_id = logical_id(template, "AWS::S3::Bucket", containing="AccessLogs")
    bucket = template.find_resources("AWS::S3::Bucket")[bucket_id]
    props = bucket["Properties"]
    assert props["ObjectLockEnabled"] is True
    assert props["ObjectLockConfiguration"] == {
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 365}},
    }
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "AES256"
    }
    assert props["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": logs_id}
    assert (bucket["DeletionPolicy"], bucket["UpdateReplacePolicy"]) == ("Retain", "Retain")
    policies = [
        p
        for p in template.find_resources("AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": bucket_id}
    ]
    [policy] = policies
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    )


def test_evidence_retention_comes_from_context(custom_synth: Any) -> None:
    template, _ = custom_synth
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "ObjectLockConfiguration": {
                "ObjectLockEnabled": "Enabled",
                "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 30}},
            }
        },
    )


def test_access_log_bucket_is_private_encrypted_ssl_only_and_retained(default_synth: Any) -> None:
    template, _ = default_synth
    logs_id = logical_id(template, "AWS::S3::Bucket", containing="AccessLogs")
    bucket = template.find_resources("AWS::S3::Bucket")[logs_id]
    assert bucket["DeletionPolicy"] == "Retain"
    assert bucket["Properties"]["PublicAccessBlockConfiguration"]["BlockPublicAcls"] is True
    assert "BucketEncryption" in bucket["Properties"]


@pytest.mark.parametrize(
    ("alarm", "metric", "namespace"),
    [
        ("DeadLetters", "ApproximateNumberOfMessagesVisible", "AWS/SQS"),
        ("FunctionErrors", "Errors", "AWS/Lambda"),
        ("FunctionThrottles", "Throttles", "AWS/Lambda"),
    ],
)
def test_alarms_reach_the_security_team_through_the_topic(
    default_synth: Any, alarm: str, metric: str, namespace: str
) -> None:
    template, _ = default_synth
    topic_id, _ = only(template, "AWS::SNS::Topic")
    alarm_id = logical_id(template, "AWS::CloudWatch::Alarm", containing=alarm)
    props = template.find_resources("AWS::CloudWatch::Alarm")[alarm_id]["Properties"]
    assert (props["MetricName"], props["Namespace"], props["Threshold"]) == (metric, namespace, 1)
    assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert props["AlarmActions"] == [{"Ref": topic_id}]
    assert props["TreatMissingData"] == "notBreaching"


@pytest.mark.threat("put-metric-data")
def test_the_dead_mans_switch_breaches_when_the_sweep_stops_succeeding(default_synth: Any, custom_synth: Any) -> None:
    """On AWS's own Lambda metrics (Invocations less Errors of the sweep function): nobody can publish into AWS/."""
    for (template, _), minutes in ((default_synth, 5), (custom_synth, 15)):
        topic_id, _ = only(template, "AWS::SNS::Topic")
        sweep_id = logical_id(template, "AWS::Lambda::Function", containing="SweepFunction")
        alarm_id = logical_id(template, "AWS::CloudWatch::Alarm", containing="SweepSilent")
        props = template.find_resources("AWS::CloudWatch::Alarm")[alarm_id]["Properties"]
        queries = {q["Id"]: q for q in props["Metrics"]}
        assert queries["expr_1"]["Expression"] == "invocations - errors"
        for name, metric in (("invocations", "Invocations"), ("errors", "Errors")):
            stat = queries[name]["MetricStat"]
            assert (stat["Metric"]["Namespace"], stat["Metric"]["MetricName"], stat["Stat"]) == (
                "AWS/Lambda",
                metric,
                "Sum",
            )
            assert stat["Metric"]["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": sweep_id}}]
            assert stat["Period"] == minutes * 60
        assert props["EvaluationPeriods"] == 2  # two intervals without a successful sweep
        assert (props["ComparisonOperator"], props["Threshold"]) == ("LessThanThreshold", 1)
        assert props["TreatMissingData"] == "breaching"  # silence is the failure
        assert props["AlarmActions"] == [{"Ref": topic_id}]
        assert props["AlarmName"] == f"{props['AlarmName'].rsplit('-sweep-silent', 1)[0]}-sweep-silent"


@pytest.mark.threat("delete-stack")
def test_the_stack_has_termination_protection(default_synth: Any) -> None:
    _, stack = default_synth
    assert stack.termination_protection is True


def test_outputs_name_what_an_operator_needs(default_synth: Any) -> None:
    template, _ = default_synth
    outputs = template.find_outputs("*")
    assert set(outputs) == {
        "AlertsTopicArn",
        "EvidenceBucketName",
        "RemediationFunctionName",
        "RemediationRoleArn",
        "TamperRuleName",
        "DeadLetterQueueUrl",
        "SweepFunctionName",
        "SigningKeyArn",
        "SentinelTrailName",
    }


def test_stack_name_comes_from_context(custom_synth: Any) -> None:
    _, stack = custom_synth
    assert stack.stack_name == "GuardianCustom"


def test_sweep_function_runs_on_a_schedule_alone_and_after_each_deployment(
    default_synth: Any, custom_synth: Any
) -> None:
    template, _ = default_synth
    sweep_id = logical_id(template, "AWS::Lambda::Function", containing="SweepFunction")
    props = resource(template, "AWS::Lambda::Function", "SweepFunction")["Properties"]
    assert props["Handler"] == "guardian.entrypoints.sweep.lambda_handler"
    assert (props["Runtime"], props["Architectures"], props["Timeout"]) == ("python3.13", ["arm64"], 290)
    assert props["ReservedConcurrentExecutions"] == 1
    assert props["MemorySize"] == 1024  # chosen from make bench: CPU-bound below about 1.1 GB at 17 Regions
    variables = props["Environment"]["Variables"]
    assert variables["GUARDIAN_SWEEP_REGIONS"] == {"Fn::Join": ["", ['["', {"Ref": "AWS::Region"}, '"]']]}
    assert (variables["GUARDIAN_PROTECT_TRAILS"], variables["GUARDIAN_PROTECT_TAG"]) == ("[]", "")
    schedule = resource(template, "AWS::Events::Rule", "SweepSchedule")["Properties"]
    assert schedule["ScheduleExpression"] == "rate(5 minutes)"
    assert schedule["Targets"][0]["Arn"] == {"Fn::GetAtt": [sweep_id, "Arn"]}
    after_deploy = resource(template, "AWS::Events::Rule", "AfterDeploy")["Properties"]
    assert after_deploy["EventPattern"] == {
        "source": ["aws.cloudformation"],
        "detail-type": ["CloudFormation Stack Status Change"],
        "detail": {
            "stack-id": [{"Ref": "AWS::StackId"}],
            "status-details": {"status": ["CREATE_COMPLETE", "UPDATE_COMPLETE"]},
        },
    }
    assert after_deploy["Targets"][0]["Arn"] == {"Fn::GetAtt": [sweep_id, "Arn"]}
    template.resource_count_is("Custom::Trigger", 0)
    template.resource_count_is("AWS::Lambda::Function", 2)  # no custom-resource provider
    custom, _ = custom_synth
    custom_props = resource(custom, "AWS::Lambda::Function", "SweepFunction")["Properties"]
    assert json.loads(custom_props["Environment"]["Variables"]["GUARDIAN_SWEEP_REGIONS"]) == ["eu-west-1", "us-east-1"]
    assert custom_props["Environment"]["Variables"]["GUARDIAN_PROTECT_TAG"] == "guardian:protect=true"
    assert json.loads(custom_props["Environment"]["Variables"]["GUARDIAN_PROTECT_TRAILS"]) == [
        "org-audit",
        "GuardianCustom-sentinel",
    ]  # narrowed by name: the sentinel stays protected
    assert custom_props["Timeout"] == 890
    custom.has_resource_properties("AWS::Events::Rule", {"ScheduleExpression": "rate(15 minutes)"})


PREFIXES = ("baselines", "evidence", "digests", "selftests", "groups", "blind-windows")


def test_sweep_role_can_repair_trails_but_not_stop_or_delete_them(default_synth: Any) -> None:
    template, _ = default_synth
    bucket_id = logical_id(template, "AWS::S3::Bucket", containing="EvidenceBucket")
    trails = {
        "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":cloudtrail:*:", {"Ref": "AWS::AccountId"}, ":trail/*"]]
    }
    granted = grants(template, "SweepRole")
    repairs = {
        "cloudtrail:GetEventSelectors",
        "cloudtrail:GetInsightSelectors",
        "cloudtrail:ListTags",
        "cloudtrail:GetTrailStatus",
        "cloudtrail:StartLogging",
        "cloudtrail:CreateTrail",
        "cloudtrail:UpdateTrail",
        "cloudtrail:PutEventSelectors",
        "cloudtrail:PutInsightSelectors",
        "cloudtrail:AddTags",
    }
    listing = {"cloudtrail:DescribeTrails", "cloudtrail:LookupEvents", "cloudtrail:ListPublicKeys"}
    lake = {"cloudtrail:ListEventDataStores", "cloudtrail:GetEventDataStore", "cloudtrail:UpdateEventDataStore"}
    assert {a for a in granted if a.startswith("cloudtrail:") and a not in listing | lake} == repairs
    assert granted["cloudtrail:ListEventDataStores"] == ["*"]  # Lake's stores, held to their baselines
    assert all(granted[a] == [trails] for a in repairs)
    assert granted["cloudtrail:DescribeTrails"] == granted["cloudtrail:LookupEvents"] == ["*"]
    assert granted["cloudtrail:ListPublicKeys"] == ["*"]  # CloudTrail's keys, to verify its digest files
    assert not {"cloudtrail:StopLogging", "cloudtrail:DeleteTrail", "cloudtrail:RemoveTags"} & set(granted)
    in_bucket = {p: {"Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, f"/{p}/*"]]} for p in PREFIXES}
    # Baselines to read, and for the digest chain the records (read once for their SHA-256) and the digests.
    # And the trails' own log and digest files, to validate them (tests/infra/test_log_files_template.py).
    log_files = {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::*/AWSLogs/*"]]}
    assert sorted(map(json.dumps, granted["s3:GetObject"])) == sorted(
        [json.dumps(log_files), *(json.dumps(in_bucket[p]) for p in PREFIXES)]
    )
    assert in_bucket["digests"] in granted["s3:PutObject"]
    assert in_bucket["selftests"] in granted["s3:PutObject"]  # it signs the self-test markers
    statements = role_statements(template, "SweepRole")
    [metrics] = [s for s in statements if s["Action"] == "cloudwatch:PutMetricData"]
    assert metrics["Condition"] == {"StringEquals": {"cloudwatch:namespace": "CloudTrailGuardian"}}
    passes = {
        s["Condition"]["StringEquals"]["iam:PassedToService"]: s for s in statements if s["Action"] == "iam:PassRole"
    }
    assert set(passes) == {"cloudtrail.amazonaws.com", "events.amazonaws.com"}
    forwarder_roles = passes["events.amazonaws.com"]["Resource"]  # only to put a forwarder's target back
    assert json.dumps(forwarder_roles).endswith(':role/CloudTrailGuardian-forwarder-*"]]}')
    listings = [s for s in statements if isinstance(s["Action"], list) and "s3:ListBucket" in s["Action"]]
    assert all(s["Action"] == ["s3:ListBucket", "s3:ListBucketVersions"] for s in listings)
    listings += [s for s in statements if s.get("Sid") == "ListAlertGroupWindows"]  # no versions: groups/ alone
    listings += [s for s in statements if s.get("Sid") == "ListBlindWindows"]  # settled again: blind-windows/ alone
    selftests = [s for s in statements if s.get("Sid") == "ListSelfTestMarkerVersions"]
    assert [s["Condition"]["StringLike"]["s3:prefix"] for s in selftests] == [["selftests/*"]]
    assert sorted(p for s in listings for p in s["Condition"]["StringLike"]["s3:prefix"]) == [
        "baselines/*",
        "blind-windows/*",
        "digests/*",
        "evidence/*",
        "groups/*",
    ]


def test_sweep_role_checks_only_the_guardians_own_functions_stack_alarms_queue_and_topic(default_synth: Any) -> None:
    template, _ = default_synth
    by_sid = {s.get("Sid"): s for s in role_statements(template, "SweepRole")}
    functions = json.dumps(by_sid["CheckTheGuardiansOwnFunctions"]["Resource"])
    assert "function:CloudTrailGuardian-remediation" in functions
    assert "function:CloudTrailGuardian-sweep" in functions
    assert "*" not in functions
    assert "lambda:UpdateFunctionCode" not in json.dumps(by_sid)  # code is the stack's to set, never the sweep's
    assert by_sid["ConfirmADeployment"]["Resource"] == {"Ref": "AWS::StackId"}
    assert by_sid["ConfirmADeployment"]["Action"] == "cloudformation:DescribeStacks"
    topic_id = logical_id(template, "AWS::SNS::Topic", containing="AlertsTopic")
    assert by_sid["CheckTheAlertsTopic"]["Resource"] == {"Ref": topic_id}
    assert json.dumps(by_sid["CheckTheGuardiansAlarms"]["Resource"]).endswith(':alarm:CloudTrailGuardian-*"]]}')
    queue_id = logical_id(template, "AWS::SQS::Queue", containing="DeadLetters")
    assert by_sid["CheckTheDeadLetterQueue"] == {
        "Sid": "CheckTheDeadLetterQueue",
        "Effect": "Allow",
        "Action": ["sqs:GetQueueAttributes", "sqs:SetQueueAttributes"],  # its policy put back as deployed
        "Resource": {"Fn::GetAtt": [queue_id, "Arn"]},
    }


def test_sentinel_trail_keeps_events_flowing_and_can_be_turned_off(default_synth: Any, custom_synth: Any) -> None:
    template, _ = default_synth
    bucket_id = logical_id(template, "AWS::S3::Bucket", containing="SentinelBucket")
    logs_id = logical_id(template, "AWS::S3::Bucket", containing="AccessLogs")
    _, trail = only(template, "AWS::CloudTrail::Trail")
    props = trail["Properties"]
    assert (props["IsLogging"], props["IsMultiRegionTrail"], props["IncludeGlobalServiceEvents"]) == (True, True, True)
    assert props["EnableLogFileValidation"] is True
    # Write events: what EventBridge rules match (issue 23); reads with sentinelReadEvents (test_sentinel_events).
    assert props["EventSelectors"] == [{"IncludeManagementEvents": True, "ReadWriteType": "WriteOnly"}]
    assert props["S3BucketName"] == {"Ref": bucket_id}
    bucket = template.find_resources("AWS::S3::Bucket")[bucket_id]
    assert bucket["DeletionPolicy"] == "Retain"
    assert bucket["Properties"]["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": logs_id}
    assert bucket["Properties"]["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 90
    assert props["TrailName"] == "CloudTrailGuardian-sentinel"
    custom, _ = custom_synth
    _, tagged = only(custom, "AWS::CloudTrail::Trail")
    assert {"Key": "guardian:protect", "Value": "true"} in tagged["Properties"]["Tags"]
    off, _ = synth_template({"sentinelTrail": "false"})
    off.resource_count_is("AWS::CloudTrail::Trail", 0)


def test_activity_table_counts_changes_per_principal_and_forgets_by_itself(
    default_synth: Any, custom_synth: Any
) -> None:
    template, _ = default_synth
    table = resource(template, "AWS::DynamoDB::Table", "Activity")
    props = table["Properties"]
    assert props["KeySchema"] == [
        {"AttributeName": "principal", "KeyType": "HASH"},
        {"AttributeName": "at", "KeyType": "RANGE"},
    ]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"] == {"SSEEnabled": True}
    custom, _ = custom_synth
    variables = resource(custom, "AWS::Lambda::Function", "RemediationFunction")["Properties"]["Environment"][
        "Variables"
    ]
    assert (variables["GUARDIAN_REPEAT_THRESHOLD"], variables["GUARDIAN_REPEAT_WINDOW_MINUTES"]) == ("5", "30")


# -- the guardian guards itself ----------------------------------------------------------------------------------


def guard_rules(template: Any) -> dict[str, dict[str, Any]]:
    rules = template.find_resources("AWS::Events::Rule")
    return {r["Properties"]["Name"]: r["Properties"] for r in rules.values() if "-guard-" in r["Properties"]["Name"]}


@pytest.mark.threat("cfn-deploy")
def test_self_protection_rules_target_the_topic_directly_with_a_readable_body(default_synth: Any) -> None:
    template, _ = default_synth
    topic_id, _ = only(template, "AWS::SNS::Topic")
    rules = guard_rules(template)
    assert set(rules) == {f"CloudTrailGuardian-guard-{s}" for s in GUARD_SUFFIXES}
    assert set(GUARD_SUFFIXES) >= {"lambda", "events", "events-watch", "sns", "iam", "kms", "s3", "cloudwatch", "sqs"}
    for name, props in rules.items():
        if "-guard-cfn-" in name and not name.endswith("-exec-role"):
            continue  # CloudFormation's own calls, to be confirmed: tests/infra/test_stack_callers_template.py
        if "-guard-denied" in name:
            continue  # refused calls, to the function: tests/infra/test_guard_denied_template.py
        [target] = props["Targets"]
        assert target["Arn"] == {"Ref": topic_id}  # no Lambda on the path
        transformer = target["InputTransformer"]
        assert transformer["InputPathsMap"]["detail-eventName"] == "$.detail.eventName"
        template_text = transformer["InputTemplate"]
        assert '"schema":"cloudtrail-guardian/self-protection-alert"' in template_text
        # The first line reads as a subject (there is no SNS Subject): the subject field, then a line break.
        first, _, rest = template_text.partition("\n")
        assert first.startswith('{"subject":"[')
        assert first.endswith('",')
        assert rest.startswith('"schema":')
        detail = props["EventPattern"]["detail"]
        assert "userIdentity" not in detail  # nobody is exempt by name: a role called cdk-... neither
        if name.endswith("-guard-deployment"):
            assert template_text.startswith(
                '{"subject":"[MEDIUM] <detail-recipientAccountId> CloudTrail Guardian deployed: '
            )
            # CreateChangeSet always names the stack: a change set executed by its ARN alone is seen at creation.
            assert set(detail["eventName"]) == {"CreateChangeSet", "ExecuteChangeSet", "UpdateStack"}
            assert "sourceIPAddress" not in detail
        elif name.endswith("-guard-cfn-exec-role"):
            assert template_text.startswith(
                '{"subject":"[HIGH] <detail-recipientAccountId> Stack run with the CDK execution role: '
            )
        else:
            assert template_text.startswith(
                '{"subject":"[CRITICAL] <detail-recipientAccountId> CloudTrail Guardian\'s own '
            )
            # What CloudFormation does goes to the -guard-cfn-* rules, which ask the guardian's stack.
            assert detail["sourceIPAddress"] == [{"anything-but": "cloudformation.amazonaws.com"}]


@pytest.mark.threat("deployer-name")
def test_self_protection_patterns_name_the_guardians_own_resources(default_synth: Any) -> None:
    template, _ = default_synth
    rules = guard_rules(template)

    def named(suffix: str) -> Any:
        return rules[f"CloudTrailGuardian-guard-{suffix}"]["EventPattern"]["detail"]

    # The functions by the stack's prefix, in every form CloudTrail records: name, ARN, "account:function:name".
    functions = named("lambda")["requestParameters"]["functionName"]
    assert {"prefix": "CloudTrailGuardian-"} in functions
    arn_prefix = {
        "prefix": {
            "Fn::Join": [
                "",
                [
                    "arn:",
                    {"Ref": "AWS::Partition"},
                    ":lambda:",
                    {"Ref": "AWS::Region"},
                    ":",
                    {"Ref": "AWS::AccountId"},
                    ":function:CloudTrailGuardian-",
                ],
            ]
        }
    }
    assert arn_prefix in functions
    assert {"prefix": {"Fn::Join": ["", [{"Ref": "AWS::AccountId"}, ":function:CloudTrailGuardian-"]]}} in functions
    assert all(logical_id(template, "AWS::Lambda::Function", containing=fn) for fn in ("Remediation", "Sweep"))
    assert {"prefix": "UpdateFunctionCode"} in named("lambda")["eventName"]
    assert {"prefix": "AddPermission"} in named("lambda")["eventName"]
    watched = {
        n if isinstance(n, str) else json.dumps(n)
        for option in named("events")["$or"]
        for n in next(iter(option["requestParameters"].values()))
    }
    # Every rule of the guardian's by the stack's prefix (named one by one they outgrew 2,048 characters); a rule
    # does not see its own DisableRule...
    assert watched == {json.dumps({"prefix": "CloudTrailGuardian-"})}
    watcher = {n for option in named("events-watch")["$or"] for n in next(iter(option["requestParameters"].values()))}
    assert watcher == {"CloudTrailGuardian-guard-events"}  # ...so another one watches it
    assert set(named("events")["eventName"]) == {"DisableRule", "DeleteRule", "RemoveTargets", "PutRule", "PutTargets"}
    topic_id, _ = only(template, "AWS::SNS::Topic")
    assert {"requestParameters": {"topicArn": [{"Ref": topic_id}]}} in named("sns")["$or"]
    assert {"SetSubscriptionAttributes", "Subscribe", "PutDataProtectionPolicy"} <= set(named("sns")["eventName"])
    roles = next(o for o in named("iam")["$or"] if "roleName" in o["requestParameters"])["requestParameters"]
    assert {"Ref": logical_id(template, "AWS::IAM::Role", containing="RemediationRole")} in roles["roleName"]
    assert {"UpdateAssumeRolePolicy", "TagRole", "UntagRole"} <= set(named("iam")["eventName"])
    # The sweep's customer managed policy (infra.sweep_schedule), by the stack's prefix: a new default version of it
    policies = next(o for o in named("iam")["$or"] if "policyArn" in o["requestParameters"])["requestParameters"]
    assert json.dumps(policies["policyArn"]).endswith(':policy/CloudTrailGuardian-"]]}}]')
    assert {"CreatePolicyVersion", "SetDefaultPolicyVersion", "DeletePolicy"} <= set(named("iam")["eventName"])
    [checks] = template.find_resources("AWS::IAM::ManagedPolicy").values()
    assert json.dumps(checks["Properties"]["ManagedPolicyName"]).startswith('{"Fn::Join": ["", ["CloudTrailGuardian-')
    keys = next(o for o in named("kms")["$or"] if "keyId" in o["requestParameters"])["requestParameters"]["keyId"]
    for key in ("AlertsKey", "SigningKey"):
        key_id = logical_id(template, "AWS::KMS::Key", containing=key)
        assert {"Ref": key_id} in keys
        assert {"Fn::GetAtt": [key_id, "Arn"]} in keys
    assert {"DeleteAlias", "UpdateAlias"} <= set(named("kms")["eventName"])
    buckets = named("s3")["requestParameters"]["bucketName"]
    assert {"Ref": logical_id(template, "AWS::S3::Bucket", containing="EvidenceBucket")} in buckets
    assert "PutObjectLockConfiguration" in named("s3")["eventName"]
    alarms = next(o for o in named("cloudwatch")["$or"] if "alarmNames" in o["requestParameters"])
    assert alarms["requestParameters"]["alarmNames"] == [{"prefix": "CloudTrailGuardian-"}]  # the stack's prefix
    # Every alarm the stack deploys (the dead man's switch among them) is under that prefix.
    alarm_names = {a["Properties"]["AlarmName"] for a in template.find_resources("AWS::CloudWatch::Alarm").values()}
    assert len(alarm_names) == len(ALARM_SUFFIXES)
    assert all(name.startswith("CloudTrailGuardian-") for name in alarm_names)
    assert {"DisableAlarmActions", "DeleteAlarms", "PutMetricAlarm"} <= set(named("cloudwatch")["eventName"])
    # The dead-letter queues (the guardian's, each webhook notifier's) by the stack's prefix, whatever the URL's host.
    assert named("sqs")["requestParameters"]["queueUrl"] == [{"wildcard": "*/CloudTrailGuardian-*"}]
    assert {"DeleteStack", "UpdateTerminationProtection"} <= set(named("cloudformation")["eventName"])
    # The rules' names are fixed, so a rule can name itself without a circular reference.
    assert all(
        r["Properties"]["Name"].startswith("CloudTrailGuardian-")
        for r in template.find_resources("AWS::Events::Rule").values()
    )


def test_the_topic_lets_eventbridge_publish(default_synth: Any) -> None:
    template, _ = default_synth
    _, policy = only(template, "AWS::SNS::TopicPolicy")
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert any(s.get("Principal") == {"Service": "events.amazonaws.com"} for s in statements)


@pytest.mark.threat("write-quota")
def test_the_remediation_function_has_its_reserved_concurrency(default_synth: Any) -> None:
    """Sized for a burst and bounded (infra/remediation.py, docs/operations.md "Under a burst"): a flood of events can
    take no more of the account's executions, and an insider who exhausts them cannot throttle the heals."""
    from infra.remediation import RESERVED_CONCURRENCY  # noqa: PLC0415

    template, _ = default_synth
    props = resource(template, "AWS::Lambda::Function", "RemediationFunction")["Properties"]
    assert props["ReservedConcurrentExecutions"] == RESERVED_CONCURRENCY
    assert 35 <= RESERVED_CONCURRENCY <= 100  # a 10,000-a-minute flood's ~35 in flight; well inside 1,000 less 100
