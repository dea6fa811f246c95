"""Checks of an onboarded lab node from the controller (molecule/onboard/verify.yml).

- every domain's exports: instantly.csv and smartlead.csv parse with the sequencers' exact
  headers, one row per mailbox with a password; mailboxes.json; files 0600 in a 0700 directory;
- IMAPS (verified against the lab ACME root, for the mail host's name) accepts a sample of
  the exported passwords and refuses a wrong one;
- ports 25, 465, 587 and 993 answer through the lab's forwards (SMTP banners, TLS) and a port
  the firewall does not open (the lab's 2022 forward) does not;
- each domain with an MTA-STS mode serves its policy at https://mta-sts.<domain>/.well-known/mta-sts.txt
  (through the lab's 443 forward, certificate verified for that name);
- a mailbox whose domain has a daily limit is deferred (4.7.1) once it reached it.
Exits non-zero with the reason on the first failure.
"""
import argparse
import csv
import imaplib
import json
import os
import smtplib
import socket
import ssl
import stat
import sys

INSTANTLY = ["Email", "Password", "SMTP_Host", "SMTP_Port", "SMTP_Username", "IMAP_Host", "IMAP_Port",
             "IMAP_Username", "Daily_Limit"]
SMARTLEAD = ["from_name", "from_email", "user_name", "password", "smtp_host", "smtp_port", "imap_host", "imap_port",
             "max_email_per_day", "warmup_enabled", "total_warmup_per_day", "daily_rampup"]


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def check_exports(exports, domain):
    folder = os.path.join(exports, domain["name"])
    if mode(folder) != 0o700:
        fail("%s is mode %o, not 700" % (folder, mode(folder)))
    with open(os.path.join(folder, "mailboxes.json"), encoding="utf-8") as handle:
        data = json.load(handle)
    boxes = data["mailboxes"]
    if len(boxes) != domain["mailboxes"] or not all(box.get("password") for box in boxes):
        fail("%s: %d mailboxes with passwords in mailboxes.json, expected %d" % (domain["name"], len(boxes), domain["mailboxes"]))
    for name, header in (("instantly.csv", INSTANTLY), ("smartlead.csv", SMARTLEAD)):
        path = os.path.join(folder, name)
        if mode(path) != 0o600:
            fail("%s is mode %o, not 600" % (path, mode(path)))
        with open(path, newline="", encoding="utf-8") as handle:
            table = list(csv.reader(handle))
        if table[0] != header:
            fail("%s: header %s is not %s" % (path, table[0], header))
        if sorted(row[0 if name == "instantly.csv" else 1] for row in table[1:]) != sorted(b["email"] for b in boxes):
            fail("%s: the rows are not the %d mailboxes" % (path, len(boxes)))
    for path in ("mailboxes.json",):
        if mode(os.path.join(folder, path)) != 0o600:
            fail("%s/%s is not mode 600" % (folder, path))
    print("exports of %s: %d mailboxes, headers exact, modes 0600/0700" % (domain["name"], len(boxes)))
    return boxes


class IMAPS(imaplib.IMAP4_SSL):
    """IMAPS to the lab address, with the certificate verified for the mail host's name."""

    def __init__(self, address, port, context, server_name):
        self._server_name = server_name
        super().__init__(address, port, ssl_context=context, timeout=30)

    def _create_socket(self, timeout):
        sock = socket.create_connection((self.host, self.port), timeout)
        return self.ssl_context.wrap_socket(sock, server_hostname=self._server_name)


class SMTPS(smtplib.SMTP_SSL):
    """SMTP with implicit TLS (465) to the lab address, verified for the mail host's name."""

    def __init__(self, address, port, context, server_name):
        self._server_name = server_name
        super().__init__(address, port, context=context, timeout=30)

    def _get_socket(self, host, port, timeout):
        sock = socket.create_connection((host, port), timeout)
        return self.context.wrap_socket(sock, server_hostname=self._server_name)


def check_imap(address, port, context, server_name, boxes):
    sample = [boxes[0], boxes[len(boxes) // 2], boxes[-1]]
    for box in sample:
        imap = IMAPS(address, port, context, server_name)
        try:
            imap.login(box["email"], box["password"])
            status, _data = imap.select("INBOX")
            if status != "OK":
                fail("IMAP SELECT INBOX of %s: %s" % (box["email"], status))
        finally:
            imap.logout()
    imap = IMAPS(address, port, context, server_name)
    try:
        imap.login(boxes[0]["email"], boxes[0]["password"] + "-wrong")
    except imaplib.IMAP4.error as exc:
        print("IMAPS: %d sample logins of %s work; a wrong password is refused (%s)" % (len(sample), boxes[0]["email"].split("@")[1], exc))
    else:
        fail("IMAP accepted a wrong password for %s" % boxes[0]["email"])
    finally:
        try:
            imap.logout()
        except (imaplib.IMAP4.error, OSError):
            pass


def check_ports(address, ports, context, server_name):
    with smtplib.SMTP(address, ports["smtp"], timeout=30) as smtp:
        code, banner = smtp.ehlo("check.lab.coldrig.test")
        if code != 250 or b"STARTTLS" not in banner:
            fail("port 25: EHLO %s %r" % (code, banner))
    with smtplib.SMTP(address, ports["submission"], timeout=30) as smtp:
        smtp._host = server_name  # pylint: disable=protected-access  # STARTTLS verifies for this name
        smtp.starttls(context=context)
        code, banner = smtp.ehlo("check.lab.coldrig.test")
        if code != 250 or b"AUTH" not in banner:
            fail("port 587 after STARTTLS: EHLO %s %r" % (code, banner))
    with SMTPS(address, ports["submissions"], context, server_name) as smtp:
        code, banner = smtp.ehlo("check.lab.coldrig.test")
        if code != 250 or b"AUTH" not in banner:
            fail("port 465: EHLO %s %r" % (code, banner))
    print("ports 25, 465 and 587 answer (STARTTLS, AUTH after TLS), 993 answered the logins")
    # 2022 is forwarded by the lab to the node, where the firewall drops it and nothing listens.
    sock = socket.socket()
    sock.settimeout(5)
    try:
        sock.connect((address, ports["ssh_alt"]))
        sock.settimeout(5)
        data = sock.recv(64)
    except OSError:
        data = b""
    finally:
        sock.close()
    if data:
        fail("port 2022 answered %r; the firewall should drop it" % data)
    print("a port the firewall does not open (2022) does not answer")


def check_mta_sts(address, port, context, domain):
    name = "mta-sts." + domain["name"]
    sock = socket.create_connection((address, port), timeout=30)
    with context.wrap_socket(sock, server_hostname=name) as tls:
        tls.sendall(("GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % name).encode())
        response = b""
        while True:
            chunk = tls.recv(4096)
            if not chunk:
                break
            response += chunk
    head, _sep, body = response.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200") or b"text/plain" not in head:
        fail("%s: %r" % (name, head[:200]))
    text = body.decode()
    if "version: STSv1" not in text or ("mode: %s" % domain["mta_sts_mode"]) not in text:
        fail("%s serves %r" % (name, text))
    print("https://%s/.well-known/mta-sts.txt: 200 text/plain, mode %s" % (name, domain["mta_sts_mode"]))


def check_daily_limit(address, port, context, server_name, domain, boxes):
    sender, recipient = boxes[0], boxes[-1]
    limit = domain["daily_limit"]
    accepted = 0
    with smtplib.SMTP(address, port, timeout=30) as smtp:
        smtp._host = server_name  # pylint: disable=protected-access
        smtp.starttls(context=context)
        smtp.login(sender["email"], sender["password"])
        for number in range(limit + 1):
            message = "From: %s\r\nTo: %s\r\nSubject: limit %d\r\n\r\ncount\r\n" % (
                sender["email"], recipient["email"], number)
            try:
                smtp.sendmail(sender["email"], [recipient["email"]], message)
                accepted += 1
            except smtplib.SMTPRecipientsRefused as exc:
                code, text = exc.recipients[recipient["email"]]
                if code // 100 != 4 or b"4.7.1" not in text:
                    fail("over the limit: %s %r, expected a 4.7.1 deferral" % (code, text))
                print("daily limit of %s: %d more accepted in this session, then %s %s"
                      % (sender["email"], accepted, code, text.decode()))
                return
    fail("%s sent %d messages past a daily limit of %d" % (sender["email"], accepted, limit))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--exports", required=True)
    parser.add_argument("--address", required=True)
    parser.add_argument("--server-name", required=True)
    parser.add_argument("--ca-file", required=True)
    parser.add_argument("--ports", required=True, type=json.loads)
    parser.add_argument("--domains", required=True, type=json.loads)
    args = parser.parse_args()
    context = ssl.create_default_context(cafile=args.ca_file)
    for domain in args.domains:
        boxes = check_exports(args.exports, domain)
        check_imap(args.address, args.ports["imaps"], context, args.server_name, boxes)
        if domain.get("mta_sts_mode"):
            check_mta_sts(args.address, args.ports["https"], context, domain)
    check_ports(args.address, args.ports, context, args.server_name)
    limited = [d for d in args.domains if d.get("daily_limit", 0) and d["daily_limit"] <= 5]
    for domain in limited:
        check_daily_limit(args.address, args.ports["submission"], context, args.server_name, domain,
                          check_exports(args.exports, domain))


if __name__ == "__main__":
    main()
