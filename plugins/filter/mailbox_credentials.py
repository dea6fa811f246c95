# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: mailbox_credentials
short_description: The credentials file of a domain, reconciled with the hashes the node holds
description:
  - The controller keeps the passwords of a domain's mailboxes in its credentials file
    (C(exports/<domain>/mailboxes.json), mode 0600); the node keeps only SHA512-CRYPT hashes. The handoff of
    C(playbooks/mailboxes.yml) is crash-safe because a password is stored on the controller, as C(pending), before
    the node gets its hash, and becomes the C(password) only once the node's hash is seen to match it.
  - This filter takes the mailboxes that M(coldrig.infra.mailboxes) returns with O(coldrig.infra.mailboxes#module:plan=true)
    or O(coldrig.infra.mailboxes#module:password_hashes) (each with its stored C(hash) and C(new_password)) and the
    entries of the credentials file so far. For each mailbox, C(password) is whichever of the file's C(password)
    and C(pending) matches the node's hash (V(null) when neither does - the password is unknown).
  - With O(step=plan), each mailbox with C(new_password) also gets a new random C(pending) password (24 letters and
    digits with an upper-case letter, a lower-case letter and a digit). With O(step=confirm) no password is made and
    every C(pending) that the node does not hold is dropped.
  - Mailboxes that the node does not have and the plan does not create are dropped.
  - The result holds passwords - write it to a file of mode 0600 with C(no_log) and never print it.
author:
  - coldrig maintainers (@coldrig)
positional: _input, existing, step
options:
  _input:
    description: The C(mailboxes) list returned by M(coldrig.infra.mailboxes) with C(plan) or C(password_hashes).
    type: list
    elements: dict
    required: true
  existing:
    description: The C(mailboxes) list of the credentials file so far (empty when there is none).
    type: list
    elements: dict
    default: []
  step:
    description: C(plan) makes pending passwords for the mailboxes that need one; C(confirm) makes none.
    type: str
    default: confirm
    choices: [plan, confirm]
"""

EXAMPLES = r"""
- name: Store the passwords of the planned mailboxes, as pending, before the node changes
  ansible.builtin.copy:
    content: "{{ {'mailboxes': planned.mailboxes | coldrig.infra.mailbox_credentials(old.mailboxes | default([]), 'plan')} | to_nice_json }}"
    dest: exports/example.com/mailboxes.json
    mode: "0600"
  no_log: true

- name: The hashes of the pending passwords, for the call that applies the plan
  ansible.builtin.set_fact:
    hashes: "{{ (lookup('ansible.builtin.file', 'exports/example.com/mailboxes.json') | from_json).mailboxes | coldrig.infra.mailbox_password_hashes }}"
  no_log: true
"""

RETURN = r"""
_value:
  description:
    - Each mailbox as C({email, local_part, name, daily_limit, quota, password}), sorted by address, and
      C(pending) when a new password waits for the node.
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.coldrig.infra.plugins.module_utils import mailboxes as boxes
from ansible_collections.coldrig.infra.plugins.module_utils.mailboxes import MailboxError

KEPT = ("email", "local_part", "name", "daily_limit", "quota")
STEPS = ("plan", "confirm")


def _known(candidates, hashed):
    for password in candidates:
        if password and hashed and boxes.verify_password(password, hashed):
            return password
    return None


def mailbox_credentials(mailboxes, existing=None, step="confirm"):
    if step not in STEPS:
        raise AnsibleFilterError("coldrig.infra.mailbox_credentials: step %r is not one of %s" % (step, ", ".join(STEPS)))
    old = dict((entry.get("email"), entry) for entry in existing or [] if isinstance(entry, dict))
    merged = []
    for box in mailboxes or []:
        if "hash" not in box:
            raise AnsibleFilterError("coldrig.infra.mailbox_credentials: the mailboxes have no hash; give it the result "
                                     "of coldrig.infra.mailboxes with plan=true or password_hashes")
        entry = dict((key, box.get(key)) for key in KEPT if key in box)
        before = old.get(box.get("email")) or {}
        try:
            entry["password"] = _known([before.get("password"), before.get("pending")], box.get("hash"))
        except MailboxError as exc:
            raise AnsibleFilterError("coldrig.infra.mailbox_credentials: %s" % exc)
        if step == "plan" and box.get("new_password"):
            entry["pending"] = boxes.new_password()
        elif box.get("hash") is None and entry["password"] is None:
            continue  # not on the node and not planned: nothing to keep
        merged.append(entry)
    return sorted(merged, key=lambda item: item.get("email") or "")


def mailbox_password_hashes(entries, rounds=boxes.ROUNDS_DEFAULT):
    """{local part: SHA512-CRYPT hash} of every pending password of a credentials file."""
    pending = sorted((entry["local_part"], entry["pending"]) for entry in entries or []
                     if isinstance(entry, dict) and entry.get("pending") and entry.get("local_part"))
    try:
        hashes = boxes.default_hasher(rounds).hash_all([password for _local, password in pending])
    except MailboxError as exc:
        raise AnsibleFilterError("coldrig.infra.mailbox_password_hashes: %s" % exc)
    return dict((local, hashed) for (local, _password), hashed in zip(pending, hashes))


def mailbox_unknown_passwords(entries):
    """The addresses of a credentials file whose password nobody has (no password, nothing pending)."""
    return sorted(entry.get("email") for entry in entries or []
                  if isinstance(entry, dict) and not entry.get("password") and not entry.get("pending"))


class FilterModule(object):
    def filters(self):
        return {
            "mailbox_credentials": mailbox_credentials,
            "mailbox_password_hashes": mailbox_password_hashes,
            "mailbox_unknown_passwords": mailbox_unknown_passwords,
        }
