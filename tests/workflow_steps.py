"""Run steps of a rendered GitHub workflow locally, as the runner would.

A step's `run:` script is executed verbatim by `bash --noprofile --norc -eo pipefail` (the
workflow sets `shell: bash`), with the workflow's and the step's `env`. GitHub expressions in
that env must each be given a local value by the caller: any expression left over fails the test,
so a new expression in a workflow cannot slip past these tests unnoticed.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import helpers
import yaml

EXPRESSION = re.compile(r"\$\{\{.*?\}\}")


def load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def step(workflow: dict[str, Any], job: str, name: str) -> dict[str, Any]:
    matches = [s for s in workflow["jobs"][job]["steps"] if s.get("name") == name]
    assert len(matches) == 1, f"no single step {name!r} in job {job!r}"
    return matches[0]


OUTPUT_FILE = "github-output"


def outputs(runner_temp: Path) -> dict[str, str]:
    """What steps run in `runner_temp` wrote to $GITHUB_OUTPUT: `name=value` lines, and multi-line
    values as GitHub reads them, `name<<DELIMITER`, the lines, then `DELIMITER` alone."""
    return parse_outputs((runner_temp / OUTPUT_FILE).read_text())


def parse_outputs(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        name, equals, value = line.partition("=")
        if equals and "<<" not in name:
            found[name] = value
            continue
        name, _, delimiter = line.partition("<<")
        assert delimiter, f"not an output line: {line!r}"
        found[name] = "\n".join(iter(lambda: next(lines), delimiter))
    return found


def run_step(
    workflow: dict[str, Any],
    job: str,
    name: str,
    *,
    cwd: Path,
    local: dict[str, str],
    path: str,
    runner: dict[str, str] | None = None,
    merged: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run one step; `local` replaces the step env's GitHub expressions, by variable name.

    `runner` holds what the runner itself provides; GITHUB_OUTPUT defaults to a file in
    RUNNER_TEMP (the working directory unless given), which `outputs` reads back. `merged` gives
    stdout and stderr as one stream, in the order written, as the runner's log shows them.
    """
    found = step(workflow, job, name)
    assert workflow["defaults"]["run"]["shell"] == "bash"
    # A runner trusts the usual certificate authorities: this machine's, where it names its own.
    trust = {k: v for k, v in os.environ.items() if k in ("SSL_CERT_FILE", "SSL_CERT_DIR")}
    env = {"PATH": path, "HOME": os.environ["HOME"], "RUNNER_TEMP": str(cwd), **trust, **(runner or {})}
    if "GITHUB_OUTPUT" not in env:
        env["GITHUB_OUTPUT"] = str(Path(env["RUNNER_TEMP"]) / OUTPUT_FILE)
    Path(env["GITHUB_OUTPUT"]).touch()
    env.update({k: str(v) for k, v in workflow.get("env", {}).items()})
    for key, value in found.get("env", {}).items():
        if EXPRESSION.search(str(value)):
            assert key in local, f"step {name!r} needs a local value for {key} = {value}"
            env[key] = local[key]
        else:
            env[key] = str(value)
    leftover = [v for v in env.values() if EXPRESSION.search(v)]
    assert leftover == [], leftover
    # The runner writes a step's script outside the workspace, into RUNNER_TEMP.
    script = Path(env["RUNNER_TEMP"]) / "step.sh"
    script.write_text(found["run"])
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if merged else subprocess.PIPE,
        text=True,
        check=False,
    )


def runner_with_tools(
    workflow: dict[str, Any], job: str, name: str, *, cwd: Path, root: Path, first: Sequence[Path] = ()
) -> str:
    """PATH of a simulated runner whose Python got its tools from the workflow's own install step.

    A fresh virtualenv in `root` (so a hash-checked install must find every file it takes in the
    rendered list), after the directories in `first`, where stand-ins go.
    """
    helpers.virtualenv_with_pip(root)
    path = os.pathsep.join([*map(str, first), str(root / "bin"), os.environ["PATH"]])
    # RUNNER_TEMP beside `root`, of its own, not in `cwd`: the step's script and output files must
    # not land in a shared generated project (whose tree other tests check is clean), nor where
    # another runner is being installed at the same time.
    temp = root.parent / f"{root.name}-runner-temp"
    temp.mkdir(exist_ok=True)
    runner = {"PIP_CACHE_DIR": os.environ["PIP_CACHE_DIR"], "RUNNER_TEMP": str(temp)}
    installed = run_step(workflow, job, name, cwd=cwd, local={}, path=path, runner=runner)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return path
