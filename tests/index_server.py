"""pypiserver's own command line, served by wsgiref with a thread per connection.

Without waitress or paste installed, pypiserver runs on wsgiref's server, which answers one
connection at a time from a backlog of five. uv opens many connections at once; one over the
backlog waits for TCP's one-second retry of its first packet. And pypiserver refuses an upload
before reading its body, then closes the connection, which uv sees as a reset and retries after a
pause. Both are waits on a clock that Artifact Registry does not make the tests wait. So wsgiref
gets threads and a deep backlog here, and every request's body is read before pypiserver answers.
The access log stays wsgiref's, which tests/package_index.py reads.
"""

from __future__ import annotations

import io
import socketserver
import wsgiref.simple_server
from collections.abc import Callable, Iterable
from typing import Any

from pypiserver.__main__ import main

App = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class ThreadingWSGIServer(socketserver.ThreadingMixIn, wsgiref.simple_server.WSGIServer):
    daemon_threads = True
    request_queue_size = 128


def body_read_first(app: App) -> App:
    def read_then_answer(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        environ["wsgi.input"] = io.BytesIO(environ["wsgi.input"].read(length))
        return app(environ, start_response)

    return read_then_answer


_make_server = wsgiref.simple_server.make_server


def make_server(host: str, port: int, app: App, server_class: Any, handler_class: Any) -> Any:
    """What bottle's wsgiref adapter calls (it imports this name when it starts the server)."""
    return _make_server(host, port, body_read_first(app), ThreadingWSGIServer, handler_class)


wsgiref.simple_server.make_server = make_server  # type: ignore[assignment]

if __name__ == "__main__":
    main()
