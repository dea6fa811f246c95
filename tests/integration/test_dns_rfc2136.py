"""coldrig.infra.dns_records and dns_verify against the lab's real Knot DNS server."""

from __future__ import annotations

import shutil

import dns.message
import dns.query
import pytest

from coldrig.lab.dns import DnsServer
from tests.integration.helpers import lab_root, run_module

ZONE = "send.example.test"
ZONE2 = "other.example.test"  # the tests of issue 10 work here, apart from the ordered tests above
DKIM = "v=DKIM1; k=rsa; p=" + "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA" * 9  # > 255 bytes


@pytest.fixture(scope="module")
def server():
    lab_dir = lab_root() / "dns-rfc2136"
    shutil.rmtree(lab_dir, ignore_errors=True)
    knot = DnsServer(lab_dir, "lab.coldrig.test")
    port = knot.start(None, ["lab.coldrig.test", ZONE, ZONE2])
    yield {"port": port, "secret_file": str(knot.secret_file), "secret": knot.secret(), "knot": knot}
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


# ---- issue 10 (items 1-3, 5), in their own zone
def args2(server, records, **extra):
    return args(server, records, zone=ZONE2, **extra)


def soa_serial(server):
    return answer(server, ZONE2, "SOA")[0].split()[2]


def put(server, name, rtype, value):
    """A record written straight into Knot, as another tool or a person would."""
    server["knot"].update(server["port"], ZONE2, [("replace", name + "." + ZONE2 + ".", rtype, value)])


def clear(server, name):
    for rtype in ("CNAME", "TXT", "A"):
        server["knot"].update(server["port"], ZONE2, [("delete", name + "." + ZONE2 + ".", rtype, "")])


DMARC2 = {"type": "TXT", "name": "_dmarc", "content": "v=DMARC1; p=reject"}


def test_a_dmarc_cname_to_a_vendor_fails_before_any_write_naming_the_cname_and_the_fix(server):
    put(server, "_dmarc", "CNAME", "other.example.test.dmarc.vendor.example.")
    serial = soa_serial(server)
    result = run_module("coldrig.infra.dns_records", args2(server, [DMARC2]))
    assert result["failed"], result
    assert "_dmarc.other.example.test CNAME other.example.test.dmarc.vendor.example" in result["msg"]
    assert "on_conflict: replace" in result["msg"] and [c["type"] for c in result["conflicts"]] == ["CNAME"]
    assert soa_serial(server) == serial  # no UPDATE was sent
    clear(server, "_dmarc")


def test_on_conflict_replace_removes_the_cname_and_publishes_dmarc_in_one_update(server):
    put(server, "_dmarc", "CNAME", "other.example.test.dmarc.vendor.example.")
    result = run_module("coldrig.infra.dns_records", args2(server, [DMARC2], on_conflict="replace"))
    assert result["changed"] and not result["failed"] and result["batches"] == 1, result
    assert answer(server, "_dmarc." + ZONE2, "CNAME") == []
    assert answer(server, "_dmarc." + ZONE2, "TXT") == ['"v=DMARC1; p=reject"']
    again = run_module("coldrig.infra.dns_records", args2(server, [DMARC2], on_conflict="replace"))
    assert not again["changed"] and again["requests"] == 1, again  # one AXFR, no write
    clear(server, "_dmarc")


def test_a_desired_cname_where_a_txt_record_is_fails_and_replace_publishes_it(server):
    put(server, "track", "TXT", '"hello"')
    tracking = {"type": "CNAME", "name": "track", "content": "t.vendor.example"}
    result = run_module("coldrig.infra.dns_records", args2(server, [tracking]))
    assert result["failed"] and "track.other.example.test TXT hello" in result["msg"], result
    replaced = run_module("coldrig.infra.dns_records", args2(server, [tracking], on_conflict="replace"))
    assert replaced["changed"] and not replaced["failed"], replaced
    assert answer(server, "track." + ZONE2, "CNAME") == ["t.vendor.example."]
    clear(server, "track")


def test_second_spf_value_already_in_the_zone_is_removed_in_the_same_write(server):
    spf = {"type": "TXT", "name": "@", "content": "v=spf1 ip4:192.0.2.10 ~all"}
    run_module("coldrig.infra.dns_records", args2(server, [spf]))
    server["knot"].update(server["port"], ZONE2, [("replace", ZONE2 + ".", "TXT", '"v=spf1 include:old.example ~all"')])
    # replace swapped the whole TXT RRset: put ours and a verification token back beside the old SPF value
    message = dns.update.UpdateMessage(ZONE2 + ".", keyring=server["knot"].keyring(), keyalgorithm="hmac-sha256")
    message.add(ZONE2 + ".", 3600, "TXT", '"v=spf1 ip4:192.0.2.10 ~all"')
    message.add(ZONE2 + ".", 3600, "TXT", '"google-site-verification=abc"')
    dns.query.tcp(message, "127.0.0.1", port=server["port"], timeout=5)
    assert len(answer(server, ZONE2, "TXT")) == 3
    result = run_module("coldrig.infra.dns_records", args2(server, [spf]))
    assert result["changed"] and [r["content"] for r in result["extras_removed"]] == ["v=spf1 include:old.example ~all"]
    assert answer(server, ZONE2, "TXT") == ['"google-site-verification=abc"', '"v=spf1 ip4:192.0.2.10 ~all"']
    assert not run_module("coldrig.infra.dns_records", args2(server, [spf]))["changed"]


def _collection_import():
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

    from tests.integration.helpers import ROOT

    _AnsibleCollectionFinder(paths=[str(ROOT / "collections")])._install()  # pylint: disable=protected-access


def test_an_update_that_knot_answers_noerror_without_applying_fails_naming_what_is_missing(server):
    """Knot answers NOERROR to TXT data added at a name that has a CNAME, and adds nothing (RFC 2136 3.4.2.2).

    The module's own conflict check would stop this, so the CNAME appears between the read and the
    write, as when someone else changes the zone at the same time.
    """
    _collection_import()
    from ansible_collections.coldrig.infra.plugins.module_utils.dns_providers import (  # pylint: disable=import-outside-toplevel
        ProviderError, Rfc2136Provider)
    from ansible_collections.coldrig.infra.plugins.module_utils.dns_records import (  # pylint: disable=import-outside-toplevel
        desired_records, plan_changes)

    provider = Rfc2136Provider("127.0.0.1", server["port"], "coldrig-lab", server["secret"], "hmac-sha256", 5)
    desired = desired_records([{"type": "TXT", "name": "_mta-sts", "content": "v=STSv1; id=1"}], ZONE2)
    current = provider.read(ZONE2, [r.pair for r in desired])
    plan = plan_changes(desired, current, zone=ZONE2)
    put(server, "_mta-sts", "CNAME", "sts.vendor.example.")  # someone else, meanwhile
    with pytest.raises(ProviderError) as failure:
        provider.apply(ZONE2, current, plan)
    message = str(failure.value)
    assert "answered NOERROR" in message and "did not apply" in message, message
    assert "missing: _mta-sts.other.example.test TXT v=STSv1; id=1" in message
    assert failure.value.applied == "unknown"
    assert answer(server, "_mta-sts." + ZONE2, "TXT") == ["sts.vendor.example."]  # the CNAME, no TXT
    clear(server, "_mta-sts")


def test_a_good_push_is_read_back_once_and_a_rerun_makes_no_write(server):
    records = [{"type": "A", "name": "mta-sts", "content": "192.0.2.10"}]
    first = run_module("coldrig.infra.dns_records", args2(server, records))
    assert first["changed"] and first["requests"] == 3, first  # AXFR, UPDATE, AXFR to check it
    serial = soa_serial(server)
    second = run_module("coldrig.infra.dns_records", args2(server, records))
    assert not second["changed"] and second["requests"] == 1 and soa_serial(server) == serial, second


def test_an_update_whose_answer_is_lost_says_may_have_been_applied_and_the_rerun_converges(server):
    """Knot applies the UPDATE; the answer never reaches the module (a relay drops it)."""
    from tests.support.dns_proxy import DnsTcpRelay

    records = [{"type": "TXT", "name": "_smtp._tls", "content": "v=TLSRPTv1; rua=mailto:tls@other.example.test"}]
    with DnsTcpRelay(("127.0.0.1", server["port"])) as relay:
        relay.drop_update_answers = 1
        lost = run_module("coldrig.infra.dns_records", args2(server, records, port=relay.port, timeout=3))
        assert relay.dropped == 1
    assert lost["failed"] and "may have been applied; run again to converge" in lost["msg"], lost
    assert "nothing was changed" not in lost["msg"] and lost["applied"] == "unknown" and lost["changed"] is True
    assert answer(server, "_smtp._tls." + ZONE2, "TXT") == ['"v=TLSRPTv1; rua=mailto:tls@other.example.test"']
    rerun = run_module("coldrig.infra.dns_records", args2(server, records))
    assert not rerun["changed"] and not rerun["failed"], rerun
    assert len(answer(server, "_smtp._tls." + ZONE2, "TXT")) == 1


def test_without_zone_transfer_the_cname_at_a_managed_name_is_still_seen(server):
    """Where the key may not transfer the zone, the module asks per name and type: the CNAME is asked too."""
    _collection_import()
    from ansible_collections.coldrig.infra.plugins.module_utils.rfc2136 import Rfc2136Client  # pylint: disable=import-outside-toplevel

    put(server, "_dmarc", "CNAME", "other.example.test.dmarc.vendor.example.")
    client = Rfc2136Client("127.0.0.1", server["port"], "coldrig-lab", server["secret"], "hmac-sha256", 5)
    client._axfr = lambda zone: None  # as when the server refuses the transfer  # pylint: disable=protected-access
    records = client.read(ZONE2, [("_dmarc." + ZONE2, "TXT")])
    assert [(r.type, r.content) for r in records] == [("CNAME", "other.example.test.dmarc.vendor.example")]
    clear(server, "_dmarc")
