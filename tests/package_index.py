"""A real package index for the publishing tests: pypiserver on 127.0.0.1 with htpasswd auth.

It stands in for Artifact Registry the way the publish workflow talks to it: uploads and
downloads both need the user `oauth2accesstoken` and a token as password.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

USER = "oauth2accesstoken"
SERVER = Path(__file__).with_name("index_server.py")
# The access log line of one request: "METHOD PATH HTTP/1.1" STATUS.
ACCESS = re.compile(r'"([A-Z]+) (\S+) HTTP/[\d.]+" (\d{3}) ')


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    status: int


@dataclass(frozen=True)
class PackageIndex:
    port: int
    token: str
    packages: Path
    log: Path

    @property
    def upload_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def simple_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/simple/"

    @property
    def authenticated_simple_url(self) -> str:
        return f"http://{USER}:{self.token}@127.0.0.1:{self.port}/simple/"

    def requests(self) -> list[Request]:
        """Every request the index has answered so far, in order, from its access log."""
        return [Request(m, p, int(s)) for m, p, s in ACCESS.findall(self.log.read_text())]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_index(
    root: Path,
    authenticate: str = "update,download,list",
    *,
    packages: Path | None = None,
    fallback: str | None = None,
) -> Iterator[PackageIndex]:
    """Start pypiserver (tests/index_server.py), wait until it answers, and always stop it.

    `authenticate` lists the actions that need the token; "update" alone leaves reading public.
    `packages` serves another index's directory; `fallback` redirects a request for a name that is
    not there to that index's /simple/ URL. The log records every request.
    """
    if packages is None:
        packages = root / "packages"
        packages.mkdir(parents=True)
    token = secrets.token_urlsafe(24)
    # Apache's {SHA} htpasswd format, which pypiserver's passlib reads; written with the standard
    # library because importing passlib here warns about the deprecated crypt module.
    digest = base64.b64encode(hashlib.sha1(token.encode()).digest()).decode()
    (root / "htpasswd").write_text(f"{USER}:{{SHA}}{digest}\n")
    index = PackageIndex(port=free_port(), token=token, packages=packages, log=root / "pypiserver.log")
    log = index.log.open("w")
    server = subprocess.Popen(
        [
            sys.executable,
            str(SERVER),
            "run",
            "--server",
            "wsgiref",  # tests/index_server.py gives it threads; its access log is what requests() reads
            "--port",
            str(index.port),
            "--host",
            "127.0.0.1",
            "--passwords",
            str(root / "htpasswd"),
            "-v",  # logs every request: tests read which names an index was asked for
            "--authenticate",
            authenticate,
            *(["--fallback-url", fallback] if fallback else ["--disable-fallback"]),
            str(packages),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{index.port}/health", timeout=1):
                    break
            except (urllib.error.URLError, ConnectionError):
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"pypiserver did not start: {index.log.read_text()}") from None
                time.sleep(0.1)
        yield index
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
