"""E-mail templates rendered in Jinja2's sandbox, over a documented set of fields.

What a template can reach is exactly ``FIELDS``: ``{{ contact.firstName }}``,
``{{ customer.companyName }}``, ``{{ opportunity.value }}``, ``{{ sender.username }}``
and ``{{ today }}``, each a string (or empty). Every other name or attribute is
an error, not an empty string, and no attribute of anything else is looked up
at all (``getattr`` and ``getitem`` are ours), so no method, no dunder and no
object graph is reachable; the globals are empty (no ``range``, ``cycler``,
``namespace``), and the sandbox refuses what it refuses anyway.

Limits (README "E-mail templates"): a body of at most ``MAX_BODY`` characters,
an answer of at most ``MAX_OUTPUT``, and ``RENDER_S`` of rendering, checked at
every call, every ``*``, every piece of output, and every line the compiled
template runs (a trace function on the template's own frames: nested loops over
a literal that print nothing and call nothing are stopped too).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from types import FrameType
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, meta
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from resolvers.errors import BadUserInput

MAX_BODY = 20_000
MAX_SUBJECT = 300
MAX_OUTPUT = 100_000
RENDER_S = 0.1
FIELDS: dict[str, tuple[str, ...]] = {
    "contact": ("firstName", "lastName", "email", "phone", "position"),
    "customer": ("companyName", "industry", "tier"),
    "opportunity": ("title", "value", "stage", "expectedCloseDate"),
    "sender": ("username", "email"),
}
PLAIN = ("today",)


class Fields:
    """One group of fields (``contact``): the names it has, and nothing else."""

    def __init__(self, group: str, values: Mapping[str, str]) -> None:
        self.group, self.values = group, dict(values)

    def lookup(self, name: Any) -> str:
        if name not in FIELDS[self.group]:
            raise UndefinedError(f"{self.group}.{name} is not a template field")
        return self.values.get(name, "")

    def __str__(self) -> str:
        raise UndefinedError(f"{self.group} is a group of fields: name one ({self.group}.x)")


class TooMuch(SecurityError):
    pass


class Environment(SandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**"})

    def __init__(self) -> None:
        super().__init__(undefined=StrictUndefined, autoescape=False)
        self.globals.clear()
        self.deadline = 0.0

    def check(self) -> None:
        if time.monotonic() > self.deadline:
            raise TooMuch(f"rendering took longer than {RENDER_S * 1000:.0f} ms")

    def getattr(self, obj: Any, attribute: str) -> Any:
        self.check()
        if isinstance(obj, Fields):
            return obj.lookup(attribute)
        raise UndefinedError(f"{attribute!r} is not a template field")

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(obj, Fields):
            return obj.lookup(argument)
        if isinstance(obj, str) and isinstance(argument, int | slice):
            return obj[argument]  # a character or a slice of a field's text
        raise UndefinedError(f"{argument!r} is not a template field")

    def call(self, context: Any, obj: Any, *args: Any, **kwargs: Any) -> Any:
        self.check()
        return super().call(context, obj, *args, **kwargs)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        self.check()
        if operator == "**":
            raise TooMuch("** is not allowed in templates")
        texts = [len(x) for x in (left, right) if isinstance(x, str | list)]
        counts = [x for x in (left, right) if isinstance(x, int)]
        if texts and counts and texts[0] * counts[0] > MAX_OUTPUT:
            raise TooMuch(f"the text would be longer than {MAX_OUTPUT} characters")
        return super().call_binop(context, operator, left, right)


# One environment for the process: a render runs start to end without awaiting, so
# no two renders interleave on the event loop and ``deadline`` is always its own.
_ENV = Environment()


def check(body: str, field: str, limit: int = MAX_BODY) -> None:
    """BAD_USER_INPUT naming ``field`` for a template that could never render."""
    if len(body) > limit:
        raise BadUserInput(f"{field} is longer than {limit} characters", field)
    try:
        names = meta.find_undeclared_variables(_ENV.parse(body))
    except TemplateSyntaxError as exc:
        raise BadUserInput(f"{field}: line {exc.lineno}: {exc.message}", field) from exc
    unknown = sorted(n for n in names if n not in FIELDS and n not in PLAIN)
    if unknown:
        known = ", ".join([*FIELDS, *PLAIN])
        raise BadUserInput(f"{field}: unknown name(s) {', '.join(unknown)}; known: {known}", field)


def _traced(frame: FrameType, event: str, arg: Any) -> Any:
    """Trace the compiled template's frames only; each line checks the deadline."""
    if frame.f_code.co_filename != "<template>":
        return None
    _ENV.check()
    return _traced


def render(body: str, values: Mapping[str, Any], field: str) -> str:
    """The text, or BAD_USER_INPUT naming the template's ``field`` (subject, body)."""
    _ENV.deadline = time.monotonic() + RENDER_S
    kept = sys.gettrace()
    sys.settrace(_traced)
    try:
        return _render(body, values, field)
    finally:
        sys.settrace(kept)


def _render(body: str, values: Mapping[str, Any], field: str) -> str:
    out: list[str] = []
    size = 0
    try:
        for piece in _ENV.from_string(body).generate(values):
            size += len(piece)
            if size > MAX_OUTPUT:
                raise TooMuch(f"the text would be longer than {MAX_OUTPUT} characters")
            _ENV.check()
            out.append(piece)
    except (UndefinedError, SecurityError, TemplateSyntaxError, TypeError, ValueError) as exc:
        raise BadUserInput(f"{field}: {exc}", field) from exc
    except RecursionError as exc:
        raise BadUserInput(f"{field}: the template recursed too deep", field) from exc
    return "".join(out)
