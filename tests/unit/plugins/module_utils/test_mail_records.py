"""The sending domain's record set: shape, validation, and parsing by standard validators.

Generated SPF is evaluated by pyspf, DMARC, MTA-STS and TLS-RPT values are parsed by
checkdmarc, and DKIM keys are parsed by dkimpy and verify a real signature. All DNS
answers come from fakes; a guard makes any socket use fail.
"""

import base64
import socket

import checkdmarc.dmarc
import checkdmarc.mta_sts
import checkdmarc.smtp_tls_reporting
import checkdmarc.spf
import checkdmarc.utils
import dkim
import dkim.util
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.resolver
import pytest
import spf
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from ansible_collections.coldrig.infra.plugins.module_utils.mail_records import (
    RecordSpecError,
    build_mail_records,
    count_spf_lookups,
    dkim_txt_ok,
    dmarc_record,
    mta_sts_policy,
    mta_sts_policy_for,
    mta_sts_policy_id,
    mta_sts_txt,
    spf_record,
    tls_rpt_txt,
    validate_email_uri,
    validate_hostname,
    validate_ipv4,
    validate_ipv6,
)

IPV4 = "203.0.113.7"
IPV6 = "2001:db8::7"
MESSAGE = (
    b"From: Ann <ann@example.com>\r\n"
    b"To: bob@example.org\r\n"
    b"Subject: Quick question\r\n"
    b"Date: Thu, 20 Nov 2025 10:00:00 +0000\r\n"
    b"Message-ID: <1@example.com>\r\n"
    b"\r\n"
    b"Hello Bob.\r\n"
)


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a test tried to open a socket")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    checkdmarc.utils.DNS_CACHE.clear()  # answers of one test's fake resolver must not leak into the next


@pytest.fixture(scope="module")
def rsa_key():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem, "v=DKIM1; k=rsa; p=" + base64.b64encode(public).decode()


@pytest.fixture(scope="module")
def ed25519_key():
    key = ed25519.Ed25519PrivateKey.generate()
    seed = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(seed), "v=DKIM1; k=ed25519; p=" + base64.b64encode(public).decode()


def full_input(dkim_txt, **changes):
    """Every option of build_mail_records set, with ``changes`` applied."""
    spec = dict(
        domain="example.com", mail_host="mail.example.com", ipv4=IPV4, ipv6=IPV6,
        dkim_selector="s1", dkim_txt=dkim_txt, dmarc_policy="quarantine", dmarc_rua=["mailto:dmarc@example.com"],
        dmarc_ruf=["mailto:forensic@example.com"], dmarc_subdomain_policy="reject", dmarc_adkim="s", dmarc_aspf="s",
        dmarc_pct=50, dmarc_fo="1", spf_extra=["include:_spf.esp.test"], spf_all="-all", mx_priority=5,
        mta_sts_mode="enforce", mta_sts_max_age=86400, tls_rpt_rua=["mailto:tls@example.com"],
        tracking={"name": "track", "target": "prox.example.net"}, ttl=300,
    )
    spec.update(changes)
    return spec


def content(records, name, rtype):
    matches = [record["content"] for record in records if record["name"] == name and record["type"] == rtype]
    assert len(matches) == 1, (name, rtype, records)
    return matches[0]


class FakeResolver:
    """A dns.resolver.Resolver stand-in for checkdmarc: answers from a dict, nothing else."""

    lifetime = 1.0

    def __init__(self, answers):
        self.answers = {(name.rstrip(".").lower(), rtype): values for (name, rtype), values in answers.items()}

    def resolve(self, name, rtype, lifetime=None):
        name = str(name).rstrip(".").lower()
        if not any(known == name for known, _type in self.answers):
            raise dns.resolver.NXDOMAIN()
        values = self.answers.get((name, rtype))
        if not values:
            raise dns.resolver.NoAnswer()
        if rtype == "TXT":
            values = [" ".join('"%s"' % value[i:i + 255] for i in range(0, len(value), 255)) for value in values]
        return [dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.from_text(rtype), value) for value in values]


def pyspf_check(monkeypatch, txt, ip, sender="ann@example.com"):
    """pyspf's verdict for a client ip, with TXT answers from ``txt`` (name -> list of values)."""

    def lookup(name, qtype, strict=True, timeout=None):
        name = name.rstrip(".").lower()
        if qtype == "TXT":
            return [((name, "TXT"), (value.encode(),)) for value in txt.get(name, [])]
        # Every other name exists, so no lookup is void: an address no test client uses, one MX.
        if qtype == "A":
            return [((name, "A"), "192.0.2.250")]
        if qtype == "MX":
            return [((name, "MX"), (10, "mx." + name))]
        return []

    monkeypatch.setattr(spf, "DNSLookup", lookup)
    result, explanation = spf.check2(i=ip, s=sender, h="mail.example.com")
    return result, explanation


# --- the record set -----------------------------------------------------------------------------


def test_full_input_builds_exactly_the_expected_names_and_types(rsa_key):
    records = build_mail_records(**full_input(rsa_key[1]))
    assert [(r["zone"], r["name"], r["type"]) for r in records] == [
        ("example.com", "mail.example.com", "A"),
        ("example.com", "mail.example.com", "AAAA"),
        ("example.com", "mta-sts.example.com", "A"),
        ("example.com", "mta-sts.example.com", "AAAA"),
        ("example.com", "example.com", "MX"),
        ("example.com", "example.com", "TXT"),
        ("example.com", "s1._domainkey.example.com", "TXT"),
        ("example.com", "_dmarc.example.com", "TXT"),
        ("example.com", "_mta-sts.example.com", "TXT"),
        ("example.com", "_smtp._tls.example.com", "TXT"),
        ("example.com", "track.example.com", "CNAME"),
    ]
    assert all(record["ttl"] == 300 for record in records)
    assert [r for r in records if r["type"] == "MX"] == [
        {"zone": "example.com", "name": "example.com", "type": "MX", "content": "mail.example.com", "ttl": 300, "priority": 5,
         "purge": True}]
    assert all("priority" not in r for r in records if r["type"] != "MX")
    assert content(records, "track.example.com", "CNAME") == "prox.example.net"
    assert content(records, "mta-sts.example.com", "A") == IPV4


def test_minimal_input_builds_address_mx_spf_and_dmarc_only():
    records = build_mail_records("Example.COM.", "Mail.Example.com", ipv4=IPV4)
    assert [(r["name"], r["type"]) for r in records] == [
        ("mail.example.com", "A"), ("example.com", "MX"), ("example.com", "TXT"), ("_dmarc.example.com", "TXT")]
    assert content(records, "example.com", "TXT") == "v=spf1 ip4:203.0.113.7 ~all"
    assert content(records, "_dmarc.example.com", "TXT") == "v=DMARC1; p=none"


def test_empty_strings_count_as_not_given_as_inventories_leave_them():
    records = build_mail_records("example.com", "mail.example.com", ipv4="", ipv6=IPV6, dkim_selector="", dkim_txt="")
    assert [r["type"] for r in records if r["name"] == "mail.example.com"] == ["AAAA"]


def test_mail_host_outside_the_domain_goes_in_its_parent_zone():
    records = build_mail_records("example.com", "node1.lab.coldrig.test", ipv4="127.0.100.1", mta_sts_mode="testing")
    zones = {(r["name"], r["type"]): r["zone"] for r in records}
    assert zones[("node1.lab.coldrig.test", "A")] == "lab.coldrig.test"
    assert zones[("mta-sts.example.com", "A")] == "example.com"
    assert zones[("example.com", "MX")] == "example.com"
    assert {r["zone"] for r in records} == {"lab.coldrig.test", "example.com"}


def test_mail_host_zone_overrides_the_derived_zone():
    records = build_mail_records("example.com", "mail.eu.senders.net", ipv4=IPV4, mail_host_zone="senders.net.")
    assert records[0] == {"zone": "senders.net", "name": "mail.eu.senders.net", "type": "A", "content": IPV4, "ttl": 3600,
                          "purge": True}


def test_mail_host_zone_must_contain_the_mail_host():
    with pytest.raises(RecordSpecError, match=r"^mail_host_zone: 'other\.net' does not contain the mail host mail\.senders\.net$"):
        build_mail_records("example.com", "mail.senders.net", ipv4=IPV4, mail_host_zone="other.net")


def test_mail_host_whose_parent_is_a_tld_needs_mail_host_zone():
    with pytest.raises(RecordSpecError, match="^mail_host_zone: .*top-level domain"):
        build_mail_records("example.com", "senders.net", ipv4=IPV4)


def test_mail_host_named_mta_sts_is_not_listed_twice():
    records = build_mail_records("example.com", "mta-sts.example.com", ipv4=IPV4, mta_sts_mode="testing")
    assert [(r["name"], r["type"]) for r in records].count(("mta-sts.example.com", "A")) == 1


def test_txt_content_is_the_logical_value_unquoted_and_unsplit(rsa_key):
    records = build_mail_records(**full_input(rsa_key[1]))
    dkim_value = content(records, "s1._domainkey.example.com", "TXT")
    assert len(dkim_value) > 255 and dkim_value == rsa_key[1]
    assert not any(r["content"].startswith('"') for r in records if r["type"] == "TXT")


def test_tracking_cname_cannot_share_a_name_or_sit_at_the_apex():
    with pytest.raises(RecordSpecError, match=r"^tracking\.name: mail\.example\.com already has other records"):
        build_mail_records("example.com", "mail.example.com", ipv4=IPV4, tracking={"name": "mail", "target": "prox.example.net"})
    with pytest.raises(RecordSpecError, match=r"^tracking\.name: mta-sts\.example\.com already has other records"):
        build_mail_records("example.com", "mail.example.com", ipv4=IPV4, mta_sts_mode="testing", tracking={"name": "mta-sts", "target": "p.example.net"})
    with pytest.raises(RecordSpecError, match=r"^tracking\.name: a CNAME cannot be at the apex"):
        build_mail_records("example.com", "mail.example.com", ipv4=IPV4, tracking={"name": "@", "target": "prox.example.net"})
    with pytest.raises(RecordSpecError, match=r"^tracking: unknown keys proxied"):
        build_mail_records("example.com", "mail.example.com", ipv4=IPV4, tracking={"name": "t", "target": "p.example.net", "proxied": True})


def test_tracking_name_may_be_given_fully_qualified():
    records = build_mail_records("example.com", "mail.example.com", ipv4=IPV4, tracking={"name": "Track.Example.com", "target": "prox.example.net."})
    assert records[-1]["name"] == "track.example.com" and records[-1]["content"] == "prox.example.net"


# --- every error names its field ----------------------------------------------------------------

BAD_FIELDS = [
    ({"domain": "localhost"}, "domain"),
    ({"domain": "exa mple.com"}, "domain"),
    ({"mail_host": "-mail.example.com"}, "mail_host"),
    ({"ipv4": "300.1.1.1"}, "ipv4"),
    ({"ipv4": None, "ipv6": None}, "ipv4"),
    ({"ipv6": "2001:db8::zz"}, "ipv6"),
    ({"dkim_selector": "s_1"}, "dkim_selector"),
    ({"dkim_txt": None}, "dkim_txt"),
    ({"dkim_txt": "v=DKIM1; k=rsa; p=notbase64!"}, "dkim_txt"),
    ({"dmarc_policy": "maybe"}, "dmarc_policy"),
    ({"dmarc_rua": ["dmarc@example.com"]}, "dmarc_rua"),
    ({"dmarc_ruf": ["mailto:a,b@example.com"]}, "dmarc_ruf"),
    ({"dmarc_pct": 101}, "dmarc_pct"),
    ({"dmarc_subdomain_policy": "block"}, "dmarc_subdomain_policy"),
    ({"dmarc_adkim": "x"}, "dmarc_adkim"),
    ({"dmarc_aspf": "relaxed"}, "dmarc_aspf"),
    ({"dmarc_fo": "0:1"}, "dmarc_fo"),
    ({"spf_extra": ["include"]}, "spf_extra"),
    ({"spf_all": "+all"}, "spf_all"),
    ({"mx_priority": 70000}, "mx_priority"),
    ({"mta_sts_mode": "strict"}, "mta_sts_mode"),
    ({"mta_sts_max_age": 31557601}, "mta_sts_max_age"),
    ({"tls_rpt_rua": ["ftp://example.com/x"]}, "tls_rpt_rua"),
    ({"tracking": {"name": "track"}}, "tracking.target"),
    ({"ttl": 10}, "ttl"),
    ({"mail_host_zone": "net"}, "mail_host_zone"),
]


@pytest.mark.parametrize("change, field", BAD_FIELDS, ids=[field + "-" + str(i) for i, (change, field) in enumerate(BAD_FIELDS)])
def test_every_validation_error_names_its_field(rsa_key, change, field):
    spec = full_input(rsa_key[1])
    spec.update(change)
    with pytest.raises(RecordSpecError) as caught:
        build_mail_records(**spec)
    assert caught.value.field == field
    assert str(caught.value).startswith(field + ": ")
    assert len(caught.value.reason) > 10


def test_the_first_bad_field_in_parameter_order_fails_the_call():
    with pytest.raises(RecordSpecError) as caught:
        build_mail_records("example.com", "mail.example.com", ipv4="1.2.3", dmarc_policy="maybe", ttl=1)
    assert caught.value.field == "ipv4"


def test_error_messages_match_the_documented_examples():
    with pytest.raises(RecordSpecError, match=r"^dmarc_policy: 'maybe' is not one of none, quarantine, reject$"):
        build_mail_records("example.com", "mail.example.com", ipv4=IPV4, dmarc_policy="maybe")
    with pytest.raises(RecordSpecError, match=r"^ipv4: '300\.1\.1\.1' is not an IPv4 address$"):
        build_mail_records("example.com", "mail.example.com", ipv4="300.1.1.1")


# --- the validators alone -----------------------------------------------------------------------


def test_hostname_is_lower_cased_without_its_trailing_dot():
    assert validate_hostname("Mail.Example.COM.", "mail_host") == "mail.example.com"
    assert validate_hostname("xn--bcher-kva.example", "domain") == "xn--bcher-kva.example"


@pytest.mark.parametrize("name, reason", [
    ("example", "no dot"),
    ("a" * 64 + ".example.com", "of 64 characters; a label has at most 63"),
    (".".join(["a" * 63] * 4) + ".com", "a DNS name has at most 253"),
    ("_dmarc.example.com", "has the label '_dmarc': a label holds only a-z, 0-9 and '-'"),
    ("bad-.example.com", "has the label 'bad-'"),
    ("a..example.com", "empty label"),
    ("bücher.example", "xn-- form"),
    ("203.0.113.7", "is an IP address"),
    ("example.123", "all-digit label"),
])
def test_hostname_errors_say_what_is_wrong(name, reason):
    with pytest.raises(RecordSpecError, match="^mail_host: .*" + reason):
        validate_hostname(name, "mail_host")


def test_addresses_are_canonical_and_the_public_check_is_optional():
    assert validate_ipv4(" 203.0.113.7 ") == IPV4
    assert validate_ipv6("2001:DB8:0:0::7") == IPV6
    assert validate_ipv4("127.0.100.1") == "127.0.100.1"  # the lab's loopback "public" addresses
    with pytest.raises(RecordSpecError, match="^ipv4: 10.0.0.1 is not a public"):
        validate_ipv4("10.0.0.1", public=True)
    with pytest.raises(RecordSpecError, match="^ipv6: fd00::1 is not a public"):
        validate_ipv6("fd00::1", public=True)
    assert validate_ipv4("8.8.8.8", public=True) == "8.8.8.8"
    with pytest.raises(RecordSpecError, match="^ipv4: 3405803783 is not an IPv4 address"):
        validate_ipv4(3405803783)
    with pytest.raises(RecordSpecError, match="zone index"):
        validate_ipv6("fe80::1%eth0")


def test_report_uris_are_mailto_with_an_optional_size_limit():
    assert validate_email_uri("MAILTO:Dmarc@Example.COM!10M", "dmarc_rua") == "mailto:Dmarc@example.com!10m"
    with pytest.raises(RecordSpecError, match=r"^dmarc_rua: 'dmarc@example.com' is not a mailto: URI \(write mailto:dmarc@example.com\)"):
        validate_email_uri("dmarc@example.com", "dmarc_rua")
    with pytest.raises(RecordSpecError, match="malformed size limit"):
        validate_email_uri("mailto:d@example.com!ten", "dmarc_rua")
    with pytest.raises(RecordSpecError, match="size limit .* is not allowed here"):
        validate_email_uri("mailto:d@example.com!10m", "tls_rpt_rua", allow_size=False)
    with pytest.raises(RecordSpecError, match="invalid local part"):
        validate_email_uri("mailto:.d@example.com", "dmarc_rua")


# --- SPF ----------------------------------------------------------------------------------------


def test_generated_spf_passes_the_mail_host_and_softfails_others_in_pyspf(monkeypatch, rsa_key):
    records = build_mail_records(**full_input(rsa_key[1], spf_all="~all"))
    txt = {"example.com": [content(records, "example.com", "TXT")], "_spf.esp.test": ["v=spf1 ip4:198.51.100.0/24 -all"]}
    assert pyspf_check(monkeypatch, txt, IPV4)[0] == "pass"
    assert pyspf_check(monkeypatch, txt, "2001:db8::7")[0] == "pass"
    assert pyspf_check(monkeypatch, txt, "198.51.100.20")[0] == "pass"  # through the include
    assert pyspf_check(monkeypatch, txt, "192.0.2.99")[0] == "softfail"


def test_spf_uses_the_explicit_addresses_and_costs_no_lookup():
    record = spf_record(["ip4:" + IPV4, "ip6:2001:DB8::7"], "-all")
    assert record == "v=spf1 ip4:203.0.113.7 ip6:2001:db8::7 -all"
    assert count_spf_lookups(record) == 0


def test_spf_with_10_lookups_passes_and_11_fails(monkeypatch):
    includes = ["include:s%d.esp.test" % n for n in range(11)]
    txt = {"s%d.esp.test" % n: ["v=spf1 ip4:198.51.100.%d -all" % n] for n in range(11)}
    ten = spf_record(["ip4:" + IPV4] + includes[:10], "~all")
    assert count_spf_lookups(ten, resolve=txt.get) == 10
    with pytest.raises(RecordSpecError) as caught:
        spf_record(["ip4:" + IPV4] + includes, "~all")
    assert str(caught.value) == (
        "spf_extra: 11 DNS-lookup mechanisms (%s) exceed the limit of 10 (RFC 7208 section 4.6.4)" % ", ".join(includes))
    # pyspf agrees: 10 evaluates (softfail for a stranger), 11 is a permerror.
    assert pyspf_check(monkeypatch, {**txt, "example.com": [ten]}, "192.0.2.99")[0] == "softfail"
    eleven = ten.replace(" ~all", " %s ~all" % includes[10])
    assert pyspf_check(monkeypatch, {**txt, "example.com": [eleven]}, "192.0.2.99") == ("permerror", "SPF Permanent Error: Too many DNS lookups")


def test_every_lookup_mechanism_counts_and_addresses_do_not():
    record = "v=spf1 ip4:192.0.2.1 ip6:2001:db8::/32 a mx:example.net/24 ptr exists:%{i}._spf.example.com include:x.test -all"
    assert count_spf_lookups(record) == 5
    assert count_spf_lookups("v=spf1 ip4:192.0.2.1 redirect=_spf.example.com") == 1
    assert count_spf_lookups("v=spf1 -all redirect=_spf.example.com") == 0  # ignored next to all (RFC 7208 6.1)


def test_nested_includes_are_counted_through_a_fake_resolver(monkeypatch):
    txt = {
        "a.test": ["v=spf1 include:b.test mx a -all", "google-site-verification=xyz"],
        "b.test": ["v=spf1 include:c.test a:host.b.test ~all"],
        "c.test": ["v=spf1 ip4:198.51.100.0/24 a:mail.c.test -all"],
        "r.test": ["v=spf1 include:c.test exists:%{i}.r.test -all"],
    }
    once = "v=spf1 include:a.test -all"
    assert count_spf_lookups(once, resolve=txt.get) == 7
    assert count_spf_lookups("v=spf1 ip4:192.0.2.1 redirect=r.test", resolve=txt.get) == 4
    twice = "v=spf1 include:a.test include:a.test -all"
    with pytest.raises(RecordSpecError, match=r"^spf: 14 DNS-lookup mechanisms \(include:a\.test, include:b\.test \(via a\.test\), "
                                              r"include:c\.test \(via a\.test > b\.test\), a:mail\.c\.test \(via a\.test > b\.test > c\.test\)"):
        count_spf_lookups(twice, resolve=txt.get)
    # pyspf walks the same tree: 7 lookups evaluate (fail for a stranger), 14 are a permerror.
    assert pyspf_check(monkeypatch, {**txt, "example.com": [once]}, "192.0.2.99")[0] == "fail"
    assert pyspf_check(monkeypatch, {**txt, "example.com": [twice]}, "192.0.2.99") == ("permerror", "SPF Permanent Error: Too many DNS lookups")


def test_checkdmarc_counts_the_same_lookups_as_count_spf_lookups(rsa_key):
    txt = {
        "a.test": ["v=spf1 include:b.test mx a -all"],
        "b.test": ["v=spf1 include:c.test a:host.b.test ~all"],
        "c.test": ["v=spf1 ip4:198.51.100.0/24 a:mail.c.test -all"],
        "_spf.esp.test": ["v=spf1 ip4:198.51.100.0/24 -all"],
    }
    answers = {(name, "TXT"): values for name, values in txt.items()}
    answers.update({(name, "A"): ["192.0.2.250"] for name in ("a.test", "mx.a.test", "host.b.test", "mail.c.test")})
    answers[("a.test", "MX")] = ["10 mx.a.test."]
    resolver = FakeResolver(answers)
    generated = content(build_mail_records(**full_input(rsa_key[1])), "example.com", "TXT")
    for record, lookups in ((generated, 1), ("v=spf1 include:a.test -all", 7)):
        parsed = checkdmarc.spf.parse_spf_record(record, "example.com", resolver=resolver)
        assert (parsed["dns_lookups"], parsed["void_dns_lookups"], parsed["warnings"]) == (lookups, 0, [])
        assert count_spf_lookups(record, resolve=txt.get) == lookups
    parsed = checkdmarc.spf.parse_spf_record(generated, "example.com", resolver=resolver)["parsed"]
    assert [(m["mechanism"], m["value"]) for m in parsed["mechanisms"]] == [("ip4", IPV4), ("ip6", IPV6), ("include", "_spf.esp.test")]
    assert parsed["all"] == "fail"
    with pytest.raises(checkdmarc.spf.SPFTooManyDNSLookups):
        checkdmarc.spf.parse_spf_record("v=spf1 include:a.test include:a.test -all", "example.com", resolver=resolver)


def test_include_loops_are_refused():
    txt = {"a.test": ["v=spf1 include:b.test -all"], "b.test": ["v=spf1 include:a.test -all"]}
    with pytest.raises(RecordSpecError, match=r"^spf: include:a\.test loops back \(example\.com > a\.test > b\.test > a\.test\)"):
        count_spf_lookups("v=spf1 include:a.test -all", resolve=txt.get, domain="example.com")
    with pytest.raises(RecordSpecError, match="loops back"):
        count_spf_lookups("v=spf1 include:example.com -all", resolve=lambda name: ["v=spf1 -all"], domain="example.com")


def test_an_include_without_an_spf_record_is_a_void_lookup_and_a_permerror():
    with pytest.raises(RecordSpecError, match=r"^spf: include:gone\.test: gone\.test publishes no SPF record \(a void lookup\).*section 5\.2"):
        count_spf_lookups("v=spf1 include:gone.test -all", resolve=lambda name: None)
    with pytest.raises(RecordSpecError, match=r"publishes no SPF record; .*section 6\.1"):
        count_spf_lookups("v=spf1 redirect=txt.test", resolve=lambda name: ["some-verification=1"])
    with pytest.raises(RecordSpecError, match=r"publishes 2 SPF records; RFC 7208 section 4\.5"):
        count_spf_lookups("v=spf1 include:two.test -all", resolve=lambda name: ["v=spf1 -all", "v=spf1 ~all"])


@pytest.mark.parametrize("qualifier", ["+all", "all", "+ALL"])
def test_plus_all_is_refused_saying_why(qualifier):
    with pytest.raises(RecordSpecError, match="^spf_all: .* is refused: it authorises every host on the internet"):
        spf_record(["ip4:" + IPV4], qualifier)


def test_ptr_is_refused_citing_rfc_7208_section_5_5():
    with pytest.raises(RecordSpecError, match=r"^spf_extra: 'ptr:example\.com' is refused: RFC 7208 section 5\.5"):
        spf_record(["ptr:example.com"], "-all")


def test_redirect_needs_spf_all_none_because_all_would_hide_it():
    with pytest.raises(RecordSpecError, match=r"^spf_all: '~all': receivers ignore redirect="):
        spf_record(["redirect=_spf.example.com"], "~all")
    assert spf_record(["ip4:" + IPV4, "redirect=_spf.example.com"], None) == "v=spf1 ip4:203.0.113.7 redirect=_spf.example.com"
    with pytest.raises(RecordSpecError, match=r"^spf_all: a record needs an all term"):
        spf_record(["ip4:" + IPV4], None)


@pytest.mark.parametrize("term, reason", [
    ("include", "needs a domain"),
    ("include:", "needs a domain"),
    ("ip4:203.0.113.300", "is not an IPv4 address"),
    ("ip4:203.0.113.0/33", "prefix length /33"),
    ("ip6:2001:db8::/129", "prefix length /129"),
    ("mx:example.com/40", "IPv4 prefix length"),
    ("a//200", "IPv6 prefix length"),
    ("v=spf1", "mechanisms only; v=spf1 is added"),
    ("include:a.test ~all", "set by spf_all"),
    ("-all", "set by spf_all"),
    ("mx.example.com", "not an SPF mechanism"),
    ("foo=bar", "not a known modifier"),
    ("exists:%{z}.example.com", "invalid macro"),
    ("include:-bad.example.com", "has the label .-bad."),
])
def test_bad_spf_terms_are_refused_naming_spf_extra(term, reason):
    with pytest.raises(RecordSpecError, match="^spf_extra: .*" + reason):
        spf_record([term], "~all")


def test_spf_extra_may_be_one_blank_separated_string_and_uri_lists_comma_separated():
    records = build_mail_records("example.com", "mail.example.com", ipv4=IPV4, spf_extra="include:a.test  mx",
                                 dmarc_rua="mailto:a@example.com, mailto:b@example.com", tls_rpt_rua="mailto:t@example.com")
    assert content(records, "example.com", "TXT") == "v=spf1 ip4:203.0.113.7 include:a.test mx ~all"
    assert content(records, "_dmarc.example.com", "TXT") == "v=DMARC1; p=none; rua=mailto:a@example.com,mailto:b@example.com"
    assert content(records, "_smtp._tls.example.com", "TXT") == "v=TLSRPTv1; rua=mailto:t@example.com"


def test_spf_terms_are_canonical_and_deduplicated():
    record = spf_record(["ip4:" + IPV4, "IP6:2001:DB8::/32", "mx", "-include:_SPF.Example.com.", "a:mail.example.com/24//64",
                         "exists:%{i}._spf.%{d}", "ip4:" + IPV4, "exp=explain.example.com"], "-all")
    assert record == ("v=spf1 ip4:203.0.113.7 ip6:2001:db8::/32 mx -include:_spf.example.com a:mail.example.com/24//64 "
                      "exists:%{i}._spf.%{d} -all exp=explain.example.com")


# --- DMARC --------------------------------------------------------------------------------------


def test_generated_dmarc_parses_with_checkdmarc(rsa_key):
    records = build_mail_records(**full_input(rsa_key[1], dmarc_pct=100, dmarc_rua=["mailto:dmarc@example.com", "mailto:agg@reports.example.net!10m"]))
    value = content(records, "_dmarc.example.com", "TXT")
    assert value.startswith("v=DMARC1; p=quarantine; ")
    resolver = FakeResolver({
        ("example.com", "MX"): ["5 mail.example.com."],
        ("reports.example.net", "MX"): ["10 mx.reports.example.net."],
        ("example.com._report._dmarc.reports.example.net", "TXT"): ["v=DMARC1"],
    })
    parsed = checkdmarc.dmarc.parse_dmarc_record(value, "example.com", resolver=resolver)
    tags = parsed["tags"]
    assert (tags["p"]["value"], tags["sp"]["value"], tags["adkim"]["value"], tags["aspf"]["value"]) == ("quarantine", "reject", "s", "s")
    assert tags["fo"]["value"] == "1"
    assert [uri["address"] for uri in tags["rua"]["value"]] == ["dmarc@example.com", "agg@reports.example.net"]
    assert [uri["address"] for uri in tags["ruf"]["value"]] == ["forensic@example.com"]
    assert not [w for w in parsed["warnings"] if "p tag" in w or "Unknown" in w]


def test_dmarc_puts_v_then_p_first_and_leaves_defaults_out():
    assert dmarc_record("reject") == "v=DMARC1; p=reject"
    assert dmarc_record("none", rua="mailto:d@example.com", pct="20", fo=["d", "s"]) == "v=DMARC1; p=none; pct=20; fo=d:s; rua=mailto:d@example.com"
    parsed = checkdmarc.dmarc.parse_dmarc_record(dmarc_record("reject"), "example.com", resolver=FakeResolver({}))
    assert parsed["tags"]["p"]["value"] == "reject"


# --- DKIM ---------------------------------------------------------------------------------------


def dns_answering(name, txt, asked):
    def dnsfunc(qname, timeout=5):
        asked.append(qname)
        return txt.encode() if qname.rstrip(b".").decode() == name else None
    return dnsfunc


def test_rsa_dkim_record_parses_with_dkimpy_and_verifies_a_signature(rsa_key):
    pem, txt = rsa_key
    records = build_mail_records("example.com", "mail.example.com", ipv4=IPV4, dkim_selector="S1", dkim_txt=txt)
    value = content(records, "s1._domainkey.example.com", "TXT")
    tags = dkim.util.parse_tag_value(value.encode())
    assert (tags[b"v"], tags[b"k"]) == (b"DKIM1", b"rsa")
    assert dkim.evaluate_pk(b"s1._domainkey.example.com", value)[1] == 2048
    signature = dkim.sign(MESSAGE, b"s1", b"example.com", pem, include_headers=[b"From", b"To", b"Subject", b"Date"])
    asked = []
    assert dkim.verify(signature + MESSAGE, dnsfunc=dns_answering("s1._domainkey.example.com", value, asked))
    assert [name.rstrip(b".") for name in asked] == [b"s1._domainkey.example.com"]


def test_ed25519_dkim_record_verifies_a_signature(ed25519_key):
    seed, txt = ed25519_key
    value = dkim_txt_ok(txt)
    signature = dkim.sign(MESSAGE, b"e1", b"example.com", seed, signature_algorithm=b"ed25519-sha256", include_headers=[b"From", b"Subject"])
    assert dkim.verify(signature + MESSAGE, dnsfunc=dns_answering("e1._domainkey.example.com", value, []))


def test_dkim_record_in_zone_file_form_is_joined(rsa_key):
    txt = rsa_key[1]
    quoted = '( "%s" "%s" )  ; ----- DKIM key s1 for example.com' % (txt[:200], txt[200:])
    assert dkim_txt_ok(quoted) == txt


def rsa_txt_of_size(bits):
    public = rsa.RSAPublicNumbers(65537, (1 << (bits - 1)) | 0xF1).public_key()  # a modulus of that size; never used to verify
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)  # bare RSAPublicKey
    return "v=DKIM1; p=" + base64.b64encode(der).decode()


@pytest.mark.parametrize("value, reason", [
    ("v=DKIM1; k=rsa; p=", "revoked"),
    ("v=DKIM1; k=rsa", "no p= tag"),
    ("v=DKIM1; k=dsa; p=AAAA", "k=dsa is not one of rsa, ed25519"),
    ("k=rsa; v=DKIM1; p=AAAA", "v= must be the first tag"),
    ("v=DKIM1; k=rsa; p=%%%%", "not valid base64"),
    ("v=DKIM1; k=rsa; p=AAAA", "not a DER-encoded RSA public key"),
    ("v=DKIM1; k=ed25519; p=" + base64.b64encode(b"x" * 31).decode(), "31 bytes"),
    ("v=DKIM1; h=sha1; p=AAAA", "does not allow sha256"),
    ("v=DKIM1; s=tlsrpt; p=AAAA", "cannot sign mail"),
    ("v=DKIM1; k=rsa; k=rsa; p=AAAA", "appears twice"),
    ("v=DKIM1;; p=AAAA", "empty tag"),
])
def test_bad_dkim_records_are_refused(value, reason):
    with pytest.raises(RecordSpecError, match="^dkim_txt: .*" + reason):
        dkim_txt_ok(value)


def test_rsa_keys_outside_1024_to_4096_bits_are_refused_and_bare_rsapublickey_is_read():
    with pytest.raises(RecordSpecError, match=r"is a 512-bit RSA key; verifiers accept 1024 to 4096 bits \(RFC 8301"):
        dkim_txt_ok(rsa_txt_of_size(512))
    with pytest.raises(RecordSpecError, match="is a 8192-bit RSA key"):
        dkim_txt_ok(rsa_txt_of_size(8192))
    for bits in (1024, 4096):
        value = dkim_txt_ok(rsa_txt_of_size(bits))
        assert dkim.evaluate_pk(b"s1._domainkey.example.com", value)[1] == bits


# --- MTA-STS and TLS-RPT ------------------------------------------------------------------------


def test_mta_sts_policy_parses_with_checkdmarc_and_uses_crlf():
    text = mta_sts_policy("enforce", ["mail.example.com", "*.backup.example.com"], 86400)
    assert text == "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.backup.example.com\r\nmax_age: 86400\r\n"
    parsed = checkdmarc.mta_sts.parse_mta_sts_policy(text)
    assert parsed["policy"] == {"version": "STSv1", "mode": "enforce", "max_age": 86400, "mx": ["mail.example.com", "*.backup.example.com"]}
    assert parsed["warnings"] == []


def test_mta_sts_id_changes_exactly_when_the_policy_changes():
    base = mta_sts_policy_for("example.com", "mail.example.com", "testing")
    assert base == mta_sts_policy_for("example.com", "mail.example.com", "testing", 604800)
    assert base["id"] == mta_sts_policy_id(base["content"])
    assert mta_sts_policy_for("other.test", "mail.example.com", "testing")["id"] == base["id"]  # same policy text
    changed = [
        mta_sts_policy_for("example.com", "mail.example.com", "enforce"),
        mta_sts_policy_for("example.com", "mail.example.com", "testing", 86400),
        mta_sts_policy_for("example.com", "mx2.example.com", "testing"),
    ]
    assert len({base["id"]} | {policy["id"] for policy in changed}) == 4


def test_mta_sts_records_carry_the_id_of_the_served_policy():
    records = build_mail_records("example.com", "mail.example.com", ipv4=IPV4, mta_sts_mode="enforce")
    policy = mta_sts_policy_for("example.com", "mail.example.com", "enforce")
    value = content(records, "_mta-sts.example.com", "TXT")
    assert value == "v=STSv1; id=" + policy["id"]
    assert checkdmarc.mta_sts.parse_mta_sts_record(value)["tags"]["id"] == policy["id"]
    assert policy["url"] == "https://mta-sts.example.com/.well-known/mta-sts.txt"
    assert mta_sts_policy_for("example.com", "mail.example.com", None) is None


def test_mta_sts_id_is_1_to_32_letters_and_digits():
    assert mta_sts_txt("20251120T1") == "v=STSv1; id=20251120T1"
    for bad in ("", "a" * 33, "2025-11-20"):
        with pytest.raises(RecordSpecError, match="^mta_sts_id: "):
            mta_sts_txt(bad)


def test_tls_rpt_record_parses_with_checkdmarc():
    value = tls_rpt_txt(["mailto:tls@example.com", "https://reports.example.com/tlsrpt"])
    assert value == "v=TLSRPTv1; rua=mailto:tls@example.com,https://reports.example.com/tlsrpt"
    parsed = checkdmarc.smtp_tls_reporting.parse_smtp_tls_reporting_record(value)
    assert parsed == {"tags": {"v": {"value": "TLSRPTv1"}, "rua": {"value": ["mailto:tls@example.com", "https://reports.example.com/tlsrpt"]}},
                      "warnings": []}
    with pytest.raises(RecordSpecError, match="^tls_rpt_rua: .*size limit"):
        tls_rpt_txt("mailto:tls@example.com!10m")


def test_the_record_set_owns_address_and_mx_pairs_but_not_the_apex_txt():
    records = build_mail_records("example.com", "mail.example.com", ipv4=IPV4)
    owned = sorted((r["name"], r["type"]) for r in records if r.get("purge"))
    assert owned == [("example.com", "MX"), ("mail.example.com", "A")]
