"""The scheduled sweep: the backstop for changes EventBridge never delivered (its CloudTrail delivery is best
effort, and needs a logging trail).

The path an alert takes first (an alert nobody receives is no alert); then, at once, the guardian's own rules and
functions, the evidence digest chain, and every configured Region's trails (:mod:`guardian.flows.sweep_trails`);
then each bucket, log group and KMS key the protected trails use, once each; last, closed alert windows' digests.
Every unit of work runs on one bounded pool (:mod:`guardian.flows.workers`). Each heal gets evidence and one alert
"healed by sweep". Entry point: :mod:`guardian.entrypoints.sweep`.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, TypeVar

from guardian.flows import finding_batch, own_aliases, own_functions, own_rules, sweep_findings
from guardian.flows.alert_path import PathCheck, check_alert_path
from guardian.flows.bus_keys import check_default_buses
from guardian.flows.deliver import AlertNotPublished
from guardian.flows.digests import ChainBlocked, extend_chain
from guardian.flows.forwarder_queues import check_forwarder_queues
from guardian.flows.grouping import flush_closed
from guardian.flows.key_checks import sweep_keys
from guardian.flows.lake_checks import store_keys, sweep_lake
from guardian.flows.log_files import LogCheck, check_log_files
from guardian.flows.log_policy_checks import sweep_log_policies
from guardian.flows.missing_windows import alert_missing
from guardian.flows.security_rules import check_security_rules
from guardian.flows.settle_windows import settle_windows
from guardian.flows.sweep_checks import ResourceCheck, sweep_resources
from guardian.flows.sweep_left import DEFERRED
from guardian.flows.sweep_trails import LEFT, TrailCheck, check_region, sweep_result
from guardian.flows.unsigned_records import alert_unsigned, heartbeat
from guardian.flows.workers import Workers
from guardian.ports.errors import AWS_ERRORS, describe_error

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from guardian.flows.lake_delivery import Delivered
    from guardian.model.config import Config
    from guardian.ports.calls import Everything
    from guardian.ports.invocation import Invocation

__all__ = ["SweepReport", "TrailCheck", "run_sweep", "sweep_result"]
LOG = logging.getLogger(__name__)
T = TypeVar("T")
GROUPS_SHARE = 0.5  # of the time left after the checks, at most, for sending closed alert windows' digests


@dataclass(frozen=True)
class SweepReport:
    started_at: datetime
    checks: tuple[TrailCheck, ...]
    region_errors: dict[str, str]
    resources: tuple[ResourceCheck, ...] = ()
    rules: tuple[own_rules.RuleCheck, ...] = ()
    functions: tuple[own_functions.FunctionCheck, ...] = ()
    alert_path: tuple[PathCheck, ...] = ()
    check_errors: dict[str, str] = field(default_factory=dict)  # a check of the guardian itself that could not run
    digest: str | None = None  # what extending the evidence digest chain did
    log_files: tuple[LogCheck, ...] = ()  # each protected trail's own log files, against CloudTrail's digests
    aliases: tuple[own_aliases.AliasCheck, ...] = ()  # the guardian's KMS aliases, in every Region it has some
    findings: sweep_findings.Flushed | None = None  # the alerts' Security Hub findings: informational, never fails
    lake_delivery: Delivered | None = None  # the findings written into Security Lake (``securityLake``): likewise

    @property
    def statuses(self) -> list[str]:
        own = [r.status for r in self.rules] + [f.status for f in self.functions] + [p.status for p in self.alert_path]
        own += [a.status for a in self.aliases]
        return [c.status for c in self.checks] + [r.status for r in self.resources] + own

    @property
    def left(self) -> list[str]:
        """Trails left to the event path, or whose restore was deferred: alerted findings, not failures of the run
        (one whose alert was refused fails its Region)."""
        return [f"{c.region}:{c.name}: {c.status}" for c in self.checks if c.status in {LEFT, DEFERRED}]

    @property
    def ok(self) -> bool:
        failed = {"heal_failed", "deleted"} & set(self.statuses)
        return not self.region_errors and not self.check_errors and not failed

    def count(self, status: str) -> int:
        return self.statuses.count(status)


def run_sweep(
    aws: Everything, config: Config, run: Invocation, *, redeployed: bool = False, own_calls: Everything | None = None
) -> SweepReport:
    """``own_calls``: the calls for the guardian's own resources, repaired in observe mode too (``aws``'s writes on the
    trails, their buckets, log groups, keys and Lake stores are then recorded, not made: guardian.model.mode). Every
    alert the run publishes is copied to Security Hub once it is done (guardian.flows.sweep_findings)."""
    collecting = finding_batch.opened(run, config)
    lake = None
    try:
        report = _sweep(aws, config, run, redeployed=redeployed, own_calls=own_calls)
        if config.security_lake is not None:  # the findings written so far, in the Security Lake custom source
            from guardian.flows.lake_delivery import deliver_to_lake, note_failure  # noqa: PLC0415

            lake = deliver_to_lake(own_calls or aws, config, run)
            note_failure(own_calls or aws, config, run, lake, started=run.clock())
    finally:
        findings = sweep_findings.closed(run, own_calls or aws, config) if collecting else None
    return replace(report, findings=findings, lake_delivery=lake)


def _sweep(
    aws: Everything, config: Config, run: Invocation, *, redeployed: bool = False, own_calls: Everything | None = None
) -> SweepReport:
    started = run.clock()
    mine = aws if own_calls is None else own_calls
    # The alert path first (an alert nobody receives is no alert). A deployment re-records the guardian's own
    # baselines only if CloudFormation confirms it.
    failures: dict[str, str] = {}
    deployed_at = None
    if redeployed:
        deployed_at = _checked(
            "deployment", failures, lambda: own_functions.confirmed_deployment(mine, config, started)
        )
        if deployed_at is None:
            own_functions.report_unconfirmed_deployment(mine, config, started=started, run=run)
    path = _checked(
        "alert_path",
        failures,
        lambda: check_alert_path(mine, config, started=started, run=run, deployed_at=deployed_at),
    )
    regions = config.sweep_regions
    errors: dict[str, str] = {}
    with Workers() as work, ThreadPoolExecutor(max_workers=len(regions) + 4) as waiting:
        # Threads that wait (each hands its units of work to the bounded pool): the guardian's own rules and
        # functions (a disabled tamper rule means events are being lost right now), the digest chain (it covers
        # records a minute old and more, so none this sweep writes), and every Region.
        rules = waiting.submit(
            _checked,
            "guardian_rules",
            failures,
            lambda: own_rules.check_own_rules(mine, config, started=started, run=run, deployed_at=deployed_at),
        )
        functions = waiting.submit(
            _checked,
            "guardian_functions",
            failures,
            lambda: own_functions.check_own_functions(mine, config, started=started, run=run, deployed_at=deployed_at),
        )
        aliases = waiting.submit(
            _checked,
            "guardian_aliases",
            failures,
            lambda: own_aliases.check_own_aliases(mine, config, started=started, run=run, deployed_at=deployed_at),
        )
        digest = waiting.submit(
            _checked,
            "evidence_digest",
            failures,
            lambda: extend_chain(
                mine, run, lambda found: alert_unsigned(found, mine, config, run, at=started), heartbeat(mine, config)
            ),
        )
        waiting.submit(check_default_buses, mine, config, failures, started=started, run=run)  # keys on its buses
        waiting.submit(check_forwarder_queues, mine, config, failures, started=started, run=run)  # parked events
        waiting.submit(  # the team's rules routing security events, against their signed inventory
            _checked,
            "security_rules",
            failures,
            lambda: check_security_rules(mine, config, started=started, run=run, work=work),
        )
        futures = {
            waiting.submit(check_region, aws, config, region, work, started=started, run=run): region
            for region in regions
        }
        checks: list[TrailCheck] = []
        for future in as_completed(futures):
            region = futures[future]
            try:
                checks += future.result()
            except AWS_ERRORS as exc:  # one Region's failure must not hide the others
                code, message = describe_error(exc)
                errors[region] = f"{code}: {message}"
                LOG.error("sweep of a Region failed", extra={"region": region, "error_code": code})
            except AlertNotPublished as exc:  # a refused topic: the other Regions and checks still run
                errors[region] = str(exc)
                LOG.error("an alert of a Region's sweep was refused", extra={"region": region, "error": str(exc)})
            except Exception as exc:  # a fault of the guardian's own code: the run fails, the rest runs
                errors[region] = f"{type(exc).__name__}: {exc}"
                LOG.exception("sweep of a Region failed", extra={"region": region})
        checked = tuple(sorted(checks, key=lambda c: (c.region, c.name)))
        protected = [c.protected for c in checked if c.protected is not None]
        lake = waiting.submit(
            _checked, "lake", failures, lambda: sweep_lake(aws, config, started=started, run=run) if config.lake else ()
        )
        # Every key the trails depend on, the Lake stores' baseline keys included (so it waits for Lake's check).
        keys = waiting.submit(
            _checked,
            "trail_keys",
            failures,
            lambda: sweep_keys(
                aws, config, protected, work, started=started, run=run, stores=store_keys(lake.result())
            ),
        )
        logs = waiting.submit(
            _checked,
            "trail_log_files",
            failures,
            lambda: check_log_files(aws, config, protected, work, started=started, run=run),
        )
        repaired = _checked(
            "trail_resources", failures, lambda: sweep_resources(aws, config, protected, work, started=started, run=run)
        )
        repaired = (repaired or ()) + (lake.result() or ())
        policies = _checked(  # account-wide masking or transformer policies reaching a trail's log group
            "log_account_policies",
            failures,
            lambda: sweep_log_policies(aws, config, protected, started=started, run=run),
        )
        repaired += tuple(ResourceCheck("log_account_policy", name, status) for name, status in policies or ())
        repaired += tuple(ResourceCheck("key", key, status) for key, status in keys.result() or ())
        own = (rules.result(), functions.result(), digest.result(), aliases.result())
    # Closed alert windows' digests, after every trail check (the bucket it lists is the guardian's own, but a burst
    # makes it long): bounded by keys listed and by half the time left, so it never delays a heal.
    _checked("alert_groups", failures, lambda: flush_closed(aws, config, run, share=GROUPS_SHARE))
    # Blind windows read right after their heal, read again once Event history holds them (about 15 minutes).
    _checked("blind_windows", failures, lambda: settle_windows(aws, run))
    # A healed stop or delete with no blind-window object half an hour on: its read failed, or the object is gone.
    _checked("missing_blind_windows", failures, lambda: alert_missing(aws, config, run))
    return SweepReport(
        started,
        checked,
        errors,
        repaired,
        own[0] or (),
        own[1] or (),
        path or (),
        failures,
        own[2],
        logs.result() or (),
        own[3] or (),
    )


def _checked(what: str, failures: dict[str, str], check: Callable[[], T]) -> T | None:
    """Run one check; an AWS error or a fault of its own is recorded (the run then fails) and the sweep goes on,
    so one denied call or one bug never hides the trails."""
    try:
        return check()
    except AWS_ERRORS as exc:
        code, message = describe_error(exc)
        failures[what] = f"{code}: {message}"
        LOG.error("a check of the guardian itself failed", extra={"check": what, "error_code": code})
        return None
    except AlertNotPublished as exc:  # a topic refused its alert (its security-account copy went out): go on
        failures[what] = str(exc)
        LOG.error("an alert of a check of the guardian itself was refused", extra={"check": what})
        return None
    except ChainBlocked as exc:  # someone's object at the chain's next key: alerted CRITICAL, the run fails
        failures[what] = str(exc)
        LOG.error("the evidence digest chain is blocked", extra={"check": what})
        return None
    except Exception as exc:  # a fault of the guardian's own code (a RecursionError): the run fails
        failures[what] = f"{type(exc).__name__}: {exc}"
        LOG.exception("a check of the guardian itself failed", extra={"check": what})
        return None
