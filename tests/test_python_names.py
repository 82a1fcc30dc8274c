"""includes/python_names.jinja must list every name a package may not take on this Python."""

from __future__ import annotations

import keyword
import re
import sys

from helpers import TEMPLATE_ROOT

SOURCE = (TEMPLATE_ROOT / "includes" / "python_names.jinja").read_text()


def listed(variable: str) -> set[str]:
    block = re.search(rf"set {variable} = \[(.*?)\]", SOURCE, re.DOTALL)
    assert block, variable
    return set(re.findall(r'"([^"]+)"', block.group(1)))


def test_every_standard_library_module_of_this_python_is_listed() -> None:
    assert set(sys.stdlib_module_names) - listed("STDLIB_MODULES") == set()


def test_every_keyword_is_listed() -> None:
    assert set(keyword.kwlist) - listed("KEYWORDS") == set()
