"""One lifecycle for the tests' HTTP stand-ins (geocoders, OSRM, Looker, Tableau): 127.0.0.1, a free port, a thread.

Each stand-in keeps its own request handler and state; the handler class
reaches that state as ``self.stand_in``.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LocalServer:
    """A threading HTTP server on a free loopback port, serving in a daemon thread until :meth:`stop`."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], stand_in: object, *, quiet: bool = False) -> None:
        bound = type("Handler", (handler,), {"stand_in": stand_in})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), bound)
        self.server.daemon_threads = True
        if quiet:  # a client that timed out and closed its socket is expected, not an error to print
            self.server.handle_error = lambda *args: None
        self.domain = f"127.0.0.1:{self.server.server_address[1]}"
        self.url = f"http://{self.domain}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)
