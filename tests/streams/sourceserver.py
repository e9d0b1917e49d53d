"""A real local HTTP server standing in for a source of `salvo connect` (an RSS feed, the alerts.in.ua API),
and a reader of what the connector produced."""

from __future__ import annotations

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TypeVar

from pydantic import BaseModel

from streams.reader import TopicReader
from streams.settings import SalvoSettings

M = TypeVar("M", bound=BaseModel)
LAST_MODIFIED = "Tue, 08 Dec 2026 00:00:00 GMT"


class SourceServer:
    """One document at `path`: ETag and Last-Modified support (304 on a match), and a status or a body to
    answer instead; `requests` keeps the headers of every request."""

    def __init__(self, body: str, *, content_type: str, path: str) -> None:
        self.body = body
        self.status = 200
        self.path = path
        self.requests: list[dict[str, str]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                outer.requests.append(dict(self.headers))
                tag = '"' + hashlib.sha256(outer.body.encode()).hexdigest()[:16] + '"'
                if outer.status != 200:
                    self.send_response(outer.status)
                    self.end_headers()
                    return
                if self.headers.get("If-None-Match") == tag or self.headers.get("If-Modified-Since") == tag:
                    self.send_response(304)
                    self.end_headers()
                    return
                payload = outer.body.encode()
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("ETag", tag)
                self.send_header("Last-Modified", tag)  # a stand-in date: servers compare it as given
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self._handler = Handler
        self.server: ThreadingHTTPServer | None = None
        self.port = 0
        self.start()

    def start(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        assert self.server is not None
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"


def items_on(settings: SalvoSettings, topic: str, contract: type[M], expect: int) -> list[M]:
    """What is on `topic`, once `expect` items arrived (or 5 s passed), plus anything more within 0.5 s."""
    out: list[M] = []
    with TopicReader(settings, [topic]) as reader:
        for _ in range(10):
            out += [contract.model_validate_json(r.value) for r in reader.poll(0.5) if r.value]
            if len(out) >= expect:
                break
        out += [contract.model_validate_json(r.value) for r in reader.poll(0.5) if r.value]  # nothing more
    return out
