# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What coldrig's inventory plugins share, on the controller.

``add_node`` puts one node in the inventory the way every coldrig inventory does (its host
variables, the groups of its coldrig labels, then the constructed options). ``CloudInventory``
is the base of the cloud inventories (``coldrig.infra.hcloud``, ``coldrig.infra.digitalocean``):
the parse with its cache, the templated API token, the ``hostname`` template, ``connect_with``
warnings and the ``group`` option. Each plugin keeps its DOCUMENTATION, its options and what
speaks to its provider (the query its cache entry belongs to, the fetch, the host variables).

This is plugin_utils, not module_utils: it builds on Ansible's inventory plugin classes, which
only the controller has.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

from ansible_collections.coldrig.infra.plugins.module_utils.inventory import label_groups

CACHE_VERSION = 1


def add_node(plugin, hostname, host_vars, group=None, strict=False):
    """Add the host with its variables, to ``group`` and its label groups, then apply compose, groups and keyed_groups."""
    plugin.inventory.add_host(hostname, group=group)
    for key, value in host_vars.items():
        plugin.inventory.set_variable(hostname, key, value)
    for name in label_groups(host_vars["coldrig_labels"]):
        plugin.inventory.add_group(name)
        plugin.inventory.add_child(name, hostname)
    plugin._set_composite_vars(plugin.get_option("compose"), host_vars, hostname, strict=strict)
    plugin._add_host_to_composed_groups(plugin.get_option("groups"), host_vars, hostname, strict=strict)
    plugin._add_host_to_keyed_groups(plugin.get_option("keyed_groups"), host_vars, hostname, strict=strict)


class CloudInventory(BaseInventoryPlugin, Constructable, Cacheable):
    """The nodes of one cloud account, read through its API or from the inventory cache."""

    NAME = None
    FILE_SUFFIXES = ()  # what the inventory file's name must end in, e.g. ("hcloud.yml", "hcloud.yaml")
    NODE = "node"  # what the provider calls one node, in messages: "server", "droplet"
    NODES = "nodes"  # ... several of them; also the key of the list in the cache entry
    NAME_VAR = None  # the host variable with the node's name, the default hostname: "hcloud_name"

    def verify_file(self, path):
        return super(CloudInventory, self).verify_file(path) and path.endswith(self.FILE_SUFFIXES)

    def parse(self, inventory, loader, path, cache=True):
        super(CloudInventory, self).parse(inventory, loader, path, cache)
        self._read_config_data(path)
        query = self._query()
        nodes = None
        cache_key = self.get_cache_key(path)
        update_cache = bool(self.get_option("cache")) and not cache  # --flush-cache / refresh_inventory
        if self.get_option("cache") and cache:
            cached = self._cache.get(cache_key)
            if isinstance(cached, dict) and cached.get("version") == CACHE_VERSION and cached.get("query") == query:
                nodes = cached[self.NODES]
                self.display.vvv("%s: %d %s from the inventory cache" % (self.NAME, len(nodes), self.NODES))
            else:
                update_cache = True
        if nodes is None:
            nodes = self._fetch(path, query)
        if update_cache:
            self._cache[cache_key] = {"version": CACHE_VERSION, "query": query, self.NODES: nodes}
        self._populate(nodes)

    # ---- what each provider's plugin provides
    def _query(self):
        """The options that choose nodes, as a plain dict: the cache entry belongs to them."""
        raise NotImplementedError

    def _fetch(self, path, query):
        """The facts of every node ``query`` chooses (the API's answer, in the form the cache keeps)."""
        raise NotImplementedError

    def _host_vars(self, facts, connect_with):
        """All host variables of the node; no ansible_host when it has no address of the kind ``connect_with`` asks for."""
        raise NotImplementedError

    def _no_address(self, facts, connect_with):
        """Why the node has no ansible_host."""
        raise NotImplementedError

    def _node(self, facts):
        """The node as messages name it, e.g. its name, or its name and id."""
        return facts[self.NAME_VAR]

    def _check_node(self, facts, variables):
        """Warn about what the node's host variables cannot say (nothing by default)."""

    def _hostname_clash(self, first, facts, hostname):
        """The error text when a second node (``facts``) would become host ``hostname`` too."""
        raise NotImplementedError

    # ---- shared
    def _api_token(self):
        token = self.get_option("api_token")
        if token and self.templar.is_possibly_template(token):
            self.templar.available_variables = self._vars  # extra vars: -e @vault.yml
            try:
                token = self.templar.template(token)
            except Exception as exc:  # says which variable is undefined, never a value
                raise AnsibleParserError("api_token: the template could not be rendered: %s" % exc) from None
        return str(token) if token else None  # str() decrypts an inline !vault value

    def _hostname(self, template, variables):
        if not template:
            return variables[self.NAME_VAR]
        self.templar.available_variables = variables
        try:
            name = self.templar.template(template)
        except Exception as exc:
            raise AnsibleParserError("hostname: the template %r failed for %s %s: %s" % (
                template, self.NODE, variables[self.NAME_VAR], exc)) from None
        name = str(name).strip() if name is not None else ""
        if not name:
            raise AnsibleParserError("hostname: the template %r gave an empty name for %s %s" % (
                template, self.NODE, variables[self.NAME_VAR]))
        return name

    def _populate(self, nodes):
        strict, connect_with = self.get_option("strict"), self.get_option("connect_with")
        group = self.get_option("group")
        if group:
            group = self.inventory.add_group(group)
        taken = {}
        for facts in nodes:
            variables = self._host_vars(facts, connect_with)
            if "ansible_host" not in variables:
                message = "%s: %s %s has no ansible_host: %s" % (
                    self.NAME, self.NODE, self._node(facts), self._no_address(facts, connect_with))
                if strict:
                    raise AnsibleParserError(message)
                self.display.warning(message)
            self._check_node(facts, variables)
            hostname = self._hostname(self.get_option("hostname"), variables)
            if hostname in taken:
                raise AnsibleParserError(self._hostname_clash(taken[hostname], facts, hostname))
            taken[hostname] = self._node(facts)
            add_node(self, hostname, variables, group=group or None, strict=strict)
