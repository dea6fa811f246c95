"""The coldrig.infra.hcloud inventory: host variables from server objects, and parses against the API simulator."""
from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator

import pytest
from ansible.errors import AnsibleError, AnsibleParserError
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader
from ansible.parsing.vault import VaultLib, VaultSecret, VaultSecretsContext
from ansible.plugins.loader import inventory_loader
from hcloud import Client
from hcloud.servers import BoundServer

from ansible_collections.coldrig.infra.plugins.module_utils.hcloud import connect_address, host_vars, server_facts
from ansible_collections.coldrig.infra.plugins.module_utils.inventory import NORMALISED_VARS, label_groups
from tests.support.hcloud_sim import HcloudSimulator

TOKEN = "coldrig-inventory-token-Qx7Lm2Np9Rs4Tv6Wy8Za1Bc3De5Fg7Hj9Kl2Mn4Pq6Rs8Tu0Vw2Xy4Za6Bc8"


# ------------------------------------------------- host vars from objects
def _server(**overrides) -> BoundServer:
    """A server object as the hcloud library builds it from an API answer (no request is made)."""
    data = {
        "id": 4711, "name": "mx1", "status": "running", "created": "2026-05-04T10:11:12+00:00",
        "public_net": {
            "ipv4": {"id": 91, "ip": "198.51.100.7", "blocked": False, "dns_ptr": "mx1.outreach.example"},
            "ipv6": {"id": 92, "ip": "2001:db8:5:7::/64", "blocked": False,
                     "dns_ptr": [{"ip": "2001:db8:5:7::1", "dns_ptr": "mx1.outreach.example"}]},
            "floating_ips": [], "firewalls": [],
        },
        "private_net": [{"network": 31, "ip": "10.0.0.5", "alias_ips": ["10.0.0.6"], "mac_address": "86:00:00:01:02:03"},
                        {"network": 32, "ip": "10.1.0.9", "alias_ips": [], "mac_address": "86:00:00:01:02:04"}],
        "server_type": {"id": 22, "name": "cpx11", "cores": 2, "memory": 2.0, "disk": 40, "architecture": "x86",
                        "cpu_type": "shared", "prices": [], "storage_type": "local"},
        "location": {"id": 2, "name": "nbg1", "description": "Nuremberg DC Park 1", "country": "DE",
                     "city": "Nuremberg", "latitude": 49.45, "longitude": 11.07, "network_zone": "eu-central"},
        "image": {"id": 114690387, "type": "system", "name": "debian-12", "description": "Debian 12",
                  "os_flavor": "debian", "os_version": "12", "architecture": "x86"},
        "labels": {"coldrig_role": "mta", "coldrig_fleet": "eu-1", "team": "ops"},
        "protection": {"delete": False, "rebuild": False}, "volumes": [], "iso": None,
    }
    data.update(overrides)
    return BoundServer(Client(token="unit-test-token").servers, data)


NETWORKS = {31: "backend", 32: "monitoring"}


def test_the_normalised_host_vars_of_a_server():
    variables = host_vars(_server(), network_names=NETWORKS)
    assert {k: variables[k] for k in NORMALISED_VARS} == {
        "coldrig_provider": "hcloud",
        "coldrig_public_ipv4": "198.51.100.7",
        "coldrig_public_ipv6": "2001:db8:5:7::1",
        "coldrig_ptr": "mx1.outreach.example",
        "coldrig_region": "nbg1",
        "coldrig_size": "cpx11",
        "coldrig_labels": {"coldrig_role": "mta", "coldrig_fleet": "eu-1", "team": "ops"},
    }
    assert variables["ansible_host"] == "198.51.100.7"


def test_the_provider_vars_are_under_the_hcloud_prefix():
    variables = host_vars(_server(), network_names=NETWORKS)
    assert {k: v for k, v in variables.items() if k.startswith("hcloud_")} == {
        "hcloud_id": 4711, "hcloud_name": "mx1", "hcloud_status": "running",
        "hcloud_created": "2026-05-04T10:11:12+00:00",
        "hcloud_server_type": "cpx11", "hcloud_architecture": "x86", "hcloud_cores": 2, "hcloud_memory_gb": 2.0,
        "hcloud_disk_gb": 40, "hcloud_location": "nbg1", "hcloud_network_zone": "eu-central",
        "hcloud_image": "debian-12", "hcloud_image_id": 114690387, "hcloud_image_os_flavor": "debian",
        "hcloud_labels": {"coldrig_role": "mta", "coldrig_fleet": "eu-1", "team": "ops"},
        "hcloud_ipv4": "198.51.100.7", "hcloud_ipv6": "2001:db8:5:7::1", "hcloud_ipv6_network": "2001:db8:5:7::/64",
        "hcloud_private_networks": [
            {"id": 31, "name": "backend", "ip": "10.0.0.5", "alias_ips": ["10.0.0.6"]},
            {"id": 32, "name": "monitoring", "ip": "10.1.0.9", "alias_ips": []},
        ],
        "hcloud_private_ipv4": "10.0.0.5",
        "hcloud_dns_ptrs": {"198.51.100.7": "mx1.outreach.example", "2001:db8:5:7::1": "mx1.outreach.example"},
    }


@pytest.mark.parametrize(("connect_with", "network", "expected"), [
    ("public_ipv4", None, "198.51.100.7"),
    ("public_ipv6", None, "2001:db8:5:7::1"),
    ("private_ipv4", None, "10.0.0.5"),
    ("private_ipv4", "monitoring", "10.1.0.9"),
    ("private_ipv4", "32", "10.1.0.9"),
    ("hostname", None, "mx1"),
    ("ipv4_dns_ptr", None, "mx1.outreach.example"),
])
def test_connect_with_chooses_ansible_host(connect_with, network, expected):
    variables = host_vars(_server(), connect_with=connect_with, network=network, network_names=NETWORKS)
    assert variables["ansible_host"] == expected


def test_an_ipv6_only_server_has_no_ipv4_vars_and_its_ptr_from_ipv6():
    public_net = {"ipv4": None, "ipv6": {"id": 92, "ip": "2001:db8:5:7::/64", "blocked": False,
                                         "dns_ptr": [{"ip": "2001:db8:5:7::1", "dns_ptr": "mx6.outreach.example."}]},
                  "floating_ips": []}
    variables = host_vars(_server(public_net=public_net, private_net=[]))
    assert variables["coldrig_public_ipv4"] is None and variables["hcloud_ipv4"] is None
    assert variables["coldrig_ptr"] == "mx6.outreach.example"
    assert "ansible_host" not in variables
    assert variables["hcloud_private_ipv4"] is None and variables["hcloud_private_networks"] == []
    _none, why = connect_address(server_facts(_server(public_net=public_net)), "public_ipv4")
    assert why == "it has no public IPv4 address (connect_with: public_ipv4); try public_ipv6 or private_ipv4"


def test_a_server_without_image_or_labels_still_has_every_normalised_var():
    variables = host_vars(_server(image=None, labels={}, private_net=[]))
    assert set(NORMALISED_VARS) <= set(variables)
    assert variables["hcloud_image"] is None and variables["coldrig_labels"] == {}
    assert label_groups(variables["coldrig_labels"]) == []


def test_coldrig_labels_make_safe_role_and_fleet_groups():
    variables = host_vars(_server())
    assert label_groups(variables["coldrig_labels"]) == ["coldrig_role_mta", "coldrig_fleet_eu_1"]


def test_server_facts_survive_a_json_round_trip_and_give_the_same_host_vars():
    facts = server_facts(_server(), NETWORKS)
    cached = json.loads(json.dumps(facts))
    assert cached == facts
    assert host_vars(cached, connect_with="public_ipv6") == host_vars(_server(), "public_ipv6", None, NETWORKS)


# ------------------------------------------------ parses against the simulator
@pytest.fixture
def sim() -> Iterator[HcloudSimulator]:
    with HcloudSimulator(tokens=[TOKEN]) as simulator:
        simulator.add_network("backend", "10.0.0.0/16")
        simulator.add_server("mx1", location="fsn1", labels={"coldrig_role": "mta", "coldrig_fleet": "eu-1"},
                             networks=["backend"], ptr="mx1.outreach.example")
        simulator.add_server("mx2", location="nbg1", server_type="cpx11", labels={"coldrig_role": "mta"})
        simulator.add_server("relay1", location="hel1", labels={"coldrig_role": "relay"}, status="off")
        simulator.add_server("scratch", location="ash", server_type="cpx11")
        yield simulator


def _parse(tmp_path, sim, extra="", cache=False, loader=None, token_line=None, name="test.hcloud.yml"):
    config = tmp_path / name
    token_line = token_line if token_line is not None else "api_token: %s\n" % TOKEN
    config.write_text("plugin: coldrig.infra.hcloud\napi_endpoint: %s\n%s%s" % (sim.base_url, token_line,
                                                                                textwrap.dedent(extra)))
    inventory = InventoryData()
    plugin = inventory_loader.get("coldrig.infra.hcloud")
    plugin.parse(inventory, loader or DataLoader(), str(config), cache=cache)
    if plugin.get_option("cache"):
        plugin.update_cache_if_changed()  # what ansible's InventoryManager does after a parse
    return inventory


def _members(inventory, group):
    if group == "all":  # before reconcile_inventory(), the plugin's groups are not yet children of all
        return sorted(inventory.hosts)
    return sorted(h.name for h in inventory.groups[group].get_hosts())


def test_a_parse_lists_every_server_with_groups_from_labels(tmp_path, sim):
    inventory = _parse(tmp_path, sim)
    assert _members(inventory, "hcloud") == ["mx1", "mx2", "relay1", "scratch"]
    assert _members(inventory, "coldrig_role_mta") == ["mx1", "mx2"]
    assert _members(inventory, "coldrig_role_relay") == ["relay1"]
    assert _members(inventory, "coldrig_fleet_eu_1") == ["mx1"]
    mx1 = inventory.get_host("mx1").vars
    assert mx1["coldrig_ptr"] == "mx1.outreach.example" and mx1["coldrig_region"] == "fsn1"
    assert mx1["ansible_host"] == mx1["coldrig_public_ipv4"] == mx1["hcloud_ipv4"]
    assert mx1["hcloud_private_networks"][0]["name"] == "backend"
    assert mx1["hcloud_private_ipv4"] == "10.0.0.2"
    # servers, then network names (one server is in a network): two requests in all
    assert sim.requests == [("GET", "/v1/servers"), ("GET", "/v1/networks")]


def test_a_fleet_without_private_networks_costs_no_network_request(tmp_path, sim):
    _parse(tmp_path, sim, "label_selector: coldrig_role=mta,!coldrig_fleet\n")
    assert sim.requests == [("GET", "/v1/servers")]


@pytest.mark.parametrize(("extra", "expected"), [
    ("label_selector: coldrig_role\n", ["mx1", "mx2", "relay1"]),
    ("label_selector: coldrig_role in (relay)\n", ["relay1"]),
    ("status: [running]\n", ["mx1", "mx2", "scratch"]),
    ("locations: [nbg1, hel1]\n", ["mx2", "relay1"]),
    ("types: [cpx11]\n", ["mx2", "scratch"]),
    ("network: backend\n", ["mx1"]),
    ("label_selector: coldrig_role=mta\ntypes: [cx22]\nstatus: [running]\n", ["mx1"]),
])
def test_filters_choose_the_servers(tmp_path, sim, extra, expected):
    assert _members(_parse(tmp_path, sim, extra), "all") == expected


def test_an_unknown_network_is_an_error_naming_the_ones_there_are(tmp_path, sim):
    expected = r"network: no private network named or numbered 'front' in this project \(it has: backend\)"
    with pytest.raises(AnsibleParserError, match=expected):
        _parse(tmp_path, sim, "network: front\n")


@pytest.mark.parametrize(("extra", "expected"), [
    ("connect_with: public_ipv6\n", "2001:db8:0:1::1"),
    ("connect_with: private_ipv4\nnetwork: backend\n", "10.0.0.2"),
    ("connect_with: hostname\n", "mx1"),
    ("connect_with: ipv4_dns_ptr\n", "mx1.outreach.example"),
])
def test_connect_with_sets_ansible_host(tmp_path, sim, extra, expected):
    assert _parse(tmp_path, sim, extra).get_host("mx1").vars["ansible_host"] == expected


def test_a_server_without_the_address_asked_for_is_a_warning_or_with_strict_an_error(tmp_path, sim):
    inventory = _parse(tmp_path, sim, "connect_with: private_ipv4\n")
    assert "ansible_host" not in inventory.get_host("mx2").vars
    with pytest.raises(AnsibleParserError, match="server mx2 has no ansible_host: it is attached to no private network"):
        _parse(tmp_path, sim, "connect_with: private_ipv4\nstrict: true\n")


def test_compose_groups_and_keyed_groups_see_the_host_vars(tmp_path, sim):
    inventory = _parse(tmp_path, sim, """\
        compose:
          mail_host: coldrig_ptr
          ansible_user: "'root'"
        groups:
          small: hcloud_cores <= 2 and hcloud_server_type == 'cpx11'
        keyed_groups:
          - key: hcloud_location
            prefix: location
          - key: coldrig_labels.coldrig_role | default('none')
            prefix: role
        group: hetzner
        """)
    assert inventory.get_host("mx1").vars["mail_host"] == "mx1.outreach.example"
    assert inventory.get_host("mx1").vars["ansible_user"] == "root"
    assert _members(inventory, "small") == ["mx2", "scratch"]
    assert _members(inventory, "location_ash") == ["scratch"]
    assert _members(inventory, "role_none") == ["scratch"]
    assert _members(inventory, "hetzner") == ["mx1", "mx2", "relay1", "scratch"] and "hcloud" not in inventory.groups


def test_strict_turns_a_failing_compose_into_an_error(tmp_path, sim):
    extra = "compose:\n  broken: no_such_variable.attribute\n"
    assert "broken" not in _parse(tmp_path, sim, extra).get_host("mx1").vars
    with pytest.raises(AnsibleError, match="Could not set broken for host"):
        _parse(tmp_path, sim, extra + "strict: true\n")


def test_a_hostname_template_names_the_hosts_and_must_keep_them_apart(tmp_path, sim):
    inventory = _parse(tmp_path, sim, "hostname: \"{{ hcloud_location }}-{{ hcloud_name }}\"\n")
    assert _members(inventory, "all") == ["ash-scratch", "fsn1-mx1", "hel1-relay1", "nbg1-mx2"]
    assert inventory.get_host("fsn1-mx1").vars["hcloud_name"] == "mx1"
    with pytest.raises(AnsibleParserError, match="both become host eu-central"):
        _parse(tmp_path, sim, "hostname: \"{{ hcloud_network_zone }}\"\n")


# ------------------------------------------------------------------ the token
def test_the_token_comes_from_hcloud_token_in_the_environment(tmp_path, sim, monkeypatch):
    monkeypatch.setenv("HCLOUD_TOKEN", TOKEN)
    assert len(_parse(tmp_path, sim, token_line="").hosts) == 4


def test_the_token_option_is_templated(tmp_path, sim, monkeypatch):
    monkeypatch.setenv("COLDRIG_TEST_TOKEN", TOKEN)
    line = "api_token: \"{{ lookup('ansible.builtin.env', 'COLDRIG_TEST_TOKEN') }}\"\n"
    assert len(_parse(tmp_path, sim, token_line=line).hosts) == 4


def test_the_token_can_be_an_inline_vault_value(tmp_path, sim, monkeypatch):
    secrets = [("default", VaultSecret(b"inventory-vault-password"))]
    # what ansible's CLI does with --vault-password-file, once per process
    monkeypatch.setattr(VaultSecretsContext, "_current", VaultSecretsContext(secrets))
    vaulted = VaultLib(secrets).encrypt(TOKEN).decode()
    line = "api_token: !vault |\n%s" % textwrap.indent(vaulted, "  ")
    loader = DataLoader()
    loader.set_vault_secrets(secrets)
    assert len(_parse(tmp_path, sim, token_line=line, loader=loader).hosts) == 4


def test_a_wrong_token_says_how_to_fix_it_and_never_shows_the_token(tmp_path, sim, monkeypatch):
    wrong = "wrong-token-" + "z" * 52
    monkeypatch.setenv("HCLOUD_TOKEN", wrong)
    with pytest.raises(AnsibleParserError) as caught:
        _parse(tmp_path, sim, token_line="")
    assert "the Hetzner Cloud API token is wrong or lacks access" in str(caught.value)
    assert "set HCLOUD_TOKEN or api_token" in str(caught.value) and wrong not in str(caught.value)


def test_no_token_at_all_is_an_error_saying_where_to_set_it(tmp_path, sim, monkeypatch):
    monkeypatch.delenv("HCLOUD_TOKEN", raising=False)
    with pytest.raises(AnsibleParserError, match="no Hetzner Cloud API token: set HCLOUD_TOKEN or api_token"):
        _parse(tmp_path, sim, token_line="")
    assert sim.request_count == 0


# ------------------------------------------------------------------ the cache
CACHE = """\
    cache: true
    cache_plugin: ansible.builtin.jsonfile
    cache_connection: {dir}
    """


def test_a_cached_parse_makes_no_api_request_and_gives_the_same_inventory(tmp_path, sim):
    cache = CACHE.format(dir=tmp_path / "cache")
    first = _parse(tmp_path, sim, cache + "connect_with: public_ipv4\n", cache=True)
    assert sim.request_count == 2
    sim.reset_metrics()
    second = _parse(tmp_path, sim, cache + "connect_with: public_ipv4\n", cache=True)
    assert sim.request_count == 0
    assert {h: second.get_host(h).vars for h in second.hosts} == {h: first.get_host(h).vars for h in first.hosts}
    assert _members(second, "coldrig_role_mta") == ["mx1", "mx2"]
    # presentation options apply to cached servers without a request
    third = _parse(tmp_path, sim, cache + "connect_with: hostname\n", cache=True)
    assert sim.request_count == 0 and third.get_host("mx2").vars["ansible_host"] == "mx2"


def test_the_cache_is_refreshed_when_asked_or_when_the_filters_change(tmp_path, sim):
    cache = CACHE.format(dir=tmp_path / "cache")
    _parse(tmp_path, sim, cache, cache=True)
    sim.reset_metrics()
    narrowed = _parse(tmp_path, sim, cache + "label_selector: coldrig_role=relay\n", cache=True)
    assert sim.request_count == 1 and _members(narrowed, "all") == ["relay1"]
    sim.add_server("mx3", labels={"coldrig_role": "relay"})
    sim.reset_metrics()
    refreshed = _parse(tmp_path, sim, cache + "label_selector: coldrig_role=relay\n", cache=False)  # --flush-cache
    assert sim.request_count == 1 and _members(refreshed, "all") == ["mx3", "relay1"]
    sim.reset_metrics()
    cached = _parse(tmp_path, sim, cache + "label_selector: coldrig_role=relay\n", cache=True)
    assert sim.request_count == 0 and _members(cached, "all") == ["mx3", "relay1"]


def test_only_files_named_hcloud_yml_are_claimed(tmp_path):
    plugin = inventory_loader.get("coldrig.infra.hcloud")
    for name, claimed in (("prod.hcloud.yml", True), ("hcloud.yaml", True), ("hcloud.json", False), ("lab.yml", False)):
        path = tmp_path / name
        path.write_text("plugin: coldrig.infra.hcloud\n")
        assert plugin.verify_file(str(path)) is claimed


def test_1000_servers_parse_in_20_requests(tmp_path):
    with HcloudSimulator(tokens=[TOKEN]) as big:
        for i in range(1000):
            big.add_server("mta-%04d" % i, labels={"coldrig_role": "mta", "coldrig_fleet": "f%d" % (i % 4)})
        inventory = _parse(tmp_path, big)
        assert big.request_count == 20
    assert len(inventory.hosts) == 1000 and len(inventory.groups["coldrig_fleet_f3"].get_hosts()) == 250
