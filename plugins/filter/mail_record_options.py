# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: mail_record_options
short_description: The coldrig.infra.mail_records options of one sending domain
description:
  - Takes one sending domain of the onboarding spec (an item of C(coldrig_domains)) and role-wide defaults,
    and returns the keyword options of the C(coldrig.infra.mail_records) filter - the domain's own keys win.
  - Keys of the domain that belong to other onboarding steps (mailboxes, daily_limit, ...) are left out, as are
    empty addresses.
author:
  - coldrig maintainers (@coldrig)
positional: _input, defaults
options:
  _input:
    description: One sending domain, e.g. C({name, dmarc_policy, dmarc_rua, spf_extra}).
    type: dict
    required: true
  defaults:
    description: Role-wide values, e.g. C({mail_host, ipv4, ipv6, dmarc_policy, spf_all, ttl}).
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: The record set of one domain
  ansible.builtin.set_fact:
    records: "{{ domain.name | coldrig.infra.mail_records(**(domain | coldrig.infra.mail_record_options(defaults))) }}"
"""

RETURN = r"""
_value:
  description: Keyword options for C(coldrig.infra.mail_records).
  type: dict
"""

from ansible_collections.coldrig.infra.plugins.module_utils.mail_records import NODE_OPTIONS, SPEC_RECORD_KEYS

# The keys that shape a domain's DNS records: the node's (from the defaults) and the domain's own,
# both derived from build_mail_records' keyword options, so every option of the builder gets through.
RECORD_KEYS = NODE_OPTIONS + SPEC_RECORD_KEYS


def mail_record_options(domain, defaults=None):
    options = {}
    for source in (defaults or {}, domain or {}):
        for key in RECORD_KEYS:
            value = source.get(key)
            if value is None or value == "" or value == []:
                continue
            options[key] = value
    if options.get("mta_sts_mode") == "none":
        options.pop("mta_sts_mode")
    if "ttl" in options:
        options["ttl"] = int(options["ttl"])
    return options


class FilterModule(object):
    def filters(self):
        return {"mail_record_options": mail_record_options}
