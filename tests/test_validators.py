"""Bad answers are refused by name, before anything is written."""

from __future__ import annotations

from pathlib import Path

import copier
import pytest
from conftest import TEMPLATE_ROOT

BAD_ANSWERS = [
    ("package_name", "my-pkg", "lowercase ASCII identifier"),
    ("package_name", "class", "keyword"),
    ("package_name", "json", "standard-library"),
    ("package_name", "My_Pkg", "lowercase ASCII identifier"),
    ("package_name", "pkg.sub", "no dots"),
    ("distribution_name", "-pkg", "PEP 508"),
    ("project_name", "  ", "must not be empty"),
    ("initial_version", "v1.0.0", "without a leading 'v'"),
    ("initial_version", "1.0-beta", "PEP 440"),
    ("gcp_project_id", "My_Project", "Google Cloud project ID"),
    ("gcp_project_id", "my-google-project", "must not contain 'google'"),
    ("gcp_location", "Mars", "Artifact Registry location"),
    ("gcp_location", "mars-north1", 'Question "gcp_location_unlisted_ok" is required'),
    ("gcp_repository", "Python_Packages", "repository ID"),
    ("author_email", "not-an-address", "e-mail address"),
    ("github_repository", "just-a-name", "OWNER/NAME"),
]


@pytest.mark.parametrize(("key", "value", "rule"), BAD_ANSWERS, ids=[f"{k}={v!r}" for k, v, _ in BAD_ANSWERS])
def test_bad_answer_is_refused_with_the_question_and_the_rule(key: str, value: str, rule: str, tmp_path: Path) -> None:
    destination = tmp_path / "project"
    with pytest.raises(ValueError) as error:
        copier.run_copy(
            str(TEMPLATE_ROOT),
            str(destination),
            data={key: value},
            defaults=True,
            unsafe=True,
            vcs_ref="HEAD",
            quiet=True,
        )
    assert key in str(error.value)
    assert rule in str(error.value)
    assert not destination.exists()
