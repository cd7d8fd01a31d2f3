"""An EventBridge target input whose first line reads as a subject.

The self-protection alerts go from EventBridge straight to the topic, with no SNS Subject: a mail client shows
the body's first line, and a chat shows the first line of the message. The body stays one JSON document (the
subscriptions filter it on ``severity``), with a line break after its first field, the subject.
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_events as events
from aws_cdk.interfaces.aws_events import IRuleRef


class SubjectFirst(events.RuleTargetInput):
    """``inner`` (a JSON object whose first field is ``subject``), with a line break after that field."""

    def __init__(self, inner: events.RuleTargetInput) -> None:
        super().__init__()
        self._inner = inner

    def bind(self, rule: IRuleRef) -> events.RuleTargetInputProperties:
        bound = self._inner.bind(rule)
        text = Stack.of(rule).resolve(bound.input_template)
        if not isinstance(text, str) or not text.startswith('{"subject":'):
            raise ValueError("SubjectFirst needs a JSON object whose first field is subject")
        end = text.index('",', len('{"subject":"')) + 2  # the subject is text: its closing quote, then the comma
        return events.RuleTargetInputProperties(
            input_template=text[:end] + "\n" + text[end:], input_paths_map=bound.input_paths_map
        )
