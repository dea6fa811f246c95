"""coldrig.infra.dnsbl_check against real DNSBL zones served by the lab's Knot DNS server.

Knot is authoritative for copies of the lists' zones (zen.spamhaus.org, dbl.spamhaus.org,
multi.uribl.com, rep.mailspike.net, bl.spamcop.net, and dq.spamhaus.net for the DQS form), filled
with RFC 2136 updates the way a list operator's rbldnsd would answer: listed and clean IPv4, IPv6 and
domain entries with TXT reasons, a zone whose every entry answers 127.255.255.254 (Spamhaus's
"public resolver" refusal), and a zone behind a server that never answers (tests/support/silent_dns.py).
The module is run through ansible with ``resolvers`` on the loopback and ``lists`` that are the
default lists' own tables, so what is proven is the module reading real DNS answers with them.
"""

from __future__ import annotations

import copy
import json
import shutil
import time

import dns.query
import dns.rcode
import dns.update
import pytest
from ansible.utils.collection_loader import AnsibleCollectionConfig
from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

from coldrig.lab.dns import TSIG_ALGORITHM, DnsServer
from tests.integration.helpers import ROOT, lab_root, run_module
from tests.support.silent_dns import SilentDnsServer

if AnsibleCollectionConfig.collection_finder is None:
    _AnsibleCollectionFinder(paths=[str(ROOT / "collections")])._install()  # pylint: disable=protected-access
from ansible_collections.coldrig.infra.plugins.module_utils.dnsbl import CANNOT_CHECK, DEFAULT_LISTS  # noqa: E402

LISTED4, CLEAN4 = "192.0.2.99", "192.0.2.10"
LISTED6, CLEAN6 = "2001:db8::99", "2001:db8::10"
NIBBLES6 = "9.9.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"
SPAM_DOMAIN, GOOD_DOMAIN = "spam-sender.test", "good-sender.test"
DQS_KEY = "k3yk3yk3yk3yk3yk3yk3yk3yk3"  # 26 letters and digits, the form of a real key
ZONES = ["zen.spamhaus.org", "dbl.spamhaus.org", "xbl.spamhaus.org", "dq.spamhaus.net", "multi.uribl.com",
         "rep.mailspike.net", "bl.spamcop.net"]
RECORDS = {  # zone: [(owner, type, [values])]
    "zen.spamhaus.org": [
        ("99.2.0.192", "A", ["127.0.0.2", "127.0.0.4"]),
        ("99.2.0.192", "TXT", ['"https://check.spamhaus.org/sbl/query/SBL100"']),
        (NIBBLES6, "A", ["127.0.0.3"]),
        (NIBBLES6, "TXT", ['"https://check.spamhaus.org/css/ipv6"']),
    ],
    "dbl.spamhaus.org": [
        (SPAM_DOMAIN, "A", ["127.0.1.2"]),
        (SPAM_DOMAIN, "TXT", ['"https://check.spamhaus.org/dbl/spam-sender.test"']),
    ],
    # every name in this zone answers the refusal code, as Spamhaus's mirrors do for a public resolver
    "xbl.spamhaus.org": [("*", "A", ["127.255.255.254"])],
    "dq.spamhaus.net": [
        ("99.2.0.192.%s.zen" % DQS_KEY, "A", ["127.0.0.2"]),
        ("99.2.0.192.%s.zen" % DQS_KEY, "TXT", ['"DQS: https://check.spamhaus.org/sbl/query/SBL100"']),
    ],
    "multi.uribl.com": [
        (SPAM_DOMAIN, "A", ["127.0.0.6"]),
        (SPAM_DOMAIN, "TXT", ['"Blacklisted, see https://admin.uribl.com/?section=lookup"']),
    ],
    "rep.mailspike.net": [
        ("99.2.0.192", "A", ["127.0.0.10"]),
        ("99.2.0.192", "TXT", ['"Mailspike L5"']),
        ("10.2.0.192", "A", ["127.0.0.18"]),  # H3, good reputation: an answer that is not a listing
    ],
    "bl.spamcop.net": [("10.2.0.192", "A", ["127.0.0.5"])],  # not a SpamCop code
}


def default(name):
    item = copy.deepcopy(next(x for x in DEFAULT_LISTS if x["name"] == name))
    return item


@pytest.fixture(scope="module")
def knot():
    lab_dir = lab_root() / "dnsbl"
    shutil.rmtree(lab_dir, ignore_errors=True)
    server = DnsServer(lab_dir, "lab.coldrig.test")
    port = server.start(None, ["lab.coldrig.test", *ZONES])
    for zone, records in RECORDS.items():
        message = dns.update.UpdateMessage(zone, keyring=server.keyring(), keyalgorithm=TSIG_ALGORITHM)
        for owner, rtype, values in records:
            for value in values:
                message.add(owner, 300, rtype, value)
        response = dns.query.tcp(message, "127.0.0.1", port=port, timeout=10)
        assert response.rcode() == dns.rcode.NOERROR, (zone, dns.rcode.to_text(response.rcode()))
    yield {"port": port, "target": f"127.0.0.1:{port}"}
    server.stop()
    shutil.rmtree(lab_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def silent():
    with SilentDnsServer() as server:
        yield server


def lists(silent):
    refusing = default("spamhaus-zen")  # ZEN's own table, on a zone that refuses every query
    refusing.update(name="spamhaus-refusing", zone="xbl.spamhaus.org", dqs=False)
    dead = default("psbl")
    dead.update(name="psbl-dead", zone="psbl.surriel.com", resolvers=[silent.target])
    return [default("spamhaus-zen"), default("spamhaus-dbl"), default("uribl"), default("mailspike-rep"),
            default("spamcop"), refusing, dead]


def arguments(knot, silent, **extra):
    args = {"addresses": [LISTED4, CLEAN4, LISTED6, CLEAN6], "domains": ["mail." + SPAM_DOMAIN, GOOD_DOMAIN],
            "resolvers": [knot["target"]], "default_lists": False, "lists": lists(silent),
            "timeout": 1.5, "deadline": 30}
    args.update(extra)
    return args


def rows_by(result):
    return {(row["target"], row["list"]): row for row in result["results"]}


def test_each_entry_is_reported_with_its_list_s_meaning_and_a_listing_fails_the_task(knot, silent):
    start = time.monotonic()
    result = run_module("coldrig.infra.dnsbl_check", arguments(knot, silent))
    elapsed = time.monotonic() - start
    rows = rows_by(result)
    assert result["failed"] and not result["changed"]  # on_listed defaults to fail
    assert result["msg"].startswith("5 listed, ")

    zen4 = rows[(LISTED4, "spamhaus-zen")]
    assert zen4["status"] == "listed" and zen4["codes"] == ["127.0.0.2", "127.0.0.4"] and zen4["zone"] == "zen.spamhaus.org"
    assert zen4["meaning"][0].startswith("127.0.0.2 SBL") and zen4["meaning"][1].startswith("127.0.0.4 XBL")
    assert zen4["txt"] == ["https://check.spamhaus.org/sbl/query/SBL100"] and zen4["error"] is None
    assert isinstance(zen4["elapsed_ms"], int)
    zen6 = rows[(LISTED6, "spamhaus-zen")]
    assert zen6["status"] == "listed" and zen6["codes"] == ["127.0.0.3"] and zen6["txt"] == ["https://check.spamhaus.org/css/ipv6"]
    for clean in (CLEAN4, CLEAN6):
        assert rows[(clean, "spamhaus-zen")]["status"] == "clean" and rows[(clean, "spamhaus-zen")]["codes"] == []

    # domains are asked as the registered domain
    assert (SPAM_DOMAIN, "spamhaus-dbl") in rows and ("mail." + SPAM_DOMAIN, "spamhaus-dbl") not in rows
    dbl = rows[(SPAM_DOMAIN, "spamhaus-dbl")]
    assert dbl["status"] == "listed" and dbl["codes"] == ["127.0.1.2"] and "low-reputation" in dbl["meaning"][0]
    assert dbl["txt"] == ["https://check.spamhaus.org/dbl/spam-sender.test"]
    assert rows[(GOOD_DOMAIN, "spamhaus-dbl")]["status"] == "clean"
    uribl = rows[(SPAM_DOMAIN, "uribl")]
    assert uribl["status"] == "listed" and uribl["meaning"] == ["127.0.0.6 URIBL black, URIBL grey"]
    assert rows[(GOOD_DOMAIN, "uribl")]["status"] == "clean"

    # a reputation zone: the bad level is a listing, the good one is clean with its level
    assert rows[(LISTED4, "mailspike-rep")]["status"] == "listed"
    good = rows[(CLEAN4, "mailspike-rep")]
    assert good["status"] == "clean" and good["codes"] == ["127.0.0.18"] and "H3" in good["meaning"][0]

    # an answer outside the list's table
    odd = rows[(CLEAN4, "spamcop")]
    assert odd["status"] == "error" and odd["error"].startswith("unexpected answer 127.0.0.5")

    # 127.255.255.254: could not check, never listed, never clean
    for address in (LISTED4, CLEAN4, LISTED6, CLEAN6):
        refused = rows[(address, "spamhaus-refusing")]
        assert refused["status"] == "error" and refused["codes"] == ["127.255.255.254"]
        assert refused["error"].startswith(CANNOT_CHECK + " (127.255.255.254 ")

    # the zone whose server never answers: an error after the per-query timeout, not a hang
    for address in (LISTED4, CLEAN4, LISTED6, CLEAN6):
        dead = rows[(address, "psbl-dead")]
        assert dead["status"] == "error" and dead["error"] == f"no answer from {silent.target} within 1.5 s"
    assert silent.udp_queries >= 4
    assert elapsed < 25

    # 4 addresses on 5 IP lists, 2 domains on 2 domain lists; listed: ZEN twice, Mailspike, DBL, URIBL;
    # errors: the refusing zone and the dead zone for each address, and SpamCop's odd code
    assert result["summary"] == {"targets": 6, "lists": 7, "queries": 4 * 5 + 2 * 2, "listed": 5,
                                 "clean": 24 - 5 - 9, "error": 4 + 4 + 1}
    assert "spamhaus-zen" in result["msg"] and "could not check" in result["msg"]


def test_dqs_key_asks_the_dqs_zone_and_never_shows_the_key_in_check_mode(knot, silent):
    args = arguments(knot, silent, spamhaus_dqs_key=DQS_KEY, on_listed="warn", addresses=[LISTED4, CLEAN4])
    result = run_module("coldrig.infra.dnsbl_check", args, check=True)
    assert not result["failed"] and not result["changed"], result["msg"]
    rows = rows_by(result)
    dqs = rows[(LISTED4, "spamhaus-zen")]
    # the DQS zone's answer (127.0.0.2 only), not the public zone's (127.0.0.2 and .4); the public zone named
    assert dqs["status"] == "listed" and dqs["codes"] == ["127.0.0.2"] and dqs["zone"] == "zen.spamhaus.org"
    assert dqs["txt"] == ["DQS: https://check.spamhaus.org/sbl/query/SBL100"]
    # the DBL is asked at <key>.dbl.dq.spamhaus.net, which this server has no entry for: clean there
    assert rows[(SPAM_DOMAIN, "spamhaus-dbl")]["status"] == "clean"
    # other lists are asked as before
    assert rows[(SPAM_DOMAIN, "uribl")]["status"] == "listed"
    assert "192.0.2.99 is listed on spamhaus-zen (127.0.0.2): DQS: https://check.spamhaus.org" in result["_output"]
    text = json.dumps(result)
    assert DQS_KEY not in text and DQS_KEY not in result["_output"]
    assert "********" not in text  # nothing that ansible had to mask: the module never wrote the key


def test_a_bad_dqs_key_fails_without_quoting_it(knot, silent):
    result = run_module("coldrig.infra.dnsbl_check", arguments(knot, silent, spamhaus_dqs_key="not-a-key-s3cr3t"))
    assert result["failed"]
    assert result["msg"] == ("spamhaus_dqs_key: the value is not a Spamhaus DQS key "
                             "(26 letters and digits, from the Spamhaus portal)")
    assert "s3cr3t" not in result["_output"]
