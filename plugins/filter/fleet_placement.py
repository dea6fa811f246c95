# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: fleet_placement
short_description: Which mail node serves each sending domain of the fleet
description:
  - Places every sending domain of every mail node's C(coldrig_domains) on the node(s) that serve it
    (plugins/module_utils/placement.py) - explicit (C(node), C(nodes)), kept (what each node serves now, never
    moved), or automatic (deterministic, balanced by domain and mailbox count, stable when nodes are added) - and
    returns the plan, the errors, and for each node the domain items it serves.
  - Each returned item is the spec item plus C(fleet) C({home, nodes, is_home}); a domain served by several
    nodes also gets C(fleet_hosts) (every node's mail host and addresses, for one MX per node and one SPF with
    every address), and on nodes other than its home a DKIM selector of their own (C(<node>-<selector>)) and
    C(mailboxes=0) (mailboxes live on the home).
author:
  - coldrig maintainers (@coldrig)
positional: _input, nodes
options:
  _input:
    description: The inventory's C(hostvars).
    type: dict
    required: true
  nodes:
    description: The mail nodes in inventory order (C(groups['coldrig_role_mta'])).
    type: list
    elements: str
    required: true
  kept:
    description: What each node serves now (a list of domain names per node name), from its placement state file.
    type: dict
    default: {}
  max_per_node:
    description: The per-node cap (C(coldrig_max_domains_per_node)).
    type: int
    default: 50
  only:
    description: Keep only these domains in each node's C(run) list (the fast path, C(coldrig_only_domains)).
    type: list
    elements: str
"""

EXAMPLES = r"""
- name: Place the fleet's domains
  ansible.builtin.set_fact:
    placement: "{{ hostvars | coldrig.infra.fleet_placement(groups['coldrig_role_mta'], kept=kept, max_per_node=50) }}"
"""

RETURN = r"""
_value:
  description: >-
    C({errors, plan, domains, by_node, homes, nodes}); C(nodes) is C({node: {served: [items], run: [items],
    state: {served, homes}}}).
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.coldrig.infra.plugins.module_utils.placement import DEFAULT_MAX_DOMAINS_PER_NODE, place

DEFAULT_SELECTOR = "s1"  # the roles' default (mail_dns_dkim_selector, postfix_dkim_selector)


def _var(hostvars, node, name, default=None):
    value = hostvars[node].get(name) if hasattr(hostvars[node], "get") else None
    return default if value is None or value == "" else value


def _short(node, mail_host):
    label = (mail_host or node).split(".")[0].lower()
    return "".join(c if c.isalnum() else "-" for c in label).strip("-") or "node"


def _only(value):
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, (list, tuple)):
        raise AnsibleFilterError("coldrig_only_domains: %r is neither a list of domains nor a comma-separated string" % (value,))
    return set(str(name).strip().rstrip(".").lower() for name in value if str(name).strip())


def fleet_placement(hostvars, nodes, kept=None, max_per_node=DEFAULT_MAX_DOMAINS_PER_NODE, only=None):
    nodes = list(nodes or [])
    try:
        cap = int(max_per_node)
    except (TypeError, ValueError):
        raise AnsibleFilterError("coldrig_max_domains_per_node: %r is not a number" % (max_per_node,))
    if cap < 1:
        raise AnsibleFilterError("coldrig_max_domains_per_node: %d is below 1" % cap)
    specs = dict((node, _var(hostvars, node, "coldrig_domains", [])) for node in nodes)
    kept = dict((node, list((kept or {}).get(node) or [])) for node in nodes)
    result = place(specs, nodes, kept, cap)
    out = result.as_dict(nodes)
    wanted = _only(only)
    if wanted is not None:
        unknown = sorted(wanted - set(result.domains))
        if unknown and not result.errors:
            out["errors"].append("coldrig_only_domains: %s not in any node's coldrig_domains; add %s to the spec first"
                                 % (", ".join(unknown), "it" if len(unknown) == 1 else "them"))
    if out["errors"]:
        out["nodes"] = dict((node, {"served": [], "run": [], "state": {}}) for node in nodes)
        return out

    # The spec item of each domain: the home's own item when it lists the domain, else the first listing.
    items = {}
    for node in nodes:
        for item in specs[node] or []:
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                name = item["name"].strip().rstrip(".").lower()
                home = result.domains.get(name, {}).get("home")
                if name not in items or node == home:
                    items[name] = item

    per_node = dict((node, {"served": [], "run": [], "state": {"served": [], "homes": []}}) for node in nodes)
    for name in sorted(result.domains):
        entry = result.domains[name]
        home = entry["home"]
        hosts = []
        for node in entry["nodes"]:
            hosts.append({"mail_host": _var(hostvars, node, "coldrig_ptr", node),
                          "ipv4": _var(hostvars, node, "coldrig_public_ipv4"),
                          "ipv6": _var(hostvars, node, "coldrig_public_ipv6")})
        for node in entry["nodes"]:
            placed = dict(items[name])
            placed["name"] = name
            placed["fleet"] = {"home": home, "nodes": list(entry["nodes"]), "is_home": node == home,
                               "source": entry["source"]}
            if len(entry["nodes"]) > 1:
                placed["fleet_hosts"] = hosts
            if node != home:
                base = placed.get("dkim_selector") or _var(hostvars, node, "mail_dns_dkim_selector") or \
                    _var(hostvars, node, "coldrig_dkim_selector", DEFAULT_SELECTOR)
                # the node's name first: a rotation counts up the selector's trailing number
                # (dkim_key), so node1-s1 becomes node1-s2 and never meets another node's selector
                placed["dkim_selector"] = "%s-%s" % (_short(node, _var(hostvars, node, "coldrig_ptr")), base)
                placed["mailboxes"] = 0
            per_node[node]["served"].append(placed)
            per_node[node]["state"]["served"].append(name)
            if node == home:
                per_node[node]["state"]["homes"].append(name)
            if wanted is None or name in wanted:
                per_node[node]["run"].append(placed)
    out["nodes"] = per_node
    return out


class FilterModule(object):
    def filters(self):
        return {"fleet_placement": fleet_placement}
