"""coldrig.infra.egress_check run through ansible: on this machine against local SMTP greeters, and on a lab VM.

The lab VM reaches this machine's loopback as 10.0.2.2 (QEMU user networking), so a greeter
on 127.0.0.1:<port> is an "outside" mail server for it: the check passes against that port
and fails, with the provider's advice, against a closed one.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

from tests.integration.helpers import BIN, ROOT, ansible_env, coldrig, lab_root, run_module
from tests.support.banner import BannerServer, closed_port

GREETING = b"220 test ESMTP"


@pytest.fixture(scope="module")
def smtp():
    with BannerServer(GREETING) as server:
        yield server


def test_an_open_port_passes_with_the_greeting(smtp):
    result = run_module("coldrig.infra.egress_check", {"hosts": [f"127.0.0.1:{smtp.port}"], "provider": "hcloud"})
    assert not result["failed"] and result["passed"] and result["reachable"] == 1 and not result["changed"]
    (entry,) = result["results"]
    assert entry["connected"] and entry["banner"] == "220 test ESMTP" and entry["address"] == "127.0.0.1"
    assert entry["error"] is None and entry["seconds"] < 2


def test_a_closed_port_fails_with_the_table_and_the_providers_advice():
    port = closed_port()
    result = run_module("coldrig.infra.egress_check", {"hosts": [f"127.0.0.1:{port}"], "provider": "digitalocean",
                                                       "timeout": 2})
    assert result["failed"] and not result["passed"] and result["reachable"] == 0
    assert f"outbound SMTP (TCP port {port}) does not get through from this node: 0 of 1 hosts answered" in result["msg"]
    assert "Connection refused" in result["msg"]
    assert "DigitalOcean blocks outbound TCP port 25 on the droplets of new accounts" in result["msg"]
    assert result["advice"].startswith("DigitalOcean blocks")


def test_any_passes_with_one_host_but_all_needs_every_one(smtp):
    hosts = [f"127.0.0.1:{smtp.port}", f"127.0.0.1:{closed_port()}", "no-such-host.invalid"]
    passed = run_module("coldrig.infra.egress_check", {"hosts": hosts, "timeout": 2})
    assert passed["passed"] and passed["reachable"] == 1
    assert [e["connected"] for e in passed["results"]] == [True, False, False]
    assert passed["results"][2]["error"].startswith("cannot resolve no-such-host.invalid")
    failed = run_module("coldrig.infra.egress_check", {"hosts": hosts, "timeout": 2, "require": "all",
                                                       "provider": "hcloud"})
    assert failed["failed"] and "1 of 3 hosts answered, every host must" in failed["msg"]
    assert "Hetzner Cloud blocks outbound TCP ports 25 and 465" in failed["msg"]


def test_a_server_that_accepts_but_says_nothing_is_reachable_with_a_note():
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)  # the kernel completes the handshake; nobody ever writes
        start = time.monotonic()
        result = run_module("coldrig.infra.egress_check", {"hosts": [f"127.0.0.1:{silent.getsockname()[1]}"],
                                                           "timeout": 1.5})
    assert result["passed"] and time.monotonic() - start < 15
    (entry,) = result["results"]
    assert entry["connected"] and entry["banner"] is None and entry["error"] == "connected, but no greeting within 1.5 s"


def test_check_mode_runs_the_check_too(smtp):
    result = run_module("coldrig.infra.egress_check", {"hosts": [f"127.0.0.1:{smtp.port}"]}, check=True)
    assert result["passed"] and result["results"][0]["banner"] == "220 test ESMTP"


@pytest.mark.parametrize("host,reason", [("mx.example.com:99999", "'99999' is not a port"),
                                         ("[2001:db8::1", "write an IPv6 address with a port as [address]:port"),
                                         (":25", "the host is missing")])
def test_a_malformed_host_fails_naming_its_index(host, reason):
    result = run_module("coldrig.infra.egress_check", {"hosts": ["gmail-smtp-in.l.google.com", host]})
    assert result["failed"] and result["msg"].startswith("hosts[1]: ") and reason in result["msg"]


# ------------------------------------------------------------- on a lab VM
def run_on_node(lab_dir, args: dict) -> dict:
    """The module on the lab's node1 over SSH, as a playbook task would run it there."""
    inventory = lab_dir / "lab.yml"
    inventory.write_text(f"plugin: coldrig.infra.lab\nlab_dir: {lab_dir}\n")
    environment = ansible_env(lab_dir)
    environment.update({"ANSIBLE_LOAD_CALLBACK_PLUGINS": "1", "ANSIBLE_DEPRECATION_WARNINGS": "0"})
    with tempfile.TemporaryDirectory(prefix="coldrig-egress-") as tree:
        command = [str(BIN / "ansible"), "node1", "-i", str(inventory), "--tree", tree,
                   "-m", "coldrig.infra.egress_check", "-a", json.dumps(args)]
        result = subprocess.run(command, capture_output=True, text=True, env=environment, cwd=ROOT, timeout=300,
                                stdin=subprocess.DEVNULL, check=False)
        try:
            with open(os.path.join(tree, "node1"), encoding="utf-8") as handle:
                data = json.load(handle)
        except (OSError, ValueError):
            pytest.fail(f"ansible wrote no result ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    data["failed"] = result.returncode != 0
    return data


@pytest.fixture(scope="module")
def lab_node():
    lab_dir = lab_root() / "egress-check"
    coldrig("lab", "down", "--lab-dir", lab_dir, check=False)
    shutil.rmtree(lab_dir, ignore_errors=True)
    try:
        coldrig("lab", "up", "--nodes", "1", "--lab-dir", lab_dir)
        yield lab_dir
    finally:
        coldrig("lab", "down", "--lab-dir", lab_dir, check=False)
        shutil.rmtree(lab_dir, ignore_errors=True)


@pytest.mark.lab
def test_on_a_lab_node_the_host_greeter_passes_and_a_closed_port_fails_with_advice(lab_node, smtp):
    passed = run_on_node(lab_node, {"hosts": [f"10.0.2.2:{smtp.port}"], "provider": "lab", "timeout": 5})
    assert not passed["failed"] and passed["passed"], passed
    (entry,) = passed["results"]
    assert entry["connected"] and entry["banner"] == "220 test ESMTP" and entry["address"] == "10.0.2.2"
    closed = closed_port()
    failed = run_on_node(lab_node, {"hosts": [f"10.0.2.2:{closed}"], "provider": "hcloud", "timeout": 3})
    assert failed["failed"] and not failed["passed"] and failed["results"][0]["connected"] is False
    assert "10.0.2.2" in failed["msg"] and failed["results"][0]["error"]  # the table names the host and why
    assert f"outbound SMTP (TCP port {closed}) does not get through from this node" in failed["msg"]
    assert "Hetzner Cloud blocks outbound TCP ports 25 and 465" in failed["msg"]
