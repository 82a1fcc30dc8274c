"""The Renovate configuration in the generated docs/template-updates.md, checked by Renovate's own tools.

Renovate is an npm package of some 600 modules, so it is not in requirements-dev.txt: .ci/run
installs the package that .ci/renovate-package names (plain data, read by both) into RENOVATE_HOME
where npm is available, and this test uses that installation, skipping (and saying how to make
one) without it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import textwrap
from pathlib import Path

import pytest
from helpers import Generated, tool

RENOVATE_PACKAGE = (Path(__file__).parents[1] / ".ci" / "renovate-package").read_text().strip()
RENOVATE_VERSION = RENOVATE_PACKAGE.rpartition("@")[2]
# The same folder and command as .ci/run's.
RENOVATE_HOME = Path(tempfile.gettempdir()) / f"gar-template-{RENOVATE_PACKAGE}"
RENOVATE = RENOVATE_HOME / "node_modules" / "renovate"
INSTALL = f"npm install --ignore-scripts --no-audit --no-fund --prefix {RENOVATE_HOME} {RENOVATE_PACKAGE}"


@pytest.fixture(scope="module")
def renovate() -> Path:
    if shutil.which("npm") is None or shutil.which("node") is None:
        pytest.skip("npm and node are not installed: the docs' Renovate configuration is not machine-checked here")
    if not (RENOVATE / "renovate-schema.json").is_file():
        pytest.skip(f"Renovate {RENOVATE_VERSION} is not installed; to run this test: {INSTALL}")
    return RENOVATE


def docs_blocks(project: Generated) -> dict[str, str]:
    """docs/template-updates.md's Renovate section: its code blocks by language (js: server, json: repository)."""
    page = (project.path / "docs/template-updates.md").read_text()
    section = page.split("### Renovate\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"^( *)```(\w+)\n(.*?)^\1```", section, re.MULTILINE | re.DOTALL)
    found = {language: textwrap.dedent(body) for _, language, body in blocks}
    assert set(found) == {"js", "json"}, found
    return found


def validate(renovate: Path, directory: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """renovate-config-validator: the repository's renovate.json, or the server's RENOVATE_CONFIG_FILE."""
    return subprocess.run(
        ["node", renovate / "dist" / "config-validator.js"],
        cwd=directory,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_repository_config_matches_renovates_schema_and_validator(renovate: Path, generate, tmp_path: Path) -> None:
    config = tmp_path / "renovate.json"
    config.write_text(docs_blocks(generate("defaults"))["json"])
    schema = tool("check-jsonschema", "--schemafile", renovate / "renovate-schema.json", config)
    assert schema.returncode == 0, schema.stdout + schema.stderr
    validated = validate(renovate, tmp_path)
    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert "Config validated successfully" in validated.stdout

    # The validator does check: a misspelt option fails it.
    config.write_text(config.read_text().replace('"ignoreScripts"', '"ignoreScript"'))
    assert validate(renovate, tmp_path).returncode != 0


def test_server_config_is_valid_global_config(renovate: Path, generate, tmp_path: Path) -> None:
    server = tmp_path / "config.js"
    server.write_text(docs_blocks(generate("defaults"))["js"])
    validated = validate(renovate, tmp_path, RENOVATE_CONFIG_FILE=str(server))
    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert f"Validating {server}" in validated.stdout
    # The validator does check: a misspelt option fails it.
    server.write_text(server.read_text().replace("allowScripts", "allowScript"))
    assert validate(renovate, tmp_path, RENOVATE_CONFIG_FILE=str(server)).returncode != 0
