"""A threaded HTTP server on 127.0.0.1 at an ephemeral port, for the demo's site and sinks."""

from __future__ import annotations

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LoopbackServer(ThreadingHTTPServer):
    """A threaded HTTP server whose handler threads die with the process, and which says nothing
    when a client hangs up mid-answer (a crawl killed or timed out while a slow page was still
    being served). socketserver would print that traceback to whatever sys.stderr is at the
    moment, for the demo the user's terminal, in the tests another test's captured output."""

    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def serve(handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    """Start serving ``handler`` in a daemon thread; the port is ``server.server_address[1]``."""
    server = LoopbackServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def shut(server: ThreadingHTTPServer | None) -> None:
    if server is not None:
        server.shutdown()
        server.server_close()
