"""The guardian stack: wires the alerts topic, evidence store, remediation function, rule, DLQ and alarms."""

from __future__ import annotations

import json
from typing import Any

import jsii
from aws_cdk import (
    Annotations,
    ArnFormat,
    CfnOutput,
    DefaultStackSynthesizer,
    IStableStringProducer,
    Lazy,
    Stack,
    Tags,
    Token,
)
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.alarms import ALARM_SUFFIXES, GuardianAlarms
from infra.alerts_topic import AlertsTopic
from infra.cis_alarms import CisAlarms
from infra.cis_alarms import alarm_names as cis_alarm_names
from infra.console_read import ConsoleReadRole
from infra.console_read import role_name as console_read_name
from infra.dead_letters import DeadLetterQueue
from infra.evidence_store import EvidenceStore
from infra.forwarder import forward_role_prefix, grant_reading_forwarder_queues
from infra.nag import any_resource
from infra.names import under_prefix
from infra.notifier import alarm_name as webhook_alarm
from infra.notifier import function_name as webhook_function
from infra.notifier import notifiers, secret_ids
from infra.organization import organization_and_central_alerts
from infra.own_checks import grant_checks_of_itself, grant_lake_checks
from infra.own_events import BUS_SUFFIX, DEDICATED, add_finding_copies
from infra.remediation import RemediationFunction
from infra.security_account import ALARMS_RULE, SecurityAccountLink
from infra.self_protection import (
    DENIED_SUFFIXES,
    GUARD_SUFFIXES,
    OPTIONAL_WATCHES,
    Guarded,
    SelfProtection,
    watches,
)
from infra.sentinel import SentinelTrail
from infra.settings import GUARDIAN_TAG, GuardianSettings
from infra.signing_key import SigningKey
from infra.stack_callers import StackCallers
from infra.sweep_schedule import SweepSchedule
from infra.tamper_rule import TamperRule
from infra.watch import WatchRules, forward_rule_names, grant_undos, watch_files
from infra.watch import rule_names as watch_rule_names
from watch_rules.compile import Compiled

DENIED_NAMES = tuple(f"-guard-{s}" for s in DENIED_SUFFIXES)  # derived by the sweep (STACK_GUARDS), never listed
OWN_RULE_SUFFIXES = ("tamper", "sweep-schedule", "sweep-after-deploy", *(f"guard-{s}" for s in GUARD_SUFFIXES))
FORWARDER_RULE_SUFFIXES = ("forward", "forward-guard")  # in every other Region of `regions`


def forwarder_rules(prefix: str, watch: Compiled | None) -> list[str]:
    """The forwarders' rules, in every other Region of `regions`: tamper events, their guard, the watched calls."""
    return [*(f"{prefix}-{s}" for s in FORWARDER_RULE_SUFFIXES), *forward_rule_names(prefix, watch)]


class GuardianStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, settings: GuardianSettings, **kwargs: Any) -> None:
        # Termination protection: deleting the guardian takes a deliberate second step (and the self-protection rule
        # alerts on the DeleteStack call).
        kwargs.setdefault("termination_protection", True)
        super().__init__(scope, construct_id, description="CloudTrail Guardian: self-healing CloudTrail", **kwargs)
        Tags.of(self).add(GUARDIAN_TAG, settings.stack_name)  # the service control policies know the guardian by it
        if not settings.alert_emails:
            Annotations.of(self).add_info(
                "No alertEmails given: alerts go to the SNS topic only. Deploy with -c alertEmails=a@example.com,... "
                "or subscribe to the topic yourself."
            )
        self.alerts = AlertsTopic(self, "Alerts", emails=settings.alert_emails)
        self.evidence = EvidenceStore(
            self,
            "Evidence",
            retention_mode=settings.evidence_retention_mode,
            retention_days=settings.evidence_retention_days,
        )
        self.watch = settings.watch()
        self.own_rules = [
            *(f"{settings.stack_name}-{suffix}" for suffix in OWN_RULE_SUFFIXES),
            *watch_rule_names(settings.stack_name, self.watch),
            *([f"{settings.stack_name}-{ALARMS_RULE}"] if settings.security_bus_arn else []),  # guarded and swept
            *(
                f"{settings.stack_name}-guard-{cfn}{kind}"
                for kind, made in zip(
                    OPTIONAL_WATCHES,
                    (settings.cis_alarms, bool(settings.webhooks), settings.own_events == DEDICATED),
                    strict=True,
                )
                for cfn in ("", "cfn-")
                if made
            ),
        ]
        self.dead_letters = DeadLetterQueue(self, "DeadLetters", queue_name=f"{settings.stack_name}-dead-letters")
        self.sentinel = (
            SentinelTrail(
                self,
                "Sentinel",
                name=f"{settings.stack_name}-sentinel",
                access_logs=self.evidence.access_logs,
                retention_days=settings.sentinel_retention_days,
                # the CIS alarms read all management events (4.1 counts denied reads): from its log group, reads too
                read_events=settings.sentinel_read_events or (settings.cis_alarms and not settings.cis_log_group),
                protect_tag=settings.protect_tag,
                cloud_watch_logs=settings.cis_alarms and not settings.cis_log_group,
            )
            if settings.sentinel_trail
            else None
        )
        protect_trails = settings.protect_trails
        if protect_trails and self.sentinel is not None:  # narrowed by name: the sentinel stays protected
            protect_trails = (*protect_trails, self.sentinel.name)
        self.sweep = SweepSchedule(
            self,
            "Sweep",
            topic=self.alerts.topic,
            evidence=self.evidence,
            regions=settings.sweep_regions(None if Token.is_unresolved(self.region) else self.region) or (self.region,),
            minutes=settings.sweep_minutes,
            protect_trails=protect_trails,
            protect_tag=settings.protect_tag,
            exempt_principals=settings.exempt_principals,
            log_retention_days=settings.log_retention_days,
            rule_prefix=settings.stack_name,
            function_name=f"{settings.stack_name}-sweep",
            # less the -guard-cfn-* rules, which the sweep derives from the guards (its environment holds 4 KB)
            own_rules=[r for r in self.own_rules if "-guard-cfn-" not in r and not r.endswith(DENIED_NAMES)],
            inline_extra=watch_files(self.watch),
            mode=settings.mode,
            security_hub=settings.security_hub,
        )
        self.remediation = RemediationFunction(
            self,
            "Remediation",
            topic=self.alerts.topic,
            evidence=self.evidence,
            dead_letter_queue=self.dead_letters.queue,
            exempt_principals=settings.exempt_principals,
            log_retention_days=settings.log_retention_days,
            other_guardian_roles=[self.sweep.role.role_arn],
            repeat_threshold=settings.repeat_threshold,
            repeat_window_minutes=settings.repeat_window_minutes,
            alert_group_minutes=settings.alert_group_minutes,
            reserved_concurrency=settings.remediation_concurrency,
            function_name=f"{settings.stack_name}-remediation",
            activity_table_name=f"{settings.stack_name}-activity",  # the SCP knows it by name
            extra_files=watch_files(self.watch),
            mode=settings.mode,
            security_hub=settings.security_hub,
        )
        add_finding_copies(  # ocsf, ownEvents: off unless set (infra.own_events)
            self,
            (self.remediation, self.sweep),
            self.evidence,
            ocsf=settings.ocsf,
            own_events=settings.own_events,
            detail_type=settings.own_events_detail_type,
            stack_name=settings.stack_name,
            security_lake=(settings.security_lake, settings.sweep_minutes),  # the sweep writes them there
        )
        self.tamper_rule = TamperRule(
            self,
            "TamperRule",
            function=self.remediation.function,
            dead_letter_queue=self.dead_letters.queue,
            rule_name=f"{settings.stack_name}-tamper",
        )
        if self.watch is not None and self.watch.groups:
            grant_undos(self.remediation.role, self.watch, self)
            WatchRules(
                self,
                "WatchRules",
                compiled=self.watch,
                function=self.remediation.function,
                dead_letter_queue=self.dead_letters.queue,
                prefix=settings.stack_name,
            )
        self.alarms = GuardianAlarms(
            self,
            "Alarms",
            topic=self.alerts.topic,
            function=self.remediation.function,
            sweep=self.sweep.function,
            dead_letter_queue=self.dead_letters.queue,
            sweep_minutes=settings.sweep_minutes,
            prefix=settings.stack_name,
        )
        self.cis = self._cis_alarms(settings)
        self.notifiers = notifiers(
            self,
            settings.webhooks,
            topic=self.alerts.topic,
            prefix=settings.stack_name,
            log_retention_days=settings.log_retention_days,
        )
        self.alarm_names = [
            *(f"{settings.stack_name}-{suffix}" for suffix in ALARM_SUFFIXES),
            *(cis_alarm_names(settings.stack_name) if self.cis else ()),
            *(webhook_alarm(settings.stack_name, w) for w in settings.webhooks),
        ]
        self._trust_only_itself(settings)
        self.security_link: SecurityAccountLink | None = None  # made below, after the guards it sends on
        self.self_protection = self._protect_itself(settings)
        self.stack_callers = StackCallers(
            self,
            "StackCallers",
            topic=self.alerts.topic,
            watched=self.self_protection.watched,
            confirm=self.remediation.function,
            dead_letter_queue=self.dead_letters.queue,
            stack_name=settings.stack_name,
            stack_id=self.stack_id,
            qualifier=self.synthesizer.bootstrap_qualifier or DefaultStackSynthesizer.DEFAULT_QUALIFIER,
            regions=settings.sweep_regions(None if Token.is_unresolved(self.region) else self.region),
        )
        self._keep_itself(settings)
        if settings.security_bus_arn:
            self.security_link = SecurityAccountLink(
                self,
                "SecurityAccount",
                bus_arn=settings.security_bus_arn,
                guards=[*self.self_protection.rules, self.stack_callers.exec_role, self.stack_callers.tag],
                schedule=self.sweep.schedule,
                alarm_names=[f"{settings.stack_name}-{suffix}" for suffix in ALARM_SUFFIXES],
                rule_prefix=settings.stack_name,
                sweep=self.sweep.function,
            )
        for function in (self.remediation, self.sweep):
            organization_and_central_alerts(self, function, settings)
            if self.sentinel is not None:  # a StopLogging of it may be a self-test
                function.function.add_environment("GUARDIAN_SENTINEL_TRAIL", self.sentinel.name)
            if settings.log_readers:  # whose reads and decrypts a trail's bucket and key policies must keep
                function.function.add_environment("GUARDIAN_LOG_READERS", json.dumps(list(settings.log_readers)))
        self.remediation.let_flush_alert_groups(self.sweep)  # closed alert groups' digests
        # Who may approve a trail's configuration or register a self-test (served by the sweep's function).
        self.sweep.function.add_environment("GUARDIAN_APPROVERS", json.dumps(list(settings.approvers)))
        CfnOutput(self, "AlertsTopicArn", value=self.alerts.topic.topic_arn)
        CfnOutput(self, "EvidenceBucketName", value=self.evidence.bucket.bucket_name)
        CfnOutput(self, "RemediationFunctionName", value=self.remediation.function.function_name)
        CfnOutput(self, "RemediationRoleArn", value=self.remediation.role.role_arn)
        CfnOutput(self, "TamperRuleName", value=self.tamper_rule.rule.rule_name)
        CfnOutput(self, "DeadLetterQueueUrl", value=self.dead_letters.queue.queue_url)
        CfnOutput(self, "SweepFunctionName", value=self.sweep.function.function_name)
        CfnOutput(self, "SigningKeyArn", value=self.signing.key.key_arn)
        if self.sentinel is not None:
            CfnOutput(self, "SentinelTrailName", value=self.sentinel.name)
        # the org-wide console's read-only role, trusted by the security account (infra.console_read)
        self.console_read = (
            self.console_read_role(settings.stack_name, settings.security_account, settings.console_readers)
            if settings.security_account
            else None
        )

    def console_readable(self, settings: GuardianSettings) -> bool:
        """Whether the console's read-only role may be made (the StackSet: by a parameter), and so is guarded."""
        return bool(settings.security_account)

    def console_read_role(self, stack_name: str, reader_account: str, readers: Any = None) -> ConsoleReadRole:
        """``<stackName>-console-read``, for ``guardian status --org`` run in ``reader_account`` (by ``readers``
        only, role ARNs of it, where given: ``consoleReaders``)."""
        return ConsoleReadRole(
            self,
            "ConsoleRead",
            stack_name=stack_name,
            reader_account=reader_account,
            readers=readers,
            evidence_bucket=self.evidence.bucket,
            signing_key_arn=self.signing.key.key_arn,
            dead_letter_queue_arn=self.dead_letters.queue.queue_arn,
        )

    def _cis_alarms(self, settings: GuardianSettings) -> CisAlarms | None:
        """The CIS "Monitoring" alarms, on the named log group or the sentinel trail's own."""
        if not settings.cis_alarms:
            return None
        if settings.cis_log_group:
            group = logs.LogGroup.from_log_group_name(self, "CisLogGroup", settings.cis_log_group)
        else:
            assert self.sentinel is not None
            assert self.sentinel.trail.log_group is not None
            group = self.sentinel.trail.log_group
        return CisAlarms(self, "Cis", log_group=group, topic=self.alerts.topic, prefix=settings.stack_name)

    def _trust_only_itself(self, settings: GuardianSettings) -> None:
        """What only the guardian may write: baselines signed with a key only its roles may use, an evidence bucket
        only its roles (and the break-glass role) may write to, and its own calls known by role and function."""
        roles = [self.remediation.role, self.sweep.role]
        self.signing = SigningKey(self, "Signing")
        self.signing.allow_signing_by(roles)
        for function in (self.remediation, self.sweep):
            function.function.add_environment("GUARDIAN_SIGNING_KEY_ARN", self.signing.key.key_arn)
        self.evidence.only_the_guardian_writes(roles, break_glass=settings.break_glass_role)
        for role in roles:  # the account's alias, in every alert's subject
            role.add_to_principal_policy(
                iam.PolicyStatement(sid="ReadTheAccountAlias", actions=["iam:ListAccountAliases"], resources=["*"])
            )
            any_resource(role, "iam:ListAccountAliases has no resource type: the account's alias, for alert subjects.")
        # Fixed names (like the rules'): a function cannot name itself through a reference to itself.
        names = [f"{settings.stack_name}-remediation", f"{settings.stack_name}-sweep"]
        self.remediation.function.add_environment("GUARDIAN_SELF_FUNCTIONS", json.dumps(names))

    def _keep_itself(self, settings: GuardianSettings) -> None:
        """What the sweep checks of the guardian itself: its rules everywhere, its functions as deployed (only after a
        deployment its stack confirms), and the path an alert takes."""
        prefix, sweep = settings.stack_name, self.sweep
        functions = [
            f"{prefix}-remediation",
            f"{prefix}-sweep",
            *(webhook_function(prefix, w) for w in settings.webhooks),
        ]
        alarms = self.alarm_names
        forwarders = [r.removeprefix(f"{prefix}-") for r in forwarder_rules(prefix, self.watch)]  # 4 KB: compact
        sweep.function.add_environment(
            "GUARDIAN_FORWARDER_RULES", json.dumps({"prefix": f"{prefix}-", "names": forwarders}, separators=(",", ":"))
        )
        sweep.function.add_environment("GUARDIAN_OWN_FUNCTIONS", json.dumps(functions, separators=(",", ":")))
        sweep.function.add_environment("GUARDIAN_STACK_ID", self.stack_id)
        # Compact (4 KB for every variable): each address with the minimum its filter starts at (none: INFO, every
        # message), and the CIS alarms as "cis": true (guardian.model.alert_path_config derives both).
        cis = cis_alarm_names(prefix) if self.cis else []
        short = under_prefix([a for a in alarms if a not in cis], f"{prefix}-")
        path = {
            "emails": [r.address if r.minimum == "INFO" else f"{r.address}:{r.minimum}" for r in settings.alert_emails],
            "alarms": {**short, "cis": True} if cis and isinstance(short, dict) else under_prefix(alarms, f"{prefix}-"),
            "keys": [self.alerts.key.key_arn, self.signing.key.key_arn],
            "queue": self.dead_letters.queue.queue_url,
            "buckets": [self.evidence.bucket.bucket_name, self.evidence.access_logs.bucket_name],
            "secrets": [{"arn": n.secret.secret_arn, "version": n.webhook.secret_version} for n in self.notifiers],
        }
        if self.cis is not None:  # the CIS alarms' filters, put back as deployed
            path.update(logGroup=self.cis.log_group.log_group_name, metricFilters=self.cis.filter_prefix)
        sweep.function.add_environment("GUARDIAN_ALERT_PATH", self.to_json_string(path))
        sweep.function.add_environment("GUARDIAN_LAKE", "1")  # every Lake event data store, held to its baseline
        grant_reading_forwarder_queues(sweep.checks, self, prefix)  # their depth: a forwarder has no alarm
        grant_lake_checks(self, sweep.checks)
        grant_checks_of_itself(
            self,
            sweep.role,
            sweep.checks,
            functions=functions,
            prefix=prefix,
            topic_arn=self.alerts.topic.topic_arn,
            queue_arn=self.dead_letters.queue.queue_arn,
            log_group_arn=self.cis.log_group.log_group_arn if self.cis is not None else None,
            log_group_name=self.cis.log_group.log_group_name if self.cis is not None else None,
            secrets=[n.secret.secret_arn for n in self.notifiers],
            buckets=[self.evidence.bucket.bucket_arn, self.evidence.access_logs.bucket_arn],
        )

    def _protect_itself(self, settings: GuardianSettings) -> SelfProtection:
        prefix = settings.stack_name
        functions = [
            (f"{prefix}-remediation", self.remediation.function),
            (f"{prefix}-sweep", self.sweep.function),
            *((webhook_function(prefix, n.webhook), n.function.function) for n in self.notifiers),
        ]
        guarded = Guarded(
            stack_name=self.stack_name,
            stack_id=self.stack_id,
            functions=[(name, fn.function_arn, f"{self.account}:function:{name}") for name, fn in functions],
            function_arn_prefix=self.format_arn(
                service="lambda",
                resource="function",
                resource_name=f"{prefix}-",
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            ),
            rules=[*self.own_rules, *forwarder_rules(prefix, self.watch)],
            topic_arn=self.alerts.topic.topic_arn,
            roles=[
                self.remediation.role.role_name,
                self.sweep.role.role_name,
                *(n.function.role.role_name for n in self.notifiers),  # each webhook notifier's
                *([self.sentinel.logs_role.role_name] if self.sentinel and self.sentinel.logs_role else []),
                *([console_read_name(prefix)] if self.console_readable(settings) else []),  # infra.console_read
                # the security-account link's role, made after the guards (it sends them on): named when synthesized
                *([Lazy.string(_SecurityLinkRole(self))] if settings.security_bus_arn else []),
            ],
            keys=[(k.key_id, k.key_arn) for k in (self.alerts.key, self.signing.key)],
            key_aliases=f"alias/{prefix}-",
            buckets=[self.evidence.bucket.bucket_name, self.evidence.access_logs.bucket_name],
            alarms=self.alarm_names,
            queue_names=[f"{prefix}-dead-letters", *(webhook_alarm(prefix, n.webhook) for n in self.notifiers)],
            log_groups=[self.cis.log_group.log_group_name] if self.cis is not None else [],
            secrets=[value for n in self.notifiers for value in secret_ids(n)],
            role_prefixes=[forward_role_prefix(prefix)],  # the forwarders' roles (in the StackSet: any Region)
            # the sweep's customer managed policies (infra.sweep_schedule, infra.security_account)
            policy_arn_prefix=self.format_arn(service="iam", region="", resource="policy", resource_name=f"{prefix}-"),
            own_bus=f"{prefix}{BUS_SUFFIX}" if settings.own_events == DEDICATED else "",  # infra.own_events
        )
        return SelfProtection(
            self, "SelfProtection", topic=self.alerts.topic, watched=watches(guarded), stack_name=settings.stack_name
        )


@jsii.implements(IStableStringProducer)
class _SecurityLinkRole:
    """The security-account link's role name, for the guards made before the link (which sends them on)."""

    def __init__(self, stack: GuardianStack) -> None:
        self.stack = stack

    def produce(self) -> str | None:
        link = self.stack.security_link
        return link.role.role_name if link is not None else None
