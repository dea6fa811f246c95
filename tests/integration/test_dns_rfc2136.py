"""coldrig.infra.dns_records and dns_verify against the lab's real Knot DNS server."""

from __future__ import annotations

import shutil

import dns.message
import dns.query
import pytest

from coldrig.lab.dns import DnsServer
from tests.integration.helpers import lab_root, run_module

ZONE = "send.example.test"
DKIM = "v=DKIM1; k=rsa; p=" + "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA" * 9  # > 255 bytes


@pytest.fixture(scope="module")
def server():
    lab_dir = lab_root() / "dns-rfc2136"
    shutil.rmtree(lab_dir, ignore_errors=True)
    knot = DnsServer(lab_dir, "lab.coldrig.test")
    port = knot.start(None, ["lab.coldrig.test", ZONE])
    yield {"port": port, "secret_file": str(knot.secret_file), "secret": knot.secret()}
    knot.stop()
    shutil.rmtree(lab_dir, ignore_errors=True)


def args(server, records, **extra):
    base = {"provider": "rfc2136", "server": "127.0.0.1", "port": server["port"], "zone": ZONE,
            "tsig_key_name": "coldrig-lab", "tsig_key_file": server["secret_file"], "records": records}
    base.update(extra)
    return base


def answer(server, name, rtype):
    response = dns.query.tcp(dns.message.make_query(name, rtype), "127.0.0.1", port=server["port"], timeout=3)
    return sorted(rdata.to_text() for rrset in response.answer for rdata in rrset)


MAIL = [
    {"type": "MX", "name": "@", "content": "mail.send.example.test", "priority": 10},
    {"type": "A", "name": "mail", "content": "192.0.2.10"},
    {"type": "TXT", "name": "@", "content": "v=spf1 ip4:192.0.2.10 ~all"},
    {"type": "TXT", "name": "s1._domainkey", "content": DKIM},
    {"type": "TXT", "name": "_dmarc", "content": "v=DMARC1; p=quarantine; rua=mailto:dmarc@send.example.test"},
]


def test_create_in_one_update_then_rerun_writes_nothing(server):
    first = run_module("coldrig.infra.dns_records", args(server, MAIL))
    assert first["changed"] and len(first["added"]) == 5, first
    assert answer(server, "send.example.test", "MX") == ["10 mail.send.example.test."]
    assert answer(server, "mail.send.example.test", "A") == ["192.0.2.10"]
    # the DKIM key went out as 255-byte strings and comes back equal
    second = run_module("coldrig.infra.dns_records", args(server, MAIL))
    assert not second["changed"], second
    assert second["added"] == second["updated"] == second["removed"] == []


def test_check_mode_reports_the_change_with_a_diff_and_writes_nothing(server):
    changed = [dict(MAIL[1], content="192.0.2.11")]
    result = run_module("coldrig.infra.dns_records", args(server, changed), check=True, diff=True)
    assert result["changed"]
    # the callback prints the module's diff (records before -> after the run)
    assert "-mail 3600 IN A 192.0.2.10" not in result["_output"]  # without purge, the old value stays
    assert "+mail 3600 IN A 192.0.2.11" in result["_output"], result["_output"]
    assert answer(server, "mail.send.example.test", "A") == ["192.0.2.10"]


def test_change_replaces_the_spf_value_and_keeps_other_txt(server):
    run_module("coldrig.infra.dns_records", args(server, [{"type": "TXT", "content": "google-site-verification=abc"}]))
    result = run_module("coldrig.infra.dns_records",
                        args(server, [{"type": "TXT", "content": "v=spf1 ip4:192.0.2.10 ip4:192.0.2.11 ~all"}]))
    assert [u["after"]["content"] for u in result["updated"]] == ["v=spf1 ip4:192.0.2.10 ip4:192.0.2.11 ~all"]
    assert answer(server, ZONE, "TXT") == ['"google-site-verification=abc"', '"v=spf1 ip4:192.0.2.10 ip4:192.0.2.11 ~all"']


def test_purge_removes_other_values_only_at_managed_pairs(server):
    run_module("coldrig.infra.dns_records", args(server, [{"type": "MX", "content": "backup.send.example.test", "priority": 20}]))
    assert len(answer(server, ZONE, "MX")) == 2
    result = run_module("coldrig.infra.dns_records", args(server, [MAIL[0]], purge=True))
    assert [r["content"] for r in result["removed"]] == ["backup.send.example.test"]
    assert answer(server, ZONE, "MX") == ["10 mail.send.example.test."]
    assert len(answer(server, ZONE, "TXT")) == 2  # TXT was not managed by that call


def test_absent_removes_the_record(server):
    result = run_module("coldrig.infra.dns_records", args(server, [{"type": "TXT", "content": "google-site-verification=abc"}],
                                                          state="absent"))
    assert result["changed"] and len(result["removed"]) == 1
    assert answer(server, ZONE, "TXT") == ['"v=spf1 ip4:192.0.2.10 ip4:192.0.2.11 ~all"']
    again = run_module("coldrig.infra.dns_records", args(server, [{"type": "TXT", "content": "google-site-verification=abc"}],
                                                         state="absent"))
    assert not again["changed"]


def test_wrong_tsig_secret_fails_clearly_and_changes_nothing(server):
    before = answer(server, "mail.send.example.test", "A")
    wrong = args(server, [dict(MAIL[1], content="198.51.100.1")], tsig_key_secret="d3Jvbmcgc2VjcmV0IHdyb25nIHNlY3JldA==")
    del wrong["tsig_key_file"]
    result = run_module("coldrig.infra.dns_records", wrong)
    assert result["failed"]
    assert "TSIG" in result["msg"] and "tsig_key_secret" in result["msg"]
    assert server["secret"] not in str(result)
    assert answer(server, "mail.send.example.test", "A") == before


def test_bad_record_fails_before_contacting_the_server(server):
    result = run_module("coldrig.infra.dns_records", args(server, [{"type": "A", "name": "mail", "content": "300.0.0.1"}],
                                                          port=1))
    assert result["failed"] and result["msg"] == "records[0].content: '300.0.0.1' is not an IPv4 address"


def test_verify_passes_when_the_server_answers_every_record(server):
    records = [MAIL[0], MAIL[1], MAIL[3]]
    result = run_module("coldrig.infra.dns_verify", {"zone": ZONE, "records": records,
                                                     "servers": [f"127.0.0.1:{server['port']}"], "timeout": 10})
    assert not result.get("failed"), result
    assert [r["status"] for r in result["records"]] == ["ok", "ok", "ok"]


def test_verify_times_out_with_a_table_of_what_is_missing(server):
    records = [MAIL[0], {"type": "TXT", "name": "_smtp._tls", "content": "v=TLSRPTv1; rua=mailto:tls@send.example.test"}]
    result = run_module("coldrig.infra.dns_verify", {"zone": ZONE, "records": records, "timeout": 3, "interval": 1,
                                                     "servers": [f"127.0.0.1:{server['port']}"]})
    assert result["failed"]
    assert "1 of 2 records" in result["msg"] and "_smtp._tls.send.example.test" in result["msg"] and "missing" in result["msg"]
    assert result["polls"] >= 2


def test_the_module_itself_gives_the_same_answer_as_the_action_plugin(server, tmp_path):
    """The action plugin runs on the controller; the module (same module_utils) is for delegation."""
    import json
    import os
    import subprocess
    import sys

    from tests.integration.helpers import ROOT

    args_file = tmp_path / "args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args(server, [MAIL[0]])}))
    env = dict(os.environ, PYTHONPATH=str(ROOT / "collections"))
    result = subprocess.run([sys.executable, str(ROOT / "plugins/modules/dns_records.py"), str(args_file)],
                            capture_output=True, text=True, env=env, check=False, stdin=subprocess.DEVNULL)
    output = json.loads(result.stdout)
    assert output["changed"] is False and output["requests"] == 1, output
    assert server["secret"] not in result.stdout
