"""scripts/check_name_unclaimed.py, the opt-in guard against names taken on a public index.

A real pypiserver on 127.0.0.1 with public reading plays PyPI: it answers 200 for a project it
holds and 404 for one it does not, as PyPI's simple API does.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
import yaml
from helpers import Generated
from package_index import PackageIndex, running_index


@pytest.fixture(scope="module")
def public_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PackageIndex]:
    with running_index(tmp_path_factory.mktemp("public-index"), authenticate="update") as index:
        # Someone else's project, as PyPI would list it (pypiserver lists a file it holds).
        (index.packages / "acme_billing_core-3.0.0-py3-none-any.whl").write_bytes(b"")
        yield index


def check(project: Generated, index: PackageIndex) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            project.path / "scripts/check_name_unclaimed.py",
            str(project.answers["distribution_name"]),
            "--index",
            index.simple_url,
        ],
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_taken_name_stops_with_a_clear_message(generate, public_index: PackageIndex) -> None:
    project = generate("explicit-names-rc")  # distribution acme.billing-core, normalised like PyPI does
    result = check(project, public_index)
    assert result.returncode == 1
    assert "acme.billing-core is also a project on" in result.stderr
    assert "dependency confusion" in result.stderr


def test_a_free_name_passes(generate, public_index: PackageIndex) -> None:
    result = check(generate("defaults"), public_index)
    assert result.returncode == 0, result.stderr


def test_the_workflow_step_is_opt_in_and_runs_before_the_build(project: Generated) -> None:
    steps = yaml.safe_load((project.path / ".github/workflows/publish.yml").read_text())["jobs"]["build"]["steps"]
    names = [s.get("name") for s in steps]
    guard = steps[names.index("Stop if the name is taken on PyPI")]
    assert guard["if"] == "vars.REFUSE_NAMES_TAKEN_ON_PYPI == 'true'"
    assert guard["run"] == 'python scripts/check_name_unclaimed.py "$DISTRIBUTION"'
    assert names.index("Stop if the name is taken on PyPI") < names.index("Build the sdist and the wheel")


def test_script_needs_nothing_but_the_standard_library(project: Generated) -> None:
    source = (project.path / "scripts/check_name_unclaimed.py").read_text()
    imported = {line.split()[1].split(".")[0] for line in source.splitlines() if line.startswith(("import ", "from "))}
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}
