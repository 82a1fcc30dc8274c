#!/usr/bin/env -S uv run --script
# /// script
# dependencies = ["nox>=2026.8.10"]
# ///
"""What CI checks, as one command: `uv run nox` (lint, format, types, tests).

The test workflow's lint job runs these same sessions, so a green `uv run nox` here is a green
lint job there. `uv run nox -s tests` runs one session; `uv run nox -l` lists them.

Each session gets its own virtualenv (uv creates it, nox reuses it on the next run) and installs
exactly the versions in uv.lock with `uv sync`, only the dependency groups it needs: the tests
run without the lint tools, as in the test workflow. The sessions share nothing, so they run at
the same time, one per core (nox's `--parallel`, which a `-j` on the command line overrides),
each one's output printed whole when it ends. The slowest, tests, comes first.
"""

from __future__ import annotations

import os

import nox

nox.needs_version = ">=2026.8.10"  # the first with --parallel
nox.options.default_venv_backend = "uv"
nox.options.reuse_venv = "yes"
nox.options.parallel = os.cpu_count() or 1  # what `-j auto` gives
nox.options.allow_parallel = True
# Every session runs by default: `uv run nox` is everything CI checks.


def sync(session: nox.Session, *arguments: str) -> None:
    """Install uv.lock's versions into the session's virtualenv rather than the project's .venv."""
    session.run_install(
        "uv",
        "sync",
        *arguments,
        env={"UV_PROJECT_ENVIRONMENT": session.virtualenv.location},
        external=True,
    )


@nox.session
def tests(session: nox.Session) -> None:
    """The package installed with its test group alone, then pytest."""
    sync(session, "--no-default-groups", "--group=test")
    session.run("pytest", *session.posargs)


@nox.session
def types(session: nox.Session) -> None:
    """ty over what [tool.ty.src] includes, with the project's dependencies installed."""
    sync(session, "--no-default-groups", "--group=lint", "--group=test", "--group=nox")
    session.run("ty", "check", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff's lint rules ([tool.ruff.lint] in pyproject.toml)."""
    sync(session, "--only-group=lint")
    session.run("ruff", "check", *(session.posargs or ["."]))


@nox.session
def format(session: nox.Session) -> None:
    """ruff's formatting, checked: `uv run ruff format .` applies it."""
    sync(session, "--only-group=lint")
    session.run("ruff", "format", "--check", *(session.posargs or ["."]))


if __name__ == "__main__":
    nox.main()
