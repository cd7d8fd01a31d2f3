"""SNS's confirmation of an email subscription, which moto skips (moto confirms every subscription at once, with
``ConfirmationWasAuthenticated`` true, and its ConfirmSubscription checks no token).

While :func:`sns_confirmations` lasts (moto in this process): :func:`confirmation_link` is what AWS mails a new
email-json subscription (its ``SubscribeURL``, with a token of its own); :func:`click` is the team clicking it (no
credentials: confirmed without authentication); ConfirmSubscription with that token confirms it, authenticated when
``AuthenticateOnUnsubscribe`` is ``true`` (the API reference: "only the topic owner and the subscription owner can
unsubscribe the endpoint. The unsubscribe action requires AWS authentication"); :func:`unsubscribe_link` is anyone
opening the unsubscribe link of an alert mailed (no credentials), which AWS then refuses.

Test and simulation only.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

from moto.core.responses import ActionResult
from moto.sns.exceptions import SNSInvalidParameter
from moto.sns.models import Subscription, sns_backends
from moto.sns.responses import SNSResponse

_TOKENS: dict[str, str] = {}  # token -> the subscription's ARN, while ``sns_confirmations`` lasts


def _subscription(arn: str) -> Subscription:
    _, _, _, region, account, *_ = arn.split(":")
    return sns_backends[account][region].subscriptions[arn]


def confirmation_link(subscription_arn: str) -> str:
    """The link in the confirmation email AWS sends the subscription's address (a fresh token each time)."""
    subscription = _subscription(subscription_arn)
    token = secrets.token_hex(32)
    _TOKENS[token] = subscription_arn
    topic = subscription.topic.arn
    region = topic.split(":")[3]
    return f"https://sns.{region}.amazonaws.com/?Action=ConfirmSubscription&TopicArn={quote(topic)}&Token={token}"


def click(link: str) -> None:
    """The team clicks the link: SNS confirms it without authentication."""
    token = link.rsplit("Token=", 1)[-1]
    _subscription(_TOKENS[token]).attributes["ConfirmationWasAuthenticated"] = False


def unsubscribe_link(subscription_arn: str) -> bool:
    """Anyone opens the unsubscribe link (no credentials): True if SNS unsubscribed the address."""
    subscription = _subscription(subscription_arn)
    if subscription.attributes.get("ConfirmationWasAuthenticated") is not False:
        return False  # confirmed with AuthenticateOnUnsubscribe: AWS asks for credentials
    _, _, _, region, account, *_ = subscription_arn.split(":")
    sns_backends[account][region].unsubscribe(subscription_arn)
    return True


@contextmanager
def sns_confirmations() -> Iterator[None]:
    """ConfirmSubscription as SNS answers it: the token must be one mailed, and AuthenticateOnUnsubscribe decides."""
    original = SNSResponse.confirm_subscription

    def confirm_subscription(self: SNSResponse) -> ActionResult:
        arn = _TOKENS.get(str(self._get_param("Token")))
        if arn is None or _subscription(arn).topic.arn != self._get_param("TopicArn"):
            raise SNSInvalidParameter("Invalid token")
        authenticated = str(self._get_param("AuthenticateOnUnsubscribe", "false")).lower() == "true"
        _subscription(arn).attributes["ConfirmationWasAuthenticated"] = authenticated
        answer: dict[str, Any] = {"SubscriptionArn": arn}
        return ActionResult(answer)

    SNSResponse.confirm_subscription = confirm_subscription  # type: ignore[method-assign]
    try:
        yield
    finally:
        _TOKENS.clear()
        SNSResponse.confirm_subscription = original  # type: ignore[method-assign]
