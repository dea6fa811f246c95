"""coldrig.infra.server in this process, against the Hetzner Cloud and DigitalOcean simulators."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
import yaml

from ansible_collections.coldrig.infra.plugins.module_utils import cloud
from ansible_collections.coldrig.infra.plugins.module_utils import digitalocean as do
from ansible_collections.coldrig.infra.plugins.module_utils import hcloud as hc
from ansible_collections.coldrig.infra.plugins.modules import server as module
from tests.support.banner import BannerServer
from tests.support.digitalocean_sim import DigitalOceanSimulator
from tests.support.hcloud_sim import HcloudSimulator

TOKEN = "coldrig-server-module-token-Vb4Nm8Qw2Er6Ty0Ui3Op7As1Df5Gh9Jk"
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGw9OFQ8oDA4wwbwkPNRybfB7sHxAT7uTvDK0TfsRuCN ops@example.test"
FINGERPRINT = "37:b7:65:e3:49:30:40:9e:ad:e2:78:4d:b4:5f:51:9c"
OTHER_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPceLFyAU+rZTnd4K7llqnuT07mbdhV+RtHb1wimXw+W other@example.test"
CATALOGUE = {
    "hcloud": {"server_type": "cx22", "image": "debian-12", "location": "nbg1", "other_type": "cx32"},
    "digitalocean": {"server_type": "s-1vcpu-1gb", "image": "debian-12-x64", "location": "fra1",
                     "other_type": "s-2vcpu-4gb"},
}


@pytest.fixture(autouse=True)
def no_token_in_environment(monkeypatch):
    for name in cloud.TOKEN_ENV["hcloud"] + cloud.TOKEN_ENV["digitalocean"] + ("HCLOUD_ENDPOINT",):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(params=["hcloud", "digitalocean"])
def sim(request) -> Iterator:
    simulator = HcloudSimulator if request.param == "hcloud" else DigitalOceanSimulator
    with simulator(tokens=[TOKEN], action_seconds=0) as running:
        running.provider = request.param
        yield running


def args(sim, **extra):
    base = {"provider": sim.provider, "api_token": TOKEN, "api_endpoint": sim.base_url, "name": "mx1.example.com",
            "server_type": CATALOGUE[sim.provider]["server_type"], "image": CATALOGUE[sim.provider]["image"],
            "location": CATALOGUE[sim.provider]["location"], "ssh_keys": [KEY],
            "labels": {"coldrig_role": "mta", "coldrig_fleet": "eu-1"}, "wait_for_ssh": False}
    base.update(extra)
    return base


def nodes(sim) -> list[dict]:
    return sim.servers() if sim.provider == "hcloud" else sim.droplets()


def writes(sim) -> list[tuple[str, str]]:
    return [(m, p) for m, p in sim.requests if m != "GET"]


# ------------------------------------------------------------ creating
def test_a_new_node_is_created_running_with_labels_and_its_inventory_host_vars(sim, run_module):
    result = run_module(module, args(sim))
    assert not result["failed"], result
    assert result["changed"] and result["created"] and result["drift"] == {}
    (node,) = nodes(sim)
    assert node["name"] == "mx1.example.com"
    if sim.provider == "hcloud":
        assert node["status"] == "running" and node["labels"] == {"coldrig_role": "mta", "coldrig_fleet": "eu-1"}
        expected = hc.host_vars(hc.server_facts(hc.HcloudClient(TOKEN, api_endpoint=sim.base_url)
                                                .get_server_by_name("mx1.example.com")))
    else:
        assert node["status"] == "active" and node["tags"] == ["coldrig_role:mta", "coldrig_fleet:eu-1"]
        expected = do.host_vars(node)
        assert result["host_vars"]["coldrig_ptr"] == "mx1.example.com"  # the droplet name is the PTR
    assert result["host_vars"] == expected  # exactly what the inventory plugin gives
    assert result["host_vars"]["coldrig_labels"] == {"coldrig_role": "mta", "coldrig_fleet": "eu-1"}
    assert result["groups"] == [sim.provider, "coldrig_role_mta", "coldrig_fleet_eu_1"]
    assert result["ssh_keys"] == [{"name": "ops@example.test (coldrig 37b765e3)", "fingerprint": FINGERPRINT,
                                   "uploaded": True}]


def test_a_second_run_changes_nothing_and_makes_no_write(sim, run_module):
    first = run_module(module, args(sim))
    sim.reset_metrics()
    second = run_module(module, args(sim))
    assert not second["changed"] and not second["created"] and writes(sim) == []
    assert second["host_vars"] == first["host_vars"]


def test_a_key_already_uploaded_under_another_name_is_used_as_it_is(sim, run_module):
    sim.add_ssh_key("laptop", KEY)
    result = run_module(module, args(sim))
    assert result["ssh_keys"] == [{"name": "laptop", "fingerprint": FINGERPRINT, "uploaded": False}]
    assert [k["name"] for k in sim.ssh_keys()] == ["laptop"]


def test_admin_user_becomes_cloud_init_user_data(sim, run_module):
    result = run_module(module, args(sim, admin_user="ops", admin_ssh_keys=[OTHER_KEY]))
    assert result["changed"]
    user_data = sim.user_data("mx1.example.com")
    assert user_data.startswith("#cloud-config\n")
    users = yaml.safe_load(user_data)["users"]
    assert users[0] == "default"
    assert users[1] == {"name": "ops", "groups": ["sudo"], "shell": "/bin/bash", "lock_passwd": True,
                        "sudo": "ALL=(ALL) NOPASSWD:ALL", "ssh_authorized_keys": [OTHER_KEY]}


def test_check_mode_predicts_a_creation_and_writes_nothing(sim, run_module):
    result = run_module(module, args(sim), check=True, diff=True)
    assert result["changed"] and result["created"] and nodes(sim) == [] and writes(sim) == []
    assert result["host_vars"]["coldrig_size"] == CATALOGUE[sim.provider]["server_type"]
    assert result["host_vars"]["coldrig_public_ipv4"] is None
    assert result["diff"] == {"before": {}, "after": {
        "name": "mx1.example.com", "state": "running", "server_type": CATALOGUE[sim.provider]["server_type"],
        "image": CATALOGUE[sim.provider]["image"], "location": CATALOGUE[sim.provider]["location"],
        "labels": {"coldrig_role": "mta", "coldrig_fleet": "eu-1"}}}


def test_state_stopped_creates_the_node_powered_off(sim, run_module):
    result = run_module(module, args(sim, state="stopped"))
    assert result["changed"] and result["server"]["state"] == "stopped"
    assert nodes(sim)[0]["status"] == "off"


# ----------------------------------------------------- existing nodes
def test_a_different_type_is_drift_reported_and_never_a_recreation(sim, run_module):
    run_module(module, args(sim))
    sim.reset_metrics()
    other = CATALOGUE[sim.provider]["other_type"]
    result = run_module(module, args(sim, server_type=other))
    assert not result["failed"] and not result["changed"] and writes(sim) == []
    assert result["drift"] == {"server_type": {"wanted": other, "actual": CATALOGUE[sim.provider]["server_type"]}}
    assert any("never recreates" in str(warning) for warning in result["warnings"])


def test_new_labels_are_set_on_an_existing_node_keeping_the_others(sim, run_module):
    run_module(module, args(sim))
    result = run_module(module, args(sim, labels={"coldrig_fleet": "eu-2"}), diff=True)
    assert result["changed"]
    assert result["diff"]["before"]["labels"] == {"coldrig_role": "mta", "coldrig_fleet": "eu-1"}
    assert result["diff"]["after"]["labels"] == {"coldrig_role": "mta", "coldrig_fleet": "eu-2"}
    assert result["host_vars"]["coldrig_labels"] == {"coldrig_role": "mta", "coldrig_fleet": "eu-2"}
    if sim.provider == "digitalocean":  # the old key:value tag is gone, not left to conflict
        assert sorted(nodes(sim)[0]["tags"]) == ["coldrig_fleet:eu-2", "coldrig_role:mta"]
    assert not run_module(module, args(sim, labels={"coldrig_fleet": "eu-2"}))["changed"]


def test_stopped_then_running_switch_the_power_and_repeat_as_no_change(sim, run_module):
    run_module(module, args(sim))
    assert run_module(module, args(sim, state="stopped"))["changed"]
    assert nodes(sim)[0]["status"] == "off"
    assert not run_module(module, args(sim, state="stopped"))["changed"]
    assert not run_module(module, args(sim))["changed"]  # present keeps the power state
    assert run_module(module, args(sim, state="running"))["changed"]
    assert nodes(sim)[0]["status"] in ("running", "active")


def test_absent_deletes_and_only_absent_does(sim, run_module):
    run_module(module, args(sim))
    check = run_module(module, args(sim, state="absent"), check=True, diff=True)
    assert check["changed"] and len(nodes(sim)) == 1 and check["diff"]["after"] == {}
    result = run_module(module, args(sim, state="absent"))
    assert result["changed"] and result["host_vars"] == {}
    assert [n for n in nodes(sim) if n.get("status") != "deleting"] == []
    assert not run_module(module, args(sim, state="absent"))["changed"]


def test_present_waits_for_a_node_that_is_still_being_created(sim, run_module):
    sim.set_action_duration(seconds=0.3)
    created = run_module(module, args(sim, wait=False))
    assert created["changed"] and created["server"]["state"] == "pending"
    waited = run_module(module, args(sim, wait=True))
    assert not waited["changed"] and waited["server"]["state"] == "running"
    assert waited["host_vars"]["coldrig_public_ipv4"]


# ------------------------------------------------------------ SSH wait
def test_wait_for_ssh_reads_the_banner_from_the_public_ipv4(run_module):
    with HcloudSimulator(tokens=[TOKEN], action_seconds=0, ipv4_pool="127.0.203.0/24") as sim, \
            BannerServer(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3", ["127.0.203.2"]) as banner:
        sim.provider = "hcloud"
        result = run_module(module, args(sim, wait_for_ssh=True, ssh_port=banner.port))
    assert result["ssh"]["banner"] == "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3" and banner.connections == 1


def test_no_ssh_banner_in_time_fails_naming_the_address_and_keeps_the_result(run_module):
    with HcloudSimulator(tokens=[TOKEN], action_seconds=0, ipv4_pool="127.0.204.0/24") as sim, \
            BannerServer(b"220 not ssh ESMTP", ["127.0.204.2"]) as banner:
        sim.provider = "hcloud"
        result = run_module(module, args(sim, wait_for_ssh=True, ssh_port=banner.port, wait_timeout=1))
    assert result["failed"] and result["msg"].startswith("wait_for_ssh: mx1.example.com runs, but SSH at 127.0.204.2 ")
    assert "not an SSH banner" in result["msg"] and result["created"] and result["host_vars"]["ansible_host"]


# ------------------------------------------------- checks before requests
@pytest.mark.parametrize("extra,message", [
    ({"name": "mx1"}, "name: 'mx1' is not a fully qualified domain name"),
    ({"ssh_keys": ["ssh-ed25519 notbase64!"]}, "ssh_keys[0]: not an OpenSSH public key"),
    ({"labels": {"coldrig_fleet": "eu 1"}}, "labels.coldrig_fleet: "),
    ({"admin_user": "root"}, "admin_user: 'root' is a system account"),
    ({"admin_user": "ops", "user_data": "#cloud-config\n"}, "admin_user: give either admin_user"),
    ({"admin_ssh_keys": [KEY]}, "admin_ssh_keys: only used with admin_user"),
    ({"ssh_port": 0}, "ssh_port: 0 is not a TCP port"),
    ({"api_token": None}, "api_token: not given, and none of"),
])
def test_bad_arguments_fail_naming_the_field_before_any_request(sim, run_module, extra, message):
    result = run_module(module, args(sim, **extra))
    assert result["failed"] and result["msg"].startswith(message.split(": ")[0] + ": ") and message in result["msg"]
    assert sim.request_count == 0


def test_digitalocean_labels_with_dots_cannot_be_tags(run_module):
    with DigitalOceanSimulator(tokens=[TOKEN]) as sim:
        sim.provider = "digitalocean"
        result = run_module(module, args(sim, labels={"coldrig_fleet": "eu.1"}))
        assert result["failed"] and result["msg"].startswith("labels.coldrig_fleet: 'eu.1' cannot be part of a "
                                                             "DigitalOcean tag")
        assert sim.request_count == 0


def test_creating_without_a_type_names_the_field(sim, run_module):
    result = run_module(module, args(sim, server_type=None))
    assert result["failed"] and result["msg"].startswith("server_type: required to create mx1.example.com")
    assert writes(sim) == []


def test_a_wrong_token_is_the_clients_message_and_never_shown(sim, run_module):
    wrong = "wrong-token-Zx9Cv8Bn7Mm6"
    result = run_module(module, args(sim, api_token=wrong))
    assert result["failed"] and "API token is wrong or lacks access" in result["msg"]
    assert wrong not in str(result) and writes(sim) == []


def test_the_token_comes_from_the_environment_when_not_given(sim, run_module, monkeypatch):
    monkeypatch.setenv(cloud.TOKEN_ENV[sim.provider][0], TOKEN)
    result = run_module(module, args(sim, api_token=None))
    assert not result["failed"] and result["created"]
