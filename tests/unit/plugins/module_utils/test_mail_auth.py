"""mail_auth: DMARC, alignment, DKIM, SPF, PTR = HELO and the table, with DNS from a dict or a local test server."""
from __future__ import annotations

import base64
import socket
import time

import dkim
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import pytest
import spf
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from ansible_collections.coldrig.infra.plugins.module_utils import mail_auth
from ansible_collections.coldrig.infra.plugins.module_utils.mail_auth import DmarcError, DnsError
from tests.support.dns_server import DnsTestServer


class DictDns(mail_auth.DnsClient):
    """A DnsClient whose answers come from a dict {(name, type): [presentation data]}: every adapter
    (txt, dkim_txt, spf_lookup, ptr, addresses) runs unchanged on top of it."""

    def __init__(self, records=None, fail=()):
        self.targets = []
        self.timeout = 1.0
        self.lookups = 0
        self.asked = []
        self.records = {}
        self.fail = set(fail)  # (name, type) pairs that raise DnsError
        for (name, rtype), values in (records or {}).items():
            self.records[(name.lower().rstrip("."), rtype)] = [
                dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.from_text(rtype), value) for value in values]

    def query(self, name, rtype):
        name = mail_auth.normalise_host(str(name))
        self.asked.append((name, rtype))
        if (name, rtype) in self.fail:
            raise DnsError("%s %s: no answer from the test within 1 s" % (name, rtype))
        return list(self.records.get((name, rtype), []))


def quoted(value):
    """A TXT value in presentation format, split into 255-byte strings."""
    return " ".join('"%s"' % value[i:i + 255] for i in range(0, len(value), 255))


# ---------------------------------------------------------------------------------------------- DMARC
def test_a_minimal_dmarc_record_gets_the_rfc_defaults():
    record = mail_auth.parse_dmarc("v=DMARC1; p=none")
    assert record["policy"] == "none"
    assert record["subdomain_policy"] == "none"
    assert (record["adkim"], record["aspf"], record["pct"]) == ("r", "r", 100)
    assert record["rua"] == [] and record["warnings"] == []


def test_a_full_dmarc_record_is_read_tag_by_tag():
    record = mail_auth.parse_dmarc(
        "v=DMARC1; p=reject; sp=quarantine; adkim=s; aspf=r; pct=50; fo=1:d; rf=afrf; ri=3600; "
        "rua=mailto:dmarc@example.com,mailto:agg@reports.example.net!10m; ruf=mailto:forensic@example.com;")
    assert record["policy"] == "reject"
    assert record["subdomain_policy"] == "quarantine"
    assert record["adkim"] == "s"
    assert record["pct"] == 50
    assert record["rua"] == ["mailto:dmarc@example.com", "mailto:agg@reports.example.net!10m"]
    assert record["ruf"] == ["mailto:forensic@example.com"]


def test_dmarc_tag_names_and_keyword_values_are_case_insensitive_but_the_version_is_not():
    record = mail_auth.parse_dmarc("V=DMARC1; P=Reject; ADKIM=S")
    assert (record["policy"], record["adkim"]) == ("reject", "s")
    with pytest.raises(DmarcError, match=r"^v: 'dmarc1' is not DMARC1"):
        mail_auth.parse_dmarc("v=dmarc1; p=none")


@pytest.mark.parametrize("text, error", [
    ("v=DMARC1", r"^p: the policy tag is missing"),
    ("v=DMARC1; p=maybe", r"^p: 'maybe' is not one of none, quarantine, reject$"),
    ("p=none; v=DMARC1", r"^v: a DMARC record must start with v=DMARC1"),
    ("v=DMARC2; p=none", r"^v: 'DMARC2' is not DMARC1"),
    ("v=DMARC1; p=none; p=reject", r"^p: the tag appears twice"),
    ("v=DMARC1; p=none; sp=block", r"^sp: 'block' is not one of"),
    ("v=DMARC1; p=none; adkim=x", r"^adkim: 'x' is not one of r, s"),
    ("v=DMARC1; p=none; aspf=relaxed", r"^aspf: 'relaxed' is not one of r, s"),
    ("v=DMARC1; p=none; pct=101", r"^pct: '101' is not a whole number from 0 to 100"),
    ("v=DMARC1; p=none; pct=half", r"^pct: "),
    ("v=DMARC1; p=none; fo=2", r"^fo: '2' is not a colon-separated list"),
    ("v=DMARC1; p=none; ri=daily", r"^ri: "),
    ("v=DMARC1; p=none; rua=dmarc@example.com", r"^rua: 'dmarc@example.com' is not a URI"),
    ("v=DMARC1; p=none; ruf=mailto:a@example.com,", r"^ruf: '' is not a URI"),
    ("v=DMARC1; p", r"'p' is not a tag=value pair"),
    ("v=DMARC1; p=none; 9x=1", r"'9x' is not a valid tag name"),
    ("", r"^v: "),
])
def test_an_invalid_dmarc_record_is_an_error_that_names_the_tag(text, error):
    with pytest.raises(DmarcError, match=error):
        mail_auth.parse_dmarc(text)


def test_unknown_dmarc_tags_are_ignored_with_a_warning():
    record = mail_auth.parse_dmarc("v=DMARC1; p=reject; future=1;; ")
    assert record["policy"] == "reject"
    assert "unknown tag future was ignored" in record["warnings"]
    assert any("empty tag" in w for w in record["warnings"])


@pytest.mark.parametrize("domain, org", [
    ("example.com", "example.com"),
    ("mail.example.com", "example.com"),
    ("a.b.example.co.uk", "example.co.uk"),
    ("Node1.Lab.Coldrig.Test.", "coldrig.test"),
    ("demo-outreach.test", "demo-outreach.test"),
    ("x.foo.github.io", "foo.github.io"),  # a private-section public suffix
])
def test_the_organizational_domain_is_one_label_below_the_public_suffix(domain, org):
    assert mail_auth.organizational_domain(domain) == org


@pytest.mark.parametrize("identifier, from_domain, mode, expected", [
    ("example.com", "example.com", "s", True),
    ("EXAMPLE.com.", "example.com", "s", True),
    ("mail.example.com", "example.com", "s", False),
    ("mail.example.com", "example.com", "r", True),
    ("bounce.example.com", "news.example.com", "r", True),
    ("example.co.uk", "other.co.uk", "r", False),      # same public suffix is not the same organization
    ("a.foo.github.io", "b.bar.github.io", "r", False),
    ("example.net", "example.com", "r", False),
    ("", "example.com", "r", False),
])
def test_alignment_strict_and_relaxed(identifier, from_domain, mode, expected):
    assert mail_auth.aligned(identifier, from_domain, mode) is expected


def test_dmarc_passes_on_aligned_dkim_alone_or_aligned_spf_alone():
    record = mail_auth.parse_dmarc("v=DMARC1; p=reject")
    dkim_only = mail_auth.evaluate_dmarc(record, "example.com", "example.com", ["example.com"], "fail", "example.com")
    assert (dkim_only["result"], dkim_only["dkim_aligned"], dkim_only["spf_aligned"]) == ("pass", True, False)
    spf_only = mail_auth.evaluate_dmarc(record, "example.com", "example.com", [], "pass", "bounces.example.com")
    assert (spf_only["result"], spf_only["dkim_aligned"], spf_only["spf_aligned"]) == ("pass", False, True)


def test_dmarc_fails_when_the_passes_are_not_aligned():
    record = mail_auth.parse_dmarc("v=DMARC1; p=reject; adkim=s; aspf=s")
    verdict = mail_auth.evaluate_dmarc(record, "example.com", "example.com", ["mail.example.com", "esp.net"], "pass",
                                       "bounces.example.com")
    assert verdict == {"result": "fail", "policy": "reject", "dkim_aligned": False, "spf_aligned": False,
                       "adkim": "s", "aspf": "s", "record_domain": "example.com"}


def test_an_spf_result_other_than_pass_never_aligns():
    record = mail_auth.parse_dmarc("v=DMARC1; p=none")
    for result in ("softfail", "neutral", "none", "temperror"):
        assert mail_auth.evaluate_dmarc(record, "example.com", "example.com", [], result, "example.com")["result"] == "fail"


def test_a_subdomain_gets_the_sp_policy_of_the_organizational_record():
    record = mail_auth.parse_dmarc("v=DMARC1; p=reject; sp=quarantine")
    verdict = mail_auth.evaluate_dmarc(record, "example.com", "news.example.com", ["example.com"], "fail", "")
    assert (verdict["policy"], verdict["result"]) == ("quarantine", "pass")
    assert mail_auth.evaluate_dmarc(record, "example.com", "example.com", [], "fail", "")["policy"] == "reject"


def test_the_dmarc_record_is_looked_up_at_the_from_domain_then_at_the_organizational_domain():
    client = DictDns({("_dmarc.example.com", "TXT"): ['"v=DMARC1; p=reject"']})
    assert mail_auth.find_dmarc(client, "news.example.com") == ("v=DMARC1; p=reject", "example.com")
    assert client.asked == [("_dmarc.news.example.com", "TXT"), ("_dmarc.example.com", "TXT")]
    own = DictDns({("_dmarc.news.example.com", "TXT"): ['"v=DMARC1; p=none"'],
                   ("_dmarc.example.com", "TXT"): ['"v=DMARC1; p=reject"']})
    assert mail_auth.find_dmarc(own, "news.example.com") == ("v=DMARC1; p=none", "news.example.com")


def test_txt_values_that_are_not_dmarc_records_are_skipped_and_two_records_are_an_error():
    client = DictDns({("_dmarc.example.com", "TXT"): ['"google-site-verification=abc"', '"v=DMARC1; p=none"']})
    assert mail_auth.find_dmarc(client, "example.com") == ("v=DMARC1; p=none", "example.com")
    two = DictDns({("_dmarc.example.com", "TXT"): ['"v=DMARC1; p=none"', '"v=DMARC1; p=reject"']})
    with pytest.raises(DmarcError, match=r"_dmarc.example.com has 2 DMARC records"):
        mail_auth.find_dmarc(two, "example.com")
    assert mail_auth.find_dmarc(DictDns(), "example.com") == (None, None)


# ---------------------------------------------------------------------------------------------- DKIM
MESSAGE = (b"From: Ana <ana@example.com>\r\nTo: bo@example.net\r\nSubject: Quarterly numbers\r\n"
           b"Date: Mon, 05 Jan 2026 10:00:00 +0000\r\nMessage-ID: <t1@example.com>\r\n\r\n"
           b"Hello Bo,\r\n\r\nthe numbers are attached.\r\n")


@pytest.fixture(scope="module")
def rsa_key():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem, "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()


def signed(message, key_pem, domain=b"example.com", selector=b"s1", **kwargs):
    return dkim.sign(message, selector, domain, key_pem, include_headers=[b"from", b"to", b"subject", b"date"],
                     **kwargs) + message


def test_a_dkim_signature_verifies_against_the_key_in_dns(rsa_key):
    pem, txt = rsa_key
    client = DictDns({("s1._domainkey.example.com", "TXT"): [quoted(txt)]})
    outcome = mail_auth.verify_dkim(signed(MESSAGE, pem), client, "example.com")
    assert (outcome["result"], outcome["domain"], outcome["selector"]) == ("pass", "example.com", "s1")
    assert outcome["signatures"] == [{"domain": "example.com", "selector": "s1", "algorithm": "rsa-sha256",
                                      "result": "pass", "error": None}]
    assert mail_auth.dkim_detail(outcome, "example.com") == \
        "d=example.com s=s1 pass, key at s1._domainkey.example.com"


def test_a_body_changed_after_signing_fails_with_the_body_hash_mismatch(rsa_key):
    pem, txt = rsa_key
    client = DictDns({("s1._domainkey.example.com", "TXT"): [quoted(txt)]})
    outcome = mail_auth.verify_dkim(signed(MESSAGE, pem) + b"-- \r\nSent from a disclaimer milter\r\n", client, "example.com")
    assert outcome["result"] == "fail"
    assert "body hash mismatch" in outcome["signatures"][0]["error"]


def test_a_signed_header_changed_after_signing_fails(rsa_key):
    pem, txt = rsa_key
    client = DictDns({("s1._domainkey.example.com", "TXT"): [quoted(txt)]})
    tampered = signed(MESSAGE, pem).replace(b"Subject: Quarterly numbers", b"Subject: Quarterly numbers!")
    outcome = mail_auth.verify_dkim(tampered, client, "example.com")
    assert outcome["result"] == "fail"
    assert outcome["signatures"][0]["error"] == "signature does not verify"


def test_a_missing_key_record_fails_and_says_so(rsa_key):
    pem, _txt = rsa_key
    outcome = mail_auth.verify_dkim(signed(MESSAGE, pem), DictDns(), "example.com")
    assert outcome["result"] == "fail"
    assert "missing public key" in outcome["signatures"][0]["error"]


def test_a_key_that_is_not_the_signers_fails(rsa_key):
    pem, _txt = rsa_key
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    der = other.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    client = DictDns({("s1._domainkey.example.com", "TXT"): [quoted("v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode())]})
    assert mail_auth.verify_dkim(signed(MESSAGE, pem), client, "example.com")["result"] == "fail"


def test_a_key_lookup_that_gets_no_answer_fails_with_the_dns_error(rsa_key):
    pem, _txt = rsa_key
    client = DictDns(fail=[("s1._domainkey.example.com", "TXT")])
    outcome = mail_auth.verify_dkim(signed(MESSAGE, pem), client, "example.com")
    assert outcome["result"] == "fail"
    assert outcome["signatures"][0]["error"].startswith("key lookup failed: s1._domainkey.example.com TXT: no answer")


def test_a_valid_signature_by_another_domain_is_not_a_dkim_pass_for_the_sender(rsa_key):
    pem, txt = rsa_key
    client = DictDns({("esp._domainkey.mailer.example.net", "TXT"): [quoted(txt)]})
    outcome = mail_auth.verify_dkim(signed(MESSAGE, pem, domain=b"mailer.example.net", selector=b"esp"), client,
                                    "example.com")
    assert outcome["result"] == "fail"
    assert outcome["signatures"][0]["result"] == "pass"
    assert mail_auth.dkim_detail(outcome, "example.com").endswith("; no signature by example.com")


def test_the_senders_signature_counts_beside_a_foreign_one(rsa_key):
    pem, txt = rsa_key
    client = DictDns({("s1._domainkey.example.com", "TXT"): [quoted(txt)],
                      ("esp._domainkey.mailer.example.net", "TXT"): [quoted(txt)]})
    twice = signed(signed(MESSAGE, pem), pem, domain=b"mailer.example.net", selector=b"esp")
    outcome = mail_auth.verify_dkim(twice, client, "example.com")
    assert (outcome["result"], outcome["domain"]) == ("pass", "example.com")
    assert [s["domain"] for s in outcome["signatures"]] == ["mailer.example.net", "example.com"]


def test_an_ed25519_signature_verifies():
    key = ed25519.Ed25519PrivateKey.generate()
    seed = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    raw_public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    client = DictDns({("ed._domainkey.example.com", "TXT"): [
        quoted("v=DKIM1; k=ed25519; p=" + base64.b64encode(raw_public).decode())]})
    message = dkim.sign(MESSAGE, b"ed", b"example.com", base64.b64encode(seed), signature_algorithm=b"ed25519-sha256",
                        include_headers=[b"from", b"subject"]) + MESSAGE
    outcome = mail_auth.verify_dkim(message, client, "example.com")
    assert (outcome["result"], outcome["signatures"][0]["algorithm"]) == ("pass", "ed25519-sha256")


def test_a_message_without_signature_is_dkim_none():
    outcome = mail_auth.verify_dkim(MESSAGE, DictDns(), "example.com")
    assert outcome["result"] == "none"
    assert mail_auth.dkim_detail(outcome, "example.com") == "the message carries no DKIM-Signature"


# ---------------------------------------------------------------------------------------------- SPF
SPF_ZONE = {
    ("example.com", "TXT"): ['"v=spf1 ip4:192.0.2.10 include:_spf.example.net ~all"', '"site-verification=x"'],
    ("_spf.example.net", "TXT"): ['"v=spf1 ip4:198.51.100.0/24 ip6:2001:db8::/32 -all"'],
    ("hard.example.com", "TXT"): ['"v=spf1 a mx -all"'],
    ("hard.example.com", "A"): ["192.0.2.20"],
    ("hard.example.com", "MX"): ["10 mx.hard.example.com."],
    ("mx.hard.example.com", "A"): ["192.0.2.30"],
}


@pytest.mark.parametrize("ip, sender, expected", [
    ("192.0.2.10", "ana@example.com", "pass"),
    ("198.51.100.7", "ana@example.com", "pass"),        # through include:
    ("2001:db8::25", "ana@example.com", "pass"),
    ("203.0.113.5", "ana@example.com", "softfail"),      # ~all
    ("192.0.2.20", "bo@hard.example.com", "pass"),       # a
    ("192.0.2.30", "bo@hard.example.com", "pass"),       # mx
    ("192.0.2.10", "bo@hard.example.com", "fail"),       # -all
    ("192.0.2.10", "cy@nospf.example.com", "none"),
])
def test_spf_is_evaluated_by_pyspf_with_every_lookup_answered_by_the_given_dns(ip, sender, expected):
    client = DictDns(SPF_ZONE)
    result, _explanation = mail_auth.check_spf(client, ip, sender, "mail.example.com")
    assert result == expected
    assert client.asked, "pyspf asked the system resolver instead of the client"


def test_spf_lookups_that_get_no_answer_are_a_temperror_and_pyspf_gets_its_own_dns_back():
    before = spf.DNSLookup
    client = DictDns(SPF_ZONE, fail=[("example.com", "TXT")])
    result, explanation = mail_auth.check_spf(client, "192.0.2.10", "ana@example.com", "mail.example.com")
    assert result == "temperror"
    assert "no answer" in explanation
    assert spf.DNSLookup is before


def test_an_spf_record_with_an_unknown_mechanism_is_a_permerror():
    client = DictDns({("example.com", "TXT"): ['"v=spf1 ip4:192.0.2.10 moo -all"']})
    assert mail_auth.check_spf(client, "192.0.2.10", "ana@example.com", "mail.example.com")[0] == "permerror"


# ---------------------------------------------------------------------------------------------- PTR = HELO
PTR_ZONE = {
    ("10.2.0.192.in-addr.arpa", "PTR"): ["mail.example.com."],
    ("mail.example.com", "A"): ["192.0.2.10"],
    ("5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa", "PTR"): ["mail.example.com."],
    ("mail.example.com", "AAAA"): ["2001:db8::25"],
}


def test_ptr_forward_confirmed_and_the_announced_names_all_equal_the_mail_host():
    passed, problems, facts = mail_auth.check_ptr_helo(DictDns(PTR_ZONE), "Mail.Example.com.", ["192.0.2.10", "2001:db8::25"],
                                                       "mail.example.com", "mail.example.com")
    assert (passed, problems) == (True, [])
    assert facts["ptr"] == {"192.0.2.10": ["mail.example.com"], "2001:db8::25": ["mail.example.com"]}


@pytest.mark.parametrize("change, banner, ehlo, problem", [
    ({("10.2.0.192.in-addr.arpa", "PTR"): ["static-10.provider.example."]}, "mail.example.com", "mail.example.com",
     "PTR of 192.0.2.10 is static-10.provider.example, not mail.example.com"),
    ({("10.2.0.192.in-addr.arpa", "PTR"): []}, "mail.example.com", "mail.example.com", "192.0.2.10 has no PTR record"),
    ({("10.2.0.192.in-addr.arpa", "PTR"): ["mail.example.com.", "other.example.com."]}, "mail.example.com",
     "mail.example.com", "PTR of 192.0.2.10 is mail.example.com, other.example.com, not mail.example.com"),
    ({("mail.example.com", "A"): ["192.0.2.99"]}, "mail.example.com", "mail.example.com",
     "mail.example.com A does not give 192.0.2.10 back (192.0.2.99), so the PTR is not forward-confirmed"),
    ({}, "localhost.localdomain", "mail.example.com", "the 220 banner announces localhost.localdomain, not mail.example.com"),
    ({}, "mail.example.com", "debian", "the EHLO reply announces debian, not mail.example.com"),
])
def test_ptr_helo_fails_with_the_reason(change, banner, ehlo, problem):
    zone = dict(PTR_ZONE)
    zone.update(change)
    passed, problems, _facts = mail_auth.check_ptr_helo(DictDns(zone), "mail.example.com", ["192.0.2.10"], banner, ehlo)
    assert passed is False
    assert problems == [problem]


# ---------------------------------------------------------------------------------------------- table
def test_the_table_aligns_its_columns_and_keeps_the_detail_last():
    table = mail_auth.check_table([
        {"check": "tls", "result": "pass", "required": True, "detail": "TLSv1.3"},
        {"check": "ptr_helo", "result": "fail", "required": False, "detail": "PTR of 192.0.2.10 is x, not y"},
    ])
    assert table.splitlines() == [
        "CHECK     RESULT  REQUIRED  DETAIL",
        "tls       pass    yes       TLSv1.3",
        "ptr_helo  fail    no        PTR of 192.0.2.10 is x, not y",
    ]


# ---------------------------------------------------------------------------------------------- DNS via given servers
@pytest.mark.parametrize("entries, error", [
    (["127.0.0.1", "127.0.0.1:dns"], r"^dns_servers\[1\]: '127.0.0.1:dns': 'dns' is not a port"),
    (["127.0.0.1:70000"], r"^dns_servers\[0\]: .* is not a port"),
    (["[::1"], r"^dns_servers\[0\]: .*\[address\]:port"),
    ([""], r"^dns_servers\[0\]: empty: give a host"),
    (["no-such-host.invalid:53"], r"^dns_servers\[0\]: cannot resolve 'no-such-host.invalid'"),
])
def test_a_bad_dns_server_entry_is_an_error_naming_its_index(entries, error):
    with pytest.raises(ValueError, match=error):
        mail_auth.DnsClient(entries)


@pytest.fixture(scope="module")
def big_key_txt():
    key = rsa.generate_private_key(public_exponent=65537, key_size=4096)
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()


@pytest.fixture(scope="module")
def dns_server(big_key_txt):
    records = [
        ("example.com", "TXT", '"v=spf1 ip4:192.0.2.10 -all"'),
        ("big._domainkey.example.com", "TXT", quoted(big_key_txt)),
        ("mail.example.com", "A", "192.0.2.10"),
        ("alias.example.com", "CNAME", "mail.example.com."),
        ("10.2.0.192.in-addr.arpa", "PTR", "mail.example.com."),
        ("deep.sub.example.com", "A", "192.0.2.11"),
    ]
    with DnsTestServer(records, zones=["example.com", "2.0.192.in-addr.arpa"]) as server:
        yield server


def test_the_client_asks_the_given_server_and_joins_txt_strings(dns_server, big_key_txt):
    client = mail_auth.DnsClient([dns_server.target], timeout=2)
    assert client.txt("example.com") == ["v=spf1 ip4:192.0.2.10 -all"]
    assert client.dkim_txt("big._domainkey.example.com") == big_key_txt.encode()
    assert client.addresses("alias.example.com") == ["192.0.2.10"]
    assert client.ptr("192.0.2.10") == ["mail.example.com"]


def test_a_4096_bit_key_comes_in_one_udp_answer_thanks_to_edns(dns_server, big_key_txt):
    assert len(big_key_txt) > 700  # more than plain DNS's 512 bytes
    client = mail_auth.DnsClient([dns_server.target], timeout=2)
    before = len(dns_server.queries)
    assert client.txt("big._domainkey.example.com") == [big_key_txt]
    assert [q[0] for q in dns_server.queries[before:]] == ["udp"]


def test_an_answer_too_large_for_udp_is_fetched_again_over_tcp(dns_server):
    values = ["site-verification-%02d=%s" % (i, "x" * 150) for i in range(12)]  # about 2 kB
    for value in values:
        dns_server.add("crowded.example.com", "TXT", quoted(value))
    client = mail_auth.DnsClient([dns_server.target], timeout=2)
    before = len(dns_server.queries)
    assert sorted(client.txt("crowded.example.com")) == values
    assert [q[0] for q in dns_server.queries[before:]] == ["udp", "tcp"]


def test_a_name_that_does_not_exist_and_a_type_that_does_not_exist_are_both_empty(dns_server):
    client = mail_auth.DnsClient([dns_server.target], timeout=2)
    assert client.txt("_dmarc.example.com") == []            # NXDOMAIN
    assert client.addresses("example.com", "AAAA") == []      # NODATA
    assert client.addresses("sub.example.com") == []          # empty non-terminal


def test_a_server_that_refuses_is_a_dns_error_naming_the_server_and_the_rcode(dns_server):
    client = mail_auth.DnsClient([dns_server.target], timeout=2)
    with pytest.raises(DnsError) as raised:
        client.txt("example.org")
    assert str(raised.value) == "example.org TXT: no usable answer from %s (%s answered REFUSED)" % (
        dns_server.target, dns_server.target)


def test_a_server_that_does_not_answer_is_a_dns_error_after_the_timeout():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        target = "127.0.0.1:%d" % silent.getsockname()[1]
        client = mail_auth.DnsClient([target], timeout=0.5)
        start = time.monotonic()
        with pytest.raises(DnsError, match=r"^example.com TXT: no answer from %s within 0.5 s$" % target):
            client.txt("example.com")
        assert time.monotonic() - start < 3


def test_spf_and_dkim_go_through_the_given_server_end_to_end(dns_server, rsa_key):
    pem, txt = rsa_key
    dns_server.add("s1._domainkey.example.com", "TXT", quoted(txt))
    client = mail_auth.DnsClient([dns_server.target], timeout=2)
    assert mail_auth.check_spf(client, "192.0.2.10", "ana@example.com", "mail.example.com")[0] == "pass"
    assert mail_auth.check_spf(client, "192.0.2.11", "ana@example.com", "mail.example.com")[0] == "fail"
    assert mail_auth.verify_dkim(signed(MESSAGE, pem), client, "example.com")["result"] == "pass"
