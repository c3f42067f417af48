"""An HTTP server that plays DingTalk, WeCom, Feishu, Slack and a generic webhook receiver.

Each endpoint checks what the real platform checks (token, signature and its time window,
payload shape, size limits) and answers the way the platform does: DingTalk, WeCom and Feishu
report errors in a 200 body, Slack with 4xx text. ``fail(platform, *modes)`` queues misbehaviour
for the next requests: ``"500"``, ``"errcode"``, ``"throttle"``, ``"hang"`` (no answer, message
not taken), ``"accept_hang"`` (message taken, no answer) and ``"drop"`` (connection closed).
``stop()``/``start()`` make an outage on the same port.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from pipeline.demo.loopback import LoopbackServer

DINGTALK_TOKEN = "dt-token"
DINGTALK_SECRET = "SECdingtalk-test-secret"
WECOM_KEY = "wecom-key-123"
FEISHU_HOOK = "feishu-hook-456"
FEISHU_SECRET = "feishu-test-secret"
SLACK_PATH = "/services/T000/B000/XXXX"
WEBHOOK_TOKEN = "webhook-bearer"


@dataclass
class Received:
    platform: str
    payload: dict
    headers: dict
    query: dict
    at: float = field(default_factory=time.time)


class Sink:
    def __init__(self, hang_seconds: float = 1.5):
        self.hang_seconds = hang_seconds
        self.received: list[Received] = []
        self.rejected: list[tuple[str, str]] = []  # (platform, why) of invalid requests
        self.webhook_duplicates = 0
        self._modes: dict[str, list[str]] = defaultdict(list)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.port = 0

    # -- control -------------------------------------------------------------------------
    def start(self) -> Sink:
        sink = self

        class Handler(_Handler):
            pass

        Handler.sink = sink
        self._server = LoopbackServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        # A short poll interval makes stop() (an outage in a test) quick.
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def fail(self, platform: str, *modes: str) -> None:
        with self._lock:
            self._modes[platform].extend(modes)

    def next_mode(self, platform: str) -> str | None:
        with self._lock:
            queue = self._modes[platform]
            return queue.pop(0) if queue else None

    def record(self, item: Received) -> None:
        with self._lock:
            self.received.append(item)

    def of(self, platform: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.platform == platform]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- the URLs a config points at --------------------------------------------------------
    def dingtalk_url(self) -> str:
        return f"{self.base}/robot/send?access_token={DINGTALK_TOKEN}"

    def feishu_url(self) -> str:
        return f"{self.base}/open-apis/bot/v2/hook/{FEISHU_HOOK}"

    def slack_url(self) -> str:
        return f"{self.base}{SLACK_PATH}"

    def webhook_url(self) -> str:
        return f"{self.base}/hooks/yuqing"


def dingtalk_expected_sign(timestamp: str) -> str:
    mac = hmac.new(
        DINGTALK_SECRET.encode(), f"{timestamp}\n{DINGTALK_SECRET}".encode(), hashlib.sha256
    )
    return base64.b64encode(mac.digest()).decode()


def feishu_expected_sign(timestamp: str) -> str:
    mac = hmac.new(f"{timestamp}\n{FEISHU_SECRET}".encode(), b"", hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


class _Handler(BaseHTTPRequestHandler):
    sink: Sink
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def _answer(self, status: int, body, headers: dict | None = None) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        try:
            payload = json.loads(raw.decode("utf-8"))
        except ValueError:
            payload = None
        if parts.path == "/robot/send":
            platform = "dingtalk"
        elif parts.path == "/cgi-bin/webhook/send":
            platform = "wecom"
        elif parts.path.startswith("/open-apis/bot/v2/hook/"):
            platform = "feishu"
        elif parts.path.startswith("/services/"):
            platform = "slack"
        elif parts.path == "/hooks/yuqing":
            platform = "webhook"
        else:
            return self._answer(404, b"not found")
        item = Received(platform, payload or {}, dict(self.headers), query)
        mode = self.sink.next_mode(platform)
        if mode == "drop":
            self.close_connection = True
            return
        if mode in ("hang", "accept_hang"):
            if mode == "accept_hang" and self._valid(platform, item) is None:
                self.sink.record(item)
            time.sleep(self.sink.hang_seconds)
            self.close_connection = True
            return
        if mode == "500":
            return self._answer(500, b"internal error")
        if mode in ("errcode", "throttle"):
            return self._error(platform, mode)
        problem = self._valid(platform, item)
        if problem is not None:
            self.sink.rejected.append((platform, problem))
            return self._invalid(platform, problem)
        if platform == "webhook":
            key = item.headers.get("Idempotency-Key")
            # A well-behaved receiver: the same key twice is acknowledged and dropped.
            if any(r.headers.get("Idempotency-Key") == key for r in self.sink.of("webhook")):
                self.sink.webhook_duplicates += 1
                return self._answer(200, {"ok": True, "duplicate": True})
        self.sink.record(item)
        if platform == "slack":
            return self._answer(200, b"ok")
        if platform == "feishu":
            return self._answer(200, {"code": 0, "msg": "success", "data": {}})
        if platform == "webhook":
            return self._answer(202, {"ok": True})
        return self._answer(200, {"errcode": 0, "errmsg": "ok"})

    def _error(self, platform: str, mode: str) -> None:
        throttled = mode == "throttle"
        if platform == "dingtalk":
            code = 130101 if throttled else 300001
            return self._answer(
                200,
                {"errcode": code, "errmsg": "send too fast" if throttled else "token is not exist"},
            )
        if platform == "wecom":
            return self._answer(200, {"errcode": 45009 if throttled else 93000, "errmsg": "err"})
        if platform == "feishu":
            return self._answer(
                200, {"code": 11232 if throttled else 9499, "msg": "err", "data": {}}
            )
        if platform == "slack":
            if throttled:
                return self._answer(429, b"rate_limited", {"Retry-After": "1"})
            return self._answer(404, b"no_service")
        return self._answer(503 if throttled else 400, b"error", {"Retry-After": "1"})

    def _invalid(self, platform: str, problem: str) -> None:
        if platform == "dingtalk":
            code = 310000 if "sign" in problem else 40035
            return self._answer(200, {"errcode": code, "errmsg": problem})
        if platform == "wecom":
            return self._answer(200, {"errcode": 40058, "errmsg": problem})
        if platform == "feishu":
            code = 19021 if "sign" in problem else 9499
            return self._answer(200, {"code": code, "msg": problem, "data": {}})
        if platform == "webhook" and "token" in problem:
            return self._answer(401, problem.encode())
        return self._answer(400, problem.encode())

    def _valid(self, platform: str, item: Received) -> str | None:
        """Why the request would be rejected by the platform, or None."""
        p, q = item.payload, item.query
        now = time.time()
        if not isinstance(p, dict) or not p:
            return "body is not a JSON object"
        if platform == "dingtalk":
            if q.get("access_token") != DINGTALK_TOKEN:
                return "token is not exist"
            stamp = q.get("timestamp", "")
            if not stamp.isdigit() or abs(now * 1000 - int(stamp)) > 3600_000:
                return "sign: timestamp missing or outside one hour"
            if q.get("sign") != dingtalk_expected_sign(stamp):
                return "sign not match"
            md = p.get("markdown") or {}
            if p.get("msgtype") != "markdown" or not md.get("title") or not md.get("text"):
                return "markdown.title and markdown.text are required"
            if len(md["text"].encode()) > 20000:
                return "message too long"
            at = p.get("at", {})
            if not isinstance(at.get("atMobiles", []), list) or at.get("isAtAll"):
                return "bad at"
            return None
        if platform == "wecom":
            if q.get("key") != WECOM_KEY:
                return "invalid webhook url"
            content = (p.get("markdown") or {}).get("content")
            if p.get("msgtype") != "markdown" or not content:
                return "markdown.content is required"
            if len(content.encode()) > 4096:
                return "content exceeds max length"
            return None
        if platform == "feishu":
            if not urlsplit(self.path).path.endswith(FEISHU_HOOK):
                return "token invalid"
            stamp = str(p.get("timestamp", ""))
            if not stamp.isdigit() or abs(now - int(stamp)) > 3600:
                return "sign match fail or timestamp is not within one hour from current time"
            if p.get("sign") != feishu_expected_sign(stamp):
                return "sign match fail or timestamp is not within one hour from current time"
            if len(json.dumps(p, ensure_ascii=False).encode()) > 20 * 1024:
                return "request body too large"
            if p.get("msg_type") == "text":
                return None if (p.get("content") or {}).get("text") else "content.text required"
            card = p.get("card") or {}
            if p.get("msg_type") != "interactive" or not card.get("elements"):
                return "msg_type interactive needs a card with elements"
            if card.get("header", {}).get("title", {}).get("tag") != "plain_text":
                return "card header title must be plain_text"
            return None
        if platform == "slack":
            if not isinstance(p.get("text"), str) or not isinstance(p.get("blocks"), list):
                return "invalid_payload"
            if len(p["blocks"]) > 50:
                return "invalid_blocks"
            for block in p["blocks"]:
                text = block.get("text") or {}
                if block["type"] == "header" and (
                    text.get("type") != "plain_text" or len(text.get("text", "")) > 150
                ):
                    return "invalid_blocks"
                if block["type"] == "section" and len(text.get("text", "")) > 3000:
                    return "invalid_blocks"
            return None
        if platform == "webhook":
            if item.headers.get("Authorization") != f"Bearer {WEBHOOK_TOKEN}":
                return "bad token"
            if p.get("version") != 1 or p.get("key") != item.headers.get("Idempotency-Key"):
                return "key header and body disagree"
            if not isinstance(p.get("notification"), dict):
                return "notification missing"
            return None
        return "unknown platform"
