"""What a cell or line of an import or export file may hold, checked before the work.

A CSV cell a spreadsheet would take for a formula (OWASP's "CSV Injection": one
starting with ``=``, ``+``, ``-``, ``@``, a tab or a CR) is exported with a single
quote in front, and so is one starting with a quote, so an import takes exactly
one quote off such a cell and the file imports back to the same records. A plain
number ("-5", "+4930") is left as it is: a spreadsheet reads it as that number,
and no formula fits in one.

A cell or line of JSON is read by json.loads, which recurses: its nesting is
bounded first, from the text (``shallow``), so a record 100,000 levels deep is a
rejected row, not a failed import.
"""

from __future__ import annotations

import io
import re
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
QUOTED = (*FORMULA_START, "'")  # what an export prefixes with "'" (the quote too)
PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")


def defused(cell: Any) -> Any:
    """A CSV cell no spreadsheet runs: a text that could start a formula gets "'"."""
    if isinstance(cell, str) and cell.startswith(QUOTED) and not PLAIN_NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def restored(cell: str) -> str:
    """An exported cell as it was: the one quote ``defused`` put in front, taken off."""
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(QUOTED) else cell


class Lines:
    """The file's lines as the csv reader takes them, those of the current row kept:
    a row the reader gives up on (a cell past its 131,072 characters) is skipped to
    its end, so the rest of a quoted cell is not read as rows of its own."""

    def __init__(self, text: str) -> None:
        self._lines = iter(io.StringIO(text, newline=""))
        self.taken: list[str] = []

    def __iter__(self) -> Lines:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.taken.append(line)
        return line

    def skip_row(self) -> None:
        """Past the row's end: an odd count of quotes means a quoted cell is open."""
        quotes = sum(line.count('"') for line in self.taken)
        while quotes % 2:
            line = next(self._lines, None)
            if line is None:
                return
            quotes += line.count('"')


class TooDeep(Exception):
    """JSON text nested past its bound (json.loads would recurse, and fail, on it)."""


# What can change the nesting: an escape (skipped), a quote, a bracket.
_STRUCTURE = re.compile(r'\\.|["\[\]{}]', re.DOTALL)


def shallow(text: str, bound: int) -> str:
    """``text``, or TooDeep when its brackets nest past ``bound``: checked before
    json.loads walks it. Only text with that many brackets is scanned at all."""
    if text.count("[") + text.count("{") <= bound:
        return text
    depth, quoted = 0, False
    for token in _STRUCTURE.finditer(text):
        mark = token.group()
        if mark == '"':
            quoted = not quoted
        elif quoted or len(mark) == 2:
            continue
        elif mark in "[{":
            depth += 1
            if depth > bound:
                raise TooDeep()
        else:
            depth -= 1
    return text
