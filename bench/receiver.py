"""A local webhook receiver for the benchmarks (bench/run.py, bench/durability.py).

    with Receiver() as receiver:
        url = receiver.url("/hook-1")  # subscribe this; the server needs
        ...                            # ZWR_WEBHOOK_ALLOW_INSECURE/PRIVATE=true for it
        receiver.deliveries()          # what arrived, in order

A ThreadingHTTPServer on 127.0.0.1 (a free port), HTTP/1.1 keep-alive as the worker's client
expects, answering every POST 200 with an empty body. For each delivery it records the path
(one per subscriber), the `webhook-id` header (the event's id in the feed), the arrival time
and the event's `occurred_at` from the body (when it was committed), both as epoch seconds of
this machine's clock, which the server shares. Signatures are not checked.
"""

import json
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Delivery:
    path: str
    webhook_id: str
    arrived: float  # time.time() once the body was read
    occurred: float | None  # the body's occurred_at; None when it had none

    @property
    def latency_s(self) -> float | None:
        return None if self.occurred is None else self.arrived - self.occurred


def _occurred(body: bytes) -> float | None:
    try:
        value = json.loads(body)["occurred_at"]
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver listens with a backlog of 5: connections opened faster than it accepts
    # them (a sender that does not keep them alive) would lose SYNs, each retried only after
    # a second.
    request_queue_size = 1024


class Receiver:
    """Records every POST; use as a context manager (starts and stops its thread)."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self._lock = threading.Lock()
        self._deliveries: list[Delivery] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                arrived = time.time()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
                delivery = Delivery(
                    self.path, self.headers.get("webhook-id", ""), arrived, _occurred(body)
                )
                with receiver._lock:
                    receiver._deliveries.append(delivery)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = _Server((host, 0), Handler)
        self._thread = threading.Thread(
            target=self.server.serve_forever, name="webhook-receiver", daemon=True
        )

    def url(self, path: str = "/") -> str:
        return f"http://{self.host}:{self.server.server_port}{path}"

    def deliveries(self) -> list[Delivery]:
        with self._lock:
            return list(self._deliveries)

    def __enter__(self) -> "Receiver":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)
