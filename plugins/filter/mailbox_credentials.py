# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: mailbox_credentials
short_description: The mailboxes of a domain with every password the operator has
description:
  - M(coldrig.infra.mailboxes) returns a plaintext password only once, when it makes or rotates a mailbox; the
    node keeps only hashes. The controller keeps the passwords in the domain's credentials file
    (C(exports/<domain>/mailboxes.json), mode 0600).
  - This filter merges the two - each mailbox the module reports, with its new password when it has one, else
    the password the credentials file already holds for it, else none (C(password) null - its password is lost
    and only a rotation gives it a new one). Mailboxes the module no longer reports are dropped.
author:
  - coldrig maintainers (@coldrig)
positional: _input, existing
options:
  _input:
    description: The C(mailboxes) list returned by M(coldrig.infra.mailboxes).
    type: list
    elements: dict
    required: true
  existing:
    description: The C(mailboxes) list of the credentials file so far (empty when there is none).
    type: list
    elements: dict
    default: []
"""

EXAMPLES = r"""
- name: Merge the new passwords into the credentials file
  ansible.builtin.copy:
    content: "{{ {'mailboxes': result.mailboxes | coldrig.infra.mailbox_credentials(old.mailboxes | default([]))} | to_nice_json }}"
    dest: exports/example.com/mailboxes.json
    mode: "0600"
  no_log: true
"""

RETURN = r"""
_value:
  description: Each mailbox as C({email, local_part, name, daily_limit, quota, password}), sorted by address.
  type: list
  elements: dict
"""

KEPT = ("email", "local_part", "name", "daily_limit", "quota")


def mailbox_credentials(mailboxes, existing=None):
    known = dict((box.get("email"), box.get("password")) for box in existing or [] if isinstance(box, dict))
    merged = []
    for box in mailboxes or []:
        entry = dict((key, box.get(key)) for key in KEPT if key in box)
        entry["password"] = box.get("password") or known.get(box.get("email"))
        merged.append(entry)
    return sorted(merged, key=lambda entry: entry.get("email") or "")


class FilterModule(object):
    def filters(self):
        return {"mailbox_credentials": mailbox_credentials}
