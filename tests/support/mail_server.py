"""A small test double of one mail node's services -- NOT Postfix, OpenDKIM or Dovecot.

For testing ``coldrig.infra.mail_check``'s client side without a VM: three listeners on
127.0.0.1, in threads, sharing an in-memory mail store:

* **submission** (STARTTLS, or implicit TLS): EHLO, STARTTLS, AUTH PLAIN/LOGIN (offered only
  after TLS, as Postfix with ``smtpd_tls_auth_only = yes``), MAIL, RCPT (local mailboxes only),
  DATA, RSET, NOOP, QUIT. An accepted message is DKIM-signed with dkimpy when its From domain is
  the signing domain (what OpenDKIM's signing table does), gets a ``Received`` header, and is
  delivered to the recipient's INBOX with ``Return-Path`` and ``Delivered-To`` (as Dovecot's
  LMTP does), after ``delivery_delay`` seconds;
* **smtp** (the node's port 25): the 220 banner and the EHLO reply with the host name, QUIT;
* **imaps** (implicit TLS): CAPABILITY, LOGIN, SELECT INBOX, NOOP, UID SEARCH HEADER, UID FETCH
  BODY.PEEK[], UID STORE, UID EXPUNGE (with UIDPLUS), EXPUNGE, LOGOUT, with Dovecot's wording.

Misconfigurations to test against are switches: ``auth_before_tls``, ``offer_starttls``,
``uidplus``, ``banner_name``/``ehlo_name``, ``footer`` (text appended to the body after signing,
as a disclaimer milter would). :class:`TestCA` issues the server certificate.
"""
from __future__ import annotations

import base64
import contextlib
import datetime
import email
import email.utils
import os
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path

import dkim
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


class TestCA:
    """A throwaway CA in a directory: ``ca_file`` to trust, ``server_context(names)`` for a server."""

    __test__ = False  # not a pytest test class

    def __init__(self, directory: Path, name: str = "coldrig test CA"):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.datetime.now(datetime.timezone.utc)
        self.cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - datetime.timedelta(minutes=5))
                     .not_valid_after(now + datetime.timedelta(days=1))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                     .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                                  content_commitment=False, key_encipherment=False,
                                                  data_encipherment=False, key_agreement=False,
                                                  encipher_only=False, decipher_only=False), critical=True)
                     .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False)
                     .sign(self.key, hashes.SHA256()))
        self.ca_file = self.directory / "ca.pem"
        self.ca_file.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))

    def server_context(self, names: list[str]) -> ssl.SSLContext:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
                .issuer_name(self.cert.subject).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + datetime.timedelta(days=1))
                .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
                .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False)
                .sign(self.key, hashes.SHA256()))
        stem = self.directory / names[0]
        chain = Path("%s.crt" % stem)
        chain.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_file = Path("%s.key" % stem)
        key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(chain, key_file)
        return context


class _Stored:
    def __init__(self, uid: int, raw: bytes):
        self.uid = uid
        self.raw = raw
        self.flags: set[str] = set()


class _Mailbox:
    def __init__(self, password: str):
        self.password = password
        self.messages: list[_Stored] = []
        self.next_uid = 1


class _Conn:
    """A line-oriented connection that can switch to TLS."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.file = sock.makefile("rb")
        self.tls = isinstance(sock, ssl.SSLSocket)

    def readline(self) -> bytes:
        line = self.file.readline(65536)
        if not line:
            raise EOFError
        return line

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def line(self, text: str) -> None:
        self.send(text.encode("utf-8") + b"\r\n")

    def start_tls(self, context: ssl.SSLContext) -> None:
        self.file.close()
        self.sock = context.wrap_socket(self.sock, server_side=True)
        self.file = self.sock.makefile("rb")
        self.tls = True


class MailNode:
    """``with MailNode("mail.example.test", {"a@example.test": "pw"}, context) as node: node.ports``."""

    def __init__(self, hostname: str, mailboxes: dict[str, str], context: ssl.SSLContext, *,
                 dkim_key: tuple[str, str, bytes] | None = None, submission_security: str = "starttls",
                 auth_before_tls: bool = False, offer_starttls: bool = True, uidplus: bool = True,
                 delivery_delay: float = 0.0, banner_name: str | None = None, ehlo_name: str | None = None,
                 footer: str | None = None, address: str = "127.0.0.1"):
        self.hostname = hostname
        self.context = context
        self.dkim_key = dkim_key  # (domain, selector, private key PEM)
        self.submission_security = submission_security
        self.auth_before_tls = auth_before_tls
        self.offer_starttls = offer_starttls
        self.uidplus = uidplus
        self.delivery_delay = delivery_delay
        self.banner_name = banner_name or hostname
        self.ehlo_name = ehlo_name or hostname
        self.footer = footer
        self.address = address
        self.mailboxes = {name.lower(): _Mailbox(password) for name, password in mailboxes.items()}
        self.auth_attempts: list[tuple[bool, str]] = []  # (over TLS, user) for every AUTH received
        self.ports: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []

    # -- the store -------------------------------------------------------------------------------------
    def inbox(self, address: str) -> list[bytes]:
        with self._lock:
            return [m.raw for m in self.mailboxes[address.lower()].messages]

    def _deliver(self, mail_from: str, rcpt: str, data: bytes) -> None:
        raw = b"Return-Path: <%s>\r\nDelivered-To: %s\r\n" % (mail_from.encode(), rcpt.encode()) + data
        with self._lock:
            box = self.mailboxes[rcpt.lower()]
            box.messages.append(_Stored(box.next_uid, raw))
            box.next_uid += 1

    def _accept(self, mail_from: str, rcpts: list[str], data: bytes, client: str) -> str:
        queue_id = os.urandom(5).hex().upper()
        message = email.message_from_bytes(data)
        from_domain = email.utils.parseaddr(message.get("From", ""))[1].rpartition("@")[2].lower()
        if self.dkim_key and from_domain == self.dkim_key[0]:
            domain, selector, key = self.dkim_key
            signature = dkim.sign(data, selector.encode(), domain.encode(), key,
                                  include_headers=[b"from", b"to", b"subject", b"date", b"message-id",
                                                   b"mime-version", b"content-type"])
            data = signature + data
        if self.footer:
            data = data.rstrip(b"\r\n") + b"\r\n" + self.footer.encode() + b"\r\n"
        received = ("Received: from client (localhost [%s])\r\n\tby %s (Postfix) with ESMTPSA id %s\r\n"
                    "\tfor <%s>; %s\r\n" % (client, self.hostname, queue_id, rcpts[0],
                                            email.utils.formatdate(localtime=True))).encode()
        data = received + data
        for rcpt in rcpts:
            if self.delivery_delay:
                timer = threading.Timer(self.delivery_delay, self._deliver, (mail_from, rcpt, data))
                timer.daemon = True
                timer.start()
            else:
                self._deliver(mail_from, rcpt, data)
        return queue_id

    # -- SMTP ------------------------------------------------------------------------------------------
    def _smtp(self, conn: _Conn, role: str, client: str) -> None:
        if role == "submission" and self.submission_security == "tls":
            conn.start_tls(self.context)
        conn.line("220 %s ESMTP Postfix (Debian/GNU)" % self.banner_name)
        user, mail_from, rcpts = None, None, []
        while True:
            line = conn.readline().decode("utf-8", "replace").rstrip("\r\n")
            verb, _sep, arg = line.partition(" ")
            verb = verb.upper()
            auth_allowed = role == "submission" and (conn.tls or self.auth_before_tls)
            if verb in ("EHLO", "HELO"):
                mail_from, rcpts = None, []
                features = ["PIPELINING", "SIZE 10240000"]
                if not conn.tls and self.offer_starttls:
                    features.append("STARTTLS")
                if auth_allowed:
                    features.append("AUTH PLAIN LOGIN")
                features += ["ENHANCEDSTATUSCODES", "8BITMIME", "SMTPUTF8"]
                lines = [self.ehlo_name] + features
                conn.send("".join("250%s%s\r\n" % ("-" if i < len(lines) - 1 else " ", text)
                                  for i, text in enumerate(lines)).encode())
            elif verb == "STARTTLS":
                if conn.tls or not self.offer_starttls:
                    conn.line("554 5.5.1 Error: TLS already active" if conn.tls else "502 5.5.1 Error: command not implemented")
                    continue
                conn.line("220 2.0.0 Ready to start TLS")
                try:
                    conn.start_tls(self.context)
                except (ssl.SSLError, OSError):
                    return  # the client did not accept the certificate
                user, mail_from, rcpts = None, None, []
            elif verb == "AUTH":
                if not auth_allowed:
                    conn.line("503 5.5.1 Error: authentication not enabled")
                    continue
                user = self._smtp_auth(conn, arg)
            elif verb == "MAIL":
                match = re.match(r"(?i)FROM:\s*<([^>]*)>", arg)
                if role == "submission" and user is None:
                    conn.line("530 5.7.0 Must issue a STARTTLS command first" if not conn.tls
                              else "530 5.7.0 Authentication required")
                elif not match:
                    conn.line("501 5.5.4 Syntax: MAIL FROM:<address>")
                else:
                    mail_from, rcpts = match.group(1), []
                    conn.line("250 2.1.0 Ok")
            elif verb == "RCPT":
                match = re.match(r"(?i)TO:\s*<([^>]*)>", arg)
                if mail_from is None:
                    conn.line("503 5.5.1 Error: need MAIL command")
                elif not match or match.group(1).lower() not in self.mailboxes:
                    conn.line("550 5.1.1 <%s>: Recipient address rejected: User unknown in virtual mailbox table"
                              % (match.group(1) if match else arg))
                else:
                    rcpts.append(match.group(1))
                    conn.line("250 2.1.5 Ok")
            elif verb == "DATA":
                if not rcpts:
                    conn.line("554 5.5.1 Error: no valid recipients")
                    continue
                conn.line("354 End data with <CR><LF>.<CR><LF>")
                lines = []
                while True:
                    data_line = conn.readline()
                    if data_line in (b".\r\n", b".\n"):
                        break
                    lines.append(data_line[1:] if data_line.startswith(b".") else data_line)
                queue_id = self._accept(mail_from, rcpts, b"".join(lines), client)
                conn.line("250 2.0.0 Ok: queued as %s" % queue_id)
                mail_from, rcpts = None, []
            elif verb == "RSET":
                mail_from, rcpts = None, []
                conn.line("250 2.0.0 Ok")
            elif verb == "NOOP":
                conn.line("250 2.0.0 Ok")
            elif verb == "QUIT":
                conn.line("221 2.0.0 Bye")
                return
            else:
                conn.line("502 5.5.2 Error: command not recognized")

    def _smtp_auth(self, conn: _Conn, arg: str) -> str | None:
        mechanism, _sep, initial = arg.partition(" ")
        mechanism = mechanism.upper()
        try:
            if mechanism == "PLAIN":
                if not initial:
                    conn.line("334 ")
                    initial = conn.readline().decode().strip()
                _authzid, user, password = base64.b64decode(initial).decode("utf-8").split("\0")
            elif mechanism == "LOGIN":
                if initial:
                    user = base64.b64decode(initial).decode("utf-8")
                else:
                    conn.line("334 VXNlcm5hbWU6")
                    user = base64.b64decode(conn.readline().strip()).decode("utf-8")
                conn.line("334 UGFzc3dvcmQ6")
                password = base64.b64decode(conn.readline().strip()).decode("utf-8")
            else:
                conn.line("535 5.7.8 Error: authentication failed: Invalid authentication mechanism")
                return None
        except (ValueError, UnicodeError):
            conn.line("501 5.5.2 Cannot decode response")
            return None
        self.auth_attempts.append((conn.tls, user))
        box = self.mailboxes.get(user.lower())
        if box is None or box.password != password:
            conn.line("535 5.7.8 Error: authentication failed: authentication failure")
            return None
        conn.line("235 2.7.0 Authentication successful")
        return user

    # -- IMAP ------------------------------------------------------------------------------------------
    def _capabilities(self, logged_in: bool) -> str:
        words = "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+"
        if logged_in:
            words += " SORT THREAD=REFERENCES MULTIAPPEND UNSELECT CHILDREN NAMESPACE UIDPLUS" if self.uidplus else \
                " SORT THREAD=REFERENCES MULTIAPPEND UNSELECT CHILDREN NAMESPACE"
        else:
            words += " AUTH=PLAIN"
        return words

    def _imap(self, conn: _Conn, client: str) -> None:
        conn.start_tls(self.context)
        conn.line("* OK [CAPABILITY %s] Dovecot (Debian) ready." % self._capabilities(False))
        box, selected, seen_exists = None, False, 0
        while True:
            line = conn.readline().decode("utf-8", "replace").rstrip("\r\n")
            tokens = re.findall(r'"(?:\\.|[^"\\])*"|\([^)]*\)|\S+', line)
            if len(tokens) < 2:
                conn.line("* BAD Error in IMAP command received by server.")
                continue
            tag, command, args = tokens[0], tokens[1].upper(), [_unquote(t) for t in tokens[2:]]
            if command == "UID" and args:
                command, args = "UID " + args[0].upper(), args[1:]
            if command == "CAPABILITY":
                conn.line("* CAPABILITY %s" % self._capabilities(box is not None))
                conn.line("%s OK Capability completed." % tag)
            elif command == "LOGIN" and len(args) == 2:
                candidate = self.mailboxes.get(args[0].lower())
                if candidate is None or candidate.password != args[1]:
                    time.sleep(0.05)
                    conn.line("%s NO [AUTHENTICATIONFAILED] Authentication failed." % tag)
                else:
                    box = candidate
                    conn.line("%s OK [CAPABILITY %s] Logged in" % (tag, self._capabilities(True)))
            elif command == "LOGOUT":
                conn.line("* BYE Logging out")
                conn.line("%s OK Logout completed." % tag)
                return
            elif box is None:
                conn.line("%s BAD Error in IMAP command %s: Not logged in." % (tag, command))
            elif command == "SELECT" and args and args[0].upper() == "INBOX":
                with self._lock:
                    seen_exists = len(box.messages)
                    uid_next = box.next_uid
                conn.line(r"* FLAGS (\Answered \Flagged \Deleted \Seen \Draft)")
                conn.line("* %d EXISTS" % seen_exists)
                conn.line("* 0 RECENT")
                conn.line("* OK [UIDVALIDITY 1700000000] UIDs valid")
                conn.line("* OK [UIDNEXT %d] Predicted next UID" % uid_next)
                conn.line("%s OK [READ-WRITE] Select completed." % tag)
                selected = True
            elif not selected:
                conn.line("%s BAD Error in IMAP command %s: No mailbox selected." % (tag, command))
            elif command == "NOOP":
                with self._lock:
                    exists = len(box.messages)
                if exists != seen_exists:
                    conn.line("* %d EXISTS" % exists)
                    seen_exists = exists
                conn.line("%s OK NOOP completed." % tag)
            elif command == "UID SEARCH" and len(args) == 3 and args[0].upper() == "HEADER":
                field, needle = args[1].lower(), args[2].lower()
                with self._lock:
                    found = [m.uid for m in box.messages[:seen_exists]
                             if any(needle in str(v).lower()
                                    for v in email.message_from_bytes(m.raw).get_all(field) or [])]
                conn.line("* SEARCH%s" % "".join(" %d" % uid for uid in found))
                conn.line("%s OK Search completed." % tag)
            elif command == "UID FETCH" and len(args) == 2 and args[1].upper() == "(BODY.PEEK[])":
                with self._lock:
                    hits = [(i + 1, m) for i, m in enumerate(box.messages) if str(m.uid) == args[0]]
                for seq, stored in hits:
                    conn.send(b"* %d FETCH (UID %d BODY[] {%d}\r\n" % (seq, stored.uid, len(stored.raw))
                              + stored.raw + b")\r\n")
                conn.line("%s OK Fetch completed." % tag)
            elif command == "UID STORE" and len(args) == 3 and args[1].upper() in ("+FLAGS", "+FLAGS.SILENT"):
                flags = set(args[2].strip("()").split())
                with self._lock:
                    for stored in box.messages:
                        if str(stored.uid) == args[0]:
                            stored.flags |= flags
                conn.line("%s OK Store completed." % tag)
            elif command in ("EXPUNGE", "UID EXPUNGE"):
                if command == "UID EXPUNGE" and (not self.uidplus or len(args) != 1):
                    conn.line("%s BAD Error in IMAP command UID: Unknown command." % tag)
                    continue
                with self._lock:
                    keep, gone = [], []
                    for index, stored in enumerate(box.messages):
                        if "\\Deleted" in stored.flags and (command == "EXPUNGE" or str(stored.uid) == args[0]):
                            gone.append(index + 1)
                        else:
                            keep.append(stored)
                    box.messages[:] = keep
                    seen_exists -= len(gone)
                for seq in reversed(gone):
                    conn.line("* %d EXPUNGE" % seq)
                conn.line("%s OK Expunge completed." % tag)
            else:
                conn.line("%s BAD Error in IMAP command %s: Unknown command." % (tag, command))

    # -- serving ---------------------------------------------------------------------------------------
    def start(self) -> MailNode:
        services: dict[str, Callable[[_Conn, str], None]] = {
            "submission": lambda conn, client: self._smtp(conn, "submission", client),
            "smtp": lambda conn, client: self._smtp(conn, "smtp", client),
            "imaps": self._imap,
        }
        for name, handler in services.items():
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.address, 0))
            sock.listen(16)
            sock.settimeout(0.2)
            self._sockets.append(sock)
            self.ports[name] = sock.getsockname()[1]
            thread = threading.Thread(target=self._accept_loop, args=(sock, handler), daemon=True, name="mail-" + name)
            thread.start()
            self._threads.append(thread)
        return self

    def _accept_loop(self, sock: socket.socket, handler: Callable[[_Conn, str], None]) -> None:
        while not self._stop.is_set():
            try:
                client, peer = sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            client.settimeout(10)
            threading.Thread(target=self._session, args=(client, peer[0], handler), daemon=True).start()

    @staticmethod
    def _session(client: socket.socket, peer: str, handler: Callable[[_Conn, str], None]) -> None:
        conn = _Conn(client)
        with contextlib.suppress(EOFError, OSError, ssl.SSLError):
            handler(conn, peer)
        with contextlib.suppress(OSError):
            conn.sock.close()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=2)
        for sock in self._sockets:
            sock.close()

    def __enter__(self) -> MailNode:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _unquote(token: str) -> str:
    if len(token) >= 2 and token.startswith('"') and token.endswith('"'):
        return re.sub(r"\\(.)", r"\1", token[1:-1])
    return token
