"""provision.yml -> the inventory plugin -> decommission.yml, against the Hetzner Cloud and DigitalOcean simulators.

The simulators hand out public IPv4 addresses from a loopback range, where an SSH banner
server answers, so the server module's wait for SSH runs for real. The egress check is off
(the simulated nodes cannot be logged in to); tests/integration/test_egress_check.py runs it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.helpers import BIN, ROOT
from tests.support.banner import BannerServer
from tests.support.digitalocean_sim import DigitalOceanSimulator
from tests.support.hcloud_sim import HcloudSimulator

TOKEN = "coldrig-provision-token-Xq7Lm2Np9Rs4Tv6Wy8Za1Bc3De5Fg7Hj9Kl2Mn4Pq6Rs8Tu0Vw2Xy4"
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGw9OFQ8oDA4wwbwkPNRybfB7sHxAT7uTvDK0TfsRuCN ops@example.test"
PROVIDERS = {
    "hcloud": {"sim": HcloudSimulator, "pool": "127.0.201.0/24", "first": 2, "type": "cx22", "location": "nbg1",
               "image": "debian-12", "token_env": "HCLOUD_TOKEN", "inventory": "hcloud"},
    "digitalocean": {"sim": DigitalOceanSimulator, "pool": "127.0.202.0/24", "first": 17, "type": "s-1vcpu-1gb",
                     "location": "fra1", "image": "debian-12-x64", "token_env": "DIGITALOCEAN_TOKEN",
                     "inventory": "digitalocean"},
}
NORMALISED_VARS = ("coldrig_provider", "coldrig_public_ipv4", "coldrig_public_ipv6", "coldrig_ptr", "coldrig_region",
                   "coldrig_size", "coldrig_labels")  # plugins/module_utils/inventory.py
NODES = ["mx1.outreach-example.test", "mx2.outreach-example.test", "relay.outreach-example.test"]


class Provider:
    """One provider's simulator, the SSH banner server on the addresses it hands out, and a temp inventory."""

    def __init__(self, name: str, sim, banner: BannerServer, inventory: Path):
        self.name, self.sim, self.banner, self.inventory = name, sim, banner, inventory
        self.info = PROVIDERS[name]

    def spec(self, **cloud_overrides) -> dict:
        info = self.info
        cloud = {"provider": self.name, "api_endpoint": self.sim.base_url, "ssh_keys": [KEY], "ssh_port": self.banner.port,
                 "admin_user": "ops", "wait_timeout": 60,
                 "defaults": {"type": info["type"], "location": info["location"], "image": info["image"],
                              "labels": {"coldrig_fleet": "eu-1"}}}
        if self.name == "hcloud":
            cloud["api_token"] = TOKEN  # DigitalOcean reads DIGITALOCEAN_TOKEN from the environment
        cloud.update(cloud_overrides)
        return {"coldrig_cloud": cloud, "coldrig_egress_check": False,
                "coldrig_nodes": [{"name": "mx{n}.outreach-example.test", "count": 2},
                                  {"name": "relay.outreach-example.test", "role": "relay"}]}

    def write(self, spec: dict) -> None:
        (self.inventory / "group_vars").mkdir(parents=True, exist_ok=True)
        (self.inventory / "group_vars" / "all.json").write_text(json.dumps(spec))

    def servers(self) -> dict:
        """{name: (labels, ipv4)} of every node in the simulator."""
        out = {}
        if self.name == "hcloud":
            for server in self.sim.servers():
                out[server["name"]] = (server["labels"], server["public_net"]["ipv4"]["ip"],
                                       server["public_net"]["ipv4"]["dns_ptr"])
        else:
            for droplet in self.sim.droplets():
                public = [n["ip_address"] for n in droplet["networks"]["v4"] if n["type"] == "public"]
                out[droplet["name"]] = (sorted(droplet["tags"]), public[0] if public else None, droplet["name"])
        return out

    def writes(self) -> list[tuple[str, str]]:
        return [(m, p) for m, p in self.sim.requests if m != "GET"]


def untagged(value: dict):
    """ansible-inventory --list (ansible-core 2.19) wraps untrusted strings as {"__ansible_unsafe": "..."}."""
    return value["__ansible_unsafe"] if value.keys() == {"__ansible_unsafe"} else value


def env() -> dict:
    environment = dict(os.environ)
    environment.update({
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_HOME": str(ROOT / ".ansible"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_STDOUT_CALLBACK": "default",
        "ANSIBLE_CALLBACK_RESULT_FORMAT": "yaml",
        "DIGITALOCEAN_TOKEN": TOKEN,
        "PATH": f"{BIN}{os.pathsep}{environment.get('PATH', '')}",
    })
    environment.pop("HCLOUD_TOKEN", None)
    return environment


def playbook(provider: Provider, name: str, *extra: str, check: bool = True) -> subprocess.CompletedProcess:
    command = [str(BIN / "ansible-playbook"), "-i", str(provider.inventory / "hosts.yml"),
               str(ROOT / "playbooks" / name), *extra]
    result = subprocess.run(command, capture_output=True, text=True, env=env(), cwd=ROOT, timeout=600,
                            stdin=subprocess.DEVNULL, check=False)
    if check and result.returncode != 0:
        pytest.fail(f"{name} failed ({result.returncode}):\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}")
    return result


def recap(result: subprocess.CompletedProcess, host: str = "localhost") -> dict[str, int]:
    match = re.search(r"^%s\s*:\s*(.*)$" % re.escape(host), result.stdout, re.M)
    assert match, result.stdout[-3000:]
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match.group(1))}


def changed_items(result: subprocess.CompletedProcess) -> list[str]:
    """The loop items reported changed, in order (with the default callback)."""
    return re.findall(r"^changed: \[localhost\] => \(item=([\w.-]+)\)", result.stdout, re.M)


@pytest.fixture(params=list(PROVIDERS), scope="module")
def provider(request, tmp_path_factory) -> Iterator[Provider]:
    info = PROVIDERS[request.param]
    base = info["pool"].rsplit(".", 1)[0]
    addresses = [f"{base}.{info['first'] + i}" for i in range(len(NODES))]
    inventory = tmp_path_factory.mktemp(f"provision-{request.param}")
    (inventory / "hosts.yml").write_text(json.dumps({"all": {"hosts": {"localhost": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}}))
    with info["sim"](tokens=[TOKEN], action_seconds=0, ipv4_pool=info["pool"]) as sim, \
            BannerServer(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3", addresses) as banner:
        yield Provider(request.param, sim, banner, inventory)


def test_a_spec_field_the_provider_cannot_take_fails_naming_it_before_any_request(provider):
    spec = provider.spec()
    spec["coldrig_nodes"][1]["labels"] = {"coldrig_fleet": "eu.1" if provider.name == "digitalocean" else "eu 1"}
    provider.write(spec)
    result = playbook(provider, "provision.yml", check=False)
    assert result.returncode != 0
    assert "coldrig_nodes[1].labels.coldrig_fleet: " in result.stdout
    spec = provider.spec()
    spec["coldrig_nodes"][0]["typ"] = "cx22"
    provider.write(spec)
    result = playbook(provider, "provision.yml", check=False)
    assert "coldrig_nodes[0].typ: unknown key" in result.stdout
    assert provider.sim.request_count == 0


def test_a_wrong_token_fails_clearly_and_creates_nothing(provider):
    spec = provider.spec(api_token="wrong-token-0123456789abcdef")
    provider.write(spec)
    result = playbook(provider, "provision.yml", check=False)
    assert result.returncode != 0
    assert "API token is wrong or lacks access" in result.stdout
    assert "wrong-token-0123456789abcdef" not in result.stdout + result.stderr
    assert provider.writes() == [] and provider.servers() == {}


def test_check_mode_on_a_fresh_spec_predicts_and_creates_nothing(provider):
    provider.write(provider.spec())
    provider.sim.reset_metrics()
    result = playbook(provider, "provision.yml", "--check")
    assert sorted(changed_items(result)) == sorted(NODES * 2)  # both server tasks predict the creation
    assert recap(result)["failed"] == 0 and provider.writes() == [] and provider.servers() == {}


def test_provision_creates_the_nodes_with_labels_ptrs_and_waits_for_ssh(provider):
    provider.write(provider.spec())
    result = playbook(provider, "provision.yml", "-v")
    servers = provider.servers()
    assert sorted(servers) == sorted(NODES)
    labels, ipv4, ptr = servers["relay.outreach-example.test"]
    if provider.name == "hcloud":
        assert labels == {"coldrig_role": "relay", "coldrig_fleet": "eu-1"}
        assert all(server[2] == name for name, server in servers.items())  # PTR set through the API
    else:
        assert labels == ["coldrig_fleet:eu-1", "coldrig_role:relay"]  # tags key:value
        assert ptr == "relay.outreach-example.test"  # the droplet name, which is the PTR
    assert all(server[1] in [f"{provider.info['pool'].rsplit('.', 1)[0]}.{provider.info['first'] + i}"
                             for i in range(3)] for server in servers.values())
    assert provider.banner.connections >= 3  # every node's SSH answered
    assert recap(result)["failed"] == 0
    changed = changed_items(result)
    ptrs_set = 3 if provider.name == "hcloud" else 0  # DigitalOcean: the name is the PTR, nothing to change
    assert sorted(changed) == sorted(NODES * 1 + NODES[:ptrs_set]), changed  # created; PTRs set
    assert "SSH-2.0-OpenSSH_9.2p1" in result.stdout
    assert TOKEN not in result.stdout + result.stderr


def test_a_second_provision_run_changes_nothing(provider):
    provider.sim.reset_metrics()
    result = playbook(provider, "provision.yml")
    assert recap(result)["changed"] == 0 and recap(result)["failed"] == 0
    assert provider.writes() == []


def test_provisioned_nodes_join_the_run_inventory_for_onboard(provider):
    (provider.inventory / "show.yml").write_text(json.dumps([
        {"import_playbook": str(ROOT / "playbooks" / "provision.yml")},
        {"name": "show", "hosts": "coldrig_role_mta", "gather_facts": False, "connection": "local",
         "tasks": [{"name": "host vars", "ansible.builtin.debug": {
             "msg": "{{ inventory_hostname }}|{{ ansible_host }}|{{ coldrig_provider }}|{{ coldrig_ptr }}|"
                    "{{ group_names | sort | join(',') }}"}}]}]))
    result = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(provider.inventory / "hosts.yml"),
                             str(provider.inventory / "show.yml")], capture_output=True, text=True, env=env(),
                            cwd=ROOT, timeout=600, stdin=subprocess.DEVNULL, check=False)
    assert result.returncode == 0, result.stdout[-4000:]
    lines = sorted(set(re.findall(r"msg: (mx\d\.outreach-example\.test\|[^\n]+)", result.stdout)))
    groups = f"coldrig_fleet_eu_1,coldrig_provisioned,coldrig_role_mta,{provider.info['inventory']}"
    servers = provider.servers()
    assert lines == [f"{name}|{servers[name][1]}|{provider.name}|{name}|{groups}" for name in NODES[:2]]


def test_the_inventory_plugin_lists_the_nodes_with_the_normalised_vars(provider):
    path = provider.inventory / f"cloud.{provider.info['inventory']}.yml"
    path.write_text(json.dumps({"plugin": f"coldrig.infra.{provider.info['inventory']}",
                                "api_endpoint": provider.sim.base_url}))
    environment = env()
    environment[provider.info["token_env"]] = TOKEN
    result = subprocess.run([str(BIN / "ansible-inventory"), "-i", str(path), "--list"], capture_output=True,
                            text=True, env=environment, cwd=ROOT, timeout=120, check=True)
    listed = json.loads(result.stdout, object_hook=untagged)
    hostvars = listed["_meta"]["hostvars"]
    assert sorted(hostvars) == sorted(NODES)
    relay = hostvars["relay.outreach-example.test"]
    assert {k: relay[k] for k in NORMALISED_VARS if k != "coldrig_public_ipv6"} == {
        "coldrig_provider": provider.name,
        "coldrig_public_ipv4": provider.servers()["relay.outreach-example.test"][1],
        "coldrig_ptr": "relay.outreach-example.test",
        "coldrig_region": provider.info["location"],
        "coldrig_size": provider.info["type"],
        "coldrig_labels": {"coldrig_role": "relay", "coldrig_fleet": "eu-1"},
    }
    assert sorted(listed["coldrig_role_mta"]["hosts"]) == NODES[:2]
    assert listed["coldrig_fleet_eu_1"]["hosts"] and "relay.outreach-example.test" in listed["coldrig_role_relay"]["hosts"]


def test_decommission_refuses_without_the_exact_confirmation(provider):
    provider.sim.reset_metrics()
    for extra in ([], ["-e", "coldrig_decommission_confirm=yes"],
                  ["-e", "coldrig_decommission_confirm=mx1.outreach-example.test"]):
        result = playbook(provider, "decommission.yml", *extra, check=False)
        assert result.returncode != 0
        assert ("-e coldrig_decommission_confirm=mx1.outreach-example.test,mx2.outreach-example.test,"
                "relay.outreach-example.test") in result.stdout
    assert provider.sim.request_count == 0 and sorted(provider.servers()) == sorted(NODES)


def test_decommission_of_a_subset_deletes_only_those(provider):
    result = playbook(provider, "decommission.yml", "-e", "coldrig_decommission_nodes=relay.outreach-example.test",
                      "-e", "coldrig_decommission_confirm=relay.outreach-example.test")
    assert changed_items(result) == ["relay.outreach-example.test"]
    assert sorted(provider.servers()) == NODES[:2]


def test_decommission_with_confirmation_deletes_the_rest_and_a_rerun_changes_nothing(provider):
    confirm = ",".join(NODES)
    result = playbook(provider, "decommission.yml", "-e", f"coldrig_decommission_confirm={confirm}")
    assert changed_items(result) == NODES[:2]  # relay is gone already: no change
    assert provider.servers() == {}
    again = playbook(provider, "decommission.yml", "-e", f"coldrig_decommission_confirm={confirm}")
    assert recap(again)["changed"] == 0
