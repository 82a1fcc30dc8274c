"""What the hooks print, for an 80-column terminal: prose wraps at words, commands stay whole.

One `say` call is one message. Each part is a paragraph, a list item (it starts with two spaces:
its continuation lines are indented further) or, when it starts with "$ ", a command printed
whole on a line of its own, indented as the message after copy indents its commands (seven
spaces: tests/test_journey.py runs such lines as printed). The wrapping is the setup tool's
(src/gar_template_setup/terminal.py, standard library only), which the template's clone holds.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

# The template's src/, beside hooks/ in the clone Copier runs the hooks from.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
from gar_template_setup.terminal import fitted

COMMAND_INDENT = " " * 7


def say(*parts: str, file: TextIO | None = None) -> None:
    print(fitted("\n".join(parts), COMMAND_INDENT), file=file or sys.stdout)
