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
    per zone - one RFC 2136 UPDATE message, or one Cloudflare batch call.
  - Only the (name, type) pairs named in O(records) are managed; nothing else in the zone is touched.
  - TXT values are compared after removing quotes and joining 255-byte character-strings, so a long
    DKIM key split differently by the provider is not reported as changed on every run.
  - Without O(purge), other values at a managed pair stay, except values that fill the same slot -
    a new C(v=spf1) TXT value replaces the old SPF value (two SPF records are a permanent error),
    and likewise C(v=DMARC1), C(v=DKIM1), C(v=STSv1), C(v=TLSRPTv1), and a CNAME replaces a CNAME.
  - Runs on the controller, through an action plugin. No module is shipped and no Python is started per zone,
    so a loop over many zones costs little more than the provider's round trips. Credentials and the
    TSIG key file are the controller's.
version_added: 0.1.0
author:
  - coldrig maintainers (@coldrig)
options:
  provider:
    description: Where the zone lives.
    type: str
    required: true
    choices: [cloudflare, rfc2136]
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
  server:
    description: RFC 2136 primary server (name or address). Required with O(provider=rfc2136).
    type: str
  port:
    description: Port of the RFC 2136 primary server.
    type: int
    default: 53
  tsig_key_name:
    description: Name of the TSIG key that signs reads and updates (RFC 2136).
    type: str
  tsig_key_secret:
    description: Base64 secret of the TSIG key (RFC 2136).
    type: str
  tsig_key_file:
    description: A file on the controller holding the base64 TSIG secret, instead of O(tsig_key_secret).
    type: path
  tsig_algorithm:
    description: TSIG algorithm.
    type: str
    default: hmac-sha256
    choices: [hmac-sha256, hmac-sha384, hmac-sha512, hmac-sha224, hmac-sha1, hmac-md5]
  api_token:
    description:
      - Cloudflare API token with Zone.DNS edit permission for the zone.
      - Read from E(CLOUDFLARE_API_TOKEN) when not given.
    type: str
  api_base_url:
    description: Cloudflare API v4 base URL (tests point it at a local simulator).
    type: str
    default: https://api.cloudflare.com/client/v4
  timeout:
    description: Seconds to wait for one answer from the provider.
    type: float
    default: 30
  max_retries:
    description: How often a rate-limited (429) or failed (5xx) Cloudflare request is retried, honouring Retry-After.
    type: int
    default: 5
requirements:
  - dnspython (rfc2136)
  - httpx and tenacity (cloudflare)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
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
    and otherwise asks for each managed (name, type) pair.
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
requests:
  description: Requests sent to the provider (HTTP requests for Cloudflare, DNS messages for RFC 2136).
  returned: always
  type: int
  sample: 3
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
