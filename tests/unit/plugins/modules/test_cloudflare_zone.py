"""coldrig.infra.cloudflare_zone against the Cloudflare and Namecheap simulators (simulators, not the services)."""

import pytest

from ansible_collections.coldrig.infra.plugins.module_utils.cloudflare import CloudflareClient
from ansible_collections.coldrig.infra.plugins.modules import cloudflare_zone, dns_records, registrar_nameservers
from tests.support.cloudflare_sim import CloudflareSimulator, assigned_nameservers
from tests.support.dns_server import DnsTestServer
from tests.support.namecheap_sim import DEFAULT_NAMESERVERS, NamecheapSimulator

TOKEN = "cf-token-0123456789abcdef"
NC_KEY = "nc-key-0123456789abcdef"
DOMAINS = ("alpha-outreach.com", "beta-outreach.co.uk", "gamma-outreach.io")


@pytest.fixture
def registry():
    with NamecheapSimulator() as simulator:
        simulator.add_account("coldrig", NC_KEY, whitelist=["198.51.100.7"])
        for name in DOMAINS:
            simulator.add_domain("coldrig", name)
        yield simulator


@pytest.fixture
def cf(registry):
    with CloudflareSimulator(tokens=[TOKEN], registry=registry.nameservers) as simulator:
        yield simulator


def zone_args(cf, **extra):
    base = {"name": "alpha-outreach.com", "account_id": cf.account_id, "api_token": TOKEN,
            "api_base_url": cf.base_url, "max_retries": 1, "poll_interval": 0.1}
    base.update(extra)
    return base


def registrar_args(registry, domain, nameservers):
    return {"registrar": "namecheap", "domain": domain, "nameservers": nameservers, "api_user": "coldrig",
            "api_key": NC_KEY, "client_ip": "198.51.100.7", "api_base_url": registry.base_url, "max_retries": 1}


def writes(cf):
    return [e for e in cf.request_log if e["method"] != "GET"]


def test_zone_is_created_pending_with_its_nameservers_then_a_rerun_writes_nothing(cf, run_module):
    first = run_module(cloudflare_zone, zone_args(cf), diff=True)
    assert not first["failed"] and first["changed"], first
    assert first["status"] == "pending"
    assert first["name_servers"] == assigned_nameservers("alpha-outreach.com")
    assert first["original_name_servers"] == DEFAULT_NAMESERVERS
    assert "zone alpha-outreach.com" in first["diff"]["after"]
    second = run_module(cloudflare_zone, zone_args(cf, name="Alpha-Outreach.com."))
    assert not second["failed"] and not second["changed"], second
    assert second["zone_id"] == first["zone_id"] and second["name_servers"] == first["name_servers"]
    assert len(writes(cf)) == 1


def test_check_mode_reports_the_zone_to_create_and_writes_nothing(cf, run_module):
    result = run_module(cloudflare_zone, zone_args(cf), check=True, diff=True)
    assert result["changed"] and not result["failed"], result
    assert writes(cf) == [] and cf.zone("alpha-outreach.com") is None


def test_absent_deletes_the_zone_then_a_rerun_writes_nothing(cf, run_module):
    created = run_module(cloudflare_zone, zone_args(cf))
    checked = run_module(cloudflare_zone, zone_args(cf, state="absent"), check=True)
    assert checked["changed"] and cf.zone("alpha-outreach.com") is not None
    removed = run_module(cloudflare_zone, zone_args(cf, state="absent"))
    assert removed["changed"] and not removed["failed"] and removed["status"] == "absent", removed
    assert cf.zone("alpha-outreach.com") is None
    again = run_module(cloudflare_zone, zone_args(cf, state="absent"))
    assert not again["changed"] and not again["failed"]
    assert [e["method"] for e in writes(cf)] == ["POST", "DELETE"], created


def test_zone_stays_pending_until_the_registry_shows_its_nameservers_then_wait_returns_active(cf, registry, run_module):
    zone = run_module(cloudflare_zone, zone_args(cf))
    assert run_module(cloudflare_zone, zone_args(cf))["status"] == "pending"
    set_ns = run_module(registrar_nameservers, registrar_args(registry, "alpha-outreach.com", zone["name_servers"]))
    assert set_ns["changed"] and not set_ns["failed"], set_ns
    waited = run_module(cloudflare_zone, zone_args(cf, wait=True, wait_timeout=5))
    assert not waited["failed"] and not waited["changed"], waited
    assert waited["status"] == "active"


def test_wait_timeout_fails_naming_the_expected_and_the_current_nameservers(cf, run_module):
    zone = run_module(cloudflare_zone, zone_args(cf))
    records = [("alpha-outreach.com", "NS", ns + ".") for ns in DEFAULT_NAMESERVERS]
    with DnsTestServer(records) as dns_server:
        result = run_module(cloudflare_zone, zone_args(cf, wait=True, wait_timeout=1, resolvers=[dns_server.target]))
    assert result["failed"] and result["status"] == "pending"
    expected, current = ", ".join(zone["name_servers"]), ", ".join(DEFAULT_NAMESERVERS)
    assert "must show its NS records %s" % expected in result["msg"], result["msg"]
    assert "answer now: %s" % current in result["msg"], result["msg"]


def test_an_account_id_that_does_not_exist_fails_naming_the_field_and_creates_nothing(cf, run_module):
    result = run_module(cloudflare_zone, zone_args(cf, account_id="0" * 32))
    assert result["failed"] and result["msg"].startswith("account_id: '%s' does not exist or the token cannot use it" % ("0" * 32))
    assert "GET /accounts" in result["msg"]
    assert cf.zone("alpha-outreach.com") is None
    assert writes(cf) == []  # found by a read, before the create


def test_check_mode_finds_an_account_id_that_does_not_exist(cf, run_module):
    result = run_module(cloudflare_zone, zone_args(cf, account_id="0" * 32), check=True)
    assert result["failed"] and result["msg"].startswith("account_id: '%s' does not exist" % ("0" * 32)), result
    assert writes(cf) == []


def test_a_wrong_token_fails_naming_the_field_without_the_token(cf, run_module):
    result = run_module(cloudflare_zone, zone_args(cf, api_token="wrong-token-SECRETVALUE"))
    assert result["failed"] and result["msg"].startswith("api_token: Cloudflare refused the token"), result["msg"]
    assert "SECRETVALUE" not in str(result)
    assert writes(cf) == []


@pytest.mark.parametrize("field,value,expected", [
    ("name", "not a domain", "name: 'not a domain'"),
    ("account_id", "my-account", "account_id: 'my-account' is not a Cloudflare account id"),
    ("wait_timeout", 0, "wait_timeout: 0 is not 1-86400 seconds"),
    ("resolvers", ["dns.example.net"], "resolvers[0]: 'dns.example.net' is not an IP address"),
])
def test_bad_input_fails_before_any_request_naming_the_field(cf, run_module, field, value, expected):
    result = run_module(cloudflare_zone, zone_args(cf, **{field: value}))
    assert result["failed"] and result["msg"].startswith(expected), result["msg"]
    assert cf.request_count == 0


def test_zone_listing_follows_the_paging_and_filters_by_account(cf):
    for index in range(60):
        cf.add_zone("bulk%02d.com" % index)
    client = CloudflareClient(TOKEN, base_url=cf.base_url)
    try:
        assert len(client.zones(account_id=cf.account_id)) == 60
        assert client.request_count == 2
        assert client.zones(account_id="f" * 32) == []
        assert [z["name"] for z in client.zones(name="bulk07.com")] == ["bulk07.com"]
    finally:
        client.close()


def test_three_domains_go_from_new_to_records_pushed_and_a_rerun_changes_nothing(cf, registry, run_module):
    def intake():
        changed = []
        for domain in DOMAINS:
            zone = run_module(cloudflare_zone, zone_args(cf, name=domain))
            ns = run_module(registrar_nameservers, registrar_args(registry, domain, zone["name_servers"]))
            active = run_module(cloudflare_zone, zone_args(cf, name=domain, wait=True, wait_timeout=5))
            records = run_module(dns_records, {
                "provider": "cloudflare", "zone": domain, "api_token": TOKEN, "api_base_url": cf.base_url,
                "records": [{"type": "MX", "name": "@", "content": "mail." + domain, "priority": 10},
                            {"type": "TXT", "name": "@", "content": "v=spf1 mx -all"}]})
            for step in (zone, ns, active, records):
                assert not step["failed"], step
            assert active["status"] == "active"
            changed.append([zone["changed"], ns["changed"], active["changed"], records["changed"]])
        return changed

    assert intake() == [[True, True, False, True]] * 3
    for domain in DOMAINS:
        assert registry.nameservers(domain) == assigned_nameservers(domain)
        assert sorted(r["type"] for r in cf.records(domain)) == ["MX", "TXT"]
    assert intake() == [[False, False, False, False]] * 3
