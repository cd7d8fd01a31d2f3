"""What leaves the alert path weaker without breaking it, and only the team can fix: MEDIUM, mailed once a day while
it lasts (at once when what is found changes), never every sweep.

- An alert address (``alertEmails``) whose subscription was confirmed by the email's link
  (``ConfirmationWasAuthenticated`` false, read with the filter policy the sweep reads anyway: no request more):
  its unsubscribe link, in every alert mailed and made from the subscription's ARN, which anyone in the account can
  list, needs no credentials, so no SCP stops it. Confirmed with ``guardian confirm-subscription``
  (AuthenticateOnUnsubscribe), Unsubscribe needs credentials, which the SCP denies.
- An alert address whose subscription is still pending (``PendingConfirmation``): AWS mails it nothing until the
  confirmation is followed, and deletes it unconfirmed after three days (then the sweep subscribes it again).
- A chat webhook's own secret (``secretArn``) without the tag ``cloudtrail-guardian=<stackName>``: the SCP, keyed on
  that tag, does not cover it (:mod:`guardian.flows.webhook_secrets`).

Once a day: the record's id is the day's and what was found, so the evidence store (write-once) tells a cold start
it went out already; a warm one remembers it here and sends nothing.
"""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING, Any

from guardian.flows.deliver import AlertNotPublished, deliver
from guardian.model.changes import Change, Effect
from guardian.model.decide import Decision
from guardian.model.findings import found_event
from guardian.model.results import Result
from guardian.model.rules import SWEEP_RULE, Action, Outcome, Severity

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from datetime import datetime

    from guardian.model.config import Config
    from guardian.ports.calls import Delivery
    from guardian.ports.invocation import Invocation

LOG = logging.getLogger(__name__)
_SENT: set[str] = set()  # the records this process delivered: while warm, a note goes out once a day


def note(
    aws: Delivery,
    config: Config,
    run: Invocation,
    *,
    what: str,
    change: Change,
    reason: str,
    started: datetime,
) -> str:
    """One MEDIUM alert about ``what`` per day and per finding; its status for the sweep's summary."""
    found = f"{what}\n{change.field}\n{change.after}"
    digest = hashlib.sha256(found.encode("utf-8", "backslashreplace")).hexdigest()[:16]
    event_id = f"sweep-{started:%Y%m%d}-{config.topic_region}-alert-path-note-{digest}"
    if event_id in _SENT:
        return "noted"
    event = found_event(
        event_id,
        account_id=config.account_id,
        region=config.topic_region,
        detected_at=started,
        raw={"alert_path_note": what},
    )
    decision = Decision(Action.ALERT, Outcome.ALERTED, Severity.MEDIUM, reason, SWEEP_RULE)
    result = Result(event, decision, Outcome.ALERTED, Severity.MEDIUM, changes=(change,))
    try:
        deliver(result, aws, config, run)
    except AlertNotPublished as exc:  # its security-account copy went out with "alert path blocked"
        LOG.error("an alert path note was refused", extra={"what": what, "error": str(exc)})
        return "noted"
    _SENT.add(event_id)
    LOG.warning("alert path note", extra={"what": what, "field": change.field})
    return "noted"


def unauthenticated(
    aws: Delivery, config: Config, subscribed: Iterable[dict[str, Any]], *, started: datetime, run: Invocation
) -> list[tuple[str, str]]:
    """(what, "noted") for each alert address whose subscription was confirmed without authentication."""
    checks = []
    for found in _addresses(config, subscribed, lambda s: s.get("authenticated") is False):  # pending: None
        what = f"subscription {found['endpoint']} confirmed without authentication"
        reason = (
            f"the subscription of {found['endpoint']} to the alerts topic was confirmed by the email's link, so its "
            "unsubscribe link (in every alert mailed) works without AWS credentials: no SCP can stop it. To close "
            f"it: unsubscribe it with credentials (aws sns unsubscribe --subscription-arn {found['arn']}); the next "
            "sweep subscribes the address again; confirm the new email with: guardian confirm-subscription '<the "
            "link in the email>' (AuthenticateOnUnsubscribe)"
        )
        change = Change("confirmation_was_authenticated", True, False, Effect.WEAKENED)
        checks.append((what, note(aws, config, run, what=what, change=change, reason=reason, started=started)))
    return checks


def pending(
    aws: Delivery, config: Config, subscribed: Iterable[dict[str, Any]], *, started: datetime, run: Invocation
) -> list[tuple[str, str]]:
    """(what, "noted") for each alert address whose subscription awaits its confirmation: mailed nothing meanwhile."""
    checks = []
    for found in _addresses(config, subscribed, lambda s: s["arn"] == "PendingConfirmation"):
        what = f"subscription {found['endpoint']} pending confirmation"
        reason = (
            f"the subscription of {found['endpoint']} to the alerts topic awaits its confirmation: no alert is mailed "
            "to it until then, and AWS deletes it unconfirmed after three days (the sweep then subscribes it again). "
            "Confirm it with: guardian confirm-subscription '<the link in AWS's email>' (AuthenticateOnUnsubscribe)"
        )
        change = Change("subscription_confirmed", True, False, Effect.WEAKENED)
        checks.append((what, note(aws, config, run, what=what, change=change, reason=reason, started=started)))
    return checks


def _addresses(
    config: Config, subscribed: Iterable[dict[str, Any]], keep: Callable[[dict[str, Any]], bool]
) -> list[dict[str, Any]]:
    """The subscriptions of the sweep's alert addresses (``alertEmails``) that ``keep`` picks."""
    wanted = {email.casefold() for email in config.alert_path.emails}
    return [s for s in subscribed if str(s["endpoint"]).casefold() in wanted and keep(s)]
