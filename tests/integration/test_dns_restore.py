"""Zone backups before every dns_records write, and coldrig.infra.dns_restore putting one back.

Against the lab's real Knot DNS server (no VM) and the local Cloudflare API simulator
(tests/support/cloudflare_sim.py, which is not Cloudflare: it answers the documented API v4
calls over real HTTP on 127.0.0.1).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import dns.query
import dns.tsigkeyring
import dns.zone
import httpx
import pytest

from coldrig.lab.dns import DnsServer
from tests.integration.helpers import lab_root, run_module
from tests.support.cloudflare_sim import CloudflareSimulator

ZONE = "restore.example.test"
TOKEN = "cf-test-token-0123456789abcdefghijklmn"
DKIM = "v=DKIM1; k=rsa; p=" + "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA" * 9
# what the zone held before coldrig: a web site, a verification token, an old SPF value, an old MX
BEFORE = [
    {"type": "A", "name": "www", "content": "192.0.2.80", "ttl": 300},
    {"type": "TXT", "name": "@", "content": "google-site-verification=abc"},
    {"type": "TXT", "name": "@", "content": "v=spf1 include:_spf.old.example ~all"},
    {"type": "MX", "name": "@", "content": "mx.old.example", "priority": 5},
    {"type": "CAA", "name": "@", "content": '0 issue "letsencrypt.org"'},
]
# the push: changes the SPF value, replaces the MX, adds the mail host, DKIM and DMARC, changes www's TTL
PUSH = [
    {"type": "MX", "name": "@", "content": "mail.restore.example.test", "priority": 10, "purge": True},
    {"type": "A", "name": "mail", "content": "192.0.2.10"},
    {"type": "A", "name": "www", "content": "192.0.2.80", "ttl": 3600},
    {"type": "TXT", "name": "@", "content": "v=spf1 ip4:192.0.2.10 ~all"},
    {"type": "TXT", "name": "s1._domainkey", "content": DKIM},
    {"type": "TXT", "name": "_dmarc", "content": "v=DMARC1; p=quarantine"},
]


def backups(directory: Path) -> list[str]:
    folder = directory / ZONE
    return sorted(os.listdir(folder)) if folder.exists() else []


# ---- the lab's real Knot DNS server

@pytest.fixture(scope="module")
def knot():
    lab_dir = lab_root() / "dns-restore"
    shutil.rmtree(lab_dir, ignore_errors=True)
    server = DnsServer(lab_dir, "lab.coldrig.test")
    port = server.start(None, ["lab.coldrig.test", ZONE])
    yield {"port": port, "secret_file": str(server.secret_file), "secret": server.secret()}
    server.stop()
    shutil.rmtree(lab_dir, ignore_errors=True)


def knot_args(knot, **extra):
    base = {"provider": "rfc2136", "server": "127.0.0.1", "port": knot["port"], "zone": ZONE,
            "tsig_key_name": "coldrig-lab", "tsig_key_file": knot["secret_file"]}
    base.update(extra)
    return base


def knot_zone(knot) -> list[tuple]:
    """Every record of the zone as Knot transfers it, SOA aside: (name, ttl, type, rdata)."""
    keyring = dns.tsigkeyring.from_text({"coldrig-lab": ("hmac-sha256", knot["secret"])})
    zone = dns.zone.from_xfr(dns.query.xfr("127.0.0.1", ZONE, port=knot["port"], keyring=keyring,
                                           keyname="coldrig-lab", keyalgorithm="hmac-sha256", lifetime=5))
    return sorted((name.to_text(), rdataset.ttl, dns.rdatatype.to_text(rdataset.rdtype), rdata.to_text())
                  for name, node in zone.nodes.items() for rdataset in node.rdatasets for rdata in rdataset
                  if rdataset.rdtype != dns.rdatatype.SOA)


def test_push_then_restore_gives_back_the_knot_zone_record_for_record(knot, tmp_path):
    seeded = run_module("coldrig.infra.dns_records", knot_args(knot, records=BEFORE, backup_dir=str(tmp_path)))
    assert seeded["changed"] and not seeded["failed"], seeded
    before = knot_zone(knot)
    files = backups(tmp_path)

    pushed = run_module("coldrig.infra.dns_records", knot_args(knot, records=PUSH, backup_dir=str(tmp_path)))
    assert pushed["changed"] and not pushed["failed"], pushed
    assert knot_zone(knot) != before
    new = sorted(set(backups(tmp_path)) - set(files))
    assert len(new) == 2 and pushed["backup"] == str(tmp_path / ZONE / new[0])  # <time>.json and <time>.zone
    assert pushed["backup_zone_file"] == str(tmp_path / ZONE / new[1])
    assert stat.S_IMODE(os.stat(pushed["backup"]).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / ZONE).st_mode) == 0o700
    document = json.loads(Path(pushed["backup"]).read_text())
    assert document["complete"] is True and document["provider"] == "rfc2136"
    assert any(r["type"] == "NS" and r["name"] == ZONE for r in document["records"])  # unfiltered, as read

    check = run_module("coldrig.infra.dns_restore", knot_args(knot, src=pushed["backup"], backup_dir=str(tmp_path)),
                       check=True, diff=True)
    assert check["changed"] and not check["failed"], check
    assert "-mail 3600 IN A 192.0.2.10" in check["_output"], check["_output"]
    assert knot_zone(knot) != before and len(backups(tmp_path)) == len(files) + 2  # check mode: no write, no backup

    restored = run_module("coldrig.infra.dns_restore", knot_args(knot, src=pushed["backup"], backup_dir=str(tmp_path)))
    assert restored["changed"] and restored["batches"] == 1 and not restored["failed"], restored
    assert knot_zone(knot) == before
    assert restored["backup"] and len(backups(tmp_path)) == len(files) + 4  # the zone before the restore, saved

    again = run_module("coldrig.infra.dns_restore", knot_args(knot, src=pushed["backup"], backup_dir=str(tmp_path)))
    assert not again["changed"] and again["backup"] is None and not again["failed"], again
    assert len(backups(tmp_path)) == len(files) + 4


def test_a_push_that_changes_nothing_writes_no_backup(knot, tmp_path):
    run_module("coldrig.infra.dns_records", knot_args(knot, records=PUSH, backup_dir=str(tmp_path)))
    files = backups(tmp_path)
    rerun = run_module("coldrig.infra.dns_records", knot_args(knot, records=PUSH, backup_dir=str(tmp_path)))
    assert not rerun["changed"] and rerun["backup"] is None, rerun
    checked = run_module("coldrig.infra.dns_records",
                         knot_args(knot, records=[dict(PUSH[1], content="192.0.2.11")], backup_dir=str(tmp_path)),
                         check=True)
    assert checked["changed"] and checked["backup"] is None, checked
    assert backups(tmp_path) == files


def test_a_backup_of_another_zone_is_refused_naming_zone(knot, tmp_path):
    pushed = run_module("coldrig.infra.dns_records",
                        knot_args(knot, records=[dict(PUSH[1], content="192.0.2.12")], backup_dir=str(tmp_path)))
    result = run_module("coldrig.infra.dns_restore",
                        knot_args(knot, src=pushed["backup"], zone="other.example.test", backup_dir=str(tmp_path)))
    assert result["failed"] and "zone: 'other.example.test' is not the zone of the backup" in result["msg"], result


# ---- the Cloudflare API simulator

@pytest.fixture
def sim():
    with CloudflareSimulator(tokens=[TOKEN]) as simulator:
        simulator.add_zone(ZONE)
        yield simulator


def cf_args(sim, **extra):
    base = {"provider": "cloudflare", "zone": ZONE, "api_token": TOKEN, "api_base_url": sim.base_url}
    base.update(extra)
    return base


def cf_zone(sim) -> list[tuple]:
    return sorted((r["name"], r["type"], r.get("content") or json.dumps(r.get("data"), sort_keys=True),
                   r.get("priority"), r["ttl"], r.get("proxied")) for r in sim.records(ZONE))


def test_push_then_restore_gives_back_the_cloudflare_zone_record_for_record(sim, tmp_path):
    seeded = run_module("coldrig.infra.dns_records", cf_args(sim, records=BEFORE, backup_dir=str(tmp_path)))
    assert seeded["changed"] and not seeded["failed"], seeded
    www = next(r for r in sim.records(ZONE) if r["name"] == "www." + ZONE)
    # someone proxies the web site through Cloudflare, as web sites are
    httpx.patch(f"{sim.base_url}/zones/{www['zone_id']}/dns_records/{www['id']}", json={"proxied": True},
                headers={"Authorization": f"Bearer {TOKEN}"}).raise_for_status()
    before = cf_zone(sim)

    pushed = run_module("coldrig.infra.dns_records", cf_args(sim, records=PUSH, backup_dir=str(tmp_path)))
    assert pushed["changed"] and pushed["backup"] and not pushed["failed"], pushed
    assert cf_zone(sim) != before
    assert stat.S_IMODE(os.stat(pushed["backup"]).st_mode) == 0o600
    assert Path(pushed["backup_zone_file"]).read_text().count(" IN ") == len(before)

    restored = run_module("coldrig.infra.dns_restore", cf_args(sim, src=pushed["backup"], backup_dir=str(tmp_path)))
    assert restored["changed"] and restored["batches"] == 1 and not restored["failed"], restored
    assert cf_zone(sim) == before  # www proxied again, its TTL 300 again, the old SPF and MX back
    sim.reset_metrics()
    again = run_module("coldrig.infra.dns_restore", cf_args(sim, src=pushed["backup"], backup_dir=str(tmp_path)))
    assert not again["changed"] and again["backup"] is None, again
    assert [m for m, _p in sim.requests] == ["GET", "GET"]  # read only: no batch call


def test_restore_errors_never_show_the_api_token(sim, tmp_path):
    secret = "cf-wrong-token-SECRETVALUE-0123456789"
    bad_arg = run_module("coldrig.infra.dns_restore", cf_args(sim, api_token=secret, src=str(tmp_path / "x.json"),
                                                              batch_size="many"))
    assert bad_arg["failed"] and "batch_size" in bad_arg["msg"], bad_arg
    missing = run_module("coldrig.infra.dns_restore", cf_args(sim, api_token=secret, src=str(tmp_path / "x.json")))
    assert missing["failed"] and missing["msg"].startswith("src: cannot read"), missing
    for result in (bad_arg, missing):
        assert "SECRETVALUE" not in json.dumps(result) and "SECRETVALUE" not in result["_output"]
