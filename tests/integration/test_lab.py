"""The lab end to end: two real QEMU nodes, the real Knot DNS server and the real pebble.

The tests run in file order against one lab, from `lab up` to `lab down`.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shlex
import shutil
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import dns.tsigkeyring
import dns.update
import pytest
from cryptography import x509

from coldrig.lab.state import pid_alive
from tests.integration.helpers import BIN, ROOT, ansible_env, coldrig, lab_root
from tests.support.acme_client import AcmeClient, load_chain

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def lab_dir():
    path = lab_root() / "lab-lifecycle"
    coldrig("lab", "down", "--lab-dir", path, check=False)
    shutil.rmtree(path, ignore_errors=True)
    yield path
    coldrig("lab", "down", "--lab-dir", path, check=False)


@pytest.fixture(scope="module")
def lab(lab_dir):
    result = coldrig("lab", "up", "--nodes", "2", "--lab-dir", lab_dir)
    return {"up": result, "dir": lab_dir}


def state(lab_dir: Path) -> dict:
    return json.loads((lab_dir / "state.json").read_text())


def ssh(lab_dir: Path, node: str, command: str) -> str:
    return coldrig("lab", "ssh", "--lab-dir", lab_dir, node, "--", command).stdout.strip()


def query(lab_dir: Path, name: str, rtype: str) -> list[str]:
    dns_state = state(lab_dir)["dns"]
    response = dns.query.udp(dns.message.make_query(name, rtype), dns_state["server"],
                             port=dns_state["port"], timeout=3)
    return sorted(rdata.to_text() for rrset in response.answer for rdata in rrset)


def update(lab_dir: Path, zone: str, name: str, rtype: str, value: str, secret: str | None = None):
    dns_state = state(lab_dir)["dns"]
    secret = secret or Path(dns_state["tsig_secret_file"]).read_text().strip()
    keyring = dns.tsigkeyring.from_text({dns_state["tsig_key_name"]: (dns_state["tsig_algorithm"], secret)})
    message = dns.update.UpdateMessage(zone, keyring=keyring, keyalgorithm=dns_state["tsig_algorithm"])
    message.replace(name, 300, rtype, value)
    return dns.query.tcp(message, dns_state["server"], port=dns_state["port"], timeout=5)


def lab_processes(lab_id: str) -> list[str]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            status = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if status != "Z" and (f"coldrig-{lab_id}-" in cmdline or str(lab_id) in cmdline):
            found.append(f"{pid}: {cmdline}")
    return found


def test_up_boots_two_nodes_that_answer_over_ssh_with_their_fqdn(lab):
    nodes = state(lab["dir"])["nodes"]
    assert sorted(nodes) == ["node1", "node2"]
    for name, node in nodes.items():
        assert ssh(lab["dir"], name, "hostname --fqdn") == node["fqdn"]
    assert "booting" in lab["up"].stdout and "waiting for SSH" in lab["up"].stdout


def test_nodes_get_their_own_address_host_key_and_machine_id(lab):
    nodes = state(lab["dir"])["nodes"]
    assert nodes["node1"]["address"] != nodes["node2"]["address"]
    keys = {ssh(lab["dir"], n, "cat /etc/ssh/ssh_host_ed25519_key.pub").split()[1] for n in nodes}
    ids = {ssh(lab["dir"], n, "cat /etc/machine-id") for n in nodes}
    assert len(keys) == 2 and len(ids) == 2


def test_second_up_changes_nothing(lab):
    before = {n: v["pid"] for n, v in state(lab["dir"])["nodes"].items()}
    acme_before = state(lab["dir"])["acme"]
    root_before = Path(acme_before["root_file"]).read_bytes()
    result = coldrig("lab", "up", "--nodes", "2", "--lab-dir", lab["dir"])
    assert "booting" not in result.stdout and "starting the lab ACME server" not in result.stdout
    assert "already running" in result.stdout
    assert {n: v["pid"] for n, v in state(lab["dir"])["nodes"].items()} == before
    assert state(lab["dir"])["acme"] == acme_before
    assert Path(acme_before["root_file"]).read_bytes() == root_before


def test_status_lists_running_nodes_and_the_dns_server(lab):
    out = coldrig("lab", "status", "--lab-dir", lab["dir"]).stdout
    assert out.count("running") >= 4  # two nodes, the DNS server and the ACME server
    assert "ACME: running" in out
    data = json.loads(coldrig("lab", "status", "--json", "--lab-dir", lab["dir"]).stdout)
    assert all(node["rss_bytes"] > 0 for node in data["nodes"].values())
    assert data["acme"]["running"] and data["acme"]["pid"] > 0


def test_dns_server_answers_node_a_and_ptr_records(lab):
    for node in state(lab["dir"])["nodes"].values():
        assert query(lab["dir"], node["fqdn"], "A") == [node["address"]]
        reverse = ".".join(reversed(node["address"].split("."))) + ".in-addr.arpa"
        assert query(lab["dir"], reverse, "PTR") == [node["fqdn"] + "."]


def test_signed_update_is_applied_and_a_wrong_tsig_secret_changes_nothing(lab):
    response = update(lab["dir"], "lab.coldrig.test", "probe.lab.coldrig.test.", "TXT", '"v=1"')
    assert response.rcode() == dns.rcode.NOERROR
    assert query(lab["dir"], "probe.lab.coldrig.test", "TXT") == ['"v=1"']
    with pytest.raises(dns.tsig.PeerBadSignature):
        update(lab["dir"], "lab.coldrig.test", "probe.lab.coldrig.test.", "TXT", '"v=2"',
               secret="d3Jvbmcgc2VjcmV0IHdyb25nIHNlY3JldCB3cm9uZyE=")
    assert query(lab["dir"], "probe.lab.coldrig.test", "TXT") == ['"v=1"']


def test_zone_add_makes_the_server_authoritative_for_a_sending_domain(lab):
    added = coldrig("lab", "zone", "add", "--lab-dir", lab["dir"], "send-demo.test")
    assert "zones added: send-demo.test" in added.stdout
    again = coldrig("lab", "zone", "add", "--lab-dir", lab["dir"], "send-demo.test")
    assert "served already" in again.stdout
    assert query(lab["dir"], "send-demo.test", "SOA")
    response = update(lab["dir"], "send-demo.test", "send-demo.test.", "MX", "10 node1.lab.coldrig.test.")
    assert response.rcode() == dns.rcode.NOERROR
    assert "send-demo.test" in state(lab["dir"])["dns"]["zones"]


def test_acme_directory_answers_over_tls_verified_with_the_lab_api_ca(lab):
    acme = state(lab["dir"])["acme"]
    context = ssl.create_default_context(cafile=acme["api_ca_file"])
    with urllib.request.urlopen(acme["directory"], context=context, timeout=5) as response:
        assert json.load(response)["newOrder"].startswith(f"https://127.0.0.1:{acme['port']}/")
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        urllib.request.urlopen(acme["directory"], timeout=5)  # the system's CAs do not know it
    root = x509.load_pem_x509_certificate(Path(acme["root_file"]).read_bytes())
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_acme_directory_is_reachable_from_a_node_at_the_qemu_gateway(lab):
    acme = state(lab["dir"])["acme"]
    assert acme["node_directory"] == f"https://10.0.2.2:{acme['port']}/dir"
    api_ca = base64.b64encode(Path(acme["api_ca_file"]).read_bytes()).decode()
    probe = (
        "import base64, json, ssl, urllib.request\n"
        f"context = ssl.create_default_context(cadata=base64.b64decode('{api_ca}').decode())\n"
        f"print(json.load(urllib.request.urlopen('{acme['node_directory']}', context=context, timeout=10))"
        "['newOrder'])\n"
    )
    # pebble builds its URLs from the Host the client asked for: a node is sent on to 10.0.2.2.
    assert ssh(lab["dir"], "node1", f"python3 -c {shlex.quote(probe)}") == \
        f"https://10.0.2.2:{acme['port']}/order-plz"


def test_a_node_gets_a_certificate_by_http_01_on_its_port_80(lab):
    """The real path: pebble resolves the node's name in the lab DNS, fetches the challenge
    from <node address>:8080, which QEMU forwards to the node's port 80."""
    data = state(lab["dir"])
    node, acme = data["nodes"]["node1"], data["acme"]
    webroot = "/tmp/acme-webroot"
    probe = secrets.token_hex(8)
    # The mail image flavour has nginx installed, and so listening on port 80: stop it first.
    ssh(lab["dir"], "node1", "systemctl stop nginx 2>/dev/null; "
        f"mkdir -p {webroot}/.well-known/acme-challenge && echo {probe} > {webroot}/probe && "
        f"(setsid python3 -m http.server 80 --directory {webroot} >/tmp/acme-web.log 2>&1 </dev/null "
        "& echo $! >/tmp/acme-web.pid)")
    try:
        deadline = time.monotonic() + 30
        while True:  # the node's port 80, as pebble will reach it, answered by this server
            try:
                url = f"http://{node['address']}:{node['ports']['http']}/probe"
                with urllib.request.urlopen(url, timeout=3) as answer:
                    if answer.read().decode().strip() == probe:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the test's web server never answered on node1's port 80: "
                            f"{ssh(lab['dir'], 'node1', 'cat /tmp/acme-web.log; ss -ltnp')}")
            time.sleep(0.5)

        def serve(token: str, key_authorization: str) -> None:
            path = f"{webroot}/.well-known/acme-challenge/{token}"
            ssh(lab["dir"], "node1", f"printf %s {shlex.quote(key_authorization)} > {shlex.quote(path)}")

        chain, _key = AcmeClient(acme["directory"], acme["api_ca_file"]).order([node["fqdn"]], serve)
    finally:
        ssh(lab["dir"], "node1", "kill $(cat /tmp/acme-web.pid) 2>/dev/null; true")
    certs = load_chain(chain)
    names = certs[0].extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == [node["fqdn"]]
    root = x509.load_pem_x509_certificate(Path(acme["root_file"]).read_bytes())
    for cert, issuer in zip(certs, certs[1:] + [root]):
        cert.verify_directly_issued_by(issuer)
    log = (lab["dir"] / "acme" / "pebble.log").read_text()
    assert f"http://{node['fqdn']}:8080/.well-known/acme-challenge/" in log


def test_inventory_plugin_lists_running_nodes_and_ansible_reaches_them(lab):
    env = ansible_env(lab["dir"])
    inventory = json.loads(subprocess.run(
        [BIN / "ansible-inventory", "-i", ROOT / "inventories/lab/lab.yml", "--list"],
        capture_output=True, text=True, check=True, env=env, stdin=subprocess.DEVNULL).stdout)
    assert sorted(inventory["coldrig_role_mta"]["hosts"]) == ["node1", "node2"]
    provider = inventory["_meta"]["hostvars"]["node1"]["coldrig_provider"]
    # ansible-core 2.19 marks values from inventory plugins as not trusted for templating.
    assert provider in ("lab", {"__ansible_unsafe": "lab"})
    directory = inventory["_meta"]["hostvars"]["node1"]["coldrig_lab_acme"]["directory"]
    node_directory = state(lab["dir"])["acme"]["node_directory"]
    assert directory in (node_directory, {"__ansible_unsafe": node_directory})
    ping = subprocess.run(
        [BIN / "ansible", "coldrig_role_mta", "-i", ROOT / "inventories/lab/lab.yml", "-m", "ansible.builtin.ping"],
        capture_output=True, text=True, check=False, env=env, stdin=subprocess.DEVNULL, cwd=ROOT)
    assert ping.returncode == 0, ping.stdout + ping.stderr
    assert ping.stdout.count("SUCCESS") == 2


def test_reset_boots_a_fresh_disk_and_keeps_the_node_reachable(lab):
    ssh(lab["dir"], "node1", "touch /root/left-behind")
    old_pid = state(lab["dir"])["nodes"]["node1"]["pid"]
    result = coldrig("lab", "reset", "--lab-dir", lab["dir"], "node1")
    assert "reset in" in result.stdout
    assert state(lab["dir"])["nodes"]["node1"]["pid"] != old_pid
    assert ssh(lab["dir"], "node1", "ls /root/left-behind 2>/dev/null || echo gone") == "gone"


def test_down_of_one_node_removes_it_and_its_records(lab):
    fqdn = state(lab["dir"])["nodes"]["node2"]["fqdn"]
    coldrig("lab", "down", "--lab-dir", lab["dir"], "node2")
    assert sorted(state(lab["dir"])["nodes"]) == ["node1"]
    assert query(lab["dir"], fqdn, "A") == []
    assert not (lab["dir"] / "nodes" / "node2").exists()


def test_requested_dns_port_in_use_fails_before_anything_changes(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = coldrig("lab", "up", "--lab-dir", tmp_path / "lab", "--dns-port", port, check=False)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "already in use" in result.stderr
    assert not (tmp_path / "lab" / "nodes").exists()


def test_missing_qemu_is_a_one_line_error_with_the_fix(tmp_path):
    env = dict(os.environ, PATH=str(tmp_path))  # nothing on PATH
    result = coldrig("lab", "up", "--lab-dir", tmp_path / "lab", check=False, env=env)
    assert result.returncode == 1
    assert result.stderr.strip().startswith("coldrig: error: qemu-system-x86_64 is not installed")
    assert "apt-get install qemu-system-x86" in result.stderr


def test_down_leaves_no_process_file_or_mount(lab):
    lab_id = state(lab["dir"])["lab_id"]
    pebble_pid = state(lab["dir"])["acme"]["pid"]
    knot_conf = str(lab["dir"] / "dns" / "knot.conf")
    pebble_conf = str(lab["dir"] / "acme" / "pebble.json")
    coldrig("lab", "down", "--lab-dir", lab["dir"])
    assert not lab_processes(lab_id)
    assert not lab_processes(knot_conf)
    assert not lab_processes(pebble_conf) and not pid_alive(pebble_pid)
    assert not lab["dir"].exists()
    assert str(lab["dir"]) not in Path("/proc/mounts").read_text()
