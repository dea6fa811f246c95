#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: dns_zones
short_description: Make the records of many DNS zones match, zones pushed concurrently
description:
  - The fleet's push - M(coldrig.infra.dns_records) for many zones in one task, with the same provider
    settings. Each zone is read, planned and written exactly as M(coldrig.infra.dns_records) does
    (one write per zone, conflicts, one value per mail TXT slot, RFC 2136 read-back, Cloudflare batches).
  - Zones are pushed concurrently, O(workers) at a time.
  - On Cloudflare the ids of all zones come from one paginated listing of the account's zones
    (C(GET /zones), 50 a page) instead of a lookup per zone, so N zones cost the listing plus 2 requests
    per zone on a first push (the zone's records, one batch) and the listing plus 1 per zone when nothing
    changed. Every request of the run goes through one rate limiter that keeps it under Cloudflare's
    1,200 requests per 5 minutes; a 429 that comes anyway is retried, honouring Retry-After.
  - Every zone is tried whatever another zone does; the task fails after all of them, listing each zone
    that failed with its reason, and RV(zones) holds every zone's result.
  - Runs on the controller, through an action plugin.
version_added: 0.1.0
author:
  - coldrig maintainers (@coldrig)
options:
  zones:
    description: The zones and the desired records of each.
    type: list
    elements: dict
    required: true
    suboptions:
      zone:
        description: The zone, e.g. C(example.com).
        type: str
        required: true
      records:
        description: The desired records of the zone, as O(coldrig.infra.dns_records#module:records).
        type: list
        elements: dict
        required: true
        suboptions:
          type:
            description: Record type.
            type: str
            required: true
            choices: [A, AAAA, CAA, CNAME, MX, NS, PTR, SRV, TXT]
          name:
            description:
              - Relative to the zone (C(mail)), fully qualified (C(mail.example.com) or C(mail.example.com.)),
                or C(@) for the apex.
              - A relative name of two labels or more that ends in the zone's own top-level label or in a generic
                one (com, net, org, info, biz, edu, gov, mil, int, arpa) is refused, since it looks like a name of
                another zone (C(mail.other.test) in zone C(example.test) would become
                C(mail.other.test.example.test)); write such a name in full.
              - An SRV record's name starts with C(_service._protocol) (RFC 2782).
            type: str
            default: "@"
          content:
            description:
              - The record data, checked before any request. TXT as its plain value, not empty, without control
                characters (quotes and splitting into strings of at most 255 bytes, at character boundaries, are
                handled); MX, NS, PTR as a fully qualified host name and CNAME as a fully qualified DNS name, never
                an IP address; SRV as C(weight port target) (or C(priority weight port target)); CAA as
                C(flags tag "value") with flags 0 to 255 and a tag of RFC 8659 or its registry (issue, issuewild,
                iodef, contactemail, contactphone, issuevmc, issuemail).
              - With O(state=absent), leave it out to remove every value at the (name, type) pair.
            type: str
            aliases: [value]
          ttl:
            description:
              - Time to live in seconds. rfc2136 takes 1 to 2147483647; cloudflare takes 1 (automatic) or 60 to 86400.
              - The records of one name and type share one TTL (RFC 2181 section 5.2).
            type: int
            default: 3600
          priority:
            description: Priority of an MX or SRV record.
            type: int
          purge:
            description:
              - This record's own O(purge) for its (name, type) pair, overriding the module's. For example the
                mail host's A record and the MX with C(purge=true), beside apex TXT values that must stay.
            type: bool
  workers:
    description: How many zones are pushed at once.
    type: int
    default: 8
  state:
    description: C(present) makes the records exist; C(absent) removes them.
    type: str
    default: present
    choices: [present, absent]
  purge:
    description:
      - Also remove other values at the managed (name, type) pairs.
      - Never touches a (name, type) pair that O(zones[].records) does not name.
    type: bool
    default: false
  on_conflict:
    description:
      - What to do with records in the zone that cannot coexist with a desired record (a CNAME at the
        name of a desired TXT, A, MX..., or other records at the name of a desired CNAME).
      - C(fail) fails before any write, naming the desired record, the record in the way and the fix.
      - C(replace) removes the records in the way in the same write (listed in the zone's C(conflicts_removed)).
    type: str
    default: fail
    choices: [fail, replace]
requirements:
  - dnspython (rfc2136)
  - httpx and tenacity (cloudflare)
extends_documentation_fragment:
  - coldrig.infra.dns_provider
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
attributes:
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
seealso:
  - module: coldrig.infra.dns_records
"""

EXAMPLES = r"""
- name: Push the records of every sending domain of the fleet, one write per zone, 8 zones at a time
  coldrig.infra.dns_zones:
    provider: cloudflare
    zones: "{{ fleet_records | coldrig.infra.records_by_zone }}"
    workers: 8
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
zones:
  description:
    - Each zone's result, in the order given, as M(coldrig.infra.dns_records) returns it, plus C(zone).
    - A zone that failed has C(failed) and C(msg).
  returned: always
  type: list
  elements: dict
  sample: [{zone: example.com, changed: true, requests: 2, batches: 1, added: [], updated: [], removed: []}]
requests:
  description: Requests sent to the provider by the whole run (the zone listing included).
  returned: always
  type: int
  sample: 201
listing_requests:
  description: Requests of the Cloudflare zone listing (0 for rfc2136).
  returned: always
  type: int
  sample: 1
changed_zones:
  description: The zones that were (or in check mode would be) changed.
  returned: always
  type: list
  elements: str
failed_zones:
  description: The zones that failed.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule, env_fallback

from ansible_collections.coldrig.infra.plugins.module_utils.dns_sync import (
    MUTUALLY_EXCLUSIVE,
    REQUIRED_IF,
    ZONES_ARGUMENT_SPEC,
    SyncFailure,
    argument_spec,
    zones_result,
)


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(env_fallback, ZONES_ARGUMENT_SPEC),
        supports_check_mode=True,
        required_if=REQUIRED_IF,
        mutually_exclusive=MUTUALLY_EXCLUSIVE,
    )
    try:
        result = zones_result(module.params, module.check_mode, module._diff)
    except SyncFailure as exc:
        module.fail_json(msg=str(exc), **exc.result)
    if result.get("failed"):
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
