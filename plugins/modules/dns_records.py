#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: dns_records
short_description: Make one DNS zone's records match a desired list
description:
  - Reads the zone's current records from the DNS provider, computes the changes that make the
    records at the managed (name, type) pairs match O(records), and applies them in one write
    per zone - one RFC 2136 UPDATE message, or one Cloudflare batch call (several when the
    changes exceed O(batch_size)).
  - Only the (name, type) pairs named in O(records) are managed; nothing else in the zone is touched,
    except records that conflict with a desired one when O(on_conflict=replace).
  - TXT values are compared after removing quotes and joining 255-byte character-strings, so a long
    DKIM key split differently by the provider is not reported as changed on every run.
  - Without O(purge), other values at a managed pair stay, except values that fill the same slot -
    a new C(v=spf1) TXT value replaces the old SPF value (two SPF records are a permanent error),
    and likewise C(v=DMARC1), C(v=DKIM1), C(v=STSv1), C(v=TLSRPTv1), and a CNAME replaces a CNAME.
    A slot holds exactly one value after the run - a second SPF or DMARC value already in the zone
    is removed in the same write and reported in RV(extras_removed) and a warning. Other TXT values
    at those names (site verification tokens) stay.
  - A CNAME cannot share its name with other data (RFC 1034 3.6.2). The zone is read at every managed
    name, and a desired record that conflicts with what is there - a TXT, A or MX where the zone has a
    CNAME (for example C(_dmarc) pointed at a DMARC vendor), or a CNAME where the zone has other
    records - fails the task before any write, naming the records, unless O(on_conflict=replace).
  - With O(provider=rfc2136) the managed names are read back after the UPDATE; a server that answered
    NOERROR without applying the change fails the task, naming what is missing.
  - Runs on the controller, through an action plugin. No module is shipped and no Python is started per zone,
    so a loop over many zones costs little more than the provider's round trips. Credentials and the
    TSIG key file are the controller's.
version_added: 0.1.0
author:
  - coldrig maintainers (@coldrig)
options:
  zone:
    description: The zone, e.g. C(example.com).
    type: str
    required: true
  records:
    description: The desired records of the zone.
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
  state:
    description: C(present) makes the records exist; C(absent) removes them.
    type: str
    default: present
    choices: [present, absent]
  purge:
    description:
      - Also remove other values at the managed (name, type) pairs.
      - Never touches a (name, type) pair that O(records) does not name.
    type: bool
    default: false
  on_conflict:
    description:
      - What to do with records in the zone that cannot coexist with a desired record (a CNAME at the
        name of a desired TXT, A, MX..., or other records at the name of a desired CNAME).
      - C(fail) fails before any write, naming the desired record, the record in the way and the fix.
      - C(replace) removes the records in the way in the same write (listed in RV(conflicts_removed)).
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
    support: full
    details: With C(async) the task runs the module (the same code) through Ansible's async wrapper on the task's host.
  bypass_host_loop:
    support: none
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
notes:
  - Cloudflare records of type A, AAAA and CNAME are always written with C(proxied=false); a proxied
    record at a managed pair is changed to unproxied (SMTP cannot pass Cloudflare's HTTP proxy).
  - The RFC 2136 provider reads the zone with a TSIG-signed AXFR when the key may transfer the zone,
    and otherwise asks for each managed (name, type) pair and the CNAME at each managed name.
  - A failure after a write was sent without a clear answer (a timeout, or a 5xx answer from Cloudflare)
    is reported as "may have been applied; run again to converge", with RV(applied=unknown); the re-run
    reads the zone and sends only what is missing, so it makes no duplicates. Only a clear refusal (a 4xx
    answer, an RFC 2136 error code) means that the zone is unchanged.
"""

EXAMPLES = r"""
- name: Push the mail records of example.com to the lab's DNS server
  coldrig.infra.dns_records:
    provider: rfc2136
    server: 127.0.0.1
    port: 10053
    tsig_key_name: coldrig-lab
    tsig_key_file: ~/.local/state/coldrig/lab/tsig.key
    zone: example.com
    records:
      - {type: MX, name: "@", content: mail.example.com, priority: 10}
      - {type: TXT, name: "@", content: "v=spf1 ip4:203.0.113.7 ~all"}
      - {type: TXT, name: _dmarc, content: "v=DMARC1; p=quarantine; rua=mailto:dmarc@example.com"}
  delegate_to: localhost

- name: The same on Cloudflare (token from CLOUDFLARE_API_TOKEN)
  coldrig.infra.dns_records:
    provider: cloudflare
    zone: example.com
    records: "{{ mail_records }}"
  delegate_to: localhost

- name: Publish DMARC where _dmarc was a CNAME to a reporting vendor, removing the CNAME in the same write
  coldrig.infra.dns_records:
    provider: cloudflare
    zone: example.com
    on_conflict: replace
    records:
      - {type: TXT, name: _dmarc, content: "v=DMARC1; p=reject; rua=mailto:dmarc@example.com"}
  delegate_to: localhost

- name: Remove every TXT value at a name
  coldrig.infra.dns_records:
    provider: cloudflare
    zone: example.com
    state: absent
    records:
      - {type: TXT, name: old-selector._domainkey}
  delegate_to: localhost
"""

RETURN = r"""
added:
  description: Records that were (or in check mode would be) created.
  returned: always
  type: list
  elements: dict
  sample: [{name: example.com, relative_name: "@", type: MX, content: mail.example.com, ttl: 3600, priority: 10}]
updated:
  description: Records whose value or TTL was changed, as C(before) and C(after).
  returned: always
  type: list
  elements: dict
removed:
  description: Records that were removed.
  returned: always
  type: list
  elements: dict
records:
  description: The managed records as they are after the run, one dict per record.
  returned: always
  type: list
  elements: dict
extras_removed:
  description: Second values in a one-value slot (SPF, DMARC, DKIM, MTA-STS, TLS-RPT) that were removed; also in RV(removed).
  returned: always
  type: list
  elements: dict
  sample: [{name: example.com, relative_name: "@", type: TXT, content: "v=spf1 include:old.example ~all", ttl: 3600}]
conflicts_removed:
  description: Records that conflicted with a desired record and were removed (O(on_conflict=replace)); also in RV(removed).
  returned: always
  type: list
  elements: dict
conflicts:
  description: On failure with O(on_conflict=fail), the records in the zone that conflict with desired records.
  returned: failed with a conflict
  type: list
  elements: dict
  sample: [{name: _dmarc.example.com, relative_name: _dmarc, type: CNAME, content: example.com.dmarc.vendor.example, ttl: 300}]
requests:
  description: Requests sent to the provider (HTTP requests for Cloudflare, DNS messages for RFC 2136).
  returned: always
  type: int
  sample: 3
batches:
  description: Writes sent (Cloudflare batch calls, or 1 RFC 2136 UPDATE); 0 when nothing changed or in check mode.
  returned: always
  type: int
  sample: 1
atomic:
  description: False when the changes went in more than one Cloudflare batch, which are not atomic together.
  returned: success
  type: bool
  sample: true
backup:
  description: The JSON file of the backup written before the write; null when nothing was written or O(backup=false).
  returned: success
  type: str
  sample: /home/ops/.local/state/coldrig/zone-backups/example.com/20261203T104500.123456Z.json
backup_zone_file:
  description: The BIND zone file rendering of the same backup, beside RV(backup); null when RV(backup) is.
  returned: success
  type: str
  sample: /home/ops/.local/state/coldrig/zone-backups/example.com/20261203T104500.123456Z.zone
applied:
  description:
    - On a failed write, what is known of the zone - C(none) (clearly refused, unchanged), C(partial)
      (earlier batches were applied), C(unknown) (the write may have been applied; run again to converge).
  returned: failed while writing
  type: str
  sample: unknown
"""

from ansible.module_utils.basic import AnsibleModule, env_fallback

from ansible_collections.coldrig.infra.plugins.module_utils.dns_sync import (
    MUTUALLY_EXCLUSIVE,
    REQUIRED_IF,
    SyncFailure,
    argument_spec,
    sync_zone,
)


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(env_fallback),
        supports_check_mode=True,
        required_if=REQUIRED_IF,
        mutually_exclusive=MUTUALLY_EXCLUSIVE,
    )
    try:
        result = sync_zone(module.params, module.check_mode, module._diff)
    except SyncFailure as exc:
        module.fail_json(msg=str(exc), **exc.result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
