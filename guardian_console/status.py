"""``guardian status``: is every trail protected, logging and as its baseline says, and is the guardian itself well?

Reads only, with the caller's credentials, through the guardian's own adapters (the same reads the sweep makes) and
its model (the same comparison and protection rules): the status says what the next sweep would find. Regions are
read in parallel.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from guardian.adapters.clients import Boto3Clients
from guardian.adapters.full import FullAdapter
from guardian.flows import baselines
from guardian.flows.own_rules import places
from guardian.model.changes import weakened
from guardian.model.trail import TrailState, compare
from guardian.ports.errors import describe_failure
from guardian_console.lambda_runs import sweep_runs
from guardian_console.rule_states import rule_states
from guardian_console.stack import sweep_config

if TYPE_CHECKING:
    from guardian.model.config import Config
    from guardian_console.deployed import Deployed


@dataclass(frozen=True)
class TrailStatus:
    region: str
    name: str
    protected: bool
    logging: bool | None
    baseline: str  # "matches", "no baseline", "refused: ...", "differs"
    weakened: tuple[str, ...] = ()  # fields weaker than the baseline
    delivery_error: str | None = None

    @property
    def problems(self) -> list[str]:
        if not self.protected:
            return []
        found = []
        if self.logging is False:
            found.append("not logging")
        if self.weakened:
            found.append("weaker than its baseline: " + ", ".join(self.weakened))
        if self.baseline.startswith("refused"):
            found.append(f"baseline {self.baseline}")
        if self.baseline == "no baseline":
            found.append("no baseline yet (the next sweep records one)")
        if self.delivery_error:
            found.append(f"log files not delivered: {self.delivery_error}")
        return found


@dataclass(frozen=True)
class Health:
    """One thing of the guardian's own: a rule, the sweep, the dead-letter queue, an alarm; and what is wrong."""

    what: str
    state: str
    problem: str | None = None


@dataclass
class Status:
    trails: list[TrailStatus] = field(default_factory=list)
    health: list[Health] = field(default_factory=list)
    unread: list[str] = field(default_factory=list)  # what could not be read, with why

    @property
    def problems(self) -> list[str]:
        found = [f"trail {t.name} ({t.region}): {p}" for t in self.trails for p in t.problems]
        found += [f"{h.what}: {h.problem}" for h in self.health if h.problem]
        found += [f"could not read {u}" for u in self.unread]
        return found


def status(
    session: Any, deployed: Deployed, now: datetime, config: Config | None = None, *, rule_targets: bool = True
) -> Status:
    """``config``: the sweep's configuration, read from its function when not given. ``rule_targets=False`` (``status
    --org``): the rules' states only, one ListRules a page (rule_states.py), not each rule and its targets."""
    config = config or sweep_config(session, deployed)
    clients = Boto3Clients(session)
    aws = FullAdapter(
        clients,
        topic_arn=deployed.topic_arn,
        topic_region=deployed.region,
        evidence_bucket=deployed.evidence_bucket,
        signing_key=deployed.signing_key,
    )
    result = Status()
    with ThreadPoolExecutor(max_workers=max(1, min(len(deployed.regions), 8))) as pool:
        for trails, unread in pool.map(lambda r: _region(aws, config, r), deployed.regions):
            result.trails += trails
            result.unread += unread
    result.health += _rules(aws, config) if rule_targets else rule_states(clients, config)
    result.health += _own(session, deployed, now)
    result.health.append(mode_health(function_modes(session, deployed)))
    result.health.append(security_hub_health(aws, config, deployed.region))
    return result


def security_hub_health(aws: FullAdapter, config: Config, region: str) -> Health:
    """Security Hub findings: on, off (the ``securityHub`` setting), or not enabled in the account (no problem:
    findings are an informational copy, the alerts go by SNS)."""
    if not config.security_hub:
        return Health("Security Hub findings", "off (securityHub setting)")
    try:
        enabled = aws.hub_enabled(region)
    except (ClientError, BotoCoreError) as exc:
        return Health("Security Hub findings", f"unreadable: {describe_failure(exc)}")
    return Health("Security Hub findings", "on" if enabled else "not enabled (Security Hub is off in this account)")


def function_modes(session: Any, deployed: Deployed) -> dict[str, str]:
    """Each function's mode (``heal`` or ``observe``), from its deployed environment (GUARDIAN_MODE; unset: heal),
    or ``unreadable: why``."""
    client = session.client("lambda", region_name=deployed.region)
    modes: dict[str, str] = {}
    for role, name in (("remediation", deployed.remediation_function), ("sweep", deployed.sweep_function)):
        try:
            variables = client.get_function_configuration(FunctionName=name).get("Environment", {}).get("Variables")
        except (ClientError, BotoCoreError) as exc:
            modes[role] = f"unreadable: {describe_failure(exc)}"
            continue
        modes[role] = str((variables or {}).get("GUARDIAN_MODE") or "heal")
    return modes


def mode_health(modes: dict[str, str]) -> Health:
    """The mode as ``guardian status`` shows it: one line; a problem where the functions disagree or one is
    unreadable (observe itself is no problem: it is a pilot's choice)."""
    values = set(modes.values())
    state = ", ".join(f"{role} {mode}" for role, mode in modes.items())
    if len(values) == 1 and values <= {"heal", "observe"}:
        [mode] = values
        note = " (alerts what it would undo, changes nothing)" if mode == "observe" else ""
        return Health("mode", mode + note)
    return Health("mode", state, "the functions' modes differ or cannot be read: redeploy the stack")


def _region(aws: FullAdapter, config: Config, region: str) -> tuple[list[TrailStatus], list[str]]:
    try:
        listed = aws.list_trails(region)
    except (ClientError, BotoCoreError) as exc:
        return [], [f"the trails of {region}: {describe_failure(exc)}"]
    found: list[TrailStatus] = []
    unread: list[str] = []
    for trail in listed:
        name = str(trail["Name"])
        try:
            found.append(_trail(aws, config, region, name))
        except (ClientError, BotoCoreError) as exc:
            unread.append(f"trail {name} ({region}): {describe_failure(exc)}")
    return found, unread


def _trail(aws: FullAdapter, config: Config, region: str, name: str) -> TrailStatus:
    live = aws.trail_state(region, name)
    if live is None:
        return TrailStatus(region, name, protected=False, logging=None, baseline="deleted meanwhile")
    checked = baselines.load_checked(aws, region, name, sentinel=config.sentinel)
    stored = checked.state
    judged = stored if isinstance(stored, TrailState) else live
    protected = config.protects(judged.name, judged.tags)
    if checked.refused is not None:
        baseline = f"refused: {checked.refused.problem}"
    elif isinstance(stored, TrailState):
        baseline = "matches" if not weakened(compare(stored, live)) else "differs"
    else:
        baseline = "no baseline"
    weak = tuple(c.field for c in weakened(compare(stored, live))) if isinstance(stored, TrailState) else ()
    return TrailStatus(region, name, protected, live.logging, baseline, weak, live.delivery_error)


def _rules(aws: FullAdapter, config: Config) -> list[Health]:
    found: list[Health] = []
    for region, name in places(config):
        what = f"rule {name} ({region})"
        try:
            rule = aws.describe_rule(region, name)
            targets = aws.rule_targets(region, name) if rule else []
        except (ClientError, BotoCoreError) as exc:
            found.append(Health(what, "unreadable", describe_failure(exc)))
            continue
        if rule is None:
            found.append(Health(what, "missing", "deleted: redeploy the stack"))
        elif rule.get("State") != "ENABLED":
            found.append(Health(what, str(rule.get("State")), "not enabled (the next sweep enables it)"))
        elif not targets:
            found.append(Health(what, "ENABLED", "no targets"))
        else:
            found.append(Health(what, f"ENABLED, {len(targets)} target(s)"))
    return found


def _own(session: Any, deployed: Deployed, now: datetime) -> list[Health]:
    found: list[Health] = []
    try:
        # AWS/Lambda's own Invocations less Errors of the sweep function: nobody in the account can publish those
        # (the guardian's SweepSucceeded metric, anyone with cloudwatch:PutMetricData can: threat row put-metric-data).
        runs = sweep_runs(session.client("cloudwatch"), deployed.sweep_function, now - timedelta(days=1), now, 300)
        last = max((at for at, succeeded in runs if succeeded >= 1), default=None)
        if last is None:
            found.append(Health("sweep", "no success in 24 h", "the sweep has not succeeded for a day"))
        else:
            found.append(Health("sweep", f"last succeeded {last.astimezone(UTC):%Y-%m-%d %H:%M} UTC"))
    except (ClientError, BotoCoreError) as exc:
        found.append(Health("sweep", "unreadable", describe_failure(exc)))
    try:
        attributes = session.client("sqs").get_queue_attributes(
            QueueUrl=deployed.dead_letter_queue, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        depth = int(attributes.get("ApproximateNumberOfMessages", 0))
        problem = f"{depth} event(s) parked: read them (docs/operations.md)" if depth else None
        found.append(Health("dead-letter queue", f"{depth} message(s)", problem))
    except (ClientError, BotoCoreError) as exc:
        found.append(Health("dead-letter queue", "unreadable", describe_failure(exc)))
    try:
        alarms = session.client("cloudwatch").describe_alarms(AlarmNamePrefix=f"{deployed.stack}-")["MetricAlarms"]
        for alarm in alarms:
            state = str(alarm.get("StateValue"))
            actions = alarm.get("ActionsEnabled", True)
            problem = "in ALARM" if state == "ALARM" else None if actions else "actions disabled"
            found.append(Health(f"alarm {alarm['AlarmName']}", state, problem))
    except (ClientError, BotoCoreError) as exc:
        found.append(Health("alarms", "unreadable", describe_failure(exc)))
    return found


def lines(result: Status, *, account: str) -> list[str]:
    """The status for people: a table of trails, the guardian's own health, then what is wrong (or that all is well)."""
    out = [f"account {account}", "", "trails"]
    rows = [("region", "trail", "protected", "logging", "baseline", "latest delivery error")]
    rows += [
        (
            t.region,
            t.name,
            "yes" if t.protected else "no",
            {True: "yes", False: "NO", None: "?"}[t.logging],
            t.baseline + (f" ({', '.join(t.weakened)})" if t.weakened else ""),
            t.delivery_error or "-",
        )
        for t in sorted(result.trails, key=lambda t: (t.region, t.name))
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out += ["  " + "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    out += ["", "the guardian itself"]
    width = max((len(h.what) for h in result.health), default=0)
    out += [f"  {h.what.ljust(width)}  {h.state}" for h in result.health]
    problems = result.problems
    out += ["", "WRONG:" if problems else "all is well"]
    out += [f"  - {p}" for p in problems]
    return out
