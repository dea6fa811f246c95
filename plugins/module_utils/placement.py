# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which node is the home of each sending domain: explicit, kept, or placed by coldrig.

A sending domain is served by ONE node by default: its MX, its SPF address, its DKIM
signer and its mailboxes are there. The placement of every domain is decided here, once
for the whole fleet, from:

* the spec of every node: the domains each node's ``coldrig_domains`` lists (group_vars
  give the same list to many nodes, host_vars to one); the nodes that list a domain are its
  *candidates*;
* a domain's own ``node:`` (its home, explicitly) or ``nodes:`` (served by several nodes on
  purpose; the first is the home, where its mailboxes live);
* what the nodes already serve (*kept*: read from each node's placement state), which is
  never moved: a move changes the sending IP and resets the domain's reputation;
* the per-node cap ``coldrig_max_domains_per_node``.

Automatic placement is deterministic and stable: a kept domain stays where it is, whatever
nodes are added; new domains go, largest mailbox count first and then by name, to the
candidate with the fewest domains, then the fewest mailboxes, then the first in inventory
order. The same inputs give the same placement from any checkout.

Plain Python, no third-party import.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DEFAULT_MAX_DOMAINS_PER_NODE = 50


def mailbox_count(domain):
    """The number of mailboxes a domain item asks for (a count, or a list of mailboxes)."""
    boxes = domain.get("mailboxes", 0) if isinstance(domain, dict) else 0
    if isinstance(boxes, list):
        return len(boxes)
    if isinstance(boxes, int) and not isinstance(boxes, bool):
        return max(boxes, 0)
    return 0


class Placement(object):
    """The outcome: ``domains`` {name: {home, nodes, source, mailboxes}}, ``errors``, ``plan`` lines."""

    def __init__(self):
        self.domains = {}
        self.errors = []

    def by_node(self, nodes):
        """{node: [domain names it serves, sorted]} for every node (empty lists included)."""
        served = dict((node, []) for node in nodes)
        for name in sorted(self.domains):
            for node in self.domains[name]["nodes"]:
                served.setdefault(node, []).append(name)
        return served

    def homes(self, nodes):
        """{node: [domain names whose home it is, sorted]}."""
        homes = dict((node, []) for node in nodes)
        for name in sorted(self.domains):
            homes.setdefault(self.domains[name]["home"], []).append(name)
        return homes

    def plan(self, nodes):
        """Printable lines: one per node with its counts, then one per domain."""
        lines = []
        served = self.by_node(nodes)
        for node in nodes:
            names = served.get(node, [])
            boxes = sum(self.domains[n]["mailboxes"] for n in names if self.domains[n]["home"] == node)
            lines.append("%s: %d domain(s), %d mailbox(es)" % (node, len(names), boxes))
        for name in sorted(self.domains):
            entry = self.domains[name]
            where = entry["home"] if len(entry["nodes"]) == 1 else "%s (home), %s" % (
                entry["home"], ", ".join(n for n in entry["nodes"] if n != entry["home"]))
            lines.append("  %s -> %s [%s]" % (name, where, entry["source"]))
        return lines

    def as_dict(self, nodes):
        return {"domains": self.domains, "by_node": self.by_node(nodes), "homes": self.homes(nodes),
                "errors": list(self.errors), "plan": self.plan(nodes)}


def _names(value):
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return list(value)
    return None


def place(specs, nodes, kept=None, max_per_node=DEFAULT_MAX_DOMAINS_PER_NODE, variable="coldrig_domains"):
    """Place every domain of ``specs`` ({node: its coldrig_domains list}) on ``nodes`` (inventory order).

    ``kept`` is {node: [domain names the node serves now]}. Returns a Placement; when
    ``errors`` is not empty nothing else in it is to be used.
    """
    result = Placement()
    nodes = list(nodes)
    order = dict((node, index) for index, node in enumerate(nodes))
    kept = kept or {}

    # 1. Every domain once: the nodes that list it, its explicit placement (agreed by all of them).
    wanted = {}
    for node in nodes:
        for index, item in enumerate(specs.get(node) or []):
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                continue  # the spec checker reports malformed items
            name = item["name"].strip().rstrip(".").lower()
            where = "%s[%d] (%s) of %s" % (variable, index, name, node)
            entry = wanted.setdefault(name, {"candidates": [], "item": item, "where": where, "explicit": None})
            entry["candidates"].append(node)
            explicit = None
            if item.get("nodes") not in (None, [], ""):
                several = _names(item["nodes"])
                if several is None or not all(isinstance(n, str) for n in several):
                    result.errors.append("%s.nodes: %r is not a list of node names" % (where, item["nodes"]))
                    continue
                home = item.get("node") or several[0]
                if home not in several:
                    result.errors.append("%s.node: %r is not one of its nodes %s; the home must serve the domain"
                                         % (where, home, ", ".join(several)))
                    continue
                explicit = (home, tuple([home] + [n for n in several if n != home]))
            elif item.get("node") not in (None, ""):
                if not isinstance(item["node"], str):
                    result.errors.append("%s.node: %r is not a node name" % (where, item["node"]))
                    continue
                explicit = (item["node"], (item["node"],))
            if explicit is None:
                continue
            unknown = [n for n in explicit[1] if n not in order]
            if unknown:
                result.errors.append("%s.%s: %s not in the inventory (its mail nodes: %s)" % (
                    where, "nodes" if item.get("nodes") else "node", ", ".join(repr(n) for n in unknown),
                    ", ".join(nodes) or "none"))
                continue
            if entry["explicit"] is not None and entry["explicit"] != explicit:
                result.errors.append("%s: placed on %s here but on %s by %s; give one placement"
                                     % (where, ", ".join(explicit[1]), ", ".join(entry["explicit"][1]), entry["where"]))
                continue
            entry["explicit"] = explicit

    # 2. What the nodes serve now.
    kept_on = {}
    for node in nodes:
        for name in kept.get(node) or []:
            kept_on.setdefault(name, []).append(node)

    counts = dict((node, [0, 0]) for node in nodes)  # domains served, mailboxes homed

    def take(name, home, served, source, boxes):
        result.domains[name] = {"home": home, "nodes": list(served), "source": source, "mailboxes": boxes}
        for node in served:
            counts[node][0] += 1
        counts[home][1] += boxes

    # 3. Explicit and kept placements first; they are not moved.
    pending = []
    for name in sorted(wanted):
        entry = wanted[name]
        boxes = mailbox_count(entry["item"])
        now = sorted(kept_on.get(name, []), key=order.get)
        if entry["explicit"] is not None:
            home, served = entry["explicit"]
            moved = [n for n in now if n not in served]
            if moved:
                result.errors.append(
                    "%s: is served by %s now, and its placement (%s) would move it away from there; a move changes "
                    "the sending IP and resets its reputation, so coldrig does not move domains: keep it on %s, or "
                    "add %s to its nodes" % (entry["where"], ", ".join(now), ", ".join(served), moved[0],
                                             ", ".join(moved)))
                continue
            take(name, home, served, "explicit" if len(served) == 1 else "several", boxes)
        elif len(now) > 1:
            result.errors.append(
                "%s: is served by %s now but has no nodes: list; one domain's MX and SPF can name only the nodes "
                "it is meant for: give nodes: [%s] to serve it from all of them on purpose, or node: %s"
                % (entry["where"], ", ".join(now), ", ".join(now), now[0]))
        elif len(now) == 1:
            take(name, now[0], now, "kept", boxes)
        else:
            pending.append((-boxes, name))

    # 4. New domains: largest first, each to the least loaded candidate with room.
    for negative_boxes, name in sorted(pending):
        entry = wanted[name]
        candidates = [n for n in entry["candidates"] if counts[n][0] < max_per_node]
        if not candidates:
            result.errors.append("%s: no node has room for it: %s each serve %d domain(s), the cap "
                                 "coldrig_max_domains_per_node is %d; add a node or raise the cap"
                                 % (entry["where"], ", ".join(entry["candidates"]), max_per_node, max_per_node))
            continue
        best = min(candidates, key=lambda n: (counts[n][0], counts[n][1], order[n]))
        take(name, best, [best], "auto", -negative_boxes)

    # 5. The cap holds for explicit and kept placements too.
    for node in nodes:
        if counts[node][0] > max_per_node:
            result.errors.append("%s: would serve %d domains, more than coldrig_max_domains_per_node (%d); move "
                                 "domains' node: to other nodes or raise the cap" % (node, counts[node][0], max_per_node))
    return result
