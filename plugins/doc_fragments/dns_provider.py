# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The DNS provider options of coldrig.infra.dns_records, dns_zones and dns_restore (one argument spec: dns_sync.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    DOCUMENTATION = r"""
options:
  provider:
    description: Where the zone lives.
    type: str
    required: true
    choices: [cloudflare, rfc2136]
  batch_size:
    description:
      - Cloudflare only. Most changes sent in one batch call. Cloudflare takes 200 per batch on the Free
        plan and 3,500 on paid plans; larger change sets go in several batches.
      - One batch is all or nothing; several are not atomic together. They are sent in an order that never
        leaves a name without its record (replacements and new values before the removal of old ones), the
        result says C(atomic=false) (for each zone), and a re-run finishes a sequence that was cut short.
    type: int
    default: 200
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
  backup:
    description:
      - Before a write, save the zone's records as they were, in O(backup_dir). No file is written when
        nothing changes or in check mode. Put a backup back with M(coldrig.infra.dns_restore).
      - The backup holds the whole zone as read, unfiltered - Cloudflare's record listing, or the RFC 2136
        AXFR (without the SOA and DNSSEC records); when the server refuses AXFR it holds the records at the
        managed names only (a warning says so). It holds no credential.
    type: bool
    default: true
  backup_dir:
    description:
      - Directory of the backups, on the host that runs the task (the controller, unless the task runs the
        module through C(async)). Each backup is C(<backup_dir>/<zone>/<UTC time>.json) plus a BIND zone file
        C(.zone) beside it, mode 0600, in a zone directory of mode 0700.
      - Read from E(COLDRIG_DNS_BACKUP_DIR) when not given.
    type: path
    default: ~/.local/state/coldrig/zone-backups
"""
