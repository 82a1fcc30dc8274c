"""Nothing secret is ever rendered, and git keeps credential files out by default."""

from __future__ import annotations

import re

import pytest
from helpers import Generated, git

KEY_LIKE = {
    "PEM private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "service account key field": re.compile(r'"private_key(_id)?"\s*:'),
    "Google API key": re.compile(r"AIza[0-9A-Za-z_-]{35}"),
    "AWS access key": re.compile(r"AKIA[0-9A-Z]{16}"),
    "GitHub token": re.compile(r"gh[pousr]_[A-Za-z0-9]{36}"),
    "OAuth access token": re.compile(r"ya29\.[0-9A-Za-z_-]{20,}"),
    "long base64 blob": re.compile(r"[A-Za-z0-9+/]{120,}={0,2}"),
}


def test_no_rendered_file_holds_key_like_content(project: Generated) -> None:
    for path in project.files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for kind, pattern in KEY_LIKE.items():
            match = pattern.search(text)
            assert match is None, f"{path.relative_to(project.path)} holds a {kind}: {match.group(0)[:20]}..."


@pytest.mark.parametrize(
    "name",
    [
        "gha-creds-3f2a1b.json",
        "my-project-credentials.json",
        "service-account.json",
        "key.json",
        "publisher-key.json",
        "github.key.json",
        ".pypirc",
    ],
)
def test_credential_files_are_ignored_by_git(generate, name: str) -> None:
    project = generate("defaults")
    assert git(project.path, "check-ignore", "--no-index", name) == name


def test_secrets_reach_the_workflow_only_as_secret_references(project: Generated) -> None:
    publish = (project.path / ".github/workflows/publish.yml").read_text()
    referenced = re.findall(r"\$\{\{\s*secrets\.(\w+)\s*\}\}", publish)
    if project.answers["publish_auth"] == "service_account_key":
        # The publisher's key, once (the upload job's), and the reader's for the jobs that install.
        assert sorted(set(referenced)) == ["ARTIFACT_REGISTRY_READER_KEY", "GOOGLE_CREDENTIALS"]
        assert referenced.count("GOOGLE_CREDENTIALS") == 1
    else:
        assert referenced == [], "workload identity needs no stored secret"
