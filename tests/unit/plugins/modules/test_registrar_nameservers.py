"""coldrig.infra.registrar_nameservers against the Namecheap XML API simulator (a simulator, not Namecheap)."""

import pytest

from ansible_collections.coldrig.infra.plugins.module_utils.namecheap import NamecheapClient, NamecheapError
from ansible_collections.coldrig.infra.plugins.modules import registrar_nameservers
from tests.support.namecheap_sim import DEFAULT_NAMESERVERS, NamecheapSimulator

KEY = "nc-key-0123456789abcdef"
CLOUDFLARE_NS = ["ada.ns.cloudflare.com", "bob.ns.cloudflare.com"]


@pytest.fixture
def sim():
    with NamecheapSimulator() as simulator:
        simulator.add_account("coldrig", KEY, whitelist=["198.51.100.7"])
        simulator.add_account("someone-else", "other-key", whitelist=["198.51.100.7"])
        for name in ("alpha-outreach.com", "beta-outreach.co.uk", "gamma-outreach.io"):
            simulator.add_domain("coldrig", name)
        simulator.add_domain("someone-else", "not-ours.com")
        yield simulator


def args(sim, **extra):
    base = {"registrar": "namecheap", "domain": "alpha-outreach.com", "nameservers": CLOUDFLARE_NS,
            "api_user": "coldrig", "api_key": KEY, "client_ip": "198.51.100.7", "api_base_url": sim.base_url,
            "max_retries": 2}
    base.update(extra)
    return base


def test_nameservers_are_set_then_a_rerun_writes_nothing(sim, run_module):
    first = run_module(registrar_nameservers, args(sim), diff=True)
    assert not first["failed"], first
    assert first["changed"] and first["nameservers"] == CLOUDFLARE_NS
    assert first["before"] == {"nameservers": DEFAULT_NAMESERVERS, "registrar_dns": True}
    assert sim.nameservers("alpha-outreach.com") == CLOUDFLARE_NS
    assert "ada.ns.cloudflare.com" in first["diff"]["after"]
    second = run_module(registrar_nameservers, args(sim, nameservers=list(reversed(CLOUDFLARE_NS)) + ["ADA.ns.cloudflare.com."]))
    assert not second["failed"] and not second["changed"], second
    assert sim.writes == 1


def test_check_mode_reports_the_change_and_writes_nothing(sim, run_module):
    result = run_module(registrar_nameservers, args(sim, domain="gamma-outreach.io"), check=True)
    assert result["changed"] and not result["failed"]
    assert sim.writes == 0 and sim.nameservers("gamma-outreach.io") == DEFAULT_NAMESERVERS


def test_without_nameservers_the_domain_is_only_read_and_nothing_written(sim, run_module):
    base = args(sim, domain="gamma-outreach.io")
    del base["nameservers"]
    result = run_module(registrar_nameservers, base)
    assert not result["failed"] and not result["changed"], result
    assert result["nameservers"] == DEFAULT_NAMESERVERS and result["before"]["registrar_dns"] is True
    assert sim.writes == 0
    missing = run_module(registrar_nameservers, dict(base, domain="not-ours.com"))
    assert missing["failed"] and missing["msg"].startswith("domain: not-ours.com is not in this namecheap account")


def test_multi_label_tld_is_split_as_namecheap_wants(sim, run_module):
    result = run_module(registrar_nameservers, args(sim, domain="beta-outreach.co.uk"))
    assert result["changed"] and not result["failed"], result
    setcustom = [e for e in sim.request_log if e.get("command") == "namecheap.domains.dns.setCustom"]
    assert len(setcustom) == 1
    assert sim.nameservers("beta-outreach.co.uk") == CLOUDFLARE_NS


def test_domain_not_in_the_account_fails_before_any_change(sim, run_module):
    result = run_module(registrar_nameservers, args(sim, domain="not-ours.com"))
    assert result["failed"] and result["msg"].startswith("domain: not-ours.com is not in this namecheap account")
    result = run_module(registrar_nameservers, args(sim, domain="never-registered.com"))
    assert result["failed"] and "is not in this namecheap account" in result["msg"]
    assert sim.writes == 0


def test_wrong_api_key_names_namecheaps_error_and_the_fix_without_the_key(sim, run_module):
    result = run_module(registrar_nameservers, args(sim, api_key="wrong-key-SECRETVALUE"))
    assert result["failed"]
    assert "error 1011102" in result["msg"] and "API Access" in result["msg"], result["msg"]
    assert "SECRETVALUE" not in str(result)
    assert sim.writes == 0


def test_client_ip_not_whitelisted_says_how_to_whitelist_it(sim, run_module):
    result = run_module(registrar_nameservers, args(sim, client_ip="203.0.113.99"))
    assert result["failed"] and "error 1011150" in result["msg"] and "whitelist" in result["msg"], result["msg"]


@pytest.mark.parametrize("field,value,expected", [
    ("domain", "not a domain", "domain: 'not a domain'"),
    ("nameservers", ["ns1.example.net", "192.0.2.1"], "nameservers[1]: '192.0.2.1' is an IP address"),
    ("nameservers", [], "nameservers: [] is empty"),
    ("client_ip", "2001:db8::1", "client_ip: '2001:db8::1' is not an IPv4 address"),
])
def test_bad_input_fails_before_any_request_naming_the_field(sim, run_module, field, value, expected):
    result = run_module(registrar_nameservers, args(sim, **{field: value}))
    assert result["failed"] and result["msg"].startswith(expected), result["msg"]
    assert sim.request_count == 0


def test_server_errors_are_retried_by_the_shared_policy(sim):
    sim.fail_next(503, times=2)
    client = NamecheapClient("coldrig", KEY, "198.51.100.7", base_url=sim.base_url, max_retries=3, max_wait=0.01)
    try:
        assert client.nameservers("alpha-outreach.com") == (True, DEFAULT_NAMESERVERS)
        assert client.request_count == 3
        sim.fail_next(500, times=5)
        with pytest.raises(NamecheapError) as caught:
            client.nameservers("alpha-outreach.com")
        assert "after 4 attempts" in str(caught.value)
    finally:
        client.close()


def test_domain_list_follows_the_paging(sim):
    for index in range(130):
        sim.add_domain("coldrig", "bulk%03d.com" % index)
    client = NamecheapClient("coldrig", KEY, "198.51.100.7", base_url=sim.base_url)
    try:
        names = client.domains()
        assert len(names) == 133 and "bulk129.com" in names
        assert client.request_count == 2
    finally:
        client.close()


def test_the_api_key_never_travels_in_a_url(sim):
    client = NamecheapClient("coldrig", KEY, "198.51.100.7", base_url=sim.base_url)
    try:
        client.nameservers("alpha-outreach.com")
    finally:
        client.close()
    assert all(not entry["query"] for entry in sim.request_log)
    assert all(entry["method"] == "POST" for entry in sim.request_log)
