"""The lab's ACME server (the real pebble) with the real Knot DNS server, without nodes.

A name in the lab zone points at a free address of 127.0.100.0/24, where the test serves
http-01 on port 8080 as a node's forwarded port 80 would: pebble resolves the name through
the lab DNS server and fetches the challenge, as it does for a node. The tests run in
file order against one server.
"""

from __future__ import annotations

import http.server
import json
import shutil
import socket
import ssl
import threading
import urllib.error
import urllib.request

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

from coldrig.lab import prereq
from coldrig.lab.acme import HTTP_PORT, AcmeServer
from coldrig.lab.dns import DnsServer
from coldrig.lab.state import pid_alive
from tests.integration.helpers import lab_root
from tests.support.acme_client import AcmeClient, AcmeError, load_chain

ZONE = "lab.coldrig.test"


@pytest.fixture(scope="module")
def lab():
    lab_dir = lab_root() / "acme-server"
    for stale in (AcmeServer(lab_dir), DnsServer(lab_dir, ZONE)):
        stale.stop()
    shutil.rmtree(lab_dir, ignore_errors=True)
    knot = DnsServer(lab_dir, ZONE)
    dns_port = knot.start(None, [ZONE])
    acme = AcmeServer(lab_dir)
    acme.start(dns_port)
    yield {"dir": lab_dir, "dns": knot, "dns_port": dns_port, "acme": acme}
    acme.stop()
    knot.stop()
    shutil.rmtree(lab_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def challenges(lab):
    """An http-01 responder on a free 127.0.100.N:8080, and `web.<zone>` pointing at it."""
    free = [f"127.0.100.{n}" for n in range(250, 200, -1) if prereq.port_free(f"127.0.100.{n}", HTTP_PORT)]
    assert free, "no free 127.0.100.N:8080 for the http-01 responder"
    address = free[0]
    tokens: dict[str, str] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the name http.server calls)
            token = self.path.rsplit("/", 1)[-1]
            body = tokens.get(token, "").encode() if self.path.startswith("/.well-known/acme-challenge/") else b""
            self.send_response(200 if body else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer((address, HTTP_PORT), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    lab["dns"].update(lab["dns_port"], ZONE, [("replace", f"web.{ZONE}.", "A", address)])
    yield {"name": f"web.{ZONE}", "address": address, "tokens": tokens}
    server.shutdown()
    server.server_close()


def directory(acme: AcmeServer) -> dict:
    context = ssl.create_default_context(cafile=str(acme.api_ca))
    with urllib.request.urlopen(acme.describe()["directory"], context=context, timeout=5) as response:
        return json.load(response)


def issue(lab, challenges, name: str | None = None) -> list[x509.Certificate]:
    state = lab["acme"].describe()
    client = AcmeClient(state["directory"], state["api_ca_file"])
    chain, _key = client.order([name or challenges["name"]], challenges["tokens"].__setitem__)
    return load_chain(chain)


def chains_to(chain: list[x509.Certificate], root: x509.Certificate) -> bool:
    try:
        for cert, issuer in zip(chain, chain[1:] + [root]):
            cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def test_directory_answers_over_tls_checked_against_the_lab_api_ca(lab):
    assert directory(lab["acme"])["newOrder"].startswith(f"https://127.0.0.1:{lab['acme'].ports()[0]}/")
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        urllib.request.urlopen(lab["acme"].describe()["directory"], timeout=5)  # the system's CAs


def test_pebble_runs_strict_against_the_lab_dns_server(lab):
    assert lab["acme"].running()
    assert lab["acme"].dns_server() == f"127.0.0.1:{lab['dns_port']}"
    assert "Disabling random VA sleeps" in lab["acme"].log.read_text()


def test_root_pem_is_the_ca_certificate_pebble_issues_from(lab):
    root = x509.load_pem_x509_certificate(lab["acme"].root_file.read_bytes())
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert "Pebble Root CA" in root.subject.rfc4514_string()


def test_http_01_is_validated_at_the_names_address_and_the_chain_ends_at_root_pem(lab, challenges):
    chain = issue(lab, challenges)
    leaf = chain[0]
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == [challenges["name"]]
    assert chains_to(chain, x509.load_pem_x509_certificate(lab["acme"].root_file.read_bytes()))
    assert f"http://{challenges['name']}:{HTTP_PORT}/.well-known/acme-challenge/" in lab["acme"].log.read_text()


def test_a_name_whose_challenge_nobody_serves_gets_no_certificate(lab, challenges):
    lab["dns"].update(lab["dns_port"], ZONE, [("replace", f"dark.{ZONE}.", "A", "127.0.100.199")])
    with pytest.raises(AcmeError, match="invalid"):
        issue(lab, challenges, f"dark.{ZONE}")


def test_check_of_a_running_server_keeps_it_and_fetches_a_lost_root_again(lab):
    pid, root = lab["acme"].pid(), lab["acme"].root_file.read_bytes()
    lab["acme"].root_file.unlink()
    AcmeServer(lab["dir"]).check()
    assert lab["acme"].pid() == pid
    assert lab["acme"].root_file.read_bytes() == root


def test_a_restart_keeps_the_ports_and_the_api_ca_and_makes_a_new_root(lab, challenges):
    chain = issue(lab, challenges)
    ports, api_ca = lab["acme"].ports(), lab["acme"].api_ca.read_bytes()
    old_root = lab["acme"].root_file.read_bytes()
    lab["acme"].stop()
    assert lab["acme"].start(lab["dns_port"], *ports) == ports
    assert lab["acme"].api_ca.read_bytes() == api_ca
    new_root = x509.load_pem_x509_certificate(lab["acme"].root_file.read_bytes())
    assert new_root.public_bytes(serialization.Encoding.PEM) != old_root
    assert not chains_to(chain, new_root)  # what the earlier pebble issued no longer validates


def test_a_port_taken_while_stopped_moves_the_server_to_the_next_free_one(lab):
    port, management_port = lab["acme"].ports()
    lab["acme"].stop()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", port))
        busy.listen()
        new_port, new_management_port = lab["acme"].start(lab["dns_port"], port, management_port)
    assert new_port != port and new_management_port == management_port
    assert directory(lab["acme"])["newOrder"].startswith(f"https://127.0.0.1:{new_port}/")


def test_stop_leaves_no_process_and_no_pid_file(lab):
    pid = lab["acme"].pid()
    lab["acme"].stop()
    assert not pid_alive(pid)
    assert not lab["acme"].pid_file.exists() and not lab["acme"].running()
