"""Local stand-ins for the PR team's inbox and IM: an SMTP server that appends every message to an
mbox file, and an HTTP server that appends every JSON body it receives to a JSON Lines file.
Both listen on 127.0.0.1 at an ephemeral port, so the demo needs no network and no account.
"""

from __future__ import annotations

import json
import mailbox
import socket
import threading
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from aiosmtpd.controller import Controller

from pipeline.demo.loopback import serve, shut


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MailboxSink:
    """SMTP on 127.0.0.1 (no TLS, no auth: loopback only) into ``path`` (mbox)."""

    def __init__(self, path: Path):
        self.path = path
        self.port = _free_port()
        self.received: list = []
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self._lock:
            box = mailbox.mbox(self.path)
            try:
                box.add(message)
                box.flush()
            finally:
                box.close()
            self.received.append(message)
        return "250 OK"

    def start(self) -> MailboxSink:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.touch()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


class WebhookSink:
    """HTTP on 127.0.0.1: each POSTed JSON body becomes one line of ``path``."""

    def __init__(self, path: Path):
        self.path = path
        self.received: list[dict] = []
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the sink first"
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks/yuqing"

    def start(self) -> WebhookSink:
        sink = self
        lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.touch()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 (the stdlib's name)
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"null")
                except ValueError:
                    self._answer(400, b'{"ok": false, "error": "not JSON"}')
                    return
                with lock:
                    sink.received.append(body)
                    with sink.path.open("a", encoding="utf-8") as f:
                        f.write(json.dumps(body, ensure_ascii=False, default=str) + "\n")
                self._answer(200, b'{"ok": true}')

            def _answer(self, status: int, data: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):  # the demo prints its own story
                pass

        self._server = serve(Handler)
        return self

    def stop(self) -> None:
        shut(self._server)
        self._server = None
