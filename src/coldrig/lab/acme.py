"""The lab's ACME server: pebble, Let's Encrypt's ACME test server, on 127.0.0.1.

A node gets a TLS certificate from it the way a server on the internet gets one from
Let's Encrypt: its ACME client orders a certificate for its names, pebble resolves each
name through the lab's Knot DNS server and validates http-01 on port 8080 of the name's
address (tls-alpn-01 on 8443), which every node address forwards to the node's port 80
(443). Pebble is a test server, not Let's Encrypt: it keeps nothing between starts and
makes a new root at every start.

Its API is HTTPS only. The lab gives it a certificate from a small CA of its own
(``api-ca.pem``) for ``localhost``, 127.0.0.1 and 10.0.2.2 (the host's loopback as a
node sees it). Clients trust ``api-ca.pem`` to talk to the API, and ``root.pem``
(fetched from pebble's management API after every start) to check what it issues.
"""

from __future__ import annotations

import datetime
import http.client
import ipaddress
import json
import os
import signal
import ssl
import subprocess
import time
import urllib.request
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from coldrig.lab import prereq
from coldrig.lab.config import ACME_MANAGEMENT_PORT_FIRST, ACME_PORT_FIRST, FORWARDS, HOST_FROM_NODE
from coldrig.lab.errors import LabError
from coldrig.lab.state import pid_alive

SERVER = "127.0.0.1"
# Pebble validates a name on these ports of its A address; each node address forwards
# them to the node's port 80 (http-01) and 443 (tls-alpn-01).
HTTP_PORT = FORWARDS["http"][0]
TLS_PORT = FORWARDS["https"][0]
# The names in the API certificate: clients on this machine and on the nodes.
API_DNS_NAMES = ("localhost",)
API_ADDRESSES = (SERVER, HOST_FROM_NODE)
# Pebble reads its test knobs from the environment. The lab sets these and drops any
# other PEBBLE_* variable, so that a lab behaves the same on every machine: no random
# sleep before a validation, no valid nonce refused at random.
PEBBLE_ENV = {"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0"}
CA_DAYS = 3650
LEAF_DAYS = 825
RENEW_DAYS = 30  # an API certificate that expires sooner is replaced at the next start


def free_port(first: int, taken: frozenset[int] = frozenset(), tries: int = 100) -> int:
    for port in range(first, first + tries):
        if port not in taken and prereq.port_free(SERVER, port):
            return port
    raise LabError(f"no free port for the lab ACME server in {first}-{first + tries - 1}: "
                   "run `coldrig lab down` for labs left running")


def pebble_config(port: int, management_port: int, certificate: Path, private_key: Path) -> dict:
    return {"pebble": {
        "listenAddress": f"{SERVER}:{port}",
        "managementListenAddress": f"{SERVER}:{management_port}",
        "certificate": str(certificate),
        "privateKey": str(private_key),
        "httpPort": HTTP_PORT,
        "tlsPort": TLS_PORT,
        "ocspResponderURL": "",
        "externalAccountBindingRequired": False,
    }}


def pebble_command(pebble: str, config: Path, dns_port: int) -> list[str]:
    # -strict turns on the checks that pebble plans to make the default (a challenge POST
    # must be exactly `{}`, no ACME v1 `resource` field): certbot 2.1 passes them.
    return [pebble, "-config", str(config), "-dnsserver", f"{SERVER}:{dns_port}", "-strict"]


def pebble_env(environ: dict[str, str] | None = None) -> dict[str, str]:
    base = os.environ if environ is None else environ
    env = {key: value for key, value in base.items() if not key.startswith("PEBBLE_")}
    env.update(PEBBLE_ENV)
    return env


# -- the API's certificates --------------------------------------------------------
def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def _serial_and_validity(builder: x509.CertificateBuilder, days: int) -> x509.CertificateBuilder:
    now = _now()
    return (builder.serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=days)))


def make_api_ca() -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "coldrig lab"),
                      x509.NameAttribute(NameOID.COMMON_NAME, "coldrig lab ACME API CA")])
    builder = _serial_and_validity(x509.CertificateBuilder(), CA_DAYS)
    cert = (builder.subject_name(name).issuer_name(name).public_key(key.public_key())
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=True, crl_sign=True,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return cert, key


def api_names() -> x509.SubjectAlternativeName:
    return x509.SubjectAlternativeName(
        [x509.DNSName(name) for name in API_DNS_NAMES]
        + [x509.IPAddress(ipaddress.ip_address(address)) for address in API_ADDRESSES])


def make_api_certificate(ca_cert: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey
                         ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = _serial_and_validity(x509.CertificateBuilder(), LEAF_DAYS)
    cert = (builder
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "coldrig lab ACME API")]))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=False, crl_sign=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(api_names(), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    return cert, key


def _lasts(cert: x509.Certificate) -> bool:
    return cert.not_valid_after_utc - _now() > datetime.timedelta(days=RENEW_DAYS)


def api_certificate_fits(cert: x509.Certificate, ca_cert: x509.Certificate) -> bool:
    """True when cert is the lab CA's, names every API address and is not about to expire."""
    try:
        cert.verify_directly_issued_by(ca_cert)
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, TypeError, x509.ExtensionNotFound, InvalidSignature):
        return False
    return set(names) == set(api_names()) and _lasts(cert)


def _write(path: Path, data: bytes, mode: int) -> None:
    """Write a file whole (a reader never sees half of it) with exactly this mode."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        os.fchmod(handle.fileno(), mode)
        handle.write(data)
    os.replace(tmp, path)


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _load(cert_file: Path, key_file: Path):
    """(certificate, key) from their files, or (None, None) unless both load and belong together."""
    try:
        cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
        key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    except (OSError, ValueError, TypeError):
        return None, None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.public_key() != cert.public_key():
        return None, None
    return cert, key


class AcmeServer:
    """Lifecycle of the lab's pebble, its API certificate, and the root it issues from."""

    def __init__(self, lab_dir: Path):
        # Absolute: the paths go into pebble's config and identify its command line.
        self.dir = lab_dir.absolute() / "acme"
        self.conf = self.dir / "pebble.json"
        self.pid_file = self.dir / "pebble.pid"
        self.log = self.dir / "pebble.log"
        self.api_ca = self.dir / "api-ca.pem"
        self.api_ca_key = self.dir / "api-ca-key.pem"
        self.api_cert = self.dir / "api-cert.pem"
        self.api_key = self.dir / "api-key.pem"
        self.root_file = self.dir / "root.pem"
        self._process: subprocess.Popen | None = None

    # -- the API certificate ----------------------------------------------------
    def ensure_api_certificates(self) -> bool:
        """Make the API CA and certificate unless good ones exist; return True when any changed.

        The CA is kept for the life of the lab (nodes may have copied it); the certificate
        is replaced when it no longer fits (another CA, other names, expiring).
        """
        self.dir.mkdir(parents=True, exist_ok=True)
        ca_cert, ca_key = _load(self.api_ca, self.api_ca_key)
        changed = False
        if ca_cert is None or not _lasts(ca_cert):
            ca_cert, ca_key = make_api_ca()
            _write(self.api_ca_key, _key_pem(ca_key), 0o600)
            _write(self.api_ca, _pem(ca_cert), 0o644)
            changed = True
        cert, key = _load(self.api_cert, self.api_key)
        if changed or cert is None or not api_certificate_fits(cert, ca_cert):
            cert, key = make_api_certificate(ca_cert, ca_key)
            _write(self.api_key, _key_pem(key), 0o600)
            _write(self.api_cert, _pem(cert), 0o644)
            changed = True
        return changed

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.api_ca))

    def _get(self, url: str, timeout: float = 5.0) -> bytes:
        with urllib.request.urlopen(url, timeout=timeout, context=self._context()) as response:
            return response.read()

    # -- the process --------------------------------------------------------------
    def pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def _argv(self) -> list[str] | None:
        """The running pebble's command line, when the pid file names this lab's pebble."""
        pid = self.pid()
        if not pid_alive(pid):
            return None
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return None
        words = [word.decode(errors="replace") for word in argv if word]
        return words if str(self.conf) in words else None  # not a pid reused by another process

    def running(self) -> bool:
        return self._argv() is not None

    def _alive(self) -> bool:
        """running(), or for the pebble this process just started, that it has not exited.

        Right after the exec, /proc/<pid>/cmdline may still be empty: the child's own
        Popen is the surer witness.
        """
        if self._process is not None:
            return self._process.poll() is None
        return self.running()

    def dns_server(self) -> str | None:
        """The DNS server (address:port) the running pebble resolves names with."""
        argv = self._argv() or []
        if "-dnsserver" in argv[:-1]:
            return argv[argv.index("-dnsserver") + 1]
        return None

    def ports(self) -> tuple[int, int] | None:
        """(ACME port, management port) from the configuration pebble was started with."""
        try:
            config = json.loads(self.conf.read_text())["pebble"]
            return (int(config["listenAddress"].rsplit(":", 1)[1]),
                    int(config["managementListenAddress"].rsplit(":", 1)[1]))
        except (OSError, ValueError, KeyError, IndexError, AttributeError):
            return None

    def start(self, dns_port: int, port: int | None = None, management_port: int | None = None
              ) -> tuple[int, int]:
        """Start pebble against the lab DNS server; return (ACME port, management port).

        port and management_port are used when free (a restart keeps the lab's URLs);
        otherwise the first free ports from 14000 and 15000.
        """
        tools = prereq.require_programs({"pebble": "pebble"})
        self.stop()
        self.ensure_api_certificates()
        if not (port and prereq.port_free(SERVER, port)):
            port = free_port(ACME_PORT_FIRST)
        if not (management_port and management_port != port and prereq.port_free(SERVER, management_port)):
            management_port = free_port(ACME_MANAGEMENT_PORT_FIRST, taken=frozenset({port}))
        config = pebble_config(port, management_port, self.api_cert, self.api_key)
        _write(self.conf, (json.dumps(config, indent=2) + "\n").encode(), 0o644)
        self.root_file.unlink(missing_ok=True)  # the root of an earlier pebble issues nothing now
        with open(self.log, "ab") as log:
            # pebble does not daemonize: it runs in a session of its own, so that it
            # outlives `coldrig lab up` and a Ctrl-C in the terminal does not reach it.
            self._process = subprocess.Popen(
                pebble_command(tools["pebble"], self.conf, dns_port),
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env=pebble_env(), cwd=self.dir, start_new_session=True,
            )
        _write(self.pid_file, f"{self._process.pid}\n".encode(), 0o644)
        try:
            self.wait_ready(port)
            self.fetch_root(management_port)
        except LabError:
            self.stop()
            raise
        return port, management_port

    def _log_tail(self) -> str:
        try:
            lines = self.log.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return lines[-1] if lines else ""

    def wait_ready(self, port: int, timeout: float = 30.0) -> None:
        """Wait until the ACME directory answers over TLS checked against the API CA."""
        url = f"https://{SERVER}:{port}/dir"
        deadline = time.monotonic() + timeout
        while True:
            try:
                if "newOrder" in json.loads(self._get(url, timeout=2)):
                    return
                problem = "answers without newOrder"
            except (OSError, ValueError, http.client.HTTPException) as exc:  # URLError and TLS errors are OSErrors
                problem = str(getattr(exc, "reason", exc))
            if not self._alive():
                tail = self._log_tail()
                raise LabError(f"pebble exited{': ' + tail if tail else ''} (log: {self.log})")
            if time.monotonic() > deadline:
                raise LabError(f"the lab ACME server's directory {url} does not answer: {problem} "
                               f"(log: {self.log})")
            time.sleep(0.1)

    def fetch_root(self, management_port: int) -> x509.Certificate:
        """Save the root pebble issues from (a new one at every start) as root.pem."""
        url = f"https://{SERVER}:{management_port}/roots/0"
        try:
            pem = self._get(url)
            root = x509.load_pem_x509_certificate(pem)
            is_ca = root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        except (OSError, ValueError, http.client.HTTPException, x509.ExtensionNotFound) as exc:
            raise LabError(f"cannot fetch the lab ACME server's root from {url}: "
                           f"{getattr(exc, 'reason', exc)} (log: {self.log})") from exc
        if not is_ca:
            raise LabError(f"{url} gave a certificate that is not a CA: {root.subject.rfc4514_string()}")
        _write(self.root_file, _pem(root), 0o644)
        return root

    def check(self) -> None:
        """For a running pebble: its directory answers, and root.pem is there."""
        ports = self.ports()
        if ports is None:
            raise LabError(f"the lab ACME server runs but {self.conf} cannot be read: "
                           "run `coldrig lab down` to reset the lab")
        self.wait_ready(ports[0], timeout=10.0)
        if not self.root_file.exists():
            self.fetch_root(ports[1])

    def stop(self, timeout: float = 10.0) -> None:
        """Stop this lab's pebble (SIGTERM, then SIGKILL); a no-op when it is not running."""
        if self._process is not None:
            pid = self._process.pid if self._process.poll() is None else None
        else:
            pid = self.pid() if self.running() else None
        if pid is not None:
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while pid_alive(pid):  # a child of this process counts as gone once a zombie
                if time.monotonic() > deadline:
                    os.kill(pid, signal.SIGKILL)
                    deadline += timeout
                time.sleep(0.05)
        if self._process is not None:
            self._process.wait()  # reap it when this process started it
            self._process = None
        self.pid_file.unlink(missing_ok=True)

    def describe(self) -> dict:
        """The lab state's ``acme`` entry for the running pebble."""
        ports = self.ports()
        if ports is None:
            raise LabError(f"{self.conf} cannot be read: run `coldrig lab down` to reset the lab")
        port, management_port = ports
        return {
            "pid": self.pid(),
            "port": port,
            "management_port": management_port,
            "directory": f"https://{SERVER}:{port}/dir",
            "node_directory": f"https://{HOST_FROM_NODE}:{port}/dir",
            "api_ca_file": str(self.api_ca),
            "root_file": str(self.root_file),
        }
