# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: records_by_zone
short_description: Group DNS records by the zone they belong in
description:
  - Takes records that carry a C(zone) key (as M(coldrig.infra.mail_records) returns them) and groups them
    into one entry per zone, in first-seen order, with C(zone) removed from each record and identical
    records kept once (domains that share a mail host all bring its A record), ready for one
    M(coldrig.infra.dns_records) call per zone.
  - Records that differ only in their TTL (domains with different TTLs that share a mail host) become
    one record whose TTL is the host zone's - the TTL of the records at the zone's apex, which the
    sending domain that is the zone brings; when the zone sends no mail itself (its apex has no record
    here, or its apex records disagree), O(default_ttl); without it, the lowest of the TTLs given, so
    that a changed address reaches resolvers soonest.
author:
  - coldrig maintainers (@coldrig)
positional: _input
options:
  _input:
    description: Records, each a dict with C(zone), C(type), C(name), C(content) and optional C(ttl), C(priority), C(purge).
    type: list
    elements: dict
    required: true
  default_ttl:
    description: The TTL of a record shared by several domains in a zone whose apex has no record here.
    type: int
"""

EXAMPLES = r"""
- name: One push per zone
  coldrig.infra.dns_records:
    provider: rfc2136
    server: 127.0.0.1
    zone: "{{ item.zone }}"
    records: "{{ item.records }}"
  loop: "{{ mail_records | coldrig.infra.records_by_zone }}"
  delegate_to: localhost
"""

RETURN = r"""
_value:
  description: One dict per zone, C({zone, records}).
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError


def _zone_ttl(zone, entries, default_ttl, ttls):
    """The TTL of a record that several domains bring with different TTLs (see the description).

    ``entries`` are the zone's records that only one TTL was given for.
    """
    apex = set(entry.get("ttl") for entry in entries if str(entry.get("name", "")).rstrip(".").lower() == zone)
    if len(apex) == 1 and None not in apex:
        return apex.pop()
    if default_ttl not in (None, ""):
        return int(default_ttl)
    return min(ttls)


def records_by_zone(records, default_ttl=None):
    groups = []
    index = {}
    for position, record in enumerate(records or []):
        if not isinstance(record, dict) or not record.get("zone"):
            raise AnsibleFilterError("records_by_zone: item %d has no zone" % position)
        zone = str(record["zone"]).rstrip(".").lower()
        if zone not in index:
            index[zone] = len(groups)
            groups.append({"zone": zone, "records": []})
        entry = dict((k, v) for k, v in record.items() if k != "zone")
        if entry not in groups[index[zone]]["records"]:  # domains sharing a mail host bring its A record twice
            groups[index[zone]]["records"].append(entry)
    for group in groups:
        merged, ttls = [], {}
        for entry in group["records"]:
            key = repr(sorted((k, v) for k, v in entry.items() if k != "ttl"))
            if key not in ttls:
                ttls[key] = []
                merged.append((key, entry))
            ttls[key].append(int(entry["ttl"]) if entry.get("ttl") not in (None, "") else None)
        settled = [entry for key, entry in merged if len(set(ttls[key])) == 1]
        for key, entry in merged:
            given = set(ttls[key])
            if len(given) > 1:
                entry["ttl"] = _zone_ttl(group["zone"], settled, default_ttl, [t for t in given if t is not None])
        group["records"] = [entry for _key, entry in merged]
    return groups


class FilterModule(object):
    def filters(self):
        return {"records_by_zone": records_by_zone}
