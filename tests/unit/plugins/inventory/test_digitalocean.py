"""The coldrig.infra.digitalocean inventory plugin: host variables, groups, and parses against the API simulator."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from ansible.errors import AnsibleError, AnsibleParserError
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import inventory_loader

from ansible_collections.coldrig.infra.plugins.module_utils.digitalocean import host_vars
from ansible_collections.coldrig.infra.plugins.module_utils.inventory import label_groups
from tests.support.digitalocean_sim import DigitalOceanSimulator

TOKEN = "dop_v1_inventory_token_Kp2Xw9Lm4Qz7Rt1Vb8Nc3Hd6Jf0Gs5Ya2Ue9Io4Pt7Wq1Ex3Mz6Rb8Tn0"
ENV_TOKENS = ("DIGITALOCEAN_TOKEN", "DO_API_TOKEN", "DO_API_KEY", "DO_OAUTH_TOKEN", "DIGITALOCEAN_ACCESS_TOKEN")


class Recorder:
    """Stands in for the plugin's Display: keeps warnings, drops the rest."""

    def __init__(self):
        self.warnings: list[str] = []

    def warning(self, message, *args, **kwargs):
        self.warnings.append(message)

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in ENV_TOKENS + ("DIGITALOCEAN_END_POINT",):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DIGITALOCEAN_TOKEN", TOKEN)


@pytest.fixture
def sim() -> Iterator[DigitalOceanSimulator]:
    with DigitalOceanSimulator(tokens=[TOKEN]) as simulator:
        simulator.add_droplet("mx1.example.test", region="fra1", tags=["coldrig_role:mta", "coldrig_fleet:eu-1"])
        simulator.add_droplet("mx2.example.test", region="ams3", size="s-2vcpu-4gb",
                              tags=["coldrig_role:mta", "coldrig_fleet:eu-2"], ipv6=False)
        simulator.add_droplet("relay1", region="fra1", status="off", tags=["coldrig_role:relay"])
        simulator.add_droplet("builder", region="nyc3", tags=["ci"])
        yield simulator


def parse(tmp_path, sim, extra="", cache=False, name="test.digitalocean.yml"):
    """Parse a config for the simulator; (inventory, warnings)."""
    config = tmp_path / name
    config.write_text("plugin: coldrig.infra.digitalocean\napi_endpoint: %s\n%s" % (sim.base_url, extra))
    inventory = InventoryData()
    plugin = inventory_loader.get("coldrig.infra.digitalocean")
    recorder = Recorder()
    plugin.display = recorder
    plugin.parse(inventory, DataLoader(), str(config), cache=cache)
    if "cache: true" in extra:
        plugin.update_cache_if_changed()  # what ansible's InventoryManager does after a parse
    return inventory, recorder.warnings


def members(inventory, group):
    return sorted(h.name for h in inventory.groups[group].get_hosts())


# ------------------------------------------------------------ without the API
def test_host_vars_and_groups_of_an_api_droplet():
    droplet = {
        "id": 7, "name": "mx1.outreach-example.com", "status": "active", "memory": 2048, "vcpus": 1, "disk": 50,
        "size_slug": "s-1vcpu-2gb", "region": {"slug": "fra1", "name": "Frankfurt 1"},
        "image": {"id": 1, "slug": "debian-12-x64", "distribution": "Debian"},
        "networks": {"v4": [{"ip_address": "203.0.113.7", "type": "public"},
                            {"ip_address": "10.114.0.7", "type": "private"}], "v6": []},
        "tags": ["coldrig_role:mta", "coldrig_fleet:eu-1", "web"], "features": [], "vpc_uuid": "v",
    }
    variables = host_vars(droplet)
    assert variables["coldrig_provider"] == "digitalocean"
    assert variables["coldrig_public_ipv4"] == "203.0.113.7" and variables["coldrig_public_ipv6"] is None
    assert variables["coldrig_ptr"] == "mx1.outreach-example.com"
    assert variables["coldrig_region"] == "fra1" and variables["coldrig_size"] == "s-1vcpu-2gb"
    assert variables["coldrig_labels"] == {"coldrig_role": "mta", "coldrig_fleet": "eu-1", "web": ""}
    assert label_groups(variables["coldrig_labels"]) == ["coldrig_role_mta", "coldrig_fleet_eu_1"]


def test_a_plain_role_tag_makes_no_group():
    variables = host_vars({"id": 8, "name": "x", "tags": ["coldrig_role"], "networks": {"v4": [], "v6": []}})
    assert variables["coldrig_labels"] == {"coldrig_role": ""} and label_groups(variables["coldrig_labels"]) == []


def test_only_files_named_digitalocean_yml_are_claimed(tmp_path):
    plugin = inventory_loader.get("coldrig.infra.digitalocean")
    for name, claimed in (("digitalocean.yml", True), ("prod.digitalocean.yaml", True), ("hcloud.yml", False),
                          ("do.yml", False)):
        path = tmp_path / name
        path.write_text("plugin: coldrig.infra.digitalocean\n")
        assert plugin.verify_file(str(path)) is claimed


# ------------------------------------------------------------ parses against the simulator
def test_every_droplet_with_normalised_vars_and_its_groups(tmp_path, sim):
    inventory, warnings = parse(tmp_path, sim)
    assert sorted(inventory.hosts) == ["builder", "mx1.example.test", "mx2.example.test", "relay1"]
    mx1 = inventory.get_host("mx1.example.test").vars
    droplet = sim.droplet("mx1.example.test")
    public = [n["ip_address"] for n in droplet["networks"]["v4"] if n["type"] == "public"][0]
    assert mx1["coldrig_provider"] == "digitalocean" and mx1["coldrig_public_ipv4"] == public
    assert mx1["coldrig_public_ipv6"] == droplet["networks"]["v6"][0]["ip_address"]
    assert mx1["coldrig_ptr"] == "mx1.example.test" and mx1["ansible_host"] == public
    assert mx1["coldrig_region"] == "fra1" and mx1["coldrig_size"] == "s-1vcpu-1gb"
    assert mx1["do_id"] == droplet["id"] and mx1["do_status"] == "active"
    assert inventory.get_host("builder").vars["coldrig_ptr"] is None  # not a FQDN: DigitalOcean sets no PTR
    assert members(inventory, "digitalocean") == sorted(inventory.hosts)
    assert members(inventory, "coldrig_role_mta") == ["mx1.example.test", "mx2.example.test"]
    assert members(inventory, "coldrig_role_relay") == ["relay1"]
    assert members(inventory, "coldrig_fleet_eu_1") == ["mx1.example.test"]
    assert members(inventory, "coldrig_fleet_eu_2") == ["mx2.example.test"]
    assert warnings == []


def test_the_tag_filters_on_the_api_and_status_regions_sizes_here(tmp_path, sim):
    inventory, _unused = parse(tmp_path, sim, "tag: coldrig_role:mta\n")
    assert sorted(inventory.hosts) == ["mx1.example.test", "mx2.example.test"]
    assert sim.request_log[-1]["query"]["tag_name"] == ["coldrig_role:mta"]
    assert sorted(parse(tmp_path, sim, "status: [active]\n")[0].hosts) == [
        "builder", "mx1.example.test", "mx2.example.test"]
    assert sorted(parse(tmp_path, sim, "regions: [fra1]\n")[0].hosts) == ["mx1.example.test", "relay1"]
    assert sorted(parse(tmp_path, sim, "sizes: [s-2vcpu-4gb]\n")[0].hosts) == ["mx2.example.test"]
    assert sorted(parse(tmp_path, sim, "status: ['off']\nregions: [fra1, nyc3]\n")[0].hosts) == ["relay1"]


@pytest.mark.parametrize(("connect_with", "expected"), [
    ("public_ipv6", lambda d: d["networks"]["v6"][0]["ip_address"]),
    ("private_ipv4", lambda d: [n for n in d["networks"]["v4"] if n["type"] == "private"][0]["ip_address"]),
    ("name", lambda d: d["name"]),
])
def test_connect_with_sets_ansible_host(tmp_path, sim, connect_with, expected):
    inventory, _unused = parse(tmp_path, sim, "connect_with: %s\n" % connect_with)
    assert inventory.get_host("mx1.example.test").vars["ansible_host"] == expected(sim.droplet("mx1.example.test"))


def test_a_droplet_without_the_address_asked_for_warns_or_fails_with_strict(tmp_path, sim):
    inventory, warnings = parse(tmp_path, sim, "connect_with: public_ipv6\n")
    assert "ansible_host" not in inventory.get_host("mx2.example.test").vars
    assert warnings == ["coldrig.infra.digitalocean: droplet mx2.example.test (%d) has no ansible_host: it has no "
                        "IPv6 address (the enable_ipv6 action adds one) (connect_with: public_ipv6)"
                        % sim.droplet("mx2.example.test")["id"]]
    with pytest.raises(AnsibleParserError, match="droplet mx2.example.test .* has no ansible_host"):
        parse(tmp_path, sim, "connect_with: public_ipv6\nstrict: true\n")


def test_compose_groups_and_keyed_groups_see_the_host_vars(tmp_path, sim):
    inventory, _unused = parse(tmp_path, sim, (
        "compose:\n  mail_host: coldrig_ptr\n  ansible_user: \"'root'\"\n"
        "groups:\n  big: do_memory >= 4096\n"
        "keyed_groups:\n  - key: do_region\n    prefix: region\n  - key: coldrig_labels.coldrig_fleet\n"
        "    prefix: fleet\n    default_value: none\n"
    ))
    mx1 = inventory.get_host("mx1.example.test").vars
    assert mx1["mail_host"] == "mx1.example.test" and mx1["ansible_user"] == "root"
    assert members(inventory, "big") == ["mx2.example.test"]
    assert members(inventory, "region_fra1") == ["mx1.example.test", "relay1"]
    assert members(inventory, "fleet_eu_2") == ["mx2.example.test"]


def test_strict_makes_a_broken_compose_expression_an_error(tmp_path, sim):
    broken = "compose:\n  x: do_no_such_variable.attr\n"
    inventory, _unused = parse(tmp_path, sim, broken)  # not strict: the variable is left out
    assert "x" not in inventory.get_host("mx1.example.test").vars
    with pytest.raises(AnsibleError, match="Could not set x for host .*: 'do_no_such_variable' is undefined"):
        parse(tmp_path, sim, broken + "strict: true\n")


def test_a_hostname_template_and_another_group(tmp_path, sim):
    inventory, _unused = parse(tmp_path, sim, "hostname: \"{{ do_region }}-{{ do_name }}\"\ngroup: fleet\n")
    assert "fra1-mx1.example.test" in inventory.hosts and members(inventory, "fleet") == sorted(inventory.hosts)
    assert "digitalocean" not in inventory.groups


def test_two_droplets_with_one_name_are_an_error_unless_the_hostname_tells_them_apart(tmp_path, sim):
    twin = sim.add_droplet("mx1.example.test", region="lon1")
    with pytest.raises(AnsibleParserError, match="hostname: droplets mx1.example.test \\(\\d+\\) and %d "
                                                 "\\(mx1.example.test\\) both become host mx1.example.test" % twin):
        parse(tmp_path, sim)
    inventory, _unused = parse(tmp_path, sim, "hostname: \"{{ do_name }}-{{ do_id }}\"\n")
    assert "mx1.example.test-%d" % twin in inventory.hosts and len(inventory.hosts) == 5


def test_conflicting_label_tags_warn_and_keep_the_first(tmp_path, sim):
    sim.add_droplet("both", tags=["coldrig_role:mta", "coldrig_role:relay"])
    inventory, warnings = parse(tmp_path, sim)
    assert inventory.get_host("both").vars["coldrig_labels"] == {"coldrig_role": "mta"}
    assert warnings == ["coldrig.infra.digitalocean: droplet both has the tags coldrig_role:mta, coldrig_role:relay; "
                        "coldrig_labels.coldrig_role is 'mta' (the first); remove the others"]


# ------------------------------------------------------------ the token
def test_the_token_may_come_from_any_of_the_environment_variables(tmp_path, sim, monkeypatch):
    for name in ENV_TOKENS:
        monkeypatch.delenv("DIGITALOCEAN_TOKEN", raising=False)
        for other in ENV_TOKENS:
            monkeypatch.delenv(other, raising=False)
        monkeypatch.setenv(name, TOKEN)
        assert len(parse(tmp_path, sim)[0].hosts) == 4, name


def test_the_token_may_be_a_template_of_extra_vars(tmp_path, sim, monkeypatch):
    monkeypatch.delenv("DIGITALOCEAN_TOKEN")
    monkeypatch.setattr("ansible.plugins.inventory.load_extra_vars", lambda loader: {"vault_do_token": TOKEN})
    inventory, _unused = parse(tmp_path, sim, "api_token: \"{{ vault_do_token }}\"\n")
    assert len(inventory.hosts) == 4
    with pytest.raises(AnsibleParserError, match="api_token: the template could not be rendered: .*undefined_token"):
        parse(tmp_path, sim, "api_token: \"{{ undefined_token }}\"\n")


def test_no_token_and_a_wrong_token_say_what_to_set_without_the_token(tmp_path, sim, monkeypatch):
    monkeypatch.delenv("DIGITALOCEAN_TOKEN")
    with pytest.raises(AnsibleParserError, match="no DigitalOcean API token: set DIGITALOCEAN_TOKEN or api_token"):
        parse(tmp_path, sim)
    wrong = "dop_v1_wrong_" + "z" * 50
    monkeypatch.setenv("DIGITALOCEAN_TOKEN", wrong)
    with pytest.raises(AnsibleParserError) as caught:
        parse(tmp_path, sim)
    assert "the DigitalOcean API token is wrong or lacks access (Unable to authenticate you)" in str(caught.value)
    assert "test.digitalocean.yml" in str(caught.value) and wrong not in str(caught.value)


# ------------------------------------------------------------ the cache
def _cached(tmp_path, extra=""):
    return ("cache: true\ncache_plugin: ansible.builtin.jsonfile\ncache_connection: %s\n%s"
            % (tmp_path / "cache", extra))


def test_a_cached_parse_makes_no_request(tmp_path, sim):
    first, _unused = parse(tmp_path, sim, _cached(tmp_path), cache=True)
    assert sim.request_count == 1
    sim.reset_metrics()
    sim.add_droplet("added-after-caching")
    again, _unused = parse(tmp_path, sim, _cached(tmp_path, "connect_with: private_ipv4\n"), cache=True)
    assert sim.request_count == 0
    assert sorted(again.hosts) == sorted(first.hosts)  # the cached list, not the API's
    private = again.get_host("mx1.example.test").vars
    assert private["ansible_host"] == private["do_private_ipv4"]  # connect_with applies to cached droplets


def test_changing_a_filter_or_flushing_fetches_again(tmp_path, sim):
    parse(tmp_path, sim, _cached(tmp_path), cache=True)
    sim.reset_metrics()
    assert sorted(parse(tmp_path, sim, _cached(tmp_path, "tag: ci\n"), cache=True)[0].hosts) == ["builder"]
    assert sim.request_count == 1
    sim.add_droplet("added", tags=["ci"])
    flushed, _unused = parse(tmp_path, sim, _cached(tmp_path, "tag: ci\n"), cache=False)  # --flush-cache
    assert sorted(flushed.hosts) == ["added", "builder"] and sim.request_count == 2
    sim.reset_metrics()
    assert sorted(parse(tmp_path, sim, _cached(tmp_path, "tag: ci\n"), cache=True)[0].hosts) == ["added", "builder"]
    assert sim.request_count == 0


def test_a_thousand_droplets_parse_in_five_requests(tmp_path):
    with DigitalOceanSimulator(tokens=[TOKEN]) as sim:
        sim.add_droplets(["mta-%04d.example.test" % i for i in range(1000)], tags=["coldrig_role:mta"])
        inventory, warnings = parse(tmp_path, sim, "tag: coldrig_role:mta\n")
        assert len(inventory.hosts) == 1000 and sim.request_count == 5 and warnings == []
        assert len(inventory.groups["coldrig_role_mta"].get_hosts()) == 1000
