"""coldrig.infra.mail_check in this process, against the SMTP/IMAP test double and the DNS test server in tests/support.

The doubles stand in for a node (Postfix + OpenDKIM + Dovecot) and its DNS; the module's run against the
real ones is the lab's job (playbooks/verify.yml).
"""
from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ansible_collections.coldrig.infra.plugins.modules import mail_check as module
from tests.support.dns_server import DnsTestServer
from tests.support.mail_server import MailNode, TestCA

HOST = "mail.example.test"
IPV4 = "192.0.2.10"
SENDER, SENDER_PW = "ana@example.test", "Sender-pw-Vb4Nm8Qw2Er6"
RECIPIENT, RECIPIENT_PW = "bo@example.test", "Recipient-pw-Ty0Ui3Op7"


def quoted(value):
    return " ".join('"%s"' % value[i:i + 255] for i in range(0, len(value), 255))


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    return TestCA(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def dkim_key():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem, "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()


def zone(dkim_txt, replace=None):
    """The record set coldrig publishes for example.test and its mail host; replace: {(name, type): [data]}."""
    records = {
        ("mail.example.test", "A"): [IPV4],
        ("10.2.0.192.in-addr.arpa", "PTR"): [HOST + "."],
        ("example.test", "TXT"): [quoted("v=spf1 ip4:%s ~all" % IPV4)],
        ("example.test", "MX"): ["10 %s." % HOST],
        ("s1._domainkey.example.test", "TXT"): [quoted(dkim_txt)],
        ("_dmarc.example.test", "TXT"): [quoted("v=DMARC1; p=quarantine; rua=mailto:dmarc@example.test")],
    }
    records.update(replace or {})
    return [(name, rtype, data) for (name, rtype), values in records.items() for data in values]


@pytest.fixture
def world(ca, dkim_key):
    """world(dns_records=None, **node_options) -> (node, dns server), both stopped after the test."""
    running = []

    def make(records=None, names=(HOST,), **options):
        pem, txt = dkim_key
        options.setdefault("dkim_key", ("example.test", "s1", pem))
        dns_server = DnsTestServer(records if records is not None else zone(txt),
                                   zones=["example.test", "2.0.192.in-addr.arpa", "8.b.d.0.1.0.0.2.ip6.arpa"]).start()
        running.append(dns_server)
        node = MailNode(HOST, {SENDER: SENDER_PW, RECIPIENT: RECIPIENT_PW}, ca.server_context(list(names)),
                        **options).start()
        running.append(node)
        return node, dns_server

    yield make
    for thing in running:
        thing.stop()


def args(ca, node, dns_server, **extra):
    base = {
        "mail_host": HOST, "public_ipv4": IPV4, "smtp_host": "127.0.0.1",
        "smtp_port": node.ports["submission"], "imap_port": node.ports["imaps"], "smtp25_port": node.ports["smtp"],
        "tls_ca_file": str(ca.ca_file), "dns_servers": [dns_server.target],
        "sender": {"email": SENDER, "password": SENDER_PW}, "recipient": {"email": RECIPIENT, "password": RECIPIENT_PW},
        "timeout": 5, "interval": 0.1, "connect_timeout": 5, "query_timeout": 2,
    }
    base.update(extra)
    return base


def results(result):
    return {check["check"]: check["result"] for check in result["checks"]}


def test_a_well_configured_node_passes_every_check(world, ca, run_module):
    node, dns_server = world(delivery_delay=0.2)
    result = run_module(module, args(ca, node, dns_server))
    assert result["failed"] is False, result.get("msg")
    assert results(result) == {"tls": "pass", "dkim": "pass", "spf": "pass", "dmarc": "pass", "ptr_helo": "pass"}
    assert result["changed"] is False and result["deleted"] is True
    assert result["tls"]["verified"] is True
    assert result["dkim"]["domain"] == "example.test" and result["dkim"]["selector"] == "s1"
    assert result["spf"]["result"] == "pass" and result["spf"]["sender"] == SENDER
    assert result["dmarc"]["policy"] == "quarantine"
    assert result["dmarc"]["dkim_aligned"] is True and result["dmarc"]["spf_aligned"] is True
    assert result["message_id"].endswith("@example.test>")
    assert result["seconds"] >= 0.1
    assert result["table"].splitlines()[0].split() == ["CHECK", "RESULT", "REQUIRED", "DETAIL"]
    assert node.inbox(RECIPIENT) == []
    # every lookup went to the given server
    asked = {(name, rtype) for _transport, name, rtype in dns_server.queries}
    assert {("s1._domainkey.example.test", "TXT"), ("example.test", "TXT"), ("_dmarc.example.test", "TXT"),
            ("10.2.0.192.in-addr.arpa", "PTR"), ("mail.example.test", "A")} <= asked


def test_passwords_never_appear_in_the_result(world, ca, run_module):
    node, dns_server = world(names=("other.example.test",))
    result = run_module(module, args(ca, node, dns_server))
    text = json.dumps(result)
    assert SENDER_PW not in text and RECIPIENT_PW not in text


def test_check_mode_sends_nothing_and_skips_every_check(world, ca, run_module):
    node, dns_server = world()
    result = run_module(module, args(ca, node, dns_server), check=True)
    assert result["failed"] is False
    assert set(results(result).values()) == {"skip"}
    assert node.auth_attempts == [] and node.inbox(RECIPIENT) == []
    assert dns_server.queries == []


def test_a_body_changed_after_signing_fails_dkim_and_the_table_is_in_the_message(world, ca, run_module):
    node, dns_server = world(footer="This e-mail is confidential.")
    result = run_module(module, args(ca, node, dns_server))
    assert result["failed"] is True
    assert results(result)["dkim"] == "fail"
    assert "body hash mismatch" in result["dkim"]["signatures"][0]["error"]
    assert result["msg"].startswith("dkim failed:\nCHECK")
    assert result["table"] in result["msg"]
    assert results(result)["dmarc"] == "pass"  # still aligned through SPF


def test_a_check_that_is_not_required_only_warns(world, ca, run_module):
    node, dns_server = world(footer="This e-mail is confidential.")
    result = run_module(module, args(ca, node, dns_server, required=["tls", "spf", "dmarc", "ptr_helo"]))
    assert result["failed"] is False
    assert results(result)["dkim"] == "fail"
    assert any("mail_check: dkim failed (not required): d=example.test s=s1 fail (body hash mismatch" in str(w)
               for w in result["warnings"])


def test_an_unsigned_message_fails_dkim_and_dmarc_when_spf_is_not_aligned_either(world, ca, dkim_key, run_module):
    _pem, txt = dkim_key
    node, dns_server = world(records=zone(txt, {("example.test", "TXT"): [quoted("v=spf1 ip4:198.51.100.1 -all")]}),
                             dkim_key=None)
    result = run_module(module, args(ca, node, dns_server))
    assert results(result) == {"tls": "pass", "dkim": "fail", "spf": "fail", "dmarc": "fail", "ptr_helo": "pass"}
    assert result["spf"]["result"] == "fail"
    assert result["msg"].startswith("dkim, spf, dmarc failed:")


def test_spf_is_judged_for_the_public_address_not_the_connection(world, ca, run_module):
    node, dns_server = world()
    result = run_module(module, args(ca, node, dns_server, public_ipv4="203.0.113.9"))
    assert results(result)["spf"] == "fail"
    assert result["spf"]["addresses"] == {"203.0.113.9": {"result": "softfail", "explanation": result["spf"]["explanation"]}}
    assert results(result)["dmarc"] == "pass"  # DKIM carries it


def test_a_missing_dmarc_record_fails_dmarc(world, ca, dkim_key, run_module):
    _pem, txt = dkim_key
    node, dns_server = world(records=zone(txt, {("_dmarc.example.test", "TXT"): [quoted("v=spf1 -all")]}))
    result = run_module(module, args(ca, node, dns_server))
    assert results(result)["dmarc"] == "fail"
    assert [c["detail"] for c in result["checks"] if c["check"] == "dmarc"] == ["no DMARC record at _dmarc.example.test"]


def test_an_invalid_dmarc_record_fails_dmarc_naming_the_tag(world, ca, dkim_key, run_module):
    _pem, txt = dkim_key
    node, dns_server = world(records=zone(txt, {("_dmarc.example.test", "TXT"): [quoted("v=DMARC1; p=monitor")]}))
    result = run_module(module, args(ca, node, dns_server))
    detail = [c["detail"] for c in result["checks"] if c["check"] == "dmarc"][0]
    assert detail == ("the record at _dmarc.example.test is not usable: p: 'monitor' is not one of none, quarantine, "
                      "reject")


def test_a_wrong_helo_name_fails_ptr_helo(world, ca, run_module):
    node, dns_server = world(banner_name="localhost", ehlo_name="localhost")
    result = run_module(module, args(ca, node, dns_server))
    assert results(result)["ptr_helo"] == "fail"
    assert result["ptr_helo"]["banner"] == "220 localhost ESMTP Postfix (Debian/GNU)"
    assert "the 220 banner announces localhost, not mail.example.test" in result["msg"]


def test_a_provider_default_ptr_fails_ptr_helo(world, ca, dkim_key, run_module):
    _pem, txt = dkim_key
    node, dns_server = world(records=zone(txt, {("10.2.0.192.in-addr.arpa", "PTR"): ["static.provider.test."]}))
    result = run_module(module, args(ca, node, dns_server))
    assert results(result)["ptr_helo"] == "fail"
    assert "PTR of 192.0.2.10 is static.provider.test, not mail.example.test" in result["msg"]


def test_an_ipv6_address_must_pass_spf_and_ptr_too(world, ca, run_module):
    node, dns_server = world()
    result = run_module(module, args(ca, node, dns_server, public_ipv6="2001:DB8::25"))
    assert results(result)["spf"] == "fail"
    assert result["spf"]["addresses"]["2001:db8::25"]["result"] == "softfail"
    assert "2001:db8::25 has no PTR record" in result["msg"]


def test_a_certificate_for_another_name_fails_tls_and_sends_nothing_when_tls_is_required(world, ca, run_module):
    node, dns_server = world(names=("other.example.test",))
    result = run_module(module, args(ca, node, dns_server))
    assert result["failed"] is True
    assert results(result) == {"tls": "fail", "dkim": "skip", "spf": "skip", "dmarc": "skip", "ptr_helo": "pass"}
    assert result["msg"].startswith("submission: 127.0.0.1:%d: certificate not verified for mail.example.test"
                                    % node.ports["submission"])
    assert node.auth_attempts == []


def test_without_tls_required_an_unverified_certificate_is_reported_and_the_rest_is_checked(world, ca, run_module):
    node, dns_server = world(names=("other.example.test",))
    result = run_module(module, args(ca, node, dns_server, required=["dkim", "spf", "dmarc", "ptr_helo"]))
    assert result["failed"] is False, result.get("msg")
    assert results(result) == {"tls": "fail", "dkim": "pass", "spf": "pass", "dmarc": "pass", "ptr_helo": "pass"}
    assert result["tls"]["verified"] is False
    assert result["imap_tls"]["verified"] is False


def test_auth_offered_before_starttls_fails_tls(world, ca, run_module):
    node, dns_server = world(auth_before_tls=True)
    result = run_module(module, args(ca, node, dns_server))
    assert results(result)["tls"] == "fail"
    assert "AUTH is offered before STARTTLS" in result["msg"]


def test_tls_server_name_is_what_the_certificate_is_verified_for(world, ca, run_module):
    node, dns_server = world(names=("smtp.example.test",))
    result = run_module(module, args(ca, node, dns_server, tls_server_name="smtp.example.test"))
    assert result["failed"] is False, result.get("msg")
    assert result["tls"]["server_name"] == "smtp.example.test"


def test_a_message_that_never_arrives_fails_with_the_reason(world, ca, run_module):
    node, dns_server = world(delivery_delay=30)
    result = run_module(module, args(ca, node, dns_server, timeout=1))
    assert result["failed"] is True
    assert result["msg"].startswith("delivery: the message did not arrive in the INBOX of bo@example.test within 1 s")
    assert results(result)["dkim"] == "skip"
    assert results(result)["tls"] == "pass"


def test_a_wrong_password_names_the_mailbox(world, ca, run_module):
    node, dns_server = world()
    result = run_module(module, args(ca, node, dns_server, sender={"email": SENDER, "password": "wrong"}))
    assert result["failed"] is True
    assert result["msg"].startswith("sender: 127.0.0.1:%d: authentication as ana@example.test failed"
                                    % node.ports["submission"])


@pytest.mark.parametrize("extra, error", [
    ({"sender": {"email": "not-an-address", "password": "x"}}, "sender.email: 'not-an-address' is not an email address"),
    ({"recipient": {"email": "bo@", "password": "x"}}, "recipient.email: 'bo@' is not an email address"),
    ({"mail_host": "localhost"}, "mail_host: 'localhost' is not a fully qualified host name"),
    ({"public_ipv4": "2001:db8::1"}, "public_ipv4: '2001:db8::1' is not an IPv4 address"),
    ({"public_ipv6": "192.0.2.1"}, "public_ipv6: '192.0.2.1' is not an IPv6 address"),
    ({"dns_servers": ["127.0.0.1:domain"]}, "dns_servers[0]: '127.0.0.1:domain': 'domain' is not a port"),
    ({"smtp_port": 0}, "smtp_port: 0 is not a TCP port"),
    ({"timeout": 0}, "timeout: must be more than 0, not 0"),
    ({"tls_ca_file": "/nonexistent/ca.pem"}, "tls_ca_file: cannot load /nonexistent/ca.pem"),
])
def test_bad_options_fail_naming_the_field(world, ca, run_module, extra, error):
    node, dns_server = world()
    result = run_module(module, args(ca, node, dns_server, **extra))
    assert result["failed"] is True
    assert result["msg"].startswith(error)
    assert node.auth_attempts == []
