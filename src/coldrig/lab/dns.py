"""The lab's DNS provider: a real Knot DNS server on 127.0.0.1.

It is authoritative for the lab's zones (the node zone, the reverse zone of the
node addresses, and any zone added with ``coldrig lab zone add``) and accepts
TSIG-signed RFC 2136 dynamic updates, exactly as a real primary would. Updates
are kept in Knot's journal, so a restart of the server keeps them.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import subprocess
import tempfile
import time
from pathlib import Path

import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.reversename
import dns.tsigkeyring
import dns.update

from coldrig.lab import prereq
from coldrig.lab.config import DNS_PORT_FIRST
from coldrig.lab.errors import LabError
from coldrig.lab.state import pid_alive

TSIG_ALGORITHM = "hmac-sha256"
TSIG_KEY_NAME = "coldrig-lab"
SERVER = "127.0.0.1"


def control_socket(dns_dir: Path) -> Path:
    """knotc's socket: in the lab, unless that path is too long for a unix socket (108 bytes)."""
    path = dns_dir / "knot.sock"
    if len(str(path).encode()) < 100:
        return path
    digest = hashlib.sha256(str(dns_dir).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"coldrig-knot-{digest}.sock"  # knotd removes it when it stops


def knot_conf(dns_dir: Path, port: int, secret: str, zones: list[str]) -> str:
    zone_lines = "".join(f'  - domain: "{zone}"\n' for zone in zones)
    return f"""# Written by `coldrig lab`; regenerated on every change.
server:
    rundir: "{dns_dir}"
    pidfile: "{dns_dir}/knot.pid"
    listen: {SERVER}@{port}

control:
    listen: "{control_socket(dns_dir)}"

log:
  - target: "{dns_dir}/knot.log"
    any: info

database:
    storage: "{dns_dir}/db"

key:
  - id: {TSIG_KEY_NAME}
    algorithm: {TSIG_ALGORITHM}
    secret: {secret}

acl:
  - id: lab_update
    key: {TSIG_KEY_NAME}
    action: [update, transfer]

template:
  - id: default
    storage: "{dns_dir}/zones"
    file: "%s.zone"
    acl: lab_update
    zonefile-sync: -1
    zonefile-load: difference-no-serial
    journal-content: all
    semantic-checks: on

zone:
{zone_lines}"""


def zone_file(zone: str, ns_host: str) -> str:
    return (
        f"$ORIGIN {zone}.\n$TTL 300\n"
        f"@ IN SOA {ns_host}. hostmaster.{ns_host}. 1 3600 600 604800 300\n"
        f"@ IN NS {ns_host}.\n"
    )


def free_port(first: int = DNS_PORT_FIRST, tries: int = 100) -> int:
    for port in range(first, first + tries):
        if prereq.port_free(SERVER, port) and prereq.udp_port_free(SERVER, port):
            return port
    raise LabError(f"no free port for the lab DNS server in {first}-{first + tries - 1}")


class DnsServer:
    """Lifecycle of the lab's knotd, and record changes signed with the lab's TSIG key."""

    def __init__(self, lab_dir: Path, domain: str):
        self.dir = lab_dir / "dns"
        self.domain = domain
        self.conf = self.dir / "knot.conf"
        self.secret_file = lab_dir / "tsig.key"

    @property
    def ns_host(self) -> str:
        return f"ns1.{self.domain}"

    def secret(self) -> str:
        if not self.secret_file.exists():
            self.secret_file.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(base64.b64encode(secrets.token_bytes(32)).decode() + "\n")
        return self.secret_file.read_text().strip()

    def keyring(self) -> dict:
        return dns.tsigkeyring.from_text({TSIG_KEY_NAME: (TSIG_ALGORITHM, self.secret())})

    def _write(self, port: int, zones: list[str]) -> None:
        (self.dir / "zones").mkdir(parents=True, exist_ok=True)
        (self.dir / "db").mkdir(parents=True, exist_ok=True)
        for zone in zones:
            path = self.dir / "zones" / f"{zone}.zone"
            if not path.exists():
                text = zone_file(zone, self.ns_host)
                if zone == self.domain:
                    text += f"ns1 IN A {SERVER}\n"
                path.write_text(text)
        fd = os.open(self.conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(knot_conf(self.dir, port, self.secret(), zones))

    def pid(self) -> int | None:
        try:
            return int((self.dir / "knot.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def running(self) -> bool:
        return pid_alive(self.pid())

    def start(self, port: int | None, zones: list[str]) -> int:
        """Start knotd on port (a free one when None), or reload a running one; return the port."""
        tools = prereq.require_programs({"knotd": "knot", "knotc": "knot"})
        if self.running() and port:
            self._write(port, zones)
            self._knotc(tools["knotc"], "reload")
            self.wait_ready(port, zones)
            return port
        port = port or free_port()
        self._write(port, zones)
        result = subprocess.run(
            [tools["knotd"], "-c", str(self.conf), "-d"],
            capture_output=True, text=True, check=False,
        )
        if result.returncode != 0:
            raise LabError(f"knotd did not start: {result.stderr.strip() or result.stdout.strip()}"
                           f" (log: {self.dir / 'knot.log'})")
        self.wait_ready(port, zones)
        return port

    def _knotc(self, knotc: str, *args: str) -> str:
        result = subprocess.run(
            [knotc, "-c", str(self.conf), "-s", str(control_socket(self.dir)), *args],
            capture_output=True, text=True, check=False,
        )
        if result.returncode != 0:
            raise LabError(f"knotc {' '.join(args)} failed: {result.stderr.strip() or result.stdout.strip()}")
        return result.stdout

    def wait_ready(self, port: int, zones: list[str], timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        pending = list(zones)
        while pending:
            zone = pending[0]
            query = dns.message.make_query(zone, dns.rdatatype.SOA)
            try:
                answer = dns.query.udp(query, SERVER, port=port, timeout=1)
                if answer.rcode() == dns.rcode.NOERROR and answer.answer:
                    pending.pop(0)
                    continue
            except (OSError, dns.exception.DNSException):
                pass
            if time.monotonic() > deadline:
                raise LabError(f"the lab DNS server on {SERVER}:{port} does not serve {zone} "
                               f"(log: {self.dir / 'knot.log'})")
            time.sleep(0.2)

    def stop(self, timeout: float = 10.0) -> None:
        pid = self.pid()
        if not pid_alive(pid):
            return
        assert pid is not None
        os.kill(pid, 15)
        deadline = time.monotonic() + timeout
        while pid_alive(pid):
            if time.monotonic() > deadline:
                os.kill(pid, 9)
                deadline += timeout
            time.sleep(0.1)

    def update(self, port: int, zone: str, changes: list[tuple[str, str, str, str]]) -> None:
        """Apply (action, name, type, value) changes to one zone in a single UPDATE.

        action is ``replace`` or ``delete``; ``delete`` with an empty value removes
        every record of that name and type.
        """
        message = dns.update.UpdateMessage(zone, keyring=self.keyring(), keyalgorithm=TSIG_ALGORITHM)
        for action, name, rtype, value in changes:
            if action == "replace":
                message.replace(name, 300, rtype, value)
            elif value:
                message.delete(name, rtype, value)
            else:
                message.delete(name, rtype)
        response = dns.query.tcp(message, SERVER, port=port, timeout=10)
        if response.rcode() != dns.rcode.NOERROR:
            raise LabError(f"the lab DNS server refused the update of {zone}: "
                           f"{dns.rcode.to_text(response.rcode())}")

    def register_node(self, port: int, fqdn: str, address: str, reverse: str) -> None:
        """A record in the node zone and PTR in the reverse zone, as a provider sets rDNS."""
        self.update(port, self.domain, [("replace", fqdn + ".", "A", address)])
        ptr = dns.reversename.from_address(address).to_text()
        self.update(port, reverse, [("replace", ptr, "PTR", fqdn + ".")])

    def unregister_node(self, port: int, fqdn: str, address: str, reverse: str) -> None:
        self.update(port, self.domain, [("delete", fqdn + ".", "A", "")])
        ptr = dns.reversename.from_address(address).to_text()
        self.update(port, reverse, [("delete", ptr, "PTR", "")])
