"""coldrig.infra.dns_records with provider=cloudflare, against the local Cloudflare API simulator.

The simulator (tests/support/cloudflare_sim.py) is not Cloudflare: it answers the documented
API v4 calls the module uses, over real HTTP on 127.0.0.1.
"""

from __future__ import annotations

import httpx
import pytest

from tests.integration.helpers import run_module
from tests.support.cloudflare_sim import CloudflareSimulator

TOKEN = "cf-test-token-0123456789abcdefghijklmn"
ZONE = "send.example.test"
DKIM = "v=DKIM1; k=rsa; p=" + "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA" * 9
MAIL = [
    {"type": "A", "name": "mail", "content": "192.0.2.10", "purge": True},
    {"type": "MX", "name": "@", "content": "mail.send.example.test", "priority": 10, "purge": True},
    {"type": "TXT", "name": "@", "content": "v=spf1 ip4:192.0.2.10 ~all"},
    {"type": "TXT", "name": "s1._domainkey", "content": DKIM},
    {"type": "TXT", "name": "_dmarc", "content": "v=DMARC1; p=reject"},
    {"type": "TXT", "name": "_mta-sts", "content": "v=STSv1; id=20261121"},
    {"type": "TXT", "name": "_smtp._tls", "content": "v=TLSRPTv1; rua=mailto:tls@send.example.test"},
    {"type": "A", "name": "mta-sts", "content": "192.0.2.10", "purge": True},
]


@pytest.fixture
def sim():
    with CloudflareSimulator(tokens=[TOKEN]) as simulator:
        simulator.add_zone(ZONE)
        yield simulator


def push(sim, records, token=TOKEN, **extra):
    args = {"provider": "cloudflare", "zone": ZONE, "api_token": token, "api_base_url": sim.base_url,
            "records": records}
    args.update(extra)
    return run_module("coldrig.infra.dns_records", args)


def test_first_push_is_three_requests_and_an_unchanged_rerun_two(sim):
    first = push(sim, MAIL)
    assert first["changed"] and len(first["added"]) == 8 and first["requests"] == 3, first
    assert [m for m, _p in sim.requests] == ["GET", "GET", "POST"]
    sim.reset_metrics()
    second = push(sim, MAIL)
    assert not second["changed"] and second["requests"] == 2, second
    assert len(sim.requests) == 2


def test_mail_records_are_never_proxied_and_a_proxied_one_is_fixed(sim):
    push(sim, MAIL)
    record = next(r for r in sim.records(ZONE) if r["name"] == "mail.send.example.test")
    assert record["proxied"] is False
    # someone turns Cloudflare's proxy on for the mail host, which breaks SMTP
    response = httpx.patch(f"{sim.base_url}/zones/{record['zone_id']}/dns_records/{record['id']}",
                           json={"proxied": True}, headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.json()["result"]["proxied"] is True
    result = push(sim, MAIL)
    assert [u["after"]["name"] for u in result["updated"]] == ["mail.send.example.test"]
    assert next(r for r in sim.records(ZONE) if r["id"] == record["id"])["proxied"] is False


def test_changed_address_is_one_patch_keeping_the_record_id(sim):
    push(sim, MAIL)
    before = {r["name"]: r["id"] for r in sim.records(ZONE) if r["type"] == "A"}
    moved = [dict(r, content="192.0.2.20") if r["type"] == "A" else r for r in MAIL]
    result = push(sim, moved)
    assert len(result["updated"]) == 2 and not result["added"] and not result["removed"]
    after = {r["name"]: (r["id"], r["content"]) for r in sim.records(ZONE) if r["type"] == "A"}
    assert after == {name: (rid, "192.0.2.20") for name, rid in before.items()}


def test_other_txt_values_at_the_apex_stay(sim):
    push(sim, [{"type": "TXT", "content": "google-site-verification=abc"}])
    push(sim, MAIL)
    apex = sorted(r["content"] for r in sim.records(ZONE) if r["type"] == "TXT" and r["name"] == ZONE)
    assert len(apex) == 2 and any("google-site-verification" in c for c in apex)


def test_wrong_token_fails_with_cloudflares_code_and_never_shows_the_token(sim):
    result = push(sim, MAIL, token="wrong-token-abcdefghijklmnopqrstuvwxyz")
    assert result["failed"] and "9109" in result["msg"] and "Invalid access token" in result["msg"]
    assert "wrong-token-abcdefghijklmnopqrstuvwxyz" not in result["_output"]
    assert sim.records(ZONE) == []


def test_unknown_zone_fails_naming_it(sim):
    result = push(sim, MAIL, zone="other.example.test")
    assert result["failed"] and "other.example.test" in result["msg"]


def test_rate_limit_is_waited_out(sim):
    sim.fail_next(1, status=429, retry_after=1)
    result = push(sim, MAIL)
    assert result["changed"] and result["requests"] == 4


def test_token_from_the_environment(sim, monkeypatch):
    args = {"provider": "cloudflare", "zone": ZONE, "api_base_url": sim.base_url, "records": MAIL[:1]}
    result = run_module("coldrig.infra.dns_records", args, env={"CLOUDFLARE_API_TOKEN": TOKEN})
    assert result["changed"], result


def test_absent_deletes_in_the_same_single_batch(sim):
    push(sim, MAIL)
    sim.reset_metrics()
    result = push(sim, [{"type": "TXT", "name": "_smtp._tls"}, {"type": "TXT", "name": "_mta-sts"}], state="absent")
    assert len(result["removed"]) == 2 and [m for m, _p in sim.requests] == ["GET", "GET", "POST"]
