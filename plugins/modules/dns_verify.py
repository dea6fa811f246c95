#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: dns_verify
short_description: Wait until a zone's authoritative servers answer the expected records
description:
  - Asks every authoritative nameserver of the zone (found through its NS records), or the servers
    given in O(servers), for each expected record, without recursion, and polls until all of them
    answer it or O(timeout) passes.
  - Values are compared in the same canonical form as M(coldrig.infra.dns_records) (TXT quotes and
    255-byte splitting do not matter, nor trailing dots or letter case of host names).
  - On timeout it fails with a table of what each server is missing or answers differently.
  - In check mode it looks once and reports, without waiting or failing.
version_added: 0.1.0
author:
  - coldrig maintainers (@coldrig)
options:
  zone:
    description: The zone the records belong to.
    type: str
    required: true
  records:
    description: The expected records, in the format of M(coldrig.infra.dns_records).
    type: list
    elements: dict
    required: true
  servers:
    description:
      - Servers to ask, as C(host), C(host:port) or C([ipv6]:port). Host names are resolved.
      - When empty, the zone's NS records are looked up with the system resolver and all their
        addresses are asked.
    type: list
    elements: str
    default: []
  port:
    description: Port for servers given without one.
    type: int
    default: 53
  exact:
    description: Also fail when a server answers values beyond the expected ones at an expected (name, type).
    type: bool
    default: false
  timeout:
    description: Seconds to keep polling before failing.
    type: int
    default: 300
  interval:
    description: Seconds between polls.
    type: float
    default: 2
  query_timeout:
    description: Seconds to wait for one answer.
    type: float
    default: 3
requirements:
  - dnspython
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Wait until the lab DNS server answers the mail records
  coldrig.infra.dns_verify:
    zone: example.com
    servers: ["127.0.0.1:10053"]
    records: "{{ mail_records }}"
    timeout: 60
  delegate_to: localhost

- name: Wait until every Cloudflare nameserver of the zone answers them
  coldrig.infra.dns_verify:
    zone: example.com
    records: "{{ mail_records }}"
  delegate_to: localhost
"""

RETURN = r"""
records:
  description: One entry per expected record, with its status on each server.
  returned: always
  type: list
  elements: dict
  sample:
    - {name: example.com, type: MX, expected: "10 mail.example.com", status: ok,
       servers: {"127.0.0.1:10053": {status: ok, answer: ["10 mail.example.com"]}}}
servers:
  description: The servers asked, as C(address:port).
  returned: always
  type: list
  elements: str
polls:
  description: How many times the servers were asked.
  returned: always
  type: int
elapsed:
  description: Seconds spent.
  returned: always
  type: float
"""

import socket
import time

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.coldrig.infra.plugins.module_utils import rfc2136
from ansible_collections.coldrig.infra.plugins.module_utils.dns_records import RecordError, desired_records, normalise_zone

if rfc2136.HAS_DNSPYTHON:
    import dns.exception
    import dns.flags
    import dns.message
    import dns.query
    import dns.rcode
    import dns.rdatatype
    import dns.resolver


def split_server(text, default_port):
    text = text.strip()
    if text.startswith("["):
        host, _sep, rest = text[1:].partition("]")
        return host, int(rest.lstrip(":") or default_port)
    if text.count(":") == 1:
        host, port = text.split(":")
        return host, int(port)
    return text, default_port


def resolve_servers(zone, servers, default_port):
    """(address, port) pairs: the given servers, or the zone's NS addresses."""
    targets = []
    if servers:
        for entry in servers:
            host, port = split_server(entry, default_port)
            infos = socket.getaddrinfo(host, port, 0, socket.SOCK_DGRAM)
            for info in infos:
                targets.append((info[4][0], port))
    else:
        for ns in dns.resolver.resolve(zone + ".", "NS"):
            host = ns.target.to_text()
            for rtype in ("A", "AAAA"):
                try:
                    targets.extend((a.to_text(), default_port) for a in dns.resolver.resolve(host, rtype))
                except (dns.resolver.NoAnswer, dns.resolver.NXDOMAIN):
                    continue
    seen = []
    for target in targets:
        if target not in seen:
            seen.append(target)
    return seen


def label(target):
    address, port = target
    return ("[%s]:%d" if ":" in address else "%s:%d") % (address, port)


def ask(target, fqdn, rtype, timeout):
    """The canonical values one server answers for (fqdn, type); None when it did not answer."""
    query = dns.message.make_query(fqdn + ".", rtype)
    query.flags &= ~dns.flags.RD
    try:
        response = dns.query.udp(query, target[0], port=target[1], timeout=timeout)
        if response.flags & dns.flags.TC:
            response = dns.query.tcp(query, target[0], port=target[1], timeout=timeout)
    except (dns.exception.DNSException, OSError) as exc:
        return None, "no answer (%s)" % type(exc).__name__
    if response.rcode() not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
        return None, dns.rcode.to_text(response.rcode())
    values = []
    for rrset in response.answer:
        if dns.rdatatype.to_text(rrset.rdtype) == rtype:
            values.extend(rfc2136.record_from_rdata(fqdn, rdata, rrset.ttl) for rdata in rrset)
    return values, None


def shown(record):
    if record.priority is not None:
        return "%d %s" % (record.priority, record.content)
    return record.content


def poll(targets, expected, exact, timeout):
    pairs = []
    for record in expected:
        if record.pair not in pairs:
            pairs.append(record.pair)
    answers = {}
    for target in targets:
        for fqdn, rtype in pairs:
            answers[(target, fqdn, rtype)] = ask(target, fqdn, rtype, timeout)
    report = []
    for record in expected:
        entry = {"name": record.name, "type": record.type, "expected": shown(record), "servers": {}}
        for target in targets:
            values, error = answers[(target, record.name, record.type)]
            if values is None:
                status, answer = "unreachable", [error]
            else:
                keys = [v.key for v in values]
                answer = sorted(shown(v) for v in values)
                wanted = [r.key for r in expected if r.pair == record.pair]
                if record.key not in keys:
                    status = "different" if values else "missing"
                elif exact and sorted(keys) != sorted(wanted):
                    status = "different"
                else:
                    status = "ok"
            entry["servers"][label(target)] = {"status": status, "answer": answer}
        entry["status"] = "ok" if all(s["status"] == "ok" for s in entry["servers"].values()) else "pending"
        report.append(entry)
    return report


def table(report):
    lines = ["%-40s %-5s %-22s %-11s %s" % ("NAME", "TYPE", "SERVER", "STATUS", "EXPECTED / ANSWERED")]
    for entry in report:
        for server, result in sorted(entry["servers"].items()):
            if result["status"] == "ok":
                continue
            answered = "; ".join(result["answer"]) or "(nothing)"
            columns = (entry["name"], entry["type"], server, result["status"], entry["expected"][:60], answered[:80])
            lines.append("%-40s %-5s %-22s %-11s %s / %s" % columns)
    return "\n".join(lines)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            zone=dict(type="str", required=True),
            records=dict(type="list", elements="dict", required=True),
            servers=dict(type="list", elements="str", default=[]),
            port=dict(type="int", default=53),
            exact=dict(type="bool", default=False),
            timeout=dict(type="int", default=300),
            interval=dict(type="float", default=2.0),
            query_timeout=dict(type="float", default=3.0),
        ),
        supports_check_mode=True,
    )
    if not rfc2136.HAS_DNSPYTHON:
        module.fail_json(msg=missing_required_lib("dnspython"), exception=rfc2136.DNSPYTHON_IMPORT_ERROR)
    params = module.params
    try:
        zone = normalise_zone(params["zone"])
        expected = desired_records(params["records"], zone)
    except RecordError as exc:
        module.fail_json(msg=str(exc))
    try:
        targets = resolve_servers(zone, params["servers"], params["port"])
    except (socket.gaierror, ValueError) as exc:
        module.fail_json(msg="servers: cannot resolve %s: %s" % (params["servers"], exc))
    except dns.exception.DNSException as exc:
        module.fail_json(msg="zone: cannot find the nameservers of %s (%s); give servers explicitly" % (zone, exc))
    if not targets:
        module.fail_json(msg="servers: no nameserver address found for %s" % zone)

    start = time.monotonic()
    deadline = start + params["timeout"]
    polls = 0
    while True:
        polls += 1
        report = poll(targets, expected, params["exact"], params["query_timeout"])
        done = all(entry["status"] == "ok" for entry in report)
        if done or module.check_mode or time.monotonic() + params["interval"] > deadline:
            break
        time.sleep(params["interval"])
    result = dict(changed=False, records=report, servers=[label(t) for t in targets], polls=polls,
                  elapsed=round(time.monotonic() - start, 2))
    if not done and not module.check_mode:
        pending = sum(1 for entry in report if entry["status"] != "ok")
        module.fail_json(msg="%d of %d records of %s are not answered by every server after %d s:\n%s"
                         % (pending, len(report), zone, params["timeout"], table(report)), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
