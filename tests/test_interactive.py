"""A new user answering Copier's prompts in a terminal gets a working project.

Copier's prompts need a real terminal, so pexpect runs the real CLI in a pseudo-terminal and
types answers as a person would: clearing pre-filled defaults, picking choices with the arrow
keys, and correcting answers that the validators refused.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pexpect
import yaml
from helpers import TEMPLATE_ROOT, Virtualenv, git

CLEAR_LINE = "\x15"  # Ctrl-U: the prompts come pre-filled with the default
DOWN = "\x1b[B"
ENTER = "\r"


def answer(session: pexpect.spawn, prompt: str, keys: str) -> None:
    session.expect_exact(prompt)
    session.send(keys)


# A terminal of the usual width: Copier cuts a refusal's line there (tests/test_validators.py
# checks every label fits; these check what the terminal shows).
COLUMNS = 80


def refused(key: str) -> str:
    return f"Validation error for question '{key}': "


def spawn_copy(destination: Path) -> pexpect.spawn:
    return pexpect.spawn(
        sys.executable,
        ["-m", "copier", "copy", "--trust", "--vcs-ref", "HEAD", str(TEMPLATE_ROOT), str(destination)],
        encoding="utf-8",
        timeout=60,
        dimensions=(50, COLUMNS),
        # The pseudo-terminal never answers prompt_toolkit's cursor-position requests; without
        # this, each prompt waits for that answer before it accepts keys.
        env={**os.environ, "PROMPT_TOOLKIT_NO_CPR": "1"},
    )


def test_interactive_copy_with_corrected_answers(tmp_path: Path, shared_venv: Virtualenv) -> None:
    destination = tmp_path / "weather-feeds"
    session = spawn_copy(destination)
    try:
        answer(session, "Human name of the project", CLEAR_LINE + "Weather Feeds" + ENTER)
        answer(session, "Distribution name", ENTER)  # derived: weather-feeds
        answer(session, "Import name", CLEAR_LINE + "test" + ENTER)
        session.expect_exact(refused("package_name") + "standard-library name:")
        session.send(CLEAR_LINE + "weather_feeds" + ENTER)
        # The shortest key with a validator.
        answer(session, "One-line summary", CLEAR_LINE + 'Feeds "live"' + ENTER)
        session.expect_exact(refused("description") + "bad character:")
        session.send(CLEAR_LINE + "Weather feeds." + ENTER)
        answer(session, "Author name", CLEAR_LINE + "Siân Ó Briain" + ENTER)
        answer(session, "Author e-mail", CLEAR_LINE + "sian@example.net" + ENTER)
        answer(session, "Who holds the copyright", CLEAR_LINE + "Met Office Labs Ltd" + ENTER)
        answer(session, "License of the package", DOWN + ENTER)  # MIT
        answer(session, "Oldest Python", ENTER)
        answer(session, "First version", CLEAR_LINE + "v1.0.0" + ENTER)
        session.expect_exact(refused("initial_version") + "leading 'v':")
        session.send(CLEAR_LINE + "1.0.0" + ENTER)
        answer(session, "GitHub repository", CLEAR_LINE + "met-office-labs/weather-feeds" + ENTER)
        answer(session, "Google Cloud project ID", CLEAR_LINE + "weather-data-7" + ENTER)
        # The way out of the refusal below is in the help above the prompt, which fits the width.
        session.expect_exact("Artifact Registry location")
        answer(
            session,
            "A region newer than this template: --data gcp_location_unlisted_ok=yes",
            CLEAR_LINE + "europe-west99" + ENTER,
        )
        session.expect_exact(refused("gcp_location") + "unknown region:")  # a typo is asked again
        session.send(CLEAR_LINE + "europe-west2" + ENTER)
        answer(session, "This package's own Artifact Registry Python repository", ENTER)
        answer(session, "How GitHub Actions authenticates", DOWN + ENTER)  # service account key
        answer(session, "publishing service account", ENTER)
        answer(session, "Add a weekly workflow that updates this project", ENTER)  # default: no
        answer(session, "Will this package depend on other private packages", ENTER)  # no
        answer(session, "organisation's read-only service account", ENTER)
        answer(session, "remote repository that caches PyPI", ENTER)
        answer(session, "virtual repository of the internal packages only", ENTER)
        answer(session, "virtual repository for pip and Dependabot", ENTER)
        session.expect(pexpect.EOF, timeout=120)
    finally:
        session.close()
    assert session.exitstatus == 0, session.before

    answers = yaml.safe_load((destination / ".copier-answers.yml").read_text())
    expected = {
        "project_name": "Weather Feeds",
        "distribution_name": "weather-feeds",
        "package_name": "weather_feeds",
        "author_name": "Siân Ó Briain",
        "license": "MIT",
        "initial_version": "1.0.0",
        "gcp_location": "europe-west2",
        "publish_auth": "service_account_key",
        "template_updates": False,
    }
    assert {key: answers[key] for key in expected} == expected
    assert "gcp_workload_identity_pool" not in answers, "workload identity questions are skipped in key mode"
    assert "gcp_location_unlisted_ok" not in answers, "never asked, and recorded only when given"
    assert git(destination, "tag", "--points-at", "HEAD") == "v1.0.0"
    # Computed values are computed in an interactive run too, though never shown as a question.
    readme = (destination / "README.md").read_text()
    assert "https://europe-west2-python.pkg.dev/weather-data-7/weather-feeds/simple/" in readme
    assert "GOOGLE_CREDENTIALS" in (destination / "docs/publishing.md").read_text()

    shared_venv.install_editable(destination, str(answers["python_min_version"]))
    output = shared_venv.run("-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=destination)
    assert re.search(r"^\d+ passed", output, re.MULTILINE), output


def test_a_project_named_like_a_module_takes_every_default_with_enter(tmp_path: Path, shared_venv: Virtualenv) -> None:
    """`Email`: the distribution question is asked, and Enter on every question gives a valid project
    whose names do not shadow the standard library's `email`, nor PyPI's."""
    destination = tmp_path / "email"
    session = spawn_copy(destination)
    try:
        answer(session, "Human name of the project", CLEAR_LINE + "Email" + ENTER)
        answer(session, "Distribution name", ENTER)
        answer(session, "Import name", ENTER)
        # Enter at every remaining question, until Copier has nothing more to ask.
        while session.expect([pexpect.EOF, "🎤"], timeout=120) == 1:
            session.expect_exact("\n")  # the rest of the help line, then the prompt waits
            session.send(ENTER)
    finally:
        session.close()
    assert session.exitstatus == 0, session.before
    assert "Traceback" not in (session.before or "")
    answers = yaml.safe_load((destination / ".copier-answers.yml").read_text())
    assert (answers["distribution_name"], answers["package_name"]) == ("email-pkg", "email_pkg")
    assert git(destination, "tag", "--points-at", "HEAD") == "v0.1.0"
    shared_venv.install_editable(destination, str(answers["python_min_version"]))
    output = shared_venv.run("-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=destination)
    assert re.search(r"^\d+ passed", output, re.MULTILINE), output


def test_a_name_without_ascii_letters_asks_for_the_distribution_name(tmp_path: Path) -> None:
    """No default to derive: the prompt is empty, its help says what to type, Enter is refused
    with the rule, and a typed name is taken."""
    destination = tmp_path / "daicho"
    session = spawn_copy(destination)
    try:
        answer(session, "Human name of the project", CLEAR_LINE + "台帳同期" + ENTER)
        session.expect_exact("e.g. ledger-sync (PEP 508)")
        session.send(ENTER)
        session.expect_exact(refused("distribution_name") + "not a PEP 508 name:")
        session.send(CLEAR_LINE + "daicho-sync" + ENTER)
        session.expect_exact("Import name")
        session.expect_exact("daicho_sync")  # its default, derived from the typed name
        session.sendcontrol("c")
        session.expect(pexpect.EOF)
    finally:
        session.close()
    assert not destination.exists(), "an interrupted copy writes nothing"


def test_the_longest_keys_refusal_shows_its_label_at_80_columns(tmp_path: Path) -> None:
    """gcp_workload_identity_provider leaves the fewest columns after Copier's prefix."""
    destination = tmp_path / "longest"
    session = spawn_copy(destination)
    prompts = [
        "Human name of the project", "Distribution name", "Import name", "One-line summary", "Author name",
        "Author e-mail", "Who holds the copyright", "License of the package", "Oldest Python", "First version",
        "GitHub repository", "Google Cloud project ID", "Artifact Registry location",
        "This package's own Artifact Registry Python repository", "How GitHub Actions authenticates",
        "publishing service account", "Workload identity pool ID",
    ]  # fmt: skip
    try:
        for prompt in prompts:  # every default, workload identity included
            answer(session, prompt, ENTER)
        answer(session, "Workload identity provider ID", CLEAR_LINE + "gcp-oidc" + ENTER)
        session.expect_exact(refused("gcp_workload_identity_provider") + "reserved 'gcp-'")
        session.sendcontrol("c")
        session.expect(pexpect.EOF)
    finally:
        session.close()
    assert not destination.exists(), "an interrupted copy writes nothing"
