"""The replica's HTTP server: routes by path, faults by URL substring, a hit log per URL."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from pipeline.demo.loopback import LoopbackServer


@dataclass
class Page:
    body: bytes | str = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    encoding: str = "utf-8"

    def payload(self) -> bytes:
        return self.body if isinstance(self.body, bytes) else self.body.encode(self.encoding)


@dataclass
class Request:
    path: str
    query: dict[str, str]
    url: str  # path and query as requested
    headers: dict[str, str]


@dataclass
class Fault:
    """What to do instead of (or to) the real page, for the next ``times`` matching requests."""

    match: str
    times: int = 1
    status: int | None = None  # answer with this status and a small error page
    delay: float = 0.0  # wait this long first (slow site)
    body: bytes | None = None  # answer 200 with this body instead (garbage, block page)
    redirect: str | None = None  # 302 to this path (login page)
    truncate: bool = False  # serve only the first half of the real page


Handler = Callable[[Request], Page]


class Replica:
    def __init__(self, robots: str = "User-agent: *\nDisallow: /private/\n"):
        self.routes: list[tuple[str, Handler]] = []
        self.faults: list[Fault] = []
        self.hits: list[str] = []
        self.robots = robots
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def route(self, prefix: str, handler: Handler) -> None:
        self.routes.append((prefix, handler))

    def fault(self, match: str, **kwargs) -> Fault:
        fault = Fault(match, **kwargs)
        with self._lock:
            self.faults.append(fault)
        return fault

    def hit_count(self, substring: str) -> int:
        return sum(substring in url for url in self.hits)

    def _take_fault(self, url: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.times > 0 and fault.match in url:
                    fault.times -= 1
                    return fault
        return None

    def respond(self, request: Request) -> Page:
        with self._lock:
            self.hits.append(request.url)
        if request.path == "/robots.txt":
            return Page(self.robots, content_type="text/plain")
        fault = self._take_fault(request.url)
        if fault and fault.delay:
            time.sleep(fault.delay)
        if fault and fault.status:
            return Page(f"<html><body>error {fault.status}</body></html>", status=fault.status)
        if fault and fault.redirect:
            return Page("", status=302, headers={"Location": fault.redirect})
        if fault and fault.body is not None:
            return Page(fault.body)
        for prefix, handler in sorted(self.routes, key=lambda r: -len(r[0])):
            if request.path.startswith(prefix):
                page = handler(request)
                if fault and fault.truncate:
                    data = page.payload()
                    page = Page(data[: len(data) // 2], page.status, page.content_type)
                return page
        return Page("<html><body>404</body></html>", status=404)

    def start(self) -> None:
        replica = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802 (the stdlib's name)
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                page = replica.respond(
                    Request(parts.path, query, self.path, dict(self.headers.items()))
                )
                data = page.payload()
                self.send_response(page.status)
                self.send_header("Content-Type", page.content_type)
                self.send_header("Content-Length", str(len(data)))
                for name, value in page.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):  # keep pytest output clean
                pass

        self._server = LoopbackServer(("127.0.0.1", 0), _Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
