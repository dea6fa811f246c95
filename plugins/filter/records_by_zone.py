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
author:
  - coldrig maintainers (@coldrig)
positional: _input
options:
  _input:
    description: Records, each a dict with C(zone), C(type), C(name), C(content) and optional C(ttl), C(priority), C(purge).
    type: list
    elements: dict
    required: true
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


def records_by_zone(records):
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
    return groups


class FilterModule(object):
    def filters(self):
        return {"records_by_zone": records_by_zone}
