#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cloudflare_zone
short_description: A Cloudflare zone present or absent in an account, and its activation
description:
  - Makes the zone O(name) exist (or not) in the Cloudflare account O(account_id), through Cloudflare API v4
    (C(GET /accounts), C(GET /zones?name=...&account.id=...), C(POST /zones), C(GET /zones/{id}), C(DELETE /zones/{id})).
  - Reads first - a zone already in the account is left as it is (no write), whatever its status.
  - Returns the two nameservers Cloudflare assigned to the zone, which the domain's registrar must show
    (see M(coldrig.infra.registrar_nameservers)), and the zone's status - C(pending) until Cloudflare sees
    them at the registry, then C(active).
  - With O(wait), polls the zone until it is C(active), for at most O(wait_timeout) seconds. On timeout it
    fails with the nameservers it expected and those the domain's NS records answer now, asked through DNS
    (O(resolvers), or the system's resolver).
  - Before a zone is created, and in check mode too, O(account_id) must be among the accounts the token can use
    (C(GET /accounts)), so that a wrong account id fails before any write.
  - In check mode nothing is written; a zone to create is reported without nameservers (Cloudflare assigns
    them at creation).
  - Runs on the controller (C(delegate_to=localhost) or a play on localhost).
version_added: 0.2.0
author:
  - coldrig maintainers (@coldrig)
options:
  name:
    description: The domain, e.g. C(outreach-example.com).
    type: str
    required: true
  account_id:
    description: The Cloudflare account the zone is in (32 hexadecimal characters, shown on the account's overview page).
    type: str
    required: true
  state:
    description: C(present) creates the zone when missing; C(absent) deletes it with all its records.
    type: str
    choices: [present, absent]
    default: present
  type:
    description: The zone type. C(full) - Cloudflare is the domain's DNS host (the only type coldrig uses).
    type: str
    choices: [full]
    default: full
  wait:
    description: Wait until Cloudflare reports the zone C(active) (O(state=present) only).
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait at most with O(wait), 1 to 86400.
    type: int
    default: 600
  poll_interval:
    description: Seconds between two reads of the zone while waiting, 0.1 to 3600.
    type: float
    default: 30
  resolvers:
    description:
      - DNS servers, C(address) or C(ipv4-address:port), asked for the domain's NS records when O(wait) times out.
        Default the controller's system resolver.
    type: list
    elements: str
    default: []
  api_token:
    description: A Cloudflare API token allowed C(Zone:Edit). Default from E(CLOUDFLARE_API_TOKEN). Never shown in any output.
    type: str
    required: true
  api_base_url:
    description: Cloudflare API's URL.
    type: str
    default: https://api.cloudflare.com/client/v4
  timeout:
    description: Seconds to wait for one answer.
    type: float
    default: 30
  max_retries:
    description: How often a failed call (429, 5xx, timeout) is tried again, honouring C(Retry-After).
    type: int
    default: 5
requirements:
  - httpx, tenacity and dnspython on the controller
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Add the domain to Cloudflare
  coldrig.infra.cloudflare_zone:
    name: outreach-example.com
    account_id: 023e105f4ecef8ad9ca31a8372d0c353
    api_token: "{{ vault_cloudflare_token }}"
  delegate_to: localhost
  register: zone

- name: Point the domain at the nameservers Cloudflare assigned
  coldrig.infra.registrar_nameservers:
    registrar: namecheap
    domain: outreach-example.com
    nameservers: "{{ zone.name_servers }}"
    api_user: "{{ vault_namecheap_user }}"
    api_key: "{{ vault_namecheap_key }}"
    client_ip: 203.0.113.10
  delegate_to: localhost

- name: Wait until Cloudflare sees them (at most an hour)
  coldrig.infra.cloudflare_zone:
    name: outreach-example.com
    account_id: 023e105f4ecef8ad9ca31a8372d0c353
    api_token: "{{ vault_cloudflare_token }}"
    wait: true
    wait_timeout: 3600
  delegate_to: localhost
"""

RETURN = r"""
zone_id:
  description: The zone's id (none when the zone is absent, or in check mode before it is created).
  returned: success
  type: str
  sample: 023e105f4ecef8ad9ca31a8372d0c353
name_servers:
  description: The nameservers Cloudflare assigned to the zone.
  returned: success
  type: list
  elements: str
  sample: [ada.ns.cloudflare.com, bob.ns.cloudflare.com]
original_name_servers:
  description: The nameservers the domain had when the zone was created, as Cloudflare recorded them.
  returned: success
  type: list
  elements: str
  sample: [dns1.registrar-servers.com, dns2.registrar-servers.com]
status:
  description: The zone's status - C(pending), C(active) (others as Cloudflare reports them); C(absent) when there is no zone.
  returned: success
  type: str
  sample: pending
requests:
  description: How many API calls the module made.
  returned: always
  type: int
"""

import ipaddress
import time
import traceback

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.coldrig.infra.plugins.module_utils import cloudflare
from ansible_collections.coldrig.infra.plugins.module_utils.validate import ValidationError, check_domain, cloudflare_account_id_problem

try:
    import dns.exception
    import dns.resolver
    HAS_DNSPYTHON = True
    DNSPYTHON_IMPORT_ERROR = None
except ImportError:
    HAS_DNSPYTHON = False
    DNSPYTHON_IMPORT_ERROR = traceback.format_exc()

ACCOUNT_ID_FIX = "does not exist or the token cannot use it; copy the id from the account's overview page in the dashboard"


class ZoneError(Exception):
    pass


def check_account_id(value):
    reason = cloudflare_account_id_problem(value)
    if reason:
        raise ValidationError("account_id", value, "%s; %s" % (reason, ACCOUNT_ID_FIX))
    return value.strip().lower()


def parse_resolvers(values):
    """[(address, port)] from ``host`` or ``host:port`` items (an IPv6 address without a port as it is)."""
    servers = []
    for index, item in enumerate(values or []):
        field = "resolvers[%d]" % index
        host, port = item, "53"
        if item.count(":") == 1:
            host, port = item.split(":")
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise ValidationError(field, item, "has a port that is not 1-65535")
        if not _is_ip(host):
            raise ValidationError(field, item, "is not an IP address, or IPv4 address:port")
        servers.append((host, int(port)))
    return servers


def _is_ip(text):
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def public_nameservers(domain, servers, timeout=5.0):
    """The domain's NS records as DNS answers them now, or a sentence saying why there is no answer."""
    resolver = dns.resolver.Resolver(configure=not servers)
    if servers:
        resolver.nameservers = [host for host, _port in servers]
        resolver.nameserver_ports = dict((host, port) for host, port in servers)
    resolver.lifetime = timeout
    try:
        answer = resolver.resolve(domain, "NS")
    except dns.exception.DNSException as exc:
        return "no NS answer (%s)" % (str(exc) or type(exc).__name__)
    return ", ".join(sorted(r.target.to_text(omit_final_dot=True).lower() for r in answer))


def zone_error(exc, params):
    codes = [e.get("code") for e in exc.errors]
    if 1067 in codes:
        return "account_id: %r %s (%s)" % (params["account_id"], ACCOUNT_ID_FIX, exc)
    if exc.status in (401, 403) or set(codes) & {9109, 9103, 9106, 6111, 10000}:
        return "api_token: Cloudflare refused the token (%s); give a token allowed Zone:Edit on account %s" % (exc, params["account_id"])
    if 1061 in codes:
        return "name: %s is already a zone in another Cloudflare account, or the token cannot read it (%s)" % (params["name"], exc)
    if 1049 in codes:
        return "name: %r is not a registered domain for Cloudflare (%s); register it first" % (params["name"], exc)
    return str(exc)


def report(result, zone):
    result["zone_id"] = zone["id"]
    result["status"] = zone.get("status")
    result["name_servers"] = list(zone.get("name_servers") or [])
    result["original_name_servers"] = list(zone.get("original_name_servers") or [])


def wait_active(module, client, zone, result, name):
    params = module.params
    deadline = time.monotonic() + params["wait_timeout"]
    while zone.get("status") != "active":
        if time.monotonic() >= deadline:
            now = public_nameservers(name, parse_resolvers(params["resolvers"]))
            raise ZoneError("zone %s is still %s after %ds: the registry must show its NS records %s; "
                            "the domain's NS records answer now: %s. Set them at the registrar "
                            "(coldrig.infra.registrar_nameservers), then run again"
                            % (name, zone.get("status"), params["wait_timeout"], ", ".join(zone.get("name_servers") or []), now))
        time.sleep(min(params["poll_interval"], max(0.0, deadline - time.monotonic())))
        zone = client.zone(zone["id"])
        report(result, zone)
    return zone


def run(module, client, result):
    params = module.params
    name = check_domain(params["name"], "name")
    account_id = check_account_id(params["account_id"])
    if not 1 <= params["wait_timeout"] <= 86400:
        raise ValidationError("wait_timeout", params["wait_timeout"], "is not 1-86400 seconds")
    if not 0.1 <= params["poll_interval"] <= 3600:
        raise ValidationError("poll_interval", params["poll_interval"], "is not 0.1-3600 seconds")
    parse_resolvers(params["resolvers"])
    found = [z for z in client.zones(name=name, account_id=account_id) if z.get("name", "").lower() == name]
    zone = found[0] if found else None
    result.update(zone_id=None, status="absent", name_servers=[], original_name_servers=[])
    if zone is not None:
        report(result, zone)
    if params["state"] == "absent":
        if zone is None:
            return
        result["changed"] = True
        if module._diff:
            result["diff"] = {"before": "zone %s (%s)\n" % (name, zone.get("status")), "after": ""}
        if not module.check_mode:
            client.delete_zone(zone["id"])
        result.update(zone_id=None, status="absent", name_servers=[], original_name_servers=[])
        return
    if zone is None:
        # before any write, and in check mode too: the account must be one the token can use
        if account_id not in [str(a.get("id", "")).lower() for a in client.accounts()]:
            raise ZoneError("account_id: %r %s (it is not among the accounts this token can use, GET /accounts)"
                            % (params["account_id"], ACCOUNT_ID_FIX))
        result["changed"] = True
        if module._diff:
            result["diff"] = {"before": "", "after": "zone %s (%s, account %s)\n" % (name, params["type"], account_id)}
        if module.check_mode:
            result["status"] = "pending"
            return
        zone = client.create_zone(name, account_id, params["type"])
        report(result, zone)
    if params["wait"] and not module.check_mode:
        wait_active(module, client, zone, result, name)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            account_id=dict(type="str", required=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            type=dict(type="str", choices=["full"], default="full"),
            wait=dict(type="bool", default=False),
            wait_timeout=dict(type="int", default=600),
            poll_interval=dict(type="float", default=30),
            resolvers=dict(type="list", elements="str", default=[]),
            api_token=dict(type="str", required=True, no_log=True, fallback=(env_fallback, ["CLOUDFLARE_API_TOKEN"])),
            api_base_url=dict(type="str", default=cloudflare.DEFAULT_BASE_URL),
            timeout=dict(type="float", default=30),
            max_retries=dict(type="int", default=5),
        ),
        supports_check_mode=True,
    )
    if not cloudflare.HAS_CLOUDFLARE_DEPS:
        module.fail_json(msg=missing_required_lib("httpx and tenacity"), exception=cloudflare.CLOUDFLARE_DEPS_ERROR)
    if not HAS_DNSPYTHON:
        module.fail_json(msg=missing_required_lib("dnspython"), exception=DNSPYTHON_IMPORT_ERROR)
    params = module.params
    result = {"changed": False, "requests": 0}
    client, failure = None, None
    try:
        client = cloudflare.CloudflareClient(params["api_token"], base_url=params["api_base_url"], timeout=params["timeout"],
                                             max_retries=params["max_retries"])
        run(module, client, result)
    except (ValidationError, ZoneError) as exc:
        failure = str(exc)
    except cloudflare.CloudflareError as exc:
        failure = zone_error(exc, params) if client is not None else "api_token: %s" % exc
    finally:
        if client is not None:
            result["requests"] = client.request_count
            client.close()
    if failure:
        module.fail_json(msg=failure, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
