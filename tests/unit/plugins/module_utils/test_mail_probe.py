"""mail_probe: submission, IMAPS and the port 25 greeting, against the SMTP/IMAP test double in tests/support."""
from __future__ import annotations

import email
import time

import pytest

from ansible_collections.coldrig.infra.plugins.module_utils import mail_probe
from ansible_collections.coldrig.infra.plugins.module_utils.mail_probe import ProbeError
from tests.support.banner import closed_port
from tests.support.mail_server import MailNode, TestCA

HOST = "mail.example.test"
SENDER, SENDER_PW = "ana@example.test", 'se"cr\\et pw'
RECIPIENT, RECIPIENT_PW = "bo@example.test", 'an"other\\one'
MAILBOXES = {SENDER: SENDER_PW, RECIPIENT: RECIPIENT_PW}


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    return TestCA(tmp_path_factory.mktemp("ca"))


@pytest.fixture
def node_factory(ca):
    started = []

    def make(names=(HOST,), **options):
        node = MailNode(HOST, MAILBOXES, ca.server_context(list(names)), **options).start()
        started.append(node)
        return node

    yield make
    for node in started:
        node.stop()


def send(node, ca, security="starttls", server_name=HOST, password=SENDER_PW, fallback=False, token="tok-1"):
    message = mail_probe.build_message(SENDER, RECIPIENT, token, server_name)
    return mail_probe.submit("127.0.0.1", node.ports["submission"], security, server_name,
                             mail_probe.tls_context(str(ca.ca_file)), SENDER, password, SENDER, RECIPIENT,
                             message.as_bytes(), timeout=5,
                             fallback_context=mail_probe.tls_context(verify=False) if fallback else None)


def fetch(node, ca, token="tok-1", **options):
    options.setdefault("timeout", 5)
    options.setdefault("interval", 0.1)
    return mail_probe.fetch_message("127.0.0.1", node.ports["imaps"], HOST, mail_probe.tls_context(str(ca.ca_file)),
                                    RECIPIENT, options.pop("password", RECIPIENT_PW), token, io_timeout=5, **options)


def test_the_message_goes_in_over_verified_starttls_and_comes_out_over_imaps(node_factory, ca):
    node = node_factory(delivery_delay=0.3)
    sent = send(node, ca)
    assert sent["tls"]["verified"] is True
    assert sent["tls"]["version"] in ("TLSv1.2", "TLSv1.3")
    assert sent["tls"]["cipher"]
    assert sent["tls"]["auth_before_tls"] is False
    assert sent["reply"].startswith("250 2.0.0 Ok: queued as ")
    assert node.auth_attempts == [(True, SENDER)]
    got = fetch(node, ca)
    assert got["seconds"] >= 0.2  # it waited for the delivery
    message = email.message_from_bytes(got["raw"])
    assert message["Subject"] == "Deliverability check tok-1"
    assert message["Return-Path"] == "<%s>" % SENDER
    assert got["deleted"] is True
    assert node.inbox(RECIPIENT) == []


def test_implicit_tls_on_the_submissions_port(node_factory, ca):
    node = node_factory(submission_security="tls")
    sent = send(node, ca, security="tls")
    assert sent["tls"]["verified"] is True
    assert node.auth_attempts == [(True, SENDER)]


def test_a_certificate_for_another_name_stops_before_any_password_is_sent(node_factory, ca):
    node = node_factory(names=("other.example.test",))
    with pytest.raises(ProbeError) as raised:
        send(node, ca)
    assert raised.value.step == "submission"
    assert "certificate not verified for mail.example.test" in str(raised.value)
    assert raised.value.tls["verified"] is False
    assert node.auth_attempts == []


def test_a_certificate_from_an_unknown_ca_stops_before_any_password_is_sent(node_factory, tmp_path):
    stranger = TestCA(tmp_path / "stranger")
    node = MailNode(HOST, MAILBOXES, stranger.server_context([HOST])).start()
    try:
        with pytest.raises(ProbeError, match="unable to get local issuer certificate"):
            send(node, TestCA(tmp_path / "trusted"))
        assert node.auth_attempts == []
    finally:
        node.stop()


def test_with_a_fallback_the_message_goes_over_unverified_tls_and_says_so(node_factory, ca):
    node = node_factory(names=("other.example.test",))
    sent = send(node, ca, fallback=True)
    assert sent["tls"]["verified"] is False
    assert "certificate not verified for mail.example.test" in sent["tls"]["error"]
    assert node.auth_attempts == [(True, SENDER)]


def test_a_server_without_starttls_gets_no_password(node_factory, ca):
    node = node_factory(offer_starttls=False, auth_before_tls=True)
    with pytest.raises(ProbeError, match=r"does not offer STARTTLS, so no password is sent") as raised:
        send(node, ca, fallback=True)
    assert raised.value.tls["auth_before_tls"] is True
    assert node.auth_attempts == []


def test_auth_offered_before_starttls_is_reported(node_factory, ca):
    node = node_factory(auth_before_tls=True)
    assert send(node, ca)["tls"]["auth_before_tls"] is True
    assert node.auth_attempts == [(True, SENDER)]


def test_a_wrong_sender_password_fails_the_sender_step_without_the_password_in_the_message(node_factory, ca):
    node = node_factory()
    with pytest.raises(ProbeError) as raised:
        send(node, ca, password="wrong-password")
    assert raised.value.step == "sender"
    assert "authentication as ana@example.test failed (535 5.7.8" in str(raised.value)
    assert "wrong-password" not in str(raised.value)


def test_nothing_listening_on_submission_is_a_submission_error(ca):
    port = closed_port()
    with pytest.raises(ProbeError, match=r"^submission: 127.0.0.1:%d: Connection refused$" % port):
        mail_probe.submit("127.0.0.1", port, "starttls", HOST, mail_probe.tls_context(str(ca.ca_file)), SENDER, "x",
                          SENDER, RECIPIENT, b"Subject: x\r\n\r\nx\r\n", timeout=2)


def test_a_wrong_recipient_password_fails_the_recipient_step(node_factory, ca):
    node = node_factory()
    send(node, ca)
    with pytest.raises(ProbeError) as raised:
        fetch(node, ca, password="nope")
    assert raised.value.step == "recipient"
    assert "AUTHENTICATIONFAILED" in str(raised.value)


def test_a_message_that_does_not_arrive_in_time_is_a_delivery_error(node_factory, ca):
    node = node_factory(delivery_delay=5)
    send(node, ca)
    start = time.monotonic()
    with pytest.raises(ProbeError, match=r"^delivery: the message did not arrive in the INBOX of bo@example.test within 1 s"):
        fetch(node, ca, timeout=1, interval=0.2)
    assert time.monotonic() - start < 3


def test_only_the_message_with_the_token_is_fetched_and_deleted(node_factory, ca):
    node = node_factory()
    send(node, ca, token="older-check")
    send(node, ca, token="tok-2")
    got = fetch(node, ca, token="tok-2")
    assert b"tok-2" in got["raw"]
    assert len(node.inbox(RECIPIENT)) == 1 and b"older-check" in node.inbox(RECIPIENT)[0]


def test_without_uidplus_the_message_is_only_marked_deleted(node_factory, ca):
    node = node_factory(uidplus=False)
    send(node, ca)
    got = fetch(node, ca)
    assert got["deleted"] is False
    assert len(node.inbox(RECIPIENT)) == 1


def test_delete_false_leaves_the_message(node_factory, ca):
    node = node_factory()
    send(node, ca)
    assert fetch(node, ca, delete=False)["deleted"] is False
    assert len(node.inbox(RECIPIENT)) == 1


def test_the_port_25_greeting_gives_the_banner_and_ehlo_names(node_factory):
    node = node_factory(banner_name="mail.example.test", ehlo_name="localhost")
    greeting = mail_probe.read_greeting("127.0.0.1", node.ports["smtp"], timeout=5)
    assert greeting == {"banner": "220 mail.example.test ESMTP Postfix (Debian/GNU)", "banner_name": "mail.example.test",
                        "ehlo": "250 localhost", "ehlo_name": "localhost"}


def test_no_port_25_is_an_smtp25_error():
    port = closed_port()
    with pytest.raises(ProbeError, match=r"^smtp25: 127.0.0.1:%d: Connection refused$" % port):
        mail_probe.read_greeting("127.0.0.1", port, timeout=2)


def test_the_test_message_is_plain_text_with_the_token_in_subject_and_message_id():
    message = mail_probe.build_message("ana@example.com", "bo@example.net", "coldrig-check-x", "mail.example.com")
    raw = message.as_bytes()
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    parsed = email.message_from_bytes(raw)
    assert parsed["Subject"] == "Deliverability check coldrig-check-x"
    assert parsed["Message-ID"] == "<coldrig-check-x@example.com>"
    assert parsed["From"] == "ana@example.com" and parsed["To"] == "bo@example.net"
    assert parsed.get_content_type() == "text/plain"
    assert all(len(line) <= 78 for line in raw.split(b"\r\n"))


def test_tokens_are_unique():
    assert len({mail_probe.new_token() for _attempt in range(200)}) == 200


def test_an_unreadable_ca_file_is_an_error_naming_tls_ca_file(tmp_path):
    with pytest.raises(ValueError, match=r"^tls_ca_file: cannot load .*missing.pem"):
        mail_probe.tls_context(str(tmp_path / "missing.pem"))
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    with pytest.raises(ValueError, match=r"^tls_ca_file: cannot load .*garbage.pem"):
        mail_probe.tls_context(str(garbage))
