"""A DNS server that never answers: it reads every query, over UDP and TCP, and says nothing.

It stands in for a blocklist whose name servers are down or drop the queries of a resolver they
refuse (what some lists do instead of answering): the client's timeout is the only way out. It
counts what it received, so a test can tell "timed out" from "never asked".

``with SilentDnsServer() as server: server.target  # "127.0.0.1:<port>"``
"""
from __future__ import annotations

import socket
import threading


class SilentDnsServer:
    def __init__(self, address: str = "127.0.0.1"):
        self.address = address
        self.port = 0
        self.udp_queries = 0
        self.tcp_connections = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._open: list[socket.socket] = []
        self._udp: socket.socket | None = None
        self._tcp: socket.socket | None = None

    @property
    def target(self) -> str:
        return f"{self.address}:{self.port}"

    def start(self) -> SilentDnsServer:
        for attempt in range(20):  # the UDP port may be taken for TCP: try another
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            udp.bind((self.address, 0))
            tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                tcp.bind((self.address, udp.getsockname()[1]))
            except OSError:
                udp.close()
                tcp.close()
                if attempt == 19:
                    raise
                continue
            break
        tcp.listen(16)
        udp.settimeout(0.2)
        tcp.settimeout(0.2)
        self._udp, self._tcp, self.port = udp, tcp, udp.getsockname()[1]
        for target in (self._read_udp, self._accept_tcp):
            thread = threading.Thread(target=target, daemon=True, name="silent-dns")
            thread.start()
            self._threads.append(thread)
        return self

    def _read_udp(self) -> None:
        assert self._udp is not None
        while not self._stop.is_set():
            try:
                self._udp.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            self.udp_queries += 1

    def _accept_tcp(self) -> None:
        assert self._tcp is not None
        while not self._stop.is_set():
            try:
                conn, _peer = self._tcp.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.tcp_connections += 1
            self._open.append(conn)  # kept open and unread until stop(): the client waits for nothing

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=2)
        for sock in [self._udp, self._tcp, *self._open]:
            if sock is not None:
                sock.close()

    def __enter__(self) -> SilentDnsServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
