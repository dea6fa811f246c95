"""coldrig.infra.dns_records input checks against the lab's real Knot DNS server (issue 10, items 6 and 7).

What the module accepts goes out and comes back equal (a re-run writes nothing); what it refuses is
refused before the first request.
"""

from __future__ import annotations

import shutil

import dns.message
import dns.query
import dns.rdatatype
import pytest

from coldrig.lab.dns import DnsServer
from tests.integration.helpers import lab_root, run_module

ZONE = "input.example.test"
HOST_ZONE, OTHER_ZONE = "alpha.test", "beta.test"  # two sending domains sharing mail.alpha.test
# 2- and 3-byte characters whose 255-byte strings would cut a character if split by bytes
MULTIBYTE = "v=verify1; note=" + "é" * 150 + "€" * 90 + "ü"


@pytest.fixture(scope="module")
def server():
    lab_dir = lab_root() / "dns-input"
    shutil.rmtree(lab_dir, ignore_errors=True)
    knot = DnsServer(lab_dir, "lab.coldrig.test")
    port = knot.start(None, ["lab.coldrig.test", ZONE, HOST_ZONE, OTHER_ZONE])
    yield {"port": port, "secret_file": str(knot.secret_file), "secret": knot.secret()}
    knot.stop()
    shutil.rmtree(lab_dir, ignore_errors=True)


def args(server, records, zone=ZONE, **extra):
    base = {"provider": "rfc2136", "server": "127.0.0.1", "port": server["port"], "zone": zone,
            "tsig_key_name": "coldrig-lab", "tsig_key_file": server["secret_file"], "records": records}
    base.update(extra)
    return base


def rrset(server, name, rtype):
    response = dns.query.tcp(dns.message.make_query(name, rtype), "127.0.0.1", port=server["port"], timeout=3)
    return [found for found in response.answer if found.rdtype == dns.rdatatype.from_text(rtype)]


def test_multibyte_txt_is_pushed_split_at_character_boundaries_and_read_back_equal(server):
    records = [{"type": "TXT", "name": "note", "content": MULTIBYTE}]
    first = run_module("coldrig.infra.dns_records", args(server, records))
    assert first["changed"] and not first["failed"], first  # before the fix: a crash on the surrogate
    (answer,) = rrset(server, "note." + ZONE, "TXT")
    (rdata,) = list(answer)
    assert len(rdata.strings) > 1 and all(len(s) <= 255 for s in rdata.strings)
    assert [s.decode("utf-8") for s in rdata.strings]  # every string is whole UTF-8 on its own
    assert b"".join(rdata.strings).decode("utf-8") == MULTIBYTE
    again = run_module("coldrig.infra.dns_records", args(server, records))
    assert not again["changed"], again


def test_srv_in_zone_file_form_and_unquoted_caa_are_pushed_and_a_rerun_writes_nothing(server):
    records = [
        {"type": "SRV", "name": "_submission._tcp", "content": "0 1 587 Mail.Input.Example.Test."},
        {"type": "CAA", "name": "@", "content": "0 issue letsencrypt.org"},
    ]
    first = run_module("coldrig.infra.dns_records", args(server, records))
    assert first["changed"] and not first["failed"], first
    assert [r.to_text() for a in rrset(server, "_submission._tcp." + ZONE, "SRV") for r in a] == [
        "0 1 587 mail.input.example.test."]
    assert [r.to_text() for a in rrset(server, ZONE, "CAA") for r in a] == ['0 issue "letsencrypt.org"']
    again = run_module("coldrig.infra.dns_records", args(server, records))
    assert not again["changed"], again


@pytest.mark.parametrize("record,message", [
    ({"type": "MX", "content": "192.0.2.1", "priority": 10},
     "records[0].content: '192.0.2.1' is an IP address, but a MX record points at a host name"),
    ({"type": "CNAME", "name": "www", "content": "192.0.2.1"},
     "records[0].content: '192.0.2.1' is an IP address, but a CNAME record points at a host name"),
    ({"type": "TXT", "name": "empty", "content": ""}, "records[0].content: the TXT value is empty"),
    ({"type": "CAA", "content": "0 policy x"}, "records[0].content: the tag 'policy'"),
    ({"type": "SRV", "name": "_sip._tcp", "content": "5060 sip.example.test", "priority": 1},
     "records[0].content: '5060 sip.example.test' is not 'weight port target'"),
    ({"type": "A", "name": "mail.other.test", "content": "192.0.2.1"},
     "records[0].name: 'mail.other.test' is relative, so it would become mail.other.test.input.example.test"),
    ({"type": "A", "name": "mail", "content": "192.0.2.1", "ttl": 0}, "records[0].ttl: 0 is out of range for rfc2136"),
])
def test_bad_input_fails_before_contacting_the_server(server, record, message):
    # port 1: a request would fail with "cannot reach", so the message proves none was sent
    result = run_module("coldrig.infra.dns_records", args(server, [record], port=1))
    assert result["failed"] and result["msg"].startswith(message), result["msg"]


def test_domains_sharing_a_mail_host_with_different_ttls_get_one_a_record_with_the_host_zones_ttl(server):
    # the record sets and their grouping come from the filters, through Ansible, as in roles/mail_dns
    options = "mail_host='mail.%s', ipv4='192.0.2.30'" % HOST_ZONE
    template = ("{{ (('%s' | coldrig.infra.mail_records(%s, ttl=300)) + ('%s' | coldrig.infra.mail_records(%s, ttl=3600)))"
                " | coldrig.infra.records_by_zone(default_ttl=1800) }}" % (OTHER_ZONE, options, HOST_ZONE, options))
    built = run_module("ansible.builtin.debug", {"msg": template})
    assert not built["failed"], built
    groups = built["msg"]
    for group in groups:
        result = run_module("coldrig.infra.dns_records", args(server, group["records"], zone=group["zone"]))
        assert result["changed"] and not result["failed"], result  # before: "the same A record ... is also records[0]"
    (answer,) = rrset(server, "mail." + HOST_ZONE, "A")
    assert (answer.ttl, [r.to_text() for r in answer]) == (3600, ["192.0.2.30"])
    (mx,) = rrset(server, OTHER_ZONE, "MX")
    assert mx.ttl == 300
    for group in groups:
        again = run_module("coldrig.infra.dns_records", args(server, group["records"], zone=group["zone"]))
        assert not again["changed"], again


# --- the same checks with provider=cloudflare, against the Cloudflare API simulator ----------------

CF_TOKEN = "cf-test-token-0123456789abcdefghijklmn"


@pytest.fixture
def cloudflare():
    from tests.support.cloudflare_sim import CloudflareSimulator  # pylint: disable=import-outside-toplevel

    with CloudflareSimulator(tokens=[CF_TOKEN]) as simulator:
        simulator.add_zone(ZONE)
        yield simulator


def push_cloudflare(sim, records):
    return run_module("coldrig.infra.dns_records", {"provider": "cloudflare", "zone": ZONE, "api_token": CF_TOKEN,
                                                    "api_base_url": sim.base_url, "records": records})


def test_cloudflare_ttl_outside_its_range_is_refused_before_any_request(cloudflare):
    result = push_cloudflare(cloudflare, [{"type": "A", "name": "mail", "content": "192.0.2.1", "ttl": 30}])
    assert result["failed"] and result["msg"] == (
        "records[0].ttl: 30 is out of range for cloudflare: give 1 (automatic) or 60 to 86400 seconds"), result
    assert cloudflare.requests == []  # before the fix the batch went out and Cloudflare refused it (9021)


def test_cloudflare_multibyte_txt_is_pushed_and_a_rerun_writes_nothing(cloudflare):
    records = [{"type": "TXT", "name": "note", "content": MULTIBYTE},
               {"type": "A", "name": "mail", "content": "192.0.2.1", "ttl": 1}]
    first = push_cloudflare(cloudflare, records)
    assert first["changed"] and not first["failed"], first
    again = push_cloudflare(cloudflare, records)
    assert not again["changed"], again
