"""``guardian confirm-subscription`` takes the topic and token from whatever the team has of AWS's confirmation email:
the link (either form AWS mails), the email-json message, or the token alone; and nothing from a link not SNS's."""

from __future__ import annotations

import json

import pytest

from guardian_console.errors import ConsoleError
from guardian_console.subscription import parse

TOPIC = "arn:aws:sns:eu-west-1:123456789012:CloudTrailGuardian-AlertsTopic"
TOKEN = "2336412f37fb687f5d51e6e2425c464de12884d8d9b5c1f4" * 2


@pytest.mark.parametrize(
    "given",
    [
        f"https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn={TOPIC}&Token={TOKEN}",
        f"https://sns.eu-west-1.amazonaws.com/confirmation.html?TopicArn={TOPIC}&Token={TOKEN}&Endpoint=a@example.com",
        json.dumps({"Type": "SubscriptionConfirmation", "TopicArn": TOPIC, "Token": TOKEN, "SubscribeURL": "x"}),
        f"  https://sns.eu-west-1.amazonaws.com/?TopicArn={TOPIC.replace(':', '%3A')}&Token={TOKEN}\n",  # quoted
    ],
)
def test_the_topic_and_token_are_read_from_the_link_or_the_message(given: str) -> None:
    assert parse(given) == (TOPIC, TOKEN)


def test_a_token_alone_needs_the_topic() -> None:
    assert parse(TOKEN, TOPIC) == (TOPIC, TOKEN)
    with pytest.raises(ConsoleError, match="no topic ARN"):
        parse(TOKEN)


@pytest.mark.parametrize(
    "given",
    [
        f"http://sns.eu-west-1.amazonaws.com/?TopicArn={TOPIC}&Token={TOKEN}",
        f"https://sns.eu-west-1.amazonaws.com.evil.example/?TopicArn={TOPIC}&Token={TOKEN}",
        f"https://sns.eu-west-1.amazonaws.com/?TopicArn={TOPIC}",
        f"https://sns.eu-west-1.amazonaws.com/?TopicArn=arn:aws:s3:::bucket&Token={TOKEN}",
        "{not json",
    ],
)
def test_anything_else_is_refused(given: str) -> None:
    with pytest.raises(ConsoleError):
        parse(given)
