"""Control Tower aware: a change Control Tower itself makes to the trail it manages is a deployment, not tampering.

Pure. On only where the deployment says so (``controlTower``: the management account's id reaches the function as
``GUARDIAN_CONTROL_TOWER``): a role named like Control Tower's in an account without Control Tower is nobody's.

Facts (Control Tower User Guide): the landing zone's trail is ``aws-controltower-BaselineCloudTrail`` ("About
logging in AWS Control Tower": from landing zone 3.0 an organization trail in the management account; before it, a
trail in each enrolled account, made through the ``AWSControlTowerExecution`` role). Control Tower acts in an
enrolled account through ``AWSControlTowerExecution`` ("How AWS Control Tower works with roles"), at the path ``/``,
which trusts the management account as a whole ("Prerequisites for enrollment"): any principal there allowed
sts:AssumeRole can become it, and GRCLOUDTRAILENABLED lets that role change ``trail/aws-controltower-*`` whoever
assumed it. In the management account Control Tower also acts as ``service-role/AWSControlTowerAdmin``, trusted by
controltower.amazonaws.com only. So the role alone proves nothing: Control Tower deploys through CloudFormation
StackSets and its own service, and CloudTrail records a call an AWS service makes with that service's name in
``userIdentity.invokedBy`` and ``sourceIPAddress`` (CloudTrail User Guide, "CloudTrail userIdentity element",
"CloudTrail record contents"), fields the caller cannot set. A change is Control Tower's only with one of
:data:`SERVICES` there, in the event and in CloudTrail's own record that confirms it (guardian.model.approvals).
AWSControlTowerStackSetRole only assumes the execution role, and the service-linked role's policy has no CloudTrail
action: neither is Control Tower's here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from guardian.model.events import CloudTrailEvent
    from guardian.model.refs import TrailRef
    from guardian.model.trail import TrailState

TRAIL_NAME = "aws-controltower-BaselineCloudTrail"
EXECUTION_ROLE = "AWSControlTowerExecution"  # in every enrolled account (and where Control Tower deploys stacks)
ADMIN_ROLE = "service-role/AWSControlTowerAdmin"  # in the management account only
SERVICES = ("cloudformation.amazonaws.com", "controltower.amazonaws.com")  # how Control Tower's calls reach a trail
WEAKENING = ("StopLogging", "DeleteTrail")  # and a PutEventSelectors below the floor (guardian.model.floor)
# Control Tower's lifecycle events (eventSource controltower.amazonaws.com, "Lifecycle events in AWS Control Tower"):
# the watch rules control-tower-landing-zone-* alert them as context for the changes to the trail they bring.
SELECTORS = ("event_selectors", "advanced_event_selectors")  # kept together: one selects what the other does not
LIFECYCLE_EVENTS = ("SetupLandingZone", "UpdateLandingZone", "ResetLandingZone", "DeleteLandingZone")
DETECT = "detect"  # GUARDIAN_CONTROL_TOWER where ``controlTower`` is auto without managementAccountId


def detected(trails: Iterable[Mapping[str, Any]], account: str) -> str | None:
    """The landing zone's management account, from the trails one Region lists with shadow trails, or None:
    :data:`TRAIL_NAME`, an organization trail whose ARN names another account. Only an organization's management
    account owns an organization trail (a delegated administrator's is made in its name), and a shadow trail's ARN
    names its owner; any trail an insider here makes, an organization trail none can, names this account: never
    taken. The management account's own trail names itself: there ``managementAccountId`` says it."""
    for trail in trails:
        owner = (str(trail.get("TrailARN", "")).split(":")[4:5] or [""])[0]
        ours = trail.get("Name") == TRAIL_NAME and trail.get("IsOrganizationTrail") is True
        if ours and owner != account and len(owner) == 12 and owner.isdigit():
            return owner
    return None


@dataclass(frozen=True)
class Deployment:
    """Control Tower's role changed the trail it manages. ``by_service``: through CloudFormation or Control Tower
    itself (a deployment); else a person who assumed the role, judged as anyone. ``weakens``: the change leaves
    logging weaker than the floor (stopped, deleted, management events dropped): alerted at the row's severity."""

    reason: str
    by_service: bool
    weakens: bool


def through_service(invoked_by: object, source_ip: object) -> bool:
    """Whether CloudTrail records the call as made through Control Tower's services (:data:`SERVICES`)."""
    return invoked_by in SERVICES or source_ip in SERVICES


@dataclass(frozen=True)
class ControlTower:
    """The landing zone's management account, and the partition its ARNs are in."""

    management_account: str
    partition: str = "aws"

    @property
    def organization_trail_arn(self) -> str:
        """The landing zone's organization trail (3.0 on); its home Region is the landing zone's: any Region."""
        return f"arn:{self.partition}:cloudtrail:*:{self.management_account}:trail/{TRAIL_NAME}"

    def manages(self, trail: TrailRef, account: str | None) -> bool:
        """The trail Control Tower manages: its name, in this account (an enrolled account's trail, before landing
        zone 3.0) or in the management account (the organization trail). By name or ARN as the call gave it."""
        return trail.name == TRAIL_NAME and (trail.account_id or account) in (account, self.management_account)

    def roles(self, account: str) -> tuple[str, ...]:
        """The exact roles, at their exact paths, Control Tower changes a trail of ``account`` through."""
        execution = f"arn:{self.partition}:iam::{account}:role/{EXECUTION_ROLE}"
        if account != self.management_account:
            return (execution,)
        return (execution, f"arn:{self.partition}:iam::{account}:role/{ADMIN_ROLE}")

    def role_of(self, event: CloudTrailEvent, account: str) -> str | None:
        """Control Tower's role the caller acted as, or None. Known by the session's issuer, the role's ARN with its
        path (a session's own ARN has none: ``role/x/AWSControlTowerExecution``'s looks the same), or the role's
        ARN itself; the session, if given, of that role in that account."""
        actor = event.actor
        issuer = (actor.session_issuer_arn or actor.arn or "").casefold()
        role = next((r for r in self.roles(account) if r.casefold() == issuer), None)
        if role is None or not actor.arn or actor.arn.casefold() == issuer:
            return role
        session = f"arn:{self.partition}:sts::{account}:assumed-role/{role.rsplit('/', 1)[-1]}/".casefold()
        return role if actor.arn.casefold().startswith(session) else None

    def deployment(
        self, event: CloudTrailEvent, trail: TrailRef, healable: tuple[str | None, ...]
    ) -> Deployment | None:
        """What ``event`` is when Control Tower's role changed the trail Control Tower manages; None when it is
        not that, and is judged as anyone's. ``healable``: the accounts whose trails the guardian acts on."""
        account = trail.account_id or event.account_id
        if account is None or account not in healable or not self.manages(trail, event.account_id):
            return None
        role = self.role_of(event, account)
        if role is None:
            return None
        name = role.rsplit("/", 1)[-1]
        if not through_service(event.actor.invoked_by, event.source_ip):
            why = (
                f"{name} was used directly by {event.actor.display} (CloudTrail records neither CloudFormation nor "
                "Control Tower as invoking it): not a Control Tower deployment"
            )
            return Deployment(why, by_service=False, weakens=False)
        weakens = event.event_name in WEAKENING or _below_floor(event)
        what = "weakens logging below the floor: alerted at its own severity" if weakens else "alerted"
        why = (
            f"a Control Tower deployment: {name} changed the trail Control Tower manages ({trail.name}) through "
            f"{event.actor.invoked_by or event.source_ip}; it {what}, not undone at once (Control Tower may be "
            "mid-update); once CloudTrail's own record confirms it, it becomes the baseline, never below the floor"
        )
        return Deployment(why, by_service=True, weakens=weakens)

    def adopted(self, baseline: TrailState, approved: TrailState) -> tuple[TrailState, tuple[str, ...]]:
        """What of Control Tower's confirmed change becomes the baseline: all of it that is not weaker than
        ``baseline``; what is weaker (a bucket moved, validation off, a Region dropped: the execution role can be
        assumed from the management account and driven through CloudFormation, review 7) stays as it was, named,
        and the sweep puts it back."""
        from guardian.model.changes import Effect  # noqa: PLC0415 - only on an approval's confirmation
        from guardian.model.trail import compare  # noqa: PLC0415

        weaker = tuple(c.field for c in compare(baseline, approved) if c.effect is Effect.WEAKENED)
        kept = {f for f in weaker if f not in SELECTORS} | (set(SELECTORS) if set(weaker) & set(SELECTORS) else set())
        return replace(approved, **{f: getattr(baseline, f) for f in sorted(kept)}), weaker

    def sole_organization_trail(self, baseline: TrailState, covered: bool) -> TrailState:
        """The trail to recreate from ``baseline`` (it was deleted): never a second organization trail beside Control
        Tower's live one (``covered``): any other is recreated an account trail. Control Tower's own is restored as
        itself. Only ever for a recreation, never in judging what is weaker."""
        if not covered or not baseline.organization or baseline.name == TRAIL_NAME:
            return baseline
        return replace(baseline, organization=False)


def _below_floor(event: CloudTrailEvent) -> bool:
    """A PutEventSelectors whose selectors record fewer management events than the floor; unreadable: assumed so."""
    if event.event_name != "PutEventSelectors":
        return False
    from guardian.model.floor import below_floor  # noqa: PLC0415 - only for Control Tower's selectors
    from guardian.model.trail import TrailState  # noqa: PLC0415

    params = event.request_parameters or {}
    classic, advanced = params.get("eventSelectors"), params.get("advancedEventSelectors")
    if not isinstance(classic, list) and not isinstance(advanced, list):
        return True
    state = TrailState(
        TRAIL_NAME,
        "",
        "",
        logging=True,
        s3_bucket="",
        event_selectors=tuple(_api(s) for s in classic) if isinstance(classic, list) else None,
        advanced_event_selectors=tuple(_api(s) for s in advanced) if isinstance(advanced, list) else None,
    )
    return bool(below_floor(state))


def _api(value: Any) -> Any:
    """A selector as CloudTrail records it (``readWriteType``) in the API's shape (``ReadWriteType``)."""
    if isinstance(value, dict):
        return {k[:1].upper() + k[1:]: _api(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_api(v) for v in value]
    return value
