import json
import os

import pytest
from ansible.errors import AnsibleParserError
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import inventory_loader


def node(name, address, pid=None, **extra):
    entry = {
        "name": name, "fqdn": f"{name}.lab.coldrig.test", "address": address, "pid": pid,
        "accel": "tcg", "memory_mb": 1024, "cpus": 2, "image": "debian12-abc",
        "console_log": f"/lab/nodes/{name}/console.log",
        "ports": {"ssh": 2222, "smtp": 2525, "submission": 5587, "imaps": 9993},
        "labels": {"coldrig_role": "mta", "coldrig_fleet": "lab"},
    }
    entry.update(extra)
    return entry


@pytest.fixture
def lab_dir(tmp_path):
    state = {
        "version": 1, "lab_id": "cafe0001", "domain": "lab.coldrig.test",
        "ssh": {"user": "root", "private_key": "/lab/ssh/id_ed25519", "known_hosts": "/lab/ssh/known_hosts"},
        "dns": {"server": "127.0.0.1", "port": 10053, "pid": 1, "zones": ["lab.coldrig.test"],
                "tsig_key_name": "coldrig-lab", "tsig_algorithm": "hmac-sha256",
                "tsig_secret_file": "/lab/tsig.key"},
        "acme": {"pid": 2, "port": 14000, "management_port": 15000,
                 "directory": "https://127.0.0.1:14000/dir", "node_directory": "https://10.0.2.2:14000/dir",
                 "api_ca_file": "/lab/acme/api-ca.pem", "root_file": "/lab/acme/root.pem"},
        "nodes": {
            "node1": node("node1", "127.0.100.1"),
            "node2": node("node2", "127.0.100.2", labels={"coldrig_role": "relay", "coldrig_fleet": "eu-1"}),
        },
    }
    (tmp_path / "state.json").write_text(json.dumps(state))
    return tmp_path


def parse(tmp_path, lab_dir, extra=""):
    config = tmp_path / "test.lab.yml"
    config.write_text(f"plugin: coldrig.infra.lab\nlab_dir: {lab_dir}\n{extra}")
    inventory = InventoryData()
    plugin = inventory_loader.get("coldrig.infra.lab")
    plugin.parse(inventory, DataLoader(), str(config), cache=False)
    return inventory


def test_stopped_nodes_are_not_listed_by_default(tmp_path, lab_dir):
    inventory = parse(tmp_path, lab_dir)
    assert not inventory.hosts


def test_normalised_host_vars_and_connection_vars(tmp_path, lab_dir):
    inventory = parse(tmp_path, lab_dir, "include_stopped: true\n")
    host_vars = inventory.get_host("node1").vars
    assert host_vars["coldrig_provider"] == "lab"
    assert host_vars["coldrig_public_ipv4"] == "127.0.100.1"
    assert host_vars["coldrig_public_ipv6"] is None
    assert host_vars["coldrig_ptr"] == "node1.lab.coldrig.test"
    assert host_vars["coldrig_region"] == "local"
    assert host_vars["coldrig_size"] == "2vcpu-1024mb"
    assert host_vars["coldrig_labels"] == {"coldrig_role": "mta", "coldrig_fleet": "lab"}
    assert host_vars["ansible_host"] == "127.0.100.1"
    assert host_vars["ansible_port"] == 2222
    assert host_vars["ansible_user"] == "root"
    assert host_vars["ansible_ssh_private_key_file"] == "/lab/ssh/id_ed25519"
    assert "UserKnownHostsFile=/lab/ssh/known_hosts" in host_vars["ansible_ssh_common_args"]
    assert "StrictHostKeyChecking=yes" in host_vars["ansible_ssh_common_args"]
    assert host_vars["coldrig_lab"]["ports"]["smtp"] == 2525


def test_labels_make_role_and_fleet_groups(tmp_path, lab_dir):
    inventory = parse(tmp_path, lab_dir, "include_stopped: true\n")
    assert [h.name for h in inventory.groups["coldrig_role_mta"].get_hosts()] == ["node1"]
    assert [h.name for h in inventory.groups["coldrig_role_relay"].get_hosts()] == ["node2"]
    assert [h.name for h in inventory.groups["coldrig_fleet_eu_1"].get_hosts()] == ["node2"]


def test_lab_dns_is_a_variable_of_all_in_rfc2136_shape(tmp_path, lab_dir):
    inventory = parse(tmp_path, lab_dir, "include_stopped: true\n")
    dns = inventory.groups["all"].vars["coldrig_lab_dns"]
    assert dns == {
        "provider": "rfc2136", "server": "127.0.0.1", "port": 10053,
        "tsig_key_name": "coldrig-lab", "tsig_algorithm": "hmac-sha256",
        "tsig_key_file": "/lab/tsig.key", "zones": ["lab.coldrig.test"], "lab_dir": str(lab_dir),
    }


def test_lab_acme_is_a_variable_of_all_with_the_directory_as_nodes_reach_it(tmp_path, lab_dir):
    inventory = parse(tmp_path, lab_dir, "include_stopped: true\n")
    assert inventory.groups["all"].vars["coldrig_lab_acme"] == {
        "directory": "https://10.0.2.2:14000/dir",
        "ca_bundle_file": "/lab/acme/api-ca.pem",
        "root_file": "/lab/acme/root.pem",
    }


def test_a_lab_without_an_acme_server_sets_no_acme_variable(tmp_path, lab_dir):
    state = json.loads((lab_dir / "state.json").read_text())
    del state["acme"]
    (lab_dir / "state.json").write_text(json.dumps(state))
    inventory = parse(tmp_path, lab_dir, "include_stopped: true\n")
    assert "coldrig_lab_acme" not in inventory.groups["all"].vars
    assert "coldrig_lab_dns" in inventory.groups["all"].vars


def test_constructed_compose_groups_and_keyed_groups(tmp_path, lab_dir):
    inventory = parse(tmp_path, lab_dir, (
        "include_stopped: true\n"
        "compose:\n  mail_host: coldrig_ptr\n"
        "groups:\n  relays: coldrig_labels.coldrig_role == 'relay'\n"
        "keyed_groups:\n  - key: coldrig_lab.accel\n    prefix: accel\n"
    ))
    assert inventory.get_host("node2").vars["mail_host"] == "node2.lab.coldrig.test"
    assert [h.name for h in inventory.groups["relays"].get_hosts()] == ["node2"]
    assert len(inventory.groups["accel_tcg"].get_hosts()) == 2


def test_a_live_pid_that_is_not_the_nodes_qemu_is_not_running(tmp_path, lab_dir):
    state = json.loads((lab_dir / "state.json").read_text())
    state["nodes"]["node1"]["pid"] = os.getpid()  # alive, but the test runner, not QEMU
    (lab_dir / "state.json").write_text(json.dumps(state))
    assert not parse(tmp_path, lab_dir).hosts


def test_no_lab_is_an_empty_inventory(tmp_path):
    assert not parse(tmp_path, tmp_path / "missing").hosts


def test_state_of_another_version_fails_with_the_path(tmp_path, lab_dir):
    (lab_dir / "state.json").write_text('{"version": 7}')
    with pytest.raises(AnsibleParserError, match="state version 7"):
        parse(tmp_path, lab_dir)


def test_only_files_named_lab_yml_are_claimed(tmp_path):
    plugin = inventory_loader.get("coldrig.infra.lab")
    for name, claimed in (("lab.yml", True), ("x.lab.yaml", True), ("hosts.yml", False)):
        path = tmp_path / name
        path.write_text("plugin: coldrig.infra.lab\n")
        assert plugin.verify_file(str(path)) is claimed


def test_the_lab_key_is_the_admin_key_and_the_qemu_gateway_is_trusted(tmp_path, lab_dir):
    key = tmp_path / "id_ed25519.pub"
    key.write_text("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBvT3Zx coldrig-lab\n")
    state = json.loads((lab_dir / "state.json").read_text())
    state["ssh"]["private_key"] = str(tmp_path / "id_ed25519")
    (lab_dir / "state.json").write_text(json.dumps(state))
    host_vars = parse(tmp_path, lab_dir, "include_stopped: true\n").get_host("node1").vars
    assert host_vars["coldrig_admin_ssh_keys"] == ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBvT3Zx coldrig-lab"]
    assert host_vars["coldrig_trusted_networks"] == ["10.0.2.2/32"]
