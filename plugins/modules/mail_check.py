#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: mail_check
short_description: Send a real message through a mail node and judge it as a receiver would
description:
  - Runs on the controller (C(delegate_to=localhost)). Logs in to the node's SMTP submission service as
    O(sender), sends a plain-text message to O(recipient) with a unique token in its Subject and Message-ID,
    waits until it is in the recipient's INBOX over IMAPS, fetches it, and checks it the way a receiving
    mail server would.
  - C(tls) - submission used TLS (STARTTLS, or implicit TLS with O(smtp_security=tls)) with a certificate
    verified for O(tls_server_name) before any AUTH, and did not offer AUTH before STARTTLS.
  - C(dkim) - a C(DKIM-Signature) whose C(d=) lies in the From domain's organizational domain verifies (dkimpy)
    against the public key published in DNS.
  - C(spf) - the sending domain's SPF policy (pyspf) authorises O(public_ipv4) (and O(public_ipv6) when given)
    for the envelope sender of the delivered message (its C(Return-Path)) with HELO O(mail_host).
  - C(dmarc) - the From domain's DMARC record (RFC 7489, found at C(_dmarc.<domain>) or at the organizational
    domain) parses, and the DKIM or the SPF pass is aligned with the From domain under its C(adkim)/C(aspf) mode.
  - C(ptr_helo) - the PTR of each public address is exactly O(mail_host), whose A/AAAA gives the address back
    (forward-confirmed), and the node's port 25 announces O(mail_host) in its 220 banner and its EHLO reply.
    Postfix uses the same name (C($myhostname)) as its HELO when it delivers.
  - SPF is evaluated for the node's public address, not for the address the submission connection came from.
    A receiver on the internet sees the node's public address; the controller's connection to submission
    does not show what a receiver sees (in the lab it arrives through QEMU's NAT from C(10.0.2.2), and locally
    delivered mail is not SPF-checked by the node at all).
  - Every DNS lookup (DKIM key, SPF and what it includes, DMARC, PTR, A/AAAA) goes to O(dns_servers).
  - Fails when a check listed in O(required) fails, or when the message could not be sent or did not arrive,
    with the table of all checks in the message. Passwords never appear in the output.
  - In check mode nothing is sent and nothing is looked up; every check is reported as C(skip).
version_added: 0.1.0
author:
  - coldrig maintainers (@coldrig)
options:
  mail_host:
    description: The node's FQDN, its mail host name, expected as PTR, HELO name and (by default) certificate name.
    type: str
    required: true
  public_ipv4:
    description: The node's public IPv4 address, the source address receivers see; usually C({{ coldrig_public_ipv4 }}).
    type: str
    required: true
  public_ipv6:
    description: The node's public IPv6 address, when it sends over IPv6 too; then SPF and PTR must hold for it as well.
    type: str
  sender:
    description: The mailbox that sends, and logs in to submission.
    type: dict
    required: true
    suboptions:
      email:
        description: Its address, also its login name and the envelope sender.
        type: str
        required: true
      password:
        description: Its password.
        type: str
        required: true
  recipient:
    description: The mailbox that receives, read over IMAPS. May be on the same node as O(sender).
    type: dict
    required: true
    suboptions:
      email:
        description: Its address, also its IMAP login name.
        type: str
        required: true
      password:
        description: Its password.
        type: str
        required: true
  smtp_host:
    description: Address or name to connect to for submission. Defaults to O(public_ipv4).
    type: str
  smtp_port:
    description: Submission port. Defaults to C(587) for O(smtp_security=starttls) and C(465) for C(tls).
    type: int
  smtp_security:
    description: C(starttls) (port 587) or C(tls), implicit TLS (port 465). Plain text is never used.
    type: str
    default: starttls
    choices: [starttls, tls]
  imap_host:
    description: Address or name of the IMAPS service (implicit TLS). Defaults to O(smtp_host).
    type: str
  imap_port:
    description: IMAPS port.
    type: int
    default: 993
  smtp25_host:
    description: Address or name of the node's MTA port (port 25) whose banner and EHLO reply are read. Defaults to O(smtp_host).
    type: str
  smtp25_port:
    description: The node's port 25 as reachable from the controller (in the lab it is forwarded, C({{ coldrig_lab.ports.smtp }})).
    type: int
    default: 25
  tls_ca_file:
    description:
      - PEM file of the CA that issued the node's certificate, trusted instead of the system store.
      - In the lab, the root certificate of the lab's ACME server. Unset, the system's CA store is used.
    type: path
  tls_server_name:
    description:
      - The name the node's certificate is verified for, and sent in SNI. Defaults to O(mail_host).
      - Needed because the controller may connect to an address (in the lab C(127.0.100.N)) that is not the certificate's name.
    type: str
  dns_servers:
    description:
      - Servers for every DNS lookup, as C(host), C(host:port) or C([ipv6]:port). They are asked with recursion
        desired, so a recursive resolver works, and so does an authoritative server of every zone the checks
        touch (the lab's Knot DNS server, C(127.0.0.1:<port>)).
      - Empty means the system resolver.
    type: list
    elements: str
    default: []
  required:
    description:
      - Checks whose failure fails the task. The others are reported, and a failure among them is a warning.
      - When C(tls) is not required, a certificate that does not verify is reported as a failed C(tls) check and
        the message is still sent over that (unverified) TLS connection, and read over unverified IMAPS. When it is
        required, no password is sent over a connection whose certificate does not verify.
    type: list
    elements: str
    choices: [tls, dkim, spf, dmarc, ptr_helo]
    default: [tls, dkim, spf, dmarc, ptr_helo]
  timeout:
    description: Seconds to wait for the message to arrive in the recipient's INBOX.
    type: int
    default: 60
  interval:
    description: Seconds between two looks into the INBOX.
    type: float
    default: 1
  connect_timeout:
    description: Seconds to wait for a connection and for each SMTP or IMAP reply.
    type: float
    default: 10
  query_timeout:
    description: Seconds to wait for one DNS answer.
    type: float
    default: 5
  delete_after:
    description:
      - Delete the test message from the recipient's INBOX once fetched (C(UID EXPUNGE); a server without
        UIDPLUS gets the message marked C(\Deleted) only, so that no other message is expunged).
    type: bool
    default: true
requirements:
  - dnspython >= 2.4
  - dkimpy (and pynacl for ed25519 keys)
  - pyspf >= 2.0.14
  - publicsuffixlist
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: In check mode nothing is sent or looked up; every check is C(skip).
  diff_mode:
    support: none
  platform:
    platforms: posix
seealso:
  - module: coldrig.infra.dns_verify
  - module: coldrig.infra.dkim_key
"""

EXAMPLES = r"""
- name: Send a message through node1 and check it (lab)
  coldrig.infra.mail_check:
    mail_host: "{{ coldrig_ptr }}"
    public_ipv4: "{{ coldrig_public_ipv4 }}"
    smtp_port: "{{ coldrig_lab.ports.submission }}"
    imap_port: "{{ coldrig_lab.ports.imaps }}"
    smtp25_port: "{{ coldrig_lab.ports.smtp }}"
    dns_servers: ["{{ coldrig_lab_dns.server }}:{{ coldrig_lab_dns.port }}"]
    tls_ca_file: "{{ coldrig_lab_ca_file }}"
    sender: {email: "{{ mailboxes[0].email }}", password: "{{ mailboxes[0].password }}"}
    recipient: {email: "{{ mailboxes[1].email }}", password: "{{ mailboxes[1].password }}"}
  delegate_to: localhost
  register: check

- name: On a cloud node, with the public DNS and the system CA store
  coldrig.infra.mail_check:
    mail_host: "{{ coldrig_ptr }}"
    public_ipv4: "{{ coldrig_public_ipv4 }}"
    public_ipv6: "{{ coldrig_public_ipv6 | default(omit, true) }}"
    sender: {email: a@example.com, password: "{{ vault_a_password }}"}
    recipient: {email: b@example.com, password: "{{ vault_b_password }}"}
    required: [tls, dkim, spf, dmarc]
  delegate_to: localhost
"""

RETURN = r"""
checks:
  description: One entry per check, in the order tls, dkim, spf, dmarc, ptr_helo.
  returned: always
  type: list
  elements: dict
  contains:
    check:
      description: C(tls), C(dkim), C(spf), C(dmarc) or C(ptr_helo).
      type: str
    result:
      description: C(pass), C(fail), or C(skip) (check mode, or nothing to check because the message did not arrive).
      type: str
    required:
      description: Whether the check is in O(required).
      type: bool
    detail:
      description: What was found, in words.
      type: str
  sample:
    - {check: dkim, result: pass, required: true, detail: "d=example.com s=s1 pass, key at s1._domainkey.example.com"}
table:
  description: The checks as an aligned text table.
  returned: always
  type: str
  sample: |-
    CHECK     RESULT  REQUIRED  DETAIL
    tls       pass    yes       TLSv1.3 TLS_AES_256_GCM_SHA384, STARTTLS on 127.0.100.1:5587, certificate verified for node1.lab.coldrig.test
    dkim      pass    yes       d=example.com s=s1 pass, key at s1._domainkey.example.com
message_id:
  description: The Message-ID of the test message.
  returned: when a message was sent
  type: str
  sample: <coldrig-check-20260101120000-1a2b3c4d5e6f@example.com>
seconds:
  description: Seconds from the end of the submission to the message's arrival in the INBOX.
  returned: when the message arrived
  type: float
deleted:
  description: Whether the message was expunged from the recipient's INBOX.
  returned: when the message arrived
  type: bool
smtp_reply:
  description: The submission server's reply to the message's data, with its queue id (to find it in the node's mail log).
  returned: when the message was accepted
  type: str
  sample: "250 2.0.0 Ok: queued as 4F3A2B1C9D"
elapsed:
  description: Seconds the whole check took.
  returned: always
  type: float
imap_tls:
  description: The IMAPS connection's TLS (C(version), C(cipher), C(verified), C(server_name), C(error)).
  returned: when the message arrived
  type: dict
tls:
  description: The submission connection's TLS.
  returned: when a submission connection was made
  type: dict
  contains:
    version:
      description: Protocol version, e.g. C(TLSv1.3).
      type: str
    cipher:
      description: Cipher suite.
      type: str
    verified:
      description: Whether the certificate was verified for O(tls_server_name).
      type: bool
    auth_before_tls:
      description: Whether the server offered AUTH before STARTTLS.
      type: bool
    server_name:
      description: The name the certificate was verified for.
      type: str
    error:
      description: Why the certificate was not verified, or why there is no TLS.
      type: str
dkim:
  description: The DKIM verdict.
  returned: when the message arrived
  type: dict
  contains:
    domain:
      description: C(d=) of the signature judged.
      type: str
    selector:
      description: C(s=) of the signature judged.
      type: str
    result:
      description: C(pass), C(fail) or C(none) (no signature).
      type: str
    signatures:
      description: Every DKIM-Signature, with its domain, selector, algorithm, result and error.
      type: list
      elements: dict
spf:
  description: The SPF verdict (pyspf).
  returned: when the message arrived
  type: dict
  contains:
    result:
      description: C(pass) when every public address passes, else the first other result.
      type: str
    explanation:
      description: pyspf's explanation for that result.
      type: str
    sender:
      description: The envelope sender evaluated.
      type: str
    addresses:
      description: The result for each public address.
      type: dict
dmarc:
  description: The DMARC verdict.
  returned: when the message arrived
  type: dict
  contains:
    policy:
      description: The policy that applies to the From domain (C(p=), or C(sp=) for a subdomain).
      type: str
    dkim_aligned:
      description: Whether a verified DKIM signature is aligned with the From domain.
      type: bool
    spf_aligned:
      description: Whether the SPF pass is aligned with the From domain.
      type: bool
    record:
      description: The DMARC record found.
      type: str
ptr_helo:
  description: The reverse DNS and the names announced on port 25.
  returned: unless in check mode
  type: dict
  contains:
    ptr:
      description: The PTR names of each public address.
      type: dict
    banner:
      description: The first line of the port 25 banner.
      type: str
    ehlo:
      description: The first line of the EHLO reply.
      type: str
    forward:
      description: The mail host's A (and AAAA) addresses.
      type: dict
"""

import ipaddress
import time

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.coldrig.infra.plugins.module_utils import mail_auth, mail_probe

CHECKS = list(mail_auth.CHECKS)


class MailCheck(object):
    """One check: send, fetch, judge. Results go into self.result; self.outcomes holds (result, detail) per check."""

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.outcomes = {}
        self.result = {"changed": False}
        self.problem = None  # why the message could not be judged (the step that failed)

    def set(self, check, result, detail):
        self.outcomes[check] = (result, detail)

    # -- the flow ------------------------------------------------------------------------------------
    def run(self, client):
        p = self.params
        sender, recipient = p["sender"]["email"].strip(), p["recipient"]["email"].strip()
        smtp_host = p["smtp_host"] or p["public_ipv4"]
        smtp_port = p["smtp_port"] or (465 if p["smtp_security"] == "tls" else 587)
        imap_host = p["imap_host"] or smtp_host
        server_name = mail_auth.normalise_host(p["tls_server_name"] or p["mail_host"])
        try:
            context = mail_probe.tls_context(p["tls_ca_file"])
        except ValueError as exc:
            self.module.fail_json(msg=str(exc))
        fallback = None if "tls" in p["required"] else mail_probe.tls_context(verify=False)

        token = mail_probe.new_token()
        message = mail_probe.build_message(sender, recipient, token, server_name)
        self.result["message_id"] = message["Message-ID"]
        raw = None
        try:
            sent = mail_probe.submit(smtp_host, smtp_port, p["smtp_security"], server_name, context, sender,
                                     p["sender"]["password"], sender, recipient, message.as_bytes(),
                                     timeout=p["connect_timeout"], fallback_context=fallback)
            self.result["tls"] = sent["tls"]
            self.result["smtp_reply"] = sent["reply"]
            self.tls_outcome(sent["tls"], smtp_host, smtp_port)
            got = mail_probe.fetch_message(imap_host, p["imap_port"], server_name, context, recipient,
                                           p["recipient"]["password"], token, timeout=p["timeout"],
                                           interval=p["interval"], io_timeout=p["connect_timeout"],
                                           delete=p["delete_after"], fallback_context=fallback)
            raw = got["raw"]
            self.result.update(seconds=got["seconds"], deleted=got["deleted"], imap_tls=got["tls"])
            self.result["changed"] = not got["deleted"]
        except mail_probe.ProbeError as exc:
            self.problem = str(exc)
            if exc.tls is not None:
                self.result["tls"] = exc.tls
                self.tls_outcome(exc.tls, smtp_host, smtp_port)
            elif "tls" not in self.outcomes:
                self.set("tls", "fail" if exc.step == "submission" else "skip", "not established: %s" % exc)

        if raw is not None:
            self.judge(client, raw, sender)
        else:
            for check in ("dkim", "spf", "dmarc"):
                self.set(check, "skip", "no message to judge (%s)" % self.problem)
        self.ptr_helo(client, smtp_host)

    def tls_outcome(self, tls, host, port):
        where = "%s on %s" % ("STARTTLS" if tls["security"] == "starttls" else "implicit TLS",
                              mail_probe.endpoint(host, port))
        if tls.get("version") is None:
            self.set("tls", "fail", "%s: %s" % (where, tls.get("error") or "no TLS"))
            return
        text = "%s %s, %s" % (tls["version"], tls["cipher"], where)
        problems = []
        if tls["verified"]:
            text += ", certificate verified for %s" % tls["server_name"]
        else:
            problems.append(tls.get("error") or "certificate not verified")
        if tls.get("auth_before_tls"):
            problems.append("AUTH is offered before STARTTLS (Postfix: smtpd_tls_auth_only = yes)")
        if problems:
            self.set("tls", "fail", "%s; %s" % (text, "; ".join(problems)))
        else:
            self.set("tls", "pass", text)

    def judge(self, client, raw, sender):
        p = self.params
        parsed, envelope, from_address = mail_probe.parse_message(raw)
        from_domain = mail_auth.email_domain(from_address) or mail_auth.email_domain(sender)
        received_id = (parsed.get("Message-ID") or "").strip()
        if received_id != self.result["message_id"]:
            self.problem = "the fetched message has Message-ID %r, not %r" % (received_id, self.result["message_id"])

        # DKIM
        try:
            dkim_outcome = mail_auth.verify_dkim(raw, client, from_domain)
        except Exception as exc:  # dkimpy raises assorted errors on a malformed message
            dkim_outcome = {"result": "fail", "domain": None, "selector": None, "signatures": [],
                            "error": "%s: %s" % (type(exc).__name__, exc)}
        self.result["dkim"] = dkim_outcome
        detail = dkim_outcome.get("error") or mail_auth.dkim_detail(dkim_outcome, from_domain)
        self.set("dkim", "pass" if dkim_outcome["result"] == "pass" else "fail", detail)

        # SPF, for every public address, as receivers see it
        if envelope:
            spf_sender, note = envelope, "Return-Path"
        else:
            spf_sender, note = sender, "no Return-Path in the delivered message; the envelope sender given"
        addresses = [p["public_ipv4"]] + ([p["public_ipv6"]] if p["public_ipv6"] else [])
        per_address = {}
        for address in addresses:
            result, explanation = mail_auth.check_spf(client, address, spf_sender, mail_auth.normalise_host(p["mail_host"]))
            per_address[address] = {"result": result, "explanation": explanation}
        failing = [a for a in addresses if per_address[a]["result"] != "pass"]
        overall = per_address[failing[0]] if failing else per_address[addresses[0]]
        self.result["spf"] = {"result": overall["result"], "explanation": overall["explanation"],
                              "sender": spf_sender, "addresses": per_address}
        spf_domain = mail_auth.email_domain(spf_sender)
        words = ", ".join("%s %s" % (a, per_address[a]["result"]) for a in addresses)
        self.set("spf", "fail" if failing else "pass", "%s for %s (%s), HELO %s: %s" % (
            words, spf_sender, note, mail_auth.normalise_host(p["mail_host"]), overall["explanation"]))

        # DMARC
        self.dmarc(client, from_address, from_domain, dkim_outcome, not failing, spf_domain)

    def dmarc(self, client, from_address, from_domain, dkim_outcome, spf_pass, spf_domain):
        self.result["dmarc"] = {"policy": None, "dkim_aligned": False, "spf_aligned": False, "record": None}
        if not from_address:
            self.set("dmarc", "fail", "the delivered message does not have exactly one From address")
            return
        try:
            text, where = mail_auth.find_dmarc(client, from_domain)
        except (mail_auth.DnsError, mail_auth.DmarcError) as exc:
            self.set("dmarc", "fail", "record lookup: %s" % exc)
            return
        if text is None:
            self.set("dmarc", "fail", "no DMARC record at _dmarc.%s%s" % (from_domain, self._org_note(from_domain)))
            return
        self.result["dmarc"]["record"] = text
        try:
            record = mail_auth.parse_dmarc(text)
        except mail_auth.DmarcError as exc:
            self.set("dmarc", "fail", "the record at _dmarc.%s is not usable: %s" % (where, exc))
            return
        verified = [s["domain"] for s in dkim_outcome.get("signatures", []) if s["result"] == "pass"]
        verdict = mail_auth.evaluate_dmarc(record, where, from_domain, verified, "pass" if spf_pass else "fail", spf_domain)
        self.result["dmarc"].update(policy=verdict["policy"], dkim_aligned=verdict["dkim_aligned"],
                                    spf_aligned=verdict["spf_aligned"], adkim=verdict["adkim"], aspf=verdict["aspf"],
                                    record_domain=verdict["record_domain"], warnings=record["warnings"])
        detail = "p=%s (record at _dmarc.%s); DKIM %s (adkim=%s), SPF %s (aspf=%s)" % (
            verdict["policy"], where, "aligned" if verdict["dkim_aligned"] else "not aligned", verdict["adkim"],
            "aligned" if verdict["spf_aligned"] else "not aligned", verdict["aspf"])
        if verdict["policy"] == "none" and verdict["result"] == "pass":
            detail += "; note p=none asks receivers to take no action on failures"
        self.set("dmarc", verdict["result"], detail)

    @staticmethod
    def _org_note(domain):
        org = mail_auth.organizational_domain(domain)
        return " nor at _dmarc.%s" % org if org != domain else ""

    def ptr_helo(self, client, smtp_host):
        p = self.params
        greeting, greeting_error = None, None
        try:
            greeting = mail_probe.read_greeting(p["smtp25_host"] or smtp_host, p["smtp25_port"], timeout=p["connect_timeout"])
        except mail_probe.ProbeError as exc:
            greeting_error = str(exc)
        addresses = [p["public_ipv4"]] + ([p["public_ipv6"]] if p["public_ipv6"] else [])
        passed, problems, facts = mail_auth.check_ptr_helo(
            client, p["mail_host"], addresses,
            banner_name=greeting["banner_name"] if greeting else None,
            ehlo_name=greeting["ehlo_name"] if greeting else None)
        if greeting_error:
            passed = False
            problems.append("no banner to compare (%s)" % greeting_error)
        facts.update(banner=greeting["banner"] if greeting else None, ehlo=greeting["ehlo"] if greeting else None)
        self.result["ptr_helo"] = facts
        host = mail_auth.normalise_host(p["mail_host"])
        if passed:
            self.set("ptr_helo", "pass", "PTR of %s = %s (forward-confirmed) = 220 banner = EHLO name"
                     % (", ".join(addresses), host))
        else:
            self.set("ptr_helo", "fail", "; ".join(problems))


def validate(module):
    p = module.params
    for field in ("sender", "recipient"):
        if not mail_auth.valid_email(p[field]["email"]):
            module.fail_json(msg="%s.email: %r is not an email address" % (field, p[field]["email"]))
    if not mail_auth.valid_host(p["mail_host"]):
        module.fail_json(msg="mail_host: %r is not a fully qualified host name" % p["mail_host"])
    if p["tls_server_name"] and not mail_auth.valid_host(p["tls_server_name"]):
        module.fail_json(msg="tls_server_name: %r is not a host name" % p["tls_server_name"])
    for field, version in (("public_ipv4", 4), ("public_ipv6", 6)):
        if p[field] is None:
            continue
        try:
            address = ipaddress.ip_address(p[field].strip())
        except ValueError:
            address = None
        if address is None or address.version != version:
            module.fail_json(msg="%s: %r is not an IPv%d address" % (field, p[field], version))
        p[field] = address.compressed
    for field in ("smtp_port", "imap_port", "smtp25_port"):
        if p[field] is not None and not 0 < p[field] < 65536:
            module.fail_json(msg="%s: %d is not a TCP port" % (field, p[field]))
    for field in ("timeout", "interval", "connect_timeout", "query_timeout"):
        if p[field] <= 0:
            module.fail_json(msg="%s: must be more than 0, not %s" % (field, p[field]))
    if not p["required"]:
        module.warn("required: empty, so no failed check fails the task")


def main():
    module = AnsibleModule(
        argument_spec=dict(
            mail_host=dict(type="str", required=True),
            public_ipv4=dict(type="str", required=True),
            public_ipv6=dict(type="str"),
            sender=dict(type="dict", required=True, options=dict(
                email=dict(type="str", required=True),
                password=dict(type="str", required=True, no_log=True),
            )),
            recipient=dict(type="dict", required=True, options=dict(
                email=dict(type="str", required=True),
                password=dict(type="str", required=True, no_log=True),
            )),
            smtp_host=dict(type="str"),
            smtp_port=dict(type="int"),
            smtp_security=dict(type="str", default="starttls", choices=["starttls", "tls"]),
            imap_host=dict(type="str"),
            imap_port=dict(type="int", default=993),
            smtp25_host=dict(type="str"),
            smtp25_port=dict(type="int", default=25),
            tls_ca_file=dict(type="path"),
            tls_server_name=dict(type="str"),
            dns_servers=dict(type="list", elements="str", default=[]),
            required=dict(type="list", elements="str", choices=CHECKS, default=CHECKS),
            timeout=dict(type="int", default=60),
            interval=dict(type="float", default=1.0),
            connect_timeout=dict(type="float", default=10.0),
            query_timeout=dict(type="float", default=5.0),
            delete_after=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    missing = mail_auth.missing_libraries()
    if missing:
        module.fail_json(msg=missing_required_lib(", ".join(name for name, _error in missing)), exception=missing[0][1])
    validate(module)
    required = module.params["required"]
    check = MailCheck(module)
    start = time.monotonic()

    if module.check_mode:
        for name in CHECKS:
            check.set(name, "skip", "check mode: no message sent")
    else:
        try:
            client = mail_auth.DnsClient(module.params["dns_servers"], module.params["query_timeout"])
        except (ValueError, mail_auth.DnsError) as exc:
            module.fail_json(msg=str(exc))
        check.run(client)

    checks = [{"check": name, "result": check.outcomes[name][0], "required": name in required,
               "detail": check.outcomes[name][1]} for name in CHECKS]
    table = mail_auth.check_table(checks)
    result = check.result
    result.update(checks=checks, table=table, elapsed=round(time.monotonic() - start, 2))
    failed = [c["check"] for c in checks if c["result"] == "fail" and c["required"]]
    for entry in checks:
        if entry["result"] == "fail" and not entry["required"]:
            module.warn("mail_check: %s failed (not required): %s" % (entry["check"], entry["detail"]))
    if check.problem:
        module.fail_json(msg="%s\n%s" % (check.problem, table), **result)
    if failed:
        module.fail_json(msg="%s failed:\n%s" % (", ".join(failed), table), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
