#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: rdns
short_description: The PTR (reverse DNS) of a mail node's IPv4 and IPv6 address
description:
  - Receiving mail servers check that the sending address has a PTR and that it names the mail host
    (the HELO name). This module makes the PTR of a node's public addresses equal O(ptr).
  - B(Hetzner Cloud) sets PTRs through the API (C(change_dns_ptr)) - for the server's IPv4 address and for
    one address of its IPv6 /64, by default the C(::1) address Hetzner configures on the server. Only the
    PTRs that differ are changed (names compare without case or trailing dot), one after the other.
  - B(DigitalOcean) has no PTR API. It derives the PTR of a droplet's IPv4 and IPv6 address from the
    droplet's name when that is a fully qualified domain name. The module checks that the droplet is
    named O(ptr), and fails with what to do when it is not - or, with O(rename=true), renames it (the
    droplet C(rename) action).
  - Runs on the controller (C(delegate_to=localhost) or a play on localhost).
version_added: 0.1.0
author:
  - coldrig maintainers (@coldrig)
options:
  name:
    description:
      - The server's (droplet's) name.
      - On DigitalOcean, when no droplet has this name but one is named O(ptr) (renamed by an earlier run), that one
        is used.
    type: str
    required: true
  ptr:
    description: The PTR name, the mail host's fully qualified name. Default O(name).
    type: str
  ipv4:
    description: Set (check) the PTR of the node's public IPv4 address.
    type: bool
    default: true
  ipv6:
    description:
      - Set (check) the PTR of its IPv6 address. On Hetzner that is O(ipv6_address), by default the C(::1) address of
        the server's /64. A node without IPv6 is skipped with a warning.
    type: bool
    default: true
  ipv6_address:
    description: Hetzner only - the address of the server's /64 whose PTR to set, instead of C(<network>::1).
    type: str
  rename:
    description:
      - DigitalOcean only - when the droplet is not named O(ptr), rename it (which makes DigitalOcean set the PTR)
        instead of failing.
    type: bool
    default: false
  wait:
    description: Wait until the provider's actions have finished.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for them.
    type: int
    default: 300
requirements:
  - hcloud (provider hcloud) or python-digitalocean (provider digitalocean) on the controller
  - httpx and tenacity on the controller
extends_documentation_fragment:
  - coldrig.infra.cloud
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
seealso:
  - module: coldrig.infra.server
"""

EXAMPLES = r"""
- name: PTR of the Hetzner server's IPv4 and IPv6 address = its mail host name
  coldrig.infra.rdns:
    provider: hcloud
    name: mx1.outreach-example.com
  delegate_to: localhost

- name: A droplet created as "mail-1" gets its PTR by being renamed
  coldrig.infra.rdns:
    provider: digitalocean
    name: mail-1
    ptr: mx1.outreach-example.com
    rename: true
  delegate_to: localhost
"""

RETURN = r"""
ptrs:
  description: The PTR of each address this module looked after (address to name), as it is after the run.
  returned: success
  type: dict
  sample: {198.51.100.7: mx1.outreach-example.com, "2001:db8:5:7::1": mx1.outreach-example.com}
changes:
  description:
    - What was changed (would be, in check mode).
    - On Hetzner one entry per address, with C(ip), C(before) and C(after); on DigitalOcean the rename, with C(rename)
      (the droplet id), C(before) and C(after).
  returned: success
  type: list
  elements: dict
"""

import ipaddress

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.coldrig.infra.plugins.module_utils import cloud
from ansible_collections.coldrig.infra.plugins.module_utils import digitalocean as do
from ansible_collections.coldrig.infra.plugins.module_utils import hcloud as hc


def argument_spec():
    return cloud.argument_spec(
        name=dict(type="str", required=True),
        ptr=dict(type="str"),
        ipv4=dict(type="bool", default=True),
        ipv6=dict(type="bool", default=True),
        ipv6_address=dict(type="str"),
        rename=dict(type="bool", default=False),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=300),
    )


def hcloud_ptrs(module, client, params, ptr):
    """The wanted {ip: ptr} of a Hetzner server, and the server."""
    name = params["name"]
    server = client.get_server_by_name(name)
    if server is None:
        raise cloud.CloudError("name: no server named %s in this Hetzner Cloud project" % name)
    facts = hc.server_facts(server)
    wanted = {}
    if params["ipv4"]:
        if not facts["hcloud_ipv4"]:
            raise cloud.CloudError("ipv4: server %s has no public IPv4 address; set ipv4: false" % name)
        wanted[facts["hcloud_ipv4"]] = ptr
    if params["ipv6"]:
        network = facts["hcloud_ipv6_network"]
        if params["ipv6_address"]:
            if not network:
                raise cloud.CloudError("ipv6_address: server %s has no IPv6 network" % name)
            try:
                address = ipaddress.ip_address(u"%s" % params["ipv6_address"])
            except ValueError:
                raise cloud.CloudError("ipv6_address: %r is not an IPv6 address" % params["ipv6_address"])
            if address.version != 6 or address not in ipaddress.ip_network(u"%s" % network):
                raise cloud.CloudError("ipv6_address: %s is not in the IPv6 network of server %s (%s)" % (
                    params["ipv6_address"], name, network))
            wanted[address.compressed] = ptr
        elif network:
            wanted[facts["hcloud_ipv6"]] = ptr
        else:
            module.warn("server %s has no IPv6 network: only the IPv4 PTR is set" % name)
    return server, wanted


def run_hcloud(module, params, ptr, token, endpoint, result):
    client = hc.HcloudClient(token, api_endpoint=endpoint)
    server, wanted = hcloud_ptrs(module, client, params, ptr)
    changes = client.plan_ptrs(server, wanted)
    current = hc.server_facts(server)["hcloud_dns_ptrs"]
    result["changes"] = changes
    result["changed"] = bool(changes)
    result["diff"] = {"before": dict((ip, current.get(ip)) for ip in wanted), "after": dict(wanted)}
    if changes and not module.check_mode:
        client.set_ptrs(server, wanted, wait=params["wait"], timeout=params["wait_timeout"])
    result["ptrs"] = dict(wanted)


def run_digitalocean(module, params, ptr, token, endpoint, result):
    if params["ipv6_address"]:
        raise cloud.CloudError("ipv6_address: DigitalOcean sets the PTR of the droplet's own IPv6 address only, "
                               "from its name; leave ipv6_address out")
    client = do.DigitalOceanClient(token, api_endpoint=endpoint)
    name = params["name"]
    droplet = client.get_droplet_by_name(name)
    if droplet is None and ptr != name.lower():
        droplet = client.get_droplet_by_name(ptr)  # renamed by an earlier run
    if droplet is None:
        raise cloud.CloudError("name: no droplet named %s%s" % (name, "" if ptr == name.lower() else " or %s" % ptr))
    facts = do.droplet_facts(droplet)
    current = facts["do_name"]
    result["changes"] = []
    if current.rstrip(".").lower() != ptr:
        if not params["rename"]:
            raise cloud.CloudError(
                "droplet %s (id %s) is named %s; DigitalOcean derives the PTR of its IPv4 and IPv6 address from the "
                "droplet name, so it cannot be %s: rename the droplet to %s - rename: true here does it through the "
                "droplet's rename action, or rename it in the control panel - and name droplets after their mail "
                "host from the start (coldrig.infra.server does)" % (name, facts["do_id"], current, ptr, ptr))
        result["changes"] = [{"rename": facts["do_id"], "before": current, "after": ptr}]
        result["changed"] = True
        if not module.check_mode:
            client.rename_droplet(droplet, ptr, wait=params["wait"], timeout=params["wait_timeout"])
    addresses = []
    if params["ipv4"]:
        if not facts["do_public_ipv4"]:
            raise cloud.CloudError("ipv4: droplet %s has no public IPv4 address (yet: it is %s); set ipv4: false or "
                                   "wait until it is active" % (current, facts["do_status"]))
        addresses.append(facts["do_public_ipv4"])
    if params["ipv6"]:
        if facts["do_public_ipv6"]:
            addresses.append(facts["do_public_ipv6"])
        else:
            module.warn("droplet %s has no IPv6 address: only the IPv4 PTR follows its name" % current)
    before_name = current.rstrip(".").lower() if do.is_fqdn(current) else None
    result["diff"] = {"before": dict((ip, before_name) for ip in addresses), "after": dict((ip, ptr) for ip in addresses)}
    result["ptrs"] = dict((ip, ptr) for ip in addresses)


def run(module, params, result):
    """Check the parameters, then make the node's PTRs ``ptr`` on its provider, filling ``result``."""
    provider = params["provider"]
    ptr = cloud.check_fqdn(params["ptr"] if params["ptr"] is not None else params["name"],
                           "ptr" if params["ptr"] is not None else "name")
    if params["wait_timeout"] <= 0:
        raise cloud.CloudError("wait_timeout: %d is not a positive number of seconds" % params["wait_timeout"])
    if not (params["ipv4"] or params["ipv6"]):
        raise cloud.CloudError("ipv4: both ipv4 and ipv6 are false; nothing to do")
    if params["ipv6_address"] and not params["ipv6"]:
        raise cloud.CloudError("ipv6_address: given with ipv6: false")
    token = cloud.token_from(provider, params["api_token"])
    endpoint = cloud.endpoint_from(provider, params["api_endpoint"])
    if provider == "hcloud":
        run_hcloud(module, params, ptr, token, endpoint, result)
    else:
        run_digitalocean(module, params, ptr, token, endpoint, result)


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    missing = cloud.missing_library(module.params["provider"])
    if missing:
        module.fail_json(msg=missing_required_lib(missing[0]), exception=missing[1])
    result = {"changed": False, "ptrs": {}, "changes": []}
    cloud.run_module(module, result, lambda: run(module, module.params, result))


if __name__ == "__main__":
    main()
