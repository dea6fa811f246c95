"""A TCP server that greets every connection with one line and closes it: an SSH or SMTP server's first words.

Enough for checks that connect and read a banner (``coldrig.infra.server``'s wait for SSH,
``coldrig.infra.egress_check``), not a protocol implementation. It listens on one port on each
of several addresses, e.g. the loopback addresses a cloud simulator hands out as public IPv4s.
"""
from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterable


class BannerServer:
    """``with BannerServer(b"SSH-2.0-OpenSSH_9.2p1 test", ["127.0.201.2"]) as server: server.port``."""

    def __init__(self, banner: bytes, addresses: Iterable[str] = ("127.0.0.1",), port: int = 0):
        self.banner = banner.rstrip(b"\r\n") + b"\r\n"
        self.addresses = list(addresses)
        self.port = self._requested_port = port
        self.connections = 0
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()

    def start(self) -> BannerServer:
        for attempt in range(20):  # the port of the first address may be taken on another one: try again
            try:
                self._bind_all()
                break
            except OSError:
                self._close_sockets()
                if attempt == 19 or self._requested_port:
                    raise
        for sock in self._sockets:
            thread = threading.Thread(target=self._serve, args=(sock,), daemon=True, name="banner-server")
            thread.start()
            self._threads.append(thread)
        return self

    def _bind_all(self) -> None:
        port = self._requested_port
        for address in self.addresses:
            sock = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._sockets.append(sock)
            sock.bind((address, port))
            sock.listen(16)
            sock.settimeout(0.2)
            port = sock.getsockname()[1]
        self.port = port

    def _serve(self, sock: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                conn, _peer = sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with conn:
                with self._lock:
                    self.connections += 1
                with contextlib.suppress(OSError):
                    conn.sendall(self.banner)

    def _close_sockets(self) -> None:
        for sock in self._sockets:
            sock.close()
        self._sockets = []

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=2)
        self._close_sockets()

    def __enter__(self) -> BannerServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def closed_port(address: str = "127.0.0.1") -> int:
    """A port on ``address`` that nothing listens on (bound and released: refused when connected to)."""
    with socket.socket() as sock:
        sock.bind((address, 0))
        return sock.getsockname()[1]
