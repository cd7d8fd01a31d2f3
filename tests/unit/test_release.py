"""What legal and an upgrade need (issue 23): a licence, the version in one place, a changelog that names it, and a
security policy."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib

from guardian import __version__
from tests.support import REPO_ROOT


def test_the_licence_is_apache_2_and_the_package_says_so() -> None:
    licence = (REPO_ROOT / "LICENSE").read_text()
    assert "Apache License" in licence
    assert "Version 2.0, January 2004" in licence
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    assert (project["license"], project["license-files"]) == ("Apache-2.0", ["LICENSE"])


def test_the_version_lives_in_one_place() -> None:
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    assert "version" not in pyproject["project"]
    assert pyproject["project"]["dynamic"] == ["version"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "guardian.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", __version__)


def test_the_console_prints_the_version() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "guardian_console", "--version"],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
    )
    assert run.stdout.strip() == f"guardian {__version__}"


def test_the_changelog_names_the_version_and_keeps_an_unreleased_section() -> None:
    changelog = (REPO_ROOT / "CHANGELOG.md").read_text()
    assert "## [Unreleased]" in changelog
    assert f"## [{__version__}]" in changelog


def test_the_security_policy_says_how_to_report_and_what_is_in_scope() -> None:
    policy = (REPO_ROOT / "SECURITY.md").read_text()
    assert "## Reporting a vulnerability" in policy
    assert "## In scope" in policy
    assert "docs/threat-model.md" in policy
