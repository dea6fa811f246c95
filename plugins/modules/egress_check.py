#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: egress_check
short_description: Can this node open outbound SMTP connections (TCP port 25)?
description:
  - Runs on the node. Opens a TCP connection to each of O(hosts) on O(port) (25 unless a host says
    otherwise), all at once, each with a short O(timeout), and with O(read_banner) reads the server's
    greeting (C(220 ...)). Nothing is sent.
  - Fails when fewer hosts answer than O(require) asks for, with a table of every host and what to do on
    the node's provider - so that nobody warms up a node that cannot deliver mail.
  - Hetzner Cloud blocks outbound ports 25 and 465 on its cloud servers until an unblock request is granted;
    DigitalOcean blocks port 25 on droplets of new accounts and does not lift it as a rule. Both drop the
    packets upstream of the server, so a blocked port shows as a timeout, not a refusal.
  - Read-only, so it runs in check mode as it does otherwise.
  - Needs only Python's standard library on the node (Python 3.6 or later).
version_added: 0.1.0
author:
  - coldrig maintainers (@coldrig)
options:
  hosts:
    description:
      - Mail servers to try, C(host) or C(host:port) (C([2001:db8::25]:2525) for an IPv6 address with a port).
      - The default is the inbound MX host of Gmail, Outlook.com/Hotmail, Yahoo and iCloud Mail.
      - A name that does not resolve is reported for that host and counts as not reached.
    type: list
    elements: str
    default: [gmail-smtp-in.l.google.com, hotmail-com.olc.protection.outlook.com, mta5.am0.yahoodns.net, mx01.mail.icloud.com]
  port:
    description: The port of every host that does not name its own.
    type: int
    default: 25
  timeout:
    description: Seconds to wait for each connection, and again for its banner.
    type: float
    default: 5
  require:
    description: C(any) passes when one host answers; C(all) only when every host does.
    type: str
    default: any
    choices: [any, all]
  family:
    description: Which addresses to connect to. C(ipv4) and C(ipv6) take the first address of that family; C(any) the first address.
    type: str
    default: ipv4
    choices: [ipv4, ipv6, any]
  read_banner:
    description: After connecting, read the server's first line (its C(220) greeting).
    type: bool
    default: true
  provider:
    description:
      - Where the node runs, only for the advice in the failure message; usually C({{ coldrig_provider }}).
    type: str
    default: other
    choices: [hcloud, digitalocean, lab, other]
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
seealso:
  - module: coldrig.infra.server
"""

EXAMPLES = r"""
- name: Fail early when port 25 is blocked
  coldrig.infra.egress_check:
    provider: "{{ coldrig_provider }}"

- name: Two hosts that must both answer, ten seconds each
  coldrig.infra.egress_check:
    hosts: [gmail-smtp-in.l.google.com, "relay.example.net:2525"]
    require: all
    timeout: 10
"""

RETURN = r"""
results:
  description: One entry per host, in the order of O(hosts).
  returned: always
  type: list
  elements: dict
  contains:
    host:
      description: The host as given, without its port.
      type: str
    port:
      description: The port tried.
      type: int
    address:
      description: The address connected to (none when the name did not resolve).
      type: str
    connected:
      description: Whether the TCP connection was made.
      type: bool
    banner:
      description: The server's first line, when O(read_banner) and it sent one in time.
      type: str
    error:
      description: Why there is no connection (or no banner), e.g. C(timed out after 5 s).
      type: str
    seconds:
      description: How long the attempt took.
      type: float
reachable:
  description: How many hosts answered.
  returned: always
  type: int
passed:
  description: Whether O(require) is met.
  returned: always
  type: bool
advice:
  description: What to do on the node's provider, when the check failed.
  returned: when the check failed
  type: str
"""

import socket
import threading
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.coldrig.infra.plugins.module_utils.host_port import parse_host_port

DEFAULT_HOSTS = ["gmail-smtp-in.l.google.com", "hotmail-com.olc.protection.outlook.com", "mta5.am0.yahoodns.net",
                 "mx01.mail.icloud.com"]

ADVICE = {
    "hcloud": (
        "Hetzner Cloud blocks outbound TCP ports 25 and 465 on its cloud servers by default, upstream of the server "
        "(its own firewall looks open; connections time out). Ask Hetzner to lift the block for the project: a "
        "support request in the Hetzner Console (an unblock request for sending mail), which Hetzner grants to "
        "established accounts, usually not before the first invoice is paid. Run this check again once it is "
        "granted; until then the node cannot deliver mail."),
    "digitalocean": (
        "DigitalOcean blocks outbound TCP port 25 on the droplets of new accounts (support article 'Why is SMTP "
        "blocked?') and, as a rule, does not lift it: it recommends a mail delivery service instead. Ask support "
        "whether the account qualifies; otherwise put the mail hosts on a provider that allows port 25, or relay "
        "through a smarthost on port 587. Do not warm up this node."),
    "lab": (
        "Lab nodes reach the outside through QEMU user networking, so this machine's own network decides: many "
        "networks and CI runners block outbound port 25. That is a property of where the lab runs, not a fault of "
        "the node."),
    "other": (
        "Check the provider's policy on outbound port 25 (many block it for new accounts until asked), and "
        "the node's own firewall (an nftables output rule) and any security group or cloud firewall in front of it."),
}


def resolve(host, port, family):
    """The first address of ``family`` for host:port, as (family, sockaddr)."""
    families = {"ipv4": socket.AF_INET, "ipv6": socket.AF_INET6, "any": socket.AF_UNSPEC}
    infos = socket.getaddrinfo(host, port, families[family], socket.SOCK_STREAM, socket.IPPROTO_TCP)
    if not infos:
        raise socket.gaierror("no %s address" % family)
    info = infos[0]
    return info[0], info[4]


def try_host(host, port, family, timeout, read_banner):
    """One attempt: the result entry for this host."""
    entry = {"host": host, "port": port, "address": None, "connected": False, "banner": None, "error": None}
    start = time.time()
    try:
        try:
            sock_family, sockaddr = resolve(host, port, family)
        except (socket.gaierror, UnicodeError) as exc:
            entry["error"] = "cannot resolve %s (%s address): %s" % (host, family, getattr(exc, "strerror", None) or exc)
            return entry
        entry["address"] = sockaddr[0]
        sock = socket.socket(sock_family, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            try:
                sock.connect(sockaddr)
            except socket.timeout:
                entry["error"] = "timed out after %g s (dropped on the way: typical of a provider's port block)" % timeout
                return entry
            except OSError as exc:
                entry["error"] = "%s (a firewall rejecting it, or nothing listening)" % (exc.strerror or exc)
                return entry
            entry["connected"] = True
            if read_banner:
                data = b""
                try:
                    while b"\n" not in data and len(data) < 512:
                        chunk = sock.recv(512)
                        if not chunk:
                            break
                        data += chunk
                except socket.timeout:
                    entry["error"] = "connected, but no greeting within %g s" % timeout
                except OSError as exc:
                    entry["error"] = "connected, but reading the greeting failed: %s" % (exc.strerror or exc)
                line = data.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8", "replace")
                if line:
                    entry["banner"] = line
                elif entry["error"] is None:
                    entry["error"] = "connected, but the server closed the connection without a greeting"
        finally:
            sock.close()
        return entry
    finally:
        entry["seconds"] = round(time.time() - start, 3)


def check_all(targets, family, timeout, read_banner):
    """Try every (host, port) at once; the entries in the order given."""
    results = [None] * len(targets)

    def worker(index, host, port):
        results[index] = try_host(host, port, family, timeout, read_banner)

    threads = []
    for index, (host, port) in enumerate(targets):
        thread = threading.Thread(target=worker, args=(index, host, port))
        thread.daemon = True
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join(2 * timeout + 30)
    for index, (host, port) in enumerate(targets):
        if results[index] is None:
            results[index] = {"host": host, "port": port, "address": None, "connected": False, "banner": None,
                              "error": "no answer from the attempt (hung)", "seconds": None}
    return results


def table(results):
    rows = [("host", "port", "address", "result")]
    for entry in results:
        if entry["connected"]:
            outcome = "connected" + (": %s" % entry["banner"] if entry["banner"] else "")
            if entry["error"] and not entry["banner"]:
                outcome = entry["error"]
        else:
            outcome = entry["error"] or "not connected"
        rows.append((entry["host"], str(entry["port"]), entry["address"] or "-", outcome))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join("  %s  %s  %s  %s" % (row[0].ljust(widths[0]), row[1].ljust(widths[1]),
                                           row[2].ljust(widths[2]), row[3]) for row in rows)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            hosts=dict(type="list", elements="str", default=list(DEFAULT_HOSTS)),
            port=dict(type="int", default=25),
            timeout=dict(type="float", default=5.0),
            require=dict(type="str", default="any", choices=["any", "all"]),
            family=dict(type="str", default="ipv4", choices=["ipv4", "ipv6", "any"]),
            read_banner=dict(type="bool", default=True),
            provider=dict(type="str", default="other", choices=["hcloud", "digitalocean", "lab", "other"]),
        ),
        supports_check_mode=True,
    )
    params = module.params
    if not params["hosts"]:
        module.fail_json(msg="hosts: give at least one mail server to try")
    if not 0 < params["port"] < 65536:
        module.fail_json(msg="port: %d is not a TCP port" % params["port"])
    if not 0 < params["timeout"] <= 120:
        module.fail_json(msg="timeout: %g is not between 0 and 120 seconds" % params["timeout"])
    targets = []
    for index, text in enumerate(params["hosts"]):
        try:
            targets.append(parse_host_port(text, params["port"]))
        except ValueError as exc:
            module.fail_json(msg="hosts[%d]: %s" % (index, exc))

    results = check_all(targets, params["family"], params["timeout"], params["read_banner"])
    reachable = sum(1 for entry in results if entry["connected"])
    passed = reachable == len(results) if params["require"] == "all" else reachable > 0
    result = dict(changed=False, results=results, reachable=reachable, passed=passed)
    if not passed:
        advice = ADVICE[params["provider"]]
        ports = sorted(set(port for _host, port in targets))
        wanted = "every host" if params["require"] == "all" else "at least one host"
        result["advice"] = advice
        module.fail_json(msg="outbound SMTP (TCP port %s) does not get through from this node: %d of %d hosts "
                             "answered, %s must.\n%s\n%s" % (
                                 ", ".join(str(p) for p in ports), reachable, len(results), wanted,
                                 table(results), advice), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
