# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: onboarding_spec_errors
short_description: Every problem of an onboarding spec, before anything changes
description:
  - Checks the sending domains of one node (C(coldrig_domains)), the mail backend (C(coldrig_backend)) and
    the DNS provider (C(coldrig_dns)) and returns the list of problems, each naming the variable, the item,
    the key and the reason, e.g. C(coldrig_domains[2] (b.example).dmarc_policy - 'maybe' is not one of none,
    quarantine, reject). An empty list means the spec is good.
  - Each domain's DNS records are built once without DKIM, which validates SPF (syntax, at most 10 lookups),
    DMARC, MTA-STS, TLS-RPT, names and addresses exactly as the DNS step will.
  - A domain's C(intake) key (C({registrar, create_zone}), playbooks/intake.yml) is checked, and with it
    O(cloudflare_account_id) and O(registrar).
  - Mailbox keys are checked too - C(mailboxes) (a count up to 1000 or a list of C({local_part, name, daily_limit})),
    C(naming), C(daily_limit) (1 or more), C(quota) - and unknown keys are refused, so a typo is not silently ignored.
  - Local parts, display names, quotas, DKIM selectors, domain names, ports and the TSIG secret follow the rules of
    C(plugins/module_utils/validate.py), the module that M(coldrig.infra.mailboxes), M(coldrig.infra.dkim_key) and the
    DNS step use too, so what passes here passes there. The keys of O(dns) are those its provider takes
    (C(rfc2136) - server, port, tsig_key_name, tsig_key_secret or tsig_key_file, tsig_algorithm; C(cloudflare) -
    api_token, api_base_url); a TSIG secret that is not base64 is refused without quoting it.
author:
  - coldrig maintainers (@coldrig)
positional: _input
options:
  _input:
    description: The sending domains (C(coldrig_domains)).
    type: list
    elements: dict
    required: true
  backend:
    description: The mail backend (C(coldrig_backend)).
    type: str
  dns:
    description: The DNS provider settings (C(coldrig_dns)).
    type: dict
  mail_host:
    description: The node's mail host (C(coldrig_ptr)); without it the records are not built.
    type: str
  ipv4:
    description: The node's public IPv4 address.
    type: str
  ipv6:
    description: The node's public IPv6 address.
    type: str
  defaults:
    description: Record defaults that a domain's own keys override (e.g. C({dmarc_policy, spf_all, ttl})).
    type: dict
  dkim_selector:
    description:
      - The DKIM selector of domains that give none (C(mail_dns_dkim_selector)); checked when set.
    type: str
  spec_dkim_selector:
    description:
      - The spec-level DKIM selector (C(coldrig_dkim_selector)), which the mail_dns and postfix roles default from;
        checked when set.
    type: str
  mailbox_quota:
    description:
      - The mailbox quota of domains that give none (C(coldrig_mailbox_quota)); checked when set.
    type: str
  registrar:
    description:
      - The registrar's API settings (C(coldrig_registrar)), checked with O(dns) when a domain has an C(intake)
        key naming a registrar - provider, api_user, api_key (never quoted), client_ip (IPv4), username, api_base_url.
    type: dict
  cloudflare_account_id:
    description:
      - The Cloudflare account of the zones the intake creates (C(coldrig_cloudflare_account_id)), checked with
        O(dns) when a domain has an C(intake) key; O(dns) must then be C(provider=cloudflare).
    type: str
"""

EXAMPLES = r"""
- name: Stop before anything changes when the spec has a problem
  ansible.builtin.assert:
    that: problems | length == 0
    fail_msg: "{{ problems | join('\n') }}"
  vars:
    problems: "{{ coldrig_domains | coldrig.infra.onboarding_spec_errors(backend=coldrig_backend, dns=coldrig_dns,
                  mail_host=coldrig_ptr, ipv4=coldrig_public_ipv4, dkim_selector=mail_dns_dkim_selector | default(none)) }}"
"""

RETURN = r"""
_value:
  description: The problems, one sentence each; empty when the spec is good.
  type: list
  elements: str
"""

from ansible_collections.coldrig.infra.plugins.module_utils.onboarding_spec import (
    backend_errors,
    dkim_selector_errors,
    dns_errors,
    domain_errors,
    intake_errors,
    provider_ttl_errors,
    quota_errors,
)

_UNSET = object()


def onboarding_spec_errors(domains, backend=_UNSET, dns=_UNSET, mail_host=None, ipv4=None, ipv6=None, defaults=None,
                           dkim_selector=None, mailbox_quota=None, spec_dkim_selector=None, registrar=None,
                           cloudflare_account_id=None):
    errors = domain_errors(domains, mail_host=mail_host, ipv4=ipv4, ipv6=ipv6, defaults=defaults)
    if dkim_selector is not None:
        errors += dkim_selector_errors(dkim_selector, "mail_dns_dkim_selector")
    if spec_dkim_selector is not None:
        errors += dkim_selector_errors(spec_dkim_selector, "coldrig_dkim_selector")
    if mailbox_quota is not None:
        errors += quota_errors(mailbox_quota, "coldrig_mailbox_quota")
    if backend is not _UNSET:
        errors += backend_errors(backend)
    if dns is not _UNSET:
        errors += dns_errors(dns)
        errors += provider_ttl_errors(domains, dns)
        errors += intake_errors(domains, dns, registrar, cloudflare_account_id)
    return errors


class FilterModule(object):
    def filters(self):
        return {"onboarding_spec_errors": onboarding_spec_errors}
