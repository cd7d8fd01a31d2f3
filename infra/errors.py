"""The one error a deployment option can raise."""

from __future__ import annotations


class SettingsError(ValueError):
    """A context value is wrong; the message names the key, the value and what it accepts, on one line."""
