"""What every guardian function shares: the runtime asset, Python on arm64, JSON logs, a retained log group and
a role of its own that starts with nothing but its own log stream."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Acknowledgment, Annotations, Duration, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import bytecode
from infra.runtime_asset import INLINE_CONTEXT, inline_source, stage_runtime
from infra.settings import ALL_LOG_RETENTION_DAYS

INLINE_HANDLERS = {
    "guardian.entrypoints.handler.lambda_handler": "index.lambda_handler",
    "guardian.entrypoints.sweep.lambda_handler": "index.sweep_handler",
}
# Python 3.13, not 3.14: the asset ships the cold path's byte-code, which only an interpreter of the runtime's own
# version writes, and 3.13 is the newest found on the machines that build it (infra.bytecode; its import at a cold
# start is halved). Supported by Lambda until 2029; cdk-nag AwsSolutions-L1 is acknowledged below.
RUNTIME = lambda_.Runtime.PYTHON_3_13
RUNTIME_VERSION = RUNTIME.name.removeprefix("python")
NO_BYTECODE = (
    f"No Python {RUNTIME_VERSION} interpreter found: the asset ships sources only, and each cold start compiles the "
    f"heal path's modules (about 15 ms more before StartLogging). Install Python {RUNTIME_VERSION} to ship its "
    "byte-code (docs/operations.md)."
)


def retention_days(days: int) -> logs.RetentionDays:
    """CDK names retention periods (ONE_YEAR...); they are declared in the same order as the day counts."""
    members = [m for m in logs.RetentionDays if m is not logs.RetentionDays.INFINITE]
    return dict(zip(ALL_LOG_RETENTION_DAYS, members, strict=True))[days]


class GuardianFunction(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler: str,
        description: str,
        environment: Mapping[str, str],
        log_retention_days: int,
        timeout: Duration,
        retry_attempts: int,
        dead_letter_queue: sqs.IQueue | None = None,
        reserved_concurrency: int | None = None,
        function_name: str | None = None,
        leave_out: Sequence[str] = (),
        memory_size: int = 256,
        extra_files: Mapping[str, str] | None = None,
        inline_extra: Mapping[str, str] | None = None,
        cold_path_bytecode: bool = False,
    ) -> None:
        """``extra_files``: written into the asset's package (the remediation function's compiled watch rules).
        Inline (StackSets), both functions carry one package: ``inline_extra`` gives the sweep's the same files.
        ``cold_path_bytecode``: the asset ships the cold path's byte-code (infra.bytecode): the remediation
        function's, whose cold start is a heal's; not inline, where the package is unpacked into /tmp."""
        super().__init__(scope, construct_id)
        inline = bool(self.node.try_get_context(INLINE_CONTEXT))  # a StackSet template: no asset bucket
        self.log_group = logs.LogGroup(self, "Logs", retention=retention_days(log_retention_days))
        self.role = iam.Role(
            self, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"), description=description
        )
        self.log_group.grant_write(self.role)
        self.function = lambda_.Function(
            self,
            "Function",
            description=description,
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler=INLINE_HANDLERS[handler] if inline else handler,
            code=lambda_.Code.from_inline(inline_source(extra=extra_files or inline_extra))
            if inline
            else lambda_.Code.from_asset(
                str(
                    stage_runtime(
                        leave_out=leave_out, extra=extra_files, python=RUNTIME_VERSION if cold_path_bytecode else None
                    )
                )
            ),
            role=self.role,
            memory_size=memory_size,
            timeout=timeout,
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=lambda_.ApplicationLogLevel.INFO,
            system_log_level_v2=lambda_.SystemLogLevel.WARN,
            dead_letter_queue=dead_letter_queue,
            retry_attempts=retry_attempts,
            max_event_age=Duration.hours(6),
            reserved_concurrent_executions=reserved_concurrency,
            function_name=function_name,
            environment=dict(environment),
        )
        Validations.of(self.function).acknowledge(
            Acknowledgment(
                id="AwsSolutions-L1",
                reason=f"Python {RUNTIME_VERSION}, supported by Lambda: the remediation function's asset ships the "
                "byte-code of what a cold start imports, which only an interpreter of the runtime's version writes "
                "(infra.bytecode); the guardian's functions share one runtime",
            )
        )
        if cold_path_bytecode and not inline and bytecode.interpreter(RUNTIME_VERSION) is None:
            Annotations.of(self).add_warning_v2("cloudtrail-guardian:sourcesOnly", NO_BYTECODE)
