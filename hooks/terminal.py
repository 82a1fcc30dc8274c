"""What the hooks print, for an 80-column terminal: prose wraps at words, commands stay whole.

One `say` call is one message. Each part is a paragraph, a list item (it starts with two spaces:
its continuation lines are indented further) or, when it starts with "$ ", a command printed
whole on a line of its own, indented as the message after copy indents its commands (seven
spaces: tests/test_journey.py runs such lines as printed).
"""

from __future__ import annotations

import sys
import textwrap
from typing import TextIO

COLUMNS = 80
COMMAND_INDENT = " " * 7


def lines(*parts: str) -> list[str]:
    out: list[str] = []
    for part in parts:
        if part.startswith("$ "):
            out.append(COMMAND_INDENT + part[2:])
            continue
        indent = part[: len(part) - len(part.lstrip(" "))]
        out.extend(
            textwrap.wrap(
                part.strip(),
                COLUMNS,
                initial_indent=indent,
                subsequent_indent=indent + ("  " if indent else ""),
                break_long_words=False,
                break_on_hyphens=False,
            )
        )
    return out


def say(*parts: str, file: TextIO | None = None) -> None:
    print("\n".join(lines(*parts)), file=file or sys.stdout)
