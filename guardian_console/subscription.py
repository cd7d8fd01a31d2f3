"""``guardian confirm-subscription``: confirm an alert address's subscription with AWS credentials.

Clicking the link in AWS's confirmation email confirms the subscription without authentication, and then the
unsubscribe link at the foot of every alert mailed (made from the subscription's ARN, which anyone in the account can
list) unsubscribes it without credentials, where no SCP applies. Confirmed here instead (ConfirmSubscription with
``AuthenticateOnUnsubscribe``), unsubscribing needs credentials, which the SCP denies to all but break-glass. The
sweep notes a subscription confirmed by the link (MEDIUM, once a day).
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from guardian_console.errors import ConsoleError

if TYPE_CHECKING:
    import argparse
    from datetime import datetime

OK, WRONG = 0, 1
_TOPIC = re.compile(r"arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_.-]{1,256}")
_HOST = re.compile(r"sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?")
_TOKEN = re.compile(r"[A-Za-z0-9]{16,2048}")


def add_command(commands: Any, parent: argparse.ArgumentParser) -> None:
    """``confirm-subscription``, under ``commands`` (the CLI's subparsers)."""
    confirm = commands.add_parser(
        "confirm-subscription",
        parents=[parent],
        help="confirm an alert address with credentials, so its unsubscribe link needs them too",
    )
    confirm.add_argument(
        "link", help="the link in AWS's confirmation email (or the email-json message, or its Token with --topic-arn)"
    )
    confirm.add_argument("--topic-arn", help="the topic, when only the token is given")
    confirm.add_argument("--profile", help="the AWS profile to confirm with (the topic's account)")
    confirm.set_defaults(command=command)


def parse(text: str, topic_arn: str | None = None) -> tuple[str, str]:
    """(TopicArn, Token) from the confirmation link (``SubscribeURL`` or ``confirmation.html``), the email-json
    message, or a bare token with ``topic_arn``. Only an https link to SNS is taken: a link elsewhere is not AWS's."""
    text = text.strip()
    if text.startswith("{"):
        try:
            message = json.loads(text)
        except ValueError as exc:
            raise ConsoleError("the message is not JSON", "paste the whole email-json message, or its link") from exc
        topic, token = message.get("TopicArn"), message.get("Token")
    elif text.startswith(("https://", "http://")):
        parts = urlsplit(text)
        if parts.scheme != "https" or not _HOST.fullmatch(parts.hostname or ""):
            raise ConsoleError(f"{parts.hostname} is not SNS", "use the link AWS mailed (https://sns.<region>...)")
        query = parse_qs(parts.query)
        topic, token = (query.get(k, [None])[0] for k in ("TopicArn", "Token"))
    else:
        topic, token = topic_arn, text
    if not isinstance(topic, str) or not _TOPIC.fullmatch(topic):
        raise ConsoleError("no topic ARN in what was given", "paste the whole link, or pass --topic-arn")
    if not isinstance(token, str) or not _TOKEN.fullmatch(token):
        raise ConsoleError("no confirmation token in what was given", "paste the whole link from the email")
    return topic, token


def confirm(session: Any, topic: str, token: str) -> dict[str, Any]:
    """ConfirmSubscription with AuthenticateOnUnsubscribe, then what SNS says of the subscription."""
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415 - the console's own import

    sns = session.client("sns", region_name=topic.split(":")[3])
    try:
        arn = sns.confirm_subscription(TopicArn=topic, Token=token, AuthenticateOnUnsubscribe="true")["SubscriptionArn"]
        attributes = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise ConsoleError(
            f"SNS refused: {error.get('Code')}: {error.get('Message')}",
            "a token confirms once, within two days: unsubscribe the address with credentials, the next sweep "
            "subscribes it again, and confirm the new email with this command; the caller needs "
            "sns:ConfirmSubscription on the topic",
        ) from exc
    except BotoCoreError as exc:
        raise ConsoleError(f"cannot reach SNS: {exc}", "pass --profile, or set AWS_PROFILE") from exc
    return {
        "topic": topic,
        "subscription": arn,
        "endpoint": attributes.get("Endpoint"),
        "authenticated": str(attributes.get("ConfirmationWasAuthenticated", "")).lower() == "true",
    }


def command(args: argparse.Namespace, now: datetime) -> int:
    import boto3  # noqa: PLC0415 - the console's own import, never the Lambda's

    topic, token = parse(args.link, args.topic_arn)
    try:
        session = boto3.session.Session(profile_name=args.profile)
    except Exception as exc:
        raise ConsoleError(f"cannot use profile {args.profile!r}: {exc}", "check ~/.aws/config") from exc
    found = confirm(session, topic, token)
    if args.json:
        print(json.dumps(found, indent=2))
    else:
        print(f"confirmed {found['endpoint']} on {topic} with AuthenticateOnUnsubscribe: {found['subscription']}")
        if found["authenticated"]:
            print("  its unsubscribe link now needs AWS credentials")
        else:
            print("  SNS says it was confirmed WITHOUT authentication: unsubscribe it and confirm the new email here")
    return OK if found["authenticated"] else WRONG
