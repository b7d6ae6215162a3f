"""A real webhook receiver for the tests: an ``http.server`` on a free loopback port, in a
thread, that verifies each delivery's signature as a storefront would (the README's snippet)
and answers as the test scripts it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def signature_valid(secret: str, headers, body: bytes) -> bool:
    """The storefront's check (Standard Webhooks): any ``v1,`` signature of the header matches."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['Webhook-Id']}.{headers['Webhook-Timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(
        hmac.compare_digest(expected, candidate.removeprefix("v1,"))
        for candidate in headers["Webhook-Signature"].split(" ")
    )


@dataclass
class Received:
    headers: dict
    body: bytes

    @property
    def document(self) -> dict:
        return json.loads(self.body)

    @property
    def webhook_id(self) -> str:
        return self.headers["Webhook-Id"]


@dataclass
class Receiver:
    """``answers``: what the next requests get, in turn: a status code, or ``("sleep", s)``
    to answer 200 only after ``s`` seconds; 200 once the list is used up."""

    server: ThreadingHTTPServer
    received: list[Received] = field(default_factory=list)
    answers: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/hooks"

    def types(self) -> list[str]:
        return [r.document["type"] for r in self.received]


def receiver_start(host: str = "127.0.0.1", port: int = 0) -> Receiver:
    receiver: Receiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with receiver.lock:
                answer = receiver.answers.pop(0) if receiver.answers else 200
                receiver.received.append(Received(dict(self.headers), body))
            if isinstance(answer, tuple):
                time.sleep(answer[1])
                answer = 200
            try:
                self.send_response(answer)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            except OSError:
                pass  # the sender gave up waiting

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    receiver = Receiver(server=server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return receiver
