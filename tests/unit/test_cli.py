"""The ``zebros`` command as a person runs it: a process of its own, its output as seen.

What a misconfigured or a plain start prints (one line, no traceback, no warning),
and what the image starts with (the Dockerfile, read: docker does not run here).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The console script's own call (pyproject: zebros = "cli:main").
ZEBROS = [sys.executable, "-c", "from cli import main; main()"]


def zebros(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``zebros args`` with only ``env`` of the ZEBROS_ settings (none of the suite's)."""
    given = {k: v for k, v in os.environ.items() if not k.startswith("ZEBROS_")}
    given |= {"PYTHONPATH": str(ROOT), **env}
    given.pop("PYTHONWARNINGS", None)  # the filters a person gets
    return subprocess.run(
        [*ZEBROS, *args], env=given, cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_prod_without_a_key_says_which_settings_to_set_in_one_line() -> None:
    done = zebros("schema", ZEBROS_ENV="prod")
    assert done.returncode != 0
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert "ZEBROS_AUTH__JWT_SECRET" in line
    assert "ZEBROS_AUTH__JWKS_URL" in line
    assert "Traceback" not in done.stderr


def test_a_malformed_setting_is_named_in_one_line() -> None:
    done = zebros("schema", ZEBROS_UPLOADS__MAX_BYTES="lots")
    assert done.returncode != 0
    [line] = done.stderr.splitlines()
    assert line.startswith("zebros: invalid settings: ZEBROS_UPLOADS__MAX_BYTES:")


def test_help_and_schema_print_no_warning() -> None:
    helped, printed = zebros("--help"), zebros("schema")
    assert (helped.returncode, printed.returncode) == (0, 0)
    assert "usage: zebros" in helped.stdout
    assert "type Query" in printed.stdout
    assert helped.stderr == ""
    assert printed.stderr == ""


def _instructions(dockerfile: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    joined = dockerfile.replace("\\\n", " ")
    lines = [line.strip() for line in joined.splitlines()]
    return [
        (word.upper(), rest.strip())
        for word, _, rest in (line.partition(" ") for line in lines)
        if word and not word.startswith("#")
    ]


def test_the_image_runs_in_prod_by_default() -> None:
    """dev would accept the public development JWT secret when no key is set."""
    steps = _instructions((ROOT / "Dockerfile").read_text())
    assert sum(1 for word, _ in steps if word == "FROM") == 1  # one stage: its ENV is the image's
    envs = [args for word, args in steps if word == "ENV" and "ZEBROS_ENV" in args]
    assert envs == ["ZEBROS_ENV=prod"]
    cmd = max(i for i, (word, _) in enumerate(steps) if word == "CMD")
    assert "ZEBROS_ENV" not in steps[cmd][1]  # not overridden where the server starts
