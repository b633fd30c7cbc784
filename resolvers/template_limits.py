"""What a template may compute: the filters it has, and the size of every value it makes.

``refused`` is the save-time check of a template's syntax tree; the rest bounds a
render (``rendering.Environment``): ``binop`` before an operator runs (its result's
size is foreseen from its operands), ``filters`` around every filter (arguments and
input before, result after), ``Generator`` routes ``~`` through the environment.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError

MAX_VALUE = 100_000  # characters of a text, items (counted through) of a list
MAX_WIDTH = 1_000  # a width, length or count given to a filter
MAX_SLOW = 1_000  # items a sort or unique, characters a wordwrap, indent... goes through
MAX_ARG_TEXT = 20  # characters of a text given to a width-taking filter (an end, a prefix)
MAX_INT_BITS = 64
PLAIN = ("abs", "capitalize", "count", "d", "default", "e", "escape", "first", "float",
         "int", "last", "length", "list", "lower", "max", "min", "reverse", "round",
         "string", "title", "trim", "upper", "wordcount")  # fmt: skip
WIDE = ("center", "indent", "truncate", "wordwrap")  # take widths: constants only
SIZED = ("join", "replace")  # make text as long as their arguments say: foreseen
SORTING = ("sort", "unique")
FILTERS = frozenset((*PLAIN, *WIDE, *SIZED, *SORTING))


class TooMuch(SecurityError):
    pass


def size(value: Any, budget: int = MAX_VALUE) -> int:
    """Characters of a text, items of a list counted through nested lists (a list
    holding one list 1,000 times is 1,000 times its size); past ``budget``, stops."""
    if isinstance(value, str):
        return len(value)
    if not isinstance(value, list | tuple | dict):
        return 1
    total, stack = 0, [iter(value.values() if isinstance(value, dict) else value)]
    while stack and total <= budget:
        item = next(stack[-1], stack)
        if item is stack:
            stack.pop()
        elif isinstance(item, list | tuple | dict):
            stack.append(iter(item.values() if isinstance(item, dict) else item))
        else:
            total += max(1, len(item) if isinstance(item, str) else 1)
    return total


def bounded(value: Any) -> Any:
    if size(value) > MAX_VALUE:
        raise TooMuch(f"a value would be longer than {MAX_VALUE} characters")
    return value


def binop(operator: str, left: Any, right: Any) -> None:
    """Refuses an operator whose result would be too big, before it runs."""
    if operator == "**" or (operator == "%" and not _numbers(left, right)):
        raise TooMuch(f"{operator} is not allowed in templates (formatting, powers)")
    ints = [x for x in (left, right) if isinstance(x, int)]
    if any(abs(x).bit_length() > MAX_INT_BITS for x in ints):
        raise TooMuch(f"numbers in templates are at most {MAX_INT_BITS} bits")
    repeats = operator == "*" and ints and not _numbers(left, right)
    if repeats and size(left) * size(right) > MAX_VALUE:  # an int's size is 1
        raise TooMuch(f"the text would be longer than {MAX_VALUE} characters")
    if operator == "+" and size(left) + size(right) > MAX_VALUE:
        raise TooMuch(f"the text would be longer than {MAX_VALUE} characters")


def _numbers(*values: Any) -> bool:
    return all(isinstance(v, int | float) for v in values)


def filters(builtin: Mapping[str, Any], check: Callable[[], None]) -> dict[str, Any]:
    """The allowed filters, each bounded."""
    return {name: _bounded(name, builtin[name], check) for name in sorted(FILTERS)}


def _bounded(name: str, fn: Callable[..., Any], check: Callable[[], None]) -> Any:
    @functools.wraps(fn)  # keeps jinja's pass_environment / pass_eval_context mark
    def run(*args: Any, **kwargs: Any) -> Any:
        check()
        skip = 0 if getattr(fn, "jinja_pass_arg", None) is None else 1  # env or context first
        _before(name, args[skip], [*args[skip + 1 :], *kwargs.values()])
        return bounded(fn(*args, **kwargs))

    return run


def _before(name: str, value: Any, args: list[Any]) -> None:
    bounded(value)
    if name in WIDE or name in SORTING:
        if size(value) > MAX_SLOW:
            raise TooMuch(f"{name} takes at most {MAX_SLOW} characters or items")
        problem = _wide_args(name, args) if name in WIDE else None
        if problem:
            raise TooMuch(problem)
    if name == "join":
        seps = [a for a in args[:1] if isinstance(a, str)]
        n = len(value) if isinstance(value, list | tuple | str) else 0
        _foresee(size(value) + n * len(seps[0] if seps else ""))
    if name == "replace" and len(args) >= 2 and isinstance(value, str):
        old, new = str(args[0]), str(args[1])
        times = value.count(old) if old else len(value) + 1
        _foresee(len(value) + times * len(new))


def _foresee(length: int) -> None:
    if length > MAX_VALUE:
        raise TooMuch(f"the text would be longer than {MAX_VALUE} characters")


def _wide_args(name: str, args: Iterable[Any]) -> str | None:
    for arg in args:
        if isinstance(arg, bool) or arg is None:
            continue
        if isinstance(arg, int) and 0 <= arg <= MAX_WIDTH:
            continue
        if isinstance(arg, str) and len(arg) <= MAX_ARG_TEXT:
            continue
        return (
            f"{name} takes numbers from 0 to {MAX_WIDTH} and texts of at most "
            f"{MAX_ARG_TEXT} characters"
        )
    return None


def refused(tree: nodes.Template) -> str | None:
    """Why a parsed template is refused at save, or None. ``tree`` is bounded: the
    text was (``rendering.MAX_BODY``) before the parse."""
    for node in tree.find_all(nodes.Node):
        problem = _node(node)
        if problem:
            return problem
    return None


def _node(node: nodes.Node) -> str | None:
    if isinstance(node, nodes.Mod | nodes.Pow):
        return f"{node.operator} is not allowed in templates (formatting, powers)"
    if isinstance(node, nodes.Filter):
        return _filter(node)
    return None


def _filter(node: nodes.Filter) -> str | None:
    if node.name not in FILTERS:
        return f"filter {node.name} is not allowed; allowed: {', '.join(sorted(FILTERS))}"
    if node.name not in WIDE:
        return None
    args = [*node.args, *(k.value for k in node.kwargs)]
    if node.dyn_args is not None or node.dyn_kwargs is not None:
        return f"{node.name} takes its arguments written out"
    if not all(isinstance(a, nodes.Const) for a in args):
        return f"{node.name} takes only constant arguments (a number up to {MAX_WIDTH})"
    return _wide_args(node.name, (a.value for a in args if isinstance(a, nodes.Const)))


class Generator(CodeGenerator):
    """Compiles ``a ~ b`` as ``environment.joined((a, b))``: bounded, like operators."""

    # The name is the one jinja's visitor dispatches on.
    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:  # noqa: N802
        self.write("environment.joined((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")
