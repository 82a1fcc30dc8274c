"""includes/python_names.jinja must list every name a package may not take on this Python."""

from __future__ import annotations

import glob
import json
import keyword
import os
import pwd
import re
import subprocess
import sys

import pytest
from helpers import TEMPLATE_ROOT

SOURCE = (TEMPLATE_ROOT / "includes" / "python_names.jinja").read_text()


def listed(variable: str) -> set[str]:
    block = re.search(rf"set {variable} = \[(.*?)\]", SOURCE, re.DOTALL)
    assert block, variable
    return set(re.findall(r'"([^"]+)"', block.group(1)))


def test_every_standard_library_module_of_this_python_is_listed() -> None:
    assert set(sys.stdlib_module_names) - listed("STDLIB_MODULES") == set()


# What an interpreter can import from its own standard library, read from its files: the top-level
# modules and packages of its stdlib directory and lib-dynload, and its built-in modules. This is
# more than sys.stdlib_module_names, which leaves out the test suite's packages (`test`).
INSTALLED_NAMES = """
import json, os, sys, sysconfig
stdlib = sysconfig.get_paths()["stdlib"]
names = set(sys.builtin_module_names)
for entry in os.listdir(stdlib):
    if entry.endswith(".py"):
        names.add(entry[:-3])
    elif os.path.isfile(os.path.join(stdlib, entry, "__init__.py")):
        names.add(entry)
dynload = os.path.join(stdlib, "lib-dynload")
for entry in os.listdir(dynload) if os.path.isdir(dynload) else ():
    names.add(entry.split(".")[0])
print(json.dumps(sorted(name for name in names if name.isidentifier())))
"""


# The tests run with HOME moved (isolation.py): pyenv's versions are found from the account's home.
PYENV_ROOT = os.environ.get("PYENV_ROOT") or os.path.join(pwd.getpwuid(os.getuid()).pw_dir, ".pyenv")


def supported_interpreters() -> list[str]:
    """This interpreter and every other supported one this machine has (pyenv's included); the
    template's CI runs this file on each supported Python (3.14 is there, not here)."""
    supported = re.findall(r'"(3\.\d+)"', (TEMPLATE_ROOT / "includes/pythons.jinja").read_text())
    found = {f"{sys.version_info[0]}.{sys.version_info[1]}": sys.executable}
    for version in supported:
        candidates = glob.glob(f"{PYENV_ROOT}/versions/{version}.*/bin/python{version}")
        candidates += [f"/usr/bin/python{version}", f"/usr/local/bin/python{version}"]
        for candidate in candidates:
            if version not in found and os.access(candidate, os.X_OK):
                found[version] = candidate
    return [found[version] for version in sorted(found) if version in supported]


@pytest.mark.parametrize("python", supported_interpreters())
def test_every_name_a_supported_python_installs_is_refused(python: str) -> None:
    shown = subprocess.run([python, "-c", INSTALLED_NAMES], capture_output=True, text=True, check=True)
    installed = set(json.loads(shown.stdout))
    assert "test" in installed, "the reading of the standard library's files finds its test package"
    assert installed - listed("STDLIB_MODULES") - listed("STDLIB_UNLISTED") == set(), python


def test_the_unlisted_names_are_those_stdlib_module_names_leaves_out() -> None:
    """A name in both lists would be refused as a module and never kept for a project that has it."""
    assert listed("STDLIB_UNLISTED") & listed("STDLIB_MODULES") == set()


def test_every_keyword_is_listed() -> None:
    assert set(keyword.kwlist) - listed("KEYWORDS") == set()
