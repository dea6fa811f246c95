"""The HTTP side that coldrig's local API simulators share -- the simulators are NOT the services.

``cloudflare_sim``, ``digitalocean_sim`` and ``hcloud_sim`` each answer the way one public API
is documented to; what they have in common lives here, in :class:`ApiSimulator`:

* a stdlib ``ThreadingHTTPServer`` on 127.0.0.1 (an OS-chosen port by default) in a daemon
  thread, HTTP/1.1 with keep-alive, ``start``/``stop`` and use as a context manager; ``stop``
  closes kept-alive connections too, so a stopped simulator is really gone;
* ``base_url`` (the address plus the subclass's ``api_prefix``);
* the request log (``requests``, ``request_log``, ``request_count``, ``reset_metrics``);
* the queue of injected faults behind each simulator's ``fail_next``;
* routing over a table of ``(verbs, "/pattern/{param}", handler)``;
* the request handler: it reads the body, passes the request to the subclass's ``handle``,
  and writes the answer (JSON unless the subclass's ``encode`` says otherwise); an exception
  in ``handle`` is a simulator bug, printed and answered 500 with the subclass's ``bug_answer``;
* the command line every simulator's ``main`` starts from (``--host``, ``--port``, ``--token``)
  and its serve-until-SIGTERM loop.

Envelopes, errors, authentication, rate limits and the endpoints themselves stay in each
simulator.
"""
from __future__ import annotations

import argparse
import collections
import contextlib
import json
import signal
import socket
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Mapping, Self
from urllib.parse import SplitResult, parse_qs

Answer = tuple[int, Any, dict[str, str]]  # HTTP status, payload for ``encode``, extra headers
Route = tuple[str, str, Callable[..., Any]]  # space-separated verbs, "/pattern/{param}", handler


class ApiSimulator:
    """An API simulator's HTTP server, request log and fault queue; subclasses implement ``handle``."""

    server_name = "api-sim"  # the Server header's product and the server thread's name
    api_prefix = ""  # the path ``base_url`` ends in, e.g. "/v1"
    content_type = "application/json"
    empty_path_params = True  # False: a "{param}" never matches an empty path segment

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.host, self.port = host, port
        self._lock = threading.RLock()
        self._log: list[dict[str, Any]] = []
        self._faults: collections.deque[tuple[str | None, Any]] = collections.deque()
        self._late_faults: list[tuple[str, str, Any]] = []
        self._routes: list[Route] = []
        self._server: _HttpServer | None = None
        self._thread: threading.Thread | None = None
        # Seconds each answer takes (a real API's round trip), and the most requests seen in
        # progress at once: a test of a concurrent client looks at it instead of a clock.
        self.latency = 0.0
        self.max_in_flight = 0
        self._in_flight = 0

    # ---- lifecycle
    def start(self) -> Self:
        if self._server is None:
            self._server = _HttpServer((self.host, self.port), self)
            self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                            name=self.server_name, daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.close_all()
            if self._thread is not None:
                self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` and the API's prefix, the form of the real API's root URL."""
        if self._server is None:
            raise RuntimeError("the simulator is not running; call start() or use it as a context manager")
        host, port = self._server.server_address[:2]
        return "http://%s:%d%s" % (host, port, self.api_prefix)

    # ---- request log
    @property
    def requests(self) -> list[tuple[str, str]]:
        """(method, path) of every request received, oldest first (a snapshot copy)."""
        with self._lock:
            return [(entry["method"], entry["path"]) for entry in self._log]

    @property
    def request_log(self) -> list[dict[str, Any]]:
        """Every request with its query (``{name: [values]}``) and the status answered, oldest first."""
        with self._lock:
            return [dict(entry) for entry in self._log]

    @property
    def request_count(self) -> int:
        with self._lock:
            return len(self._log)

    def reset_metrics(self) -> None:
        """Forget the request log (a rate limit's count, where the simulator keeps one, stays)."""
        with self._lock:
            self._log.clear()

    def _record(self, method: str, url: SplitResult) -> dict[str, Any]:
        """Log a request; the entry, whose ``status`` the caller sets once it is answered."""
        query = parse_qs(url.query, keep_blank_values=True)
        entry = {"method": method, "path": url.path, "query": {k: list(v) for k, v in query.items()}, "status": None}
        with self._lock:
            self._log.append(entry)
        return entry

    # ---- injected faults
    @staticmethod
    def _check_injectable(status: int) -> None:
        if status != 429 and not 500 <= status <= 599:
            raise ValueError("fail_next injects 429 and 5xx answers; other errors come from real requests")

    def _inject(self, fault: Any, times: int = 1, path: str | None = None, skip: int = 0) -> None:
        """Queue ``fault`` for the next ``times`` requests (those whose path contains ``path``, if given),
        after letting ``skip`` such requests through (e.g. ``skip=1``: the second page of a listing fails)."""
        with self._lock:
            self._faults.extend([(path, None)] * skip + [(path, fault)] * times)

    def _inject_late(self, fault: Any, method: str, path: str) -> None:
        """Queue ``fault`` as the answer to the next ``method`` request whose path ends in ``path``, given after
        the request was served: what a client sees when the API acted and its answer was lost in a gateway."""
        with self._lock:
            self._late_faults.append((method, path, fault))

    def _take_late_fault(self, method: str, path: str) -> Any:
        """The first late fault queued for ``method`` ``path``, taken off the queue; None when there is none."""
        with self._lock:
            for index, (verb, where, fault) in enumerate(self._late_faults):
                if verb == method and path.rstrip("/").endswith(where):
                    del self._late_faults[index]
                    return fault
        return None

    def _take_fault(self, path: str) -> Any:
        """The first queued fault for a request to ``path``, taken off the queue; None when there is none
        (or when the first one queued for it is a request to let through)."""
        with self._lock:
            for index, (where, fault) in enumerate(self._faults):
                if where is None or where in path:
                    del self._faults[index]
                    return fault
        return None

    # ---- routing
    def _routed(self, method: str, parts: list[str]) -> tuple[Callable[..., Any], dict[str, str]] | None:
        """(handler, path parameters) of the first route for ``method`` whose pattern matches ``parts``."""
        for verbs, pattern, handler in self._routes:
            params = match_path(pattern, parts, self.empty_path_params)
            if params is not None and method in verbs.split():
                return handler, params
        return None

    # ---- what a simulator provides
    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes,
               host_header: str | None = None) -> Answer:
        """Answer one request: (status, payload, headers)."""
        raise NotImplementedError

    def bug_answer(self, exc: Exception) -> Any:
        """The payload of the 500 answered when ``handle`` raised (a simulator bug)."""
        return {"message": "simulator bug: %s" % exc}

    def encode(self, status: int, payload: Any) -> tuple[str | None, bytes | None]:
        """(Content-Type or None, body) of an answer; a body of None is sent without Content-Length."""
        return self.content_type, json.dumps(payload).encode()


def match_path(pattern: str, parts: list[str], empty_params: bool = True) -> dict[str, str] | None:
    """The ``{param}`` values when the path ``parts`` match ``pattern`` ("/zones/{zone}"), else None."""
    wanted = pattern.split("/")
    if len(wanted) != len(parts):
        return None
    params: dict[str, str] = {}
    for want, got in zip(wanted, parts):
        if want.startswith("{"):
            if not got and not empty_params:
                return None
            params[want.strip("{}")] = got
        elif want != got:
            return None
    return params


# ------------------------------------------------------------ HTTP plumbing
class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real client expects
    timeout = 60
    disable_nagle_algorithm = True  # with wbufsize, one segment per answer: no delayed-ACK stalls
    wbufsize = 1 << 16
    server: _HttpServer

    def version_string(self) -> str:
        return "%s %s" % (self.server.sim.server_name, self.sys_version)

    def _dispatch(self) -> None:
        sim = self.server.sim
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with sim._lock:  # pylint: disable=protected-access
            sim._in_flight += 1  # pylint: disable=protected-access
            sim.max_in_flight = max(sim.max_in_flight, sim._in_flight)  # pylint: disable=protected-access
        try:
            if sim.latency:
                time.sleep(sim.latency)
            status, payload, headers = sim.handle(self.command, self.path, self.headers, body,
                                                  self.headers.get("Host"))
        except Exception as exc:  # a simulator bug: say so loudly
            traceback.print_exc()
            status, headers, payload = 500, {}, sim.bug_answer(exc)
        finally:
            with sim._lock:  # pylint: disable=protected-access
                sim._in_flight -= 1  # pylint: disable=protected-access
        content_type, data = sim.encode(status, payload)
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        if data is not None:
            self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if data:
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], sim: ApiSimulator):
        self.sim = sim
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:  # track kept-alive connections
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)

    def close_all(self) -> None:
        """Close the listener and every kept-alive connection, so a stopped simulator is really gone."""
        self.server_close()
        with self._open_lock:
            for conn in list(self._open):
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)


# ---------------------------------------------------------------------- CLI
def cli_parser(description: str) -> argparse.ArgumentParser:
    """The arguments every simulator's command line has: --host, --port and --token."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 lets the OS choose")
    parser.add_argument("--token", action="append", default=[], help="accepted API token (repeatable)")
    return parser


def serve_until_signalled(sim: ApiSimulator, hello: Callable[[], dict[str, Any]]) -> int:
    """Start ``sim``, print ``{"base_url": ..., **hello()}`` as one JSON line, serve until SIGTERM or SIGINT."""
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_unused: stopping.set())
    sim.start()
    print(json.dumps({"base_url": sim.base_url, **hello()}), flush=True)
    while not stopping.wait(0.2):
        pass
    sim.stop()
    return 0
