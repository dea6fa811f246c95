# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: sequencer_csv
short_description: A sequencer's bulk-import CSV of mailboxes (Instantly, Smartlead)
description:
  - Returns the CSV text that Instantly or Smartlead imports, one row per mailbox, with the exact header of
    that tool (kept in C(plugins/module_utils/sequencers.py)).
  - C(instantly) - C(Email,Password,SMTP_Host,SMTP_Port,SMTP_Username,IMAP_Host,IMAP_Port,IMAP_Username,Daily_Limit).
  - C(smartlead) - C(from_name,from_email,user_name,password,smtp_host,smtp_port,imap_host,imap_port,max_email_per_day,
    warmup_enabled,total_warmup_per_day,daily_rampup).
  - The text holds passwords - write it to a file of mode 0600 and never print it.
author:
  - coldrig maintainers (@coldrig)
positional: _input, settings, format
options:
  _input:
    description: The mailboxes, each C({email, name, password, daily_limit}).
    type: list
    elements: dict
    required: true
  settings:
    description:
      - The connection settings and defaults - C(smtp_host), C(smtp_port) (587), C(imap_host), C(imap_port) (993),
        C(daily_limit) (for mailboxes without one), C(warmup_enabled) (true), C(warmup_per_day) (20),
        C(warmup_rampup) (2).
    type: dict
    required: true
  format:
    description: The sequencer.
    type: str
    required: true
    choices: [instantly, smartlead]
"""

EXAMPLES = r"""
- name: Write the Instantly import file
  ansible.builtin.copy:
    content: "{{ mailboxes | coldrig.infra.sequencer_csv({'smtp_host': 'mail.example.com', 'imap_host': 'mail.example.com'}, 'instantly') }}"
    dest: exports/example.com/instantly.csv
    mode: "0600"
  no_log: true
"""

RETURN = r"""
_value:
  description: The CSV text, CRLF line endings, a header line first.
  type: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.coldrig.infra.plugins.module_utils.sequencers import ExportError, to_csv


def sequencer_csv(mailboxes, settings, fmt):
    try:
        return to_csv(mailboxes or [], settings or {}, fmt)
    except ExportError as exc:
        raise AnsibleFilterError("coldrig.infra.sequencer_csv: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"sequencer_csv": sequencer_csv}
