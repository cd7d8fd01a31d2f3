"""``make synth|diff|deploy CDK_ARGS=...`` hands the CDK CLI the arguments as typed (issue 23): the documented
``make deploy CDK_ARGS='-c webhooks=[{...}]'`` used to fail with "webhooks is not valid JSON" (the shell line make
built ate the quotes and brace-expanded the JSON). The CLI here is a fake ``npx`` that records its argv: no synth."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.cdk_args import ArgsError, split

ROOT = Path(__file__).resolve().parents[2]
WEBHOOKS = '[{"name":"sec chat","url":"https://hooks.example.com/T0/B0/x?a=$HOME&b={c,d}","minimum":"HIGH"}]'
TYPED = f"-c webhooks={WEBHOOKS}  -c alertEmails=sec@example.com,soc@example.com -c 'stackName=Guardian-Two' --all"
EXPECTED = [
    "-c",
    f"webhooks={WEBHOOKS}",
    "-c",
    "alertEmails=sec@example.com,soc@example.com",
    "-c",
    "stackName=Guardian-Two",
    "--all",
]


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        (TYPED, EXPECTED),
        (
            '-c webhooks=[{"name": "a b", "url": "https://x/y"}]',
            ["-c", 'webhooks=[{"name": "a b", "url": "https://x/y"}]'],
        ),
        ('-c k="v w"', ["-c", 'k="v w"']),  # double quotes are kept: JSON needs them
        ("-c k='v w' -c e=''", ["-c", "k=v w", "-c", "e="]),  # single quotes group and go
        ('-c k=["a\\" ]b"]', ["-c", 'k=["a\\" ]b"]']),  # an escaped quote inside a JSON string
        ("-c k=$X -c g=* -c b={a,b}", ["-c", "k=$X", "-c", "g=*", "-c", "b={a,b}"]),
        ("", []),
    ],
)
def test_cdk_args_are_split_at_spaces_outside_json_and_quotes(typed: str, words: list[str]) -> None:
    assert split(typed) == words


@pytest.mark.parametrize("typed", ['-c k="open', "-c k='open", "-c webhooks=[{"])
def test_an_unclosed_quote_or_bracket_is_an_error(typed: str) -> None:
    with pytest.raises(ArgsError, match="CDK_ARGS has an unclosed"):
        split(typed)


@pytest.fixture
def fake_npx(tmp_path: Path) -> Path:
    """An ``npx`` first on PATH that writes its argv, as JSON, to argv.json."""
    out = tmp_path / "argv.json"
    npx = tmp_path / "bin" / "npx"
    npx.parent.mkdir()
    npx.write_text(f"#!{sys.executable}\nimport json, sys\nopen({str(out)!r}, 'w').write(json.dumps(sys.argv[1:]))\n")
    npx.chmod(0o755)
    return out


def make(target: str, *args: str, env: dict[str, str]) -> None:
    # -o: the targets that install the toolchain count as done (nothing is installed by a test)
    skip = ["-o", "setup", "-o", ".venv/.installed", "-o", "node_modules/.installed"]
    done = subprocess.run(
        [shutil.which("make") or "make", "-s", *skip, target, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
@pytest.mark.parametrize(
    ("target", "command"), [("synth", ["synth", "--quiet"]), ("diff", ["diff"]), ("deploy", ["deploy"])]
)
def test_make_passes_cdk_args_to_the_cdk_cli_intact(fake_npx: Path, target: str, command: list[str]) -> None:
    env = {**os.environ, "PATH": f"{fake_npx.parent / 'bin'}:{os.environ['PATH']}"}
    env.pop("CDK_ARGS", None)
    env.pop("CDK", None)
    make(target, f"CDK_ARGS={TYPED}", env=env)
    argv = json.loads(fake_npx.read_text())
    assert argv == ["cdk", *command, *EXPECTED]
    assert json.loads(argv[argv.index("-c") + 1].removeprefix("webhooks="))[0]["name"] == "sec chat"
    fake_npx.unlink()
    make(target, env={**env, "CDK_ARGS": TYPED})  # from the environment, the same
    assert json.loads(fake_npx.read_text()) == ["cdk", *command, *EXPECTED]
