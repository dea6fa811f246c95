import datetime
import ipaddress
import json
import os
import socket
import ssl
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from coldrig import cli
from coldrig.lab import acme, prereq
from coldrig.lab.acme import AcmeServer
from coldrig.lab.config import FORWARDS, LabConfig
from coldrig.lab.errors import LabError
from coldrig.lab.lab import Lab
from coldrig.lab.state import LabState, pid_alive


def sans(cert):
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return set(names.get_values_for_type(x509.DNSName)), set(names.get_values_for_type(x509.IPAddress))


def load(path):
    return x509.load_pem_x509_certificate(path.read_bytes())


@pytest.fixture
def server(tmp_path):
    acme_server = AcmeServer(tmp_path)
    acme_server.ensure_api_certificates()
    return acme_server


# -- the API certificates ----------------------------------------------------------
def test_api_certificate_names_localhost_the_loopback_and_the_host_as_nodes_see_it(server):
    assert sans(load(server.api_cert)) == (
        {"localhost"}, {ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("10.0.2.2")})


def test_api_certificate_is_a_server_leaf_of_the_api_ca(server):
    ca, leaf = load(server.api_ca), load(server.api_cert)
    leaf.verify_directly_issued_by(ca)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).critical
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert list(leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.SERVER_AUTH]


@pytest.mark.parametrize("server_name", ["127.0.0.1", "10.0.2.2", "localhost"])
def test_openssl_accepts_the_api_certificate_for_each_name_in_strict_mode(server, server_name):
    """A real TLS handshake: the way Python's ssl, certbot and pebble's clients check it."""
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(server.api_cert, server.api_key)
    client_context = ssl.create_default_context(cafile=str(server.api_ca))
    client_context.verify_flags |= ssl.VERIFY_X509_STRICT
    left, right = socket.socketpair()
    errors = []

    def serve():
        try:
            with server_context.wrap_socket(right, server_side=True) as tls:
                tls.recv(1)
        except (OSError, ssl.SSLError) as exc:
            errors.append(exc)

    thread = threading.Thread(target=serve)
    thread.start()
    with client_context.wrap_socket(left, server_hostname=server_name) as tls:
        tls.sendall(b"x")
    thread.join(5)
    assert not errors


def test_private_keys_are_0600_and_certificates_0644_whatever_the_umask(tmp_path):
    old = os.umask(0)
    try:
        server = AcmeServer(tmp_path)
        server.ensure_api_certificates()
    finally:
        os.umask(old)
    modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in server.dir.iterdir()}
    assert modes == {"api-ca-key.pem": 0o600, "api-key.pem": 0o600,
                     "api-ca.pem": 0o644, "api-cert.pem": 0o644}


def test_good_api_certificates_are_kept(server):
    before = {p.name: p.read_bytes() for p in server.dir.iterdir()}
    assert server.ensure_api_certificates() is False
    assert {p.name: p.read_bytes() for p in server.dir.iterdir()} == before


def test_a_certificate_with_other_names_is_replaced_and_the_ca_kept(server, monkeypatch):
    ca = server.api_ca.read_bytes()
    monkeypatch.setattr(acme, "API_ADDRESSES", ("127.0.0.1",))
    assert server.ensure_api_certificates() is True
    assert server.api_ca.read_bytes() == ca
    assert sans(load(server.api_cert)) == ({"localhost"}, {ipaddress.ip_address("127.0.0.1")})


def test_an_expiring_certificate_is_replaced(server, monkeypatch):
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=acme.LEAF_DAYS - 10)
    monkeypatch.setattr(acme, "_now", lambda: later)
    old = server.api_cert.read_bytes()
    assert server.ensure_api_certificates() is True
    assert server.api_cert.read_bytes() != old


def test_a_certificate_of_another_ca_is_replaced(server, tmp_path):
    other = AcmeServer(tmp_path / "other")
    other.ensure_api_certificates()
    server.api_cert.write_bytes(other.api_cert.read_bytes())
    server.api_key.write_bytes(other.api_key.read_bytes())
    assert server.ensure_api_certificates() is True
    load(server.api_cert).verify_directly_issued_by(load(server.api_ca))


def test_a_key_that_does_not_belong_to_the_certificate_is_replaced(server, tmp_path):
    other = AcmeServer(tmp_path / "other")
    other.ensure_api_certificates()
    server.api_key.write_bytes(other.api_key.read_bytes())
    assert server.ensure_api_certificates() is True
    assert load(server.api_cert).public_key() == acme._load(server.api_cert, server.api_key)[1].public_key()


def test_paths_are_absolute_for_a_relative_lab_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert AcmeServer(Path("lab")).conf == tmp_path / "lab" / "acme" / "pebble.json"


def test_a_lost_ca_key_makes_a_new_ca_and_certificate(server):
    ca, cert = server.api_ca.read_bytes(), server.api_cert.read_bytes()
    server.api_ca_key.unlink()
    assert server.ensure_api_certificates() is True
    assert server.api_ca.read_bytes() != ca and server.api_cert.read_bytes() != cert


# -- pebble's configuration and command line ------------------------------------------
def test_config_listens_on_loopback_and_validates_on_the_ports_nodes_forward(tmp_path):
    config = acme.pebble_config(14001, 15001, tmp_path / "cert.pem", tmp_path / "key.pem")
    assert config == {"pebble": {
        "listenAddress": "127.0.0.1:14001", "managementListenAddress": "127.0.0.1:15001",
        "certificate": str(tmp_path / "cert.pem"), "privateKey": str(tmp_path / "key.pem"),
        "httpPort": 8080, "tlsPort": 8443, "ocspResponderURL": "",
        "externalAccountBindingRequired": False,
    }}
    assert (FORWARDS["http"], FORWARDS["https"]) == ((8080, 80), (8443, 443))
    json.dumps(config)


def test_command_resolves_through_the_lab_dns_server_in_strict_mode(tmp_path):
    command = acme.pebble_command("/usr/bin/pebble", tmp_path / "pebble.json", 10054)
    assert command == ["/usr/bin/pebble", "-config", str(tmp_path / "pebble.json"),
                       "-dnsserver", "127.0.0.1:10054", "-strict"]


def test_environment_has_no_sleeps_no_nonce_rejects_and_no_stray_pebble_settings():
    env = acme.pebble_env({"PATH": "/usr/bin", "PEBBLE_VA_ALWAYS_VALID": "1", "PEBBLE_VA_NOSLEEP": "0"})
    assert env == {"PATH": "/usr/bin", "PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0"}


def test_free_port_skips_a_port_in_use():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert acme.free_port(port) > port
        assert acme.free_port(port, taken=frozenset({port + 1})) not in (port, port + 1)


def test_missing_pebble_is_one_line_naming_the_package(tmp_path, monkeypatch):
    monkeypatch.setattr(prereq, "_search_path", lambda: "/nonexistent")
    with pytest.raises(LabError) as err:
        AcmeServer(tmp_path).start(10053)
    assert "\n" not in str(err.value) and "apt-get install pebble" in str(err.value)
    assert prereq.PROGRAMS["pebble"] == "pebble"  # `lab up` checks it before anything else


# -- the process and the state ----------------------------------------------------------
def test_state_entry_gives_the_directory_from_this_machine_and_from_nodes(tmp_path):
    server = AcmeServer(tmp_path)
    server.dir.mkdir()
    server.conf.write_text(json.dumps(acme.pebble_config(14002, 15002, "c", "k")))
    server.pid_file.write_text("4242\n")
    assert server.describe() == {
        "pid": 4242, "port": 14002, "management_port": 15002,
        "directory": "https://127.0.0.1:14002/dir",
        "node_directory": "https://10.0.2.2:14002/dir",
        "api_ca_file": str(tmp_path / "acme" / "api-ca.pem"),
        "root_file": str(tmp_path / "acme" / "root.pem"),
    }


def test_a_pid_file_naming_another_process_is_not_pebble_and_stop_leaves_it_alone(tmp_path):
    server = AcmeServer(tmp_path)
    server.dir.mkdir()
    server.pid_file.write_text(f"{os.getpid()}\n")  # alive, but the test runner
    assert not server.running() and server.dns_server() is None
    server.stop()
    assert pid_alive(os.getpid()) and not server.pid_file.exists()


def test_a_process_started_with_the_labs_config_is_recognised_and_stopped(tmp_path):
    server = AcmeServer(tmp_path)
    server.dir.mkdir()
    # Stands in for pebble: a process whose command line names this lab's config.
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)",
                                "-config", str(server.conf), "-dnsserver", "127.0.0.1:10099"])
    try:
        server.pid_file.write_text(f"{process.pid}\n")
        assert server.running()
        assert server.dns_server() == "127.0.0.1:10099"
        server.stop()
        assert process.wait(5) == -15
    finally:
        process.kill()
        process.wait()


class FakeAcme:
    """AcmeServer's lifecycle as Lab._acme_up sees it."""

    def __init__(self, running, dns_server):
        self.is_running, self.dns = running, dns_server
        self.calls = []

    def running(self):
        return self.is_running

    def dns_server(self):
        return self.dns if self.is_running else None

    def stop(self):
        self.calls.append("stop")
        self.is_running = False

    def check(self):
        self.calls.append("check")

    def start(self, dns_port, port, management_port):
        self.calls.append(("start", dns_port, port, management_port))
        self.is_running, self.dns = True, f"127.0.0.1:{dns_port}"

    def describe(self):
        return {"port": 14000}


def _acme_up(tmp_path, monkeypatch, fake, data):
    lab = Lab(LabConfig(lab_dir=tmp_path), say=lambda message: None)
    monkeypatch.setattr(lab, "_acme", lambda: fake)
    lab._acme_up(data)  # pylint: disable=protected-access
    return data


def test_up_leaves_a_running_pebble_alone(tmp_path, monkeypatch):
    fake = FakeAcme(True, "127.0.0.1:10053")
    data = _acme_up(tmp_path, monkeypatch, fake, {"dns": {"port": 10053}})
    assert fake.calls == ["check"] and data["acme"] == {"port": 14000}


def test_up_restarts_pebble_on_its_ports_when_the_dns_server_moved(tmp_path, monkeypatch):
    fake = FakeAcme(True, "127.0.0.1:10053")
    _acme_up(tmp_path, monkeypatch, fake,
             {"dns": {"port": 10054}, "acme": {"port": 14003, "management_port": 15003}})
    assert fake.calls == ["stop", ("start", 10054, 14003, 15003)]


def test_up_starts_a_pebble_that_is_not_running(tmp_path, monkeypatch):
    fake = FakeAcme(False, None)
    _acme_up(tmp_path, monkeypatch, fake, {"dns": {"port": 10053}})
    assert fake.calls == [("start", 10053, None, None)]


def test_status_shows_the_acme_server_and_its_directories(tmp_path, capsys):
    state = {"version": 1, "nodes": {}, "dns": {
        "server": "127.0.0.1", "port": 10053, "pid": None, "zones": ["lab.coldrig.test"],
        "tsig_key_name": "coldrig-lab", "tsig_algorithm": "hmac-sha256"}, "acme": {
        "pid": None, "port": 14000, "management_port": 15000,
        "directory": "https://127.0.0.1:14000/dir", "node_directory": "https://10.0.2.2:14000/dir",
        "api_ca_file": "/lab/acme/api-ca.pem", "root_file": "/lab/acme/root.pem"}}
    LabState(tmp_path).save(state)
    assert cli.main(["lab", "status", "--lab-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "ACME: stopped" in out and "https://10.0.2.2:14000/dir" in out
    assert cli.main(["lab", "status", "--json", "--lab-dir", str(tmp_path)]) == 0
    assert json.loads(capsys.readouterr().out)["acme"]["running"] is False
