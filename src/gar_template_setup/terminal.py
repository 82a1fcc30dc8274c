"""What the setup prints when it stops, and what the template's hooks print (hooks/terminal.py), for
an 80-column terminal: prose wraps at words, commands stay whole on lines of their own.

A message is lines. A line that starts with "$ " is a command, printed whole and indented (four
spaces here): copied from the terminal, it runs as printed. Any other line wraps at 80 columns, and
its leading spaces indent its continuation lines too (two more for an indented line, a list item).
"""

from __future__ import annotations

import textwrap

COLUMNS = 80
COMMAND_INDENT = "    "


def fitted(message: str, command_indent: str = COMMAND_INDENT) -> str:
    out: list[str] = []
    for line in message.splitlines():
        if line.startswith("$ "):
            out.append(command_indent + line[2:])
            continue
        indent = line[: len(line) - len(line.lstrip(" "))]
        wrapped = textwrap.wrap(
            line.strip(),
            COLUMNS,
            initial_indent=indent,
            subsequent_indent=indent + ("  " if indent else ""),
            break_long_words=False,
            break_on_hyphens=False,
        )
        out.extend(wrapped or [""])
    return "\n".join(out)
