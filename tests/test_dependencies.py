"""Internal packages that depend on each other and on PyPI, installed the way the docs say.

Three local pypiservers stand in for the indexes. `private` plays the Artifact Registry repository
(reading needs the token). `public` plays PyPI: anyone reads, and a name it does not hold is
redirected to pypi.org, so build and test tools resolve as usual. `virtual` plays the virtual
repository: it serves `private`'s directory and sends every other name on to `public`.

Package A (answer set "leading-digit-key") is built once and published to `private`. `public`
holds a public dependency and an impostor of A with a higher version whose import raises. Package
B (answer set "internal-deps-wif") is given both dependencies exactly as its
docs/internal-dependencies.md says: the snippet is read from the rendered page and only the
placeholder names and the index URLs are replaced. The page's uv and pip commands then install it,
and B's own tests run.

`virtual` is stricter than Artifact Registry: a name it holds is never looked up upstream, while a
virtual repository takes the highest version of all its upstreams. So the pip tests prove the
commands, not a defence against dependency confusion; the uv tests prove that defence.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import os
import re
import subprocess
import sys
import threading
import tomllib
import venv
import zipfile
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
import workflow_steps
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from helpers import BIN, Generated, Virtualenv, code_blocks, markdown_section, run
from package_index import USER, PackageIndex, running_index

pytestmark = pytest.mark.long

INTERNAL = "leading-digit-key"  # package A, published to the private index
CONSUMER = "internal-deps-wif"  # package B, which depends on A and on a public package
PUBLIC_DEPENDENCY = ("gar-public-dependency", "2.0.0", "gar_public_dependency")
IMPOSTOR_VERSION = "99.0.0"
# The placeholders of the docs' snippet, and what the tests put in their place.
PLACEHOLDER_INTERNAL = "other-internal-package"
PLACEHOLDER_PUBLIC = "some-public-package"


def write_wheel(directory: Path, name: str, version: str, files: dict[str, str]) -> Path:
    """A minimal valid pure-Python wheel, written by hand: faster than building one."""
    normal = re.sub(r"[-_.]+", "_", name).lower()
    info = f"{normal}-{version}.dist-info"
    contents = {
        **files,
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for path, text in contents.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    contents[f"{info}/RECORD"] = "\n".join([*record, f"{info}/RECORD,,"]) + "\n"
    wheel = directory / f"{normal}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in contents.items():
            archive.writestr(path, text)
    return wheel


@dataclass(frozen=True)
class Indexes:
    private: PackageIndex
    public: PackageIndex
    virtual: PackageIndex
    internal: Generated  # package A
    impostor: str  # file name of the impostor's wheel

    @property
    def internal_version(self) -> str:
        return str(self.internal.answers["initial_version"])

    def public_requests(self) -> str:
        """The paths the public index was asked for, one per line."""
        requests = self.public.requests()
        # Its start-up health check is always there: an empty log would pass for a clean one.
        assert any(r.path == "/health" for r in requests), "the public index logs no requests"
        return "\n".join(r.path for r in requests)


@pytest.fixture(scope="module")
def indexes(generate, shared_venv: Virtualenv, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Indexes]:
    internal = generate(INTERNAL)
    distribution = str(internal.answers["distribution_name"])
    package = str(internal.answers["package_name"])
    with ExitStack() as stack:
        private = stack.enter_context(running_index(tmp_path_factory.mktemp("private")))
        public = stack.enter_context(
            running_index(tmp_path_factory.mktemp("public"), authenticate="update", fallback="https://pypi.org/simple/")
        )
        virtual = stack.enter_context(
            running_index(tmp_path_factory.mktemp("virtual"), packages=private.packages, fallback=public.simple_url)
        )
        # A, built once from a clone of its generated repository (at its tag) into the private index.
        checkout = tmp_path_factory.mktemp("internal") / "checkout"
        run("git", "clone", "--quiet", internal.path, checkout)
        shared_venv.build(checkout, private.packages, "--wheel")
        name, version, module = PUBLIC_DEPENDENCY
        write_wheel(public.packages, name, version, {f"{module}.py": "VALUE = 'public'\n"})
        impostor = write_wheel(
            public.packages,
            distribution,
            IMPOSTOR_VERSION,
            {f"{package}/__init__.py": "raise ImportError('the impostor from the public index was installed')\n"},
        )
        yield Indexes(private, public, virtual, internal, impostor.name)


def registry(answers: dict[str, object], suffix: str = "") -> str:
    """HOST/PROJECT/REPOSITORY/simple/ of the internal-only virtual repository (uv's index); suffix
    "-all" gives the one with PyPI behind the packages."""
    host = f"{answers['gcp_location']}-python.pkg.dev"
    repository = answers["gcp_virtual_repository"] if suffix == "-all" else answers["gcp_internal_repository"]
    return f"{host}/{answers['gcp_project_id']}/{repository}/simple/"


def docs_section(project: Path, title: str) -> str:
    """A `## ` section of the rendered docs/internal-dependencies.md."""
    return markdown_section((project / "docs/internal-dependencies.md").read_text(), f"## {title}")


def block_with(section: str, language: str, text: str) -> str:
    found = [block for block in code_blocks(section, language) if text in block]
    assert len(found) == 1, f"no single {language} block with {text!r}"
    return found[0]


class Consumer:
    """A clone of B with A and the public package added as its docs say."""

    SECTION = "Depending on other internal packages"

    def __init__(self, project: Generated, indexes: Indexes, workdir: Path) -> None:
        self.project = project
        self.indexes = indexes
        self.path = workdir / "consumer"
        run("git", "clone", "--quiet", project.path, self.path)
        self.section = docs_section(self.path, self.SECTION)
        snippet = (
            block_with(self.section, "toml", "[tool.uv.sources]")
            .replace(PLACEHOLDER_INTERNAL, str(indexes.internal.answers["distribution_name"]))
            .replace(PLACEHOLDER_PUBLIC, PUBLIC_DEPENDENCY[0])
        )
        dependencies = re.search(r"^dependencies = \[.*?^\]\n", snippet, re.MULTILINE | re.DOTALL)
        sources = snippet.split("[tool.uv.sources]\n", 1)[1]
        assert dependencies and sources.strip()
        pyproject = self.path / "pyproject.toml"
        text = pyproject.read_text()
        assert text.count("dependencies = []\n") == 1 and text.count("[tool.uv.sources]\n") == 1
        text = text.replace("dependencies = []\n", dependencies.group(0))
        text = text.replace("[tool.uv.sources]\n", "[tool.uv.sources]\n" + sources)
        # The one other change: the private index's URL, with the same user name.
        url = f"https://{USER}@{registry(project.answers)}"
        assert text.count(url) == 1
        pyproject.write_text(text.replace(url, indexes.private.simple_url.replace("http://", f"http://{USER}@")))
        config = tomllib.loads(pyproject.read_text())
        assert config["tool"]["uv"]["sources"] == {
            str(indexes.internal.answers["distribution_name"]): {"index": "artifact-registry"}
        }
        self.bin = workdir / "bin"
        self.bin.mkdir()

    @property
    def virtual_url(self) -> str:
        """The docs' pip index, the virtual repository, with the user name it carries."""
        return f"https://{USER}@{registry(self.project.answers, '-all')}"

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a developer's shell: uv on PATH, PyPI played by the public index."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "PIP_INDEX", "PIP_EXTRA", "PIP_FIND"))}
        env.pop("VIRTUAL_ENV", None)
        env.update(
            PATH=f"{self.bin}{os.pathsep}{BIN}{os.pathsep}{os.environ['PATH']}",
            UV_DEFAULT_INDEX=self.indexes.public.simple_url,
            UV_PYTHON=sys.executable,
            UV_PYTHON_DOWNLOADS="never",
            UV_NO_PROGRESS="1",
            **extra,
        )
        return env

    def stand_in(self, name: str, script: str) -> None:
        """A command at the Google boundary (gcloud, keyring), first on PATH."""
        path = self.bin / name
        path.write_text(f"#!{sys.executable}\n{script}")
        path.chmod(0o755)

    def bash(self, script: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
            cwd=self.path,
            env=self.env(**env),
            capture_output=True,
            text=True,
            check=False,
        )

    def uv(self, *args: str) -> str:
        return run(BIN / "uv", *args, cwd=self.path, env=self.env())

    def locked_sources(self) -> dict[str, str]:
        lock = tomllib.loads((self.path / "uv.lock").read_text())
        return {p["name"]: p["source"].get("registry", "") for p in lock["package"] if "source" in p}

    def check_installed(self, python: Path) -> None:
        """A comes from the private index at its own version; the public package is there too."""
        package = self.indexes.internal.answers["package_name"]
        shown = run(
            python,
            "-c",
            f"import {package}, {PUBLIC_DEPENDENCY[2]} as p; print({package}.__version__, p.VALUE)",
            cwd=self.path,
        )
        assert shown.split() == [self.indexes.internal_version, "public"]
        assert self.indexes.impostor not in self.indexes.public_requests(), "the impostor's file was downloaded"


@pytest.fixture
def consumer(generate, indexes: Indexes, tmp_path: Path) -> Consumer:
    return Consumer(generate(CONSUMER), indexes, tmp_path)


def test_uv_token_route_takes_the_internal_package_from_the_private_index_only(
    consumer: Consumer, indexes: Indexes
) -> None:
    consumer.stand_in(
        "gcloud", "import os, sys\nassert sys.argv[1:] == ['auth', 'print-access-token']\nprint(os.environ['TOKEN'])\n"
    )
    script = block_with(consumer.section, "bash", "UV_INDEX_ARTIFACT_REGISTRY_PASSWORD")
    synced = consumer.bash(script, TOKEN=indexes.private.token)
    assert synced.returncode == 0, synced.stdout + synced.stderr

    internal = str(indexes.internal.answers["distribution_name"])
    sources = consumer.locked_sources()
    assert sources[internal] == indexes.private.simple_url
    assert sources[PUBLIC_DEPENDENCY[0]] == indexes.public.simple_url
    # uv never even asked the public index about A's name: no impostor can be chosen.
    assert f"/simple/{internal}/" not in indexes.public_requests()
    consumer.check_installed(consumer.path / ".venv/bin/python")
    tested = consumer.uv("run", "--frozen", "pytest", "-q", "-p", "no:cacheprovider")
    assert re.search(r"^\d+ passed", tested, re.MULTILINE), tested


def test_uv_keyring_route_asks_keyring_for_the_user_in_the_url(consumer: Consumer, indexes: Indexes) -> None:
    asked = consumer.path.parent / "keyring-calls"
    # Google's keyring plugin, played at the boundary: `keyring get URL USER` prints a token.
    consumer.stand_in(
        "keyring",
        "import sys\n"
        f"open({str(asked)!r}, 'a').write(' '.join(sys.argv[1:]) + '\\n')\n"
        f"if sys.argv[1:2] != ['get'] or sys.argv[3:] != [{USER!r}]:\n"
        "    sys.exit(1)\n"
        f"print({indexes.private.token!r})\n",
    )
    synced = consumer.bash(block_with(consumer.section, "bash", "--keyring-provider subprocess"))
    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert f" {USER}\n" in asked.read_text()
    consumer.check_installed(consumer.path / ".venv/bin/python")


class TokenEndpoint(http.server.BaseHTTPRequestHandler):
    """Google's OAuth token endpoint, played locally: any signed assertion gets TOKEN."""

    TOKEN = "ya29.a-token-for-the-reader"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = json.dumps({"access_token": self.TOKEN, "expires_in": 3600, "token_type": "Bearer"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_the_documented_keyring_install_gives_uv_a_token(consumer: Consumer, tmp_path: Path) -> None:
    """Google's real plugin at the documented versions: installed by the docs' line as printed, then
    asked as uv asks it (`keyring get URL oauth2accesstoken`) with Application Default Credentials
    (a service-account key here, whose token endpoint is local: the plugin and google-auth run)."""
    block = block_with(consumer.section, "bash", "uv tool install")
    [install] = [line for line in block.splitlines() if line.startswith("uv tool install ")]
    tools = {"UV_TOOL_DIR": str(tmp_path / "tools"), "UV_TOOL_BIN_DIR": str(tmp_path / "bin")}
    installed = consumer.bash(install, **tools)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    server = http.server.HTTPServer(("127.0.0.1", 0), TokenEndpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        credentials = tmp_path / "adc.json"
        credentials.write_text(
            json.dumps(
                {
                    "type": "service_account",
                    "project_id": "p",
                    "private_key_id": "1",
                    "private_key": pem.decode(),
                    "client_email": f"reader@{consumer.project.answers['gcp_project_id']}.iam.gserviceaccount.com",
                    "client_id": "1",
                    "token_uri": f"http://127.0.0.1:{server.server_port}/token",
                }
            )
        )
        url = f"https://{registry(consumer.project.answers)}"
        asked = subprocess.run(
            [tmp_path / "bin/keyring", "get", url, USER],
            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "GOOGLE_APPLICATION_CREDENTIALS": str(credentials)},
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        server.shutdown()
        server.server_close()
    assert asked.stdout.strip() == TokenEndpoint.TOKEN, asked.stderr


def test_without_credentials_the_internal_package_fails_to_install_and_nothing_falls_back(
    consumer: Consumer, indexes: Indexes
) -> None:
    # The docs' last uv command with no token and no keyring.
    failed = consumer.bash("uv sync")
    assert failed.returncode != 0
    message = failed.stderr
    assert indexes.private.simple_url in message, message
    # pypiserver answers 403 to the user name without a password that the URL carries (Artifact
    # Registry answers 401); with no user name at all it answers 401.
    assert re.search(r"\b(401 Unauthorized|403 Forbidden)\b", message), message
    assert "credentials" in message
    internal = str(indexes.internal.answers["distribution_name"])
    assert f"/simple/{internal}/" not in indexes.public_requests()


def fresh_venv(root: Path) -> Path:
    """A virtualenv with a pip recent enough for dependency groups, as setup-python provides."""
    venv.create(root, with_pip=False)
    run(BIN / "uv", "pip", "install", "--quiet", "--python", root / "bin/python", "pip>=25.1")
    return root / "bin"


def pip_env(consumer: Consumer, venv_bin: Path) -> dict[str, str]:
    env = consumer.env()
    env["PATH"] = f"{venv_bin}{os.pathsep}{env['PATH']}"
    return env


def test_workflow_install_step_and_docs_pip_command_install_through_one_index(
    consumer: Consumer, indexes: Indexes
) -> None:
    """The workflow's install step (uv, the explicit index, a local token), then the docs' pip
    command through the one virtual index, in a fresh virtualenv as setup-python gives."""
    workflow = workflow_steps.load(consumer.path / ".github/workflows/test.yml")
    installed = workflow_steps.run_step(
        workflow,
        "test",
        "Install the package and its test dependencies",
        cwd=consumer.path,
        local={"UV_LOCKED": "false", "UV_INDEX_ARTIFACT_REGISTRY_PASSWORD": indexes.private.token},
        path=consumer.env()["PATH"],
        runner={k: v for k, v in consumer.env().items() if k.startswith("UV_")},
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    consumer.check_installed(consumer.path / ".venv/bin/python")

    venv_bin = fresh_venv(consumer.path.parent / "venv")
    env = pip_env(consumer, venv_bin)
    command = block_with(consumer.section, "bash", "pip install --index-url")
    assert command.count(consumer.virtual_url) == 1 and "--extra-index-url" not in command
    installed = subprocess.run(
        [
            "bash",
            "--noprofile",
            "--norc",
            "-eo",
            "pipefail",
            "-c",
            command.replace(consumer.virtual_url, indexes.virtual.authenticated_simple_url),
        ],
        cwd=consumer.path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    consumer.check_installed(venv_bin / "python")
    tested = run(venv_bin / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=consumer.path)
    assert re.search(r"^\d+ passed", tested, re.MULTILINE), tested


# --- The rendered files, for every answer set ----------------------------------------------------


def test_test_workflow_reads_artifact_registry_only_where_it_installs(project: Generated) -> None:
    workflow = yaml.safe_load((project.path / ".github/workflows/test.yml").read_text())
    answers = project.answers
    internal = answers["internal_dependencies"]
    wif = answers["publish_auth"] == "workload_identity"
    for name, job in workflow["jobs"].items():
        reads = internal and wif  # both jobs resolve the dependencies, so both sign in
        assert job["permissions"] == {"contents": "read", **({"id-token": "write"} if reads else {})}, name
    steps = workflow["jobs"]["test"]["steps"]
    auth = [s for s in steps if s.get("id") == "auth"]
    install = workflow_steps.step(workflow, "test", "Install the package and its test dependencies")
    if not internal:
        assert auth == [] and set(install["env"]) == {"UV_LOCKED"}
        return
    assert steps.index(auth[0]) < steps.index(install)
    lint_auth = [s for s in workflow["jobs"]["lint"]["steps"] if s.get("id") == "auth"]
    assert [s["with"] for s in lint_auth] == [auth[0]["with"]]
    # The reader the setup creates and binds (the organisation's, or in key mode the package's own).
    reader = json.loads((project.path / "scripts/gcp_settings.json").read_text())["organisation"]["reader"]
    expected_auth = {
        "service_account": reader,
        "token_format": "access_token",
        "access_token_lifetime": "600s",
        "create_credentials_file": False,
        "export_environment_variables": False,
    }
    if wif:
        expected_auth["workload_identity_provider"] = (
            f"projects/{answers['gcp_project_number']}/locations/global/workloadIdentityPools/"
            f"{answers['gcp_workload_identity_pool']}/providers/{answers['gcp_workload_identity_provider']}"
        )
    else:
        expected_auth["credentials_json"] = "${{ secrets.ARTIFACT_REGISTRY_READER_KEY }}"
        assert workflow[True]["workflow_call"]["secrets"]["ARTIFACT_REGISTRY_READER_KEY"]["required"] is True
    assert auth[0]["with"] == expected_auth
    token = "${{ steps.auth.outputs.access_token }}"
    assert install["env"] == {
        "UV_LOCKED": "${{ hashFiles('uv.lock') != '' }}",
        "UV_INDEX_ARTIFACT_REGISTRY_USERNAME": USER,
        "UV_INDEX_ARTIFACT_REGISTRY_PASSWORD": token,
    }
    assert answers["gcp_reader_service_account"] != answers["gcp_service_account"]


def test_dependabot_reads_only_the_virtual_repository_when_there_are_internal_dependencies(
    project: Generated,
) -> None:
    config = yaml.safe_load((project.path / ".github/dependabot.yml").read_text())
    pip = next(u for u in config["updates"] if u["package-ecosystem"] == "uv")
    answers = project.answers
    if not answers["internal_dependencies"] or answers["publish_auth"] == "workload_identity":
        # Without a key, Dependabot gets the registry from the organisation (OIDC), not this file.
        assert "registries" not in config and "registries" not in pip
        return
    key = {"username": "_json_key_base64", "password": "${{secrets.ARTIFACT_REGISTRY_READER_KEY}}"}
    assert config["registries"] == {
        "artifact-registry": {"type": "python-index", "url": f"https://{registry(answers, '-all')}", **key}
        | {"replaces-base": True},
        # The explicit index uv asks for the internal names, as pyproject.toml names it.
        "artifact-registry-internal": {"type": "python-index", "url": f"https://{registry(answers)}", **key},
    }
    index = tomllib.loads((project.path / "pyproject.toml").read_text())["tool"]["uv"]["index"]
    assert [entry["url"].replace("oauth2accesstoken@", "") for entry in index] == [
        config["registries"]["artifact-registry-internal"]["url"]
    ]
    assert pip["registries"] == ["artifact-registry", "artifact-registry-internal"]


def test_docs_for_other_repositories_match_this_projects_configuration(generate) -> None:
    """The snippets for a repository not generated from the template say what this one does."""
    project = generate(CONSUMER)
    section = docs_section(project.path, "Using these packages from another repository")
    pyproject = tomllib.loads((project.path / "pyproject.toml").read_text())
    theirs_index = tomllib.loads(block_with(section, "toml", "[[tool.uv.index]]"))["tool"]["uv"]["index"]
    assert theirs_index == pyproject["tool"]["uv"]["index"]
    steps = yaml.safe_load(block_with(section, "yaml", "google-github-actions/auth"))
    workflow = yaml.safe_load((project.path / ".github/workflows/test.yml").read_text())
    ours = {s.get("id") or s.get("name"): s for s in workflow["jobs"]["test"]["steps"]}
    theirs = {s.get("id") or s.get("name"): s for s in steps}
    # The docs name the action and leave its pin to the workflow they point to, which Dependabot updates.
    action, pin = theirs["auth"]["uses"].split("@")
    assert (action, pin) == (ours["auth"]["uses"].split("@")[0], "SHA")
    publish = yaml.safe_load((project.path / ".github/workflows/publish.yml").read_text())
    pinned = {s["uses"] for job in publish["jobs"].values() for s in job.get("steps", []) if "uses" in s}
    assert ours["auth"]["uses"] in pinned, "the workflow the docs point to holds the same pin"
    keep = {"token_format", "access_token_lifetime", "create_credentials_file"}
    assert {k: v for k, v in theirs["auth"]["with"].items() if k in keep} == {
        k: v for k, v in ours["auth"]["with"].items() if k in keep
    }
    ours_env = ours["Install the package and its test dependencies"]["env"]
    assert {k: v for k, v in theirs["Install"]["env"].items() if k.startswith("UV_")} == {
        k: v for k, v in ours_env.items() if k.startswith("UV_INDEX_")
    }
    assert f"--reader serviceAccount:{theirs['auth']['with']['service_account']}" in section


def test_unknown_project_number_warns_with_the_instruction(copie) -> None:
    """The first push comes before the setup: a warning, not a failure (tests/test_workflows.py
    runs the steps)."""
    result = copie.copy(extra_answers={"internal_dependencies": True})
    assert result.exception is None, result.exception
    workflow = yaml.safe_load((result.project_dir / ".github/workflows/test.yml").read_text())
    for job in ("lint", "test"):
        steps = workflow["jobs"][job]["steps"]
        assert steps[0]["name"] == "Say that internal dependencies wait for the Google Cloud setup"
        assert "::warning::" in steps[0]["run"] and "Run the Google Cloud setup (README.md" in steps[0]["run"]
        assert "exit 1" not in steps[0]["run"]
