"""A tiny authoritative DNS server for tests -- a test double, NOT a real name server.

It serves a fixed set of records, built with dnspython, over UDP and TCP on one port of
127.0.0.1, in threads. It answers the way an authoritative server of its zones does, as far
as the mail checks need it:

* AA set; a name with records but not of the type asked is NOERROR with no answer (NODATA);
  a name that does not exist (and has nothing below it) is NXDOMAIN; a name outside every
  zone is REFUSED;
* a CNAME is answered for any type, followed by the target's records when they are in its data;
* a UDP answer larger than the client's payload (512 bytes, or its EDNS size) is sent empty
  with TC set, so the client must ask again over TCP, which answers in full.

No wildcards, delegations, DNSSEC, zone transfers or updates. The lab's real Knot DNS server
covers those where the code under test uses them (see tests/integration).

``with DnsTestServer([("example.test", "TXT", '"v=spf1 -all"')]) as server: server.target``
"""
from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Iterable

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset


class DnsTestServer:
    def __init__(self, records: Iterable[tuple[str, str, str]], zones: Iterable[str] | None = None,
                 address: str = "127.0.0.1", ttl: int = 300):
        """records: (name, type, presentation data); zones: apexes (default: the last two labels of each name)."""
        self.address = address
        self.port = 0
        self.ttl = ttl
        self.rrsets: dict[tuple[dns.name.Name, int], dns.rrset.RRset] = {}
        self.queries: list[tuple[str, str, str]] = []  # (transport, name, type), in arrival order
        self._lock = threading.Lock()
        records = list(records)
        for name, rtype, data in records:
            self.add(name, rtype, data)
        if zones is None:
            zones = {".".join(name.rstrip(".").split(".")[-2:]) for name, _t, _d in records}
        self.zones = [dns.name.from_text(zone) for zone in zones]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._udp: socket.socket | None = None
        self._tcp: socket.socket | None = None

    @property
    def target(self) -> str:
        """``address:port``, as dns_servers takes it."""
        return "%s:%d" % (self.address, self.port)

    def add(self, name: str, rtype: str, data: str) -> None:
        owner = dns.name.from_text(name)
        rdtype = dns.rdatatype.from_text(rtype)
        with self._lock:
            rrset = self.rrsets.get((owner, rdtype))
            if rrset is None:
                rrset = self.rrsets[(owner, rdtype)] = dns.rrset.RRset(owner, dns.rdataclass.IN, rdtype)
            rrset.add(dns.rdata.from_text(dns.rdataclass.IN, rdtype, data), self.ttl)

    def remove(self, name: str, rtype: str) -> None:
        with self._lock:
            self.rrsets.pop((dns.name.from_text(name), dns.rdatatype.from_text(rtype)), None)

    # -- answering -----------------------------------------------------------------------------------
    def answer(self, query: dns.message.Message) -> dns.message.Message:
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if len(query.question) != 1:
            response.set_rcode(dns.rcode.FORMERR)
            return response
        question = query.question[0]
        name, rdtype = question.name, question.rdtype
        if not any(name.is_subdomain(zone) for zone in self.zones):
            response.flags &= ~dns.flags.AA
            response.set_rcode(dns.rcode.REFUSED)
            return response
        with self._lock:
            seen = set()
            while name not in seen:
                seen.add(name)
                rrset = self.rrsets.get((name, rdtype))
                if rrset is not None:
                    response.answer.append(rrset)
                    break
                cname = self.rrsets.get((name, dns.rdatatype.CNAME))
                if cname is None or rdtype == dns.rdatatype.CNAME:
                    break
                response.answer.append(cname)
                name = cname[0].target
            if not response.answer and not any(owner == name or owner.is_subdomain(name)
                                               for owner, _t in self.rrsets):
                response.set_rcode(dns.rcode.NXDOMAIN)
        return response

    def _handle(self, wire: bytes, transport: str) -> bytes | None:
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return None
        if query.question:
            question = query.question[0]
            with self._lock:
                self.queries.append((transport, question.name.to_text(omit_final_dot=True),
                                     dns.rdatatype.to_text(question.rdtype)))
        response = self.answer(query)
        if transport == "tcp":
            return response.to_wire(max_size=65535)
        limit = max(512, query.payload) if query.edns >= 0 else 512
        try:
            return response.to_wire(max_size=limit)
        except dns.exception.TooBig:
            truncated = dns.message.make_response(query)
            truncated.flags |= dns.flags.AA | dns.flags.TC
            return truncated.to_wire()

    # -- serving -------------------------------------------------------------------------------------
    def start(self) -> DnsTestServer:
        for attempt in range(20):  # the UDP port may be taken for TCP: try another
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            udp.bind((self.address, 0))
            tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                tcp.bind((self.address, udp.getsockname()[1]))
                break
            except OSError:
                udp.close()
                tcp.close()
                if attempt == 19:
                    raise
        tcp.listen(16)
        udp.settimeout(0.2)
        tcp.settimeout(0.2)
        self._udp, self._tcp = udp, tcp
        self.port = udp.getsockname()[1]
        for target in (self._serve_udp, self._serve_tcp):
            thread = threading.Thread(target=target, daemon=True, name="dns-test-server")
            thread.start()
            self._threads.append(thread)
        return self

    def _serve_udp(self) -> None:
        while not self._stop.is_set():
            try:
                wire, peer = self._udp.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            reply = self._handle(wire, "udp")
            if reply is not None:
                with contextlib.suppress(OSError):
                    self._udp.sendto(reply, peer)

    def _serve_tcp(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _peer = self._tcp.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                with contextlib.suppress(OSError):
                    while True:
                        head = _read(conn, 2)
                        if head is None:
                            break
                        wire = _read(conn, struct.unpack("!H", head)[0])
                        if wire is None:
                            break
                        reply = self._handle(wire, "tcp")
                        if reply is None:
                            break
                        conn.sendall(struct.pack("!H", len(reply)) + reply)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=2)
        for sock in (self._udp, self._tcp):
            if sock is not None:
                sock.close()

    def __enter__(self) -> DnsTestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _read(conn: socket.socket, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data
