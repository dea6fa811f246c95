import os
import socket
import stat

import pytest

from coldrig import cli
from coldrig.lab import accel, dns, prereq
from coldrig.lab.config import LabConfig, reverse_zone
from coldrig.lab.errors import LabError
from coldrig.lab.lab import Lab, allocate_address, node_names
from coldrig.lab.state import LabState, pid_alive


def test_node_names_count_from_one():
    assert node_names(3) == ["node1", "node2", "node3"]


def test_address_allocation_skips_addresses_the_lab_uses():
    # High addresses: a demo lab on this machine may hold the first ones.
    assert allocate_address(set(), first=240) == "127.0.100.240"
    assert allocate_address({"127.0.100.240", "127.0.100.241"}, first=240) == "127.0.100.242"


def test_address_allocation_skips_an_address_whose_port_is_taken():
    with socket.socket() as busy:
        busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        busy.bind(("127.0.100.200", 2222))
        busy.listen()
        assert allocate_address(set(), first=200) == "127.0.100.201"


def test_reverse_zone_matches_node_addresses():
    assert reverse_zone() == "100.0.127.in-addr.arpa"


def test_zones_include_node_zone_reverse_zone_and_extras_once():
    config = LabConfig(domain="lab.example.test", extra_zones=("Send.Example.", "lab.example.test"))
    assert config.zones == ["lab.example.test", "100.0.127.in-addr.arpa", "send.example"]


def test_missing_program_is_one_line_naming_the_package(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(prereq, "_search_path", lambda: "/nonexistent")
    with pytest.raises(LabError) as err:
        prereq.require_programs({"qemu-system-x86_64": "qemu-system-x86"})
    message = str(err.value)
    assert "\n" not in message
    assert "apt-get install qemu-system-x86" in message


def test_port_in_use_is_one_line_saying_how_to_find_the_owner():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(LabError) as err:
            prereq.require_port("127.0.0.1", port, "the lab DNS server")
    assert "already in use" in str(err.value) and "ss -ltnp" in str(err.value)
    assert "\n" not in str(err.value)


def test_state_file_is_private_and_round_trips(tmp_path):
    state = LabState(tmp_path / "lab")
    assert state.load() == {"version": 1, "nodes": {}}
    state.save({"version": 1, "nodes": {"node1": {"name": "node1"}}})
    assert stat.S_IMODE(os.stat(state.path).st_mode) == 0o600
    assert state.load()["nodes"]["node1"]["name"] == "node1"


def test_state_of_another_version_is_refused(tmp_path):
    (tmp_path / "state.json").write_text('{"version": 99}')
    with pytest.raises(ValueError, match="unknown state version"):
        LabState(tmp_path).load()


def test_pid_alive_tells_live_from_dead():
    assert pid_alive(os.getpid())
    assert not pid_alive(None)
    assert not pid_alive(2**22 + 1)  # above pid_max


def test_explicit_accel_skips_the_probe(tmp_path, monkeypatch):
    monkeypatch.setattr(accel, "kvm_boots", lambda *a: pytest.fail("probed"))
    assert accel.choose("tcg", "qemu", tmp_path / "vmlinuz", tmp_path) == "tcg"
    assert accel.choose("kvm", "qemu", tmp_path / "vmlinuz", tmp_path) == "kvm"


def test_auto_accel_probes_once_then_uses_the_cached_answer(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(accel, "qemu_version", lambda q: "QEMU 7.2")
    monkeypatch.setattr(accel, "kvm_boots", lambda *a: calls.append(a) or False)
    kernel = tmp_path / "vmlinuz"
    assert accel.choose("auto", "qemu", kernel, tmp_path) == "tcg"
    assert accel.choose("auto", "qemu", kernel, tmp_path) == "tcg"
    assert len(calls) == 1


def test_kvm_probe_expects_a_quick_kernel_panic(tmp_path):
    cmd = accel.probe_command("qemu", tmp_path / "vmlinuz")
    assert "-no-reboot" in cmd and "kvm" in cmd
    assert "panic=-1" in cmd[cmd.index("-append") + 1]


def test_knot_config_serves_zones_and_only_accepts_signed_updates(tmp_path):
    text = dns.knot_conf(tmp_path, 10053, "c2VjcmV0", ["a.test", "b.test"])
    assert "listen: 127.0.0.1@10053" in text
    assert "algorithm: hmac-sha256" in text
    assert "key: coldrig-lab" in text and "action: [update, transfer]" in text
    assert 'domain: "a.test"' in text and 'domain: "b.test"' in text


def test_zone_file_has_soa_and_ns():
    text = dns.zone_file("send.test", "ns1.lab.coldrig.test")
    assert "@ IN SOA ns1.lab.coldrig.test. hostmaster.ns1.lab.coldrig.test." in text
    assert "@ IN NS ns1.lab.coldrig.test." in text


def test_tsig_secret_file_is_private_and_stable(tmp_path):
    server = dns.DnsServer(tmp_path, "lab.coldrig.test")
    first = server.secret()
    assert server.secret() == first
    assert stat.S_IMODE(os.stat(server.secret_file).st_mode) == 0o600


def test_status_of_no_lab_says_how_to_start_one(tmp_path, capsys):
    assert cli.main(["lab", "status", "--lab-dir", str(tmp_path / "none")]) == 0
    assert "coldrig lab up" in capsys.readouterr().out


def test_ssh_to_an_unknown_node_is_a_one_line_error(tmp_path, capsys):
    assert cli.main(["lab", "ssh", "--lab-dir", str(tmp_path), "node9"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("coldrig: error: no lab node named node9") and "\n" not in err


def test_up_with_zero_nodes_is_refused(tmp_path, capsys):
    assert cli.main(["lab", "up", "--lab-dir", str(tmp_path), "--nodes", "0"]) == 1
    assert "--nodes must be at least 1" in capsys.readouterr().err


def test_down_of_no_lab_is_harmless(tmp_path, capsys):
    assert cli.main(["lab", "down", "--lab-dir", str(tmp_path / "none")]) == 0
    assert "no lab" in capsys.readouterr().out


def test_zone_add_without_a_lab_says_to_start_it(tmp_path):
    with pytest.raises(LabError, match="coldrig lab up"):
        Lab(LabConfig(lab_dir=tmp_path)).zone_add(["send.test"])


def test_knot_control_socket_stays_within_the_unix_socket_limit(tmp_path):
    assert dns.control_socket(tmp_path / "dns") == tmp_path / "dns" / "knot.sock"
    deep = tmp_path / ("x" * 120) / "dns"
    socket_path = dns.control_socket(deep)
    assert len(str(socket_path)) < 100 and socket_path.name.startswith("coldrig-knot-")
    assert dns.control_socket(deep) == socket_path  # stable for one lab
