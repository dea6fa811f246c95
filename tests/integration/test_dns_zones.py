"""coldrig.infra.dns_zones: many zones in one task, pushed concurrently (the fleet's push).

Against the local Cloudflare API simulator (tests/support/cloudflare_sim.py, not Cloudflare: it
answers the documented API v4 calls over real HTTP on 127.0.0.1) and the lab's real DNS server.
"""

from __future__ import annotations

import pytest

from tests.integration.helpers import run_module
from tests.support.cloudflare_sim import CloudflareSimulator

TOKEN = "cf-test-token-0123456789abcdefghijklmn"


def zone_records(zone, address="192.0.2.10"):
    return [
        {"type": "A", "name": "mail", "content": address, "purge": True},
        {"type": "MX", "name": "@", "content": "mail." + zone, "priority": 10, "purge": True},
        {"type": "TXT", "name": "@", "content": "v=spf1 ip4:%s ~all" % address},
        {"type": "TXT", "name": "_dmarc", "content": "v=DMARC1; p=reject"},
    ]


def zones(count):
    return [{"zone": "z%03d.example.test" % n, "records": zone_records("z%03d.example.test" % n)} for n in range(count)]


@pytest.fixture
def sim():
    with CloudflareSimulator(tokens=[TOKEN]) as simulator:
        for entry in zones(60):
            simulator.add_zone(entry["zone"])
        yield simulator


def push(sim, entries, **extra):
    args = {"provider": "cloudflare", "api_token": TOKEN, "api_base_url": sim.base_url, "zones": entries}
    args.update(extra)
    return run_module("coldrig.infra.dns_zones", args)


def test_sixty_zones_cost_one_listing_plus_two_requests_a_zone_then_one_when_unchanged(sim):
    first = push(sim, zones(60))
    assert first["changed"] and len(first["changed_zones"]) == 60 and not first["failed_zones"], first["msg"] if first.get("failed") else ""
    # 60 zones, 50 a page: the listing is 2 requests
    assert first["listing_requests"] == 2
    assert first["requests"] == 2 + 2 * 60
    assert all(z["requests"] == 2 and z["batches"] == 1 for z in first["zones"])
    sim.reset_metrics()
    second = push(sim, zones(60))
    assert not second["changed"] and second["requests"] == 2 + 60
    assert len(sim.requests) == 2 + 60


def test_every_zone_is_tried_and_the_task_fails_naming_each_zone_that_failed(sim):
    entries = zones(5) + [{"zone": "not-in-the-account.example.test", "records": zone_records("not-in-the-account.example.test")}]
    result = push(sim, entries)
    assert result["failed"]
    assert result["failed_zones"] == ["not-in-the-account.example.test"]
    assert "not-in-the-account.example.test" in result["msg"] and "1 of 6 zone(s) failed" in result["msg"]
    assert len(result["changed_zones"]) == 5
    assert push(sim, zones(5))["changed"] is False


def test_check_mode_writes_nothing_and_says_what_would_change(sim):
    result = run_module("coldrig.infra.dns_zones", {"provider": "cloudflare", "api_token": TOKEN, "api_base_url": sim.base_url,
                                                    "zones": zones(3)}, check=True)
    assert result["changed"] and len(result["changed_zones"]) == 3
    assert not [m for m, _p in sim.requests if m == "POST"]


def test_a_wrong_token_fails_at_the_listing_without_showing_the_token(sim):
    result = push(sim, zones(2), api_token="wrong-token-0123456789abcdefghijklmn")
    assert result["failed"] and "listing the account's zones" in result["msg"]
    assert "wrong-token-0123456789abcdefghijklmn" not in str(result)


def test_zones_are_pushed_concurrently_by_at_most_the_given_workers(sim):
    sim.latency = 0.05  # each answer takes 50 ms, so the workers' requests overlap
    result = push(sim, zones(16), workers=4)
    assert result["changed"] and len(result["changed_zones"]) == 16
    assert 2 <= sim.max_in_flight <= 4, sim.max_in_flight
    sim.max_in_flight = 0
    assert push(sim, zones(16), workers=1)["changed"] is False
    assert sim.max_in_flight == 1


@pytest.fixture(scope="module")
def knot():
    import shutil

    from coldrig.lab.dns import DnsServer
    from tests.integration.helpers import lab_root

    lab_dir = lab_root() / "dns-zones"
    shutil.rmtree(lab_dir, ignore_errors=True)
    server = DnsServer(lab_dir, "lab.coldrig.test")
    names = ["k%d.example.test" % n for n in range(6)]
    port = server.start(None, ["lab.coldrig.test"] + names)
    yield {"port": port, "secret_file": str(server.secret_file), "zones": names}
    server.stop()
    shutil.rmtree(lab_dir, ignore_errors=True)


def test_zones_on_the_real_dns_server_are_written_concurrently_read_back_and_unchanged_on_a_rerun(knot):
    import dns.message
    import dns.query

    entries = [{"zone": zone, "records": zone_records(zone, "192.0.2.%d" % (n + 20))} for n, zone in enumerate(knot["zones"])]
    args = {"provider": "rfc2136", "server": "127.0.0.1", "port": knot["port"], "tsig_key_name": "coldrig-lab",
            "tsig_key_file": knot["secret_file"], "zones": entries, "workers": 3}
    first = run_module("coldrig.infra.dns_zones", args)
    assert first["changed"] and sorted(first["changed_zones"]) == sorted(knot["zones"]) and not first["failed_zones"]
    assert first["listing_requests"] == 0
    for n, zone in enumerate(knot["zones"]):
        response = dns.query.tcp(dns.message.make_query("mail." + zone, "A"), "127.0.0.1", port=knot["port"], timeout=3)
        assert [r.to_text() for rrset in response.answer for r in rrset] == ["192.0.2.%d" % (n + 20)]
    again = run_module("coldrig.infra.dns_zones", args)
    assert not again["changed"] and again["changed_zones"] == []
