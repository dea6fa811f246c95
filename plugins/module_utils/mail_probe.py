# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One real message through a mail node: SMTP submission in, IMAPS out, and its port 25 greeting.

Only Python's standard library (smtplib, imaplib, ssl). A node is reached at an address
(``127.0.100.N`` in the lab, its public IPv4 elsewhere) while its certificate is verified for
a server name (the mail host): the SMTP and IMAP classes below connect to the one and give the
other to TLS as the name to verify and send in SNI.

Credentials go out only inside TLS: a submission server that does not offer STARTTLS is an
error before any AUTH, and no password is ever part of an exception or a result.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import email
import email.policy
import email.utils
import imaplib
import os
import re
import smtplib
import socket
import ssl
import time
from email.message import EmailMessage


class ProbeError(Exception):
    """A step of the message's way that failed; ``step`` names it (submission, delivery, smtp25...)."""

    def __init__(self, step, message, tls=None):
        Exception.__init__(self, "%s: %s" % (step, message))
        self.step = step
        self.reason = message
        self.tls = tls


def endpoint(address, port):
    return ("[%s]:%d" if ":" in address else "%s:%d") % (address, port)


def tls_context(ca_file=None, verify=True):
    """A client context: TLS 1.2 or later; certificate and name verified unless verify is False.

    ca_file: PEM file of the CA(s) to trust instead of the system store. Raises ValueError naming
    tls_ca_file when it cannot be loaded.
    """
    if verify:
        try:
            context = ssl.create_default_context(cafile=ca_file) if ca_file else ssl.create_default_context()
        except (IOError, OSError, ssl.SSLError) as exc:
            raise ValueError("tls_ca_file: cannot load %s as PEM CA certificates (%s)" % (ca_file, exc))
    else:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


class _SMTP(smtplib.SMTP):
    """smtplib.SMTP connected to ``address``, whose STARTTLS verifies the certificate for ``server_name``.

    smtplib gives TLS the host passed to its constructor (``_host``) as the name to verify; the
    socket goes to ``address`` instead of that host.
    """

    def __init__(self, address, server_name, timeout):
        self.address = address
        smtplib.SMTP.__init__(self, timeout=timeout)
        self._host = server_name

    def _get_socket(self, host, port, timeout):
        return socket.create_connection((self.address, port), timeout)


class _SMTP_SSL(smtplib.SMTP_SSL):
    """smtplib.SMTP_SSL (implicit TLS, port 465) connected to ``address``, verified for ``server_name``."""

    def __init__(self, address, server_name, timeout, context):
        self.address = address
        smtplib.SMTP_SSL.__init__(self, timeout=timeout, context=context)
        self._host = server_name

    def _get_socket(self, host, port, timeout):
        sock = socket.create_connection((self.address, port), timeout)
        return self.context.wrap_socket(sock, server_hostname=self._host)


class _IMAP4_SSL(imaplib.IMAP4_SSL):
    """imaplib.IMAP4_SSL connected to ``address``, verified for ``server_name``."""

    def __init__(self, address, server_name, port, context, timeout):
        self.address = address
        imaplib.IMAP4_SSL.__init__(self, server_name, port, ssl_context=context, timeout=timeout)

    def _create_socket(self, timeout):
        sock = socket.create_connection((self.address, self.port), timeout)
        return self.ssl_context.wrap_socket(sock, server_hostname=self.host)


def _reply(code, text):
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return ("%s %s" % (code, " ".join(text.split()))).strip()


def new_token():
    """A token unique to one check, for the Subject and the Message-ID."""
    return "coldrig-check-%s-%s" % (time.strftime("%Y%m%d%H%M%S", time.gmtime()), os.urandom(6).hex())


def build_message(sender, recipient, token, via):
    """The test message: plain text, as a person's mail client would send it."""
    domain = sender.rpartition("@")[2]
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = "Deliverability check %s" % token
    message["Date"] = email.utils.formatdate(localtime=True)
    message["Message-ID"] = "<%s@%s>" % (token, domain)
    message.set_content(
        "Hello,\n"
        "\n"
        "this is an automatic deliverability check, sent from %s to %s\n"
        "through %s. The receiving side verifies its DKIM signature, the\n"
        "sender's SPF and DMARC records, the TLS of the submission and the\n"
        "reverse DNS of the sending host. It is deleted once read.\n"
        "\n"
        "Check: %s\n"
        "\n"
        "-- \n"
        "coldrig\n" % (sender, recipient, via, token))
    return message


def _tls_facts(sock, context, security, server_name):
    cipher = sock.cipher()
    return {
        "security": security,
        "server_name": server_name,
        "version": sock.version(),
        "cipher": cipher[0] if cipher else None,
        "verified": context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname,
        "auth_before_tls": False,
        "error": None,
    }


def _open_submission(address, port, security, server_name, context, timeout):
    """(smtp, tls facts) on an encrypted, EHLO'd submission connection. ssl errors propagate."""
    where = endpoint(address, port)
    if security == "tls":
        smtp = _SMTP_SSL(address, server_name, timeout, context)
    else:
        smtp = _SMTP(address, server_name, timeout)
    try:
        code, banner = smtp.connect(server_name, port)
        if code != 220:
            raise ProbeError("submission", "%s greeted with %s, not 220" % (where, _reply(code, banner)))
        auth_in_clear = False
        if security == "starttls":
            code, text = smtp.ehlo()
            if code != 250:
                raise ProbeError("submission", "%s answered EHLO with %s" % (where, _reply(code, text)))
            auth_in_clear = smtp.has_extn("auth")
            if not smtp.has_extn("starttls"):
                raise ProbeError("submission", "%s does not offer STARTTLS, so no password is sent (use smtp_security: tls "
                                 "for implicit TLS on port 465)" % where,
                                 tls={"security": security, "server_name": server_name, "version": None, "cipher": None,
                                      "verified": False, "auth_before_tls": auth_in_clear,
                                      "error": "the server does not offer STARTTLS"})
            code, text = smtp.starttls(context=context)
            if code != 220:
                raise ProbeError("submission", "%s answered STARTTLS with %s" % (where, _reply(code, text)))
        code, text = smtp.ehlo()
        if code != 250:
            raise ProbeError("submission", "%s answered EHLO after TLS with %s" % (where, _reply(code, text)))
        facts = _tls_facts(smtp.sock, context, security, server_name)
        facts["auth_before_tls"] = auth_in_clear
        return smtp, facts
    except BaseException:
        smtp.close()
        raise


def submit(address, port, security, server_name, context, username, password, mail_from, rcpt_to, message,
           timeout=10.0, fallback_context=None):
    """Send message (bytes) over submission with AUTH; returns {tls: facts, reply: the DATA reply}.

    A certificate that does not verify ends the attempt with ProbeError carrying the TLS facts,
    unless fallback_context is given: then the same is done again over TLS without verification
    and the facts say ``verified: false`` with the verification error. Never in clear text.
    """
    where = endpoint(address, port)
    verify_error = None
    try:
        smtp, facts = _open_submission(address, port, security, server_name, context, timeout)
    except ssl.SSLCertVerificationError as exc:
        verify_error = "certificate not verified for %s: %s" % (server_name, exc.verify_message or exc)
        failed = {"security": security, "server_name": server_name, "version": None, "cipher": None, "verified": False,
                  "auth_before_tls": None, "error": verify_error}
        if fallback_context is None:
            raise ProbeError("submission", "%s: %s" % (where, verify_error), tls=failed)
        try:
            smtp, facts = _open_submission(address, port, security, server_name, fallback_context, timeout)
        except (ssl.SSLError, smtplib.SMTPException, socket.timeout, OSError) as again:
            raise ProbeError("submission", "%s: %s (unverified TLS failed too)" % (where, _why(again)), tls=failed)
        facts["error"] = verify_error
    except ProbeError:
        raise
    except (ssl.SSLError, smtplib.SMTPException, socket.timeout, OSError) as exc:
        raise ProbeError("submission", "%s: %s" % (where, _why(exc)))
    try:
        if not smtp.has_extn("auth"):
            raise ProbeError("submission", "%s offers no AUTH after TLS" % where, tls=facts)
        try:
            smtp.login(username, password)
        except smtplib.SMTPAuthenticationError as exc:
            raise ProbeError("sender", "%s: authentication as %s failed (%s)" % (where, username, _reply(exc.smtp_code, exc.smtp_error)),
                             tls=facts)
        except smtplib.SMTPException as exc:
            raise ProbeError("sender", "%s: cannot authenticate as %s (%s)" % (where, username, _why(exc)), tls=facts)
        code, text = smtp.mail(mail_from)
        if code != 250:
            raise ProbeError("submission", "%s refused MAIL FROM:<%s> with %s" % (where, mail_from, _reply(code, text)), tls=facts)
        code, text = smtp.rcpt(rcpt_to)
        if code not in (250, 251):
            raise ProbeError("submission", "%s refused RCPT TO:<%s> with %s" % (where, rcpt_to, _reply(code, text)), tls=facts)
        code, text = smtp.data(message)
        if code != 250:
            raise ProbeError("submission", "%s refused the message with %s" % (where, _reply(code, text)), tls=facts)
        reply = _reply(code, text)
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            pass
        return {"tls": facts, "reply": reply}
    except ProbeError:
        raise
    except (smtplib.SMTPException, socket.timeout, OSError) as exc:
        raise ProbeError("submission", "%s: %s" % (where, _why(exc)), tls=facts)
    finally:
        smtp.close()


def _why(exc):
    if isinstance(exc, socket.timeout):
        return "timed out"
    if isinstance(exc, smtplib.SMTPResponseException):
        return _reply(exc.smtp_code, exc.smtp_error)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return "certificate not verified: %s" % (exc.verify_message or exc)
    text = str(exc) or type(exc).__name__
    if isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror
    return text


def _ok(result, what):
    typ, data = result
    if typ != "OK":
        text = b" ".join(d for d in data if isinstance(d, bytes)).decode("utf-8", "replace")
        raise imaplib.IMAP4.error("%s: %s %s" % (what, typ, text))
    return data


def fetch_message(address, port, server_name, context, username, password, token, timeout=60.0, interval=1.0,
                  io_timeout=10.0, delete=True, fallback_context=None):
    """Wait until the message whose Subject holds token is in username's INBOX; fetch and maybe delete it.

    Returns {raw, seconds, uid, deleted, tls}; seconds counts from the call to the arrival.
    Raises ProbeError("recipient", ...) for a login failure and ProbeError("delivery", ...) when
    the message has not arrived within timeout seconds.
    """
    start = time.monotonic()
    where = endpoint(address, port)
    tls = {"server_name": server_name, "verified": True, "error": None}
    try:
        try:
            imap = _IMAP4_SSL(address, server_name, port, context, io_timeout)
        except ssl.SSLCertVerificationError as exc:
            if fallback_context is None:
                raise ProbeError("imap", "%s: certificate not verified for %s: %s" % (where, server_name, exc.verify_message or exc))
            tls.update(verified=False, error="certificate not verified for %s: %s" % (server_name, exc.verify_message or exc))
            imap = _IMAP4_SSL(address, server_name, port, fallback_context, io_timeout)
    except ProbeError:
        raise
    except (ssl.SSLError, imaplib.IMAP4.error, socket.timeout, OSError) as exc:
        raise ProbeError("imap", "%s: %s" % (where, _why(exc)))
    tls.update(version=imap.sock.version(), cipher=(imap.sock.cipher() or [None])[0])
    try:
        try:
            imap.login(_imap_quote(username), password)
        except imaplib.IMAP4.error as exc:
            raise ProbeError("recipient", "%s: login as %s failed (%s)" % (where, username, exc))
        capabilities = _capabilities(imap)
        _ok(imap.select("INBOX"), "SELECT INBOX")
        deadline = start + timeout
        uid = None
        while True:
            data = _ok(imap.uid("SEARCH", "HEADER", "Subject", token), "UID SEARCH")
            uids = (data[0] or b"").split() if data else []
            if uids:
                uid = uids[-1].decode("ascii")
                break
            if time.monotonic() + interval > deadline:
                raise ProbeError("delivery", "the message did not arrive in the INBOX of %s within %g s (look in the node's "
                                 "mail log for its queue id; a spam filter may have put it in another folder)" % (username, timeout))
            time.sleep(interval)
            _ok(imap.noop(), "NOOP")
        seconds = round(time.monotonic() - start, 2)
        data = _ok(imap.uid("FETCH", uid, "(BODY.PEEK[])"), "UID FETCH")
        raw = None
        for item in data:
            if isinstance(item, tuple) and len(item) >= 2:
                raw = item[1]
                break
        if raw is None:
            raise ProbeError("imap", "%s: UID FETCH %s returned no message" % (where, uid))
        deleted = False
        if delete:
            _ok(imap.uid("STORE", uid, "+FLAGS.SILENT", r"(\Deleted)"), "UID STORE")
            if "UIDPLUS" in capabilities:
                _ok(imap.xatom("UID", "EXPUNGE", uid), "UID EXPUNGE")
                deleted = True
            # Without UIDPLUS an EXPUNGE would also remove other messages marked \Deleted: leave it marked.
        try:
            imap.logout()
        except (imaplib.IMAP4.error, OSError):
            pass
        return {"raw": raw, "seconds": seconds, "uid": uid, "deleted": deleted, "tls": tls}
    except ProbeError:
        _close(imap)
        raise
    except (imaplib.IMAP4.error, imaplib.IMAP4.abort, socket.timeout, OSError) as exc:
        _close(imap)
        raise ProbeError("imap", "%s: %s" % (where, _why(exc)))


def _imap_quote(text):
    """An IMAP quoted string (imaplib quotes the password of LOGIN but not the user name)."""
    return '"%s"' % text.replace("\\", "\\\\").replace('"', '\\"')


def _capabilities(imap):
    typ, data = imap.capability()
    words = set()
    if typ == "OK":
        for item in data:
            if isinstance(item, bytes):
                words.update(item.decode("ascii", "replace").upper().split())
    return words | set(c.upper() for c in imap.capabilities)


def _close(imap):
    try:
        imap.shutdown()
    except (OSError, imaplib.IMAP4.error):
        pass


_NAME_WORD = re.compile(r"^[A-Za-z0-9._-]+$")


def read_greeting(address, port, timeout=10.0, local_name=None):
    """The names a node's MTA announces on port 25: {banner, banner_name, ehlo, ehlo_name}.

    The name is the first word after the code (RFC 5321 section 4.2 and 4.1.1.1): ``220 <name> ESMTP``
    and ``250-<name>``. Postfix says $myhostname in both, the name it also uses as its HELO when it
    delivers (smtp_helo_name defaults to $myhostname). Nothing but EHLO and QUIT is sent.
    """
    where = endpoint(address, port)
    smtp = smtplib.SMTP(timeout=timeout, local_hostname=local_name)
    try:
        code, banner = smtp.connect(address, port)
        banner = banner.decode("utf-8", "replace")
        if code != 220:
            raise ProbeError("smtp25", "%s greeted with %s, not 220" % (where, _reply(code, banner)))
        code, ehlo = smtp.ehlo()
        ehlo = ehlo.decode("utf-8", "replace")
        if code != 250:
            raise ProbeError("smtp25", "%s answered EHLO with %s" % (where, _reply(code, ehlo)))
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            pass
    except ProbeError:
        raise
    except (smtplib.SMTPException, socket.timeout, OSError) as exc:
        raise ProbeError("smtp25", "%s: %s" % (where, _why(exc)))
    finally:
        smtp.close()
    return {
        "banner": "220 " + banner.splitlines()[0] if banner else "220",
        "banner_name": _first_word(banner),
        "ehlo": "250 " + ehlo.splitlines()[0] if ehlo else "250",
        "ehlo_name": _first_word(ehlo),
    }


def _first_word(text):
    words = (text or "").split()
    if words and _NAME_WORD.match(words[0]):
        return words[0]
    return words[0] if words else ""


def parse_message(raw):
    """(email.message.Message, envelope sender from Return-Path or None, From address)."""
    message = email.message_from_bytes(raw)
    return_path = message.get_all("Return-Path") or []
    envelope = email.utils.parseaddr(return_path[0])[1] if return_path else None
    froms = message.get_all("From") or []
    from_address = email.utils.parseaddr(froms[0])[1] if len(froms) == 1 else None
    return message, envelope, from_address
