"""coldrig.infra.rdns in this process, against the Hetzner Cloud and DigitalOcean simulators."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from ansible_collections.coldrig.infra.plugins.module_utils import hcloud as hc
from ansible_collections.coldrig.infra.plugins.modules import rdns as module
from tests.support.digitalocean_sim import DigitalOceanSimulator
from tests.support.hcloud_sim import HcloudSimulator

TOKEN = "coldrig-rdns-module-token-Lk8Jh7Gf6Ds5Aq4Zw3Xe2Cr1Vt0By9"
NAME = "mx1.outreach-example.com"


@pytest.fixture
def hetzner() -> Iterator[HcloudSimulator]:
    with HcloudSimulator(tokens=[TOKEN], action_seconds=0) as sim:
        yield sim


@pytest.fixture
def ocean() -> Iterator[DigitalOceanSimulator]:
    with DigitalOceanSimulator(tokens=[TOKEN], action_seconds=0) as sim:
        yield sim


def args(sim, provider, **extra):
    base = {"provider": provider, "api_token": TOKEN, "api_endpoint": sim.base_url, "name": NAME}
    base.update(extra)
    return base


def writes(sim):
    return [(m, p) for m, p in sim.requests if m != "GET"]


def addresses(sim, name=NAME):
    server = sim.server(name)
    return server["public_net"]["ipv4"]["ip"], hc.first_ipv6_address(server["public_net"]["ipv6"]["ip"])


# ------------------------------------------------------------ Hetzner
def test_hetzner_sets_ipv4_and_ipv6_ptrs_then_a_rerun_changes_nothing(hetzner, run_module):
    hetzner.add_server(NAME)
    ipv4, ipv6 = addresses(hetzner)
    result = run_module(module, args(hetzner, "hcloud"), diff=True)
    assert result["changed"] and result["ptrs"] == {ipv4: NAME, ipv6: NAME}
    assert result["diff"] == {"before": {ipv4: hc.default_ipv4_ptr(ipv4), ipv6: None}, "after": {ipv4: NAME, ipv6: NAME}}
    server = hetzner.server(NAME)
    assert server["public_net"]["ipv4"]["dns_ptr"] == NAME
    assert server["public_net"]["ipv6"]["dns_ptr"] == [{"ip": ipv6, "dns_ptr": NAME}]
    hetzner.reset_metrics()
    again = run_module(module, args(hetzner, "hcloud", ptr=NAME.upper() + "."))
    assert not again["changed"] and again["changes"] == [] and writes(hetzner) == []


def test_hetzner_check_mode_predicts_and_changes_nothing(hetzner, run_module):
    hetzner.add_server(NAME)
    ipv4, _ipv6 = addresses(hetzner)
    result = run_module(module, args(hetzner, "hcloud", ipv6=False), check=True)
    assert result["changed"] and result["changes"] == [{"ip": ipv4, "before": hc.default_ipv4_ptr(ipv4), "after": NAME}]
    assert writes(hetzner) == [] and hetzner.server(NAME)["public_net"]["ipv4"]["dns_ptr"] != NAME


def test_hetzner_ipv6_address_must_be_in_the_servers_network(hetzner, run_module):
    hetzner.add_server(NAME)
    _ipv4, ipv6 = addresses(hetzner)
    other = ipv6.replace("::1", "::25")
    result = run_module(module, args(hetzner, "hcloud", ipv4=False, ipv6_address=other))
    assert result["changed"] and result["ptrs"] == {other: NAME}
    bad = run_module(module, args(hetzner, "hcloud", ipv6_address="2001:db8:ffff::1"))
    assert bad["failed"] and bad["msg"].startswith("ipv6_address: 2001:db8:ffff::1 is not in the IPv6 network")


def test_hetzner_server_without_ipv6_gets_only_its_ipv4_ptr_and_a_warning(hetzner, run_module):
    hetzner.add_server(NAME, ipv6=False)
    result = run_module(module, args(hetzner, "hcloud"))
    assert result["changed"] and list(result["ptrs"]) == [hetzner.server(NAME)["public_net"]["ipv4"]["ip"]]
    assert any("no IPv6 network" in str(w) for w in result["warnings"])


def test_hetzner_unknown_server_names_the_field(hetzner, run_module):
    result = run_module(module, args(hetzner, "hcloud"))
    assert result["failed"] and result["msg"] == "name: no server named %s in this Hetzner Cloud project" % NAME


# ------------------------------------------------------- DigitalOcean
def test_digitalocean_droplet_named_after_the_mail_host_is_fine(ocean, run_module):
    ocean.add_droplet(NAME)
    result = run_module(module, args(ocean, "digitalocean"))
    droplet = ocean.droplet(NAME)
    ipv4 = [n["ip_address"] for n in droplet["networks"]["v4"] if n["type"] == "public"][0]
    ipv6 = droplet["networks"]["v6"][0]["ip_address"]
    assert not result["failed"] and not result["changed"] and result["ptrs"] == {ipv4: NAME, ipv6: NAME}
    assert writes(ocean) == []


def test_digitalocean_droplet_with_another_name_fails_saying_how_to_fix_it(ocean, run_module):
    droplet_id = ocean.add_droplet("mail-1")
    result = run_module(module, args(ocean, "digitalocean", name="mail-1", ptr=NAME))
    assert result["failed"] and writes(ocean) == []
    assert result["msg"].startswith("droplet mail-1 (id %d) is named mail-1; DigitalOcean derives the PTR" % droplet_id)
    assert "rename the droplet to %s" % NAME in result["msg"] and "rename: true" in result["msg"]


def test_digitalocean_rename_true_renames_once_then_finds_it_by_its_new_name(ocean, run_module):
    ocean.add_droplet("mail-1")
    check = run_module(module, args(ocean, "digitalocean", name="mail-1", ptr=NAME, rename=True), check=True)
    assert check["changed"] and writes(ocean) == [] and ocean.droplet("mail-1")
    result = run_module(module, args(ocean, "digitalocean", name="mail-1", ptr=NAME, rename=True))
    assert result["changed"] and result["changes"][0]["before"] == "mail-1" and result["changes"][0]["after"] == NAME
    assert ocean.droplet(NAME)["name"] == NAME
    again = run_module(module, args(ocean, "digitalocean", name="mail-1", ptr=NAME, rename=True))
    assert not again["failed"] and not again["changed"]


def test_digitalocean_name_that_is_no_fqdn_cannot_be_a_ptr(ocean, run_module):
    ocean.add_droplet("mail-1")
    result = run_module(module, args(ocean, "digitalocean", name="mail-1"))
    assert result["failed"] and result["msg"].startswith("name: 'mail-1' is not a fully qualified domain name")
    assert ocean.request_count == 0


def test_digitalocean_has_no_ipv6_address_choice(ocean, run_module):
    ocean.add_droplet(NAME)
    result = run_module(module, args(ocean, "digitalocean", ipv6_address="2001:db8::1"))
    assert result["failed"] and result["msg"].startswith("ipv6_address: DigitalOcean sets the PTR of the droplet's own")


def test_a_wrong_token_is_reported_without_the_token(ocean, run_module):
    result = run_module(module, args(ocean, "digitalocean", api_token="not-the-token-123456"))
    assert result["failed"] and "API token is wrong or lacks access" in result["msg"]
    assert "not-the-token-123456" not in str(result)
