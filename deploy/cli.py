"""``zebros iac [--format yaml|json] [--output FILE]``: the template, printed or written."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path
from typing import Any, Literal, TextIO

from deploy.cfn import Json
from deploy.options import CAPACITY_MODES, CapacityMode, Options
from deploy.template import template

Format = Literal["yaml", "json"]
FORMATS: tuple[Format, ...] = ("yaml", "json")


def render(document: Json, format: Format) -> str:
    """JSON, or YAML with the long-form intrinsics (``Ref:``, ``Fn::Sub:``): both are
    templates CloudFormation reads as they are; YAML needs PyYAML."""
    if format == "json":
        return json.dumps(document, indent=2) + "\n"
    try:
        yaml: Any = importlib.import_module("yaml")  # untyped, and optional
    except ImportError as exc:
        raise SystemExit("zebros iac --format yaml needs PyYAML; use --format json") from exc
    # A copy without shared objects: PyYAML would write those as aliases (&id001),
    # which CloudFormation refuses.
    unshared = json.loads(json.dumps(document))
    dumped: str = yaml.safe_dump(unshared, sort_keys=False, width=100, allow_unicode=True)
    return dumped


def write(
    output: Path | TextIO | None, format: Format = "yaml", options: Options | None = None
) -> None:
    """The template into ``output``: a path, an open text stream, or stdout (None)."""
    text = render(template(options), format)
    if isinstance(output, Path):
        output.write_text(text, encoding="utf-8")
        return
    (output or sys.stdout).write(text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``iac`` subcommand's options."""
    parser.add_argument("--format", choices=FORMATS, default="yaml")
    parser.add_argument("--output", "-o", type=Path, default=None, help="file (default: stdout)")
    parser.add_argument(
        "--capacity-mode",
        choices=CAPACITY_MODES,
        default="PAY_PER_REQUEST",
        help="default of the stack's CapacityMode parameter",
    )


def run(args: argparse.Namespace) -> int:
    """``zebros iac``, from the parsed arguments of :func:`add_arguments`."""
    mode: CapacityMode = args.capacity_mode
    write(args.output, args.format, Options(capacity_mode=mode))
    return 0
