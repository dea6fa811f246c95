"""coldrig.infra.egress_check in this process: host parsing, timeouts and the failure message."""
from __future__ import annotations

import ast
import socket
from pathlib import Path

import pytest

from ansible_collections.coldrig.infra.plugins.module_utils import host_port
from ansible_collections.coldrig.infra.plugins.modules import egress_check as module
from tests.support.banner import BannerServer, closed_port

SOURCE = Path(module.__file__)


def test_the_default_hosts_are_the_big_mailbox_providers_mx_hosts():
    assert module.DEFAULT_HOSTS == ["gmail-smtp-in.l.google.com", "hotmail-com.olc.protection.outlook.com",
                                    "mta5.am0.yahoodns.net", "mx01.mail.icloud.com"]


def test_a_dropped_connection_is_reported_as_a_timeout_of_a_provider_block(monkeypatch, run_module):
    def dropped(self, address):
        raise socket.timeout("timed out")

    monkeypatch.setattr(socket.socket, "connect", dropped)
    result = run_module(module, {"hosts": ["127.0.0.1"], "timeout": 0.5, "provider": "hcloud"})
    assert result["failed"] and result["results"][0]["error"].startswith("timed out after 0.5 s (dropped on the way")
    assert "Hetzner Cloud blocks outbound TCP ports 25 and 465" in result["msg"]


def test_every_provider_has_advice_and_it_is_in_the_failure(run_module):
    port = closed_port()
    for provider, words in (("hcloud", "Hetzner"), ("digitalocean", "DigitalOcean"), ("lab", "QEMU user networking"),
                            ("other", "provider's policy")):
        result = run_module(module, {"hosts": ["127.0.0.1:%d" % port], "provider": provider, "timeout": 1})
        assert result["failed"] and words in result["advice"] and result["advice"] in result["msg"]


def test_the_table_lists_every_host_with_its_outcome(run_module):
    with BannerServer(b"220 mx.test ESMTP ready") as smtp:
        port = closed_port()
        result = run_module(module, {"hosts": ["127.0.0.1:%d" % smtp.port, "127.0.0.1:%d" % port], "require": "all",
                                     "timeout": 1})
    lines = result["msg"].splitlines()
    assert lines[1].split() == ["host", "port", "address", "result"]
    assert lines[2].split()[:4] == ["127.0.0.1", str(smtp.port), "127.0.0.1", "connected:"]
    assert "220 mx.test ESMTP ready" in lines[2] and "Connection refused" in lines[3]


def test_read_banner_false_only_connects(run_module):
    with BannerServer(b"220 quiet") as smtp:
        result = run_module(module, {"hosts": ["127.0.0.1:%d" % smtp.port], "read_banner": False})
    assert result["passed"] and result["results"][0]["banner"] is None and result["results"][0]["error"] is None


@pytest.mark.parametrize("extra,message", [({"hosts": []}, "hosts: give at least one"),
                                           ({"timeout": 0}, "timeout: 0 is not between"),
                                           ({"port": 70000}, "port: 70000 is not a TCP port")])
def test_bad_options_name_the_field(run_module, extra, message):
    result = run_module(module, dict({"hosts": ["127.0.0.1"]}, **extra))
    assert result["failed"] and result["msg"].startswith(message)


@pytest.mark.parametrize("source", [SOURCE, Path(host_port.__file__)], ids=["egress_check", "host_port"])
def test_the_module_is_python_3_6_code_with_only_the_standard_library(source):
    """It runs on the node: with the node's Python 3, and nothing pip installed there."""
    tree = ast.parse(source.read_text(), feature_version=(3, 6))  # no f-strings with =, walrus, match ...
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    imported = {name.split(".")[0] if not name.startswith("ansible_collections.") else name for name in imported}
    assert imported <= {"__future__", "socket", "threading", "time", "ansible",
                        "ansible_collections.coldrig.infra.plugins.module_utils.host_port"}
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.JoinedStr)]  # no f-strings at all
