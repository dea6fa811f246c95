#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: dns_restore
short_description: Put a zone backup written by dns_records back, in one write
description:
  - Reads a backup that M(coldrig.infra.dns_records) wrote before a write (the C(.json) file), reads the zone
    now, and makes the zone's records equal to the backup's, record for record, in one write - one RFC 2136
    UPDATE message or one Cloudflare batch call (several when the changes exceed O(batch_size)).
  - A record in the zone that the backup does not hold is removed, a record of the backup that the zone lacks
    is added, and a record whose TTL (or, on Cloudflare, proxy flag) differs is updated.
  - Only records of the types coldrig manages (A, AAAA, CAA, CNAME, MX, NS, PTR, SRV, TXT) are compared. The
    apex SOA and NS records are left alone - they belong to the DNS provider (Cloudflare assigns the name
    servers; the SOA serial is the server's) - and so is any record of another type.
  - A backup that holds the whole zone (C(complete=true)) is compared with the whole zone, so an RFC 2136 server
    must allow the TSIG key to transfer the zone (AXFR). A backup taken without AXFR holds the managed names only,
    and is compared at its own (name, type) pairs only.
  - Before it writes, the zone as it is now is saved as a new backup (O(backup)), so a restore can be undone.
  - Idempotent - a second restore of the same backup makes no write. Runs on the controller, through an action
    plugin, where M(coldrig.infra.dns_records) wrote the backups.
version_added: 0.1.0
author:
  - coldrig maintainers (@coldrig)
options:
  src:
    description: The backup's C(.json) file (RV(coldrig.infra.dns_records#module:backup)), on the controller.
    type: path
    required: true
  zone:
    description: The zone, to check that O(src) is that zone's backup; leave it out to take the backup's zone.
    type: str
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
notes:
  - Cloudflare proxy flags are put back as the backup has them (a record that was proxied is proxied again).
seealso:
  - module: coldrig.infra.dns_records
"""

EXAMPLES = r"""
- name: Put example.com back as it was before the last push
  coldrig.infra.dns_restore:
    provider: cloudflare
    zone: example.com
    src: ~/.local/state/coldrig/zone-backups/example.com/20261203T104500.123456Z.json
  delegate_to: localhost
  run_once: true

- name: The same on an RFC 2136 primary (the TSIG key must be allowed to transfer the zone)
  coldrig.infra.dns_restore:
    provider: rfc2136
    server: ns1.example.net
    tsig_key_name: coldrig
    tsig_key_file: ~/.config/coldrig/tsig.key
    src: "{{ push.backup }}"
  delegate_to: localhost
"""

RETURN = r"""
zone:
  description: The zone put back.
  returned: success
  type: str
  sample: example.com
src:
  description: The backup that was put back.
  returned: success
  type: str
  sample: /home/ops/.local/state/coldrig/zone-backups/example.com/20261203T104500.123456Z.json
added:
  description: Records of the backup that were added.
  returned: success
  type: list
  elements: dict
  sample: [{name: mail.example.com, relative_name: mail, type: A, content: 203.0.113.7, ttl: 3600}]
updated:
  description: Records whose TTL or proxy flag was put back, as C({before, after}).
  returned: success
  type: list
  elements: dict
  sample: []
removed:
  description: Records of the zone that the backup does not hold, removed.
  returned: success
  type: list
  elements: dict
  sample: []
requests:
  description: Requests sent to the provider.
  returned: always
  type: int
  sample: 3
batches:
  description: Write calls sent (0 when nothing changed).
  returned: success
  type: int
  sample: 1
atomic:
  description: False when the changes went in more than one Cloudflare batch, which are not atomic together.
  returned: success
  type: bool
  sample: true
backup:
  description: The backup of the zone as it was before this restore; null when nothing was written or O(backup=false).
  returned: success
  type: str
  sample: /home/ops/.local/state/coldrig/zone-backups/example.com/20261203T111500.654321Z.json
backup_zone_file:
  description: The BIND zone file rendering of RV(backup).
  returned: success
  type: str
  sample: /home/ops/.local/state/coldrig/zone-backups/example.com/20261203T111500.654321Z.zone
applied:
  description: On a failed write, what is known of the zone - C(none), C(partial) or C(unknown).
  returned: failed while writing
  type: str
  sample: none
"""

from ansible.module_utils.basic import AnsibleModule, env_fallback

from ansible_collections.coldrig.infra.plugins.module_utils.dns_sync import (
    MUTUALLY_EXCLUSIVE,
    REQUIRED_IF,
    RESTORE_SPEC,
    SyncFailure,
    argument_spec,
    restore_zone,
)


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(env_fallback, RESTORE_SPEC),
        supports_check_mode=True,
        required_if=REQUIRED_IF,
        mutually_exclusive=MUTUALLY_EXCLUSIVE,
    )
    try:
        result = restore_zone(module.params, module.check_mode, module._diff)
    except SyncFailure as exc:
        module.fail_json(msg=str(exc), **exc.result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
