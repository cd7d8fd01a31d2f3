"""GUARDIAN_FORWARDER_RULES in the stack's compact form (the names sharing its prefix written once): with the watch
pack's fourth EventBridge rule the sweep's environment must still fit Lambda's 4 KB."""

from __future__ import annotations

import json

import pytest

from guardian.model.config_values import ConfigError, listed


def test_the_compact_form_reads_as_the_full_names() -> None:
    environ = {"GUARDIAN_FORWARDER_RULES": json.dumps({"prefix": "G-", "names": ["forward", "forward-watch-4"]})}
    assert listed(environ, "GUARDIAN_FORWARDER_RULES") == ("G-forward", "G-forward-watch-4")


def test_a_plain_list_still_reads_and_a_bad_compact_form_is_named() -> None:
    assert listed({"GUARDIAN_FORWARDER_RULES": '["G-forward"]'}, "GUARDIAN_FORWARDER_RULES") == ("G-forward",)
    with pytest.raises(ConfigError, match="GUARDIAN_FORWARDER_RULES must be"):
        listed({"GUARDIAN_FORWARDER_RULES": '{"prefix": "G-", "names": [1]}'}, "GUARDIAN_FORWARDER_RULES")
