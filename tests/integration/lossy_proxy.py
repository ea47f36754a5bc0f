"""An HTTP proxy in front of fakesnow's server that can lose the answer to a query it forwarded.

The real snowflake-connector-python talks to it as if it were Snowflake. Every
``/queries/v1/query-request`` is counted with its SQL, request id and retry count,
then forwarded, so fakesnow runs it; on command the proxy then throws the answer
away ("fails after executing"): it answers 503 instead, or closes the socket
without a word -- what a load balancer or a dropped network does to a client
whose statement already ran. Login requests can be refused (socket closed before
forwarding) to model a failure that provably reached no statement.

Standard library only; one thread, on 127.0.0.1 and a free port, stopped by
:meth:`LossyProxy.stop`.
"""

from __future__ import annotations

import gzip
import http.client
import json
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

QUERY_PATH = "/queries/v1/query-request"
LOGIN_PATH = "/session/v1/login-request"
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


@dataclass(frozen=True)
class Query:
    """One query request the proxy forwarded (so the server ran it)."""

    sql: str
    request_id: str
    retry_count: int
    answered: bool


@dataclass
class _Loss:
    fragment: str
    how: str
    every_attempt: bool
    request_id: str | None = None


class LossyProxy:
    """Forwards everything to ``upstream_port``; loses the answers it is told to lose."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.queries: list[Query] = []
        self.login_attempts = 0
        self._logins_to_refuse = 0
        self._losses: list[_Loss] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="lossy proxy", daemon=True)

    def start(self) -> LossyProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def lose_answer(self, fragment: str, how: str = "503", every_attempt: bool = False) -> None:
        """Lose the answer to the next query containing ``fragment`` after the server ran it.

        ``how`` is ``"503"`` (Service Unavailable) or ``"close"`` (socket closed, no answer).
        With ``every_attempt``, resends of that request (same request id) lose theirs too.
        """
        with self._lock:
            self._losses.append(_Loss(fragment.lower(), how, every_attempt))

    def refuse_logins(self, count: int) -> None:
        """Close the socket on the next ``count`` login requests without forwarding them."""
        with self._lock:
            self._logins_to_refuse = count

    def executions(self, fragment: str) -> list[Query]:
        """The forwarded (so executed) query requests whose SQL contains ``fragment``."""
        with self._lock:
            return [q for q in self.queries if fragment.lower() in q.sql.lower()]

    # -- called from the handler threads ----------------------------------------------------------
    def _take_login_refusal(self) -> bool:
        with self._lock:
            self.login_attempts += 1
            if self._logins_to_refuse > 0:
                self._logins_to_refuse -= 1
                return True
            return False

    def _loss_for(self, sql: str, request_id: str) -> str | None:
        with self._lock:
            for loss in self._losses:
                if loss.request_id is None and loss.fragment in sql.lower():
                    loss.request_id = request_id
                    if not loss.every_attempt:
                        self._losses.remove(loss)
                    return loss.how
                if loss.request_id == request_id:
                    return loss.how
            return None

    def _record(self, query: Query) -> None:
        with self._lock:
            self.queries.append(query)


def _handler_for(proxy: LossyProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._relay()

        def do_POST(self) -> None:
            self._relay()

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the tests read :attr:`LossyProxy.queries` instead."""

        def _relay(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            path = urlsplit(self.path).path
            if path == LOGIN_PATH and proxy._take_login_refusal():
                self._hang_up()
                return
            status, headers, answer = self._forward(body)
            if path == QUERY_PATH:
                how = self._count_query(body)
                if how == "503":
                    status, headers, answer = 503, [("Content-Type", "text/plain")], b"Service Unavailable"
                elif how == "close":
                    self._hang_up()
                    return
            self.send_response(status)
            for name, value in headers:
                if name.lower() not in _HOP_BY_HOP:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
            upstream = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=30)
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in {"connection", "keep-alive"}}
                upstream.request(self.command, self.path, body=body or None, headers=headers)
                response = upstream.getresponse()
                return response.status, response.getheaders(), response.read()
            finally:
                upstream.close()

        def _count_query(self, body: bytes) -> str | None:
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            sql = json.loads(body)["sqlText"]
            params = parse_qs(urlsplit(self.path).query)
            request_id = params.get("requestId", [""])[0]
            how = proxy._loss_for(sql, request_id)
            retry_count = int(params.get("retryCount", ["0"])[0])
            proxy._record(Query(sql, request_id, retry_count, answered=how is None))
            return how

        def _hang_up(self) -> None:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)

    return Handler
