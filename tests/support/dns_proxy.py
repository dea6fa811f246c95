"""A DNS-over-TCP relay to a real server that can lose the answers to UPDATE messages -- NOT a DNS server.

Every connection is relayed to the upstream server (the lab's Knot) both ways. With
``drop_update_answers`` set, an UPDATE (opcode 5) is passed on, the server applies it and
answers, and the relay closes the client's connection instead of passing the answer back:
the client sees what a lost reply or a timeout looks like, after the change was made.
"""
from __future__ import annotations

import select
import socket
import struct
import threading

UPDATE_OPCODE = 5


def _read_message(sock: socket.socket) -> bytes | None:
    """One length-prefixed DNS message (RFC 1035 4.2.2), with its prefix; None when the peer closed."""
    data = b""
    while len(data) < 2:
        chunk = sock.recv(2 - len(data))
        if not chunk:
            return None
        data += chunk
    (length,) = struct.unpack("!H", data)
    while len(data) < 2 + length:
        chunk = sock.recv(2 + length - len(data))
        if not chunk:
            return None
        data += chunk
    return data


class DnsTcpRelay:
    """Relay on 127.0.0.1 (an OS-chosen port) to ``upstream``; use as a context manager."""

    def __init__(self, upstream: tuple[str, int]):
        self.upstream = upstream
        self.drop_update_answers = 0  # how many UPDATE answers to lose from now on
        self.dropped = 0
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="dns-relay", daemon=True)

    def __enter__(self) -> "DnsTcpRelay":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._listener.close()
        self._thread.join(timeout=5)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                readable, _w, _x = select.select([self._listener], [], [], 0.1)
                if not readable:
                    continue
                client, _address = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client: socket.socket) -> None:
        with client, socket.create_connection(self.upstream, timeout=10) as server:
            first = _read_message(client)
            if first is None:
                return
            opcode = (first[4] >> 3) & 0x0F  # header byte 2 (after the length prefix): QR, opcode, ...
            server.sendall(first)
            if opcode == UPDATE_OPCODE and self.drop_update_answers > 0:
                self.drop_update_answers -= 1
                _read_message(server)  # the server has applied it and answered; the answer is lost
                self.dropped += 1
                return
            sockets = [client, server]
            while True:
                readable, _w, _x = select.select(sockets, [], [], 10)
                if not readable:
                    return
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    (server if sock is client else client).sendall(data)
