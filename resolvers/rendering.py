"""E-mail templates rendered in Jinja2's sandbox, over a documented set of fields.

What a template can reach is exactly ``FIELDS``: ``{{ contact.firstName }}``,
``{{ customer.companyName }}``, ``{{ opportunity.value }}``, ``{{ sender.username }}``
and ``{{ today }}``, each a string (or empty). Every other name or attribute is
an error, not an empty string, and no attribute of anything else is looked up
at all (``getattr`` and ``getitem`` are ours), so no method, no dunder and no
object graph is reachable; the globals are empty (no ``range``, ``cycler``,
``namespace``), only the filters of ``FILTERS`` exist, and the sandbox refuses
what it refuses anyway.

Limits (README "E-mail templates"), in three layers:

- at save (``check``, run in a child as a render is: ``check_saved``): a body of
  at most ``MAX_BODY`` characters, parsed, then its syntax tree refused if it
  formats with ``%`` or ``**``, names a filter not in ``FILTERS``, or gives a
  width-taking filter anything but a number up to ``MAX_WIDTH``
  (``template_limits.py``);
- while rendering: every value an operator, a ``~`` or a filter makes is at most
  ``MAX_VALUE`` characters (or items), checked before the work where its size
  can be foreseen; the answer at most ``MAX_OUTPUT``; ``RENDER_S`` of rendering,
  checked at every call, operator, piece of output and line the template runs;
- the render runs in a child process (``isolation.py``) killed after
  ``HARD_S`` or past ``MEMORY`` bytes: a template saved before these checks, or
  one they missed, can hold only its own child, never the event loop.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from types import FrameType
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, UndefinedError, meta
from jinja2.sandbox import SandboxedEnvironment

from resolvers import template_limits as limits
from resolvers.errors import BadUserInput
from resolvers.isolation import Overrun, isolated
from resolvers.template_limits import MAX_VALUE, TooMuch

MAX_BODY = 20_000
MAX_SUBJECT = 300
MAX_OUTPUT = MAX_VALUE
RENDER_S = 0.1
HARD_S = 1.0  # the child's end: RENDER_S, plus the fork and compiling the template
MEMORY = 128 << 20  # the child's allowance above what it inherits
FIELDS: dict[str, tuple[str, ...]] = {
    "contact": ("firstName", "lastName", "email", "phone", "position"),
    "customer": ("companyName", "industry", "tier"),
    "opportunity": ("title", "value", "stage", "expectedCloseDate"),
    "sender": ("username", "email"),
}
PLAIN = ("today",)


class Fields:
    """One group of fields (``contact``): the names it has, and nothing else. The
    names a render looks up are kept (``read``): they are what the audit records."""

    def __init__(self, group: str, values: Mapping[str, str], present: bool = True) -> None:
        self.group, self.values, self.present = group, dict(values), present
        self.read: set[str] = set()

    def lookup(self, name: Any) -> str:
        if name not in FIELDS[self.group]:
            raise UndefinedError(f"{self.group}.{name} is not a template field")
        if self.present:
            self.read.add(name)
        return self.values.get(name, "")

    def __str__(self) -> str:
        raise UndefinedError(f"{self.group} is a group of fields: name one ({self.group}.x)")

    def __repr__(self) -> str:  # never the object's address (``|pprint`` of old templates)
        return f"<{self.group}>"


class Environment(SandboxedEnvironment):
    intercepted_binops = frozenset({"+", "-", "*", "/", "//", "%", "**"})
    code_generator_class = limits.Generator

    def __init__(self) -> None:
        super().__init__(undefined=StrictUndefined, autoescape=False)
        self.globals.clear()
        self.filters = limits.filters(self.filters, self.check)
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
        limits.binop(operator, left, right)
        return limits.bounded(super().call_binop(context, operator, left, right))

    def joined(self, parts: tuple[Any, ...]) -> str:
        """``a ~ b``: each part bounded before it is made text, and the whole after."""
        self.check()
        for part in parts:
            limits.bounded(part)
        text = "".join(str(p) for p in parts)
        limits.bounded(text)
        return text


# One environment for the process: a render runs start to end without awaiting (in
# its own child), so no two renders interleave and ``deadline`` is always its own.
_ENV = Environment()


def check(body: str, field: str, limit: int = MAX_BODY) -> None:
    """BAD_USER_INPUT naming ``field`` for a template that could never render, or that
    uses what ``limits.refused`` refuses. The size is checked before the parse, and
    the parse bounds the tree the walk goes through."""
    if len(body) > limit:
        raise BadUserInput(f"{field} is longer than {limit} characters", field)
    if field == "subject" and ("\r" in body or "\n" in body):
        raise BadUserInput("subject must be one line (no CR or LF)", field)
    try:
        tree = _ENV.parse(body)
        problem = limits.refused(tree) or _unknown(meta.find_undeclared_variables(tree))
    except TemplateSyntaxError as exc:
        raise BadUserInput(f"{field}: line {exc.lineno}: {exc.message}", field) from exc
    except (RecursionError, ValueError, MemoryError) as exc:
        raise BadUserInput(f"{field}: the template is nested too deep or too large", field) from exc
    if problem:
        raise BadUserInput(f"{field}: {problem}", field)


async def check_saved(subject: str, body: str) -> None:
    """``check`` of a template's two texts, in a child (``isolated``): parsing and
    compiling a body of ``MAX_BODY`` characters took up to a second on the loop."""
    try:
        out = json.loads(await isolated(partial(_checked, subject, body), HARD_S, MEMORY))
    except Overrun as exc:
        raise BadUserInput(f"body: checking the template stopped: it {exc}", "body") from exc
    if "error" in out:
        raise BadUserInput(out["error"], out["field"])


def _checked(subject: str, body: str) -> bytes:
    """In the child: ``{}``, or the first text's error as JSON."""
    try:
        check(subject, "subject", MAX_SUBJECT)
        check(body, "body")
    except BadUserInput as exc:
        return json.dumps({"error": str(exc), "field": exc.extensions["field"]}).encode()
    return b"{}"


def _unknown(names: set[str]) -> str | None:
    unknown = sorted(n for n in names if n not in FIELDS and n not in PLAIN)
    if not unknown:
        return None
    return f"unknown name(s) {', '.join(unknown)}; known: {', '.join([*FIELDS, *PLAIN])}"


@dataclass
class Rendered:
    subject: str
    body: str
    read: dict[str, list[str]] = field(default_factory=dict)  # group: field names looked up


async def render(subject: str, body: str, values: Mapping[str, Any]) -> Rendered:
    """Both texts, rendered in a child process; BAD_USER_INPUT naming the failing one."""
    try:
        out = json.loads(await isolated(partial(_rendered, subject, body, values), HARD_S, MEMORY))
    except Overrun as exc:
        message = f"body: rendering stopped: it {exc} or used more than {MEMORY >> 20} MiB"
        raise BadUserInput(message, "body") from exc
    if "error" in out:
        raise BadUserInput(out["error"], out["field"])
    return Rendered(out["subject"], out["body"], out["read"])


def _rendered(subject: str, body: str, values: Mapping[str, Any]) -> bytes:
    """In the child: the answer as JSON (the texts and the fields read, or the error)."""
    try:
        texts = {"subject": render_here(subject, values, "subject")}
        if "\r" in texts["subject"] or "\n" in texts["subject"]:
            raise BadUserInput("subject: the rendered subject has a line break", "subject")
        texts["body"] = render_here(body, values, "body")
    except BadUserInput as exc:
        return json.dumps({"error": str(exc), "field": exc.extensions["field"]}).encode()
    read = {k: sorted(v.read) for k, v in values.items() if isinstance(v, Fields) and v.read}
    return json.dumps({**texts, "read": read}).encode()


def _traced(frame: FrameType, event: str, arg: Any) -> Any:
    """Trace the compiled template's frames only; each line checks the deadline."""
    if frame.f_code.co_filename != "<template>":
        return None
    _ENV.check()
    return _traced


def render_here(body: str, values: Mapping[str, Any], field: str) -> str:
    """The text, in this process, or BAD_USER_INPUT naming ``field`` (subject, body)."""
    try:
        return _generate(_ENV.from_string(body), values)
    except RecursionError as exc:
        raise BadUserInput(f"{field}: the template recursed too deep", field) from exc
    except MemoryError as exc:
        raise BadUserInput(f"{field}: the template needs too much memory", field) from exc
    except Exception as exc:  # whatever a template does wrong is the template's
        raise BadUserInput(f"{field}: {exc}", field) from exc


def _generate(template: Template, values: Mapping[str, Any]) -> str:
    """``RENDER_S`` from here: compiling (bounded by the body's size) is not counted."""
    _ENV.deadline = time.monotonic() + RENDER_S
    kept = sys.gettrace()
    sys.settrace(_traced)
    try:
        out: list[str] = []
        total = 0
        for piece in template.generate(values):
            total += len(piece)
            if total > MAX_OUTPUT:
                raise TooMuch(f"the text would be longer than {MAX_OUTPUT} characters")
            _ENV.check()
            out.append(piece)
        return "".join(out)
    finally:
        sys.settrace(kept)
