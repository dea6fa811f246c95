# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: hcloud
short_description: The servers of a Hetzner Cloud project
description:
  - Lists the servers of one Hetzner Cloud project through the Hetzner Cloud API, with the
    C(hcloud) Python library.
  - Every server gets the normalised host variables that all coldrig inventories share
    (C(coldrig_provider) = C(hcloud), C(coldrig_public_ipv4), C(coldrig_public_ipv6) (the
    C(::1) address of its /64), C(coldrig_ptr) (the PTR of its IPv4, else of its IPv6 address),
    C(coldrig_region) (the location, e.g. C(fsn1)), C(coldrig_size) (the server type, e.g.
    C(cx22)), C(coldrig_labels)), the Hetzner Cloud values under the prefix C(hcloud_), and
    C(ansible_host) as chosen by O(connect_with).
  - Servers join the group O(group), and C(coldrig_role_<role>) and C(coldrig_fleet_<fleet>)
    from their Hetzner labels C(coldrig_role) and C(coldrig_fleet).
  - With O(cache) on, a parse answered from the cache makes no API request at all. The cache
    entry belongs to the inventory file and to the options that choose servers (O(api_endpoint),
    O(label_selector), O(status), O(locations), O(types), O(network)); changing one of them
    fetches again. O(connect_with), O(hostname), O(group) and the constructed options apply to
    cached servers too.
  - The inventory file must end in C(hcloud.yml) or C(hcloud.yaml).
  - A failed API request (a wrong token, a 5xx that outlived the retries, a failure on any page
    of the listing) is an error with the provider's message, never the token, and no partial
    list of servers. Ansible only warns about a source that fails to parse unless
    C(unparsed_is_failed) and C(any_unparsed_is_failed) are set in the C([inventory]) section
    of C(ansible.cfg); set both, so that the run stops instead of going on without these nodes.
author:
  - coldrig maintainers (@coldrig)
requirements:
  - hcloud (the Hetzner Cloud Python library) >= 2.3
  - httpx >= 0.28
  - tenacity >= 9
extends_documentation_fragment:
  - constructed
  - inventory_cache
options:
  plugin:
    description: The name of this plugin; it must always be set to C(coldrig.infra.hcloud).
    required: true
    type: str
    choices: [coldrig.infra.hcloud]
  api_token:
    description:
      - The Hetzner Cloud API token of the project (Security > API tokens in the Hetzner Console).
        A read-only token is enough for the inventory.
      - May be a template using lookups, or variables given with C(--extra-vars) such as
        C({{ vault_hcloud_token }}) from C(-e @vault.yml), or an inline C(!vault) value made with
        C(ansible-vault encrypt_string). Group and host variables are not available to inventory
        plugins.
      - Never shown in output or error messages.
    type: str
    env:
      - name: HCLOUD_TOKEN
  api_endpoint:
    description: The Hetzner Cloud API endpoint; another URL only for tests and proxies.
    type: str
    default: https://api.hetzner.cloud/v1
    env:
      - name: HCLOUD_ENDPOINT
  label_selector:
    description:
      - Only servers whose labels match this label selector, evaluated by the API, e.g.
        C(coldrig_role=mta), C(coldrig_fleet in (eu-1,eu-2)), C(coldrig_role,!retired).
    type: str
    default: ""
  status:
    description: Only servers with one of these statuses (evaluated by the API). Empty lists every server.
    type: list
    elements: str
    default: []
    choices: [initializing, starting, running, stopping, "off", deleting, migrating, rebuilding, unknown]
  locations:
    description: Only servers in one of these locations, e.g. C(fsn1), C(nbg1), C(hel1), C(ash).
    type: list
    elements: str
    default: []
  types:
    description: Only servers of one of these server types, e.g. C(cx22), C(cpx11).
    type: list
    elements: str
    default: []
  network:
    description:
      - Name or ID of a private network. When set, only servers attached to it are listed, and
        C(hcloud_private_ipv4) and O(connect_with=private_ipv4) use the address in it.
      - When unset, C(hcloud_private_ipv4) is the address in the server's first private network.
    type: str
    default: ""
  connect_with:
    description:
      - What C(ansible_host) is set to. C(public_ipv4) the public IPv4 address; C(public_ipv6) the
        C(::1) address of the server's IPv6 network; C(private_ipv4) its address in O(network) (or in
        its first private network); C(hostname) the server name; C(ipv4_dns_ptr) the PTR name of its
        public IPv4 address.
      - A server without such an address gets no C(ansible_host) and a warning (an error with
        O(strict)); O(compose) can set another, e.g. C(ansible_host) to C(coldrig_public_ipv4 or coldrig_public_ipv6).
    type: str
    default: public_ipv4
    choices: [public_ipv4, public_ipv6, private_ipv4, hostname, ipv4_dns_ptr]
  hostname:
    description:
      - A template for the inventory hostname of a server, with its host variables available,
        e.g. C({{ coldrig_ptr }}) or C({{ hcloud_location }}-{{ hcloud_name }}). The server name
        when unset. Two servers may not end up with the same hostname.
    type: str
  group:
    description: The group every server joins; empty for none.
    type: str
    default: hcloud
"""

EXAMPLES = r"""
# inventories/hcloud/hcloud.yml -- the token from the environment (HCLOUD_TOKEN)
plugin: coldrig.infra.hcloud
label_selector: coldrig_role
---
# Token from a variable given on the command line: ansible-playbook -e @vault.yml ...
plugin: coldrig.infra.hcloud
api_token: "{{ vault_hcloud_token }}"
status: [running]
locations: [fsn1, nbg1]
---
# Hostnames from the mail host names, connect over IPv6, cache for ten minutes
plugin: coldrig.infra.hcloud
hostname: "{{ coldrig_ptr if coldrig_ptr and not coldrig_ptr.endswith('your-server.de') else hcloud_name }}"
connect_with: public_ipv6
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/coldrig/inventory
cache_timeout: 600
keyed_groups:
  - key: hcloud_location
    prefix: location
compose:
  ansible_user: "'root'"
"""

from ansible.errors import AnsibleParserError

from ansible_collections.coldrig.infra.plugins.module_utils.hcloud import (
    DEFAULT_ENDPOINT,
    HAS_HCLOUD,
    HcloudClient,
    HcloudError,
    connect_address,
    host_vars,
    server_facts,
)
from ansible_collections.coldrig.infra.plugins.plugin_utils.inventory import CloudInventory


class InventoryModule(CloudInventory):
    NAME = "coldrig.infra.hcloud"
    FILE_SUFFIXES = ("hcloud.yml", "hcloud.yaml")
    NODE, NODES, NAME_VAR = "server", "servers", "hcloud_name"

    def _query(self):
        return {
            "api_endpoint": (self.get_option("api_endpoint") or DEFAULT_ENDPOINT).rstrip("/"),
            "label_selector": self.get_option("label_selector") or "",
            "status": sorted(self.get_option("status") or []),
            "locations": sorted(self.get_option("locations") or []),
            "types": sorted(self.get_option("types") or []),
            "network": str(self.get_option("network") or ""),
        }

    def _fetch(self, path, query):
        """The facts of every server the options choose (the API's answer, in the form the cache keeps)."""
        if not HAS_HCLOUD:
            raise AnsibleParserError("coldrig.infra.hcloud needs the Python libraries hcloud, httpx and tenacity on "
                                     "the controller: pip install hcloud httpx tenacity")
        try:
            client = HcloudClient(self._api_token(), api_endpoint=query["api_endpoint"])
            servers = client.list_servers(label_selector=query["label_selector"] or None,
                                          status=query["status"], location=query["locations"],
                                          server_type=query["types"])
            wanted = query["network"]
            names = client.list_networks() if wanted or any(s.private_net for s in servers) else {}
        except HcloudError as exc:
            raise AnsibleParserError("coldrig.infra.hcloud (%s): %s" % (path, exc)) from None
        if wanted:
            ids = [nid for nid, name in names.items() if wanted in (name, str(nid))]
            if not ids:
                raise AnsibleParserError("coldrig.infra.hcloud (%s): network: no private network named or "
                                         "numbered %r in this project (it has: %s)" % (
                                             path, wanted, ", ".join(sorted(names.values())) or "none"))
            servers = [s for s in servers if any(p.network.id == ids[0] for p in s.private_net or [])]
        return [server_facts(s, names) for s in servers]

    def _host_vars(self, facts, connect_with):
        return host_vars(facts, connect_with=connect_with, network=self.get_option("network") or None)

    def _no_address(self, facts, connect_with):
        return connect_address(facts, connect_with, self.get_option("network") or None)[1]

    def _hostname_clash(self, first, facts, hostname):
        return ("hostname: servers %s and %s both become host %s; make the hostname template unique (e.g. add "
                "hcloud_name or hcloud_id)" % (first, facts["hcloud_name"], hostname))
