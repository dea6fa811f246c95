# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: digitalocean
short_description: The droplets of a DigitalOcean team
description:
  - Lists the droplets of the team a DigitalOcean API token belongs to, through the DigitalOcean
    API v2, with the C(python-digitalocean) Python library.
  - Every droplet gets the normalised host variables that all coldrig inventories share
    (C(coldrig_provider) = C(digitalocean), C(coldrig_public_ipv4), C(coldrig_public_ipv6),
    C(coldrig_ptr), C(coldrig_region) (the region slug, e.g. C(fra1)), C(coldrig_size) (the size
    slug, e.g. C(s-1vcpu-1gb)), C(coldrig_labels)), the DigitalOcean values under the prefix
    C(do_), and C(ansible_host) as chosen by O(connect_with).
  - DigitalOcean has no PTR API; it sets the PTR of a droplet's public IPv4 address (and of its
    first IPv6 address) to the droplet's name when that name is a fully qualified domain name.
    So C(coldrig_ptr) is the droplet's name when it is a FQDN (and the droplet has a public
    address), and none otherwise.
  - C(coldrig_labels) come from the droplet's tags. A tag C(key:value) is the label C(key) with
    the value C(value) (split at the first colon), so the tag C(coldrig_role:mta) is the label
    C(coldrig_role) with the value C(mta); any other tag is a label with an empty value (the tag
    C(web) is the label C(web) with the value C("")). When one key has several values, the first
    tag wins and a warning names the droplet.
  - Droplets join the group O(group), and C(coldrig_role_<role>) and C(coldrig_fleet_<fleet>)
    from their tags C(coldrig_role:<role>) and C(coldrig_fleet:<fleet>). Which domains a node
    sends for is part of the onboarding spec, not of tags (tags cannot hold dots).
  - With O(cache) on, a parse answered from the cache makes no API request at all. The cache
    entry belongs to the inventory file and to the options that choose droplets
    (O(api_endpoint), O(tag), O(status), O(regions), O(sizes)); changing one of them fetches
    again. O(connect_with), O(hostname), O(group) and the constructed options apply to cached
    droplets too.
  - The inventory file must end in C(digitalocean.yml) or C(digitalocean.yaml).
  - A failed API request (a wrong token, a 5xx that outlived the retries, a failure on any page
    of the listing) is an error with the provider's message, never the token, and no partial
    list of droplets. Ansible only warns about a source that fails to parse unless
    C(unparsed_is_failed) and C(any_unparsed_is_failed) are set in the C([inventory]) section
    of C(ansible.cfg); set both, so that the run stops instead of going on without these nodes.
author:
  - coldrig maintainers (@coldrig)
requirements:
  - python-digitalocean >= 1.17
  - httpx >= 0.28
  - tenacity >= 9
extends_documentation_fragment:
  - constructed
  - inventory_cache
options:
  plugin:
    description: The name of this plugin; it must always be set to C(coldrig.infra.digitalocean).
    required: true
    type: str
    choices: [coldrig.infra.digitalocean]
  api_token:
    description:
      - A DigitalOcean personal access token of the team (API > Tokens in the control panel). A
        token with read scopes is enough for the inventory.
      - May be a template using lookups, or variables given with C(--extra-vars) such as
        C({{ vault_digitalocean_token }}) from C(-e @vault.yml), or an inline C(!vault) value made
        with C(ansible-vault encrypt_string). Group and host variables are not available to
        inventory plugins.
      - When unset, it is read from the environment, C(DIGITALOCEAN_TOKEN) first, then C(DO_API_TOKEN),
        C(DO_API_KEY), C(DO_OAUTH_TOKEN) and C(DIGITALOCEAN_ACCESS_TOKEN) (Ansible takes the last
        variable of the list below that is set, so the list is in the reverse order).
      - Never shown in output or error messages.
    type: str
    env:
      - name: DIGITALOCEAN_ACCESS_TOKEN
      - name: DO_OAUTH_TOKEN
      - name: DO_API_KEY
      - name: DO_API_TOKEN
      - name: DIGITALOCEAN_TOKEN
  api_endpoint:
    description: The DigitalOcean API endpoint; another URL only for tests and proxies.
    type: str
    default: https://api.digitalocean.com/v2
  tag:
    description:
      - Only droplets with this tag, filtered by the API (C(tag_name)), e.g. C(coldrig_role:mta).
        Tags may hold letters, digits, colons, dashes and underscores.
    type: str
    default: ""
  status:
    description: Only droplets with one of these statuses. Empty lists every droplet.
    type: list
    elements: str
    default: []
    choices: [new, active, "off", archive]
  regions:
    description: Only droplets in one of these regions (slugs), e.g. C(fra1), C(ams3), C(nyc3).
    type: list
    elements: str
    default: []
  sizes:
    description: Only droplets of one of these sizes (slugs), e.g. C(s-1vcpu-1gb), C(s-2vcpu-4gb).
    type: list
    elements: str
    default: []
  connect_with:
    description:
      - What C(ansible_host) is set to. C(public_ipv4) the droplet's public IPv4 address;
        C(public_ipv6) its IPv6 address (droplets created with IPv6, or after C(enable_ipv6));
        C(private_ipv4) its address in its VPC; C(name) the droplet's name (when it resolves, e.g.
        a mail host's FQDN).
      - A droplet without such an address (droplets get their networks once they are active) gets
        no C(ansible_host) and a warning (an error with O(strict)); O(compose) can set another,
        e.g. C(ansible_host) to C(coldrig_public_ipv4 or coldrig_public_ipv6).
    type: str
    default: public_ipv4
    choices: [public_ipv4, public_ipv6, private_ipv4, name]
  hostname:
    description:
      - A template for the inventory hostname of a droplet, with its host variables available,
        e.g. C({{ do_name }}-{{ do_id }}) or C({{ do_region }}-{{ do_name }}). The droplet name
        when unset. DigitalOcean allows several droplets with one name; two droplets may not end
        up with the same hostname.
    type: str
  group:
    description: The group every droplet joins; empty for none.
    type: str
    default: digitalocean
"""

EXAMPLES = r"""
# inventories/digitalocean/digitalocean.yml -- the token from the environment (DIGITALOCEAN_TOKEN)
plugin: coldrig.infra.digitalocean
tag: coldrig_role:mta
---
# Token from a variable given on the command line: ansible-playbook -e @vault.yml ...
plugin: coldrig.infra.digitalocean
api_token: "{{ vault_digitalocean_token }}"
status: [active]
regions: [fra1, ams3]
---
# Connect over IPv6, name hosts by region, cache for ten minutes
plugin: coldrig.infra.digitalocean
connect_with: public_ipv6
hostname: "{{ do_region }}-{{ do_name }}"
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/coldrig/inventory
cache_timeout: 600
keyed_groups:
  - key: do_region
    prefix: region
compose:
  ansible_user: "'root'"
groups:
  big: do_memory >= 4096
"""

from ansible.errors import AnsibleParserError

from ansible_collections.coldrig.infra.plugins.module_utils.digitalocean import (
    DEFAULT_ENDPOINT,
    HAS_DIGITALOCEAN,
    DigitalOceanClient,
    DigitalOceanError,
    connect_address,
    host_vars,
    tag_labels,
)
from ansible_collections.coldrig.infra.plugins.plugin_utils.inventory import CloudInventory


class InventoryModule(CloudInventory):
    NAME = "coldrig.infra.digitalocean"
    FILE_SUFFIXES = ("digitalocean.yml", "digitalocean.yaml")
    NODE, NODES, NAME_VAR = "droplet", "droplets", "do_name"

    def _query(self):
        return {
            "api_endpoint": (self.get_option("api_endpoint") or DEFAULT_ENDPOINT).rstrip("/"),
            "tag": self.get_option("tag") or "",
            "status": sorted(self.get_option("status") or []),
            "regions": sorted(self.get_option("regions") or []),
            "sizes": sorted(self.get_option("sizes") or []),
        }

    def _fetch(self, path, query):
        """The facts of every droplet the options choose (the API's answer, in the form the cache keeps)."""
        if not HAS_DIGITALOCEAN:
            raise AnsibleParserError("coldrig.infra.digitalocean needs the Python libraries python-digitalocean, httpx "
                                     "and tenacity on the controller: pip install python-digitalocean httpx tenacity")
        try:
            client = DigitalOceanClient(self._api_token(), api_endpoint=query["api_endpoint"])
            return client.list_droplet_facts(tag=query["tag"] or None, status=query["status"],
                                             region=query["regions"], size=query["sizes"])
        except DigitalOceanError as exc:
            raise AnsibleParserError("coldrig.infra.digitalocean (%s): %s" % (path, exc)) from None

    def _host_vars(self, facts, connect_with):
        return host_vars(facts, connect_with=connect_with)

    def _no_address(self, facts, connect_with):
        return connect_address(facts, connect_with)[1]

    def _node(self, facts):
        return "%s (%s)" % (facts["do_name"], facts["do_id"])

    def _check_node(self, facts, variables):
        _labels, conflicts = tag_labels(facts["do_tags"])
        for key in conflicts:
            values = [t for t in facts["do_tags"] if t.partition(":")[0] == key]
            self.display.warning("coldrig.infra.digitalocean: droplet %s has the tags %s; coldrig_labels.%s is "
                                 "%r (the first); remove the others" % (
                                     facts["do_name"], ", ".join(values), key, variables["coldrig_labels"][key]))

    def _hostname_clash(self, first, facts, hostname):
        return ("hostname: droplets %s and %s (%s) both become host %s; DigitalOcean allows one name twice: rename "
                "one, or set a hostname template that tells them apart (e.g. \"{{ do_name }}-{{ do_id }}\")" % (
                    first, facts["do_id"], facts["do_name"], hostname))
