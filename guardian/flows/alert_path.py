"""The path an alert takes, checked end to end by the sweep: an alert nobody receives is no alert.

- The alerts key and the signing key are enabled (disabled or scheduled for deletion: put back, as a trail's key).
  The keys come first: with the alerts key disabled, no alert, this one included, can be published.
- Every address of ``alertEmails`` is subscribed, without a filter policy (one set by anyone drops every alert it
  does not match): a removed subscription is made again (AWS mails a new confirmation), a filter policy removed;
  one confirmed by the email's link (its unsubscribe link needs no credentials) is noted (:mod:`.path_notes`).
- Every alarm of the guardian's exists, with its actions enabled (DisableAlarmActions silences an alarm for good),
  and as defined when deployed: one redefined by PutMetricAlarm (no actions, another threshold) is put back.
- The dead-letter queue exists.
- The CIS alarms' metric filters are as deployed: one deleted or redefined is put back (PutMetricFilter).
- Each chat webhook's secret holds the version approved (:mod:`guardian.flows.webhook_secrets`).
- The guardian's own buckets are as deployed (:mod:`guardian.flows.own_buckets`).
- The topic's policy and key, each key's policy and the queue's are as deployed (recorded when first seen, and after
  a deployment CloudFormation confirms): a topic policy that denies the guardian's roles, EventBridge or CloudWatch
  drops alerts without a trace. What differs is put back (SetTopicAttributes, PutKeyPolicy, SetQueueAttributes).

Each finding is one CRITICAL alert; what cannot be put back from here (a deleted alarm or queue) asks for a
redeployment and fails the run.
"""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

from guardian.flows.baselines import read_verified, write_signed
from guardian.flows.key import repair_key
from guardian.flows.own_buckets import check_own_buckets, deliver_own_finding
from guardian.flows.path_guard import contained
from guardian.flows.path_notes import pending, unauthenticated
from guardian.flows.steps import Step, run_steps
from guardian.flows.webhook_secrets import check_webhook_secrets
from guardian.model.baselines import ALERT_PATH_KEY, alert_path_document
from guardian.model.changes import Change, Effect
from guardian.model.refs import KeyRef
from guardian.model.results import iso
from guardian.ports.calls import AlertPathCalls, Delivery, KeyCalls, OwnBucketCalls, SecretCalls, SignedStore

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from guardian.model.config import Config
    from guardian.model.results import ActionRecord
    from guardian.ports.invocation import Invocation

LOG = logging.getLogger(__name__)


class Ports(AlertPathCalls, KeyCalls, SecretCalls, OwnBucketCalls, SignedStore, Delivery, Protocol):
    """The topic, its subscriptions, the alarms, the queue, the keys, their recorded policies, the alert's path."""


@dataclass(frozen=True)
class PathCheck:
    what: str  # "key <id>", "subscription <address>", "alarm <name>", "dead-letter queue"
    status: str  # in_baseline, healed, heal_failed, deleted


def check_alert_path(
    aws: Ports, config: Config, *, started: datetime, run: Invocation, deployed_at: datetime | None = None
) -> tuple[PathCheck, ...]:
    path = config.alert_path
    # The keys first, at once: no alert of the checks after them can leave while the topic's key is disabled. Then
    # the policies, the subscriptions, the alarms and the queue, each on its own, at once (their round trips
    # overlap; each puts back only its own piece).
    with ThreadPoolExecutor(max_workers=8) as pool:
        checks = list(pool.map(lambda arn: _key(aws, config, arn, started, run), path.keys))
        parts: list[Callable[[], list[PathCheck]]] = [lambda: _subscriptions(aws, config, started, run)]
        if path.keys or path.emails or path.alarms or path.metric_filters:  # the stack's: its policies as deployed
            parts.insert(0, lambda: _policies(aws, config, started, run, deployed_at))
        if path.alarms:
            parts.append(lambda: _alarms(aws, config, started, run))
        if path.queue is not None:
            parts.append(lambda: _queue(aws, config, path.queue or "", started, run))
        if path.secrets:  # a chat webhook's URL swapped: its alerts go to whoever swapped it
            secrets = partial(check_webhook_secrets, aws, config, started=started, run=run, deployed_at=deployed_at)
            parts.append(lambda: [PathCheck(*check) for check in secrets()])
        if path.buckets:  # the evidence bucket's policy replaced reopens its evidence: as deployed (own_buckets)
            buckets = partial(check_own_buckets, aws, config, started=started, run=run, deployed_at=deployed_at)
            parts.append(lambda: [PathCheck(*check) for check in buckets()])
        guarded = partial(contained, aws=aws, config=config, started=started, run=run, failed=PathCheck)
        for found in pool.map(guarded, parts):
            checks += found
    return tuple(checks)


def _queue(aws: Ports, config: Config, url: str, started: datetime, run: Invocation) -> list[PathCheck]:
    if aws.queue_exists(url):
        return [PathCheck("dead-letter queue", "in_baseline")]
    found = (Change("exists", True, False, Effect.WEAKENED),)
    _alert(aws, config, "dead-letter queue", (found, ()), started=started, run=run, healed=False)
    return [PathCheck("dead-letter queue", "deleted")]


def _key(aws: Ports, config: Config, arn: str, started: datetime, run: Invocation) -> PathCheck:
    key = _key_ref(arn)
    what = f"key {key.key_id}"
    if aws.key_state(key) == "Enabled":
        return PathCheck(what, "in_baseline")
    state, actions, after, _ = repair_key(aws, key, config, run)
    healed = after == "Enabled" and all(a.succeeded for a in actions)
    changes = (Change("key_state", "Enabled", state, Effect.WEAKENED),)
    _alert(aws, config, what, (changes, tuple(actions)), started=started, run=run, healed=healed)
    return PathCheck(what, "healed" if healed else "heal_failed")


def _key_ref(arn: str) -> KeyRef:
    parts = arn.split(":")
    return KeyRef(key_id=arn.rsplit("/", 1)[-1], region=parts[3], account_id=parts[4])


def policies(aws: Ports, config: Config) -> dict[str, str]:
    """The policies an alert depends on, canonical: the topic's policy and key, and each key's policy."""
    attributes = aws.topic_attributes()
    found = {
        "topic policy": _canonical(attributes.get("Policy", "")),
        "topic key": attributes.get("KmsMasterKeyId", ""),
    }
    for arn in config.alert_path.keys:
        found[f"key policy {arn.rsplit('/', 1)[-1]}"] = _canonical(aws.key_policy(_key_ref(arn)))
    path = config.alert_path
    if path.alarms:  # an alarm redefined (no actions, another threshold) is mute: as deployed, too
        for alarm in aws.alarms(list(path.alarms)):
            found[f"alarm definition {alarm['name']}"] = json.dumps(alarm.get("definition") or {}, sort_keys=True)
    if path.queue and (queue := aws.queue_policy(path.queue)) is not None:  # EventBridge's sends refused: lost
        found["queue policy"] = _canonical(queue)
    if path.log_group and path.metric_filters:  # the CIS alarms' filters: deleted or redefined, the alarm is mute
        for each in aws.metric_filters(path.log_group, path.metric_filters):
            found[f"metric filter {each['filterName']}"] = json.dumps(each, sort_keys=True)
    return found


def _canonical(policy: str) -> str:
    return json.dumps(json.loads(policy), sort_keys=True, separators=(",", ":")) if policy else ""


def _policies(
    aws: Ports, config: Config, started: datetime, run: Invocation, deployed_at: datetime | None
) -> list[PathCheck]:
    """Each policy as deployed (recorded when first seen, and after a deployment CloudFormation confirms), or put
    back: a topic policy that denies the guardian's roles, EventBridge or CloudWatch drops alerts without a trace."""
    stored, _ = read_verified(aws, ALERT_PATH_KEY)
    live = policies(aws, config)
    recorded = str(stored.get("recorded_at", "")) if stored else ""
    if stored is None or (deployed_at is not None and recorded < (iso(deployed_at) or "")):
        by = "deployment" if stored is not None else "sweep"
        write_signed(aws, ALERT_PATH_KEY, alert_path_document(live, recorded_at=iso(run.clock()) or "", by=by))
        return [PathCheck("policies", "baseline_recorded")]
    checks = []
    for what, want in dict(stored["policies"]).items():
        if live.get(what) == want or (what.startswith(("alarm definition ", "queue ")) and what not in live):  # _alarms
            checks.append(PathCheck(what, "in_baseline"))
            continue
        step = _put_back(aws, config, what, want)
        actions, _ = run_steps([step], config.topic_region, what, run)
        healed = all(a.succeeded for a in actions) and policies(aws, config).get(what) == want
        changes = _changes(what, want, live.get(what))
        _alert(aws, config, what, (changes, tuple(actions)), started=started, run=run, healed=healed)
        checks.append(PathCheck(what, "healed" if healed else "heal_failed"))
    return checks


def _changes(what: str, want: str, have: str | None) -> tuple[Change, ...]:
    """What differs: a policy whole; an alarm's definition field by field (its threshold, its actions...)."""
    if not what.startswith(("alarm definition ", "metric filter ")):
        return (Change(what.replace(" ", "_"), want or None, have or None, Effect.WEAKENED),)
    if have is None:
        return (Change("exists", True, False, Effect.WEAKENED),)
    before, after = json.loads(want), json.loads(have)
    fields = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    return tuple(Change(k, before.get(k), after.get(k), Effect.WEAKENED) for k in fields)


def _put_back(aws: Ports, config: Config, what: str, value: str) -> Step:
    if what == "topic policy":
        return ("SetTopicAttributes", lambda: aws.set_topic_attribute("Policy", value))
    if what == "topic key":
        return ("SetTopicAttributes", lambda: aws.set_topic_attribute("KmsMasterKeyId", value))
    if what == "queue policy":
        return ("SetQueueAttributes", lambda: aws.set_queue_policy(config.alert_path.queue or "", value))
    if what.startswith("alarm definition "):
        return ("PutMetricAlarm", lambda: aws.put_alarm(json.loads(value)))
    if what.startswith("metric filter "):
        return ("PutMetricFilter", lambda: aws.put_metric_filter(config.alert_path.log_group or "", json.loads(value)))
    key_id = what.rsplit(" ", 1)[-1]
    [arn] = [a for a in config.alert_path.keys if a.endswith("/" + key_id)]
    return ("PutKeyPolicy", lambda: aws.put_key_policy(_key_ref(arn), value))


def _subscriptions(aws: Ports, config: Config, started: datetime, run: Invocation) -> list[PathCheck]:
    if not config.alert_path.emails:
        return []
    emails = [s for s in aws.subscriptions() if s["protocol"] in ("email", "email-json")]
    # One per address, a confirmed one over a pending one (which shows no filter): a second subscription left
    # pending beside a confirmed one whose filter drops everything never passes for the address (review 9).
    subscribed = {s["endpoint"].casefold(): s for s in sorted(emails, key=lambda s: s["arn"].startswith("arn:"))}
    checks = []
    for email in config.alert_path.emails:
        what = f"subscription {email}"
        found = subscribed.get(email.casefold())
        wanted = config.alert_path.filters.get(email)
        steps: list[Step] = []
        if found is None:
            changes = (Change("subscribed", True, False, Effect.WEAKENED),)
            steps.append(("Subscribe", partial(aws.subscribe, "email-json", email, wanted)))
        elif not _same_filter(found, wanted):
            # Any other filter than the deployed one: stricter drops alerts, looser mails what the team chose not to.
            changes = (Change("filter_policy", wanted, _shown(found), Effect.WEAKENED),)
            steps.append(("SetSubscriptionAttributes", partial(aws.set_filter_policy, found["arn"], wanted)))
        else:
            checks.append(PathCheck(what, "in_baseline"))
            continue
        actions, _ = run_steps(steps, config.topic_region, email, run)
        healed = all(a.succeeded for a in actions)
        _alert(aws, config, what, (changes, tuple(actions)), started=started, run=run, healed=healed)
        checks.append(PathCheck(what, "healed" if healed else "heal_failed"))
    found_now = unauthenticated(aws, config, subscribed.values(), started=started, run=run)  # the unsubscribe link
    found_now += pending(aws, config, subscribed.values(), started=started, run=run)  # mailed nothing yet
    return checks + [PathCheck(*check) for check in found_now]


def _same_filter(found: dict[str, Any], wanted: str | None) -> bool:
    """The subscription filters as deployed: the same policy (compared as JSON) on the message body, or none."""
    policy = found["filter"]
    if wanted is None:
        return policy in (None, "{}")
    try:
        same = policy is not None and json.loads(policy) == json.loads(wanted)
    except ValueError:
        return False
    return same and found.get("scope") == "MessageBody"


def _shown(found: dict[str, Any]) -> str | None:
    policy = found["filter"]
    return None if policy in (None, "{}") else f"{policy} on {found.get('scope') or 'MessageAttributes'}"


def _alarms(aws: Ports, config: Config, started: datetime, run: Invocation) -> list[PathCheck]:
    wanted = list(config.alert_path.alarms)
    found = {a["name"]: a for a in aws.alarms(wanted)}
    checks = []
    for name in wanted:
        what = f"alarm {name}"
        alarm = found.get(name)
        if alarm is None:
            _alert(aws, config, what, ((Change("exists", True, False, Effect.WEAKENED),), ()), started=started, run=run)
            checks.append(PathCheck(what, "deleted"))
        elif not alarm["actions_enabled"]:
            actions, _ = run_steps(
                [("EnableAlarmActions", lambda name=name: aws.enable_alarm_actions([name]))],  # type: ignore[misc]
                config.topic_region,
                name,
                run,
            )
            healed = all(a.succeeded for a in actions)
            changes = (Change("actions_enabled", True, False, Effect.WEAKENED),)
            _alert(aws, config, what, (changes, tuple(actions)), started=started, run=run, healed=healed)
            checks.append(PathCheck(what, "healed" if healed else "heal_failed"))
        else:
            checks.append(PathCheck(what, "in_baseline"))
    return checks


def _alert(
    aws: Ports,
    config: Config,
    what: str,
    found: tuple[tuple[Change, ...], tuple[ActionRecord, ...]],
    *,
    started: datetime,
    run: Invocation,
    healed: bool = False,
) -> None:
    """One CRITICAL alert for a break in the alert path (``found``: what changed, and what the sweep did)."""
    changes, _ = found
    fields = ", ".join(c.field for c in changes)
    if healed:
        reason = f"the alert path was broken ({what}: {fields}): put back by the sweep"
        if any(c.field == "subscribed" for c in changes):
            reason += "; AWS has mailed a new subscription confirmation, which must be confirmed"
    else:
        reason = f"the alert path is broken ({what}: {fields}) and could not be put back from here: redeploy the stack"
    deliver_own_finding(aws, config, run, what, reason=reason, found=found, healed=healed, started=started)
    LOG.error("the alert path was broken", extra={"what": what, "healed": healed})
